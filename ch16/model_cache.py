"""Trained models saved with Keras (``model.save``, ``keras.saving.load_model``) under a key of what
determined their weights: a later run with the same key loads the model instead of training it again."""

import hashlib
import inspect
import json
import os
import re
import stat
import zipfile

from ch16.errors import warn
from ch16.settings import cache_dir, write_atomically, yes_no

MAX_MODEL_BYTES = 256 << 20  # the chapter's models take about 20 MB
HISTORY = "ch16_history.json"  # the training history, inside the .keras file (a zip archive)


def _normalised(value):
    """A configuration without the numbers Keras appends to automatic layer names (``lstm_3``) and the
    modules of classes (``__main__`` in a notebook): the same for identical models."""
    if isinstance(value, dict):
        return {key: _normalised(item) for key, item in value.items() if key != "module"}
    if isinstance(value, (list, tuple)):
        return [_normalised(item) for item in value]
    return re.sub(r"_\d+$", "", value) if isinstance(value, str) else value


def _bytecode(code):
    """Bytecode, constants and names; a nested function's code by its content, not its address."""
    constants = [_bytecode(const) if inspect.iscode(const) else repr(const) for const in code.co_consts]
    return [code.co_code.hex(), constants, list(code.co_names)]


def code_of(function):
    """The source of a function, or where Python has none, its bytecode and constants."""
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return _bytecode(function.__code__)


def _member_code(member):  # a method's source (static, class, property, cached, tf.function), or a constant's repr
    inner = [getattr(member, name, None) for name in ("__func__", "fget", "fset", "fdel", "func", "python_function")]
    constant = repr(member) if isinstance(member, (bool, int, float, str, tuple)) else ""
    return [code_of(function) for function in [member, *inner] if inspect.isfunction(function)] or constant


def _one_line(error):  # an exception's message on one line (Keras's can span several), at most 200 characters
    return " ".join(str(error).split())[:200] or type(error).__name__


def fingerprint(value):
    """SHA-256 (hex) of a JSON-able value (NumPy arrays and namespaces included)."""
    text = json.dumps(value, sort_keys=True, default=lambda v: v.tolist() if hasattr(v, "tolist") else vars(v))
    return hashlib.sha256(text.encode()).hexdigest()


def model_key(model, settings, code=(), vocabulary=(), data=None):
    """A digest of what determines a trained model: its configuration and compile configuration (optimizer,
    learning-rate schedule, loss), the methods and constants of its layer classes that are not Keras's, the
    ``settings`` (sizes, epochs, seed, precision...), the source of the functions in ``code`` (recipe,
    pipeline, helpers the layers call), the whole ``vocabulary`` and the training ``data``."""
    layers = list(model._flatten_layers(include_self=True, recursive=True))
    custom = {cls.__qualname__: {name: text for name, member in sorted(vars(cls).items())  # not __doc__, __module__
                                 if (text := _member_code(member)) and not (name[:2] == "__" and isinstance(text, str))}
              for layer in layers for cls in type(layer).__mro__
              if cls is not object and cls.__module__.split(".")[0] not in ("keras", "tensorflow")}
    parts = {"config": _normalised(model.get_config()), "compiled": _normalised(model.get_compile_config()),
             "custom layers": custom, "settings": settings, "code": [code_of(item) for item in code],
             "vocabulary": [str(token) for token in vocabulary], "data": fingerprint(data)}
    return fingerprint(parts)[:16]


def model_path(name, key):
    """Where the model ``name`` trained under ``key`` is saved, its training history inside the file."""
    return cache_dir() / "models" / f"{name}-{key}.keras"


def _load(path):
    """The saved ``(model, history)`` at ``path``, or None: none saved, or a warning for an entry that
    is not a regular file, is too large or does not load."""
    import keras
    if not (path.exists() or path.is_symlink()):
        return None
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MODEL_BYTES:
            raise ValueError(f"not a regular file of at most {MAX_MODEL_BYTES:,} bytes" +
                             "; delete the folder to save the model there" * stat.S_ISDIR(os.lstat(path).st_mode))
        with zipfile.ZipFile(path) as archive:
            history = json.loads(archive.read(HISTORY))
        if not (isinstance(history, dict) and {"loss", "val_loss", "seconds"} <= set(history) and all(history.values())
                and len({len(v) for v in history.values()}) == 1
                and all(isinstance(x, (int, float)) for values in history.values() for x in values)):
            raise ValueError("it holds no training history: loss, val_loss and seconds of each epoch")
        return keras.saving.load_model(path), history
    except Exception as error:  # noqa: BLE001  (whatever is wrong with it, the model is trained again)
        warn(f"the saved model {path} cannot be used ({_one_line(error)}): it is trained again.")
        return None


def _save(model, history, path):
    """Save the model with its history (a .keras file is a zip archive: the history joins it)."""
    def write(temporary):
        model.save(temporary)
        with zipfile.ZipFile(temporary, "a") as archive:
            archive.writestr(HISTORY, json.dumps(history))
    try:
        write_atomically(path, write)
    except Exception as error:  # noqa: BLE001  (the trained model must not be lost to a failed save)
        warn(f"could not save the trained '{model.name}' model in {path.parent} ({_one_line(error)}): it stays "
             "usable in this session only.")


def load_or_train(model, key, train, retrain=False):
    """``(model, history)``: the model saved under ``key`` (unless ``retrain``), or ``train(model)`` (a Keras
    ``History`` or a dict of lists, with the ``seconds`` of each epoch that ``ch16.epoch_log`` records) and
    then saved; the history is a dict of per-epoch lists of floats."""
    path = model_path(model.name, key)
    if not yes_no(retrain, "RETRAIN"):
        saved = _load(path)
        if saved is not None:
            print(f"Loaded the trained '{model.name}' model saved by an earlier run (CH16_RETRAIN=1 retrains it).")
            return saved
    result = train(model)
    history = {name: [float(value) for value in values] for name, values in getattr(result, "history", result).items()}
    _save(model, history, path)
    return model, history
