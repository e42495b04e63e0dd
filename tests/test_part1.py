"""The lesson's code of part 1 (ch16.part1, generated from the notebook), on small synthetic reviews."""

from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

from ch16 import part1
import synthetic

QUICK = SimpleNamespace(**{name: quick for name, (_, quick) in part1.SETTINGS.items()})
SMALL = SimpleNamespace(**{**vars(QUICK), "embed_dim": 8, "rnn_units": 8, "learning_rate": 1e-2, "dropout": 0.0})


def reviews(n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n).astype(np.int32)
    return np.array([synthetic.synthetic_review(rng, label) for label in labels], dtype=object), labels


@pytest.fixture(scope="module")
def data():
    train_texts, train_labels = reviews(400, seed=0)
    val_texts, val_labels = reviews(100, seed=1)
    vectorizer = part1.adapted_vectorizer(train_texts, 200)
    vocab_size = len(vectorizer.get_vocabulary())
    encoded = {name: part1.encode(vectorizer, texts, labels).cache()
               for name, (texts, labels) in [("train", (train_texts, train_labels)), ("val", (val_texts, val_labels))]}
    return SimpleNamespace(vectorizer=vectorizer, vocab_size=vocab_size, encoded=encoded,
                           val_texts=val_texts, val_labels=val_labels)


@pytest.fixture(scope="module")
def trained(data):
    """A bidirectional LSTM classifier trained on the synthetic reviews, whose labels show in their words."""
    keras.utils.set_random_seed(0)
    model = part1.build_classifier(keras.layers.Bidirectional(keras.layers.LSTM(8), name="bidirectional_lstm"),
                                   "bilstm", data.vocab_size, SMALL)
    model.fit(part1.make_batches(data.encoded["train"], 32, seed=0), epochs=8, verbose=0)
    return model


# ---- Text: standardisation, split, encoding -------------------------------------------------

def standardized(text):
    return part1.standardize(tf.constant(text)).numpy().decode().split()


def test_standardize_keeps_words_of_any_alphabet_digits_and_inner_apostrophes():
    assert standardized("Amélie<br />is GREAT!! Don't miss Ça: 10/10 😀 Отлично") == [
        "amélie", "is", "great", "don't", "miss", "ça", "10", "10", "отлично"]


@pytest.mark.parametrize("text, words", [
    ("'Brilliant,' he said", ["brilliant", "he", "said"]),
    ("the critics' choice", ["the", "critics", "choice"]),
    ("don’t and don't", ["don't", "and", "don't"]),
    ("‘quoted’ 'twas ''", ["quoted", "twas"]),
])
def test_apostrophes_used_as_quotes_go_and_curly_ones_are_straightened(text, words):
    assert standardized(text) == words


def test_the_split_is_disjoint_and_of_the_sizes_asked():
    texts, labels = np.array([f"review {i}" for i in range(50)], dtype=object), np.arange(50)
    (train, train_labels), (val, val_labels) = part1.split_reviews(texts, labels, 30, 20, seed=3)
    assert len(train) == 30 and len(val) == 20 and not set(train) & set(val)
    assert set(train) | set(val) == set(texts)
    np.testing.assert_array_equal([int(t.split()[1]) for t in train], train_labels)  # texts and labels stay paired


def test_a_split_that_would_overlap_is_refused():
    texts, labels = np.array(["a", "b", "c"], dtype=object), np.zeros(3)
    with pytest.raises(part1.ch16.DataError, match="3 reviews cannot give 2 and 2 without overlap"):
        part1.split_reviews(texts, labels, 2, 2, seed=1)


def test_the_split_depends_on_the_seed():
    texts, labels = np.array([str(i) for i in range(100)], dtype=object), np.zeros(100)
    first = part1.split_reviews(texts, labels, 50, 50, seed=1)[0][0]
    assert set(first) != set(part1.split_reviews(texts, labels, 50, 50, seed=2)[0][0])


def test_encoding_matches_the_vectorizer_review_by_review(data):
    texts = ["a great film", "an awful, dull story of a film and a director"]
    encoded = list(part1.encode(data.vectorizer, np.array(texts, dtype=object), np.array([1, 0])))
    for (ids, label), text, expected_label in zip(encoded, texts, [1, 0]):
        np.testing.assert_array_equal(ids, data.vectorizer(text))
        assert int(label) == expected_label


@pytest.mark.parametrize("cut, expected", [(part1.first_tokens, [1, 2, 3]), (part1.last_tokens, [5, 6, 7])])
def test_first_and_last_tokens_cut_the_review(cut, expected):
    encoded = tf.data.Dataset.from_tensors((tf.constant([1, 2, 3, 4, 5, 6, 7]), 0))
    assert [ids.numpy().tolist() for ids, _ in cut(encoded, 3)] == [expected]


# ---- Batches ------------------------------------------------------------------------------

def numbered_reviews(n=600, seed=0):
    """Review i: its id i + 1 repeated over a random length."""
    lengths = np.random.default_rng(seed).integers(1, 400, size=n)
    return tf.data.Dataset.from_tensor_slices(np.arange(n)).map(
        lambda i: (tf.fill([tf.gather(lengths, i)], tf.cast(i + 1, tf.int64)), tf.cast(i % 2, tf.int32))).cache(), n


def test_buckets_pad_less_than_random_batches(data):
    encoded = data.encoded["train"]
    assert part1.padded_share(part1.bucketed(encoded, 32)) < part1.padded_share(encoded.padded_batch(32)) / 2


def test_the_padding_share_is_the_padded_positions_over_all_positions():
    lengths = [3, 1, 4, 2, 5]
    encoded = tf.data.Dataset.from_generator(lambda: ((np.arange(1, n + 1), 0) for n in lengths),
                                             output_signature=(tf.TensorSpec([None], tf.int64), tf.TensorSpec([], tf.int32)))
    # batches of 2: (3, 1) padded to 3, (4, 2) to 4, (5) alone: 2 + 2 + 0 = 4 padded of 6 + 8 + 5 = 19 positions
    assert part1.padded_share(encoded.padded_batch(2)) == pytest.approx(4 / 19)


def test_training_batches_hold_every_review_once_in_a_new_shuffled_order_each_epoch():
    encoded, n = numbered_reviews()
    batch_size = 32
    train_batches = part1.make_batches(encoded, batch_size, seed=0)
    epochs = []
    for _ in range(2):
        batches = [ids.numpy() for ids, _ in train_batches]
        seen = np.sort(np.concatenate([batch[:, 0] for batch in batches]))
        np.testing.assert_array_equal(seen, np.arange(1, n + 1))  # each review once
        epochs.append([batch[:, 0].tolist() for batch in batches])
    assert epochs[0] != epochs[1]
    # the reviews are reshuffled before bucketing: the batches themselves differ, not only their order
    assert {frozenset(batch) for batch in epochs[0]} != {frozenset(batch) for batch in epochs[1]}
    # The buckets flush their partly filled batches when the data runs out: shuffled, they are
    # spread over the epoch instead of all coming last, in order of length.
    sizes = [len(batch) for batch in epochs[0]]
    first_partial = next(i for i, size in enumerate(sizes) if size < batch_size)
    assert any(size == batch_size for size in sizes[first_partial:])
    lengths = [len(batch[0]) for batch in batches]
    assert lengths != sorted(lengths)


def test_evaluation_batches_are_the_same_every_time_and_hold_every_review_once():
    encoded, n = numbered_reviews()
    batches = part1.make_batches(encoded, 32)
    first, second = ([ids.numpy()[:, 0].tolist() for ids, _ in batches] for _ in range(2))
    assert first == second
    assert sorted(sum(first, [])) == list(range(1, n + 1))


def test_batches_are_right_padded():
    encoded, _ = numbered_reviews(n=200)
    for ids, _ in part1.make_batches(encoded, 32, seed=0):
        nonzero = ids.numpy() != 0
        lengths = nonzero.sum(axis=1)
        np.testing.assert_array_equal(nonzero, np.arange(ids.shape[1])[None, :] < lengths[:, None])


# ---- The models ---------------------------------------------------------------------------

def test_the_classifier_learns_the_synthetic_sentiment(data, trained):
    _, accuracy = trained.evaluate(part1.make_batches(data.encoded["val"], 32), verbose=0)
    assert accuracy > 0.85, f"validation accuracy {accuracy:.3f} on learnable synthetic reviews"


def test_padding_does_not_change_a_prediction_with_the_mask_and_does_without_it(data, trained):
    ids = data.vectorizer(tf.constant(["a great film with a wonderful story"]))
    padded = tf.pad(ids, [[0, 0], [0, 40]])
    np.testing.assert_allclose(trained(ids).numpy(), trained(padded).numpy(), rtol=1e-5, atol=1e-6)
    unmasked = part1.build_classifier(keras.layers.Bidirectional(keras.layers.LSTM(8), name="bidirectional_lstm"),
                                      "unmasked", data.vocab_size, SMALL, mask_zero=False)
    unmasked.set_weights(trained.get_weights())
    np.testing.assert_allclose(unmasked(ids).numpy(), trained(ids).numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(unmasked(padded).numpy(), trained(padded).numpy(), atol=1e-4)


def test_training_keeps_the_weights_of_the_best_epoch():
    """On random labels the model overfits, so the validation loss rises after its best epoch; the
    weights at the end must give the best validation loss again, not the last one."""
    train_texts, _ = reviews(160, seed=5)
    val_texts, _ = reviews(64, seed=6)
    rng = np.random.default_rng(7)
    vectorizer = part1.adapted_vectorizer(train_texts, 200)
    encoded = [part1.encode(vectorizer, texts, rng.integers(0, 2, size=len(texts)).astype(np.int32)).cache()
               for texts in (train_texts, val_texts)]
    val_batches = part1.make_batches(encoded[1], 32)
    keras.utils.set_random_seed(0)
    cfg = SimpleNamespace(**{**vars(SMALL), "embed_dim": 16, "learning_rate": 3e-2})
    model = part1.build_classifier(keras.layers.LSTM(16), "overfitting", len(vectorizer.get_vocabulary()), cfg)
    history = part1.train(model, part1.make_batches(encoded[0], 32, seed=0), val_batches, max_epochs=12)
    val_losses = history.history["val_loss"]
    best = int(np.argmin(val_losses))
    assert best < len(val_losses) - 1, "the setting must overfit for this test to mean something"
    assert model.evaluate(val_batches, verbose=0)[0] == pytest.approx(val_losses[best], abs=1e-5)


def test_the_model_key_changes_with_everything_that_determines_the_weights(data):
    model = part1.build_classifier(keras.layers.LSTM(8, name="lstm"), "lstm_full", 50, SMALL)
    parts = dict(model=model, cfg=SMALL, seed=1, vocabulary=["", "[UNK]", "a"], data=[["a film"], [1]])
    key = part1.model_key(**parts)
    assert key == part1.model_key(**parts)
    for changed in [dict(seed=2), dict(cfg=SimpleNamespace(**{**vars(SMALL), "learning_rate": 5e-3})),
                    dict(vocabulary=["", "[UNK]", "b"]), dict(data=[["a film"], [0]]),
                    dict(model=part1.build_classifier(keras.layers.LSTM(9, name="lstm"), "lstm_full", 50, SMALL))]:
        assert part1.model_key(**{**parts, **changed}) != key, changed
    assert part1.model_key(**parts, pipeline=[part1.last_tokens]) != key


def test_each_reviews_record_of_correct_predictions_is_in_the_order_of_the_reviews(data, trained):
    texts, labels = data.val_texts, data.val_labels
    indexed = part1.encode(data.vectorizer, texts, np.arange(len(texts)))
    correct = part1.correct_predictions(trained, indexed, labels, 16)
    probabilities = part1.predict_sentiment(trained, data.vectorizer, list(texts))  # in the order given
    np.testing.assert_array_equal(correct, (probabilities > 0.5) == (labels == 1))
    accuracy = trained.evaluate(part1.make_batches(data.encoded["val"], 16), verbose=0)[1]
    assert correct.mean() == pytest.approx(accuracy, abs=1e-6)


def test_the_paired_difference_and_its_standard_error_match_an_independent_computation():
    rng = np.random.default_rng(3)
    first, second = rng.random(500) < 0.8, rng.random(500) < 0.7
    difference, error = part1.paired_difference(first, second)
    per_review = [float(a) - float(b) for a, b in zip(first, second)]
    assert difference == pytest.approx(sum(per_review) / 500)
    assert error == pytest.approx(np.std(per_review, ddof=1) / np.sqrt(500))
    assert part1.paired_difference(second, first)[0] == pytest.approx(-difference)


# ---- Predictions --------------------------------------------------------------------------

def test_predictions_are_the_sigmoid_of_the_models_logits(data, trained):
    texts = ["a great and wonderful film", "an awful, boring waste", "the director of the story"]
    probabilities = part1.predict_sentiment(trained, data.vectorizer, texts)
    logits = np.array([trained(data.vectorizer(tf.constant([text]))).numpy()[0, 0] for text in texts])
    np.testing.assert_allclose(probabilities, 1 / (1 + np.exp(-logits)), rtol=1e-5, atol=1e-6)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert probabilities[0] > 0.5 > probabilities[1]


def test_predictions_come_back_in_the_order_given_whatever_the_lengths(data, trained):
    texts = list(data.val_texts[:60])
    order = np.random.default_rng(0).permutation(60)
    forward = part1.predict_sentiment(trained, data.vectorizer, texts)
    shuffled = part1.predict_sentiment(trained, data.vectorizer, [texts[i] for i in order])
    np.testing.assert_allclose(shuffled, forward[order], rtol=1e-5, atol=1e-6)
    alone = [part1.predict_sentiment(trained, data.vectorizer, [text])[0] for text in texts[:5]]
    np.testing.assert_allclose(forward[:5], alone, rtol=1e-5, atol=1e-6)


def test_one_long_review_does_not_pad_all_the_others(data, trained):
    """Reviews are grouped by length before they are batched: the positions the model computes stay
    close to the number of tokens, not (number of reviews) x (longest review)."""
    texts = list(data.val_texts) * 4 + [" ".join(["film"] * 2_500)]
    shapes = []

    class Spy:
        def predict(self, ids, **kwargs):
            shapes.append(ids.shape)
            return trained.predict(ids, **kwargs)

    part1.predict_sentiment(Spy(), data.vectorizer, texts)
    tokens = sum(int(np.count_nonzero(data.vectorizer(text))) for text in texts)
    computed = sum(rows * length for rows, length in shapes)
    assert sum(rows for rows, _ in shapes) == len(texts)
    assert computed < 1.5 * tokens, (computed, tokens)


@pytest.mark.parametrize("bad, error, message", [
    ([""], ValueError, "review 0 .* no word of the vocabulary"),
    (["  \n\t "], ValueError, "review 0 .* no word of the vocabulary"),
    (["great film", "😀 🎬"], ValueError, "review 1 .* no word of the vocabulary"),
    (["Отличный фильм"], ValueError, "no word of the vocabulary"),
    ([42], TypeError, "review 0 is not a string but int"),  # the argument checks of ch16.arguments are applied
])
def test_prediction_rejects_reviews_it_cannot_judge(data, trained, bad, error, message):
    with pytest.raises(error, match=message):
        part1.predict_sentiment(trained, data.vectorizer, bad)
