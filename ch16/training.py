"""Training plumbing: an epoch log that shows progress within each epoch, plain-text model summaries,
the kept epoch's report, and tf.data autotuning turned off."""

import time
from unittest import mock

import numpy as np

from ch16.progress import Progress


def _learning_rate(optimizer):
    import keras
    rate = optimizer.learning_rate
    return float(keras.ops.convert_to_numpy(rate(optimizer.iterations) if callable(rate) else rate))


def epoch_log(max_epochs):
    """A Keras callback that shows each epoch's progress, then leaves one line per epoch: its seconds
    (also added to the history as ``seconds``), losses, metrics, and the learning rate when it changed.
    Put it last among the callbacks, to see a rate that ``ReduceLROnPlateau`` has just set."""
    import keras
    class EpochLog(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.rate, self.steps = _learning_rate(self.model.optimizer), None

        def on_epoch_begin(self, epoch, logs=None):
            self.start, self.done = time.perf_counter(), 0
            self.progress = Progress(f"epoch {epoch + 1:>2}/{max_epochs}", expected=self.steps)

        def on_train_batch_end(self, batch, logs=None):
            self.done = batch + 1
            self.progress.update(self.done, self.params.get("steps"))

        def on_epoch_end(self, epoch, logs=None):
            seconds, self.steps = time.perf_counter() - self.start, self.done
            shown = "  ".join(f"{name} {value:.4f}" for name, value in logs.items() if name != "learning_rate")
            line = f"epoch {epoch + 1:>2}/{max_epochs}: {seconds:3.0f} s  {shown}"
            rate = _learning_rate(self.model.optimizer)
            if f"{rate:.1e}" != f"{self.rate:.1e}":
                line += f"  (learning rate {self.rate:.1e} -> {rate:.1e})"
            self.rate = rate
            self.progress.finish(line)
            logs["seconds"] = seconds

    return EpochLog()


def print_summary(model):
    """Keras's model summary as plain text (no terminal colours, no empty HTML output from ``rich``)."""
    with mock.patch("rich.console._is_jupyter", lambda: False):
        model.summary(print_fn=print)


def report_best_epoch(history, name):
    """Report the epoch whose weights early stopping kept, and the seconds and minutes of training."""
    from ch16.results import report
    best, epochs, seconds = int(np.argmin(history["val_loss"])), len(history["val_loss"]), history["seconds"]
    report(f"Best epoch {best + 1} of {epochs} (val_loss {history['val_loss'][best]:.4f}), its weights kept; "
           f"{np.mean(seconds):.1f} s per epoch, {sum(seconds) / 60:.1f} minutes of training",
           **{f"{name}.best_epoch": best + 1, f"{name}.epochs": epochs, f"{name}.best_val_loss": history["val_loss"][best],
              f"{name}.seconds_per_epoch": float(np.mean(seconds)), f"{name}.training_minutes": sum(seconds) / 60})


def autotune_off(dataset):
    """The same batches with tf.data autotuning off: with it on, ``fit`` sat idle between epochs (benchmarks)."""
    import tensorflow as tf
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)
