"""The lesson's code of part 2 (ch16.part2, generated from the notebook): the character models, the
samplers, the context measurements and attention, on a small synthetic novel."""

from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

import ch16
from ch16 import part2
from conftest import assert_cudnn_eligible
import synthetic

QUICK = SimpleNamespace(**{name: quick for name, (_, quick) in part2.SETTINGS.items()})


@pytest.fixture(scope="module")
def novel():
    text = synthetic.novel_body(n_sentences=600)
    id_to_char = np.array(sorted(set(text)))
    char_to_id = {char: i for i, char in enumerate(id_to_char)}
    ids = np.array([char_to_id[char] for char in text], dtype=np.int32)
    train_chunks, val_chunks = part2.make_chunks(ids, 40)
    return SimpleNamespace(text=text, id_to_char=id_to_char, char_to_id=char_to_id, ids=ids,
                           train_chunks=train_chunks, val_chunks=val_chunks, vocab_size=len(id_to_char))


@pytest.fixture(scope="module")
def lstm(novel):
    """A small character LSTM trained a few epochs on the synthetic novel (float32)."""
    keras.utils.set_random_seed(0)
    model = part2.build_char_lstm(novel.vocab_size, QUICK, "float32", 1e-2)
    model.fit(part2.make_batches(novel.train_chunks, 32, seed=0), epochs=4, verbose=0)
    return model


def small_transformer(vocab_size, num_blocks=1, seed=0, precision="float32"):
    keras.utils.set_random_seed(seed)
    cfg = SimpleNamespace(**{**vars(QUICK), "num_blocks": num_blocks})
    return part2.build_char_transformer(vocab_size, cfg, precision, 1e-3)


# ---- Data ---------------------------------------------------------------------------------

def test_chunks_are_consecutive_pieces_and_validation_is_the_end_and_a_tenth(novel):
    train, val = novel.train_chunks, novel.val_chunks
    assert train.shape[1] == val.shape[1] == 41
    np.testing.assert_array_equal(np.concatenate([train.ravel(), val.ravel()]), novel.ids[:train.size + val.size])
    assert 0 <= len(novel.ids) - train.size - val.size < 41
    assert 10 * len(val) <= len(train) + len(val) < 10 * (len(val) + 1)


def test_a_text_too_short_for_a_validation_chunk_is_refused():
    with pytest.raises(ch16.DataError, match="make no validation chunk: the text needs at least 410 characters"):
        part2.make_chunks(np.arange(400), 40)


def test_batches_pair_each_input_with_the_next_characters(novel):
    inputs, targets = next(iter(part2.make_batches(novel.train_chunks, 16, seed=0)))
    np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])
    rows = {tuple(chunk) for chunk in novel.train_chunks}
    assert all(tuple(np.append(i, t[-1])) in rows for i, t in zip(inputs.numpy(), targets.numpy()))


def test_training_batches_are_reshuffled_every_epoch_and_evaluation_batches_are_not(novel):
    def first_column(batches):
        return np.concatenate([inputs.numpy()[:, 0] for inputs, _ in batches]).tolist()

    train = part2.make_batches(novel.train_chunks, 16, seed=0)
    assert first_column(train) != first_column(train)
    assert sorted(first_column(train)) == sorted(novel.train_chunks[:, 0].tolist())
    val = part2.make_batches(novel.val_chunks, 16)
    assert first_column(val) == first_column(val) == novel.val_chunks[:, 0].tolist()


# ---- The recipe ---------------------------------------------------------------------------

def test_the_learning_rate_warms_up_linearly_then_decays_along_a_cosine_to_zero():
    cfg = SimpleNamespace(learning_rate=2e-3, warmup_epochs=0.5)
    schedule = part2.learning_rate_schedule(cfg, steps_per_epoch=10, epochs=4)
    rates = np.array([float(schedule(step)) for step in range(41)])
    np.testing.assert_allclose(rates[:6], 2e-3 * np.arange(6) / 5, atol=1e-9)  # warm-up over 5 steps
    decay = np.arange(5, 41) - 5
    np.testing.assert_allclose(rates[5:], 1e-3 * (1 + np.cos(np.pi * decay / 35)), atol=1e-9)
    assert rates[-1] == pytest.approx(0.0, abs=1e-12)


def test_the_perplexity_of_every_epoch_is_the_exponential_of_its_loss():
    history = {"loss": [2.0, 1.5], "val_loss": [2.2, 1.7], "seconds": [3.0, 3.0]}
    with_perplexity = part2.with_perplexity(history)
    np.testing.assert_allclose(with_perplexity["perplexity"], [np.e ** 2.0, np.e ** 1.5])
    np.testing.assert_allclose(with_perplexity["val_perplexity"], [np.e ** 2.2, np.e ** 1.7])
    assert with_perplexity["val_loss"] == history["val_loss"]


def test_the_character_lstm_learns_the_synthetic_text(novel):
    keras.utils.set_random_seed(0)
    cfg = SimpleNamespace(**{**vars(QUICK), "learning_rate": 1e-2, "warmup_epochs": 0.5})
    train_batches = part2.make_batches(novel.train_chunks, 32, seed=0)
    model = part2.build_char_lstm(novel.vocab_size, cfg, "float32",
                                  part2.learning_rate_schedule(cfg, len(train_batches), epochs=6))
    history = part2.train(model, train_batches, part2.make_batches(novel.val_chunks, 32), 6)
    losses = history.history["val_loss"]
    assert losses[-1] < 0.5 * np.log(novel.vocab_size), losses  # far better than guessing uniformly
    assert losses[-1] < losses[0], losses


def test_training_keeps_the_weights_of_the_best_epoch():
    """On random characters the model can only memorise, so the validation loss rises after its best
    epoch; the weights at the end must give the best validation loss again, not the last one."""
    rng = np.random.default_rng(3)
    train_chunks, val_chunks = (rng.integers(0, 12, size=(n, 41)).astype(np.int32) for n in (64, 32))
    keras.utils.set_random_seed(0)
    model = part2.build_char_lstm(12, QUICK, "float32", 3e-2)
    val_batches = part2.make_batches(val_chunks, 32)
    history = part2.train(model, part2.make_batches(train_chunks, 16, seed=0), val_batches, max_epochs=15)
    val_losses = history.history["val_loss"]
    best = int(np.argmin(val_losses))
    assert best < len(val_losses) - 1, "the setting must overfit for this test to mean something"
    assert model.evaluate(val_batches, verbose=0) == pytest.approx(val_losses[best], abs=1e-5)


def test_every_lstm_layer_is_cudnn_eligible(lstm):
    layers = [layer for model in (lstm, part2.make_step_model(lstm)) for layer in model.layers
              if isinstance(layer, keras.layers.LSTM)]
    assert len(layers) == 2
    for layer in layers:
        assert_cudnn_eligible(layer)


def lstm_with_schedule(vocab_size, cfg, steps_per_epoch=10, epochs=3):
    keras.utils.set_random_seed(0)
    return part2.build_char_lstm(vocab_size, cfg, "float32",
                                 part2.learning_rate_schedule(cfg, steps_per_epoch, epochs))


@pytest.mark.parametrize("change", ["seed", "precision", "text", "vocabulary", "settings", "schedule's epochs",
                                    "schedule's warm-up", "schedule's peak"])
def test_the_model_key_changes_with_each_input_that_determines_the_weights(novel, change):
    model = lstm_with_schedule(novel.vocab_size, QUICK)
    parts = dict(model=model, cfg=QUICK, seed=1, vocabulary=list(novel.id_to_char), text_ids=novel.ids,
                 precision="float32")
    changed_text = novel.ids.copy()
    changed_text[-1] = (changed_text[-1] + 1) % novel.vocab_size
    schedule_cfg = {"schedule's warm-up": SimpleNamespace(**{**vars(QUICK), "warmup_epochs": 1}),
                    "schedule's peak": SimpleNamespace(**{**vars(QUICK), "learning_rate": 5e-3})}
    changed = {"seed": dict(seed=2), "precision": dict(precision="mixed_bfloat16"), "text": dict(text_ids=changed_text),
               "vocabulary": dict(vocabulary=list(novel.id_to_char[::-1])),
               "settings": dict(cfg=SimpleNamespace(**{**vars(QUICK), "lstm_batch_size": 32})),
               "schedule's epochs": dict(model=lstm_with_schedule(novel.vocab_size, QUICK, epochs=4))}.get(change)
    if changed is None:  # the same settings in the key, another schedule in the optimizer: the compile configuration
        changed = dict(model=lstm_with_schedule(novel.vocab_size, schedule_cfg[change]))
    assert part2.model_key(**parts) == part2.model_key(**{**parts, "model": lstm_with_schedule(novel.vocab_size, QUICK)})
    assert part2.model_key(**{**parts, **changed}) != part2.model_key(**parts)


# ---- Generation ---------------------------------------------------------------------------

def test_the_step_model_carrying_its_state_predicts_what_the_model_predicts_from_the_whole_context(novel, lstm):
    step_model = part2.make_step_model(lstm)
    ids = tf.constant([novel.ids[123:123 + 25]])
    h = c = tf.zeros((1, QUICK.lstm_units))
    for t in range(ids.shape[1]):
        step_logits, h, c = step_model([ids[:, t:t + 1], h, c])
        np.testing.assert_allclose(tf.nn.softmax(lstm(ids[:, :t + 1])[:, -1]),
                                   tf.nn.softmax(step_logits[:, -1]), atol=1e-5)


def reference_sample(model, id_to_char, prompt, length, scale_factor, seed, window=None):
    """Each character drawn from the model run on everything so far (or its last ``window``
    characters), with the draws of ``sample``: stateless, seeded with [seed, step]."""
    char_to_id = {char: i for i, char in enumerate(id_to_char)}
    ids = [char_to_id[char] for char in prompt]
    for i in range(length):
        context = ids if window is None else ids[-window:]
        logits = model(tf.constant([context]))[:, -1]
        ids.append(int(tf.random.stateless_categorical(logits * scale_factor, 1, seed=[seed, i], dtype=tf.int32)[0, 0]))
    return "".join(id_to_char[ids])


@pytest.mark.parametrize("scale_factor", [1.0, 2.0, 0.5])
def test_the_carried_state_sampler_draws_from_the_models_prediction_given_everything_before(novel, lstm,
                                                                                          scale_factor):
    """A sampler that resets its state, or does not feed back the character it drew, or divides the
    logits by the scale factor, draws other characters than this reference."""
    step_model = part2.make_step_model(lstm)
    generated = part2.sample(step_model, novel.id_to_char, "The sailor", length=30, scale_factor=scale_factor, seed=4)
    assert generated == reference_sample(lstm, novel.id_to_char, "The sailor", 30, scale_factor, 4)


def test_the_window_sampler_draws_from_the_model_run_on_the_last_window(novel):
    model = small_transformer(novel.vocab_size)
    generated = part2.sample_window(model, novel.id_to_char, "Pencroft found the", 40, length=30, seed=5, window=8)
    assert generated == reference_sample(model, novel.id_to_char, "Pencroft found the", 30, 1.0, 5, window=8)


def test_seeded_generation_is_reproducible_and_keeps_the_prompt(novel, lstm):
    step_model = part2.make_step_model(lstm)
    sample = lambda *args, **kwargs: part2.sample(step_model, novel.id_to_char, *args, **kwargs)
    assert sample("The", length=30, seed=7) == sample("The", length=30, seed=7) != sample("The", length=30, seed=8)
    passages = sample(["The", "Pencroft"], length=25)
    assert [p[:len(q)] for p, q in zip(passages, ["The", "Pencroft"])] == ["The", "Pencroft"]
    assert [len(p) for p in passages] == [3 + 25, 8 + 25]


def test_each_prompt_is_read_in_one_call_of_the_step_model(novel, lstm, monkeypatch):
    step_model = part2.make_step_model(lstm)
    calls = []
    real = step_model.predict_on_batch
    monkeypatch.setattr(step_model, "predict_on_batch", lambda inputs: calls.append(inputs[0].shape) or real(inputs))
    prompts = [(novel.text * 4)[:16_000], "The sailor"]
    passages = part2.sample(step_model, novel.id_to_char, prompts, length=5)
    assert calls == [(1, 16_000), (1, 10)]  # one call per prompt, each with the whole prompt
    assert [passage[:-5] for passage in passages] == prompts


@pytest.mark.parametrize("prompt, message", [
    ("The ☂ island", r"not in the vocabulary: \['☂'\]"), ("", "prompt is empty"), (["The", ""], "prompt is empty")])
def test_a_prompt_the_model_cannot_start_from_is_named_in_the_error(novel, lstm, prompt, message):
    with pytest.raises(ValueError, match=message):
        part2.sample(part2.make_step_model(lstm), novel.id_to_char, prompt)


def test_both_samplers_apply_the_argument_checks(novel, lstm):
    with pytest.raises(TypeError, match="not bytes"):
        part2.sample(part2.make_step_model(lstm), novel.id_to_char, b"The")
    with pytest.raises(ValueError, match="window"):
        part2.sample_window(small_transformer(novel.vocab_size), novel.id_to_char, "The", 40, length=3, window=41)


# ---- Measurements -------------------------------------------------------------------------

def test_losses_by_position_average_to_the_validation_loss(novel, lstm):
    losses = part2.position_losses(lstm, novel.val_chunks)
    assert losses.shape == (len(novel.val_chunks), 40)
    assert losses.mean() == pytest.approx(lstm.evaluate(part2.make_batches(novel.val_chunks, 32), verbose=0), abs=1e-4)
    chunk = novel.val_chunks[3]
    probabilities = tf.nn.softmax(lstm(chunk[None, :-1])[0]).numpy()
    np.testing.assert_allclose(losses[3], -np.log(probabilities[np.arange(40), chunk[1:]]), rtol=1e-4)


def test_the_loss_with_a_context_of_n_reads_the_n_characters_just_before(novel, lstm):
    positions = np.array([50, 77, 300])
    losses = part2.losses_with_context(lstm, novel.ids, positions, 12)
    for position, loss in zip(positions, losses):
        probabilities = tf.nn.softmax(lstm(novel.ids[None, position - 12:position])[0, -1]).numpy()
        assert loss == pytest.approx(-np.log(probabilities[novel.ids[position]]), rel=1e-4)


def test_reading_on_scores_each_position_with_the_prediction_made_just_before_it(novel, lstm):
    step_model = part2.make_step_model(lstm)
    ids = novel.ids[:120]
    positions = np.array([1, 37, 119])
    losses = part2.losses_reading_on(step_model, ids, positions)
    h = c = tf.zeros((1, QUICK.lstm_units))
    expected = {}
    for t in range(len(ids) - 1):  # one character at a time, the state carried: the logits after ids[t] predict ids[t + 1]
        logits, h, c = step_model([tf.constant(ids[None, t:t + 1]), h, c])
        if t + 1 in positions:
            expected[t + 1] = -np.log(tf.nn.softmax(logits[0, -1]).numpy()[ids[t + 1]])
    np.testing.assert_allclose(losses, [expected[p] for p in positions], rtol=1e-4)


def test_the_mean_and_standard_error_of_each_column_match_a_hand_computation():
    values = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
    mean, error = part2.mean_and_error(values)
    np.testing.assert_allclose(mean, [3.0, 6.0])
    np.testing.assert_allclose(error, [2.0 / np.sqrt(3), 4.0 / np.sqrt(3)])


# ---- Reduced precision --------------------------------------------------------------------

@pytest.fixture(scope="module")
def bfloat16_lstm(novel):
    keras.utils.set_random_seed(0)
    model = part2.build_char_lstm(novel.vocab_size, QUICK, "mixed_bfloat16", 1e-2)
    history = model.fit(part2.make_batches(novel.train_chunks, 32, seed=0),
                        validation_data=part2.make_batches(novel.val_chunks, 32), epochs=3, verbose=0)
    return model, history.history["val_loss"]


def test_mixed_bfloat16_computes_in_bfloat16_keeps_float32_logits_and_learns(novel, bfloat16_lstm):
    model, losses = bfloat16_lstm
    assert model.get_layer("lstm").dtype_policy.compute_dtype == "bfloat16"
    assert model(tf.constant([novel.ids[:40]])).dtype == tf.float32
    assert losses[-1] < losses[0] < np.log(novel.vocab_size), losses
    assert keras.config.dtype_policy().name == "float32"  # the global policy was restored


def test_the_transformer_in_mixed_bfloat16_computes_its_blocks_in_bfloat16_and_its_logits_in_float32(novel):
    model = small_transformer(novel.vocab_size, precision="mixed_bfloat16")
    assert model.get_layer("block_1").dtype_policy.compute_dtype == "bfloat16"
    assert model.get_layer("logits").dtype_policy.compute_dtype == "float32"
    assert model(novel.ids[None, :40]).dtype == tf.float32


def test_a_bfloat16_step_model_agrees_with_the_model_within_bfloat16_precision(novel, bfloat16_lstm):
    model, _ = bfloat16_lstm
    step_model = part2.make_step_model(model)
    ids = tf.constant([novel.ids[200:240]])
    h = c = tf.zeros((1, QUICK.lstm_units))
    for t in range(ids.shape[1]):
        step_logits, h, c = step_model([ids[:, t:t + 1], h, c])
        np.testing.assert_allclose(tf.nn.softmax(model(ids[:, :t + 1])[:, -1]),
                                   tf.nn.softmax(step_logits[:, -1]), atol=1e-2)


def saved_and_loaded(model):
    """The model saved by ch16.load_or_train, then loaded by a second call with the same key."""
    ch16.load_or_train(model, "k" * 16, lambda m: {"loss": [1.0], "val_loss": [1.0], "seconds": [1.0]})
    loaded, _ = ch16.load_or_train(model, "k" * 16, lambda m: pytest.fail("trained again"))
    assert loaded is not model
    return loaded


def test_a_saved_bfloat16_model_reloads_with_its_policy(novel, bfloat16_lstm, cache):
    model, _ = bfloat16_lstm
    loaded = saved_and_loaded(model)
    assert loaded.get_layer("lstm").dtype_policy.name == "mixed_bfloat16"
    ids = tf.constant([novel.ids[:40]])
    np.testing.assert_allclose(loaded(ids), model(ids), atol=1e-6)


# ---- Attention and the Transformer --------------------------------------------------------

def keras_mha_and_weights(num_heads, key_dim, d_model, seed):
    layer = keras.layers.MultiHeadAttention(num_heads=num_heads, key_dim=key_dim)
    layer(np.zeros((1, 2, d_model), np.float32), np.zeros((1, 2, d_model), np.float32))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=0.4, size=w.shape).astype(np.float32) for w in layer.get_weights()])
    return layer, layer.get_weights()


@pytest.mark.parametrize("batch, length, num_heads, key_dim", [(1, 1, 1, 2), (2, 5, 2, 4), (3, 7, 4, 3), (4, 12, 8, 8)])
@pytest.mark.parametrize("mask", ["none", "causal", "padding"])
def test_scratch_attention_equals_keras(batch, length, num_heads, key_dim, mask):
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
    ours, ours_scores = part2.multi_head_attention(x, x, weights, ours_mask)
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    np.testing.assert_allclose(ours_scores, expected_scores, atol=1e-5)


def test_cross_attention_with_other_queries_equals_keras():
    layer, weights = keras_mha_and_weights(3, 4, 6, seed=5)
    rng = np.random.default_rng(5)
    query, value = rng.normal(size=(2, 3, 6)).astype(np.float32), rng.normal(size=(2, 5, 6)).astype(np.float32)
    mask = np.ones((2, 3, 5), bool)
    mask[1, :, 3:] = False
    ours, ours_weights = part2.multi_head_attention(query, value, weights, mask)
    expected, expected_weights = layer(query, value, attention_mask=mask, return_attention_scores=True)
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    np.testing.assert_allclose(ours_weights, expected_weights, atol=1e-5)
    np.testing.assert_allclose(ours, layer(query, value, attention_mask=mask), atol=1e-5)


def test_attention_weights_are_rows_that_sum_to_one_and_ignore_masked_keys():
    _, weights = keras_mha_and_weights(2, 4, 6, seed=2)
    x = np.random.default_rng(2).normal(size=(1, 8, 6))
    mask = np.ones((1, 8, 8), bool)
    mask[:, :, 5:] = False
    _, scores = part2.multi_head_attention(x, x, weights, mask)
    assert np.all(scores[..., 5:] < 1e-12)
    np.testing.assert_allclose(scores.sum(axis=-1), 1.0, atol=1e-6)


def test_the_softmax_equals_an_independent_computation():
    scores = np.random.default_rng(0).normal(size=(3, 5)) * 50
    np.testing.assert_allclose(part2.softmax(scores), tf.nn.softmax(scores).numpy(), atol=1e-12)


def test_the_window_sampler_takes_one_prompt(novel):
    with pytest.raises(TypeError, match="takes one prompt, a string, not list"):
        part2.sample_window(small_transformer(novel.vocab_size), novel.id_to_char, ["The", "A"], 40, length=3)


@pytest.mark.parametrize("depth", [7, 8])
def test_positional_encodings_alternate_sines_and_cosines_for_any_depth(depth):
    encoding = part2.sinusoidal_encoding(5, depth)
    assert encoding.shape == (5, depth)
    np.testing.assert_allclose(encoding[0, 0::2], 0, atol=1e-7)  # sin(0)
    np.testing.assert_allclose(encoding[0, 1::2], 1, atol=1e-7)  # cos(0)


def test_the_encoding_k_positions_on_is_a_rotation_of_each_sine_cosine_pair_by_an_angle_set_by_k_alone():
    """sin(a(p + k)) = sin(ap) cos(ak) + cos(ap) sin(ak), and cos(a(p + k)) = cos(ap) cos(ak) - sin(ap) sin(ak),
    with sin(ak), cos(ak) read from the encoding of position k itself: the same linear map for every p."""
    encoding = part2.sinusoidal_encoding(60, 16).astype(np.float64)
    sines, cosines = encoding[:, 0::2], encoding[:, 1::2]
    for k in (1, 3, 10):
        p = np.arange(60 - k)
        np.testing.assert_allclose(sines[p + k], sines[p] * cosines[k] + cosines[p] * sines[k], atol=1e-5)
        np.testing.assert_allclose(cosines[p + k], cosines[p] * cosines[k] - sines[p] * sines[k], atol=1e-5)
    assert len({tuple(row) for row in np.round(encoding, 4)}) == 60  # and every position is distinct


def test_the_transformer_embedding_adds_token_and_position_vectors(novel):
    model = small_transformer(novel.vocab_size)
    embedding = model.get_layer("embedding")
    ids = novel.ids[:12]
    expected = embedding.tokens.embeddings.numpy()[ids] + embedding.positions.embeddings.numpy()[:12]
    np.testing.assert_allclose(embedding(ids[None]).numpy()[0], expected, atol=1e-6)


def test_the_transformer_tells_apart_sequences_that_differ_only_in_order(novel):
    """Attention without positions treats the keys of a position as a set: a one-block model that
    cannot see positions predicts the same after "abc" and after "bac". Ours must not."""
    model = small_transformer(novel.vocab_size, num_blocks=1)
    positions = model.get_layer("embedding").positions
    a, b, c = novel.ids[0], novel.ids[1], novel.ids[2]
    assert len({a, b, c}) == 3

    def last_difference():
        first, second = model(np.array([[a, b, c]])).numpy(), model(np.array([[b, a, c]])).numpy()
        return np.abs(first[0, -1] - second[0, -1]).max()

    positions.set_weights([np.random.default_rng(0).normal(size=positions.embeddings.shape)])
    assert last_difference() > 1e-3
    positions.set_weights([np.zeros(positions.embeddings.shape)])  # the premise: without positions, no difference
    assert last_difference() < 1e-5


def test_the_transformer_is_causal(novel):
    model = small_transformer(novel.vocab_size, num_blocks=2)
    ids = novel.ids[:40].copy()
    changed = ids.copy()
    changed[25:] = (changed[25:] + 1) % novel.vocab_size
    before, after = model(ids[None]).numpy(), model(changed[None]).numpy()
    np.testing.assert_allclose(before[:, :25], after[:, :25], atol=1e-5)
    assert not np.allclose(before[:, 25:], after[:, 25:], atol=1e-3)


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_keras_reloads_a_saved_transformer_in_the_precision_it_was_built_in(novel, tmp_path, precision):
    model = small_transformer(novel.vocab_size, num_blocks=2, precision=precision)
    model.save(tmp_path / "transformer.keras")
    loaded = keras.saving.load_model(tmp_path / "transformer.keras")  # under the global policy, float32
    assert loaded.get_layer("block_1").attention.dtype_policy.name == precision
    ids = novel.ids[None, :40]
    np.testing.assert_allclose(loaded(ids), model(ids), atol=1e-5)
