"""Test set-up: small data made here, in a temporary folder, and quick mode for every run of the
chapter's code (the notebooks in nbval's Jupyter kernels, the scripts in subprocesses).

The user's own CH16_DATA_DIR (real data) is kept for the tests marked ``realdata``; the notebooks
and scripts run by the tests read the synthetic data instead.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import synthetic

PROJECT_DIR = Path(__file__).resolve().parent.parent
REAL_DATA_DIR = os.environ.get("CH16_DATA_DIR")
_WORK_DIR = Path(tempfile.mkdtemp(prefix="ch16-tests-"))
SYNTHETIC_DATA_DIR = _WORK_DIR / "data"
# Set when pytest loads this file, before nbval starts its kernels, which inherit them. The reader's
# own seed and precision settings do not apply: the checked cells print seeded values.
for _variable in ("CH16_SEED", "CH16_PRECISION"):
    os.environ.pop(_variable, None)
os.environ.update(
    CH16_QUICK="1",
    CH16_DATA_DIR=str(SYNTHETIC_DATA_DIR),
    CH16_CACHE_DIR=str(_WORK_DIR / "cache"),
    CH16_RETRAIN="0",
    TF_CPP_MIN_LOG_LEVEL="2",
    # What Keras, Matplotlib, IPython and Jupyter would write into the home folder goes here.
    KERAS_HOME=str(_WORK_DIR / "keras"),
    MPLCONFIGDIR=str(_WORK_DIR / "matplotlib"),
    IPYTHONDIR=str(_WORK_DIR / "ipython"),
    JUPYTER_RUNTIME_DIR=str(_WORK_DIR / "jupyter-runtime"),
    JUPYTER_DATA_DIR=str(_WORK_DIR / "jupyter-data"),
    TFDS_DATA_DIR=str(_WORK_DIR / "tensorflow_datasets"),
)


def pytest_configure(config):
    import matplotlib

    matplotlib.use("Agg")  # this process only; the notebooks' kernels keep their inline backend
    synthetic.make_imdb_tree(SYNTHETIC_DATA_DIR / "aclImdb")
    (SYNTHETIC_DATA_DIR / "1268-0.txt").write_bytes(synthetic.gutenberg_file(synthetic.novel_body()))


# Runs of whole programs that some tests check (the exported scripts, the benchmarks), by name:
# each is started as a process as soon as the tests are collected, and the tests that check it
# run last, so that the runs overlap the other tests.
BACKGROUND_RUNS = {}


def background(run):
    """Mark a test as checking the background run ``run`` (a key of its module's ``RUNS``)."""
    def mark(test):
        test.background_run = run
        return pytest.mark.slow(test)
    return mark


def _background_run(item):
    return getattr(getattr(item, "function", None), "background_run", None)


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: _background_run(item) is not None)  # stable: keeps the order otherwise


def pytest_collection_finish(session):
    if session.config.option.collectonly:
        return
    for item in session.items:
        run = _background_run(item)
        if run is None or run in BACKGROUND_RUNS:
            continue
        command, env = item.module.RUNS[run]
        output = _WORK_DIR / f"run-{run}"
        with open(f"{output}.out", "w") as stdout, open(f"{output}.err", "w") as stderr:
            process = subprocess.Popen([sys.executable, *command], cwd=PROJECT_DIR, stdout=stdout, stderr=stderr,
                                       env={**os.environ, **env})
        BACKGROUND_RUNS[run] = process, output


def finished_run(run, timeout=900):
    """The standard output and error of the background run ``run``, once it has ended."""
    process, output = BACKGROUND_RUNS[run]
    process.wait(timeout=timeout)
    return process.returncode, Path(f"{output}.out").read_text(), Path(f"{output}.err").read_text()


def pytest_unconfigure(config):
    for process, _ in BACKGROUND_RUNS.values():
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


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder of this test's own (CH16_CACHE_DIR, read at every use)."""
    monkeypatch.setenv("CH16_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


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
