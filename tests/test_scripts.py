"""The exported scripts: equal to a fresh export of the notebooks, and free of IPython syntax."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ch16_helpers import PROJECT_DIR

PARTS = ["ch16_part1", "ch16_part2"]


@pytest.fixture(scope="module")
def fresh_export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    for name in ["convert_notebooks.sh"] + [f"{part}.ipynb" for part in PARTS]:
        shutil.copy(PROJECT_DIR / name, folder / name)
    env_path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    subprocess.run(["bash", str(folder / "convert_notebooks.sh")], check=True,
                   env={**os.environ, "PATH": env_path})
    return folder


@pytest.mark.parametrize("part", PARTS)
def test_script_equals_a_fresh_export_of_its_notebook(fresh_export, part):
    assert (fresh_export / f"{part}.py").read_bytes() == (PROJECT_DIR / f"{part}.py").read_bytes(), (
        f"{part}.py is out of date: run ./convert_notebooks.sh")


@pytest.mark.parametrize("part", PARTS)
def test_notebook_code_has_no_magics_or_shell_escapes(part):
    notebook = nbformat.read(PROJECT_DIR / f"{part}.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            for line in cell.source.splitlines():
                assert not line.lstrip().startswith(("%", "!")), f"IPython syntax in {part}: {line}"


@pytest.mark.parametrize("part", PARTS)
def test_notebook_has_one_parameters_cell_reading_quick_mode(part):
    notebook = nbformat.read(PROJECT_DIR / f"{part}.ipynb", as_version=4)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "CH16_QUICK" in tagged[0].source


@pytest.mark.parametrize("part, injected, probe, expected", [
    ("ch16_part1", "QUICK = True\nSEED = 7", "print((cfg.batch_size, SEED))",
     lambda ch16: str((ch16.PART1_SETTINGS["batch_size"][1], 7))),
    ("ch16_part2", "QUICK = True\nPRECISION = 'bfloat16'", "print((cfg.embed_dim, precision_policy))",
     lambda ch16: str((ch16.PART2_SETTINGS["embed_dim"][1], "mixed_bfloat16"))),
])
def test_parameters_injected_after_the_tagged_cell_take_effect(part, injected, probe, expected, monkeypatch):
    """Papermill inserts a cell of new values right after the cell tagged `parameters`."""
    import nbclient

    import ch16_helpers as ch16

    monkeypatch.setenv("CH16_QUICK", "0")  # only the injected cell asks for quick mode
    notebook = nbformat.read(PROJECT_DIR / f"{part}.ipynb", as_version=4)
    tagged = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    settings = next(i for i, c in enumerate(notebook.cells) if "ch16.choose_settings(" in c.source)
    notebook.cells = (notebook.cells[:tagged + 1] + [nbformat.v4.new_code_cell(injected)]
                      + notebook.cells[tagged + 1:settings + 1] + [nbformat.v4.new_code_cell(probe)])
    nbclient.NotebookClient(notebook, timeout=300, resources={"metadata": {"path": str(PROJECT_DIR)}}).execute()
    printed = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    assert printed.strip() == expected(ch16)


@pytest.mark.parametrize("variable, value, message", [
    ("CH16_DATA_DIR", "EMPTY_FOLDER", "DataError: No 1268-0.txt in"),
    ("CH16_QUICK", "perhaps", "SettingError: CH16_QUICK='perhaps' is not a yes/no value"),
])
def test_a_terminal_run_ends_on_bad_data_or_settings_with_one_clear_message(tmp_path, variable, value, message):
    value = str(tmp_path) if value == "EMPTY_FOLDER" else value
    env = {**os.environ, variable: value, "CH16_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, str(PROJECT_DIR / "ch16_part2.py")], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert message in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr
