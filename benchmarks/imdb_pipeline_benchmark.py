"""The original book's IMDb input pipeline against this chapter's, side by side, in one run.

Both train the chapter's bidirectional LSTM classifier (embedding, Bidirectional(LSTM(64)),
Dense(64, relu), one output) for the same number of steps on the same 20,000 training
reviews, on the same machine:

* book: words found by a Python function per review (inside ``tf.py_function``) and
  looked up in a Python dictionary, every epoch; reviews in a random order, padded to
  the longest review of each batch of 32; no mask.
* ours: ``TextVectorization`` inside ``tf.data``, encoded reviews cached, reshuffled each
  epoch, bucketed by length (little padding), batches of 128 in a shuffled order, prefetched;
  ``mask_zero=True``.

The model is the same both ways but for the mask (the chapter's dropout layers are left out:
they cost next to nothing).

The timed steps alternate between the two in rounds (by default 3 rounds of 70 steps), so
that a slow spell of a shared machine falls on both alike. The default 210 steps cover more
than one epoch of ours (187 batches, of very different lengths), start of an epoch included.

It prints, for each, the seconds per epoch (extrapolated from the timed steps), the real
tokens processed per second and the share of padding, and the ratio of the two.

    CH16_DATA_DIR=/path/to/data python benchmarks/imdb_pipeline_benchmark.py --steps 210
"""

import argparse
import collections
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import ch16_helpers as ch16  # noqa: E402

SEED = 1
TRAIN_REVIEWS = 20_000
EMBED_DIM, RNN_UNITS = 32, 64
BOOK_BATCH = 32
# The chapter's settings (ch16_part1.ipynb, parameters and section 3.2).
MAX_TOKENS, BATCH_SIZE = 10_000, 128
BUCKET_BOUNDARIES = [round(20 * 1.1 ** k) for k in range(49)]


def classifier(vocab_size, mask_zero):
    model = keras.Sequential([
        keras.Input(shape=(None,), dtype="int64"),
        layers.Embedding(vocab_size, EMBED_DIM, mask_zero=mask_zero),
        layers.Bidirectional(layers.LSTM(RNN_UNITS)),
        layers.Dense(64, activation="relu"),
        layers.Dense(1),
    ])
    model.compile(optimizer=keras.optimizers.Adam(5e-4, clipnorm=1.0),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return model


def book_pipeline(texts, labels):
    """The book's pipeline: a Python tokenizer and dictionary lookup per review, padded batches."""
    split_words = re.compile(r"[^\w]+").split
    counts = collections.Counter(word for text in texts for word in split_words(text) if word)
    word_to_id = {word: i for i, word in enumerate(counts, start=1)}
    unknown = len(word_to_id) + 1

    def encode(text, label):
        words = split_words(text.numpy().decode("utf-8"))
        return np.array([word_to_id.get(w, unknown) for w in words if w], dtype=np.int64), label

    def encode_map(text, label):
        ids, label = tf.py_function(encode, inp=[text, label], Tout=(tf.int64, tf.int32))
        ids.set_shape([None])
        label.set_shape([])
        return ids, label

    dataset = tf.data.Dataset.from_tensor_slices((texts, labels))
    dataset = dataset.shuffle(len(texts), seed=SEED, reshuffle_each_iteration=False)
    return dataset.map(encode_map).padded_batch(BOOK_BATCH), unknown + 1


def chapter_pipeline(texts, labels):
    """The chapter's pipeline (ch16_part1.ipynb, section 3.2)."""
    def standardize(text):
        text = tf.strings.lower(text)
        text = tf.strings.regex_replace(text, r"<br\s*/?>", " ")
        return tf.strings.regex_replace(text, r"[^a-z0-9']+", " ")

    vectorizer = layers.TextVectorization(max_tokens=MAX_TOKENS, standardize=standardize)
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(texts).batch(1024))
    encoded = tf.data.Dataset.from_tensor_slices((texts, labels)).map(
        lambda text, label: (vectorizer(text), label), num_parallel_calls=tf.data.AUTOTUNE).cache()
    shuffled = encoded.shuffle(20_000, seed=SEED, reshuffle_each_iteration=True)
    batches = shuffled.bucket_by_sequence_length(
        lambda ids, label: tf.shape(ids)[0], BUCKET_BOUNDARIES,
        [BATCH_SIZE] * (len(BUCKET_BOUNDARIES) + 1))
    return batches.shuffle(1_000, seed=SEED), vectorizer.vocabulary_size()


def epoch_statistics(batches):
    """Steps, real tokens and padding share of one epoch."""
    steps = tokens = positions = 0
    for ids, _ in batches:
        steps += 1
        tokens += int(tf.math.count_nonzero(ids))
        positions += int(tf.size(ids))
    return steps, tokens, 1 - tokens / positions


class Trainer:
    """One pipeline and its model, trained in timed chunks of steps.

    Each trainer keeps one iterator over its batches for the whole run (``fit`` would start
    a new one, at the beginning of an epoch, on every call), so the timed steps of all the
    rounds follow each other through the epoch as they would in training.
    """

    def __init__(self, name, batches, vocab_size, mask_zero, warmup):
        print(f"[{name}] one pass over the data for its statistics ...", flush=True)
        self.name = name
        self.epoch_steps, self.epoch_tokens, self.padding = epoch_statistics(batches)
        keras.utils.set_random_seed(SEED)
        self.model = classifier(vocab_size, mask_zero)
        self.batches = iter(ch16.no_autotune(batches.repeat()))
        self.train(warmup, timed=False)
        self.steps, self.seconds = 0, 0.0

    def train(self, steps, timed=True):
        start = time.perf_counter()
        for _ in range(steps):
            self.model.train_on_batch(*next(self.batches))
        seconds = time.perf_counter() - start
        if timed:
            self.steps += steps
            self.seconds += seconds
            print(f"[{self.name}] {steps} steps in {seconds:.1f} s: {seconds / steps * 1000:.0f} ms per step",
                  flush=True)

    def row(self):
        per_step = self.seconds / self.steps
        return {"pipeline": self.name, "steps per epoch": self.epoch_steps, "s per step": per_step,
                "s per epoch": per_step * self.epoch_steps,
                "tokens per s": self.epoch_tokens / self.epoch_steps / per_step,
                "padding share": self.padding}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=210, help="timed training steps per pipeline")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds the timed steps are split into")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps first (tracing, caches)")
    parser.add_argument("--data-dir", default=os.environ.get("CH16_DATA_DIR"),
                        help="folder with a local copy of the IMDb data (default: $CH16_DATA_DIR)")
    args = parser.parse_args()

    texts, labels = ch16.load_imdb(args.data_dir)["train"]
    order = np.random.default_rng(SEED).permutation(len(texts))[:TRAIN_REVIEWS]
    texts, labels = texts[order].astype(str), labels[order]
    print(f"{len(texts):,} training reviews; TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores, "
          f"GPUs: {len(tf.config.list_physical_devices('GPU'))}")

    trainers = [Trainer("book", *book_pipeline(texts, labels), mask_zero=False, warmup=args.warmup),
                Trainer("ours", *chapter_pipeline(texts, labels), mask_zero=True, warmup=args.warmup)]
    # The timed steps alternate between the two in rounds, so that a slower or faster spell
    # of a shared machine falls on both alike.
    print(f"\n{args.steps} timed steps each, in {args.rounds} alternating rounds", flush=True)
    for _ in range(args.rounds):
        for trainer in trainers:
            trainer.train(args.steps // args.rounds)
    rows = [trainer.row() for trainer in trainers]
    print(f"\n{'pipeline':<9}{'steps/epoch':>12}{'ms/step':>9}{'s/epoch':>9}{'tokens/s':>10}{'padding':>9}")
    for row in rows:
        print(f"{row['pipeline']:<9}{row['steps per epoch']:>12}{row['s per step'] * 1000:>9.0f}"
              f"{row['s per epoch']:>9.1f}{row['tokens per s']:>10,.0f}{row['padding share']:>9.1%}")
    book, ours = rows
    print(f"\nours is {book['s per epoch'] / ours['s per epoch']:.2f}x faster per epoch "
          f"({ours['tokens per s'] / book['tokens per s']:.1f}x the tokens per second)")


if __name__ == "__main__":
    main()
