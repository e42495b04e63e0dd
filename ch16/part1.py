"""The lesson's code of ch16_part1.ipynb: its cells marked `#| export`, in order.

Generated from ch16_part1.ipynb by convert_notebooks.sh. Do not edit: change the notebook's cells
and run `make scripts` again.
"""


import keras
import numpy as np
import tensorflow as tf
from keras import layers

import ch16

SETTINGS = {  # name: (full run, quick mode)
    "train_reviews": (20_000, 320),  # reviews for training, from the official training split
    "val_reviews": (5_000, 80),      # other reviews of that split, for validation
    "test_reviews": (25_000, 400),   # reviews of the official test split, used once at the end
    "max_tokens": (10_000, 2_000),   # vocabulary size, counting the padding and out-of-vocabulary tokens
    "embed_dim": (32, 8),            # size of the word embeddings
    "rnn_units": (64, 8),            # units of each recurrent layer (per direction)
    "batch_size": (128, 32),         # reviews per batch
    "learning_rate": (5e-4, 1e-3),   # Adam's initial learning rate
    "dropout": (0.25, 0.0),          # dropout on the embeddings and on the recurrent layer's output
    "max_epochs": (10, 1),           # upper bound for every model; early stopping usually ends training sooner
}


def split_reviews(texts, labels, n_first, n_second, seed):
    """Two disjoint random parts of n_first and n_second reviews, drawn by a seeded permutation."""
    if n_first + n_second > len(texts):
        raise ch16.DataError(f"{len(texts):,} reviews cannot give {n_first:,} and {n_second:,} without overlap: "
                             "the data folder holds fewer reviews than the settings ask for")
    order = np.random.default_rng(seed).permutation(len(texts))
    first, second = order[:n_first], order[n_first:n_first + n_second]
    return (texts[first], labels[first]), (texts[second], labels[second])


def standardize(text):
    """Lower-case; <br /> to spaces; curly apostrophes to straight ones; keep runs of letters, digits and
    apostrophes, then drop the apostrophes that begin or end a word."""
    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, r"<br\s*/?>", " ")
    text = tf.strings.regex_replace(text, "[’‘]", "'")
    text = tf.strings.regex_replace(text, r"[^\p{L}\p{N}']+", " ")
    text = tf.strings.regex_replace(text, r"(^| )'+", " ")  # apostrophes that begin a word
    return tf.strings.regex_replace(text, r"'+( |$)", " ")  # and those that end one


def adapted_vectorizer(texts, max_tokens):
    """A TextVectorization layer with the chapter's standardisation, its vocabulary learnt from texts."""
    vectorizer = layers.TextVectorization(max_tokens=max_tokens, standardize=standardize)
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(list(texts)).batch(1024))
    return vectorizer


def encode(vectorizer, texts, labels):
    """A dataset of (token ids, label) pairs; the ids of each review keep their own length."""
    dataset = tf.data.Dataset.from_tensor_slices((list(texts), labels))
    return dataset.map(lambda text, label: (vectorizer(text), label), num_parallel_calls=tf.data.AUTOTUNE)


BUCKET_BOUNDARIES = [round(20 * 1.1 ** k) for k in range(49)]  # 49 edges, 50 buckets: 20, 22, 24, 27, ..., 1940 tokens


def length_of(ids, label):
    return tf.shape(ids)[0]


def bucketed(encoded, batch_size):
    """Batches of reviews of similar length, each padded (on the right) to its longest review."""
    return encoded.bucket_by_sequence_length(length_of, BUCKET_BOUNDARIES,
                                             [batch_size] * (len(BUCKET_BOUNDARIES) + 1))


def padded_share(batches):
    """Share of the positions in all batches that are padding (id 0)."""
    padding = total = 0
    for ids, _ in batches:
        padding += int(tf.reduce_sum(tf.cast(ids == 0, tf.int64)))
        total += int(tf.size(ids))
    return padding / total


BATCH_SHUFFLE_BUFFER = 1_000  # batches: more than an epoch of this part holds, so the whole epoch is mixed


def make_batches(encoded, batch_size, seed=None):
    """Length-bucketed batches. With a seed (training): the reviews reshuffled every epoch before bucketing
    and the batches after it; without (evaluation): always the same batches in the same order."""
    if seed is not None:
        reviews = int(encoded.cardinality())  # a buffer of every review: a full shuffle
        encoded = encoded.shuffle(reviews if reviews > 0 else 100_000, seed=seed, reshuffle_each_iteration=True)
    batches = bucketed(encoded, batch_size)
    if seed is not None:
        batches = batches.shuffle(BATCH_SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    return ch16.autotune_off(batches.prefetch(8))


def build_classifier(recurrent_layer, name, vocab_size, cfg, mask_zero=True):
    """Embedding -> recurrent layer -> Dense(64, relu) -> one logit, with dropout."""
    model = keras.Sequential([
        keras.Input(shape=(None,), dtype="int64", name="token_ids"),
        layers.Embedding(vocab_size, cfg.embed_dim, mask_zero=mask_zero, name="embedding"),
        layers.SpatialDropout1D(cfg.dropout, name="embedding_dropout"),
        recurrent_layer,
        layers.Dropout(cfg.dropout, name="dropout"),
        layers.Dense(64, activation="relu", name="hidden"),
        layers.Dense(1, name="logit"),
    ], name=name)
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate, clipnorm=1.0),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)])
    return model


def train(model, train_batches, val_batches, max_epochs, patience=2):
    """The chapter's recipe: learning rate divided by 5 on a plateau, early stopping, best weights kept."""
    reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=0, min_lr=1e-5)
    early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                                   restore_best_weights=True)
    return model.fit(train_batches, validation_data=val_batches, epochs=max_epochs,
                     callbacks=[reduce_lr, early_stopping, ch16.epoch_log(max_epochs)], verbose=0)


def model_key(model, cfg, seed, vocabulary, data, pipeline=()):
    """The key of a trained classifier: everything that determines its weights (see ch16.model_key)."""
    return ch16.model_key(model, settings={"settings": vars(cfg), "seed": seed, "buckets": BUCKET_BOUNDARIES,
                                           "batch shuffle buffer": BATCH_SHUFFLE_BUFFER},
                          code=[train, make_batches, bucketed, length_of, encode, standardize, *pipeline],
                          vocabulary=vocabulary, data=data)


def last_tokens(encoded, n):
    return encoded.map(lambda ids, label: (ids[-n:], label))


def first_tokens(encoded, n):
    return encoded.map(lambda ids, label: (ids[:n], label))


def correct_predictions(model, indexed, labels, batch_size):
    """Whether the model classifies each review right, in the order of `labels`; `indexed` holds the
    (token ids, review index) pairs of the reviews."""
    batches = make_batches(indexed, batch_size)
    logits = model.predict(batches, verbose=0)[:, 0]
    index = np.concatenate([index.numpy() for _, index in batches])
    correct = np.zeros(len(labels), dtype=bool)
    correct[index] = (logits > 0) == (labels[index] == 1)
    return correct


def paired_difference(correct_a, correct_b):
    """The difference of two models' accuracies on the same reviews, and its standard error."""
    differences = correct_a.astype(float) - correct_b.astype(float)
    return differences.mean(), differences.std(ddof=1) / np.sqrt(len(differences))


def predict_sentiment(model, vectorizer, reviews, batch_size=128):
    """P(positive) of each review, in the order given."""
    ch16.check_reviews(reviews, batch_size)
    indexed = tf.data.Dataset.from_tensor_slices((reviews, tf.range(len(reviews))))
    probabilities = np.zeros(len(reviews))
    for ids, index in bucketed(indexed.map(lambda text, i: (vectorizer(text), i)), batch_size):
        unknown = ~tf.reduce_any(ids > 1, axis=1).numpy()  # ids 0 and 1 are padding and [UNK]
        if unknown.any():
            i = int(index[np.argmax(unknown)])
            raise ValueError(f"review {i} ({reviews[i][:40]!r}) has no word of the vocabulary: nothing to judge")
        logits = model.predict(ids, batch_size=len(ids), verbose=0)[:, 0]  # the whole batch in one step
        probabilities[index.numpy()] = tf.sigmoid(logits).numpy()
    return probabilities
