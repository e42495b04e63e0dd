"""The book's IMDb setup against ours, with steps in between, side by side in one run.

All rows train the chapter's bidirectional LSTM classifier (ch16.part1.build_classifier: embedding
of 32, Bidirectional(LSTM(64)), Dense(64, relu), one logit, dropout 0.25) with the chapter's
optimizer, on the same 20,000 training reviews, on the same machine. The book's setup and ours differ in five ways:

    what                  book                                   ours
    tokenizer             tfds.deprecated.text.Tokenizer and     TextVectorization in tf.data,
                          TokenTextEncoder in Python, per        encoded once and cached
                          review and epoch (tf.py_function)
    vocabulary            every word of the training reviews     the 10,000 most frequent
    batching              random order, padded to the longest    length buckets (little padding),
                          review of each batch                   batches shuffled
    batch size            32                                     128
    mask                  none                                   mask_zero=True

The two rows in between change these one group at a time:

* "our encoding, book's batches": TextVectorization (10,000 words, cached), random batches of
  32 padded to their longest review, no mask. Against "book": the tokenizer and vocabulary.
* "ours at batch 32": our pipeline (length buckets, mask), in batches of 32. Against the row
  before: buckets and mask together (not separated here). Against "ours": the batch size.

Every row trains on the same number of reviews (by default 20,000, one epoch's worth; the
warm-up steps are untimed), in alternating rounds (3 by default), so that a slow spell of a
shared machine falls on all alike. Each row keeps one iterator for the whole run, so its
timed steps run through the epoch, partly filled last batches of the buckets included. The
seconds per epoch are extrapolated from the timed reviews to the 20,000 of an epoch; tokens per
second count real tokens (no padding); padding share and steps per epoch come from one
untimed pass over the batches.

    CH16_DATA_DIR=/path/to/data python -m benchmarks.imdb_pipeline_benchmark
"""

import collections
import sys

import keras
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from benchmarks.common import (PART1, SEED, TimedTraining, alternate, arguments, at_least, describe, endless,
                               epoch_statistics, figure, header, imdb_reviews, save_figures)
from ch16 import part1

BOOK_BATCH = 32


def book_pipeline(texts, labels):
    """The book's pipeline: tfds's Tokenizer and TokenTextEncoder, run in Python on every review in
    every epoch, in random batches of 32 padded to their longest review (no mask). Returns
    (batches, vocabulary size)."""
    tokenizer = tfds.deprecated.text.Tokenizer()
    counts = collections.Counter(token for text in texts for token in tokenizer.tokenize(text))
    encoder = tfds.deprecated.text.TokenTextEncoder(counts, tokenizer=tokenizer)

    def encode(text, label):
        return np.array(encoder.encode(text.numpy().decode("utf-8")), dtype=np.int64), label

    def encode_map(text, label):
        ids, label = tf.py_function(encode, inp=[text, label], Tout=(tf.int64, tf.int32))
        ids.set_shape([None])
        label.set_shape([])
        return ids, label

    dataset = tf.data.Dataset.from_tensor_slices((texts, labels))
    dataset = dataset.shuffle(len(texts), seed=SEED, reshuffle_each_iteration=False)
    print(f"the book's encoder: {len(counts):,} distinct tokens in the training reviews, "
          f"{encoder.vocab_size:,} ids (padding and one id for unknown words included)", flush=True)
    figure(book_distinct_tokens=len(counts), book_vocabulary_ids=encoder.vocab_size)
    return dataset.map(encode_map).padded_batch(BOOK_BATCH), encoder.vocab_size


def random_padded_batches(encoded):
    """Cached encoded reviews, reshuffled every epoch, in batches of 32 padded to their longest."""
    return encoded.shuffle(PART1.train_reviews, seed=SEED, reshuffle_each_iteration=True).padded_batch(BOOK_BATCH)


def main():
    parser = arguments(__doc__)
    parser.add_argument("--reviews", type=at_least(1), default=PART1.train_reviews,
                        help="training reviews, all timed in each row (default: the chapter's 20,000, an epoch)")
    parser.add_argument("--rounds", type=at_least(1), default=3,
                        help="alternating rounds the timed reviews are split into")
    parser.add_argument("--warmup", type=at_least(0), default=10, help="untimed steps first (tracing, caches)")
    args = parser.parse_args()
    header(sys.argv)
    describe(__doc__)

    (texts, labels), _ = imdb_reviews(args.data_dir, None if args.reviews == PART1.train_reviews else args.reviews)
    texts = texts.astype(str)
    print(f"{len(texts):,} training reviews\n", flush=True)
    vectorizer = part1.adapted_vectorizer(texts, PART1.max_tokens)
    encoded = part1.encode(vectorizer, texts, labels).cache()
    book_batches, book_vocab_size = book_pipeline(texts, labels)
    vocab_size = vectorizer.vocabulary_size()
    print(f"vocabulary: the book's {book_vocab_size:,} ids, ours {vocab_size:,}", flush=True)
    rows = [  # name, batches, vocabulary size, batch size, mask
        ("book", book_batches, book_vocab_size, BOOK_BATCH, False),
        ("our encoding, book's batches", random_padded_batches(encoded), vocab_size, BOOK_BATCH, False),
        ("ours at batch 32", part1.make_batches(encoded, BOOK_BATCH, seed=SEED), vocab_size,
         BOOK_BATCH, True),
        ("ours", part1.make_batches(encoded, PART1.batch_size, seed=SEED), vocab_size,
         PART1.batch_size, True),
    ]
    statistics, trainers = [], []
    for name, batches, row_vocab_size, _, mask_zero in rows:
        print(f"[{name}] statistics of one epoch, then warm-up (untimed)", flush=True)
        statistics.append(epoch_statistics(batches))
        keras.utils.set_random_seed(SEED)
        model = part1.build_classifier(keras.layers.Bidirectional(keras.layers.LSTM(PART1.rnn_units)), "bilstm",
                                       row_vocab_size, PART1, mask_zero=mask_zero)
        trainers.append(TimedTraining(name, model, endless(batches), args.warmup))

    print(f"\nTimed: {args.reviews:,} reviews per row, in alternating rounds ({args.rounds})", flush=True)
    alternate(trainers, args.rounds, examples=args.reviews)

    print(f"\n{'setup':<30}{'batch':>6}{'mask':>6}{'steps/epoch':>12}{'ms/step':>9}{'s/epoch':>9}"
          f"{'tokens/s':>10}{'padding':>9}")
    epoch_seconds = []
    for (name, _, _, batch_size, mask_zero), stats, trainer in zip(rows, statistics, trainers):
        seconds = trainer.seconds / trainer.examples * len(texts)
        epoch_seconds.append(seconds)
        key = {"book": "book", "our encoding, book's batches": "our_encoding", "ours at batch 32": "ours_batch_32",
               "ours": "ours"}[name]
        figure(**{f"{key}.seconds_per_epoch": seconds, f"{key}.padding": stats.padding, f"{key}.steps": stats.steps,
                  f"{key}.tokens": stats.tokens, f"{key}.ms_per_step": trainer.ms_per_step})
        print(f"{name:<30}{batch_size:>6}{'yes' if mask_zero else 'no':>6}{stats.steps:>12}"
              f"{trainer.ms_per_step:>9.0f}{seconds:>9.1f}{stats.tokens / seconds:>10,.0f}{stats.padding:>9.1%}")
    book, encoding, ours_32, ours = epoch_seconds
    print("\nSeconds per epoch (extrapolated from the timed reviews to an epoch's), one change at a time:")
    for change, before, after in [("our tokenizer and vocabulary", book, encoding),
                                  ("length buckets and mask", encoding, ours_32),
                                  (f"batches of {PART1.batch_size} instead of {BOOK_BATCH}", ours_32, ours)]:
        print(f"  {change:<36}{before:>7.1f} -> {after:>6.1f} s: {before / after:.2f}x faster")
    print(f"ours is {book / ours:.2f}x faster per epoch than the book's setup")
    figure(speedup=book / ours)
    save_figures(args.figures)


if __name__ == "__main__":
    main()
