"""Every number in the README's results table is printed, on a line of its own context, by the
committed notebook run or benchmark printout that its row names."""

import re

import nbformat

from conftest import PROJECT_DIR

NUMBER = re.compile(r"(?<![\d.])\d(?:[\d,]*\d)?(?:\.\d+)?(?:e-?\d+)?")  # 1,234.5 but not the comma of "16,"


def output_lines(part):
    notebook = nbformat.read(PROJECT_DIR / f"ch16_part{part}.ipynb", as_version=4)
    texts = [output.get("text", "") + output.get("data", {}).get("text/plain", "")
             for cell in notebook.cells for output in cell.get("outputs", [])]
    return "\n".join(texts).splitlines()


def source_lines(where):
    """The lines of the committed printouts a row's "where" cell names: a notebook part, a benchmark printout."""
    lines = [line for part in ("1", "2") if re.search(rf"\bpart {part}\b", where) for line in output_lines(part)]
    for path in re.findall(r"benchmarks/results/[\w.]+\.txt", where):
        lines += (PROJECT_DIR / path).read_text().splitlines()
    return lines


def labels(where):
    """The labels of a row: the code-formatted words after the colon of its "where" cell."""
    return re.findall(r"`([^`]+)`", where.split(":", 1)[1]) if ":" in where else []


def results_rows():
    readme = (PROJECT_DIR / "README.md").read_text()
    section = readme.split("## Results", 1)[1].split("\n## ", 1)[0]
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in section.splitlines()
            if line.startswith("|") and not line.startswith("|---")]
    return rows[1:]  # without the header


def test_every_row_names_a_committed_source_and_the_labels_of_its_lines():
    rows = results_rows()
    assert len(rows) >= 10
    for name, value, where in rows:
        assert source_lines(where), f"the row {name!r} names no notebook part or benchmark printout"
        assert labels(where), f"the row {name!r} names no label of the lines its numbers are on"


def test_every_number_is_printed_on_a_line_of_its_rows_context():
    missing = []
    for name, value, where in results_rows():
        lines = [line for line in source_lines(where) if any(label in line for label in labels(where))]
        printed = {number for line in lines for number in NUMBER.findall(line)}
        missing += [(name, number) for number in NUMBER.findall(value) if number not in printed]
    assert not missing, f"numbers in the README's results table not printed on a line of their context: {missing}"


def test_the_context_check_catches_a_number_that_the_source_prints_elsewhere():
    """A number changed to another number that its source also prints, but not on its row's lines."""
    name, value, where = next(row for row in results_rows() if "part1_seeds" in row[2])
    lines = source_lines(where)
    elsewhere = [number for line in lines if not any(label in line for label in labels(where))
                 for number in NUMBER.findall(line) if "." in number]
    context = {number for line in lines if any(label in line for label in labels(where))
               for number in NUMBER.findall(line)}
    assert any(number not in context for number in elsewhere)


def test_the_seed_quoted_as_this_run_gave_this_runs_test_accuracies():
    """Part 1 says that seed 1 of benchmarks/results/part1_seeds.txt is its own run."""
    printout = (PROJECT_DIR / "benchmarks" / "results" / "part1_seeds.txt").read_text()
    seed_1 = printout.split("--- seed 1 ---", 1)[1].split("--- seed", 1)[0]
    rows = {line.split()[0]: line.split()[-1] for line in seed_1.strip().splitlines()[2:] if line.strip()}
    assert len(rows) == 4
    outputs = "\n".join(output_lines("1"))
    unmatched = {model: accuracy for model, accuracy in rows.items()
                 if not re.search(rf"^{model} .* {re.escape(accuracy)} *$", outputs, re.MULTILINE)}
    assert unmatched == {}, "seed 1's test accuracies differ from part 1's committed run"


def test_every_printout_the_readme_links_to_is_committed_and_every_benchmark_has_one():
    readme = (PROJECT_DIR / "README.md").read_text()
    linked = re.findall(r"\]\((benchmarks/results/[^)]+)\)", readme)
    assert len(linked) >= 6
    assert [path for path in linked if not (PROJECT_DIR / path).is_file()] == []
    for script in (PROJECT_DIR / "benchmarks").glob("*.py"):
        if script.stem in ("__init__", "common"):
            continue
        assert f"python -m benchmarks.{script.stem}`" in readme, script.stem
        assert f"benchmarks/results/{script.stem}.txt" in readme, script.stem
