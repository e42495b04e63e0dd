"""ch16.training and ch16.progress: the epoch log and its progress display, and the tf.data
adjustments for several replicas (checked under MirroredStrategy on a CPU split in two)."""

import io
import re
import subprocess
import sys
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

import ch16
from ch16 import progress as progress_module
from conftest import PROJECT_DIR


def tiny_fit(epochs=2, steps=30, callbacks=()):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(steps * 4, 3)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((x, x.sum(axis=1))).batch(4)
    return model.fit(data, validation_data=data, epochs=epochs, verbose=0, callbacks=list(callbacks))


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_sees_progress_in_place_and_keeps_one_line_per_epoch(monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setattr(progress_module, "UPDATE_SECONDS", 0.0)
    history = tiny_fit(callbacks=[ch16.epoch_log(2)])
    written = terminal.getvalue()
    lines = written.split("\n")
    assert len(lines) == 3 and lines[-1] == ""  # two lines, one per epoch
    for epoch, line in enumerate(lines[:2], start=1):
        updates = line.split("\r")
        assert re.fullmatch(rf"epoch  {epoch}/2: +\d+ s  loss \d\.\d{{4}}  val_loss \d\.\d{{4}} *", updates[-1])
        assert any(re.match(rf"epoch  {epoch}/2: \d+/30 steps, \d+ s elapsed", update) for update in updates[1:-1])
    assert len(history.history["seconds"]) == 2


def test_a_log_file_gets_only_the_summary_lines(monkeypatch, capsys):
    monkeypatch.setattr(progress_module, "UPDATE_SECONDS", 0.0)
    tiny_fit(callbacks=[ch16.epoch_log(2)])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(re.fullmatch(r"epoch  \d/2: +\d+ s  loss \S+  val_loss \S+", line) for line in lines)


def test_in_jupyter_each_epoch_is_one_output_updated_in_place_that_ends_as_its_summary(monkeypatch):
    import IPython.display

    shown = []

    class Handle:
        def __init__(self, obj):
            self.texts = [obj.data]

        def update(self, obj):
            self.texts.append(obj.data)

    def display(obj, display_id=False):
        assert display_id is True
        shown.append(Handle(obj))
        return shown[-1]

    monkeypatch.setattr(progress_module, "in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", display)
    monkeypatch.setattr(progress_module, "UPDATE_SECONDS", 0.0)
    tiny_fit(callbacks=[ch16.epoch_log(2)])
    assert len(shown) == 2  # one output per epoch
    for epoch, handle in enumerate(shown, start=1):
        assert handle.texts[0] == f"epoch  {epoch}/2: starting" and len(handle.texts) > 3
        assert re.fullmatch(rf"epoch  {epoch}/2: +\d+ s  loss \S+  val_loss \S+", handle.texts[-1])


def test_an_evaluation_leaves_one_line_with_its_seconds(monkeypatch, capsys):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.evaluate(np.zeros((40, 3)), np.zeros(40), batch_size=4, verbose=0,
                   callbacks=[ch16.evaluation_progress("loss on the training chunks")])
    assert re.fullmatch(r"loss on the training chunks: \d+ s\n", capsys.readouterr().out)


def test_the_learning_rate_is_printed_when_it_changes():
    log = ch16.epoch_log(3)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    log.set_model(model)
    log.set_params({"steps": 1})
    log.on_train_begin()
    log.on_epoch_begin(0)
    model.optimizer.learning_rate = 2e-4
    logs = {"loss": 1.0, "val_loss": 1.0}
    out = io.StringIO()
    sys.stdout, saved = out, sys.stdout
    try:
        log.on_epoch_end(0, logs)
    finally:
        sys.stdout = saved
    assert "(learning rate 1.0e-03 -> 2.0e-04)" in out.getvalue() and "seconds" in logs


def test_split_evenly_trims_each_training_batch_to_the_replica_count():
    batches = tf.data.Dataset.range(9).map(lambda i: (tf.fill([3], i), i)).batch(4)  # 4, 4 and 1
    trimmed = list(ch16.split_evenly(batches, SimpleNamespace(num_replicas_in_sync=2)))
    assert [len(inputs) for inputs, _ in trimmed] == [4, 4]  # the batch of one is left out
    for inputs, targets in trimmed:
        np.testing.assert_array_equal(inputs.numpy()[:, 0], targets.numpy())  # rows stay paired
    odd = tf.data.Dataset.range(7).map(lambda i: (tf.fill([2], i), i)).batch(7)
    assert [len(x) for x, _ in ch16.split_evenly(odd, SimpleNamespace(num_replicas_in_sync=3))] == [6]
    assert ch16.split_evenly(batches, SimpleNamespace(num_replicas_in_sync=1)) is batches


@pytest.mark.parametrize("sizes", [[3, 4, 1], [1, 5], [2, 2, 2]])
def test_evaluation_batches_keep_every_example_and_start_with_one_that_splits_evenly(sizes):
    ids = tf.data.Dataset.range(sum(sizes))
    starts = np.cumsum([0, *sizes])
    batches = tf.data.Dataset.from_tensor_slices(list(range(len(sizes)))).map(
        lambda b: (tf.range(tf.gather(starts, b), tf.gather(starts, b + 1)), tf.range(tf.gather(starts, b), tf.gather(starts, b + 1))))
    arranged = [inputs.numpy() for inputs, _ in ch16.evaluation_batches(batches, SimpleNamespace(num_replicas_in_sync=2))]
    assert sorted(np.concatenate(arranged).tolist()) == list(range(sum(sizes)))
    assert len(arranged[0]) % 2 == 0 and len(arranged[0]) > 0
    del ids


MIRRORED = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, numpy as np
import ch16
from ch16 import part1, part2
sys.path.insert(0, "tests")
import synthetic

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
cfg = ch16.choose_settings(True, part1.SETTINGS)
rng = np.random.default_rng(0)
labels = rng.integers(0, 2, size=203)
texts = np.array([synthetic.synthetic_review(rng, label) for label in labels], dtype=object)
vectorizer = part1.adapted_vectorizer(texts, cfg.max_tokens)
encoded = part1.encode(vectorizer, texts, labels).cache()
model = part1.build_classifier(keras.layers.LSTM(cfg.rnn_units), "lstm", len(vectorizer.get_vocabulary()), cfg, strategy)
part1.train(model, part1.make_batches(encoded, 16, strategy, seed=1), part1.make_batches(encoded, 16, strategy), 1)
_, accuracy = model.evaluate(part1.make_batches(encoded, 16, strategy), verbose=0)
probabilities = part1.predict_sentiment(model, vectorizer, list(texts))
print("ACCURACY", accuracy, np.mean((probabilities > 0.5) == labels))

cfg2 = ch16.choose_settings(True, part2.SETTINGS)
ids = rng.integers(0, 20, size=6_000).astype(np.int32)
train_chunks, val_chunks = part2.make_chunks(ids, cfg2.seq_length)
lstm = part2.build_char_lstm(20, cfg2, strategy, "float32", 1e-3)
part2.train(lstm, part2.make_batches(train_chunks, 16, seed=1), part2.make_batches(val_chunks, 16), 1)
print("CHAR LSTM", type(lstm.distribute_strategy).__name__, lstm.distribute_strategy.num_replicas_in_sync)
"""


def test_both_parts_train_and_evaluate_every_example_under_mirrored_strategy():
    """The code path of a machine with several GPUs, on a CPU split into two logical devices: the
    models build in the strategy's scope, train, and evaluate every review (the accuracy Keras
    reports equals one computed from the predictions of all 203 reviews)."""
    result = subprocess.run([sys.executable, "-c", MIRRORED], cwd=PROJECT_DIR, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    keras_accuracy, our_accuracy = map(float, re.search(r"ACCURACY (\S+) (\S+)", result.stdout).groups())
    assert keras_accuracy == pytest.approx(our_accuracy, abs=1e-6)
    assert "CHAR LSTM MirroredStrategy 2" in result.stdout
