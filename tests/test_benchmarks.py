"""The benchmarks run end to end on the small test data, and the figures they report agree with an
independent computation from the other figures of the same run (a ratio, a difference, a kept epoch);
their statistics are checked against independent computations on small tables.

Each run is a background process started when the tests are collected (see conftest.py)."""

import json
import os
import shlex
import statistics
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from ch16.hardware import cpu_model
from conftest import _WORK_DIR, PROJECT_DIR, background, finished_run

SMALL_NOVEL = ("--min-text-chars", "1000")  # the test data's novel is short
RUNS = {  # name: (command, environment)
    "imdb": (["-m", "benchmarks.imdb_pipeline_benchmark", "--reviews", "64", "--rounds", "1", "--warmup", "1"], {}),
    "char": (["-m", "benchmarks.char_lm_pipeline_benchmark", "--steps", "2", "--warmup", "1", *SMALL_NOVEL], {}),
    "precision": (["-m", "benchmarks.precision_benchmark", "--steps", "2", "--rounds", "1", "--warmup", "1",
                   "--models", "char_lstm", *SMALL_NOVEL], {}),
    "xla": (["-m", "benchmarks.imdb_xla_benchmark", "--boundaries", "2", "--reviews", "96"], {}),
    "speed": (["-m", "benchmarks.part2_speed", "--chunks", "64", "--rounds", "1", "--warmup", "1", *SMALL_NOVEL], {}),
    "quality": (["-m", "benchmarks.part2_precision", "--quick", *SMALL_NOVEL], {}),
    "padding": (["-m", "benchmarks.simple_rnn_padding", "--reviews", "64", "--epochs", "2"], {}),
    "autotune": (["-m", "benchmarks.autotune_stall", "--reviews", "64", "--epochs", "2"], {}),
}
for _name, (_command, _env) in RUNS.items():
    _command += ["--figures", str(_WORK_DIR / f"figures-{_name}.json")]
    _env["CH16_CACHE_DIR"] = str(_WORK_DIR / f"cache-benchmark-{_name}")  # each trains its own models


def figures(run):
    """The figures of a benchmark run, once it has ended cleanly; its printout's header is checked."""
    returncode, stdout, stderr = finished_run(run)
    assert returncode == 0, stderr[-3000:]
    head = dict(line.split(":", 1) for line in stdout.split("\n\n", 1)[0].splitlines())
    assert head["Command"].strip() == "python -m " + shlex.join(RUNS[run][0][1:])
    assert cpu_model() in head["CPU"]
    assert {"Date (UTC)", "bfloat16 flags", "GPUs", "Versions"} <= set(head)
    return json.loads((_WORK_DIR / f"figures-{run}.json").read_text())


@background("imdb")
def test_imdb_benchmark_speedup_is_the_books_epoch_time_over_ours():
    found = figures("imdb")
    assert found["speedup"] == pytest.approx(found["book.seconds_per_epoch"] / found["ours.seconds_per_epoch"])
    assert found["ours.padding"] < found["book.padding"] and found["ours_batch_32.padding"] < found["our_encoding.padding"]
    assert found["book_vocabulary_ids"] == found["book_distinct_tokens"] + 2  # padding and one id for unknown words


@background("char")
def test_char_pipeline_benchmark_ratio_is_ours_over_the_books():
    found = figures("char")
    assert found["ours_over_book"] == pytest.approx(found["ours.seconds_per_epoch"] / found["book.seconds_per_epoch"])


@background("precision")
def test_precision_benchmark_ratio_is_the_compared_precisions_step_time_over_float32s():
    from ch16.hardware import choose_precision, cpu_flags, gpu_capabilities

    found = figures("precision")
    chosen, _ = choose_precision("auto", gpu_capabilities(), cpu_flags())
    assert found["chosen"] == chosen and found["compared"] == ("mixed_bfloat16" if chosen == "float32" else chosen)
    assert found["char_lstm.time_ratio"] == pytest.approx(
        found[f"char_lstm.{found['compared']}_ms"] / found["char_lstm.float32_ms"])
    assert "imdb.time_ratio" not in found  # only the models asked for


@background("xla")
def test_xla_benchmark_compiles_the_xla_variant_and_its_time_ratio_adds_up_the_epochs():
    found = figures("xla")
    assert (found["chapter.xla"], found["wide.xla"], found["wide_xla.xla"]) == (False, False, True)
    for epochs in (7, 10):
        xla = found["wide_xla.epoch_1"] + (epochs - 1) * found["wide_xla.epoch_2"]
        chapter = found["chapter.epoch_1"] + (epochs - 1) * found["chapter.epoch_2"]
        assert found[f"wide_xla_time_ratio.{epochs}_epochs"] == pytest.approx(xla / chapter)
    assert found["wide.train_shapes"] <= 2 * 3 and found["wide.padding"] > found["chapter.padding"]


@background("speed")
def test_part2_speed_benchmark_speedups_are_batch_64s_epoch_time_over_each_levers():
    found = figures("speed")
    levers = {key.rsplit(".", 1)[0] for key in found if key.endswith(".speedup")}
    assert len(levers) == 13
    for lever in levers:
        model = lever.split(".")[0]
        assert found[f"{lever}.speedup"] == pytest.approx(
            found[f"{model}.batch_64.seconds_per_epoch"] / found[f"{lever}.seconds_per_epoch"])
        assert found[f"{lever}.xla"] == ("XLA" in lever)  # XLA really compiled exactly the XLA levers


@background("quality")
def test_part2_precision_benchmark_difference_is_bfloat16s_best_loss_minus_float32s():
    found = figures("quality")
    for model in ("char_lstm", "char_transformer"):
        assert found[f"{model}.bfloat16_minus_float32"] == pytest.approx(
            found[f"{model}.mixed_bfloat16.best_val_loss"] - found[f"{model}.float32.best_val_loss"])
        for precision in ("float32", "mixed_bfloat16"):
            assert 1 <= found[f"{model}.{precision}.best_epoch"] <= found[f"{model}.{precision}.epochs"]


@background("padding")
def test_simple_rnn_padding_benchmark_keeps_the_best_epoch_and_masks_only_the_chapters_batches():
    found = figures("padding")
    for setup in ("book", "chapter"):
        losses = found[f"{setup}.val_loss"]
        assert found[f"{setup}.kept_epoch"] == int(np.argmin(losses)) + 1
        assert found[f"{setup}.kept_val_accuracy"] == found[f"{setup}.val_accuracy"][int(np.argmin(losses))]
    assert (found["book.mask"], found["chapter.mask"]) == (False, True)
    assert found["chapter.padding"] < found["book.padding"]


@background("autotune")
def test_autotune_benchmark_splits_each_epochs_wall_time_into_steps_and_the_rest():
    found = figures("autotune")
    for state in ("on", "off"):
        for epoch in (1, 2):
            key = f"{state}.epoch_{epoch}"
            assert found[f"{key}.wall"] == pytest.approx(found[f"{key}.in_steps"] + found[f"{key}.outside_steps"])
            assert 0 < found[f"{key}.in_steps"] <= found[f"{key}.wall"]


# ---- Statistics, on small tables ----------------------------------------------------------------

def test_the_seed_summary_takes_the_mean_and_the_sample_standard_deviation():
    from benchmarks.part1_seeds import summary

    table = pd.DataFrame({"seed 1": [0.80, 0.70], "seed 2": [0.84, 0.71], "seed 3": [0.83, 0.75]}, index=["a", "b"])
    result = summary(table)
    for name in ("a", "b"):
        values = table.loc[name].tolist()
        assert result.loc[name, "mean"] == pytest.approx(statistics.mean(values))
        assert result.loc[name, "sd"] == pytest.approx(statistics.stdev(values))  # n - 1 degrees of freedom


def test_the_paired_differences_subtract_the_second_model_from_the_first_seed_by_seed():
    from benchmarks.part1_seeds import DIFFERENCES, paired_differences

    models = sorted({name for pair in DIFFERENCES for name in pair})
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.uniform(0.8, 0.9, size=(len(models), 3)), index=models, columns=["s1", "s2", "s3"])
    result = paired_differences(table)
    for first, second in DIFFERENCES:
        np.testing.assert_allclose(result.loc[f"{first} - {second}"], table.loc[first] - table.loc[second])


def test_epoch_statistics_count_the_real_tokens_and_the_padding_of_every_batch():
    import tensorflow as tf

    from benchmarks.common import epoch_statistics

    rows = [[1, 2, 0, 0], [3, 0, 0, 0], [4, 5, 6, 0]]
    batches = tf.data.Dataset.from_tensor_slices((np.array(rows), np.zeros(3))).batch(2)
    found = epoch_statistics(batches)
    assert (found.steps, found.tokens, found.shapes) == (2, 6, 2)
    assert found.padding == pytest.approx(6 / 12)


def test_a_benchmarks_help_is_its_usage_without_tensorflows_start_up_log():
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-m", "benchmarks.part2_speed", "--help"], cwd=PROJECT_DIR, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("usage: ")
    assert result.stderr == ""
