"""Both parts train under tf.distribute.MirroredStrategy, on a CPU split into two logical devices.

This is the code path of a machine with several GPUs: the models are built in the
strategy's scope and every batch is split between the replicas.
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
namespace = runpy.run_path(sys.argv[1], run_name="__main__")
for name in sys.argv[2:]:
    model = namespace[name]
    assert isinstance(model.distribute_strategy, tf.distribute.MirroredStrategy), name
    print(name, "trained under", type(model.distribute_strategy).__name__)
"""


@pytest.mark.parametrize("script, models", [
    ("ch16_part1.py", ["bilstm_model"]),
    ("ch16_part2.py", ["char_lstm"]),
])
def test_models_train_under_mirrored_strategy(tmp_path, script, models):
    env = {**os.environ, "CH16_CACHE_DIR": str(tmp_path / "cache"), "CH16_RETRAIN": "1"}
    result = subprocess.run([sys.executable, "-c", RUNNER, str(PROJECT_DIR / script), *models],
                            cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "replicas in sync: 2" in result.stdout
    for model in models:
        assert f"{model} trained under MirroredStrategy" in result.stdout
