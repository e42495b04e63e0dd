"""Part 2's levers on this machine: seconds per training epoch of both character models, timed side by side.

Part 2 trains two character models of about 1.6 million parameters each on *The Mysterious
Island*. Which switches make an epoch faster depends on the processor, so this benchmark times
them here: the batch size (32 to 256), XLA (``jit_compile=True``; on a CPU Keras compiles the
LSTM's loop with XLA, while on a GPU it refuses XLA for an LSTM that it runs as a cuDNN kernel),
mixed bfloat16 (fast only where the processor computes bfloat16 natively; emulated, and slower,
elsewhere), and XLA with mixed bfloat16 for the LSTM. Every lever trains the chapter's model
(ch16.part2, logits in float32 under every policy) on batches of the novel, in alternating rounds
of the same number of chunks after untimed warm-up steps, so that a slow spell of a shared machine
falls on all alike; an epoch is 24,416 chunks. The training recipes themselves, and the quality of
each precision, are measured by benchmarks/part2_precision.py.

    CH16_DATA_DIR=/path/to/data python -m benchmarks.part2_speed
"""

import sys

import keras

from benchmarks.common import (PART2, SEED, TimedTraining, alternate, arguments, at_least, describe, endless,
                               figure, header, novel, save_figures)
from ch16 import part2

LEVERS = [  # model, name, batch size, policy, XLA
    ("char_lstm", "batch 32", 32, "float32", False),
    ("char_lstm", "batch 64", 64, "float32", False),
    ("char_lstm", "batch 128", 128, "float32", False),
    ("char_lstm", "batch 256", 256, "float32", False),
    ("char_lstm", "batch 64, XLA", 64, "float32", True),
    ("char_lstm", "batch 64, mixed bfloat16", 64, "mixed_bfloat16", False),
    ("char_lstm", "batch 64, XLA, mixed bfloat16", 64, "mixed_bfloat16", True),
    ("char_transformer", "batch 32", 32, "float32", False),
    ("char_transformer", "batch 64", 64, "float32", False),
    ("char_transformer", "batch 128", 128, "float32", False),
    ("char_transformer", "batch 256", 256, "float32", False),
    ("char_transformer", "batch 64, XLA", 64, "float32", True),
    ("char_transformer", "batch 64, mixed bfloat16", 64, "mixed_bfloat16", False),
]


def build(model_name, vocab_size, policy, xla):
    """The chapter's model at its full sizes, under ``policy``, with XLA if asked."""
    build_model = part2.build_char_lstm if model_name == "char_lstm" else part2.build_char_transformer
    model = build_model(vocab_size, PART2, policy, 1e-3)
    model.jit_compile = xla  # read when Keras makes the training step, at the first step
    return model


def main():
    parser = arguments(__doc__, novel=True)
    parser.add_argument("--chunks", type=at_least(1), default=2_048, help="chunks per lever and round of the timing")
    parser.add_argument("--rounds", type=at_least(1), default=3, help="alternating rounds of the timing")
    parser.add_argument("--warmup", type=at_least(0), default=3, help="untimed steps per lever first")
    args = parser.parse_args()
    header(sys.argv)
    describe(__doc__)

    text_ids, vocab_size = novel(args.data_dir, args.min_text_chars)
    train_chunks, val_chunks = part2.make_chunks(text_ids, PART2.seq_length)
    print(f"{len(train_chunks):,} training and {len(val_chunks):,} validation chunks of {PART2.seq_length + 1} "
          f"characters, {vocab_size} distinct characters", flush=True)
    trainers = []
    for model_name, name, batch_size, policy, xla in LEVERS:
        keras.utils.set_random_seed(SEED)
        batches = endless(part2.make_batches(train_chunks, batch_size, seed=SEED))
        trainer = TimedTraining(f"{model_name}, {name}", build(model_name, vocab_size, policy, xla), batches,
                                args.warmup)
        trainer.xla = trainer.model.jit_compile  # after the warm-up steps: whether XLA really compiled them
        trainers.append(trainer)
    print(f"\nTimed: {args.chunks * args.rounds:,} chunks per lever, in {args.rounds} alternating rounds", flush=True)
    alternate(trainers, args.rounds, examples=args.chunks * args.rounds)

    seconds = {(model_name, name): trainer.seconds / trainer.examples * len(train_chunks)
               for (model_name, name, *_), trainer in zip(LEVERS, trainers)}
    print(f"\n{'model':<18}{'lever':<32}{'XLA':>5}{'ms/step':>9}{'µs/chunk':>10}{'s/epoch':>9}{'vs batch 64':>13}")
    for (model_name, name, *_), trainer in zip(LEVERS, trainers):
        per_epoch, base = seconds[model_name, name], seconds[model_name, "batch 64"]
        print(f"{model_name:<18}{name:<32}{'yes' if trainer.xla else 'no':>5}{trainer.ms_per_step:>9.0f}"
              f"{trainer.seconds / trainer.examples * 1e6:>10.0f}{per_epoch:>9.1f}{base / per_epoch:>12.2f}x")
        key = f"{model_name}.{name.replace(', ', '_').replace(' ', '_')}"
        figure(**{f"{key}.seconds_per_epoch": per_epoch, f"{key}.speedup": base / per_epoch,
                  f"{key}.xla": bool(trainer.xla), f"{key}.ms_per_step": trainer.ms_per_step})
    print("(vs batch 64: how many times faster per epoch than batch 64 in float32 without XLA; below 1 is slower)")
    save_figures(args.figures)


if __name__ == "__main__":
    main()
