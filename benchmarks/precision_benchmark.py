"""Training steps of the chapter's three models in float32 against reduced precision.

The models, built by the chapter's own functions (ch16.part1, ch16.part2), each under a Keras
dtype policy (``ch16.dtype_policy``):

* imdb: the IMDb classifier, Embedding(10,000, 32, mask) -> Bidirectional(LSTM(64)) ->
  Dense(64, relu) -> Dense(1), with dropout, on the chapter's length-bucketed batches of up to
  128 reviews;
* char_lstm: Embedding(vocab, 256) -> LSTM(512, return_sequences=True) -> Dense(vocab, float32),
  on the chapter's batches of 64 chunks of 40 characters;
* transformer: token and learnt position embeddings of width 256, 2 post-norm blocks of
  keras.layers.MultiHeadAttention (4 heads, causal mask, dropout 0.1, feed-forward 1,024),
  Dense(vocab, float32), on the chapter's batches of 32 chunks.

Each model is timed in float32 and in the precision that
``ch16.choose_precision("auto", ch16.gpu_capabilities(), ch16.cpu_flags())`` picks for this
machine. Where that is float32 (a CPU without native bfloat16), mixed_bfloat16 is timed
anyway, to show what emulated bfloat16 would cost here.

Both precisions of a model train on the same batches, taken from one epoch of the chapter's
pipeline before the timing (so no input pipeline is timed), after the same untimed warm-up
steps; the timed steps alternate between the two precisions in rounds, so that a slow spell
of a shared machine falls on both alike. The character models read *The Mysterious Island*
when a data folder is given (CH16_DATA_DIR or --data-dir), otherwise random character ids:
the time of a step does not depend on the ids.

    CH16_DATA_DIR=/path/to/data python -m benchmarks.precision_benchmark
"""

import itertools
import sys

import keras
import numpy as np

import ch16
from benchmarks.common import (PART1, PART2, SEED, TimedTraining, alternate, arguments, at_least, describe,
                               figure, header, imdb_reviews, novel, save_figures)
from ch16 import part1, part2

MODELS = ("imdb", "char_lstm", "transformer")
RANDOM_TEXT_CHUNKS, RANDOM_TEXT_VOCAB = 2_000, 80  # about the novel's number of distinct characters


def imdb_setup(data_dir):
    """The IMDb batches and a function that builds the classifier for them."""
    (texts, labels), _ = imdb_reviews(data_dir)
    vectorizer = part1.adapted_vectorizer(texts, PART1.max_tokens)
    batches = part1.make_batches(part1.encode(vectorizer, texts, labels), PART1.batch_size, seed=SEED)
    print(f"imdb: {len(texts):,} training reviews, bucketed batches of up to {PART1.batch_size}", flush=True)
    return batches, lambda policy: part1.build_classifier(
        keras.layers.Bidirectional(keras.layers.LSTM(PART1.rnn_units)), "bilstm", vectorizer.vocabulary_size(),
        PART1)


def character_chunks(data_dir, min_text_chars):
    """Chunks of seq_length + 1 character ids, and the vocabulary size."""
    chunk_length = PART2.seq_length + 1
    if data_dir:
        ids, vocab_size = novel(data_dir, min_text_chars)
        n_chunks = len(ids) // chunk_length
        print(f"char models: The Mysterious Island, {n_chunks:,} chunks, {vocab_size} characters",
              flush=True)
        return ids[:n_chunks * chunk_length].reshape(n_chunks, chunk_length), vocab_size
    print(f"char models: no data folder given, random ids of {RANDOM_TEXT_VOCAB} characters "
          f"({RANDOM_TEXT_CHUNKS:,} chunks)", flush=True)
    rng = np.random.default_rng(SEED)
    return rng.integers(0, RANDOM_TEXT_VOCAB, (RANDOM_TEXT_CHUNKS, chunk_length), dtype=np.int32), RANDOM_TEXT_VOCAB


def main():
    parser = arguments(__doc__, novel=True)
    parser.add_argument("--steps", type=at_least(1), default=90, help="timed training steps per model and precision")
    parser.add_argument("--rounds", type=at_least(1), default=3,
                        help="alternating rounds the timed steps are split into")
    parser.add_argument("--warmup", type=at_least(0), default=10, help="untimed steps first (tracing)")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS), help="models to time")
    args = parser.parse_args()
    header(sys.argv)
    describe(__doc__)

    chosen, reason = ch16.choose_precision("auto", ch16.gpu_capabilities(), ch16.cpu_flags())
    print(f"Precision the chapter chooses here: {chosen}: {reason}")
    compared = "mixed_bfloat16" if chosen == "float32" else chosen
    if chosen == "float32":
        print("So the chapter trains in float32 here; mixed_bfloat16 is timed anyway, to show what "
              "emulated bfloat16 would cost on this machine.")
    print(flush=True)

    setups = {}
    if "imdb" in args.models:
        setups["imdb"] = imdb_setup(args.data_dir)
    if {"char_lstm", "transformer"} & set(args.models):
        chunks, vocab_size = character_chunks(args.data_dir, args.min_text_chars)
        builders = {  # name: (batch size, builder)
            "char_lstm": (PART2.lstm_batch_size, lambda policy: part2.build_char_lstm(
                vocab_size, PART2, policy, PART2.learning_rate)),
            "transformer": (PART2.transformer_batch_size, lambda policy: part2.build_char_transformer(
                vocab_size, PART2, policy, PART2.learning_rate))}
        for name, (batch_size, build) in builders.items():
            if name in args.models:
                setups[name] = (part2.make_batches(chunks, batch_size, seed=SEED), build)

    results = {}
    for name, (batches, build) in setups.items():
        fixed_batches = list(batches.repeat().take(args.warmup + args.steps))
        trainers = []
        for policy in ("float32", compared):
            keras.utils.set_random_seed(SEED)
            with ch16.dtype_policy(policy):
                model = build(policy)
            trainers.append(TimedTraining(f"{name}, {policy}", model, itertools.cycle(fixed_batches), args.warmup))
        print(f"\n{name}: {args.steps} timed steps per precision, in alternating rounds ({args.rounds})",
              flush=True)
        alternate(trainers, args.rounds, steps=args.steps)
        results[name] = [trainer.ms_per_step for trainer in trainers]

    print(f"\n{'model':<13}{'float32 ms/step':>17}{compared + ' ms/step':>24}{'ratio':>8}")
    for name, (float32_ms, compared_ms) in results.items():
        print(f"{name:<13}{float32_ms:>17.0f}{compared_ms:>24.0f}{compared_ms / float32_ms:>7.2f}x")
        figure(**{f"{name}.float32_ms": float32_ms, f"{name}.{compared}_ms": compared_ms,
                  f"{name}.time_ratio": compared_ms / float32_ms})
    print(f"(ratio: {compared} time per step / float32 time per step; above 1 means {compared} is slower)")
    print(f"Chosen precision: {chosen}: {reason}")
    figure(chosen=chosen, compared=compared)
    save_figures(args.figures)


if __name__ == "__main__":
    main()
