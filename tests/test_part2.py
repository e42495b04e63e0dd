"""Part 2, its notebook executed in quick mode on the synthetic novel; attention checked against Keras."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import assert_cudnn_eligible, committed_printouts


def test_checked_cells_print_what_they_printed_in_the_committed_run(part2_run):
    """The cells marked NBVAL_CHECK_OUTPUT compute the same on any data and in quick mode."""
    committed = committed_printouts("ch16_part2.ipynb")
    assert len(committed) >= 4
    assert {index: part2_run[1][index] for index in committed} == committed


def test_notebook_runs_to_the_end_in_quick_mode(part2):
    assert set(part2["comparison"].index) == {"LSTM", "Transformer"}


# ---- Character-level language model ---------------------------------------------------------

def test_chunks_split_into_input_and_target_shifted_by_one(part2):
    inputs, targets = next(iter(part2["train_ds"]))
    assert inputs.shape[1] == targets.shape[1] == part2["cfg"].seq_length
    np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])


def test_chunks_are_consecutive_pieces_of_the_text(part2):
    chunks, text_encoded = part2["chunks"], part2["text_encoded"]
    np.testing.assert_array_equal(chunks.ravel(), text_encoded[:chunks.size])
    assert chunks.shape[1] == part2["cfg"].seq_length + 1


def test_validation_is_the_end_of_the_text_and_a_tenth_of_it(part2):
    """Decoded, the training chunks are the start of the text and the validation chunks the rest,
    up to less than one chunk at the very end; validation is a tenth of the chunks, rounded down."""
    train, val, text, id_to_char = part2["train_chunks"], part2["val_chunks"], part2["text"], part2["id_to_char"]
    chunk = train.shape[1]
    decoded_train, decoded_val = ("".join(id_to_char[chunks.ravel()]) for chunks in (train, val))
    assert decoded_train == text[:len(decoded_train)]
    assert decoded_val == text[len(decoded_train):len(decoded_train) + len(decoded_val)]
    assert 0 <= len(text) - len(decoded_train) - len(decoded_val) < chunk
    assert 10 * len(val) <= len(train) + len(val) < 10 * (len(val) + 1)


def test_vocabulary_round_trip(part2):
    text, char_to_id, id_to_char = part2["text"], part2["char_to_id"], part2["id_to_char"]
    ids = [char_to_id[c] for c in text[:500]]
    assert "".join(id_to_char[ids]) == text[:500]


def test_lstm_loss_decreases_on_the_synthetic_text(part2):
    keras.utils.set_random_seed(0)
    model = part2["build_char_lstm"]()
    history = model.fit(part2["train_ds"], validation_data=part2["val_ds"], epochs=25, verbose=0)
    losses = history.history["val_loss"]
    assert all(later < earlier for earlier, later in zip(losses[::5], losses[5::5])), losses
    assert losses[-1] < 0.7 * np.log(part2["vocab_size"]), "no better than guessing uniformly"


def test_carried_state_and_window_give_the_same_distribution(part2):
    model, step_model = part2["char_lstm"], part2["make_step_model"](part2["char_lstm"])
    ids = tf.constant([part2["text_encoded"][123:123 + 25]])
    h = c = tf.zeros((1, part2["cfg"].lstm_units))
    for t in range(ids.shape[1]):
        step_logits, h, c = step_model([ids[:, t:t + 1], h, c])
        np.testing.assert_allclose(tf.nn.softmax(model(ids[:, :t + 1])[:, -1]),
                                   tf.nn.softmax(step_logits[:, -1]), atol=1e-5)


def test_seeded_generation_is_reproducible(part2):
    sample = part2["sample"]
    assert sample("The", length=30, seed=7) == sample("The", length=30, seed=7)
    assert sample("The", length=30, seed=7) != sample("The", length=30, seed=8)


def test_generation_keeps_the_prompt_and_adds_length_characters(part2):
    passages = part2["sample"](["The", "Pencroft"], length=25)
    assert [p[:len(q)] for p, q in zip(passages, ["The", "Pencroft"])] == ["The", "Pencroft"]
    assert [len(p) for p in passages] == [len("The") + 25, len("Pencroft") + 25]
    assert set("".join(passages)) <= set(part2["char_to_id"])


@pytest.mark.parametrize("kwargs, message", [
    ({"prompts": "The ☂ island"}, r"not in the vocabulary: \['☂'\]"),
    ({"prompts": ""}, "prompt is empty"),
    ({"prompts": []}, "no prompts"),
    ({"prompts": "The", "length": 0}, "length must be a whole number"),
    ({"prompts": "The", "length": -5}, "length must be a whole number"),
    ({"prompts": "The", "length": 2.5}, "length must be a whole number"),
    ({"prompts": "The", "length": True}, "length must be a whole number"),
    ({"prompts": "The", "length": 10**9}, "length must be a whole number of characters from 1 to"),
    ({"prompts": "The", "scale_factor": 0.0}, "scale_factor must be a number above 0"),
    ({"prompts": "The", "scale_factor": -1.0}, "scale_factor must be a number above 0"),
    ({"prompts": "The", "scale_factor": float("inf")}, "scale_factor must be a number above 0"),
    ({"prompts": "The", "scale_factor": float("nan")}, "scale_factor must be a number above 0"),
    ({"prompts": "The", "scale_factor": "2"}, "scale_factor must be a number above 0"),
    ({"prompts": "The", "scale_factor": 1e30}, "scale_factor must be a number above 0 and at most"),
    ({"prompts": "The", "seed": -1}, "seed must be a whole number"),
    ({"prompts": "The", "seed": 2**31}, "seed must be a whole number"),
    ({"prompts": "The", "seed": 1.5}, "seed must be a whole number"),
])
def test_bad_generation_arguments_get_clear_errors(part2, kwargs, message):
    with pytest.raises(ValueError, match=message):
        part2["sample"](**kwargs)


def test_numpy_integers_are_accepted_as_length_and_seed(part2):
    sample = part2["sample"]
    assert sample("The", length=np.int64(12), seed=np.int32(3)) == sample("The", length=12, seed=3)


def test_window_sampler_rejects_unknown_characters_too(part2):
    with pytest.raises(ValueError, match="not in the vocabulary"):
        part2["sample_window"](part2["window_predictor"](part2["char_lstm"]), "☂", length=3)


@pytest.mark.parametrize("window", [0, -3, 41, 2.0])
def test_window_beyond_the_trained_context_is_refused(part2, window):
    predict_next = part2["window_predictor"](part2["char_transformer"])
    with pytest.raises(ValueError, match="window must be a whole number from 1 to 40"):
        part2["sample_window"](predict_next, "The", length=3, window=window)


def test_a_long_prompt_is_read_in_one_call_of_the_step_model(part2, monkeypatch):
    calls = []
    step_model = part2["step_model"]
    original_call = type(step_model).__call__

    def counting_call(self, *args, **kwargs):
        if self is step_model:
            calls.append(1)
        return original_call(self, *args, **kwargs)

    monkeypatch.setattr(type(step_model), "__call__", counting_call)
    prompt = (part2["text"] * 3)[:2000]
    assert part2["sample"](prompt, length=5).startswith(prompt)
    assert len(calls) == 1  # the generation loop itself runs as a compiled graph


# ---- Attention --------------------------------------------------------------------------

def keras_mha_and_weights(num_heads, key_dim, d_model, seed):
    layer = keras.layers.MultiHeadAttention(num_heads=num_heads, key_dim=key_dim)
    layer(np.zeros((1, 2, d_model), np.float32), np.zeros((1, 2, d_model), np.float32))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=0.4, size=w.shape).astype(np.float32) for w in layer.get_weights()])
    return layer, layer.get_weights()


@pytest.mark.parametrize("batch, length, num_heads, key_dim", [
    (1, 1, 1, 2), (2, 5, 2, 4), (3, 7, 4, 3), (4, 12, 8, 8),
])
@pytest.mark.parametrize("mask", ["none", "causal", "padding"])
def test_scratch_attention_equals_keras(part2, batch, length, num_heads, key_dim, mask):
    d_model = 6
    layer, weights = keras_mha_and_weights(num_heads, key_dim, d_model, seed=length)
    x = np.random.default_rng(batch).normal(size=(batch, length, d_model)).astype(np.float32)
    kwargs, ours_mask = {}, None
    if mask == "causal":
        ours_mask = np.tril(np.ones((batch, length, length), bool))
        kwargs = {"use_causal_mask": True}
    elif mask == "padding":
        lengths = np.maximum(1, length - np.arange(batch))
        ours_mask = np.repeat((np.arange(length)[None] < lengths[:, None])[:, None], length, axis=1)
        kwargs = {"attention_mask": ours_mask}
    expected, expected_scores = layer(x, x, return_attention_scores=True, **kwargs)
    ours, ours_scores = part2["multi_head_attention"](x, x, weights, ours_mask)
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    np.testing.assert_allclose(ours_scores, expected_scores, atol=1e-5)


def test_attention_rows_sum_to_one(part2):
    _, weights = keras_mha_and_weights(3, 4, 6, seed=0)
    x = np.random.default_rng(0).normal(size=(2, 9, 6))
    _, scores = part2["multi_head_attention"](x, x, weights)
    np.testing.assert_allclose(scores.sum(axis=-1), 1.0, atol=1e-6)


def test_causal_output_at_t_ignores_later_tokens(part2):
    _, weights = keras_mha_and_weights(2, 4, 6, seed=1)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 10, 6))
    changed = x.copy()
    changed[:, 6:] = rng.normal(size=(1, 4, 6))
    mask = np.tril(np.ones((1, 10, 10), bool))
    out, _ = part2["multi_head_attention"](x, x, weights, mask)
    out_changed, _ = part2["multi_head_attention"](changed, changed, weights, mask)
    np.testing.assert_allclose(out[:, :6], out_changed[:, :6], atol=1e-12)
    assert not np.allclose(out[:, 6:], out_changed[:, 6:])


def test_padding_mask_gives_padded_keys_zero_weight(part2):
    _, weights = keras_mha_and_weights(2, 4, 6, seed=2)
    x = np.random.default_rng(2).normal(size=(1, 8, 6))
    mask = np.ones((1, 8, 8), bool)
    mask[:, :, 5:] = False
    _, scores = part2["multi_head_attention"](x, x, weights, mask)
    assert np.all(scores[..., 5:] < 1e-12)
    np.testing.assert_allclose(scores.sum(axis=-1), 1.0, atol=1e-6)


def test_transformer_character_model_is_causal(part2):
    model = part2["char_transformer"]
    ids = part2["text_encoded"][:40].copy()
    changed = ids.copy()
    changed[25:] = (changed[25:] + 1) % part2["vocab_size"]
    before, after = model(ids[None]).numpy(), model(changed[None]).numpy()
    np.testing.assert_allclose(before[:, :25], after[:, :25], atol=1e-5)


def test_positional_encodings_depend_on_relative_position_only(part2):
    # Each (sin, cos) pair turns by a fixed angle per step, so PE(p) . PE(q) depends on p - q only.
    encoding = part2["sinusoidal_encoding"](50, 16).astype(np.float64)
    similarity = encoding @ encoding.T
    for offset in (1, 3, 10):
        diagonal = np.diagonal(similarity, offset)
        np.testing.assert_allclose(diagonal, diagonal[0], atol=1e-4)
    np.testing.assert_allclose(np.diagonal(similarity), 16 / 2, atol=1e-4)  # sin^2 + cos^2 per pair
    assert len({tuple(row) for row in np.round(encoding, 4)}) == 50  # every position distinct


def test_cross_attention_with_other_queries_equals_keras(part2):
    # Queries from one sequence, keys and values from another, different batch rows: an
    # implementation that took the keys or values from the queries would fail here.
    layer, weights = keras_mha_and_weights(3, 4, 6, seed=5)
    rng = np.random.default_rng(5)
    query = rng.normal(size=(2, 3, 6)).astype(np.float32)
    value = rng.normal(size=(2, 5, 6)).astype(np.float32)
    mask = np.ones((2, 3, 5), bool)
    mask[1, :, 3:] = False
    ours, ours_weights = part2["multi_head_attention"](query, value, weights, mask)
    expected, expected_weights = layer(query, value, attention_mask=mask, return_attention_scores=True)
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    np.testing.assert_allclose(ours_weights, expected_weights, atol=1e-5)
    np.testing.assert_allclose(ours, layer(query, value, attention_mask=mask), atol=1e-5)  # other code path
    assert ours.shape == (2, 3, 6)


def test_every_lstm_layer_of_part2_is_cudnn_eligible(part2):
    lstm_layers = [layer for model in (part2["char_lstm"], part2["step_model"]) for layer in model.layers
                   if isinstance(layer, keras.layers.LSTM)]
    assert len(lstm_layers) == 2  # the character LSTM and its step model's copy
    for layer in lstm_layers:
        assert_cudnn_eligible(layer)


def test_each_character_model_is_keyed_on_its_own_settings_only(part2):
    """Changing the Transformer's heads must not retrain the LSTM (a 63-minute training), nor the
    LSTM's units the Transformer: each model's key holds its own settings and the shared ones."""
    lstm, transformer = set(part2["lstm_settings"]), set(part2["transformer_settings"])
    shared = {"text_chars", "seq_length", "batch_size", "learning_rate", "max_epochs"}
    assert shared <= lstm & transformer
    assert {"embed_dim", "lstm_units"} <= lstm and not lstm & {"model_dim", "num_heads", "num_blocks", "dropout"}
    assert {"model_dim", "num_heads", "num_blocks", "dropout"} <= transformer
    assert not transformer & {"embed_dim", "lstm_units"}
