"""Every number the documents quote from a run carries the key of the figure it quotes, and equals it.

A quoted number is followed by an HTML comment naming its source and key, invisible on GitHub:
``0.8805<!-- part1 bilstm.test_accuracy -->``. Sources: ``part1`` and ``part2``, the figures the
committed notebook runs report (``ch16.report``: the "ch16" metadata of their outputs);
``bench:NAME``, the figures ``benchmarks/results/NAME.json`` written by the run of the benchmark
whose printout is ``NAME.txt``; ``text:PATH``, a printout kept without figures (an earlier run), and
``output:part1`` or ``output:part2``, the printed outputs of a committed notebook run, where the key is
the start of exactly one of their lines, then ``#N``: the number is the Nth number of that line. The shown
number equals the figure rounded to as many decimals as it shows (times 100 when followed by %).
"""

import json
import re
from pathlib import Path

import pytest

from conftest import PROJECT_DIR

DOCUMENTS = ["README.md", "CONTRIBUTING.md", "benchmarks/README.md", "docs/data.md", "docs/from-the-book.md"]
KEYED = re.compile(r"(?P<number>[+\-−]?\d[\d,]*(?:\.\d+)?)(?P<percent>%?)[×x]?<!-- *(?P<source>\S+) +(?P<key>.+?) *-->")
NUMBER = re.compile(r"(?<![\w.])[+\-−]?\d[\d,]*(?:\.\d+)?")


def notebook_figures(part):
    """The figures a committed notebook run reported, by key; a key reported twice is an error."""
    notebook = json.loads((PROJECT_DIR / f"ch16_{part}.ipynb").read_text())
    figures = {}
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            for key, value in output.get("metadata", {}).get("ch16", {}).items():
                assert key not in figures, f"{part} reports {key} twice"
                figures[key] = value
    return figures


def texts():
    """(name, text) of every document and of every markdown cell of the notebooks."""
    for name in DOCUMENTS:
        yield name, (PROJECT_DIR / name).read_text()
    for part in ("part1", "part2"):
        notebook = json.loads((PROJECT_DIR / f"ch16_{part}.ipynb").read_text())
        for i, cell in enumerate(notebook["cells"]):
            if cell["cell_type"] == "markdown":
                yield f"ch16_{part}.ipynb cell {i}", "".join(cell["source"])


def shown(value, number, percent):
    """``value`` as a document shows it: rounded to the decimals of ``number`` (scaled for %)."""
    number = number.replace(",", "").replace("−", "-")
    value = value * 100 if percent else value
    decimals = len(number.split(".")[1]) if "." in number else 0
    text = f"{value:+.{decimals}f}" if number[0] in "+-" else f"{value:.{decimals}f}"
    return text, number


def mismatches(text, figures_of, lines_of=None):
    """The keyed numbers of ``text`` that do not equal their figure: (number, source, key, problem)."""
    found = []
    for match in KEYED.finditer(text):
        number, source, key = match["number"], match["source"], match["key"]
        if source.startswith(("text:", "output:")):
            start, _, column = key.rpartition(" #")
            lines = [line for line in (lines_of or printed_lines)(source) if line.startswith(start)]
            if not (start and column.isdigit()):
                found.append((number, source, key, "no column: the key is the line's start, then #N"))
            elif len(lines) != 1:
                found.append((number, source, key, f"{len(lines)} lines start with the key"))
            elif NUMBER.findall(lines[0])[int(column) - 1:int(column)] != [number.lstrip("+").replace("−", "-")]:
                found.append((number, source, key, f"not number {column} of the line {lines[0]!r}"))
            continue
        figures = figures_of(source)
        if key not in figures:
            found.append((number, source, key, "no such figure"))
            continue
        expected, given = shown(figures[key], number, match["percent"])
        if expected != given and not float(expected) == float(given) == 0:  # -0.00 shown as 0.00
            found.append((number, source, key, f"the figure is {figures[key]!r}"))
    return found


def printed_lines(source):
    """The lines of a kept printout (``text:PATH``) or of a committed notebook's printed outputs
    (``output:part1``)."""
    if source.startswith("text:"):
        return (PROJECT_DIR / source[5:]).read_text().splitlines()
    notebook = json.loads((PROJECT_DIR / f"ch16_{source[7:]}.ipynb").read_text())
    return [line for cell in notebook["cells"] for output in cell.get("outputs", [])
            for line in "".join(output.get("text", output.get("data", {}).get("text/plain", ""))).splitlines()]


_CACHE = {}


def figures_of(source):
    if source not in _CACHE:
        if source in ("part1", "part2"):
            _CACHE[source] = notebook_figures(source)
        elif source.startswith("bench:"):
            _CACHE[source] = json.loads((PROJECT_DIR / "benchmarks" / "results" / f"{source[6:]}.json").read_text())
        else:
            raise AssertionError(f"unknown source {source!r}")
    return _CACHE[source]


@pytest.mark.parametrize("name, text", list(texts()), ids=[name for name, _ in texts()])
def test_every_keyed_number_equals_the_figure_it_quotes(name, text):
    assert mismatches(text, figures_of) == []


def test_the_check_catches_a_number_changed_to_another():
    readme = (PROJECT_DIR / "README.md").read_text()
    match = next(KEYED.finditer(readme))
    digits = match["number"]
    changed = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    altered = readme[:match.start()] + changed + readme[match.start() + len(digits):]
    assert mismatches(readme, figures_of) == []
    assert [problem[:3] for problem in mismatches(altered, figures_of)] == [(changed, match["source"], match["key"])]


def test_the_check_catches_a_number_keyed_to_another_figure():
    figures = {"a": 0.8805, "b": 0.8793}
    assert mismatches("0.8805<!-- part9 a -->", lambda source: figures) == []
    assert len(mismatches("0.8805<!-- part9 b -->", lambda source: figures)) == 1
    assert len(mismatches("4.5%<!-- part9 c -->", lambda source: {"c": 0.0452})) == 0
    assert len(mismatches("45.2%<!-- part9 c -->", lambda source: {"c": 0.0452})) == 1


@pytest.mark.parametrize("name", ["README.md", "benchmarks/README.md"])
def test_every_number_in_a_table_of_results_is_keyed(name):
    """In a table with a keyed number, every number after the first column carries a key (the numbers in
    code, links and math excepted)."""
    unkeyed, rows = [], []
    for line in (PROJECT_DIR / name).read_text().splitlines() + [""]:
        if line.startswith("|"):
            rows.append(line)
            continue
        if any("<!--" in row for row in rows):
            for row in rows[2:]:
                for cell in row.split("|")[2:]:
                    bare = KEYED.sub("", re.sub(r"`[^`]*`|\[[^]]*\]\([^)]*\)|\$[^$]*\$", "", cell))
                    unkeyed += [(row[:50], number) for number in NUMBER.findall(bare)]
        rows = []
    assert unkeyed == []


def test_the_readme_is_a_front_page():
    readme = (PROJECT_DIR / "README.md").read_text()
    words = len(re.sub(r"<!--.*?-->", "", readme).split())
    assert words <= 1500, f"{words} words"
    for fact in ("Python Machine Learning", "Third Edition", "Raschka", "Mirjalili", "Packt"):
        assert fact in readme, fact
    first_table = readme.index("\n|")
    assert readme.index("## Contents") < first_table and readme.index("(#coming-from-the-book)") < first_table


def test_the_check_catches_a_number_not_in_its_column_or_a_key_that_starts_several_lines():
    printout = ["char_lstm   batch 64    no   49.1   1.00x", "char_lstm   batch 64, XLA   yes   44.2   1.11x"]
    check = lambda text: mismatches(text, None, lambda source: printout)  # noqa: E731
    assert check("49.1<!-- text:x char_lstm   batch 64    no #2 -->") == []
    assert len(check("44.2<!-- text:x char_lstm   batch 64    no #2 -->")) == 1  # another line's number
    assert len(check("1.00<!-- text:x char_lstm   batch 64    no #2 -->")) == 1  # another column's
    assert len(check("49.1<!-- text:x char_lstm   batch 64    no -->")) == 1  # no column
    assert len(check("49.1<!-- text:x char_lstm   batch 64 #2 -->")) == 1  # two lines start so


def anchors(markdown):
    """The anchors GitHub gives the headings of a Markdown text."""
    return {re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
            for title in re.findall(r"^#+ (.*)$", markdown, flags=re.M)}


def test_every_local_link_of_the_documents_and_notebooks_exists_with_its_anchor():
    for name, text in texts():
        folder = Path(name.split(" cell ")[0]).parent
        for target, anchor in re.findall(r"\]\(([^)#:]*)(?:#([^)]*))?\)", text):
            path = PROJECT_DIR / folder / target if target else PROJECT_DIR / name.split(" cell ")[0]
            assert path.exists(), f"{name} links to {target}"
            if anchor and path.suffix == ".md":
                assert anchor in anchors(path.read_text()), f"{name} links to {target}#{anchor}"


def test_the_anchors_are_those_github_makes():
    assert anchors("## 3.1 Part 2's recipe, `fit` and the book\n# Part 1: seeds") == {
        "31-part-2s-recipe-fit-and-the-book", "part-1-seeds"}


def test_every_benchmark_has_its_printout_and_figures_and_is_listed():
    listing = (PROJECT_DIR / "benchmarks" / "README.md").read_text()
    for script in (PROJECT_DIR / "benchmarks").glob("*.py"):
        if script.stem in ("__init__", "common"):
            continue
        for suffix in ("txt", "json"):
            assert (PROJECT_DIR / "benchmarks" / "results" / f"{script.stem}.{suffix}").is_file(), (script.stem, suffix)
        assert f"python -m benchmarks.{script.stem}" in listing, script.stem
