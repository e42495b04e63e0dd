"""Does tf.data autotuning make Keras wait at epoch boundaries, and does turning it off change anything else?

The chapter turns tf.data autotuning off for every dataset given to ``fit`` or ``evaluate``
(``ch16.autotune_off``), keeping a fixed prefetch buffer of 8 batches, after runs of this chapter
on TensorFlow 2.21 sat idle at epoch boundaries. This benchmark trains the chapter's
bidirectional LSTM (ch16.part1) on its training and validation reviews, seed 1, for a few epochs
with the chapter's pipeline twice: autotuning on, then off (the same batches). For every epoch it
measures its wall time, the time spent inside training and validation steps, and the rest, the
time Keras spent outside any step: building iterators, and waiting for the input pipeline or for
an iterator to be freed. With autotuning on, that rest is where a stall would show.

    CH16_DATA_DIR=/path/to/data python -m benchmarks.autotune_stall
"""

import sys
import time

import keras
import tensorflow as tf

from benchmarks.common import (PART1, SEED, arguments, at_least, describe, figure, header, imdb_reviews,
                            save_figures)
from ch16 import part1


class StepClock(keras.callbacks.Callback):
    """Seconds per epoch: wall time, inside training and validation steps, and outside any step."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.begin, self.in_steps = time.perf_counter(), 0.0

    def _step_begin(self, batch, logs=None):
        self.step_start = time.perf_counter()

    def _step_end(self, batch, logs=None):
        self.in_steps += time.perf_counter() - self.step_start

    on_train_batch_begin = on_test_batch_begin = _step_begin
    on_train_batch_end = on_test_batch_end = _step_end

    def on_epoch_end(self, epoch, logs=None):
        wall = time.perf_counter() - self.begin
        self.epochs.append((wall, self.in_steps, wall - self.in_steps))
        print(f"  epoch {epoch + 1}: {wall:.1f} s, {self.in_steps:.1f} s in steps, "
              f"{wall - self.in_steps:.1f} s outside them", flush=True)


def with_autotune(dataset, enabled):
    options = tf.data.Options()
    options.autotune.enabled = enabled
    return dataset.with_options(options)


def main():
    parser = arguments(__doc__)
    parser.add_argument("--epochs", type=at_least(1), default=3, help="epochs per setting")
    parser.add_argument("--reviews", type=at_least(1), default=None, help="use only this many training reviews")
    args = parser.parse_args()
    header(sys.argv)
    describe(__doc__)

    (train_texts, train_labels), (val_texts, val_labels) = imdb_reviews(args.data_dir, args.reviews)
    vectorizer = part1.adapted_vectorizer(train_texts, PART1.max_tokens)
    train = part1.encode(vectorizer, train_texts, train_labels).cache()
    val = part1.encode(vectorizer, val_texts, val_labels).cache()
    results = {}
    for enabled in (True, False):
        print(f"\n[autotuning {'on' if enabled else 'off'}]", flush=True)
        keras.utils.set_random_seed(SEED)
        model = part1.build_classifier(keras.layers.Bidirectional(keras.layers.LSTM(PART1.rnn_units)), "bilstm",
                                       len(vectorizer.get_vocabulary()), PART1)
        clock = StepClock()
        model.fit(with_autotune(part1.make_batches(train, PART1.batch_size, seed=SEED), enabled),
                  validation_data=with_autotune(part1.make_batches(val, PART1.batch_size), enabled),
                  epochs=args.epochs, callbacks=[clock], verbose=0)
        results[enabled] = clock.epochs
    print(f"\n{'autotuning':<12}{'epoch':>6}{'wall s':>9}{'in steps s':>12}{'outside steps s':>17}")
    for enabled, epochs in results.items():
        for epoch, (wall, in_steps, outside) in enumerate(epochs, start=1):
            print(f"{'on' if enabled else 'off':<12}{epoch:>6}{wall:>9.1f}{in_steps:>12.1f}{outside:>17.1f}")
            state = "on" if enabled else "off"
            figure(**{f"{state}.epoch_{epoch}.wall": wall, f"{state}.epoch_{epoch}.in_steps": in_steps,
                      f"{state}.epoch_{epoch}.outside_steps": outside})
    save_figures(args.figures)


if __name__ == "__main__":
    main()
