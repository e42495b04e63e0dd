"""XLA for the IMDb classifier: does a whole training run, compilation included, get faster?

XLA compiles one program per batch shape, and the chapter's 50 length buckets (49 edges) make
many shapes (each batch is padded to its longest review). Fewer, wider buckets padded to fixed
lengths make few shapes, at the price of more padding. On a GPU Keras refuses XLA for an LSTM
that it runs as a cuDNN kernel (the layer sets ``supports_jit = False``, and ``jit_compile=True``
falls back to no XLA with a warning); on a CPU it compiles the LSTM's loop. The wide variants
build their LSTMs with ``use_cudnn=False`` so that XLA compiles them on any machine; on a CPU
that is the same loop as the default. This benchmark trains the chapter's classifier (ch16.part1.build_classifier) for two
epochs, validation included, three ways:

* chapter: the chapter's buckets, batches padded to their longest review, no XLA;
* wide: a few geometric buckets (8 edges by default, the last just above the longest review),
  every batch padded to its bucket's upper edge, LSTMs with use_cudnn=False, no XLA;
* wide + XLA: the same, compiled with ``jit_compile=True``.

It prints whether each model really compiled with XLA (``model.jit_compile`` after the first
step), the seconds of epoch 1 (compilation included) and epoch 2, an estimate of a run of
7 epochs (as many as the bidirectional LSTM of part 1's committed run trained) and of
max_epochs (epoch 1 plus the rest at epoch 2's pace), the padding share of the training batches
and the number of distinct batch shapes of one epoch (training and validation). The three runs
follow each other (whole epochs cannot alternate), so a slow spell of a shared machine can
favour one: rerun to check.

    CH16_DATA_DIR=/path/to/data python -m benchmarks.imdb_xla_benchmark
"""

import sys

import keras
import numpy as np

import ch16
from benchmarks.common import (PART1, SEED, arguments, at_least, describe, epoch_statistics, figure, header,
                               imdb_reviews, save_figures)
from ch16 import part1


def wide_boundaries(count, longest, shortest=32):
    """``count`` geometric bucket edges from ``shortest`` to just above the longest review."""
    edges = np.geomspace(min(shortest, longest), longest + 1, count)
    return sorted({int(np.ceil(edge)) for edge in edges})


def wide_batches(encoded, boundaries, shuffle):
    """The chapter's batches (reshuffled each epoch when ``shuffle``), with other bucket edges and
    every batch padded to its bucket's upper edge."""
    if shuffle:
        encoded = encoded.shuffle(PART1.train_reviews, seed=SEED, reshuffle_each_iteration=True)
    batches = encoded.bucket_by_sequence_length(part1.length_of, boundaries,
                                                [PART1.batch_size] * (len(boundaries) + 1), pad_to_bucket_boundary=True)
    if shuffle:
        batches = batches.shuffle(part1.BATCH_SHUFFLE_BUFFER, seed=SEED, reshuffle_each_iteration=True)
    return ch16.autotune_off(batches.prefetch(8))


def main():
    parser = arguments(__doc__)
    parser.add_argument("--boundaries", type=at_least(1), default=8, help="bucket edges of the wide buckets")
    parser.add_argument("--reviews", type=at_least(1), default=PART1.train_reviews,
                        help="training reviews to use (default: all of them); validation uses a quarter as many")
    args = parser.parse_args()
    header(sys.argv)
    describe(__doc__)

    if args.reviews < 1:
        parser.error("--reviews must be at least 1")
    (train_texts, train_labels), (val_texts, val_labels) = imdb_reviews(
        args.data_dir, None if args.reviews == PART1.train_reviews else args.reviews)
    vectorizer = part1.adapted_vectorizer(train_texts, PART1.max_tokens)
    train_encoded = part1.encode(vectorizer, train_texts, train_labels).cache()
    val_encoded = part1.encode(vectorizer, val_texts, val_labels).cache()
    longest = max(int(ids.shape[0]) for encoded in (train_encoded, val_encoded) for ids, _ in encoded)
    wide = wide_boundaries(args.boundaries, longest)
    print(f"{len(train_texts):,} training and {len(val_texts):,} validation reviews; longest {longest:,} tokens")
    print(f"chapter's bucket edges: {len(part1.BUCKET_BOUNDARIES)}, from {part1.BUCKET_BOUNDARIES[0]} "
          f"to {part1.BUCKET_BOUNDARIES[-1]}; wide bucket edges: {wide}\n", flush=True)

    setups = [  # name, training batches, validation batches, LSTM's use_cudnn, jit_compile
        ("chapter", part1.make_batches(train_encoded, PART1.batch_size, seed=SEED),
         part1.make_batches(val_encoded, PART1.batch_size), "auto", False),
        ("wide", wide_batches(train_encoded, wide, True), wide_batches(val_encoded, wide, False), False, False),
        ("wide + XLA", wide_batches(train_encoded, wide, True), wide_batches(val_encoded, wide, False), False, True),
    ]
    rows = []
    for name, train_batches, val_batches, use_cudnn, jit_compile in setups:
        train_stats, val_stats = epoch_statistics(train_batches), epoch_statistics(val_batches)
        print(f"[{name}] training 2 epochs ...", flush=True)
        keras.utils.set_random_seed(SEED)
        model = part1.build_classifier(keras.layers.Bidirectional(keras.layers.LSTM(PART1.rnn_units, use_cudnn=use_cudnn)),
                                       "bilstm", vectorizer.vocabulary_size(), PART1)
        model.jit_compile = jit_compile
        history = model.fit(train_batches, validation_data=val_batches, epochs=2, callbacks=[ch16.epoch_log(2)],
                            verbose=0)
        first, second = history.history["seconds"]
        print(f"[{name}] compiled with XLA: {model.jit_compile}", flush=True)
        rows.append((name, model.jit_compile, first, second, train_stats, val_stats))
        key = name.replace(" + ", "_").replace(" ", "_").lower()
        figure(**{f"{key}.xla": bool(model.jit_compile), f"{key}.epoch_1": first, f"{key}.epoch_2": second,
                  f"{key}.padding": train_stats.padding, f"{key}.train_shapes": train_stats.shapes,
                  f"{key}.val_shapes": val_stats.shapes})

    lengths = sorted({7, PART1.max_epochs})
    print(f"\n{'buckets':<12}{'XLA':>6}{'epoch 1 s':>10}{'epoch 2 s':>10}"
          + "".join(f"{f'{epochs} epochs s':>14}" for epochs in lengths) + f"{'padding':>9}{'shapes (train/val)':>20}")
    for name, xla, first, second, train_stats, val_stats in rows:
        print(f"{name:<12}{'yes' if xla else 'no':>6}{first:>10.1f}{second:>10.1f}"
              + "".join(f"{first + (epochs - 1) * second:>14.0f}" for epochs in lengths)
              + f"{train_stats.padding:>9.1%}{f'{train_stats.shapes}/{val_stats.shapes}':>20}")
    print("(epochs include validation; n epochs = epoch 1 + (n - 1) x epoch 2, an estimate; max_epochs is the "
          "chapter's upper bound; one run of each, one after the other)")
    (_, _, chapter_first, chapter_second, *_), (_, _, xla_first, xla_second, *_) = rows[0], rows[2]
    for epochs in lengths:
        ratio = (xla_first + (epochs - 1) * xla_second) / (chapter_first + (epochs - 1) * chapter_second)
        print(f"wide + XLA takes {ratio:.2f}x the time of the chapter's buckets over {epochs} epochs")
        figure(**{f"wide_xla_time_ratio.{epochs}_epochs": ratio})
    save_figures(args.figures)


if __name__ == "__main__":
    main()
