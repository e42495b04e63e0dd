"""The original book's character-level input pipeline against this chapter's, one after the other.

Both train the chapter's model (ch16.part2.build_char_lstm: Embedding(vocab, 256) ->
LSTM(512, return_sequences=True) -> Dense(vocab), float32), for the same number of steps on the same 90% of the chunks of
*The Mysterious Island*, on the same machine:

* book: the encoded text as a dataset of single characters, batched into chunks of 41,
  each split into input and target by a mapped function, shuffled with a buffer of 10,000
  and batched by 64 (no cache, no prefetch; autotuning off here too, see ch16.autotune_off);
* ours: the chunks cut with one NumPy reshape, sliced into (input, target) pairs, cached,
  reshuffled each epoch, batched by 64 and prefetched, autotuning off (ch16.part2.make_batches,
  as in ch16_part2.ipynb, here at the book's batch size).

The script prints seconds per step and per epoch for each, and their ratio. The two are timed
one after the other (the book's first), not in alternating rounds, so a slow spell of a shared
machine can favour one: the model's arithmetic is the same for both, and a difference of a few
tens of percent is within what such a spell can make; rerun to check.

    CH16_DATA_DIR=/path/to/data python -m benchmarks.char_lm_pipeline_benchmark
"""

import sys
import time

import keras
import tensorflow as tf

import ch16
from benchmarks.common import PART2, SEED, arguments, at_least, describe, figure, header, novel, save_figures
from ch16 import part2

SEQ_LENGTH, BATCH_SIZE = PART2.seq_length, 64  # the book's batch size


def book_pipeline(train_encoded):
    def split_input_target(chunk):
        return chunk[:-1], chunk[1:]

    chunks = tf.data.Dataset.from_tensor_slices(train_encoded).batch(SEQ_LENGTH + 1, drop_remainder=True)
    return chunks.map(split_input_target).shuffle(10_000, seed=SEED).batch(BATCH_SIZE, drop_remainder=True)


def chapter_pipeline(train_chunks):
    return part2.make_batches(train_chunks, BATCH_SIZE, seed=SEED)


def measure(name, dataset, vocab_size, steps, warmup, steps_per_epoch):
    keras.utils.set_random_seed(SEED)
    model = part2.build_char_lstm(vocab_size, PART2, "float32", 1e-3)
    stream = ch16.autotune_off(dataset.repeat())
    model.fit(stream, steps_per_epoch=warmup, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(stream, steps_per_epoch=steps, epochs=1, verbose=0)
    per_step = (time.perf_counter() - start) / steps
    print(f"[{name}] {per_step * 1000:.0f} ms per step, {per_step * steps_per_epoch:.1f} s per "
          f"{steps_per_epoch}-step epoch", flush=True)
    figure(**{f"{name}.ms_per_step": per_step * 1000, f"{name}.seconds_per_epoch": per_step * steps_per_epoch})
    return per_step * steps_per_epoch


def main():
    parser = arguments(__doc__, novel=True)
    parser.add_argument("--steps", type=at_least(1), default=60, help="timed training steps per pipeline")
    parser.add_argument("--warmup", type=at_least(0), default=10, help="untimed steps first")
    args = parser.parse_args()
    header(sys.argv)
    describe(__doc__)

    encoded, vocab_size = novel(args.data_dir, args.min_text_chars)
    train_chunks, _ = part2.make_chunks(encoded, SEQ_LENGTH)
    train_encoded = train_chunks.ravel()
    steps_per_epoch = -(-len(train_chunks) // BATCH_SIZE)
    print(f"{len(train_encoded):,} training characters", flush=True)

    book = measure("book", book_pipeline(train_encoded), vocab_size, args.steps, args.warmup,
                   steps_per_epoch)
    ours = measure("ours", chapter_pipeline(train_chunks), vocab_size, args.steps, args.warmup,
                   steps_per_epoch)
    print(f"\nours costs {ours / book:.2f}x the book's pipeline per epoch")
    figure(ours_over_book=ours / book)
    save_figures(args.figures)


if __name__ == "__main__":
    main()
