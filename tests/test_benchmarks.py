"""The benchmarks run end to end on the small test data, and their printouts say what they measured.

Each run is a background process started when the tests are collected (see conftest.py)."""

import re
import shlex

import pytest

from ch16.hardware import cpu_model
from conftest import background, finished_run

SMALL_NOVEL = ("--min-text-chars", "1000")  # the test data's novel is short
RUNS = {  # name: (command, environment)
    "imdb": (["-m", "benchmarks.imdb_pipeline_benchmark", "--reviews", "64", "--rounds", "1", "--warmup", "1"], {}),
    "char": (["-m", "benchmarks.char_lm_pipeline_benchmark", "--steps", "2", "--warmup", "1", *SMALL_NOVEL], {}),
    "precision": (["-m", "benchmarks.precision_benchmark", "--steps", "2", "--rounds", "1", "--warmup", "1",
                   "--models", "char_lstm", *SMALL_NOVEL], {}),
    "xla": (["-m", "benchmarks.imdb_xla_benchmark", "--boundaries", "2", "--reviews", "96"], {}),
    "speed": (["-m", "benchmarks.part2_speed", "--skip-training", "--chunks", "64", "--rounds", "1", "--warmup", "1",
               *SMALL_NOVEL], {}),
    "padding": (["-m", "benchmarks.simple_rnn_padding", "--reviews", "64", "--epochs", "1"], {}),
    "autotune": (["-m", "benchmarks.autotune_stall", "--reviews", "64", "--epochs", "2"], {}),
}


def printout(run):
    """The printout of a benchmark run, once it has ended cleanly; its header is checked."""
    returncode, stdout, stderr = finished_run(run)
    assert returncode == 0, stderr[-3000:]
    command = RUNS[run][0]
    head = dict(line.split(":", 1) for line in stdout.split("\n\n", 1)[0].splitlines())
    assert head["Command"].strip() == "python -m " + shlex.join(command[1:])
    assert cpu_model() in head["CPU"]
    assert {"Date (UTC)", "bfloat16 flags", "GPUs", "Versions"} <= set(head)
    return stdout


def table_rows(output, names):
    """The rows of the printout's table whose first column is one of ``names``, split after the name."""
    pattern = re.compile(rf"^({'|'.join(map(re.escape, names))}) {{2,}}(\S.*)$")
    return {match[1]: match[2].split() for match in map(pattern.match, output.splitlines()) if match}


def percent(cell):
    return float(cell.rstrip("%")) / 100


@background("imdb")
def test_imdb_benchmark_times_the_books_pipeline_with_tfds_and_ours():
    output = printout("imdb")
    assert re.search(r"the book's encoder: [\d,]+ distinct tokens", output)
    names = ["book", "our encoding, book's batches", "ours at batch 32", "ours"]
    rows = table_rows(output, names)
    assert list(rows) == names
    padding = {name: percent(row[-1]) for name, row in rows.items()}
    assert padding["ours"] < padding["book"] and padding["ours at batch 32"] < padding["our encoding, book's batches"]
    assert re.search(r"ours is \d+\.\d\dx faster per epoch than the book's setup", output)


@background("char")
def test_char_benchmark_times_both_pipelines():
    output = printout("char")
    assert output.count("ms per step") == 2
    assert re.search(r"ours costs \d+\.\d\dx the book's pipeline per epoch", output)


@background("precision")
def test_precision_benchmark_compares_float32_with_the_chosen_or_emulated_precision():
    from ch16.hardware import choose_precision, cpu_flags, gpu_capabilities

    output = printout("precision")
    chosen, reason = choose_precision("auto", gpu_capabilities(), cpu_flags())
    compared = "mixed_bfloat16" if chosen == "float32" else chosen
    assert f"Chosen precision: {chosen}: {reason}" in output
    assert re.search(rf"float32 ms/step +{compared} ms/step +ratio", output)
    rows = table_rows(output, ["imdb", "char_lstm", "transformer"])
    assert list(rows) == ["char_lstm"]
    assert all(re.fullmatch(r"\d+ \d+ \d+\.\d\dx", " ".join(row)) for row in rows.values())


@background("xla")
def test_xla_benchmark_really_compiles_the_xla_variant_and_pads_wide_buckets_to_few_shapes():
    output = printout("xla")
    assert "[wide + XLA] compiled with XLA: True" in output and "[wide] compiled with XLA: False" in output
    edges = re.search(r"wide bucket edges: \[([\d, ]+)\]", output)[1].split(", ")
    rows = table_rows(output, ["chapter", "wide", "wide + XLA"])
    assert [row[0] for row in rows.values()] == ["no", "no", "yes"]
    for name in ("wide", "wide + XLA"):
        train_shapes, val_shapes = map(int, rows[name][-1].split("/"))
        assert train_shapes <= 2 * (len(edges) + 1) and val_shapes <= 2 * (len(edges) + 1)


@background("speed")
def test_part2_speed_benchmark_times_every_lever():
    output = printout("speed")
    rows = [line.split() for line in output.splitlines() if line.startswith(("char_lstm ", "char_transformer "))]
    assert len(rows) == 13
    assert {row[0] for row in rows} == {"char_lstm", "char_transformer"}
    xla = [row for row in rows if "XLA" in " ".join(row)]
    assert len(xla) == 3 and all("yes" in row for row in xla)  # XLA really compiled both models


@background("padding")
def test_simple_rnn_padding_benchmark_trains_both_ways():
    output = printout("padding")
    rows = table_rows(output, ["book's batches", "chapter's batches"])
    assert list(rows) == ["book's batches", "chapter's batches"]
    assert all(0 <= float(row[3]) <= 1 for row in rows.values())


@background("autotune")
def test_autotune_benchmark_measures_time_outside_the_steps_both_ways():
    output = printout("autotune")
    rows = [line.split() for line in output.splitlines() if re.match(r"(on|off) +\d ", line)]
    assert [row[:2] for row in rows] == [["on", "1"], ["on", "2"], ["off", "1"], ["off", "2"]]
    for _, _, wall, in_steps, outside in rows:
        assert float(wall) == pytest.approx(float(in_steps) + float(outside), abs=0.15)
