"""Part 1, its notebook executed in quick mode on the synthetic reviews."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import assert_cudnn_eligible, committed_printouts


def test_checked_cells_print_what_they_printed_in_the_committed_run(part1_run):
    """The cells marked NBVAL_CHECK_OUTPUT compute the same on any data and in quick mode."""
    committed = committed_printouts("ch16_part1.ipynb")
    assert len(committed) >= 4
    assert {index: part1_run[1][index] for index in committed} == committed


def test_notebook_runs_to_the_end_in_quick_mode(part1):
    assert list(part1["results"].index) == ["bilstm", "lstm_full", "rnn_full", "birnn_last100"]


def test_simple_rnn_equals_a_numpy_loop_over_its_own_weights(part1):
    layer = part1["rnn_layer"]
    w_xh, w_hh, b_h = (w.numpy() for w in layer.weights)
    x = np.random.default_rng(0).normal(size=(2, 6, 5)).astype(np.float32)
    h = np.zeros((2, w_hh.shape[0]), np.float32)
    expected = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ w_xh + h @ w_hh + b_h)
        expected.append(h)
    np.testing.assert_allclose(layer(x).numpy(), np.stack(expected, axis=1), rtol=1e-5, atol=1e-6)


def test_lstm_step_equals_the_gate_equations(part1):
    layer = part1["lstm_layer"]
    kernel, recurrent, bias = (w.numpy() for w in layer.weights)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 1, kernel.shape[0])).astype(np.float32)
    h0, c0 = rng.normal(size=(2, 3, recurrent.shape[0])).astype(np.float32)
    _, h_keras, c_keras = layer(x, initial_state=[h0, c0])
    z = x[:, 0] @ kernel + h0 @ recurrent + bias
    i, f, g, o = np.split(z, 4, axis=-1)
    sig = lambda v: 1 / (1 + np.exp(-v))
    c1 = sig(f) * c0 + sig(i) * np.tanh(g)
    np.testing.assert_allclose(c_keras, c1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_keras, sig(o) * np.tanh(c1), rtol=1e-5, atol=1e-6)


def test_bilstm_learns_the_synthetic_sentiment(part1):
    keras.utils.set_random_seed(0)
    model = part1["build_classifier"](
        keras.layers.Bidirectional(keras.layers.LSTM(8)), "bilstm_learning_test")
    model.fit(part1["train_ds"], epochs=12, verbose=0)
    _, accuracy = model.evaluate(part1["test_ds"], verbose=0)
    assert accuracy > 0.85, f"test accuracy {accuracy:.3f} on learnable synthetic reviews"


def test_buckets_pad_less_than_random_batches(part1):
    encoded = part1["train_encoded"]
    naive = part1["padded_share"](encoded.padded_batch(32))
    buckets = part1["padded_share"](part1["bucketed"](encoded))
    assert buckets < naive / 2


def test_training_batches_hold_every_review_once_in_a_shuffled_order(part1):
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 400, size=600)
    encoded = tf.data.Dataset.from_generator(  # review i: id i + 1, repeated over its length
        lambda: ((np.full(n, i + 1, np.int64), np.int32(0)) for i, n in enumerate(lengths)),
        output_signature=(tf.TensorSpec([None], tf.int64), tf.TensorSpec([], tf.int32)))
    batch_size = part1["cfg"].batch_size
    train_batches = part1["make_batches"](encoded, shuffle=True)
    epochs = []
    for _ in range(2):
        batches = [ids.numpy() for ids, _ in train_batches]
        seen = np.sort(np.concatenate([batch[:, 0] for batch in batches]))
        np.testing.assert_array_equal(seen, np.arange(1, len(lengths) + 1))  # each review once
        epochs.append([len(batch) for batch in batches])
    # The buckets' partly filled batches are flushed when the data runs out; they must not
    # all come last, in order of length, but be spread over the epoch.
    sizes = epochs[0]
    first_partial = next(i for i, size in enumerate(sizes) if size < batch_size)
    assert any(size == batch_size for size in sizes[first_partial:])
    assert epochs[0] != epochs[1]  # a new order every epoch


def test_batches_are_right_padded(part1):
    for ids, _ in part1["train_ds"]:
        nonzero = ids.numpy() != 0
        lengths = nonzero.sum(axis=1)
        positions = np.arange(ids.shape[1])
        np.testing.assert_array_equal(nonzero, positions[None, :] < lengths[:, None])


def recurrent_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            yield layer.forward_layer
            yield layer.backward_layer
        elif isinstance(layer, keras.layers.RNN):
            yield layer


def test_every_lstm_and_gru_layer_is_cudnn_eligible(part1):
    # Keras has fused cuDNN kernels for LSTM and GRU only; SimpleRNN never runs as one.
    models = [v for v in part1.values() if isinstance(v, keras.Model)]
    models += list(part1["stacked_models"].values())
    layers = [layer for model in models for layer in recurrent_layers(model)
              if isinstance(layer, (keras.layers.LSTM, keras.layers.GRU))]
    assert len(layers) >= 7  # bidirectional LSTM (2), unidirectional LSTM, stacked LSTM and GRU (2 each)
    for layer in layers:
        assert_cudnn_eligible(layer)


def test_padding_does_not_change_a_prediction(part1):
    model, vectorizer = part1["bilstm_model"], part1["vectorizer"]
    ids = vectorizer(tf.constant(["a great film with a wonderful story"]))
    padded = tf.pad(ids, [[0, 0], [0, 40]])
    np.testing.assert_allclose(model(ids).numpy(), model(padded).numpy(), rtol=1e-5, atol=1e-6)


def test_a_review_gets_the_same_probability_alone_and_in_a_batch(part1):
    predict, model = part1["predict_sentiment"], part1["bilstm_model"]
    reviews = ["great", "an awful film with a dull story and clumsy acting", "the music was superb"]
    together = predict(model, reviews)
    alone = np.array([predict(model, [review])[0] for review in reviews])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad, error, message", [
    ([""], ValueError, "review 0 .* no word of the vocabulary"),
    (["  \n\t "], ValueError, "review 0 .* no word of the vocabulary"),
    (["great film", "😀 🎬"], ValueError, "review 1 .* no word of the vocabulary"),
    (["Отличный фильм"], ValueError, "no word of the vocabulary"),
    ([], ValueError, "no reviews"),
    ([42], TypeError, "review 0 is not a string but int"),
    (["fine", None], TypeError, "review 1 is not a string"),
    ("a bare string", TypeError, "list of strings"),
])
def test_prediction_rejects_bad_input(part1, bad, error, message):
    with pytest.raises(error, match=message):
        part1["predict_sentiment"](part1["bilstm_model"], bad)


def test_standardize_keeps_letters_of_any_alphabet_digits_and_apostrophes():
    import ch16_helpers as ch16

    text = "Amélie<br />is GREAT!! Don't miss Ça: 10/10 😀 Отлично"
    assert ch16.standardize(tf.constant(text)).numpy().decode().split() == [
        "amélie", "is", "great", "don't", "miss", "ça", "10", "10", "отлично"]
