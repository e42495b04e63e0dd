"""The chapter's settings, data, input pipelines and models, as the benchmarks train them.

The settings are the full-run values of ``ch16.PART1_SETTINGS`` and ``ch16.PART2_SETTINGS``;
the pipelines and models follow ch16_part1.ipynb and ch16_part2.ipynb (the IMDb classifier
without its dropout layers, which cost next to nothing).
"""

import warnings
from types import SimpleNamespace

import keras
import numpy as np
import tensorflow as tf
from keras import layers

import ch16_helpers as ch16

SEED = 1
# Bucketed batches change shape by design and have no known number per epoch: TensorFlow's
# retracing warnings and Keras's "ran out of data" warning about them stay out of the printouts.
tf.get_logger().setLevel("ERROR")
warnings.filterwarnings("ignore", message="Your input ran out of data")

PART1 = SimpleNamespace(**{name: values[0] for name, values in ch16.PART1_SETTINGS.items()})
PART2 = SimpleNamespace(**{name: values[0] for name, values in ch16.PART2_SETTINGS.items()})


def add_data_arguments(parser, novel=False):
    """The benchmarks' ``--data-dir`` option, and with ``novel`` the novel's ``--min-text-chars``."""
    parser.add_argument("--data-dir", default=ch16.env_folder("CH16_DATA_DIR"),
                        help="folder with the data sets (default: $CH16_DATA_DIR)")
    if novel:
        parser.add_argument("--min-text-chars", type=int, default=PART2.min_text_chars,
                            help="refuse a shorter novel as truncated (default: the chapter's full-run check)")


def novel_ids(data_dir, min_chars):
    """*The Mysterious Island* as character ids (the notebook's sorted-vocabulary encoding),
    and the vocabulary size."""
    text = ch16.load_mysterious_island(data_dir, min_chars=min_chars)
    id_to_char = sorted(set(text))
    char_to_id = {char: i for i, char in enumerate(id_to_char)}
    return np.array([char_to_id[char] for char in text], dtype=np.int32), len(id_to_char)


def no_autotune(dataset, prefetch=8):
    """Prefetch a few batches (none if ``prefetch`` is None) and turn tf.data autotuning off,
    as the notebooks do for the datasets they give to ``fit`` (see ``ch16.autotune_off``)."""
    if prefetch is not None:
        dataset = dataset.prefetch(prefetch)
    return ch16.autotune_off(dataset)


def imdb_reviews(data_dir):
    """The chapter's training and validation reviews: ``(texts, labels), (texts, labels)``."""
    texts, labels = ch16.load_imdb(data_dir)["train"]
    order = np.random.default_rng(SEED).permutation(len(texts))
    train, val = order[:PART1.train_reviews], order[len(order) - PART1.val_reviews:]
    return (texts[train].astype(str), labels[train]), (texts[val].astype(str), labels[val])


def adapted_vectorizer(texts):
    """The chapter's ``TextVectorization`` layer, its vocabulary learnt from ``texts``."""
    vectorizer = layers.TextVectorization(max_tokens=PART1.max_tokens, standardize=ch16.standardize)
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(texts).batch(1024))
    return vectorizer


def encoded_reviews(vectorizer, texts, labels):
    """(token ids, label) pairs, encoded inside ``tf.data`` and cached."""
    dataset = tf.data.Dataset.from_tensor_slices((texts, labels))
    return dataset.map(lambda text, label: (vectorizer(text), label),
                       num_parallel_calls=tf.data.AUTOTUNE).cache()


def bucketed_batches(encoded, boundaries=ch16.BUCKET_BOUNDARIES, batch_size=PART1.batch_size,
                     pad_to_boundary=False, shuffle=True):
    """Length-bucketed batches; with ``shuffle`` as the notebook's training batches (reviews
    reshuffled every epoch before bucketing, batches shuffled after it)."""
    if shuffle:
        encoded = encoded.shuffle(PART1.train_reviews, seed=SEED, reshuffle_each_iteration=True)
    batches = encoded.bucket_by_sequence_length(
        lambda ids, label: tf.shape(ids)[0], boundaries, [batch_size] * (len(boundaries) + 1),
        pad_to_bucket_boundary=pad_to_boundary)
    if shuffle:
        batches = batches.shuffle(ch16.BATCH_SHUFFLE_BUFFER, seed=SEED, reshuffle_each_iteration=True)
    return batches


def epoch_statistics(batches):
    """Steps, real tokens, padding share and distinct batch shapes of one pass over ``batches``."""
    steps = tokens = positions = 0
    shapes = set()
    for ids, _ in batches:
        steps += 1
        tokens += int(tf.math.count_nonzero(ids))
        positions += int(tf.size(ids))
        shapes.add(tuple(ids.shape))
    return SimpleNamespace(steps=steps, tokens=tokens, padding=1 - tokens / positions, shapes=len(shapes))


def imdb_classifier(vocab_size, mask_zero=True, jit_compile="auto"):
    """Embedding -> Bidirectional(LSTM) -> Dense(64, relu) -> one float32 logit."""
    model = keras.Sequential([
        keras.Input(shape=(None,), dtype="int64"),
        layers.Embedding(vocab_size, PART1.embed_dim, mask_zero=mask_zero),
        layers.Bidirectional(layers.LSTM(PART1.rnn_units)),
        layers.Dense(64, activation="relu"),
        layers.Dense(1, dtype="float32"),
    ], name="bilstm")
    model.compile(optimizer=keras.optimizers.Adam(PART1.learning_rate, clipnorm=1.0),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True), jit_compile=jit_compile)
    return model


def novel_chunks(ids):
    """The notebook's chunks of 41 character ids: the training chunks, and the last tenth of them
    (the end of the novel) for validation."""
    chunk_length = PART2.seq_length + 1
    n_chunks = len(ids) // chunk_length
    n_val_chunks = n_chunks // 10
    if n_val_chunks == 0:
        raise ch16.DataError(f"{len(ids):,} characters make no validation chunk")
    chunks = ids[:n_chunks * chunk_length].reshape(n_chunks, chunk_length)
    return chunks[:-n_val_chunks], chunks[-n_val_chunks:]


def char_batches(chunks, batch_size=PART2.batch_size, shuffle=True):
    """The notebook's batches of (40 ids, next 40 ids), reshuffled every epoch when ``shuffle``."""
    dataset = tf.data.Dataset.from_tensor_slices((chunks[:, :-1], chunks[:, 1:])).cache()
    if shuffle:
        dataset = dataset.shuffle(len(chunks), seed=SEED, reshuffle_each_iteration=True)
    return dataset.batch(batch_size)


def char_lstm(vocab_size):
    """Embedding(vocab, 256) -> LSTM(512, return_sequences=True) -> Dense(vocab, float32)."""
    model = keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        layers.Embedding(vocab_size, PART2.embed_dim),
        layers.LSTM(PART2.lstm_units, return_sequences=True),
        layers.Dense(vocab_size, dtype="float32"),
    ], name="char_lstm")
    model.compile(optimizer=keras.optimizers.Adam(PART2.learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


class TokenAndPositionEmbedding(layers.Layer):
    """Token embeddings plus learnt position embeddings (one vector per position)."""

    def __init__(self, vocab_size, max_length, model_dim, **kwargs):
        super().__init__(**kwargs)
        self.tokens = layers.Embedding(vocab_size, model_dim)
        self.positions = layers.Embedding(max_length, model_dim)

    def call(self, ids):
        return self.tokens(ids) + self.positions(keras.ops.arange(keras.ops.shape(ids)[-1]))


def transformer_block(x, model_dim, num_heads, ff_dim, dropout, pre_norm=False):
    """A Transformer block with causal self-attention: post-norm as in the chapter (normalise
    after each residual addition), or with ``pre_norm`` normalise each sub-layer's input."""
    def sublayer(x, function):
        if pre_norm:
            return x + layers.Dropout(dropout)(function(layers.LayerNormalization()(x)))
        return layers.LayerNormalization()(x + layers.Dropout(dropout)(function(x)))

    def attention(x):
        return layers.MultiHeadAttention(num_heads, key_dim=model_dim // num_heads, dropout=dropout)(
            x, x, use_causal_mask=True)

    def feed_forward(x):
        return layers.Dense(model_dim)(layers.Dense(ff_dim, activation="relu")(x))

    return sublayer(sublayer(x, attention), feed_forward)


def char_transformer(vocab_size, pre_norm=False, learning_rate=PART2.learning_rate):
    """The chapter's character Transformer: 2 blocks of width 256, 4 heads, feed-forward 1,024
    (``pre_norm``: pre-norm blocks and a final normalisation, as in GPT-2; ``learning_rate``:
    Adam's rate or a schedule)."""
    ids = keras.Input(shape=(None,), dtype="int32")
    hidden = TokenAndPositionEmbedding(vocab_size, PART2.seq_length, PART2.model_dim)(ids)
    for _ in range(PART2.num_blocks):
        hidden = transformer_block(hidden, PART2.model_dim, PART2.num_heads, 4 * PART2.model_dim,
                                   PART2.dropout, pre_norm)
    if pre_norm:
        hidden = layers.LayerNormalization()(hidden)
    model = keras.Model(ids, layers.Dense(vocab_size, dtype="float32")(hidden), name="char_transformer")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model
