"""ch16.model_cache: the key of a trained model and the saved models (docs/data.md, 'The cache
folder'). Tiny Dense models on three numbers; ``train`` is a stand-in that changes the
weights and returns a history, except in the round trip, which fits for real."""

import importlib.util
import os
import threading
import zipfile

import keras
import numpy as np
import pytest

import ch16
from ch16 import model_cache
from ch16.model_cache import load_or_train, model_key, model_path

KEY = "0123456789abcdef"
INPUTS = np.arange(12, dtype="float32").reshape(4, 3) / 10
TARGETS = np.ones((4, 1), dtype="float32")


def tiny(units=4, learning_rate=0.01, loss="mse", extra=(), name=None):
    model = keras.Sequential([keras.Input((3,)), *extra, keras.layers.Dense(units), keras.layers.Dense(1)], name=name)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
    return model


class Trainer:
    """A ``train`` that adds 1 to every weight, counts its calls and returns a two-epoch history."""

    def __init__(self):
        self.calls = 0

    def __call__(self, model):
        self.calls += 1
        model.optimizer.build(model.trainable_variables)  # as fit() does: saved with its variables
        model.set_weights([weight + 1 for weight in model.get_weights()])
        return {"loss": [0.5, 0.25], "val_loss": [0.75, np.float32(0.5)], "seconds": [1.0, 1.0]}


def same_weights(a, b):
    return len(a.get_weights()) == len(b.get_weights()) and all(
        np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


def warnings_in(captured):
    return [line for line in captured.err.splitlines() if line.strip()]


# ------------------------------------------------------------------------------------------ the key

def recipe_a(model):
    return model.fit(INPUTS, TARGETS, epochs=2)


def recipe_b(model):
    return model.fit(INPUTS, TARGETS, epochs=3)


def scale_layer(factor):
    """Two classes of the same name and module, identical except their call()."""
    if factor == 2:
        class Scale(keras.layers.Layer):
            def call(self, x):
                return x * 2.0
    else:
        class Scale(keras.layers.Layer):
            def call(self, x):
                return x * 3.0
    return Scale()


MEMBERS = ("constant", "tuple", "init", "static", "classmethod", "property")
SCALE_TEMPLATE = """
class Scale(keras.layers.Layer):
    FACTOR = {constant}
    WIDTHS = (1.0, {tuple})

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.initial = {init}

    @staticmethod
    def scaled(x):
        return x * {static}

    @classmethod
    def offset(cls):
        return {classmethod}

    @property
    def factor(self):
        return {property}

    def call(self, x):
        return self.scaled(x) * self.factor * self.FACTOR * self.WIDTHS[1] * self.initial + self.offset()
"""


def scale_member_layer(factor, member):
    """A custom layer whose classes differ only in one member (a class constant, a tuple of them, ``__init__``,
    a static method, a class method or a property), set to ``factor``."""
    values = {name: 1.0 for name in MEMBERS}
    namespace = {"keras": keras}
    exec(SCALE_TEMPLATE.format(**{**values, member: factor}), namespace)  # noqa: S102  (two classes, one template)
    return namespace["Scale"]()


def cosine(warmup_steps=2, decay_steps=10):
    return keras.optimizers.schedules.CosineDecay(0.0, decay_steps=decay_steps, warmup_target=0.01,
                                                  warmup_steps=warmup_steps)


def under_policy(policy):
    with ch16.dtype_policy(policy):
        return tiny()


def key_of(model=None, settings=None, code=(recipe_a,), vocabulary=("", "[UNK]", "the", "island"),
           data=np.arange(6, dtype="float32")):
    return model_key(model or tiny(), settings or {"units": 4, "epochs": 2, "seed": 1}, code=code,
                     vocabulary=vocabulary, data=data)


# Each input that determines the weights, and the key of two runs that differ only in it.
KEY_INPUTS = {
    "architecture (layer size)": lambda v: key_of(tiny(units=(4, 5)[v])),
    "compiled learning rate": lambda v: key_of(tiny(learning_rate=(0.01, 0.02)[v])),
    "schedule warmup_steps": lambda v: key_of(tiny(learning_rate=cosine(warmup_steps=(2, 3)[v]))),
    "schedule decay_steps": lambda v: key_of(tiny(learning_rate=cosine(decay_steps=(10, 11)[v]))),
    "loss": lambda v: key_of(tiny(loss=("mse", "mae")[v])),
    "custom layer's call()": lambda v: key_of(tiny(extra=[scale_layer((2, 3)[v])])),
    **{f"custom layer's {member}": lambda v, member=member: key_of(tiny(extra=[scale_member_layer((2.0, 3.0)[v],
                                                                                                 member)]))
       for member in MEMBERS},
    "settings": lambda v: key_of(settings={"units": 4, "epochs": (2, 3)[v], "seed": 1}),
    "seed": lambda v: key_of(settings={"units": 4, "epochs": 2, "seed": (1, 2)[v]}),
    "initializer seed": lambda v: key_of(tiny(extra=[keras.layers.Dense(
        2, kernel_initializer=keras.initializers.GlorotUniform(seed=(1, 2)[v]))])),
    "precision (dtype policy)": lambda v: key_of(under_policy(("float32", "mixed_float16")[v])),
    "vocabulary (one token)": lambda v: key_of(vocabulary=("", "[UNK]", "the", ("island", "islands")[v])),
    "data (one value)": lambda v: key_of(data=np.array([0, 1, 2, 3, 4, (5, 6)[v]], dtype="float32")),
    "source of a function in code": lambda v: key_of(code=((recipe_a, recipe_b)[v],)),
}


@pytest.mark.parametrize("changed", KEY_INPUTS)
def test_the_key_changes_with_each_input_that_determines_the_weights(changed):
    assert KEY_INPUTS[changed](0) != KEY_INPUTS[changed](1)


def test_the_key_is_the_same_for_the_same_model_built_twice_in_one_process():
    first, second = tiny(), tiny()
    assert [layer.name for layer in first.layers] != [layer.name for layer in second.layers]  # dense_2...
    assert key_of(first) == key_of(second)


def test_the_key_of_a_function_without_source_is_its_code_not_where_it_is_in_memory():
    recipes = []
    for source in ["def recipe(m):\n    return [m.fit(x) for x in (1, 2)]\n"] * 2 + [
                   "def recipe(m):\n    return [m.fit(x) for x in (1, 3)]\n"]:
        namespace = {}
        exec(source, namespace)  # as in a session with no source file: its bytecode is hashed
        recipes.append(namespace["recipe"])
    first, same, other = (key_of(code=[recipe]) for recipe in recipes)
    assert first == same != other


SCALE_SOURCE = '''import keras


class Scale(keras.layers.Layer):
    def call(self, x):
        return x * 2.0
'''


def test_the_key_is_the_same_for_a_custom_layer_defined_in_another_module(tmp_path):
    classes = []
    for name in ("notebook_layers", "package_layers"):
        (tmp_path / f"{name}.py").write_text(SCALE_SOURCE)
        spec = importlib.util.spec_from_file_location(name, tmp_path / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        classes.append(module.Scale)
    assert classes[0].__module__ != classes[1].__module__
    assert key_of(tiny(extra=[classes[0]()])) == key_of(tiny(extra=[classes[1]()]))


# ------------------------------------------------------------------------------------ saving and loading

def test_a_saved_model_is_loaded_with_its_weights_and_history_instead_of_being_trained(cache, capsys):
    fits = []

    def train(model):
        fits.append(model)
        return model.fit(INPUTS, TARGETS, validation_data=(INPUTS, TARGETS), epochs=2, verbose=0,
                         callbacks=[ch16.epoch_log(2)])  # a Keras History of NumPy floats, and the seconds

    trained, history = load_or_train(tiny(name="tiny"), KEY, train)
    loaded, loaded_history = load_or_train(tiny(name="tiny"), KEY, train)
    assert fits == [trained]
    assert loaded is not trained and same_weights(loaded, trained)
    assert loaded_history == history and sorted(history) == ["loss", "seconds", "val_loss"]
    assert len(history["loss"]) == 2
    assert all(type(value) is float for value in history["loss"])
    assert "Loaded the trained 'tiny' model" in capsys.readouterr().out


def test_a_different_key_trains_its_own_model(cache):
    train = Trainer()
    first, _ = load_or_train(tiny(name="tiny"), KEY, train)
    other, _ = load_or_train(tiny(name="tiny"), "fedcba9876543210", train)
    assert train.calls == 2 and not same_weights(first, other)
    assert sorted(path.name for path in (cache / "models").iterdir()) == [f"tiny-{KEY}.keras",
                                                                           "tiny-fedcba9876543210.keras"]


@pytest.mark.parametrize("retrain", [True, "1", "yes"])
def test_retrain_trains_again_and_replaces_the_saved_model(cache, retrain):
    train = Trainer()
    load_or_train(tiny(name="tiny"), KEY, train)
    retrained, _ = load_or_train(tiny(name="tiny"), KEY, train, retrain=retrain)
    loaded, _ = load_or_train(tiny(name="tiny"), KEY, train)
    assert train.calls == 2 and same_weights(loaded, retrained)


# ------------------------------------------------------------------------------------- damaged entries

def truncate(path):
    path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])


def fifo(path):
    path.unlink()
    os.mkfifo(path)


def dev_zero(path):
    path.unlink()
    path.symlink_to("/dev/zero")


def refit(path):
    """A whole .keras whose weights do not fit its configuration (Keras's error spans several lines)."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["config.json"] = members["config.json"].replace(b'"units": 1', b'"units": 2')
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


def history(text):
    """Replace the training history inside the .keras file (a zip archive) by ``text``, or remove it (None)."""
    def damage(path):
        with zipfile.ZipFile(path) as archive:
            members = {name: archive.read(name) for name in archive.namelist() if name != model_cache.HISTORY}
        with zipfile.ZipFile(path, "w") as archive:
            for name, content in {**members, **({} if text is None else {model_cache.HISTORY: text})}.items():
                archive.writestr(name, content)
    return damage


DAMAGE = {
    "truncated .keras": truncate,
    "weights that do not fit the configuration": refit,
    "garbage JSON history": history("{not json"),
    "history that is a list": history('[[0.5, 0.25]]'),
    "history without loss": history('{"accuracy": [0.5]}'),
    "history of uneven lengths": history('{"loss": [0.5, 0.25], "val_loss": [0.5], "seconds": [1.0, 1.0]}'),
    "history without the seconds of its epochs": history('{"loss": [0.5], "val_loss": [0.5]}'),
    "history of no epochs": history('{"loss": [], "val_loss": [], "seconds": []}'),
    "history of text": history('{"loss": ["low"], "val_loss": [0.5], "seconds": [1.0]}'),
    "history of a number": history('{"loss": 0.5, "val_loss": 0.5, "seconds": 1.0}'),
    "no history": history(None),
    "named pipe at .keras": fifo,
    "symlink to /dev/zero": dev_zero,
}


def in_thread(call, timeout=60):
    """``call()`` in a daemon thread: its result, or a failure if it has not returned within ``timeout``
    seconds (a read of a named pipe would block forever)."""
    result = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"still running after {timeout} s"
    assert result, "raised an exception (see the thread's traceback above)"
    return result[0]


def check_damaged_entry_is_trained_again(damage, capsys):
    train = Trainer()
    load_or_train(tiny(name="tiny"), KEY, train)
    path = model_path("tiny", KEY)
    damage(path)
    capsys.readouterr()
    retrained, history = in_thread(lambda: load_or_train(tiny(name="tiny"), KEY, train))
    warnings = warnings_in(capsys.readouterr())
    assert train.calls == 2 and history["loss"] == [0.5, 0.25]
    assert len(warnings) == 1 and warnings[0].startswith("Warning:") and path.name in warnings[0], warnings
    loaded, _ = load_or_train(tiny(name="tiny"), KEY, train)  # the new entry replaced the damaged one
    assert train.calls == 2 and same_weights(loaded, retrained) and not warnings_in(capsys.readouterr())


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_entry_gives_one_warning_naming_it_and_the_model_is_trained_again(cache, capsys, damage):
    check_damaged_entry_is_trained_again(DAMAGE[damage], capsys)


def test_an_entry_over_the_size_limit_gives_one_warning_and_the_model_is_trained_again(cache, capsys, monkeypatch):
    train = Trainer()
    load_or_train(tiny(name="tiny"), KEY, train)
    size = model_path("tiny", KEY).stat().st_size
    monkeypatch.setattr(model_cache, "MAX_MODEL_BYTES", size - 1)
    capsys.readouterr()
    load_or_train(tiny(name="tiny"), KEY, train)
    warnings = warnings_in(capsys.readouterr())
    assert train.calls == 2
    assert len(warnings) == 1 and model_path("tiny", KEY).name in warnings[0] and f"{size - 1:,} bytes" in warnings[0]


# ------------------------------------------------------------------------------------ the cache folder

def test_a_folder_at_the_entry_path_is_not_deleted_and_the_trained_model_is_still_returned(cache, capsys):
    path = model_path("tiny", KEY)
    (path / "the reader's").mkdir(parents=True)
    model = tiny(name="tiny")
    returned, history = load_or_train(model, KEY, Trainer())
    warnings = warnings_in(capsys.readouterr())
    assert returned is model and history["loss"] == [0.5, 0.25] and (path / "the reader's").is_dir()
    assert len(warnings) == 2 and f"{path} cannot be used" in warnings[0] and "delete the folder" in warnings[0]
    assert str(path.parent) in warnings[1]  # nor saved


def test_a_cache_folder_that_cannot_be_written_still_returns_the_trained_model(tmp_path, monkeypatch, capsys):
    (tmp_path / "a file").write_text("not a folder")
    monkeypatch.setenv("CH16_CACHE_DIR", str(tmp_path / "a file" / "cache"))
    train, model = Trainer(), tiny(name="tiny")
    returned, history = load_or_train(model, KEY, train)
    warnings = warnings_in(capsys.readouterr())
    assert returned is model and train.calls == 1 and history == {"loss": [0.5, 0.25], "val_loss": [0.75, 0.5], "seconds": [1.0, 1.0]}
    assert len(warnings) == 1 and str(tmp_path / "a file" / "cache" / "models") in warnings[0]


def test_a_failed_save_still_returns_the_trained_model_and_leaves_no_temporary_file(cache, monkeypatch, capsys):
    def refuse(self, filepath, *args, **kwargs):
        open(filepath, "wb").write(b"half a model")
        raise OSError("disk full\n\nand a second line")

    model = tiny(name="tiny")
    monkeypatch.setattr(type(model), "save", refuse)
    returned, history = load_or_train(model, KEY, Trainer())
    warnings = warnings_in(capsys.readouterr())
    assert returned is model and history["loss"] == [0.5, 0.25]
    assert len(warnings) == 1 and "disk full and a second line" in warnings[0]
    assert list((cache / "models").iterdir()) == []  # nothing half-written: trained again next time


def test_saving_leaves_no_temporary_file_and_deletes_nothing_of_another_name(cache, capsys):
    models = cache / "models"
    models.mkdir(parents=True)
    others = {"notes.txt": "mine", f"tiny-{'f' * 16}.keras": "another key", f".tiny-{KEY}.orphan.keras": "killed",
              f"tiny-{KEY}.json": "a file of an earlier layout", "tiny.keras": "no key", ".hidden": "x"}
    for name, text in others.items():
        (models / name).write_text(text)
    train = Trainer()
    load_or_train(tiny(name="tiny"), KEY, train)
    truncate(model_path("tiny", KEY))
    load_or_train(tiny(name="tiny"), KEY, train)  # a damaged entry, replaced
    load_or_train(tiny(name="tiny"), KEY, train, retrain=True)
    assert train.calls == 3
    assert sorted(path.name for path in models.iterdir()) == sorted([*others, f"tiny-{KEY}.keras"])
    assert all((models / name).read_text() == text for name, text in others.items())


def test_the_temporary_file_of_a_killed_save_is_never_loaded(cache, capsys):
    train = Trainer()
    saved, _ = load_or_train(tiny(name="tiny"), KEY, train)
    path = model_path("tiny", KEY)
    orphan = path.with_name(f".{path.stem}.k1ll3d{path.suffix}")  # complete, but never renamed into place
    path.rename(orphan)
    retrained, _ = load_or_train(tiny(name="tiny"), KEY, train)
    assert train.calls == 2 and not same_weights(retrained, saved)
    assert orphan.exists() and "Loaded" not in capsys.readouterr().out
