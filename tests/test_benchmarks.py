"""The benchmarks run end to end on the small test data, and their printouts say what they measured."""

import os
import re
import subprocess
import sys

import ch16_helpers as ch16
from conftest import PROJECT_DIR

SMALL_NOVEL = ("--min-text-chars", "1000")  # the test data's novel is short


def run_benchmark(name, *arguments):
    """Run ``python -m benchmarks.NAME`` from the project folder; check its header; return its printout."""
    result = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *arguments], cwd=PROJECT_DIR,
                            capture_output=True, text=True, env=os.environ.copy(), timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    header = dict(line.split(":", 1) for line in result.stdout.split("\n\n", 1)[0].splitlines())
    assert header["Command"].strip() == " ".join([f"python -m benchmarks.{name}", *arguments])
    assert ch16.cpu_model() in header["CPU"]
    assert {"Date (UTC)", "bfloat16 flags", "GPUs", "Versions"} <= set(header)
    return result.stdout


def table_rows(output, names):
    """The rows of the printout's table whose first column is one of ``names``, split after the name."""
    pattern = re.compile(rf"^({'|'.join(map(re.escape, names))}) {{2,}}(\S.*)$")
    return {match[1]: match[2].split() for match in map(pattern.match, output.splitlines()) if match}


def percent(cell):
    return float(cell.rstrip("%")) / 100


def test_imdb_benchmark_runs_on_small_data():
    output = run_benchmark("imdb_pipeline_benchmark", "--reviews", "64", "--rounds", "1", "--warmup", "1")
    names = ["book", "our encoding, book's batches", "ours at batch 32", "ours"]
    rows = table_rows(output, names)
    assert list(rows) == names
    padding = {name: percent(row[-1]) for name, row in rows.items()}
    # Length buckets leave less padding than random batches, whatever the tokenizer.
    assert padding["ours"] < padding["book"] and padding["ours at batch 32"] < padding["our encoding, book's batches"]
    assert re.search(r"ours is \d+\.\d\dx faster per epoch than the book's setup", output)


def test_char_benchmark_runs_on_small_data():
    output = run_benchmark("char_lm_pipeline_benchmark", "--steps", "2", "--warmup", "1", *SMALL_NOVEL)
    assert output.count("ms per step") == 2
    assert re.search(r"ours costs \d+\.\d\dx the book's pipeline per epoch", output)


def test_precision_benchmark_compares_float32_with_the_chosen_or_emulated_precision():
    output = run_benchmark("precision_benchmark", "--steps", "2", "--rounds", "1", "--warmup", "1",
                           "--models", "char_lstm", *SMALL_NOVEL)
    chosen, reason = ch16.choose_precision("auto", ch16.gpu_capabilities(), ch16.cpu_flags())
    compared = "mixed_bfloat16" if chosen == "float32" else chosen
    assert f"Chosen precision: {chosen}: {reason}" in output
    assert re.search(rf"float32 ms/step +{compared} ms/step +ratio", output)
    rows = table_rows(output, ["imdb", "char_lstm", "transformer"])
    assert list(rows) == ["char_lstm"]  # the model asked for, and only it
    assert all(re.fullmatch(r"\d+ \d+ \d+\.\d\dx", " ".join(row)) for row in rows.values())


def test_xla_benchmark_pads_wide_buckets_to_few_shapes():
    output = run_benchmark("imdb_xla_benchmark", "--boundaries", "2")
    edges = re.search(r"wide bucket edges: \[([\d, ]+)\]", output)[1].split(", ")
    rows = table_rows(output, ["chapter", "wide", "wide + XLA"])
    assert list(rows) == ["chapter", "wide", "wide + XLA"]
    for name in ("wide", "wide + XLA"):
        # Padded to the bucket edges, every bucket makes at most two shapes: full and partly filled batches.
        train_shapes, val_shapes = map(int, rows[name][-1].split("/"))
        assert train_shapes <= 2 * (len(edges) + 1) and val_shapes <= 2 * (len(edges) + 1)
    assert rows["wide"][-2:] == rows["wide + XLA"][-2:]  # the same batches with and without XLA
