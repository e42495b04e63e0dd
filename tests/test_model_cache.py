"""The model cache: keys, atomic saves, verified loads, damaged entries and unwritable folders."""

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import PROJECT_DIR

import ch16_helpers as ch16

KEY = ch16.model_key("tiny", {"units": 2, "epochs": 1}, ["<pad>", "a", "b"], {"rows": 8})
ROWS = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
KERAS_NAME, JSON_NAME = f"tiny-{KEY}.keras", f"tiny-{KEY}.json"  # the files of the model saved with KEY
LABELS = np.random.default_rng(1).normal(size=(8, 2)).astype("float32")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """Every test has its own empty cache folder."""
    monkeypatch.setattr(ch16, "CACHE_DIR", tmp_path / "cache")
    return tmp_path / "cache"


def tiny_model(hidden=()):
    layers = [keras.Input((4,)), *hidden, keras.layers.Dense(2, dtype="float32")]
    model = keras.Sequential(layers, name="tiny")
    model.compile(optimizer="adam", loss="mse")
    return model


class Trainer:
    """A ``train`` callable that fits for one epoch and counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, model):
        self.calls += 1
        return model.fit(ROWS, LABELS, epochs=1, verbose=0)


def fill(model, value):
    """Set every weight of ``model`` to ``value``: models told apart by their weights."""
    model.set_weights([np.full(w.shape, value, w.dtype) for w in model.get_weights()])
    return {"loss": [value]}


def save_filled(value):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="tiny")
    assert ch16.save_trained(model, fill(model, value), KEY)


def denied(*args):
    raise PermissionError(13, "Permission denied")


def stderr_lines(capsys):
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


# ---- model_key ----------------------------------------------------------------------------

def test_key_is_a_short_hex_digest():
    assert len(KEY) == 16 and set(KEY) <= set("0123456789abcdef")


def test_key_ignores_the_order_of_settings():
    assert (ch16.model_key("m", {"a": 1, "b": 2}, "xyz", 0)
            == ch16.model_key("m", {"b": 2, "a": 1}, "xyz", 0))


@pytest.mark.parametrize("changed", [
    dict(name="other"),
    dict(settings={"units": 3, "epochs": 1}),
    dict(vocabulary=["<pad>", "a", "c"]),
    dict(data={"rows": 9}),
])
def test_key_changes_with_the_name_settings_vocabulary_or_data(changed):
    parts = dict(name="tiny", settings={"units": 2, "epochs": 1}, vocabulary=["<pad>", "a", "b"],
                 data={"rows": 8})
    assert ch16.model_key(**{**parts, **changed}) != KEY


def test_key_depends_on_the_whole_vocabulary():
    words = [f"word{i}" for i in range(10_000)]
    assert (ch16.model_key("m", {}, words, 0)
            != ch16.model_key("m", {}, words[:-1] + ["another"], 0))


def test_key_hashes_numpy_data_and_bytes_by_content():
    data = np.arange(1000, dtype="int32")
    changed = data.copy()
    changed[-1] = -1
    assert ch16.model_key("m", {}, "ab", data) == ch16.model_key("m", {}, "ab", data.copy())
    assert ch16.model_key("m", {}, "ab", data) != ch16.model_key("m", {}, "ab", changed)
    assert ch16.model_key("m", {}, "ab", b"text") != ch16.model_key("m", {}, "ab", b"texT")


def test_key_of_a_character_string_equals_that_of_its_list_of_characters():
    assert ch16.model_key("m", {}, "abc", 0) == ch16.model_key("m", {}, np.array(list("abc")), 0)


def test_key_rejects_settings_that_are_not_json():
    with pytest.raises(TypeError, match="not JSON-able"):
        ch16.model_key("m", {"layer": keras.layers.Dense(2)}, "ab", 0)


def test_key_is_the_same_in_another_process():
    code = ("import ch16_helpers as ch16; "
            "print(ch16.model_key('tiny', {'units': 2, 'epochs': 1}, ['<pad>', 'a', 'b'], {'rows': 8}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True,
                            env={**os.environ, "PYTHONHASHSEED": "123"}, timeout=120, check=True)
    assert result.stdout.strip() == KEY


# ---- Saving and loading -------------------------------------------------------------------

def test_trained_model_is_saved_and_reused_without_retraining(capsys):
    trained, history = ch16.load_or_train(tiny_model(), KEY, Trainer())
    trainer = Trainer()
    loaded, loaded_history = ch16.load_or_train(tiny_model(), KEY, trainer)
    assert trainer.calls == 0
    np.testing.assert_allclose(loaded(ROWS), trained(ROWS), atol=1e-6)
    assert loaded_history == history
    assert "Loaded the trained 'tiny' model saved by an earlier run" in capsys.readouterr().out


def test_saved_model_with_another_key_is_retrained_silently(capsys):
    ch16.load_or_train(tiny_model(), KEY, Trainer())
    other_vocabulary = ch16.model_key("tiny", {"units": 2, "epochs": 1}, ["<pad>", "a", "c"], {"rows": 8})
    trainer = Trainer()
    ch16.load_or_train(tiny_model(), other_vocabulary, trainer)
    assert trainer.calls == 1
    assert stderr_lines(capsys) == []


def test_a_model_trained_with_another_key_does_not_replace_the_saved_one():
    """A quick-mode run or another seed must not overwrite the model of a long full run."""
    trained, _ = ch16.load_or_train(tiny_model(), KEY, Trainer())
    other_key = ch16.model_key("tiny", {"units": 2, "epochs": 1, "quick": True}, ["<pad>", "a", "b"], {"rows": 8})
    ch16.load_or_train(tiny_model(), other_key, Trainer())
    trainer = Trainer()
    loaded, _ = ch16.load_or_train(tiny_model(), KEY, trainer)
    assert trainer.calls == 0
    np.testing.assert_allclose(loaded(ROWS), trained(ROWS), atol=1e-6)


def test_key_covers_the_code_of_custom_layers():
    """Editing a custom layer's method changes the model's key: old weights never meet new code."""
    namespace = {}
    source = textwrap.dedent("""
        import keras
        class Shift(keras.layers.Layer):
            def call(self, inputs):
                return inputs + OFFSET
    """)
    models = []
    for offset in ("1.0", "2.0"):
        exec(compile(source.replace("OFFSET", offset), f"<layer {offset}>", "exec"), namespace)
        models.append(keras.Sequential([keras.Input((4,)), namespace["Shift"]()], name="tiny"))
    first, second = (ch16.architecture(model) for model in models)
    assert first != second
    assert ch16.architecture(models[0]) == first  # and it is stable
    # A class whose source Python can find (this file's Scale) is described by that source.
    assert "return inputs * self.factor" in json.dumps(ch16.architecture(tiny_model(hidden=[Scale(3.0)])))


def test_key_covers_the_optimizer():
    clipped = tiny_model()
    clipped.compile(optimizer=keras.optimizers.Adam(clipnorm=1.0), loss="mse")
    assert ch16.architecture(clipped) != ch16.architecture(tiny_model())


def test_missing_entry_is_trained_silently(capsys):
    trainer = Trainer()
    ch16.load_or_train(tiny_model(), KEY, trainer)
    assert trainer.calls == 1
    assert stderr_lines(capsys) == []


def test_retrain_trains_even_when_a_saved_model_exists():
    ch16.load_or_train(tiny_model(), KEY, Trainer())
    trainer = Trainer()
    ch16.load_or_train(tiny_model(), KEY, trainer, retrain=True)
    assert trainer.calls == 1


@pytest.mark.parametrize("as_dict", [False, True])
def test_history_is_returned_as_lists_of_floats(as_dict):
    def train(model):
        history = model.fit(ROWS, LABELS, epochs=2, verbose=0)
        return {"loss": np.float32(history.history["loss"])} if as_dict else history

    _, history = ch16.load_or_train(tiny_model(), KEY, train)
    assert list(history) == ["loss"] and len(history["loss"]) == 2
    assert all(type(value) is float for value in history["loss"])


def test_json_holds_the_key_the_history_and_the_checksum_of_its_keras():
    _, history = ch16.load_or_train(tiny_model(), KEY, Trainer())
    path = ch16.model_path("tiny", KEY)
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["key"] == KEY and meta["history"] == history
    assert meta["keras_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_files_are_renamed_into_place_keras_first_then_json(monkeypatch):
    replaced = []
    real_replace = os.replace

    def recording_replace(source, target):
        replaced.append((os.path.dirname(source), str(target)))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", recording_replace)
    ch16.load_or_train(tiny_model(), KEY, Trainer())
    path = ch16.model_path("tiny", KEY)
    assert replaced == [(str(path.parent), str(path)), (str(path.parent), str(path.with_suffix(".json")))]
    assert sorted(p.name for p in path.parent.iterdir()) == [JSON_NAME, KERAS_NAME]


def test_a_pair_is_renamed_into_place_while_holding_the_folder_lock(monkeypatch):
    """Two runs saving the same model must not interleave their renames (A's .keras, B's .keras,
    B's .json, A's .json would pair A's .json with B's .keras): the renames hold the folder's lock."""
    folder = ch16.model_path("tiny", KEY).parent
    folder.mkdir(parents=True, exist_ok=True)
    renamed = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda source, target: (renamed.append(target), real_replace(source, target)))
    saving = threading.Thread(target=ch16.load_or_train, args=(tiny_model(), KEY, Trainer()))
    with ch16.folder_lock(folder):  # another run, between its two renames
        saving.start()
        deadline = time.monotonic() + 30
        while not list(folder.glob(".*.json")):  # until both files are written under their temporary names
            assert time.monotonic() < deadline, "the model was not trained and written within 30 s"
            time.sleep(0.05)
        time.sleep(0.3)
        assert saving.is_alive() and renamed == []  # and the run waits for the lock to rename them
    saving.join(timeout=30)
    assert not saving.is_alive() and len(renamed) == 2


@keras.saving.register_keras_serializable(package="ch16_tests")
class Scale(keras.layers.Layer):
    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_custom_layers_reload_as_their_class():
    trained, _ = ch16.load_or_train(tiny_model(hidden=[Scale(3.0)]), KEY, Trainer())
    trainer = Trainer()
    loaded, _ = ch16.load_or_train(tiny_model(hidden=[Scale(3.0)]), KEY, trainer)
    assert trainer.calls == 0
    assert isinstance(loaded.layers[0], Scale) and loaded.layers[0].factor == 3.0
    np.testing.assert_allclose(loaded(ROWS), trained(ROWS), atol=1e-6)


@pytest.fixture
def mixed_bfloat16():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    yield
    keras.config.set_dtype_policy(previous)


def test_mixed_bfloat16_layers_reload_with_their_policy(mixed_bfloat16):
    ch16.load_or_train(tiny_model(hidden=[keras.layers.Dense(8)]), KEY, Trainer())
    keras.config.set_dtype_policy("float32")
    trainer = Trainer()
    loaded, _ = ch16.load_or_train(tiny_model(hidden=[keras.layers.Dense(8)]), KEY, trainer)
    assert trainer.calls == 0
    assert loaded.layers[0].dtype_policy.name == "mixed_bfloat16"
    assert loaded.layers[-1].dtype_policy.name == "float32"
    assert loaded(ROWS).dtype == "float32"


def test_model_is_loaded_in_the_strategy_of_the_model_it_replaces():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        ch16.load_or_train(tiny_model(), KEY, Trainer())
        model = tiny_model()
    trainer = Trainer()
    loaded, _ = ch16.load_or_train(model, KEY, trainer)
    assert trainer.calls == 0 and loaded.distribute_strategy is strategy


# ---- Damaged entries ----------------------------------------------------------------------

def _truncate(path):
    path.write_bytes(path.read_bytes()[:200])


def _empty(path):
    path.write_bytes(b"")


def _random_bytes(path):
    path.write_bytes(np.random.default_rng(0).bytes(3000))


def _another_models_keras(path):
    other = tiny_model()
    fill(other, 7.0)
    other.save(path)


def _json_not_json(path):
    path.with_suffix(".json").write_text("{not json")


def _json_without_checksum(path):
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    del meta["keras_sha256"]
    meta_path.write_text(json.dumps(meta))


def _json_nested_too_deep(path):
    path.with_suffix(".json").write_text("[" * 100_000)


def _keras_missing(path):
    path.unlink()


def _random_keras_with_a_matching_checksum(path):
    _random_bytes(path)
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["keras_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    meta_path.write_text(json.dumps(meta))


@pytest.mark.parametrize("damage, damaged_file", [
    (_truncate, KERAS_NAME), (_empty, KERAS_NAME), (_random_bytes, KERAS_NAME),
    (_another_models_keras, KERAS_NAME), (_keras_missing, KERAS_NAME),
    (_random_keras_with_a_matching_checksum, KERAS_NAME),
    (_json_not_json, JSON_NAME), (_json_without_checksum, JSON_NAME), (_json_nested_too_deep, JSON_NAME),
])
def test_damaged_entry_is_one_warning_naming_the_file_then_retraining(capsys, damage, damaged_file):
    save_filled(1.0)
    damage(ch16.model_path("tiny", KEY))
    trainer = Trainer()
    _, history = ch16.load_or_train(tiny_model(), KEY, trainer)
    assert trainer.calls == 1 and set(history) == {"loss"}
    warnings = stderr_lines(capsys)
    assert len(warnings) == 1 and damaged_file in warnings[0], warnings


def test_damaged_entry_is_replaced_by_the_retrained_model(capsys):
    save_filled(1.0)
    _truncate(ch16.model_path("tiny", KEY))
    trained, _ = ch16.load_or_train(tiny_model(), KEY, Trainer())
    capsys.readouterr()
    loaded, _ = ch16.load_or_train(tiny_model(), KEY, Trainer())
    np.testing.assert_allclose(loaded(ROWS), trained(ROWS), atol=1e-6)
    assert stderr_lines(capsys) == []


def test_damaged_entry_in_a_cache_that_cannot_be_repaired_warns_on_every_run(capsys, monkeypatch):
    save_filled(1.0)
    _random_bytes(ch16.model_path("tiny", KEY))
    monkeypatch.setattr(os, "replace", denied)
    for _ in range(2):
        trainer = Trainer()
        ch16.load_or_train(tiny_model(), KEY, trainer)
        assert trainer.calls == 1
        assert any(KERAS_NAME in line for line in stderr_lines(capsys))


def test_run_killed_between_the_two_renames_never_pairs_a_model_with_another_history(capsys, monkeypatch):
    save_filled(1.0)
    real_replace = os.replace

    def killed_before_the_json(source, target):
        if str(target).endswith(".json"):
            raise KeyboardInterrupt
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", killed_before_the_json)
    with pytest.raises(KeyboardInterrupt):
        save_filled(2.0)
    monkeypatch.setattr(os, "replace", real_replace)
    assert ch16.load_trained("tiny", KEY) is None
    assert KERAS_NAME in capsys.readouterr().err


def test_keras_replaced_between_reading_the_json_and_the_keras_loads_a_matching_pair(
        cache, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(ch16, "CACHE_DIR", tmp_path / "newer")
    save_filled(2.0)
    newer = ch16.model_path("tiny", KEY)
    monkeypatch.setattr(ch16, "CACHE_DIR", cache)
    save_filled(1.0)
    path = ch16.model_path("tiny", KEY)
    real_read_bytes = type(path).read_bytes

    def save_finishes_while_reading(self):
        if self == path and newer.exists():  # another process renames its new pair into place
            os.replace(newer, path)
            os.replace(newer.with_suffix(".json"), path.with_suffix(".json"))
        return real_read_bytes(self)

    monkeypatch.setattr(type(path), "read_bytes", save_finishes_while_reading)
    model, history = ch16.load_trained("tiny", KEY)
    assert history == {"loss": [2.0]}
    assert all(np.all(w == 2.0) for w in model.get_weights())
    assert stderr_lines(capsys) == []


WORKER = textwrap.dedent("""
    import sys, time
    import keras, numpy as np
    import ch16_helpers as ch16

    rng = np.random.default_rng(int(sys.argv[1]))
    key = ch16.model_key("tiny", {}, "ab", 0)
    (ch16.CACHE_DIR / f"ready-{sys.argv[1]}").touch()
    while len(list(ch16.CACHE_DIR.glob("ready-*"))) < 2:  # start the loops together
        time.sleep(0.05)
    for run in range(12):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="tiny")
        value = float(np.float32(rng.uniform(1, 2)))

        def train(model):
            model.set_weights([np.full(w.shape, value, w.dtype) for w in model.get_weights()])
            return {"loss": [value]}

        model, history = ch16.load_or_train(model, key, train, retrain=run % 2 == 0)
        assert all(np.all(w == history["loss"][0]) for w in model.get_weights()), "model and history differ"
    print("done")
""")


def test_two_processes_sharing_a_cache_both_succeed(cache):
    cache.mkdir()
    env = {**os.environ, "CH16_CACHE_DIR": str(cache)}
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(seed)], cwd=PROJECT_DIR, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for seed in (1, 2)]
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0 and out.strip().endswith("done"), err[-3000:]


# ---- A cache that cannot be written -------------------------------------------------------

def test_unwritable_cache_warns_before_training_and_returns_the_trained_model(cache, capsys):
    cache.mkdir()
    (cache / "models").write_text("a file where the folder should be")
    warned_before_training = []

    def train(model):
        warned_before_training.append(capsys.readouterr().err)
        return model.fit(ROWS, LABELS, epochs=1, verbose=0)

    model = tiny_model()
    returned, history = ch16.load_or_train(model, KEY, train)
    assert returned is model and len(history["loss"]) == 1
    [warning] = [line for line in warned_before_training[0].splitlines() if line.strip()]
    assert ch16.display_path(cache / "models") in warning and "will not be saved" in warning
    assert stderr_lines(capsys) == []


def test_failure_while_saving_is_a_warning_and_leaves_no_temporary_files(cache, capsys, monkeypatch):
    monkeypatch.setattr(os, "replace", denied)
    model = tiny_model()
    returned, history = ch16.load_or_train(model, KEY, Trainer())
    assert returned is model and len(history["loss"]) == 1
    [warning] = stderr_lines(capsys)
    assert ch16.display_path(cache / "models") in warning
    assert list((cache / "models").iterdir()) == []


def functional_model(wiring="stacked"):
    """A small functional model with unnamed layers; ``parallel`` wires the same layers otherwise."""
    inputs = keras.Input((4,))
    first, second = keras.layers.Dense(3), keras.layers.Dense(3)
    if wiring == "stacked":
        outputs = second(first(inputs))
    else:
        outputs = keras.layers.Add()([first(inputs), second(inputs)])
    return keras.Model(inputs, keras.layers.Dense(1)(outputs), name="tiny_functional")


def test_architecture_of_a_functional_model_is_the_same_when_it_is_built_again():
    """Layer names Keras numbers automatically also appear in a functional model's wiring
    (``keras_history``, input and output layers); a rebuild after other layers were made, as in
    a rerun of a notebook in the same kernel, must still describe itself the same way."""
    first = ch16.architecture(functional_model())
    keras.layers.Dense(2), keras.Input((4,))  # moves Keras's automatic numbering on
    again = functional_model()
    assert {layer.name for layer in again.layers}.isdisjoint(layer.name for layer in functional_model().layers)
    assert ch16.architecture(again) == first
    assert ch16.architecture(functional_model("parallel")) != first  # the wiring still counts


def attention_model():
    """Unnamed layers, among them MultiHeadAttention (which makes a layer named "softmax" inside)
    and a dense layer whose activation is the string "softmax"."""
    inputs = keras.Input((3, 4))
    attended = keras.layers.MultiHeadAttention(2, key_dim=2)(inputs, inputs)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(attended))


def test_architecture_leaves_strings_that_are_not_layer_references_alone():
    first = ch16.architecture(attention_model())
    keras.layers.Softmax(), keras.layers.Dense(1)  # moves Keras's automatic numbering on
    assert ch16.architecture(attention_model()) == first
    assert '"activation": "softmax"' in json.dumps(first)
