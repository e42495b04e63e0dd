"""Test set-up: synthetic data in a temporary folder, and quick mode for every notebook run.

The user's own CH16_DATA_DIR (real data) is kept for the tests marked ``realdata``; the
notebooks and scripts run by the tests read the synthetic data instead.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

import synthetic

REAL_DATA_DIR = os.environ.get("CH16_DATA_DIR")
_WORK_DIR = Path(tempfile.mkdtemp(prefix="ch16-tests-"))
SYNTHETIC_DATA_DIR = _WORK_DIR / "data"
# Set before ch16_helpers is imported: it reads CH16_CACHE_DIR once, on import.
os.environ.update(
    CH16_QUICK="1",
    CH16_DATA_DIR=str(SYNTHETIC_DATA_DIR),
    CH16_CACHE_DIR=str(_WORK_DIR / "cache"),
    CH16_RETRAIN="0",
    MPLBACKEND="Agg",
    TF_CPP_MIN_LOG_LEVEL="2",
)

from ch16_helpers import PROJECT_DIR  # noqa: E402  (after the settings above)


def pytest_configure(config):
    synthetic.make_imdb_tree(SYNTHETIC_DATA_DIR / "aclImdb")
    (SYNTHETIC_DATA_DIR / "1268-0.txt").write_bytes(synthetic.gutenberg_file(synthetic.novel_body()))


def pytest_unconfigure(config):
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


@pytest.fixture(scope="session")
def part1():
    return run_script("ch16_part1.py")


@pytest.fixture(scope="session")
def part2():
    return run_script("ch16_part2.py")


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
