"""The notebooks as files: the generated scripts and modules equal a fresh export, no IPython syntax,
papermill parameters, committed outputs that show only what a reader should see, and the exported
scripts run from a terminal as a reader would (quick mode, synthetic data)."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import _WORK_DIR, PROJECT_DIR, background, finished_run

PARTS = ["part1", "part2"]
# Each script run trains its own models: a cache of its own, not the one the notebooks' kernels fill.
RUNS = {f"script {part}": ([str(PROJECT_DIR / f"ch16_{part}.py")], {"CH16_CACHE_DIR": str(_WORK_DIR / f"cache-{part}")})
        for part in PARTS}


@pytest.fixture(scope="module")
def fresh_export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    shutil.copy(PROJECT_DIR / "convert_notebooks.sh", folder)
    (folder / "ch16").mkdir()
    shutil.copy(PROJECT_DIR / "ch16" / "export.py", folder / "ch16")
    for part in PARTS:
        shutil.copy(PROJECT_DIR / f"ch16_{part}.ipynb", folder)
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    subprocess.run(["bash", str(folder / "convert_notebooks.sh")], check=True, env={**os.environ, "PATH": path})
    return folder


@pytest.mark.parametrize("generated", [f"ch16_{part}.py" for part in PARTS] + [f"ch16/{part}.py" for part in PARTS])
def test_generated_files_equal_a_fresh_export_of_their_notebook(fresh_export, generated):
    assert (fresh_export / generated).read_bytes() == (PROJECT_DIR / generated).read_bytes(), (
        f"{generated} is out of date: run ./convert_notebooks.sh")


@pytest.mark.parametrize("part", PARTS)
def test_the_generated_modules_say_so_and_hold_every_exported_cell(part):
    module = (PROJECT_DIR / "ch16" / f"{part}.py").read_text()
    assert f"Generated from ch16_{part}.ipynb by convert_notebooks.sh. Do not edit" in module
    notebook = nbformat.read(PROJECT_DIR / f"ch16_{part}.ipynb", as_version=4)
    exported = [cell.source for cell in notebook.cells if cell.cell_type == "code" and cell.source.startswith("#| export")]
    assert len(exported) >= 5
    for source in exported:
        assert source.split("\n", 1)[1].strip() in module


@pytest.mark.parametrize("part", PARTS)
def test_notebook_code_has_no_magics_or_shell_escapes(part):
    notebook = nbformat.read(PROJECT_DIR / f"ch16_{part}.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            for line in cell.source.splitlines():
                assert not line.lstrip().startswith(("%", "!")), f"IPython syntax in {part}: {line}"


@pytest.mark.parametrize("part", PARTS)
def test_notebook_has_one_parameters_cell_reading_quick_mode(part):
    notebook = nbformat.read(PROJECT_DIR / f"ch16_{part}.ipynb", as_version=4)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "CH16_QUICK" in tagged[0].source


@pytest.mark.parametrize("part, injected, probe, expected", [
    ("part1", "QUICK = True\nSEED = 7", "print((cfg.batch_size, SEED))", "(32, 7)"),
    ("part2", "QUICK = True\nPRECISION = 'bfloat16'", "print((cfg.embed_dim, precision_policy))",
     "(16, 'mixed_bfloat16')"),
])
def test_parameters_injected_after_the_tagged_cell_take_effect(part, injected, probe, expected, monkeypatch):
    """Papermill inserts a cell of new values right after the cell tagged `parameters`."""
    import nbclient

    monkeypatch.setenv("CH16_QUICK", "0")  # only the injected cell asks for quick mode
    notebook = nbformat.read(PROJECT_DIR / f"ch16_{part}.ipynb", as_version=4)
    tagged = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    settings = next(i for i, c in enumerate(notebook.cells) if "ch16.choose_settings(" in c.source)
    notebook.cells = (notebook.cells[:tagged + 1] + [nbformat.v4.new_code_cell(injected)]
                      + notebook.cells[tagged + 1:settings + 2] + [nbformat.v4.new_code_cell(probe)])
    nbclient.NotebookClient(notebook, timeout=300, resources={"metadata": {"path": str(PROJECT_DIR)}}).execute()
    printed = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    assert printed.strip() == expected


# ---- The committed outputs ----------------------------------------------------------------

def committed_outputs(part):
    notebook = nbformat.read(PROJECT_DIR / f"ch16_{part}.ipynb", as_version=4)
    return notebook, [(cell, output) for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]


EPOCH_LINE = re.compile(r"epoch +\d+/\d+: +\d+ s( +\w+ \d+\.\d{4})+( +\(learning rate \S+ -> \S+\))?")
SUMMARY_LINE = re.compile(r"(.+: \d+ s|context measurement: \d+ s)")


@pytest.mark.parametrize("part", PARTS)
def test_the_committed_outputs_keep_only_the_summary_of_each_progress_display(part):
    """Progress shown while an epoch, an evaluation or a measurement runs ends as one summary
    line: no progress text, carriage return or empty display is left in the committed run."""
    notebook, outputs = committed_outputs(part)
    assert "widgets" not in notebook.metadata
    progress = [output for cell, output in outputs
                if output.output_type == "display_data" and set(output.get("data", {})) == {"text/plain"}]
    assert progress, "the committed run shows no progress summaries"
    for output in progress:
        text = output.data["text/plain"]
        assert EPOCH_LINE.fullmatch(text) or SUMMARY_LINE.fullmatch(text), text
    for cell, output in outputs:
        text = output.get("text", "") + "".join(output.get("data", {}).get("text/plain", ""))
        assert "\r" not in text and not re.search(r"\d+ steps?, \d+ s elapsed|: starting$", text, re.MULTILINE), text


@pytest.mark.parametrize("part", PARTS)
def test_the_committed_outputs_hold_no_terminal_colours_no_errors_and_no_local_paths(part):
    _, outputs = committed_outputs(part)
    for cell, output in outputs:
        text = json.dumps(output)
        assert "\\u001b[" not in text, cell.source[:80]  # ANSI escape codes
        assert output.output_type != "error", cell.source[:80]
        assert not re.search(r"(/tmp/|/home/|/root/|/work/|[A-Z]:\\\\Users)", text), cell.source[:80]


# ---- The scripts, from a terminal -----------------------------------------------------------

@background("script part1")
def test_part1_runs_from_a_terminal_in_quick_mode():
    returncode, stdout, stderr = finished_run("script part1")
    assert returncode == 0, stderr[-3000:]
    assert re.search(r"^epoch  1/1: +\d+ s  accuracy", stdout, re.MULTILINE) and "\r" not in stdout
    assert "bilstm" in stdout and "P(positive)" in stdout and "figure saved as" in stdout
    assert re.search(r"^Run on .* wall time \d+\.\d minutes$", stdout, re.MULTILINE)


@background("script part2")
def test_part2_runs_from_a_terminal_in_quick_mode():
    returncode, stdout, stderr = finished_run("script part2")
    assert returncode == 0, stderr[-3000:]
    assert re.search(r"^epoch  1/1: +\d+ s  loss", stdout, re.MULTILINE) and "\r" not in stdout
    assert "carried state is" in stdout and "--- scale factor 2.0" in stdout
    assert re.search(r"^Run on .* wall time \d+\.\d minutes$", stdout, re.MULTILINE)


@pytest.mark.parametrize("variable, value, message", [
    ("CH16_DATA_DIR", "EMPTY_FOLDER", "DataError: No 1268-0.txt in"),
    ("CH16_QUICK", "perhaps", "SettingError: CH16_QUICK='perhaps' is not a yes/no value"),
    ("CH16_CACHE_DIR", "~no_such_user_of_this_machine/cache", "SettingError: CH16_CACHE_DIR="),
])
def test_a_terminal_run_ends_on_bad_data_or_settings_with_one_clear_message(tmp_path, variable, value, message):
    value = str(tmp_path) if value == "EMPTY_FOLDER" else value
    env = {**os.environ, "CH16_CACHE_DIR": str(tmp_path / "cache"), variable: value}
    result = subprocess.run([sys.executable, str(PROJECT_DIR / "ch16_part2.py")], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert message in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr
