"""The notebooks as files: the generated scripts and modules equal a fresh export, their layout (setup,
headings, cell sizes, test markers as tags), papermill parameters, committed outputs that show only what
a reader should see, and the exported scripts run from a terminal as a reader would (quick mode,
synthetic data), reporting figures that agree with each other."""

import ast
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from conftest import _WORK_DIR, PROJECT_DIR, assert_cudnn_eligible, background, finished_run

PARTS = ["part1", "part2"]
# Each script run trains its own models: a cache of its own, not the one the notebooks' kernels fill.
RUNS = {f"script {part}": ([str(PROJECT_DIR / f"ch16_{part}.py")], {"CH16_CACHE_DIR": str(_WORK_DIR / f"cache-{part}")})
        for part in PARTS}


@pytest.fixture(scope="module")
def fresh_export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    shutil.copy(PROJECT_DIR / "convert_notebooks.sh", folder)
    (folder / "ch16").mkdir()
    for part in PARTS:
        shutil.copy(PROJECT_DIR / f"ch16_{part}.ipynb", folder)
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    subprocess.run(["bash", str(folder / "convert_notebooks.sh")], check=True, env={**os.environ, "PATH": path})
    return folder


@pytest.mark.parametrize("generated", [f"ch16_{part}.py" for part in PARTS] + [f"ch16/{part}.py" for part in PARTS])
def test_generated_files_equal_a_fresh_export_of_their_notebook(fresh_export, generated):
    assert (fresh_export / generated).read_bytes() == (PROJECT_DIR / generated).read_bytes(), (
        f"{generated} is out of date: run ./convert_notebooks.sh")


@pytest.mark.parametrize("part", PARTS)
def test_notebook_code_has_no_magics_shell_escapes_or_test_markers(part):
    notebook = nbformat.read(PROJECT_DIR / f"ch16_{part}.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            for line in cell.source.splitlines():
                assert not line.lstrip().startswith(("%", "!")), f"IPython syntax in {part}: {line}"
                assert "NBVAL" not in line, f"a test marker in the code of {part}: {line}"


# The demo cells whose printed numbers nbval compares with the committed run, each found by its code: the
# by-hand RNN and LSTM steps, the output-recurrence demo, the sampling demos, the 1/sqrt(d_k) scaling
# and the Transformer block on position-encoded input.
CHECKED_DEMOS = {"part1": ["keras_outputs = rnn_layer(", "w_oh = rng.normal(", "z_i, z_f, z_c, z_o = np.split(",
                           "tiny_embedding = layers.Embedding(", "def recurrent_parameter_count("],
                 "part2": ["uniform_logits = tf.constant(", "peaked_logits = tf.constant(", "for scale_factor in (",
                           "for d_k_demo in (", "block_input = batch + sinusoidal_encoding("]}


@pytest.mark.parametrize("part", PARTS)
def test_the_demo_cells_are_tagged_to_have_their_printout_compared_with_the_committed_run(part):
    notebook = nbformat.read(PROJECT_DIR / f"ch16_{part}.ipynb", as_version=4)
    for code in CHECKED_DEMOS[part]:
        cells = [cell for cell in notebook.cells if cell.cell_type == "code" and code in cell.source]
        assert len(cells) == 1, code
        assert "nbval-check-output" in cells[0].metadata.get("tags", []) and cells[0].outputs, code


@pytest.mark.parametrize("part", PARTS)
def test_every_lstm_and_gru_layer_the_lesson_builds_keeps_the_cudnn_conditions(part):
    """Each ``LSTM(...)`` or ``GRU(...)`` call in the exported script, built with its literal arguments (a
    ``recurrent_dropout=0.2`` added to a cell fails here)."""
    import keras
    calls = [node for node in ast.walk(ast.parse((PROJECT_DIR / f"ch16_{part}.py").read_text()))
             if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("LSTM", "GRU")]
    assert calls
    for call in calls:
        literal = {}
        for keyword in call.keywords:
            with contextlib.suppress(ValueError):
                literal[keyword.arg] = ast.literal_eval(keyword.value)
        literal.pop("units", None)
        layer = getattr(keras.layers, call.func.attr if hasattr(call.func, "attr") else call.func.id)(8, **literal)
        assert_cudnn_eligible(layer)


@pytest.mark.parametrize("part", PARTS)
def test_every_model_the_lesson_trains_is_built_right_after_the_seed_is_set(part):
    """Keras draws each layer's initial weights from the seed and from every layer built before: a model
    built without seeding again would start from weights that depend on the cells run before it, under
    the same saved-model key. The line before each ``name = build_...(`` sets the seed (a model that then
    receives another's weights excepted)."""
    notebook = nbformat.read(PROJECT_DIR / f"ch16_{part}.ipynb", as_version=4)
    builds = 0
    for cell in notebook.cells:
        lines = cell.source.splitlines() if cell.cell_type == "code" else []
        for i, line in enumerate(lines):
            if (found := re.match(r"(\w+) = build_\w+\(", line)) and f"{found[1]}.set_weights(" not in cell.source:
                builds += 1
                assert i > 0 and lines[i - 1].startswith("keras.utils.set_random_seed(SEED)"), cell.source[:120]
    assert builds >= 2


@pytest.mark.parametrize("part", PARTS)
def test_the_committed_run_trained_every_model_it_reports(part):
    """The committed outputs come from a run that trained its models (its times and wall time are a
    reader's), not one that loaded them from the cache of an earlier run."""
    _, outputs = committed_outputs(part)
    assert outputs and not [cell.source[:80] for cell, output in outputs if "Loaded the trained" in json.dumps(output)]


@pytest.mark.parametrize("part", PARTS)
def test_at_most_four_code_cells_come_before_section_1(part):
    notebook = nbformat.read(PROJECT_DIR / f"ch16_{part}.ipynb", as_version=4)
    first = next(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "markdown"
                 and re.search(r"^## 1 ", cell.source, re.MULTILINE))
    assert sum(cell.cell_type == "code" for cell in notebook.cells[:first]) <= 4


@pytest.mark.parametrize("part", PARTS)
def test_no_markdown_cell_is_over_350_words(part):
    notebook = nbformat.read(PROJECT_DIR / f"ch16_{part}.ipynb", as_version=4)
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            words = len(re.sub(r"<!--.*?-->|\$[^$]*\$", "x", cell.source).split())
            assert words <= 350, f"cell {i} of {part}: {words} words"


@pytest.mark.parametrize("part", PARTS)
def test_notebook_has_one_parameters_cell_reading_quick_mode(part):
    notebook = nbformat.read(PROJECT_DIR / f"ch16_{part}.ipynb", as_version=4)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "CH16_QUICK" in tagged[0].source


@pytest.mark.parametrize("part, injected, probe, expected", [
    ("part1", "QUICK = True\nSEED = 7", "print((cfg.batch_size, SEED))", "(32, 7)"),
    ("part2", "QUICK = True\nPRECISION = 'bfloat16'", "print((cfg.embed_dim, precision_policy))",
     "(16, 'mixed_bfloat16')"),
])
def test_parameters_injected_after_the_tagged_cell_take_effect(part, injected, probe, expected, monkeypatch):
    """Papermill inserts a cell of new values right after the cell tagged `parameters`."""
    import nbclient

    monkeypatch.setenv("CH16_QUICK", "0")  # only the injected cell asks for quick mode
    notebook = nbformat.read(PROJECT_DIR / f"ch16_{part}.ipynb", as_version=4)
    tagged = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    settings = next(i for i, c in enumerate(notebook.cells) if "ch16.choose_settings(" in c.source)
    notebook.cells = (notebook.cells[:tagged + 1] + [nbformat.v4.new_code_cell(injected)]
                      + notebook.cells[tagged + 1:settings + 2] + [nbformat.v4.new_code_cell(probe)])
    nbclient.NotebookClient(notebook, timeout=300, resources={"metadata": {"path": str(PROJECT_DIR)}}).execute()
    printed = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    assert printed.strip() == expected


# ---- The committed outputs ----------------------------------------------------------------

def committed_outputs(part):
    notebook = nbformat.read(PROJECT_DIR / f"ch16_{part}.ipynb", as_version=4)
    return notebook, [(cell, output) for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]


@pytest.mark.parametrize("part", PARTS)
def test_the_committed_outputs_keep_only_the_summary_of_each_progress_display(part):
    """Progress shown while an epoch, an evaluation or a measurement runs ends as one summary
    line: no progress text, carriage return or "starting" display is left in the committed run."""
    notebook, outputs = committed_outputs(part)
    assert "widgets" not in notebook.metadata
    for cell, output in outputs:
        text = output.get("text", "") + "".join(output.get("data", {}).get("text/plain", ""))
        assert "\r" not in text and not re.search(r"\d+ steps?, \d+ s elapsed|: starting$", text, re.MULTILINE), text


LOCAL_PATH = re.compile(r"(?<![\w.:/~-])/(?:[\w.-]+/)+[\w.-]+|[A-Z]:\\\\")  # an absolute path of this machine's


def test_the_local_path_pattern_finds_absolute_paths_but_not_urls_or_relative_ones():
    assert LOCAL_PATH.search('"saved as /somewhere/cache/figures/x.png"')
    assert LOCAL_PATH.search('"C:\\\\Users\\\\reader"')
    assert not LOCAL_PATH.search('"https://www.gutenberg.org/files/1268/1268-0.txt, aclImdb/train/neg, 1/14"')


@pytest.mark.parametrize("part", PARTS)
def test_the_committed_outputs_hold_no_terminal_colours_no_errors_and_no_local_paths(part):
    _, outputs = committed_outputs(part)
    for cell, output in outputs:
        text = json.dumps(output)
        assert "\\u001b[" not in text, cell.source[:80]  # ANSI escape codes
        assert output.output_type != "error", cell.source[:80]
        shown = "".join(output.get("text", "")) + "".join(
            "".join(value) for kind, value in output.get("data", {}).items() if kind.startswith("text/"))
        assert not LOCAL_PATH.search(shown), cell.source[:80]  # in what is shown as text, not in images


@pytest.mark.parametrize("part", PARTS)
def test_every_cell_that_reports_figures_keeps_them_in_its_committed_output(part):
    notebook, _ = committed_outputs(part)
    for cell in notebook.cells:
        if cell.cell_type == "code" and "ch16.report(" in cell.source:
            kept = [output for output in cell.outputs if output.get("metadata", {}).get("ch16")]
            assert len(kept) == cell.source.count("ch16.report("), cell.source[:80]


# ---- The scripts, from a terminal -----------------------------------------------------------

def script_figures(part):
    """The figures the terminal run of a part reported (results/ch16_PART.json in its cache)."""
    return json.loads((_WORK_DIR / f"cache-{part}" / "results" / f"ch16_{part}.json").read_text())


@background("script part1")
def test_part1_runs_from_a_terminal_in_quick_mode_and_prints_whole_tables():
    returncode, stdout, stderr = finished_run("script part1")
    assert returncode == 0, stderr[-3000:]
    assert "\r" not in stdout and "figure saved as" in stdout
    assert not re.search(r" {2}\.\.\. {2}|\[\d+ rows x \d+ columns\]", stdout), "a table printed cut"
    figures = script_figures("part1")
    for model in ("bilstm", "lstm_full", "rnn_full", "birnn_last100"):
        assert 1 <= figures[f"{model}.best_epoch"] <= figures[f"{model}.epochs"] == 1
        assert figures[f"{model}.training_minutes"] == pytest.approx(figures[f"{model}.seconds_per_epoch"] / 60)


@background("script part1")
def test_part1s_reported_differences_are_differences_of_its_reported_accuracies():
    assert finished_run("script part1")[0] == 0
    figures = script_figures("part1")
    for first, second in [("bilstm", "lstm_full"), ("lstm_full", "rnn_full"), ("rnn_full", "birnn_last100")]:
        assert figures[f"{first}_minus_{second}.difference"] == pytest.approx(
            figures[f"{first}.test_accuracy"] - figures[f"{second}.test_accuracy"], abs=1e-9)
    assert figures["bilstm.test_accuracy"] == pytest.approx(figures["bilstm.evaluate.test_accuracy"], abs=1e-6)
    assert 0 < figures["padding.buckets"] < figures["padding.random_batches"] < 1


@background("script part2")
def test_part2_runs_from_a_terminal_in_quick_mode_with_consistent_figures():
    returncode, stdout, stderr = finished_run("script part2")
    assert returncode == 0, stderr[-3000:]
    assert "\r" not in stdout and "--- scale factor 2.0" in stdout
    assert not re.search(r" {2}\.\.\. {2}|\[\d+ rows x \d+ columns\]", stdout), "a table printed cut"
    figures = script_figures("part2")
    assert figures["generation.speedup"] == pytest.approx(
        figures["generation.window_seconds"] / figures["generation.carried_state_seconds"])
    for model in ("char_lstm", "char_transformer"):
        assert figures[f"{model}.best_perplexity"] == pytest.approx(np.exp(figures[f"{model}.best_val_loss"]))
    assert figures["precision"] in ("float32", "mixed_bfloat16", "mixed_float16")


@pytest.mark.parametrize("variable, value, message", [
    ("CH16_DATA_DIR", "EMPTY_FOLDER", "DataError: No 1268-0.txt in"),
    ("CH16_QUICK", "perhaps", "SettingError: CH16_QUICK='perhaps' is not a yes/no value"),
    ("CH16_CACHE_DIR", "~no_such_user_of_this_machine/cache", "SettingError: CH16_CACHE_DIR="),
])
def test_a_terminal_run_ends_on_bad_data_or_settings_with_one_clear_message(tmp_path, variable, value, message):
    value = str(tmp_path) if value == "EMPTY_FOLDER" else value
    env = {**os.environ, "CH16_CACHE_DIR": str(tmp_path / "cache"), variable: value}
    result = subprocess.run([sys.executable, str(PROJECT_DIR / "ch16_part2.py")], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert message in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr
