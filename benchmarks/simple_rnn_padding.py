"""Does the unidirectional SimpleRNN learn the full reviews because of this chapter's batches?

The book trained a SimpleRNN on whole reviews in random batches of 32 padded at the end to their
longest review, without a mask, and reported a validation accuracy of about 0.50. The chapter's
SimpleRNN learns. A likely reason (not measured here): without a mask the final state comes after
hundreds of padding steps, which the gradient must cross (section 2.4) and which may wash the
review out of the state. This benchmark trains the chapter's SimpleRNN classifier
(ch16.part1.build_classifier with SimpleRNN(64)) with the chapter's recipe (ch16.part1.train, at
most max_epochs epochs) on the chapter's encoded reviews, seed 1, two ways:

* book's batches: random batches of 32 reviews padded to their longest, no mask
  (``mask_zero=False``), as in benchmarks/imdb_pipeline_benchmark.py;
* chapter's batches: length buckets of up to 128 reviews, right-padded, with the mask.

It prints each epoch and the test accuracy of the kept epoch for both. One seed each; the chapter's-
batches run is not the notebook's run of the same model, and its results differ a little from it. The two runs change the mask, the padding and the
batch size together: they show that the book's batching stops this model from learning here, not
which of the three does it.

    CH16_DATA_DIR=/path/to/data python -m benchmarks.simple_rnn_padding
"""

import sys

import keras
import numpy as np

import ch16
from benchmarks.common import (PART1, SEED, arguments, at_least, describe, epoch_statistics, figure, header,
                               imdb_reviews, save_figures)
from benchmarks.imdb_pipeline_benchmark import BOOK_BATCH, random_padded_batches
from ch16 import part1


def main():
    parser = arguments(__doc__)
    parser.add_argument("--reviews", type=at_least(1), default=None,
                        help="training reviews (a quarter as many for validation, as many for testing); default: all")
    parser.add_argument("--epochs", type=at_least(1), default=PART1.max_epochs,
                        help="most epochs (early stopping ends sooner)")
    args = parser.parse_args()
    header(sys.argv)
    describe(__doc__)

    (train_texts, train_labels), (val_texts, val_labels) = imdb_reviews(args.data_dir, args.reviews)
    test_texts, test_labels = ch16.load_imdb(args.data_dir)["test"]
    parts = [(train_texts, train_labels), (val_texts, val_labels), (test_texts[:args.reviews], test_labels[:args.reviews])]
    vectorizer = part1.adapted_vectorizer(parts[0][0], PART1.max_tokens)
    train, val, test = (part1.encode(vectorizer, texts, labels).cache() for texts, labels in parts)
    print(f"{len(parts[0][0]):,} training, {len(parts[1][0]):,} validation and {len(parts[2][0]):,} test reviews\n",
          flush=True)
    setups = [  # key, name, training batches, validation batches, test batches, mask
        ("book", "book's batches", random_padded_batches(train), val.padded_batch(BOOK_BATCH),
         test.padded_batch(BOOK_BATCH), False),
        ("chapter", "chapter's batches", part1.make_batches(train, PART1.batch_size, seed=SEED),
         part1.make_batches(val, PART1.batch_size), part1.make_batches(test, PART1.batch_size), True),
    ]
    rows = []
    for key, name, train_batches, val_batches, test_batches, mask_zero in setups:
        print(f"[{name}]", flush=True)
        keras.utils.set_random_seed(SEED)
        model = part1.build_classifier(keras.layers.SimpleRNN(PART1.rnn_units), "rnn_full", len(vectorizer.get_vocabulary()),
                                       PART1, mask_zero=mask_zero)
        history = part1.train(model, ch16.autotune_off(train_batches.prefetch(8)),
                              ch16.autotune_off(val_batches.prefetch(8)), args.epochs).history
        _, test_accuracy = model.evaluate(ch16.autotune_off(test_batches.prefetch(8)), verbose=0)
        kept = history["val_loss"].index(min(history["val_loss"]))
        rows.append((name, len(history["loss"]), kept + 1, history["val_accuracy"][kept], test_accuracy,
                     sum(history["seconds"]) / len(history["seconds"])))
        masked = model.get_layer("embedding").compute_mask(np.array([[5, 0]])) is not None  # what the model does
        figure(**{f"{key}.val_loss": history["val_loss"], f"{key}.val_accuracy": history["val_accuracy"],
                  f"{key}.kept_epoch": kept + 1, f"{key}.kept_val_accuracy": history["val_accuracy"][kept],
                  f"{key}.test_accuracy": test_accuracy, f"{key}.mask": masked,
                  f"{key}.padding": epoch_statistics(train_batches).padding})
    print(f"\n{'batches':<20}{'epochs':>7}{'kept':>6}{'val. accuracy':>15}{'test accuracy':>15}{'s/epoch':>9}")
    for name, epochs, kept, val_accuracy, test_accuracy, seconds in rows:
        print(f"{name:<20}{epochs:>7}{kept:>6}{val_accuracy:>15.4f}{test_accuracy:>15.4f}{seconds:>9.1f}")
    save_figures(args.figures)


if __name__ == "__main__":
    main()
