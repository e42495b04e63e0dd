"""Training plumbing: an epoch log that shows progress within the epoch, progress for
``evaluate`` and ``predict``, the kept epoch's report, and two tf.data adjustments."""

import time

import numpy as np

from ch16.progress import Progress


def _learning_rate(optimizer):
    import keras

    rate = optimizer.learning_rate
    return float(keras.ops.convert_to_numpy(rate(optimizer.iterations) if callable(rate) else rate))


def epoch_log(max_epochs):
    """A Keras callback that shows the progress of each epoch (steps, elapsed time, an estimate
    of its end) and then leaves one line per epoch: its seconds, losses and metrics, and the
    learning rate where it changed. It adds the epoch's seconds to the history as ``seconds``.
    Put it last in the callback list, so that it sees the rate that ``ReduceLROnPlateau`` has
    just set."""
    import keras

    class EpochLog(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.rate = _learning_rate(self.model.optimizer)
            self.steps = None

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()
            self.progress = Progress(f"epoch {epoch + 1:>2}/{max_epochs}", expected=self.steps)
            self.done = 0

        def on_train_batch_end(self, batch, logs=None):
            self.done = batch + 1
            self.progress.update(self.done, self.params.get("steps"))

        def on_test_begin(self, logs=None):
            if hasattr(self, "progress"):
                self.progress.update(self.done, self.done, unit="steps; validating")

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.start
            self.steps = self.done
            shown = "  ".join(f"{name} {value:.4f}" for name, value in logs.items() if name != "learning_rate")
            line = f"epoch {epoch + 1:>2}/{max_epochs}: {seconds:3.0f} s  {shown}"
            rate = _learning_rate(self.model.optimizer)
            if rate != self.rate:
                line += f"  (learning rate {self.rate:.1e} -> {rate:.1e})"
                self.rate = rate
            self.progress.finish(line)
            logs["seconds"] = seconds

    return EpochLog()


def evaluation_progress(label):
    """A Keras callback for ``evaluate`` or ``predict`` that shows its progress in place and
    leaves one line: ``label`` and the seconds it took."""
    import keras

    class EvaluationProgress(keras.callbacks.Callback):
        def _begin(self, logs=None):
            self.progress = Progress(label)

        def _batch(self, batch, logs=None):
            self.progress.update(batch + 1, self.params.get("steps"), unit="batches")

        def _end(self, logs=None):
            self.progress.finish(f"{label}: {self.progress.elapsed():.0f} s")

        on_test_begin = on_predict_begin = _begin
        on_test_batch_end = on_predict_batch_end = _batch
        on_test_end = on_predict_end = _end

    return EvaluationProgress()


def print_summary(model):
    """Print a model's summary as plain text: Keras's table, without terminal colours and without the
    empty HTML output that the ``rich`` library adds in Jupyter when the summary is printed."""
    import rich.console

    is_jupyter = getattr(rich.console, "_is_jupyter", None)
    if is_jupyter is not None:
        rich.console._is_jupyter = lambda: False
    try:
        model.summary(print_fn=print)
    finally:
        if is_jupyter is not None:
            rich.console._is_jupyter = is_jupyter


def report_best_epoch(history):
    """Print the epoch whose weights early stopping kept, and the mean seconds per epoch."""
    best = int(np.argmin(history["val_loss"]))
    print(f"Best epoch {best + 1} of {len(history['val_loss'])} (val_loss {history['val_loss'][best]:.4f}), "
          f"its weights kept; {np.mean(history['seconds']):.1f} s per epoch")


def autotune_off(dataset):
    """Turn tf.data autotuning off for a dataset given to ``fit``/``evaluate``.

    With autotuning on, ``fit`` on TF 2.21 sat idle between epochs, for longer each epoch
    (``benchmarks/autotune_stall.py`` measures the time outside the training and validation
    steps; the cause was not measured). Without autotuning the batches are identical and the
    idle time is gone; a fixed prefetch buffer still overlaps input and training.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def split_evenly(batches, strategy):
    """Trim every training batch to a multiple of the strategy's replica count (unchanged on one
    device).

    Under ``MirroredStrategy`` each batch is split between the replicas, and on TF 2.21 Keras's
    distributed train step fails ("Inputs to operation AddN ... must have the same size and
    shape") when a batch does not split evenly, as a bucket's partly filled batch may not. Up to
    ``replicas - 1`` reviews of such a batch are left out of that epoch (the training reviews are
    reshuffled every epoch). Evaluation batches are never trimmed.
    """
    import tensorflow as tf

    replicas = strategy.num_replicas_in_sync
    if replicas == 1:
        return batches

    def trim(inputs, targets):
        keep = tf.shape(inputs)[0] // replicas * replicas
        return inputs[:keep], targets[:keep]

    return batches.map(trim).filter(lambda inputs, targets: tf.shape(inputs)[0] > 0)


def evaluation_batches(batches, strategy):
    """Evaluation batches for ``strategy``, every example kept (unchanged on one device).

    Under ``MirroredStrategy`` on TF 2.21, Keras's distributed test step fails when the *first*
    batch does not split evenly between the replicas, and handles uneven batches after it. So
    the part of each batch that splits evenly comes first (a pass over all batches), and the
    remainders (fewer examples than replicas each) after them.
    """
    import tensorflow as tf

    replicas = strategy.num_replicas_in_sync
    if replicas == 1:
        return batches

    def part(even):
        def cut(inputs, targets):
            keep = tf.shape(inputs)[0] // replicas * replicas
            return (inputs[:keep], targets[:keep]) if even else (inputs[keep:], targets[keep:])
        return batches.map(cut).filter(lambda inputs, targets: tf.shape(inputs)[0] > 0)

    return part(even=True).concatenate(part(even=False))
