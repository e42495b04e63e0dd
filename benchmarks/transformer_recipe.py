"""The usual levers for training a Transformer faster, tried on the chapter's character Transformer.

Each variant trains the chapter's character Transformer (benchmarks/chapter.py: token and
position embeddings of width 256, 2 blocks of 4 heads with a causal mask, feed-forward 1,024,
dropout 0.1) from the same initial weights and seed on the chapter's data (the novel's chunks of
41 characters, the last 10% held out for validation), for the same number of epochs, with
the validation loss measured after each epoch:

* chapter: post-norm blocks, batches of 64, Adam at a constant 1e-3 (the chapter's recipe
  before its first plateau; the learning rate is only cut when the validation loss stops
  improving, which it does not in the first epochs);
* warm-up: the same, with the learning rate rising linearly from 0 to a peak of 2e-3 over the
  first epoch, then constant;
* pre-norm: each block normalises its sub-layers' inputs, and a final normalisation follows
  the last block (as in GPT-2), Adam at 1e-3;
* batch 256: batches of 256 (a quarter as many steps per epoch), Adam at 2e-3 (the rate scaled
  by the square root of the batch ratio);
* all three: pre-norm, batches of 256, warm-up over the first epoch to 3e-3.

A fixed number of epochs measures how fast each variant converges, not where it would end with
early stopping; the chapter's Transformer needed 20 epochs for its best validation loss. The
printout gives the validation loss after each epoch, the seconds per epoch, and the best loss.
Takes about 4 minutes per variant and epoch on a 2-core CPU.

    CH16_DATA_DIR=/path/to/data python -m benchmarks.transformer_recipe
"""

import argparse
import sys
import time

import keras
import numpy as np

import ch16_helpers as ch16
from benchmarks.chapter import (SEED, add_data_arguments, char_batches, char_transformer, no_autotune, novel_chunks,
                                novel_ids)


class WarmUp(keras.optimizers.schedules.LearningRateSchedule):
    """A learning rate rising linearly from 0 to ``peak`` over ``steps`` steps, then constant."""

    def __init__(self, peak, steps):
        self.peak, self.steps = peak, steps

    def __call__(self, step):
        return self.peak * keras.ops.minimum(1.0, (keras.ops.cast(step, "float32") + 1) / self.steps)

    def get_config(self):
        return {"peak": self.peak, "steps": self.steps}


# name: (pre_norm, batch size, peak learning rate, warm-up over the first epoch)
VARIANTS = {
    "chapter": (False, 64, 1e-3, False),
    "warm-up": (False, 64, 2e-3, True),
    "pre-norm": (True, 64, 1e-3, False),
    "batch 256": (False, 256, 2e-3, False),
    "all three": (True, 256, 3e-3, True),
}


def train_variant(name, train_chunks, val_chunks, vocab_size, epochs):
    pre_norm, batch_size, peak, warm_up = VARIANTS[name]
    steps_per_epoch = -(-len(train_chunks) // batch_size)
    keras.utils.set_random_seed(SEED)
    model = char_transformer(vocab_size, pre_norm=pre_norm,
                             learning_rate=WarmUp(peak, steps_per_epoch) if warm_up else peak)
    print(f"\n[{name}] pre-norm {pre_norm}, batch {batch_size} ({steps_per_epoch} steps per epoch), "
          f"Adam {'warm-up to ' if warm_up else 'at '}{peak:g}, {model.count_params():,} parameters",
          flush=True)
    val_losses, seconds = [], []
    train_batches = no_autotune(char_batches(train_chunks, batch_size))  # a new order every epoch
    val_batches = no_autotune(char_batches(val_chunks, 256, shuffle=False))
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        history = model.fit(train_batches, epochs=epoch,
                            initial_epoch=epoch - 1, verbose=0)
        seconds.append(time.perf_counter() - start)
        val_losses.append(model.evaluate(val_batches, verbose=0))
        print(f"[{name}] epoch {epoch}: loss {history.history['loss'][-1]:.4f}, "
              f"val_loss {val_losses[-1]:.4f}, {seconds[-1]:.0f} s", flush=True)
    return val_losses, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3, help="training epochs per variant")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS),
                        help="variants to train")
    add_data_arguments(parser, novel=True)
    args = parser.parse_args()
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    ch16.benchmark_header(sys.argv)
    print(__doc__.rsplit("\n\n", 1)[0] + "\n")  # what is compared (the docstring without its usage line)

    ids, vocab_size = novel_ids(args.data_dir, args.min_text_chars)
    train_chunks, val_chunks = novel_chunks(ids)
    print(f"{len(train_chunks):,} training and {len(val_chunks):,} validation chunks, "
          f"{vocab_size} characters", flush=True)

    results = {name: train_variant(name, train_chunks, val_chunks, vocab_size, args.epochs)
               for name in args.variants}

    print(f"\nValidation loss after each of {args.epochs} epochs, and seconds per epoch:")
    header = "".join(f"{f'epoch {epoch}':>10}" for epoch in range(1, args.epochs + 1))
    print(f"{'variant':<12}{header}{'best':>10}{'s/epoch':>10}")
    for name, (val_losses, seconds) in results.items():
        losses = "".join(f"{loss:>10.4f}" for loss in val_losses)
        print(f"{name:<12}{losses}{min(val_losses):>10.4f}{np.mean(seconds):>10.1f}")


if __name__ == "__main__":
    main()
