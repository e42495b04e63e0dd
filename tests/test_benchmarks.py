"""The two pipeline benchmarks: they run end to end, and they time the chapter's own settings."""

import ast
import importlib.util
import os
import re
import subprocess
import sys

from conftest import PROJECT_DIR

BENCHMARKS = PROJECT_DIR / "benchmarks"


def benchmark_module(name):
    """Import a benchmark script as a module (its work runs only under ``__main__``)."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def full_setting(script, name):
    """The full-run value of a ``name=(full, quick)`` setting in an exported notebook."""
    text = (PROJECT_DIR / script).read_text(encoding="utf-8")
    match = re.search(rf"^\s*{name}=\(([^,]+),", text, re.MULTILINE)
    assert match, f"{name} not found in {script}"
    return ast.literal_eval(match.group(1))


def test_imdb_benchmark_times_the_chapters_settings(part1):
    bench = benchmark_module("imdb_pipeline_benchmark")
    assert bench.BATCH_SIZE == full_setting("ch16_part1.py", "batch_size")
    assert bench.MAX_TOKENS == full_setting("ch16_part1.py", "max_tokens")
    assert bench.EMBED_DIM == full_setting("ch16_part1.py", "embed_dim")
    assert bench.RNN_UNITS == full_setting("ch16_part1.py", "rnn_units")
    assert bench.TRAIN_REVIEWS == full_setting("ch16_part1.py", "train_reviews")
    assert bench.BUCKET_BOUNDARIES == part1["BUCKET_BOUNDARIES"]


def test_char_benchmark_times_the_chapters_settings():
    bench = benchmark_module("char_lm_pipeline_benchmark")
    assert bench.SEQ_LENGTH == full_setting("ch16_part2.py", "seq_length")
    assert bench.BATCH_SIZE == full_setting("ch16_part2.py", "batch_size")
    assert bench.EMBED_DIM == full_setting("ch16_part2.py", "embed_dim")
    assert bench.LSTM_UNITS == full_setting("ch16_part2.py", "lstm_units")


def run_benchmark(name, *arguments):
    result = subprocess.run([sys.executable, str(BENCHMARKS / name), *arguments],
                            capture_output=True, text=True, env=os.environ.copy(), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_imdb_benchmark_runs_on_small_data():
    output = run_benchmark("imdb_pipeline_benchmark.py", "--steps", "4", "--rounds", "2", "--warmup", "1")
    assert output.count("ms per step") == 2 * 2  # two pipelines, two rounds each
    rows = {line.split()[0]: line.split() for line in output.splitlines()
            if re.match(r"(book|ours) +\d+ ", line)}  # the table's rows
    assert set(rows) == {"book", "ours"}
    book_padding, ours_padding = (float(rows[name][-1].rstrip("%")) for name in ("book", "ours"))
    assert ours_padding < book_padding  # length buckets leave less padding than random batches
    assert re.search(r"ours is \d+\.\d\dx faster per epoch", output)


def test_char_benchmark_runs_on_small_data():
    output = run_benchmark("char_lm_pipeline_benchmark.py", "--steps", "2", "--warmup", "1")
    assert output.count("ms per step") == 2
    assert re.search(r"ours costs \d+\.\d\dx the book's pipeline per epoch", output)
