"""The diagrams in images/ are exactly what images/make_figures.py draws; figures of terminal runs (ch16.plots)."""

import subprocess
import sys

from conftest import PROJECT_DIR

IMAGES = PROJECT_DIR / "images"


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


def test_a_terminal_run_saves_its_figures_and_goes_on_when_it_cannot(tmp_path, monkeypatch, capsys):
    import matplotlib.pyplot as plt

    import ch16

    assert not ch16.in_notebook()  # pytest is not a Jupyter kernel, whatever plugins it imported
    monkeypatch.setenv("CH16_CACHE_DIR", str(tmp_path / "cache"))
    figures = [plt.figure(), plt.figure()]
    ch16.show_figure(figures[0], "saved")
    saved = tmp_path / "cache" / "figures" / "saved.png"
    assert saved.stat().st_size > 0
    assert f"(figure saved as {saved.resolve()})" in capsys.readouterr().out  # the real folder, named in full
    (tmp_path / "blocked").write_text("a file where the cache folder should be")
    monkeypatch.setenv("CH16_CACHE_DIR", str(tmp_path / "blocked"))
    ch16.show_figure(figures[1], "unsaved")  # a warning, not an error: the run goes on
    warning = capsys.readouterr().err
    assert f"could not save the figure {(tmp_path / 'blocked').resolve() / 'figures' / 'unsaved.png'}" in warning
    assert not any(plt.fignum_exists(figure.number) for figure in figures)  # both closed


def test_a_figure_is_never_written_through_a_link(tmp_path, monkeypatch):
    """figures/NAME.png as a link to a file elsewhere: the figure replaces the link, not that file."""
    import matplotlib.pyplot as plt

    import ch16

    monkeypatch.setenv("CH16_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "cache" / "figures").mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("not a figure")
    (tmp_path / "cache" / "figures" / "linked.png").symlink_to(victim)
    ch16.show_figure(plt.figure(), "linked")
    assert victim.read_text() == "not a figure"
    saved = tmp_path / "cache" / "figures" / "linked.png"
    assert not saved.is_symlink() and saved.read_bytes().startswith(b"\x89PNG")
    assert [p.name for p in saved.parent.iterdir()] == ["linked.png"]  # no temporary file left
