"""Every number in the README's results table is printed by the committed run it names."""

import re

import nbformat

import ch16_helpers as ch16

NUMBER = re.compile(r"\d(?:[\d,]*\d)?(?:\.\d+)?(?:e-?\d+)?")  # 1,234.5 but not the comma of "16,"


def notebook_outputs(part):
    notebook = nbformat.read(ch16.PROJECT_DIR / f"ch16_part{part}.ipynb", as_version=4)
    texts = [output.get("text", "") + output.get("data", {}).get("text/plain", "")
             for cell in notebook.cells for output in cell.get("outputs", [])]
    return "\n".join(texts)


def sources_named(where):
    """The committed printouts a row's "where" column names: a notebook part, a benchmark printout."""
    texts = [notebook_outputs(part) for part in ("1", "2") if f"part {part}" in where]
    texts += [(ch16.PROJECT_DIR / path).read_text() for path in re.findall(r"benchmarks/results/[\w.]+\.txt", where)]
    return texts


def results_rows():
    readme = (ch16.PROJECT_DIR / "README.md").read_text()
    section = readme.split("## Results", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:-1] for line in section.splitlines()
            if line.startswith("|") and not line.startswith("|---")]
    return rows[1:]  # without the header


def test_every_row_names_a_committed_source():
    rows = results_rows()
    assert len(rows) >= 8
    for name, *_, where in rows:
        assert sources_named(where), f"the row {name.strip()!r} names no notebook part or benchmark printout"


def test_every_number_in_the_results_table_is_printed_by_the_source_it_names():
    missing = []
    for name, *values, where in results_rows():
        printed = set(NUMBER.findall("\n".join(sources_named(where))))
        missing += [(name.strip(), number) for number in NUMBER.findall(" ".join(values)) if number not in printed]
    assert not missing, f"numbers in the README's results table that their named source does not print: {missing}"


def test_the_seed_quoted_as_this_run_gave_this_runs_test_accuracies():
    """Part 1 says that seed 1 of benchmarks/results/part1_seeds.txt is its own run."""
    printout = (ch16.PROJECT_DIR / "benchmarks" / "results" / "part1_seeds.txt").read_text()
    summary = printout.split("Test accuracy over 3 seeds:", 1)[1]
    seed_1 = {line.split()[0]: line.split()[1] for line in summary.strip().splitlines()[2:]}
    assert len(seed_1) == 4
    outputs = notebook_outputs("1")
    unmatched = {model: accuracy for model, accuracy in seed_1.items()  # the model's row ends with it
                 if not re.search(rf"^{model} .* {re.escape(accuracy)} *$", outputs, re.MULTILINE)}
    assert unmatched == {}, "seed 1's test accuracies differ from part 1's committed run"


def test_every_printout_the_readme_links_to_is_committed():
    readme = (ch16.PROJECT_DIR / "README.md").read_text()
    linked = re.findall(r"\]\((benchmarks/results/[^)]+)\)", readme)
    assert len(linked) >= 5
    assert [path for path in linked if not (ch16.PROJECT_DIR / path).is_file()] == []
    # and every benchmark under benchmarks/ has its row with a printout
    for script in (ch16.PROJECT_DIR / "benchmarks").glob("*.py"):
        if f"python -m benchmarks.{script.stem}`" in readme:
            assert f"benchmarks/results/{script.stem}.txt" in readme, script.stem
