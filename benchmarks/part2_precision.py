"""Part 2's character models trained to the end in float32 and in mixed bfloat16: does the faster
precision cost quality?

Both models (ch16.part2.build_char_lstm and build_char_transformer, at the chapter's sizes) train
with the chapter's recipe (ch16.part2.train: warm-up and cosine schedule, early stopping, the best
epoch's weights kept) at seed 1 on The Mysterious Island, once in each precision; only the dtype
policy differs. In both, the logits and the loss are float32. Where the CPU has no native bfloat16 it
is emulated: slower, the same arithmetic. The rule the chapter applies: a model trains in mixed
bfloat16 under CH16_PRECISION=auto (where the hardware computes it natively) if its best validation
loss is within 0.01 of float32's; the two models always share one precision.

A model already trained under the same key (the notebook's key: the same code, settings, seed,
precision and text) is loaded from the model cache (CH16_CACHE_DIR) with the history of the run that
trained it, and the printout says so.

    CH16_DATA_DIR=/path/to/data python -m benchmarks.part2_precision
"""

import sys

import keras
import numpy as np

import ch16
from benchmarks.common import PART2, SEED, arguments, describe, figure, header, save_figures
from ch16 import part2

PRECISIONS = ("float32", "mixed_bfloat16")
TOLERANCE = 0.01  # of best validation loss, for mixed bfloat16 to be adopted


def train_model(name, precision, text, cfg):
    """Train (or load) the model ``name`` in ``precision``: its history."""
    id_to_char = np.array(sorted(set(text)))
    char_to_id = {char: i for i, char in enumerate(id_to_char)}
    ids = np.array([char_to_id[char] for char in text], dtype=np.int32)
    train_chunks, val_chunks = part2.make_chunks(ids, cfg.seq_length)
    batch_size, epochs = ((cfg.lstm_batch_size, cfg.lstm_epochs) if name == "char_lstm" else
                          (cfg.transformer_batch_size, cfg.transformer_epochs))
    # As in the notebook: the seed is set when the batches are made, and again just before the model is
    # built, so that a model of the same key starts from the same weights and sees the same batches.
    keras.utils.set_random_seed(SEED)
    train_batches = part2.make_batches(train_chunks, batch_size, seed=SEED)
    val_batches = part2.make_batches(val_chunks, cfg.lstm_batch_size)
    keras.utils.set_random_seed(SEED)
    build = part2.build_char_lstm if name == "char_lstm" else part2.build_char_transformer
    model = build(len(id_to_char), cfg, precision,
                  part2.learning_rate_schedule(cfg, len(train_batches), epochs))
    key = part2.model_key(model, cfg, SEED, list(id_to_char), ids, precision)
    _, history = ch16.load_or_train(model, key, lambda m: part2.train(m, train_batches, val_batches, epochs),
                                    ch16.env_flag("CH16_RETRAIN"))
    return history


def main():
    parser = arguments(__doc__, novel=True)
    parser.add_argument("--models", nargs="+", choices=("char_lstm", "char_transformer"),
                        default=["char_transformer", "char_lstm"], help="the models to train")
    parser.add_argument("--quick", action="store_true", help="the chapter's quick-mode settings (for the tests)")
    args = parser.parse_args()
    header(sys.argv)
    describe(__doc__)
    cfg = ch16.choose_settings(args.quick, part2.SETTINGS) if args.quick else PART2
    text = ch16.load_mysterious_island(args.data_dir, min_chars=args.min_text_chars)[:cfg.text_chars]

    rows = []
    for name in args.models:
        for precision in PRECISIONS:
            print(f"\n[{name}, {precision}]", flush=True)
            history = train_model(name, precision, text, cfg)
            losses = history["val_loss"]
            best = int(np.argmin(losses))
            rows.append((name, precision, len(losses), best + 1, losses[best], np.mean(history["seconds"]),
                         sum(history["seconds"]) / 60))
            print("validation loss by epoch: " + " ".join(f"{loss:.4f}" for loss in losses), flush=True)
            figure(**{f"{name}.{precision}.best_val_loss": losses[best], f"{name}.{precision}.best_epoch": best + 1,
                      f"{name}.{precision}.epochs": len(losses),
                      f"{name}.{precision}.seconds_per_epoch": np.mean(history["seconds"]),
                      f"{name}.{precision}.training_minutes": sum(history["seconds"]) / 60})

    print(f"\n{'model':<18}{'precision':<16}{'epochs':>7}{'kept':>5}{'best val.':>10}{'s/epoch':>9}{'minutes':>9}")
    for name, precision, epochs, kept, best, per_epoch, minutes in rows:
        print(f"{name:<18}{precision:<16}{epochs:>7}{kept:>5}{best:>10.4f}{per_epoch:>9.1f}{minutes:>9.1f}")
    best = {(name, precision): loss for name, precision, _, _, loss, _, _ in rows}
    print()
    for name in args.models:
        difference = best[name, "mixed_bfloat16"] - best[name, "float32"]
        figure(**{f"{name}.bfloat16_minus_float32": difference})
        print(f"{name}: best validation loss in mixed bfloat16 minus float32: {difference:+.4f} "
              f"({'within' if difference <= TOLERANCE else 'beyond'} the {TOLERANCE} allowed)")
    save_figures(args.figures)


if __name__ == "__main__":
    main()
