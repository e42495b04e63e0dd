"""ch16.training and ch16.progress: the epoch log and the progress displays."""

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


def on_screen(written):
    """What a terminal shows after ``written``: a carriage return moves back to the start of the line
    and the next characters overwrite the old ones (they do not erase the rest of the line)."""
    screen = []
    for line in written.split("\n"):
        shown = ""
        for part in line.split("\r"):
            shown = part + shown[len(part):]
        screen.append(shown)
    return screen


def test_a_summary_shorter_than_the_progress_leaves_nothing_of_it_on_screen(monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setattr(progress_module, "UPDATE_SECONDS", 0.0)
    progress = ch16.Progress("a long label for a long progress line")
    progress.update(5, 1_000_000)
    progress.update(6, 10)
    progress.finish("done")
    assert [line.rstrip() for line in on_screen(terminal.getvalue())] == ["done", ""]


def test_the_time_left_is_the_elapsed_time_per_step_times_the_steps_left(monkeypatch):
    clock = iter([100.0, 110.0, 190.0])  # start, then two updates 10 s and 90 s after it
    monkeypatch.setattr(progress_module.time, "perf_counter", lambda: next(clock))
    monkeypatch.setattr(progress_module, "UPDATE_SECONDS", 0.0)
    shown = []
    progress = ch16.Progress("epoch 1/1")
    monkeypatch.setattr(progress, "_terminal", True)
    monkeypatch.setattr(progress, "_show", shown.append)
    progress.update(2, 10)   # 2 steps in 10 s: 8 left, 40 s
    progress.update(3, 4)    # 3 steps in 90 s: 1 left, 30 s
    assert shown == ["epoch 1/1: 2/10 steps, 10 s elapsed, about 40 s left",
                     "epoch 1/1: 3/4 steps, 90 s elapsed, about 30 s left"]


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
    log.on_epoch_begin(1)
    model.optimizer.learning_rate = 2.04e-4  # prints as the same rate: not reported as a change
    out = io.StringIO()
    sys.stdout, saved = out, sys.stdout
    try:
        log.on_epoch_end(1, {"loss": 1.0, "val_loss": 1.0})
    finally:
        sys.stdout = saved
    assert "learning rate" not in out.getvalue()
