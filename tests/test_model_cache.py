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

import ch16
from ch16 import model_cache
from ch16.files import display_path, folder_lock
from ch16.model_cache import architecture, load_trained, model_path, save_trained


def key_of(name="tiny", settings=None, vocabulary=("<pad>", "a", "b"), data=None, code=()):
    """The key of a model named ``name`` of the tests' one architecture."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, dtype="float32")], name=name)
    return model_cache.model_key(model, settings or {"units": 2, "epochs": 1}, code=code, vocabulary=vocabulary,
                                 data=data if data is not None else {"rows": 8})


KEY = key_of()
ROWS = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
KERAS_NAME, JSON_NAME = f"tiny-{KEY}.keras", f"tiny-{KEY}.json"  # the files of the model saved with KEY
LABELS = np.random.default_rng(1).normal(size=(8, 2)).astype("float32")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """Every test has its own empty cache folder (CH16_CACHE_DIR is read at every use)."""
    monkeypatch.setenv("CH16_CACHE_DIR", str(tmp_path / "cache"))
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
    assert save_trained(model, fill(model, value), KEY)


def denied(*args):
    raise PermissionError(13, "Permission denied")


def fail(error):
    raise error


def stderr_lines(capsys):
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


# ---- model_key ----------------------------------------------------------------------------

def test_key_is_a_short_hex_digest():
    assert len(KEY) == 16 and set(KEY) <= set("0123456789abcdef")


def test_key_ignores_the_order_of_settings():
    assert key_of(settings={"a": 1, "b": 2}) == key_of(settings={"b": 2, "a": 1})


@pytest.mark.parametrize("changed", [
    dict(name="other"),
    dict(settings={"units": 3, "epochs": 1}),
    dict(vocabulary=["<pad>", "a", "c"]),
    dict(data={"rows": 9}),
])
def test_key_changes_with_the_name_settings_vocabulary_or_data(changed):
    assert key_of(**changed) != KEY


def test_key_depends_on_the_whole_vocabulary():
    words = [f"word{i}" for i in range(10_000)]
    assert key_of(vocabulary=words) != key_of(vocabulary=words[:-1] + ["another"])


def test_key_hashes_numpy_data_and_bytes_by_content():
    data = np.arange(1000, dtype="int32")
    changed = data.copy()
    changed[-1] = -1
    assert key_of(data=data) == key_of(data=data.copy())
    assert key_of(data=data) != key_of(data=changed)
    assert key_of(data=b"text") != key_of(data=b"texT")


def test_key_of_a_character_string_equals_that_of_its_list_of_characters():
    assert key_of(vocabulary="abc") == key_of(vocabulary=np.array(list("abc")))


def test_key_rejects_settings_that_are_not_json():
    with pytest.raises(TypeError, match="not JSON-able"):
        key_of(settings={"layer": keras.layers.Dense(2)})


def test_key_covers_the_code_it_is_given():
    def recipe(model):
        return model.fit(epochs=1)

    def other_recipe(model):
        return model.fit(epochs=2)

    assert key_of(code=[recipe]) != key_of(code=[other_recipe]) and key_of(code=[recipe]) != KEY


def test_key_is_the_same_in_another_process():
    code = ("import sys; sys.path.insert(0, 'tests'); import test_model_cache as t; print(t.key_of())")
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
    other_vocabulary = key_of(vocabulary=["<pad>", "a", "c"])
    trainer = Trainer()
    ch16.load_or_train(tiny_model(), other_vocabulary, trainer)
    assert trainer.calls == 1
    assert stderr_lines(capsys) == []


def test_a_model_trained_with_another_key_does_not_replace_the_saved_one():
    """A quick-mode run or another seed must not overwrite the model of a long full run."""
    trained, _ = ch16.load_or_train(tiny_model(), KEY, Trainer())
    other_key = key_of(settings={"units": 2, "epochs": 1, "quick": True})
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
    first, second = (architecture(model) for model in models)
    assert first != second
    assert architecture(models[0]) == first  # and it is stable
    # A class whose source Python can find (this file's Scale) is described by that source.
    assert "return inputs * self.factor" in json.dumps(architecture(tiny_model(hidden=[Scale(3.0)])))


def test_key_covers_the_optimizer():
    clipped = tiny_model()
    clipped.compile(optimizer=keras.optimizers.Adam(clipnorm=1.0), loss="mse")
    assert architecture(clipped) != architecture(tiny_model())


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
    path = model_path("tiny", KEY)
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
    path = model_path("tiny", KEY)
    assert replaced == [(str(path.parent), str(path)), (str(path.parent), str(path.with_suffix(".json")))]
    assert sorted(p.name for p in path.parent.iterdir()) == [JSON_NAME, KERAS_NAME]


def test_a_pair_is_renamed_into_place_while_holding_the_folder_lock(monkeypatch):
    """Two runs saving the same model must not interleave their renames (A's .keras, B's .keras,
    B's .json, A's .json would pair A's .json with B's .keras): the renames hold the folder's lock."""
    folder = model_path("tiny", KEY).parent
    folder.mkdir(parents=True, exist_ok=True)
    renamed = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda source, target: (renamed.append(target), real_replace(source, target)))
    saving = threading.Thread(target=ch16.load_or_train, args=(tiny_model(), KEY, Trainer()))
    with folder_lock(folder):  # another run, between its two renames
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


def _json_history_of_strings(path):
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["history"] = {"loss": ["not a number"]}
    meta_path.write_text(json.dumps(meta))


def _json_history_without_the_loss(path):
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["history"] = {"accuracy": [0.5]}
    meta_path.write_text(json.dumps(meta))


@pytest.mark.parametrize("damage, damaged_file", [
    (_truncate, KERAS_NAME), (_empty, KERAS_NAME), (_random_bytes, KERAS_NAME),
    (_another_models_keras, KERAS_NAME), (_keras_missing, KERAS_NAME),
    (_random_keras_with_a_matching_checksum, KERAS_NAME),
    (_json_not_json, JSON_NAME), (_json_without_checksum, JSON_NAME), (_json_nested_too_deep, JSON_NAME),
    (_json_history_of_strings, JSON_NAME), (_json_history_without_the_loss, JSON_NAME),
])
def test_damaged_entry_is_one_warning_naming_the_file_then_retraining(capsys, damage, damaged_file):
    save_filled(1.0)
    damage(model_path("tiny", KEY))
    trainer = Trainer()
    _, history = ch16.load_or_train(tiny_model(), KEY, trainer)
    assert trainer.calls == 1 and set(history) == {"loss"}
    warnings = stderr_lines(capsys)
    assert len(warnings) == 1 and damaged_file in warnings[0], warnings


def test_damaged_entry_is_replaced_by_the_retrained_model(capsys):
    save_filled(1.0)
    _truncate(model_path("tiny", KEY))
    trained, _ = ch16.load_or_train(tiny_model(), KEY, Trainer())
    capsys.readouterr()
    loaded, _ = ch16.load_or_train(tiny_model(), KEY, Trainer())
    np.testing.assert_allclose(loaded(ROWS), trained(ROWS), atol=1e-6)
    assert stderr_lines(capsys) == []


def test_damaged_entry_in_a_cache_that_cannot_be_repaired_warns_on_every_run(capsys, monkeypatch):
    save_filled(1.0)
    _random_bytes(model_path("tiny", KEY))
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
    assert load_trained("tiny", KEY) is None
    assert KERAS_NAME in capsys.readouterr().err


def test_keras_replaced_between_reading_the_json_and_the_keras_loads_a_matching_pair(
        cache, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CH16_CACHE_DIR", str(tmp_path / "newer"))
    save_filled(2.0)
    newer = model_path("tiny", KEY)
    monkeypatch.setenv("CH16_CACHE_DIR", str(cache))
    save_filled(1.0)
    path = model_path("tiny", KEY)
    real_read = model_cache.read_regular_file

    def save_finishes_while_reading(file, *args, **kwargs):
        if file == path and newer.exists():  # another process renames its new pair into place
            os.replace(newer, path)
            os.replace(newer.with_suffix(".json"), path.with_suffix(".json"))
        return real_read(file, *args, **kwargs)

    monkeypatch.setattr(model_cache, "read_regular_file", save_finishes_while_reading)
    model, history = load_trained("tiny", KEY)
    assert history == {"loss": [2.0]}
    assert all(np.all(w == 2.0) for w in model.get_weights())
    assert stderr_lines(capsys) == []


WORKER = textwrap.dedent("""
    import sys, time
    import keras, numpy as np
    import ch16
    from ch16.settings import cache_dir

    rng = np.random.default_rng(int(sys.argv[1]))
    key = "k" * 16
    (cache_dir() / f"ready-{sys.argv[1]}").touch()
    while len(list(cache_dir().glob("ready-*"))) < 2:  # start the loops together
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
    assert display_path(cache / "models") in warning and "will not be saved" in warning
    assert stderr_lines(capsys) == []


def test_failure_while_saving_is_a_warning_and_leaves_no_temporary_files(cache, capsys, monkeypatch):
    monkeypatch.setattr(os, "replace", denied)
    model = tiny_model()
    returned, history = ch16.load_or_train(model, KEY, Trainer())
    assert returned is model and len(history["loss"]) == 1
    [warning] = stderr_lines(capsys)
    assert display_path(cache / "models") in warning
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
    first = architecture(functional_model())
    keras.layers.Dense(2), keras.Input((4,))  # moves Keras's automatic numbering on
    again = functional_model()
    assert {layer.name for layer in again.layers}.isdisjoint(layer.name for layer in functional_model().layers)
    assert architecture(again) == first
    assert architecture(functional_model("parallel")) != first  # the wiring still counts


def attention_model():
    """Unnamed layers, among them MultiHeadAttention (which makes a layer named "softmax" inside)
    and a dense layer whose activation is the string "softmax"."""
    inputs = keras.Input((3, 4))
    attended = keras.layers.MultiHeadAttention(2, key_dim=2)(inputs, inputs)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(attended))


def test_architecture_leaves_strings_that_are_not_layer_references_alone():
    first = architecture(attention_model())
    keras.layers.Softmax(), keras.layers.Dense(1)  # moves Keras's automatic numbering on
    assert architecture(attention_model()) == first
    assert '"activation": "softmax"' in json.dumps(first)


def _fifo(path):
    path.unlink()
    os.mkfifo(path)


def _link_to_a_device(path):
    path.unlink()
    path.symlink_to("/dev/zero")


@pytest.mark.parametrize("make", [_fifo, _link_to_a_device])
@pytest.mark.parametrize("suffix", [".keras", ".json"])
def test_a_cache_entry_that_is_not_a_regular_file_is_refused_without_hanging(capsys, make, suffix):
    """A named pipe would block the run, a link to /dev/zero would read until memory runs out."""
    from data_helpers import raised_within

    save_filled(1.0)
    make(model_path("tiny", KEY).with_suffix(suffix))
    trainer = Trainer()
    assert raised_within(30, ch16.load_or_train, tiny_model(), KEY, trainer) is None
    assert trainer.calls == 1
    assert any("not a regular file" in line and f"tiny-{KEY}{suffix}" in line for line in stderr_lines(capsys))


def test_a_cache_file_larger_than_allowed_is_refused(capsys, monkeypatch):
    save_filled(1.0)
    monkeypatch.setattr(model_cache, "MAX_MODEL_BYTES", 100)
    trainer = Trainer()
    ch16.load_or_train(tiny_model(), KEY, trainer)
    assert trainer.calls == 1 and any("larger than the 100 bytes allowed" in line for line in stderr_lines(capsys))


def test_temporary_files_of_a_killed_save_are_removed_and_others_kept(cache):
    """Saves killed half-way leave hidden temporary files; the next save removes this chapter's own
    (their process has ended, or they are over a day old), never a file of another name or of a
    save still running."""
    folder = cache / "models"
    folder.mkdir(parents=True)
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(finished.stdout)
    leftovers = [folder / f".tiny-{KEY}.ch16-partial-{dead_pid}-0a1b2c3d.keras",
                 folder / f".tiny-{KEY}.ch16-partial-{dead_pid}-0a1b2c3d.json"]
    old_but_alive = folder / f".tiny-{KEY}.ch16-partial-{os.getpid()}-deadbeef.keras"
    running = folder / f".tiny-{KEY}.ch16-partial-{os.getpid()}-01234567.keras"
    theirs = [folder / "notes.keras", folder / ".hidden.json", folder / f".tiny.ch16-partial-{dead_pid}-xyz.keras"]
    for path in [*leftovers, old_but_alive, running, *theirs]:
        path.write_text("left over")
    fresh_of_an_ended_process = folder / f".tiny-{KEY}.ch16-partial-{dead_pid}-feedf00d.keras"
    fresh_of_an_ended_process.write_text("maybe another machine's save, still being written")
    two_days_ago, twenty_minutes_ago = time.time() - 2 * 24 * 3600, time.time() - 20 * 60
    os.utime(old_but_alive, (two_days_ago, two_days_ago))
    for path in [*leftovers, *theirs]:
        os.utime(path, (twenty_minutes_ago, twenty_minutes_ago))
    save_filled(1.0)
    remaining = {path.name for path in folder.iterdir()}
    assert not remaining & {path.name for path in [*leftovers, old_but_alive]}
    assert {running.name, fresh_of_an_ended_process.name, *(path.name for path in theirs)} <= remaining


def test_a_temporary_folder_that_cannot_be_used_is_a_warning_and_a_retraining(capsys, monkeypatch):
    save_filled(1.0)
    monkeypatch.setattr(model_cache.tempfile, "TemporaryDirectory",
                        lambda **kwargs: fail(OSError(28, "No space left on device")))
    trainer = Trainer()
    ch16.load_or_train(tiny_model(), KEY, trainer)
    assert trainer.calls == 1
    assert any("could not be copied to a temporary folder: No space left on device" in line
               for line in stderr_lines(capsys))
