"""XLA for the IMDb classifier: does a whole training run, compilation included, get faster?

A masked training step of the chapter's bidirectional LSTM ran faster with ``jit_compile=True``,
but XLA compiles one program per batch shape, and the chapter's 49 length buckets make many
shapes (each batch is padded to its longest review). Fewer, wider buckets padded to fixed
lengths make few shapes, at the price of more padding. This benchmark trains the chapter's
classifier (without its dropout layers) for two epochs, validation included, three ways:

* chapter: the chapter's 49 buckets, batches padded to their longest review, no XLA;
* wide: a few geometric buckets (8 boundaries by default, the last just above the longest
  review), every batch padded to its bucket's upper edge, no XLA;
* wide + XLA: the same batches, ``jit_compile=True``.

It prints, for each, the seconds of epoch 1 (compilation included) and epoch 2, an estimate of
a run of max_epochs (epoch 1 plus the rest at epoch 2's pace), the padding share of the
training batches and the number of distinct batch shapes of one epoch (training and
validation): XLA compiles a program for each. The three runs follow each other (whole epochs
cannot alternate), so a slow spell of a shared machine can favour one: rerun to check.
Takes 5 to 10 minutes on a 2-core CPU.

    CH16_DATA_DIR=/path/to/data python -m benchmarks.imdb_xla_benchmark
"""

import argparse
import sys

import keras
import numpy as np

import ch16_helpers as ch16
from benchmarks.chapter import (PART1, SEED, adapted_vectorizer, add_data_arguments, bucketed_batches,
                                encoded_reviews, epoch_statistics, imdb_classifier, imdb_reviews, no_autotune)


def wide_boundaries(count, longest, shortest=32):
    """``count`` geometric bucket edges from ``shortest`` to just above the longest review."""
    edges = np.geomspace(min(shortest, longest), longest + 1, count)
    return sorted({int(np.ceil(edge)) for edge in edges})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--boundaries", type=int, default=8, help="bucket edges of the wide buckets")
    parser.add_argument("--reviews", type=int, default=PART1.train_reviews,
                        help="training reviews to use (default: all of them); validation uses a quarter as many")
    add_data_arguments(parser)
    args = parser.parse_args()
    ch16.benchmark_header(sys.argv)
    print(__doc__.rsplit("\n\n", 1)[0] + "\n")  # what is compared (the docstring without its usage line)

    if args.reviews < 1:
        parser.error("--reviews must be at least 1")
    (train_texts, train_labels), (val_texts, val_labels) = imdb_reviews(args.data_dir)
    train_texts, train_labels = train_texts[:args.reviews], train_labels[:args.reviews]
    val_texts, val_labels = val_texts[:max(1, args.reviews // 4)], val_labels[:max(1, args.reviews // 4)]
    vectorizer = adapted_vectorizer(train_texts)
    train_encoded = encoded_reviews(vectorizer, train_texts, train_labels)
    val_encoded = encoded_reviews(vectorizer, val_texts, val_labels)
    longest = max(int(ids.shape[0]) for encoded in (train_encoded, val_encoded) for ids, _ in encoded)
    wide = wide_boundaries(args.boundaries, longest)
    print(f"{len(train_texts):,} training and {len(val_texts):,} validation reviews; longest {longest:,} tokens")
    print(f"chapter's bucket edges: {len(ch16.BUCKET_BOUNDARIES)}, from {ch16.BUCKET_BOUNDARIES[0]} "
          f"to {ch16.BUCKET_BOUNDARIES[-1]}; wide bucket edges: {wide}\n", flush=True)

    setups = [  # name, bucket edges, pad to the bucket's edge, jit_compile
        ("chapter", ch16.BUCKET_BOUNDARIES, False, False),
        ("wide", wide, True, False),
        ("wide + XLA", wide, True, True),
    ]
    rows = []
    for name, boundaries, pad_to_boundary, jit_compile in setups:
        train_batches = bucketed_batches(train_encoded, boundaries, pad_to_boundary=pad_to_boundary)
        val_batches = bucketed_batches(val_encoded, boundaries, pad_to_boundary=pad_to_boundary, shuffle=False)
        train_stats, val_stats = epoch_statistics(train_batches), epoch_statistics(val_batches)
        print(f"[{name}] training 2 epochs ...", flush=True)
        keras.utils.set_random_seed(SEED)
        model = imdb_classifier(vectorizer.vocabulary_size(), jit_compile=jit_compile)
        history = model.fit(no_autotune(train_batches), validation_data=no_autotune(val_batches),
                            epochs=2, shuffle=False, callbacks=[ch16.epoch_log(2)], verbose=0)
        first, second = history.history["seconds"]
        rows.append((name, first, second, first + (PART1.max_epochs - 1) * second, train_stats, val_stats))

    run_label = f"{PART1.max_epochs} epochs"
    print(f"\n{'buckets':<12}{'epoch 1 s':>10}{'epoch 2 s':>10}{run_label + ' s':>14}{'padding':>9}"
          f"{'shapes (train/val)':>20}")
    for name, first, second, run, train_stats, val_stats in rows:
        print(f"{name:<12}{first:>10.1f}{second:>10.1f}{run:>14.0f}{train_stats.padding:>9.1%}"
              f"{f'{train_stats.shapes}/{val_stats.shapes}':>20}")
    print(f"(epochs include validation; {run_label} = epoch 1 + {PART1.max_epochs - 1} x epoch 2, "
          "an estimate; max_epochs is the chapter's upper bound)")
    chapter_run, xla_run = rows[0][3], rows[2][3]
    print(f"wide + XLA takes {xla_run / chapter_run:.2f}x the time of the chapter's buckets over {run_label}")


if __name__ == "__main__":
    main()
