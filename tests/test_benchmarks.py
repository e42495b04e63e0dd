"""The benchmarks run end to end on the small test data, and their printouts say what they measured."""

import contextlib
import re
import shlex
from pathlib import Path

import keras
import pytest
from conftest import BENCHMARK_RUNS

import ch16_helpers as ch16
from benchmarks import chapter

SMALL_NOVEL = ("--min-text-chars", "1000")  # the test data's novel is short


# The benchmark runs the tests below check. Each test is marked with its run (``checks``), and
# conftest.py starts every run of the selected tests as soon as they are collected.
RUNS = {
    "imdb": ("imdb_pipeline_benchmark", "--reviews", "64", "--rounds", "1", "--warmup", "1"),
    "char": ("char_lm_pipeline_benchmark", "--steps", "2", "--warmup", "1", *SMALL_NOVEL),
    "precision": ("precision_benchmark", "--steps", "2", "--rounds", "1", "--warmup", "1",
                  "--models", "char_lstm", *SMALL_NOVEL),
    "xla": ("imdb_xla_benchmark", "--boundaries", "2", "--reviews", "128"),
    "transformer": ("transformer_recipe", "--epochs", "1", "--variants", "chapter", "all three", *SMALL_NOVEL),
}


def checks(run):
    """Mark a test as checking the benchmark run ``RUNS[run]``."""
    def mark(test):
        test.benchmark_run = run
        return test
    return mark


def outputs(run):
    """The printout of the benchmark run ``RUNS[run]``, once it has ended cleanly; its header is checked."""
    process, output = BENCHMARK_RUNS[run]
    process.wait(timeout=900)
    assert process.returncode == 0, Path(f"{output}.err").read_text()[-3000:]
    stdout = Path(f"{output}.out").read_text()
    name, *arguments = RUNS[run]
    header = dict(line.split(":", 1) for line in stdout.split("\n\n", 1)[0].splitlines())
    assert header["Command"].strip() == shlex.join(["python", "-m", f"benchmarks.{name}", *arguments])
    assert ch16.cpu_model() in header["CPU"]
    assert {"Date (UTC)", "bfloat16 flags", "GPUs", "Versions"} <= set(header)
    return stdout


def table_rows(output, names):
    """The rows of the printout's table whose first column is one of ``names``, split after the name."""
    pattern = re.compile(rf"^({'|'.join(map(re.escape, names))}) {{2,}}(\S.*)$")
    return {match[1]: match[2].split() for match in map(pattern.match, output.splitlines()) if match}


def percent(cell):
    return float(cell.rstrip("%")) / 100


@checks("imdb")
def test_imdb_benchmark_runs_on_small_data():
    output = outputs("imdb")
    names = ["book", "our encoding, book's batches", "ours at batch 32", "ours"]
    rows = table_rows(output, names)
    assert list(rows) == names
    padding = {name: percent(row[-1]) for name, row in rows.items()}
    # Length buckets leave less padding than random batches, whatever the tokenizer.
    assert padding["ours"] < padding["book"] and padding["ours at batch 32"] < padding["our encoding, book's batches"]
    assert re.search(r"ours is \d+\.\d\dx faster per epoch than the book's setup", output)


@checks("char")
def test_char_benchmark_runs_on_small_data():
    output = outputs("char")
    assert output.count("ms per step") == 2
    assert re.search(r"ours costs \d+\.\d\dx the book's pipeline per epoch", output)


@checks("precision")
def test_precision_benchmark_compares_float32_with_the_chosen_or_emulated_precision():
    output = outputs("precision")
    chosen, reason = ch16.choose_precision("auto", ch16.gpu_capabilities(), ch16.cpu_flags())
    compared = "mixed_bfloat16" if chosen == "float32" else chosen
    assert f"Chosen precision: {chosen}: {reason}" in output
    assert re.search(rf"float32 ms/step +{compared} ms/step +ratio", output)
    rows = table_rows(output, ["imdb", "char_lstm", "transformer"])
    assert list(rows) == ["char_lstm"]  # the model asked for, and only it
    assert all(re.fullmatch(r"\d+ \d+ \d+\.\d\dx", " ".join(row)) for row in rows.values())


@checks("xla")
def test_xla_benchmark_pads_wide_buckets_to_few_shapes():
    output = outputs("xla")
    edges = re.search(r"wide bucket edges: \[([\d, ]+)\]", output)[1].split(", ")
    rows = table_rows(output, ["chapter", "wide", "wide + XLA"])
    assert list(rows) == ["chapter", "wide", "wide + XLA"]
    for name in ("wide", "wide + XLA"):
        # Padded to the bucket edges, every bucket makes at most two shapes: full and partly filled batches.
        train_shapes, val_shapes = map(int, rows[name][-1].split("/"))
        assert train_shapes <= 2 * (len(edges) + 1) and val_shapes <= 2 * (len(edges) + 1)
    assert rows["wide"][-2:] == rows["wide + XLA"][-2:]  # the same batches with and without XLA


@contextlib.contextmanager
def full_settings(namespace, settings, vocab_size):
    """Let a notebook's build functions, which read the globals ``cfg`` and ``vocab_size``, build
    the full-size models (the tests run the notebooks in quick mode)."""
    saved = {name: namespace[name] for name in ("cfg", "vocab_size")}
    namespace.update(cfg=settings, vocab_size=vocab_size)
    try:
        yield
    finally:
        namespace.update(saved)


def layer_kinds(model):
    """The model's layer classes in order, without the dropout layers (they hold no weights)."""
    return [type(layer).__name__ for layer in model.layers
            if not isinstance(layer, (keras.layers.Dropout, keras.layers.SpatialDropout1D))]


def same_training(notebook, benchmark):
    """The two models have the same optimizer (learning rate, clipping) and loss (compared as the
    model cache's key sees them, without the names Keras numbers automatically, like ``adam_1``)."""
    configs = [ch16.architecture(model)["compiled"] for model in (notebook, benchmark)]
    return all(configs[0][part] == configs[1][part] for part in ("optimizer", "loss"))


def test_the_benchmarks_train_the_notebooks_models(part1, part2):
    """The benchmarks' copies of the models have the notebooks' layers and parameter counts."""
    vocab_size = 1_000
    with full_settings(part1, chapter.PART1, vocab_size):
        notebook = part1["build_classifier"](keras.layers.Bidirectional(keras.layers.LSTM(chapter.PART1.rnn_units)),
                                             "bilstm")
    benchmark = chapter.imdb_classifier(vocab_size)
    assert layer_kinds(notebook) == layer_kinds(benchmark)
    assert notebook.count_params() == benchmark.count_params()
    assert same_training(notebook, benchmark)
    with full_settings(part2, chapter.PART2, vocab_size):
        notebook_lstm, notebook_transformer = part2["build_char_lstm"](), part2["build_char_transformer"]()
    for notebook_model, benchmark_model in [(notebook_lstm, chapter.char_lstm(vocab_size)),
                                            (notebook_transformer, chapter.char_transformer(vocab_size))]:
        assert notebook_model.count_params() == benchmark_model.count_params(), notebook_model.name
        assert same_training(notebook_model, benchmark_model), notebook_model.name


@checks("transformer")
def test_transformer_recipe_trains_each_variant_and_tabulates_the_validation_losses():
    output = outputs("transformer")
    rows = table_rows(output, ["chapter", "all three"])
    assert list(rows) == ["chapter", "all three"]
    for name, (epoch_1, best, seconds) in rows.items():
        assert float(best) == float(epoch_1) > 0 and float(seconds) > 0, name
    # Each variant trained as described: its settings line, then one line per epoch.
    assert "[chapter] pre-norm False, batch 64" in output and "Adam at 0.001" in output
    assert "[all three] pre-norm True, batch 256" in output and "Adam warm-up to 0.003" in output
    assert len(re.findall(r"^\[(chapter|all three)\] epoch 1: loss \d", output, re.MULTILINE)) == 2


def test_transformer_recipe_levers():
    from benchmarks.transformer_recipe import WarmUp

    rates = [float(WarmUp(2e-3, 4)(step)) for step in range(6)]
    assert rates == pytest.approx([5e-4, 1e-3, 1.5e-3, 2e-3, 2e-3, 2e-3])

    def norms(model):
        return sum(isinstance(layer, keras.layers.LayerNormalization) for layer in model.layers)

    post, pre = chapter.char_transformer(50), chapter.char_transformer(50, pre_norm=True)
    assert norms(pre) == norms(post) + 1 == 2 * chapter.PART2.num_blocks + 1
    assert pre.count_params() == post.count_params() + 2 * chapter.PART2.model_dim  # the final norm
