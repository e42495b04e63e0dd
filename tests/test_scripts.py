"""The exported scripts: equal to a fresh export of the notebooks, and free of IPython syntax."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
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
