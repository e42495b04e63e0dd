"""The lesson's code of ch16_part2.ipynb: its cells marked `#| export`, in order.

Generated from ch16_part2.ipynb by convert_notebooks.sh. Do not edit: change the notebook's cells
and run `make scripts` again.
"""


import keras
import numpy as np
import tensorflow as tf
from keras import layers

import ch16

SETTINGS = {  # name: (full run, quick mode)
    "text_chars": (None, 20_000),           # characters of the novel used (None: the whole novel)
    "min_text_chars": (1_000_000, 10_000),  # a shorter text is refused as truncated
    "seq_length": (40, 40),                 # characters the model reads to predict the next ones
    "lstm_batch_size": (64, 64),            # chunks per batch of the LSTM
    "transformer_batch_size": (32, 32),     # chunks per batch of the Transformer
    "learning_rate": (2e-3, 1e-3),          # Adam's peak learning rate, reached after the warm-up
    "warmup_epochs": (1, 0.5),              # epochs of linear warm-up from 0 to the peak
    "lstm_epochs": (14, 1),                 # epochs of the LSTM's schedule (warm-up, then cosine decay to 0)
    "transformer_epochs": (12, 1),          # epochs of the Transformer's schedule
    "embed_dim": (256, 16),                 # size of the character embeddings
    "lstm_units": (512, 32),                # units of the LSTM layer
    "model_dim": (256, 16),                 # width of the Transformer model
    "num_heads": (4, 2),                    # attention heads per Transformer block
    "num_blocks": (2, 1),                   # Transformer blocks
    "dropout": (0.1, 0.0),                  # dropout in the Transformer blocks
    "generate_chars": (500, 60),            # length of each generated passage
}


def make_chunks(ids, seq_length):
    """Consecutive chunks of seq_length + 1 ids: the training chunks, and the last tenth of them
    (the end of the text) for validation."""
    chunk_length = seq_length + 1
    n_chunks = len(ids) // chunk_length
    n_val_chunks = n_chunks // 10
    if n_val_chunks == 0:
        raise ch16.DataError(f"{len(ids):,} characters make no validation chunk: the text needs at least "
                             f"{10 * chunk_length} characters")
    chunks = ids[:n_chunks * chunk_length].reshape(n_chunks, chunk_length)
    return chunks[:-n_val_chunks], chunks[-n_val_chunks:]


def make_batches(chunks, batch_size, seed=None):
    """Batches of (40 ids, the next 40 ids); with a seed (training), reshuffled every epoch."""
    dataset = tf.data.Dataset.from_tensor_slices((chunks[:, :-1], chunks[:, 1:])).cache()
    if seed is not None:
        dataset = dataset.shuffle(len(chunks), seed=seed, reshuffle_each_iteration=True)
    return ch16.autotune_off(dataset.batch(batch_size).prefetch(8))


def build_char_lstm(vocab_size, cfg, precision, learning_rate):
    """Embedding -> LSTM (every position) -> one logit per character, under the precision policy."""
    with ch16.dtype_policy(precision):
        model = keras.Sequential([
            keras.Input(shape=(None,), dtype="int32", name="char_ids"),
            layers.Embedding(vocab_size, cfg.embed_dim, name="embedding"),
            layers.LSTM(cfg.lstm_units, return_sequences=True, name="lstm"),
            layers.Dense(vocab_size, dtype="float32", name="logits"),  # float32 logits under any precision
        ], name="char_lstm")
        model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def learning_rate_schedule(cfg, steps_per_epoch, epochs):
    """A linear warm-up to cfg.learning_rate over cfg.warmup_epochs, then a cosine decay to 0 at the end
    of `epochs` epochs of `steps_per_epoch` steps."""
    warmup_steps = int(cfg.warmup_epochs * steps_per_epoch)
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=epochs * steps_per_epoch - warmup_steps,
        warmup_target=cfg.learning_rate, warmup_steps=warmup_steps)


def train(model, train_batches, val_batches, max_epochs, patience=2):
    """Part 2's recipe: the scheduled learning rate set in the model's optimizer, early stopping on the
    validation loss, the best epoch's weights kept."""
    early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                                   restore_best_weights=True)
    return model.fit(train_batches, validation_data=val_batches, epochs=max_epochs,
                     callbacks=[early_stopping, ch16.epoch_log(max_epochs)], verbose=0)


def model_key(model, cfg, seed, vocabulary, text_ids, precision):
    """The key of a trained character model: everything that determines its weights (see ch16.model_key)."""
    return ch16.model_key(model, settings={"settings": vars(cfg), "seed": seed, "precision": precision},
                          code=[train, learning_rate_schedule, make_batches, make_chunks],
                          vocabulary=vocabulary, data=text_ids)


def with_perplexity(history):
    """A history with the perplexity, exp(loss), of every epoch added."""
    return {**history, "perplexity": list(np.exp(history["loss"])),
            "val_perplexity": list(np.exp(history["val_loss"]))}


def make_step_model(model):
    """A model of the trained LSTM's layers that takes and returns the LSTM's state: (ids, h, c) -> (logits, h, c)."""
    embedding, lstm, output_layer = model.layers
    lstm_with_state = layers.LSTM(lstm.units, return_sequences=True, return_state=True, dtype=lstm.dtype_policy,
                                  name="lstm_with_state")
    ids = keras.Input(shape=(None,), dtype="int32", name="char_ids")
    h_in, c_in = keras.Input(shape=(lstm.units,), name="h"), keras.Input(shape=(lstm.units,), name="c")
    sequence, h_out, c_out = lstm_with_state(embedding(ids), initial_state=[h_in, c_in])
    state_out = [keras.ops.cast(h_out, "float32"), keras.ops.cast(c_out, "float32")]  # float32 under any precision
    step_model = keras.Model([ids, h_in, c_in], [output_layer(sequence), *state_out], name="char_lstm_steps")
    lstm_with_state.set_weights(lstm.get_weights())
    return step_model


def encode_prompt(prompt, char_to_id):
    if not prompt:
        raise ValueError("the prompt is empty: give at least one character to start from")
    unknown = sorted(set(prompt) - set(char_to_id))
    if unknown:
        raise ValueError(f"the prompt contains characters that are not in the vocabulary: {unknown}")
    return [char_to_id[char] for char in prompt]


@tf.function
def generate_ids(step_model, logits, h, c, length, scale_factor, seed):
    """Draw `length` ids, one LSTM step each; `logits` are the predictions after the prompt."""
    ids = tf.TensorArray(tf.int32, size=length)
    for i in tf.range(length):
        next_id = tf.random.stateless_categorical(logits * scale_factor, 1, seed=tf.stack([seed, i]),
                                                  dtype=tf.int32)
        ids = ids.write(i, next_id[:, 0])
        step_logits, h, c = step_model([next_id, h, c])
        logits = step_logits[:, -1]
    return tf.transpose(ids.stack())


def sample(step_model, id_to_char, prompts, length=500, scale_factor=1.0, seed=1):
    """Text generated from a prompt (or from each of a list of prompts) with a carried LSTM state."""
    prompts, single = ch16.check_sampling(prompts, length, scale_factor, seed)
    char_to_id = {char: i for i, char in enumerate(id_to_char)}
    zeros = np.zeros((1, step_model.input[1].shape[-1]), np.float32)
    last_logits, hs, cs = [], [], []
    for prompt in prompts:
        logits, h, c = step_model.predict_on_batch([np.array([encode_prompt(prompt, char_to_id)]), zeros, zeros])
        last_logits.append(logits[:, -1])
        hs.append(h)
        cs.append(c)
    ids = generate_ids(step_model, tf.constant(np.concatenate(last_logits)), tf.constant(np.concatenate(hs)),
                       tf.constant(np.concatenate(cs)), tf.constant(int(length)), tf.constant(float(scale_factor)),
                       tf.constant(int(seed)))
    texts = [prompt + "".join(id_to_char[row]) for prompt, row in zip(prompts, ids.numpy())]
    return texts[0] if single else texts


@tf.function(reduce_retracing=True)
def generate_window_ids(model, ids, length, window, scale_factor, seed):
    """Draw `length` ids, each from a run of `model` over the last `window` ids so far."""
    drawn = tf.TensorArray(tf.int32, size=length)
    for i in tf.range(length):
        tf.autograph.experimental.set_loop_options(shape_invariants=[(ids, tf.TensorShape([1, None]))])
        logits = model(ids[:, -window:])[:, -1]
        next_id = tf.random.stateless_categorical(logits * scale_factor, 1, seed=tf.stack([seed, i]),
                                                  dtype=tf.int32)
        drawn = drawn.write(i, next_id[0, 0])
        ids = tf.concat([ids, next_id], axis=1)
    return drawn.stack()


def sample_window(model, id_to_char, prompt, trained_length, length=500, scale_factor=1.0, seed=1, window=None):
    """Text generated from a prompt by re-running the model on the last `window` characters (at most
    `trained_length`, the default) for every new character."""
    window = trained_length if window is None else window
    if not isinstance(prompt, str):
        raise TypeError(f"sample_window takes one prompt, a string, not {type(prompt).__name__}")
    ch16.check_sampling(prompt, length, scale_factor, seed, window, trained_length)
    ids = encode_prompt(prompt, {char: i for i, char in enumerate(id_to_char)})
    drawn = generate_window_ids(model, tf.constant([ids], tf.int32), tf.constant(int(length)),
                                tf.constant(int(window)), tf.constant(float(scale_factor)), tf.constant(int(seed)))
    return prompt + "".join(id_to_char[drawn.numpy()])


def position_losses(model, chunks, batch_size=256):
    """The loss at every position of every chunk (from a zero state): an array (chunks, positions)."""
    logits = model.predict(chunks[:, :-1], batch_size=batch_size, verbose=0)
    return keras.losses.sparse_categorical_crossentropy(chunks[:, 1:], logits, from_logits=True).numpy()


def mean_and_error(values, axis=0):
    """The mean of values along an axis and its standard error."""
    return values.mean(axis=axis), values.std(axis=axis, ddof=1) / np.sqrt(values.shape[axis])


def losses_with_context(model, ids, positions, n, batch_size=256):
    """The loss at each of `positions` of `ids`, predicted from the n ids before it (from a zero state)."""
    windows = np.stack([ids[p - n:p] for p in positions])
    logits = model.predict(windows, batch_size=batch_size, verbose=0)[:, -1]
    return keras.losses.sparse_categorical_crossentropy(ids[positions], logits, from_logits=True).numpy()


def losses_reading_on(step_model, ids, positions):
    """The loss at each of `positions` of `ids` when all of `ids` is read as one stream, the LSTM's
    state carried from the first id on (as `sample` does)."""
    zeros = np.zeros((1, step_model.input[1].shape[-1]), np.float32)
    logits = step_model.predict([ids[np.newaxis, :-1], zeros, zeros], verbose=0)[0][0]  # logits[t] predicts ids[t + 1]
    return keras.losses.sparse_categorical_crossentropy(ids[positions], logits[positions - 1], from_logits=True).numpy()


def softmax(scores, axis=-1):
    exp = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return exp / exp.sum(axis=axis, keepdims=True)


def multi_head_attention(query, value, weights, mask=None):
    """Multi-head attention in NumPy. query (batch, Tq, d), value (batch, Tv, d), the keys are the
    values; weights: the 8 arrays of keras.layers.MultiHeadAttention in its order;
    mask (batch, Tq, Tv), True where a query may attend to a key.
    Returns the outputs (batch, Tq, d) and the attention weights (batch, heads, Tq, Tv)."""
    w_q, b_q, w_k, b_k, w_v, b_v, w_o, b_o = weights
    num_heads, d_k = b_q.shape
    heads, head_weights = [], []
    for head in range(num_heads):
        q = query @ w_q[:, head] + b_q[head]          # (batch, Tq, d_k)
        k = value @ w_k[:, head] + b_k[head]          # (batch, Tv, d_k)
        v = value @ w_v[:, head] + b_v[head]          # (batch, Tv, d_v)
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(d_k)
        if mask is not None:
            scores = np.where(mask, scores, -1e9)
        alpha = softmax(scores)
        heads.append(alpha @ v)                       # (batch, Tq, d_v)
        head_weights.append(alpha)
    concatenated = np.concatenate(heads, axis=-1)     # (batch, Tq, heads * d_v)
    output = concatenated @ w_o.reshape(-1, w_o.shape[-1]) + b_o
    return output, np.stack(head_weights, axis=1)


@keras.saving.register_keras_serializable(package="ch16")
class TransformerBlock(layers.Layer):
    def __init__(self, model_dim, num_heads, ff_dim, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.model_dim, self.num_heads, self.ff_dim, self.dropout = model_dim, num_heads, ff_dim, dropout
        policy = self.dtype_policy  # the block's precision, passed on to its sublayers (also when it is loaded)
        self.attention = layers.MultiHeadAttention(num_heads, key_dim=model_dim // num_heads, dropout=dropout,
                                                   dtype=policy, name="attention")
        self.norm1 = layers.LayerNormalization(dtype=policy, name="norm_1")
        self.norm2 = layers.LayerNormalization(dtype=policy, name="norm_2")
        self.feed_forward = keras.Sequential([layers.Dense(ff_dim, activation="relu", dtype=policy, name="expand"),
                                              layers.Dense(model_dim, dtype=policy, name="project")], name="feed_forward")
        self.drop1 = layers.Dropout(dropout, dtype=policy, name="dropout_1")
        self.drop2 = layers.Dropout(dropout, dtype=policy, name="dropout_2")

    def build(self, input_shape):  # creates the weights before a saved model's are loaded into them
        self.attention.build(input_shape, input_shape)
        for layer in (self.norm1, self.norm2, self.feed_forward):
            layer.build(input_shape)

    def call(self, x, causal=True, training=False):
        attended = self.attention(x, x, use_causal_mask=causal, training=training)
        x = self.norm1(x + self.drop1(attended, training=training))
        return self.norm2(x + self.drop2(self.feed_forward(x), training=training))

    def get_config(self):
        return {**super().get_config(), "model_dim": self.model_dim, "num_heads": self.num_heads,
                "ff_dim": self.ff_dim, "dropout": self.dropout}


def sinusoidal_encoding(length, depth):
    positions = np.arange(length)[:, np.newaxis]
    frequencies = 1 / 10000 ** (np.arange(0, depth, 2) / depth)
    encoding = np.zeros((length, depth))
    encoding[:, 0::2] = np.sin(positions * frequencies)
    encoding[:, 1::2] = np.cos(positions * frequencies[:depth // 2])  # an odd depth ends with a sine
    return encoding.astype(np.float32)


@keras.saving.register_keras_serializable(package="ch16")
class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, vocab_size, max_length, model_dim, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.max_length, self.model_dim = vocab_size, max_length, model_dim
        self.tokens = layers.Embedding(vocab_size, model_dim, dtype=self.dtype_policy, name="tokens")
        self.positions = layers.Embedding(max_length, model_dim, dtype=self.dtype_policy, name="positions")

    def build(self, input_shape):
        self.tokens.build(input_shape)
        self.positions.build((self.max_length,))

    def call(self, ids):
        positions = keras.ops.arange(keras.ops.shape(ids)[-1])
        return self.tokens(ids) + self.positions(positions)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "max_length": self.max_length,
                "model_dim": self.model_dim}


def build_char_transformer(vocab_size, cfg, precision, learning_rate):
    """Token and position embeddings -> causal Transformer blocks -> one logit per character, under the
    precision policy."""
    with ch16.dtype_policy(precision):
        ids = keras.Input(shape=(None,), dtype="int32", name="char_ids")
        hidden = TokenAndPositionEmbedding(vocab_size, cfg.seq_length, cfg.model_dim, name="embedding")(ids)
        for i in range(cfg.num_blocks):
            hidden = TransformerBlock(cfg.model_dim, cfg.num_heads, 4 * cfg.model_dim, cfg.dropout,
                                      name=f"block_{i + 1}")(hidden)
        logits = layers.Dense(vocab_size, dtype="float32", name="logits")(hidden)  # float32 under any precision
        model = keras.Model(ids, logits, name="char_transformer")
        model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model
