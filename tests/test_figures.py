"""The diagrams in images/ are exactly what images/make_figures.py draws."""

import subprocess
import sys
from pathlib import Path

IMAGES = Path(__file__).resolve().parent.parent / "images"


def test_every_diagram_is_regenerated_identically_by_the_script(tmp_path):
    subprocess.run([sys.executable, str(IMAGES / "make_figures.py"), str(tmp_path)], check=True,
                   capture_output=True)
    drawn = sorted(p.name for p in tmp_path.glob("*.png"))
    assert drawn == sorted(p.name for p in IMAGES.glob("*.png"))
    for name in drawn:
        assert (tmp_path / name).read_bytes() == (IMAGES / name).read_bytes(), name


def test_every_diagram_is_shown_in_a_notebook():
    notebooks = "".join((IMAGES.parent / f"ch16_part{i}.ipynb").read_text() for i in (1, 2))
    for png in IMAGES.glob("*.png"):
        assert f"images/{png.name}" in notebooks, f"{png.name} is not used in the notebooks"
