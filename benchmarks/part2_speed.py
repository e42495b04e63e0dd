"""Part 2's training time on a CPU: the levers, timed side by side, and the recipes trained to the end.

Part 2 trains two character models of about 1.6 million parameters each on *The Mysterious
Island*. The question is which recipe reaches the quality of the chapter's first recipe (part
1's: batches of 64, Adam at 1e-3, the learning rate divided by 5 on a plateau, early stopping;
best validation loss 1.3031 for the LSTM and 1.3594 for the Transformer in its committed run)
in the least time. Time is seconds per epoch times epochs, so the benchmark measures the two
separately:

1. Seconds per epoch of each lever, for each model: batch size (32 to 256), XLA
   (``jit_compile=True``; on a CPU Keras compiles the LSTM's loop with XLA, while on a GPU it
   refuses XLA for an LSTM that it runs as a cuDNN kernel) and mixed bfloat16 (fast only where
   the CPU computes bfloat16 natively), and the two together for the LSTM.
   Every lever trains the chapter's model (ch16.part2) on batches of the novel, in alternating
   rounds of the same number of chunks after untimed warm-up steps, so that a slow spell of a
   shared machine falls on all alike; an epoch is 24,416 chunks.
2. Epochs: each recipe trained to its end (early stopping, or the end of its schedule) at seed 1,
   in float32, with the validation loss of every epoch; "epochs to target" is the first epoch
   whose validation loss is at most the first recipe's committed result. A recipe already trained
   with the same key (the same code, settings, seed and data) is loaded from the model cache
   with its history instead of being trained again, and the printout says so: the notebook's
   character LSTM has this benchmark's key for the chapter's recipe with XLA, the Transformer
   does not (Keras records the module of its custom layers, ``__main__`` in the notebook).

The wall time of a recipe is its number of epochs times the seconds per epoch of its lever from
part 1 of this benchmark (training steps only: validation, a forward pass over a tenth as many
chunks, is not included), and the sum of its epochs' measured seconds in the run that trained it.

    CH16_DATA_DIR=/path/to/data python -m benchmarks.part2_speed
"""

import argparse
import sys
from types import SimpleNamespace

import keras
import numpy as np

import ch16
from benchmarks.common import (DEFAULT_STRATEGY, PART2, SEED, TimedTraining, add_data_arguments, alternate, describe,
                               endless, header, novel)
from ch16 import part1, part2

TARGETS = {"char_lstm": 1.3031, "char_transformer": 1.3594}  # the first recipe's committed best validation losses
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
FIRST_RECIPE = {"batch_size": 64, "learning_rate": 1e-3, "epochs": 30, "schedule": False,  # part 1's recipe, as
                "settings": {}}  # part 2 first used it: Adam at 1e-3, cut by 5 on a plateau, early stopping


def build(model_name, vocab_size, cfg, policy="float32", learning_rate=None, xla=False):
    """The chapter's model; for the LSTM with XLA, compiled as the notebook compiles it on a CPU."""
    learning_rate = cfg.learning_rate if learning_rate is None else learning_rate
    if model_name == "char_lstm":
        return part2.build_char_lstm(vocab_size, cfg, DEFAULT_STRATEGY, policy, learning_rate,
                                     **({"jit_compile": True} if xla else {}))
    with ch16.dtype_policy(policy):
        model = part2.build_char_transformer(vocab_size, cfg, DEFAULT_STRATEGY, learning_rate)
    model.jit_compile = xla
    return model


def time_levers(train_chunks, vocab_size, chunks_per_round, rounds, warmup):
    """Seconds per epoch of each lever, from training steps timed in alternating rounds."""
    trainers = []
    for model_name, name, batch_size, policy, xla in LEVERS:
        keras.utils.set_random_seed(SEED)
        model = build(model_name, vocab_size, PART2, policy, 1e-3, xla)
        batches = endless(part2.make_batches(train_chunks, batch_size, seed=SEED))
        trainer = TimedTraining(f"{model_name}, {name}", model, batches, warmup)
        trainer.xla = model.jit_compile
        trainers.append(trainer)
    print(f"\nTimed: {chunks_per_round * rounds:,} chunks per lever, in {rounds} alternating rounds", flush=True)
    alternate(trainers, rounds, examples=chunks_per_round * rounds)
    seconds = {(model_name, name): trainer.seconds / trainer.examples * len(train_chunks)
               for (model_name, name, *_), trainer in zip(LEVERS, trainers)}
    print(f"\n{'model':<18}{'lever':<32}{'XLA':>5}{'ms/step':>9}{'µs/chunk':>10}{'s/epoch':>9}{'vs batch 64':>13}")
    for (model_name, name, *_), trainer in zip(LEVERS, trainers):
        per_epoch, base = seconds[model_name, name], seconds[model_name, "batch 64"]
        print(f"{model_name:<18}{name:<32}{'yes' if trainer.xla else 'no':>5}{trainer.ms_per_step:>9.0f}"
              f"{trainer.seconds / trainer.examples * 1e6:>10.0f}{per_epoch:>9.1f}{base / per_epoch:>12.2f}x")
    print("(vs batch 64: how many times faster per epoch than batch 64 in float32 without XLA)")
    return seconds


def train_recipe(model_name, recipe, vocab_size, text_ids, vocabulary, train_chunks, val_chunks):
    """Train (or load from the model cache) one recipe to its end; return its history. A recipe with
    a schedule is trained as the notebook trains it (ch16.part2.train, with the notebook's key, so
    that the notebook's trained models are found); the first recipe is part 1's (ch16.part1.train)."""
    cfg = SimpleNamespace(**{**vars(PART2), **recipe["settings"]})
    batch_size, epochs = recipe["batch_size"], recipe["epochs"]
    train_batches = part2.make_batches(train_chunks, batch_size, seed=SEED)
    val_batches = part2.make_batches(val_chunks, PART2.lstm_batch_size)
    keras.utils.set_random_seed(SEED)
    if recipe["schedule"]:
        model = build(model_name, vocab_size, cfg, learning_rate=part2.learning_rate_schedule(cfg, len(train_batches), epochs),
                      xla=recipe.get("xla", False))
        key = part2.model_key(model, cfg, SEED, vocabulary, text_ids, "float32")
        train = lambda m: part2.train(m, train_batches, val_batches, epochs)
    else:
        model = build(model_name, vocab_size, cfg, learning_rate=recipe["learning_rate"])
        key = ch16.model_key(model, settings={"recipe": recipe, "settings": vars(cfg), "seed": SEED,
                                              "precision": "float32"},
                             code=[part1.train, part2.make_batches, part2.make_chunks], vocabulary=vocabulary,
                             data=text_ids)
        train = lambda m: part1.train(m, train_batches, val_batches, epochs)
    _, history = ch16.load_or_train(model, key, train)
    return history


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=2_048, help="chunks per lever and round of the timing")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of the timing")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per lever first")
    parser.add_argument("--skip-training", action="store_true", help="time the levers only")
    add_data_arguments(parser, novel=True)
    args = parser.parse_args()
    header(sys.argv)
    describe(__doc__)

    text_ids, vocab_size = novel(args.data_dir, args.min_text_chars)
    vocabulary = sorted(set(ch16.load_mysterious_island(args.data_dir, min_chars=args.min_text_chars)))
    train_chunks, val_chunks = part2.make_chunks(text_ids, PART2.seq_length)
    print(f"{len(train_chunks):,} training and {len(val_chunks):,} validation chunks of {PART2.seq_length + 1} "
          f"characters, {vocab_size} distinct characters", flush=True)
    seconds = time_levers(train_chunks, vocab_size, args.chunks, args.rounds, args.warmup)
    if args.skip_training:
        return

    adopted = {"settings": {}, "schedule": True}  # the notebook's settings, as they stand
    recipes = {
        "char_lstm": [
            ("first recipe (part 1's): batch 64, Adam 1e-3, plateau cuts", "batch 64", FIRST_RECIPE),
            ("batch 256, warm-up, cosine over 12 epochs from 4e-3", "batch 256",
             {"batch_size": 256, "epochs": 12, "schedule": True,
              "settings": {"learning_rate": 4e-3, "warmup_epochs": 0.5}}),
            (f"batch {PART2.lstm_batch_size}, warm-up, cosine over {PART2.lstm_epochs} epochs from "
             f"{PART2.learning_rate:g}", f"batch {PART2.lstm_batch_size}",
             {**adopted, "batch_size": PART2.lstm_batch_size, "epochs": PART2.lstm_epochs}),
            (f"the chapter's: the same with XLA", f"batch {PART2.lstm_batch_size}, XLA",
             {**adopted, "batch_size": PART2.lstm_batch_size, "epochs": PART2.lstm_epochs, "xla": True}),
        ],
        "char_transformer": [
            ("first recipe (part 1's): batch 64, Adam 1e-3, plateau cuts", "batch 64", FIRST_RECIPE),
            (f"batch 64, warm-up, cosine over {PART2.transformer_epochs} epochs from {PART2.learning_rate:g}",
             "batch 64", {**adopted, "batch_size": 64, "epochs": PART2.transformer_epochs}),
            (f"the chapter's: batch {PART2.transformer_batch_size}, warm-up, cosine over {PART2.transformer_epochs} "
             f"epochs from {PART2.learning_rate:g}", f"batch {PART2.transformer_batch_size}",
             {**adopted, "batch_size": PART2.transformer_batch_size, "epochs": PART2.transformer_epochs}),
        ],
    }
    rows = []
    for model_name, model_recipes in recipes.items():
        for name, lever, recipe in model_recipes:
            print(f"\n[{model_name}, {name}]", flush=True)
            history = train_recipe(model_name, recipe, vocab_size, text_ids, vocabulary, train_chunks, val_chunks)
            losses = history["val_loss"]
            reached = [epoch for epoch, loss in enumerate(losses, start=1) if loss <= TARGETS[model_name]]
            rows.append((model_name, name, len(losses), int(np.argmin(losses)) + 1, min(losses),
                         reached[0] if reached else None, seconds[model_name, lever], sum(history["seconds"])))
            print("validation loss by epoch: " + " ".join(f"{loss:.4f}" for loss in losses), flush=True)

    width = max(len(row[1]) for row in rows) + 2  # the longest recipe's name
    print(f"\n{'model':<18}{'recipe':<{width}}{'epochs':>7}{'kept':>5}{'best val.':>10}{'to target':>10}"
          f"{'s/epoch':>8}{'est. min':>9}{'run min':>8}")
    for model_name, name, epochs, kept, best, to_target, per_epoch, measured in rows:
        print(f"{model_name:<18}{name:<{width}}{epochs:>7}{kept:>5}{best:>10.4f}{to_target or '-':>10}"
              f"{per_epoch:>8.1f}{epochs * per_epoch / 60:>9.1f}{measured / 60:>8.1f}")
    print(f"(target: validation loss at most {TARGETS['char_lstm']} for the LSTM and {TARGETS['char_transformer']} "
          "for the Transformer; est. min = epochs x s/epoch of the timing above; run min = the epochs' measured "
          "seconds in the run that trained the recipe)")


if __name__ == "__main__":
    main()
