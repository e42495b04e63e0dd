"""The first model of each part trains under tf.distribute.MirroredStrategy, on a CPU split into
two logical devices.

This is the code path of a machine with several GPUs: the models are built in the strategy's
scope and every batch is split between the replicas. To keep the suite fast, each run stops once
that model is trained; the rest of the notebooks is tested without a strategy.
"""

import os
import subprocess
import sys

import pytest
from conftest import PROJECT_DIR

RUNNER = """
import runpy, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import ch16_helpers
describe = ch16_helpers.describe_environment
def describe_with_two_replicas():
    describe()
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    print("replicas in sync:", strategy.num_replicas_in_sync)
    return strategy
ch16_helpers.describe_environment = describe_with_two_replicas

class Done(Exception):
    pass

waiting_for = set(sys.argv[2:])
load_or_train = ch16_helpers.load_or_train
def load_or_train_then_stop(model, *args, **kwargs):
    result = load_or_train(model, *args, **kwargs)
    assert isinstance(result[0].distribute_strategy, tf.distribute.MirroredStrategy), model.name
    print(model.name, "trained under", type(result[0].distribute_strategy).__name__)
    waiting_for.discard(model.name)
    if not waiting_for:
        raise Done
    return result
ch16_helpers.load_or_train = load_or_train_then_stop
try:
    runpy.run_path(sys.argv[1], run_name="__main__")
except Done:
    pass
assert not waiting_for, waiting_for
"""


@pytest.mark.parametrize("script, models", [
    ("ch16_part1.py", ["bilstm"]),
    ("ch16_part2.py", ["char_lstm"]),
])
def test_models_train_under_mirrored_strategy(tmp_path, script, models):
    """The script runs until the named models are trained under the strategy, then stops."""
    env = {**os.environ, "CH16_CACHE_DIR": str(tmp_path / "cache"), "CH16_RETRAIN": "1"}
    result = subprocess.run([sys.executable, "-c", RUNNER, str(PROJECT_DIR / script), *models],
                            cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "replicas in sync: 2" in result.stdout
    for model in models:
        assert f"{model} trained under MirroredStrategy" in result.stdout
