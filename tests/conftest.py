"""Test set-up: synthetic data in a temporary folder, quick mode for every notebook run, and the
notebooks executed once each for all the tests that need their results.

The user's own CH16_DATA_DIR (real data) is kept for the tests marked ``realdata``; the
notebooks and scripts run by the tests read the synthetic data instead.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import synthetic

REAL_DATA_DIR = os.environ.get("CH16_DATA_DIR")
_WORK_DIR = Path(tempfile.mkdtemp(prefix="ch16-tests-"))
SYNTHETIC_DATA_DIR = _WORK_DIR / "data"
# Set before ch16_helpers is imported: it reads CH16_CACHE_DIR once, on import. The reader's own
# seed and precision settings do not apply: the checked cells print seeded values.
for _variable in ("CH16_SEED", "CH16_PRECISION"):
    os.environ.pop(_variable, None)
os.environ.update(
    CH16_QUICK="1",
    CH16_DATA_DIR=str(SYNTHETIC_DATA_DIR),
    CH16_CACHE_DIR=str(_WORK_DIR / "cache"),
    CH16_RETRAIN="0",
    MPLBACKEND="Agg",
    TF_CPP_MIN_LOG_LEVEL="2",
    # What Keras, Matplotlib, IPython and Jupyter would write into the home folder goes here.
    KERAS_HOME=str(_WORK_DIR / "keras"),
    MPLCONFIGDIR=str(_WORK_DIR / "matplotlib"),
    IPYTHONDIR=str(_WORK_DIR / "ipython"),
    JUPYTER_RUNTIME_DIR=str(_WORK_DIR / "jupyter-runtime"),
    JUPYTER_DATA_DIR=str(_WORK_DIR / "jupyter-data"),
)

from ch16_helpers import PROJECT_DIR  # noqa: E402  (after the settings above)


def pytest_configure(config):
    synthetic.make_imdb_tree(SYNTHETIC_DATA_DIR / "aclImdb")
    (SYNTHETIC_DATA_DIR / "1268-0.txt").write_bytes(synthetic.gutenberg_file(synthetic.novel_body()))


# The benchmark runs that the selected tests of test_benchmarks.py check, by name: each is a
# process started as soon as the tests are collected, and the tests that check them run last,
# so that the runs (mostly importing TensorFlow and tracing small models) overlap the other tests.
BENCHMARK_RUNS = {}


def _checks_a_benchmark_run(item):
    return getattr(getattr(item, "function", None), "benchmark_run", None)


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: _checks_a_benchmark_run(item) is not None)  # stable: keeps the order otherwise


def pytest_collection_finish(session):
    if session.config.option.collectonly:
        return
    for item in session.items:
        run = _checks_a_benchmark_run(item)
        if run is None or run in BENCHMARK_RUNS:
            continue
        name, *arguments = item.module.RUNS[run]
        output = _WORK_DIR / f"benchmark-{run}"
        with open(f"{output}.out", "w") as stdout, open(f"{output}.err", "w") as stderr:
            process = subprocess.Popen([sys.executable, "-m", f"benchmarks.{name}", *arguments],
                                       cwd=PROJECT_DIR, stdout=stdout, stderr=stderr, env=os.environ.copy())
        BENCHMARK_RUNS[run] = process, output


def pytest_unconfigure(config):
    for process, _ in BENCHMARK_RUNS.values():
        process.kill()
        process.wait()
    shutil.rmtree(_WORK_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def real_data_dir():
    """The folder of the real data sets, or skip the test."""
    if not REAL_DATA_DIR:
        pytest.skip("CH16_DATA_DIR does not name a folder of the real data")
    folder = Path(REAL_DATA_DIR)
    has_imdb = (folder / "aclImdb").is_dir() or any(folder.glob("aclImdb*.tar.gz"))
    if not (has_imdb and (folder / "1268-0.txt").is_file()):
        pytest.skip("CH16_DATA_DIR does not hold the real data sets")
    return folder


class _StopRun(Exception):
    pass


def run_script(name, stop_before_training=None):
    """Run an exported script in this process, in quick mode, and return its global names.

    With ``stop_before_training`` (a model name), the run stops when the script is about to train
    or load that model, and the names defined until then are returned.
    """
    import runpy
    import sys

    import ch16_helpers as ch16

    if stop_before_training is None:
        return runpy.run_path(str(PROJECT_DIR / name), run_name="__main__")
    namespace, load_or_train = {}, ch16.load_or_train

    def stop_at_the_model(model, *args, **kwargs):
        if model.name == stop_before_training:
            namespace.update(sys._getframe(1).f_globals)  # the script's names, called from its train_or_load
            raise _StopRun
        return load_or_train(model, *args, **kwargs)

    ch16.load_or_train = stop_at_the_model
    try:
        runpy.run_path(str(PROJECT_DIR / name), run_name="__main__")
    except _StopRun:
        return namespace
    finally:
        ch16.load_or_train = load_or_train
    raise AssertionError(f"{name} never trained a model named {stop_before_training!r}")


CHECKED_CELL = "# NBVAL_CHECK_OUTPUT"  # a cell whose printout must equal the committed one


def run_notebook(name):
    """Execute a notebook's code cells top to bottom in one fresh namespace, in this process and in
    quick mode, as a fresh kernel would. Returns the namespace and, for each code cell (by index),
    what it printed. The exported script is the same code (a test compares it with a fresh export)."""
    import contextlib
    import io
    import linecache

    import nbformat

    notebook = nbformat.read(PROJECT_DIR / name, as_version=4)
    namespace = {"__name__": "__main__"}
    printed = {}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        filename = f"<{name} cell {index}>"
        source = cell.source + "\n"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # for inspect.getsource
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            exec(compile(source, filename, "exec"), namespace)
        printed[index] = captured.getvalue()
    return namespace, printed


def committed_printouts(name):
    """What each checked cell printed (stdout) in the committed run of the notebook, by cell index."""
    import nbformat

    notebook = nbformat.read(PROJECT_DIR / name, as_version=4)
    return {index: "".join(output.get("text", "") for output in cell.outputs
                           if output.output_type == "stream" and output.name == "stdout")
            for index, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" and cell.source.startswith(CHECKED_CELL)}


@pytest.fixture(scope="session")
def part1_run():
    return run_notebook("ch16_part1.ipynb")


@pytest.fixture(scope="session")
def part2_run():
    return run_notebook("ch16_part2.ipynb")


@pytest.fixture(scope="session")
def part1(part1_run):
    return part1_run[0]


@pytest.fixture(scope="session")
def part2(part2_run):
    return part2_run[0]


def assert_cudnn_eligible(layer):
    """The conditions under which Keras runs an LSTM or GRU layer as a fused cuDNN kernel on a GPU
    (SimpleRNN has no such kernel)."""
    import keras

    assert layer.activation is keras.activations.tanh, layer.name
    assert layer.recurrent_activation is keras.activations.sigmoid, layer.name
    assert layer.use_bias and not layer.unroll, layer.name
    assert layer.recurrent_dropout == 0, layer.name
    if isinstance(layer, keras.layers.GRU):
        assert layer.reset_after, layer.name
