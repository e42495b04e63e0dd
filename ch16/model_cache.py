"""The model cache: a trained model is saved with a key of everything that determined it, and a
later run with the same key loads it (checked) instead of training again."""

import collections
import hashlib
import inspect
import json
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from ch16.errors import warn
from ch16.files import FileTooLargeError, NotARegularFileError, display_path, folder_lock, read_regular_file, sha256_of
from ch16.settings import cache_dir, yes_no

MAX_MODEL_BYTES = 256 << 20  # the chapter's models have about 20 MB; a larger file is read whole to be checked
MAX_META_BYTES = 16 << 20
STALE_TEMPORARY_SECONDS = 24 * 3600  # a temporary file this old is a leftover, whatever its process
ENDED_PROCESS_SECONDS = 600  # and one of a process that has ended, once this old (a save takes seconds)
# What a save writes before renaming it into place: .NAME-KEY.ch16-partial-PID-XXXXXXXX.keras (or .json)
_TEMPORARY = re.compile(r"^\..+\.ch16-partial-(\d+)-[0-9a-f]{8}\.(keras|json)$")


def architecture(model):
    """A model's configuration without the names Keras numbers automatically (``embedding_3``),
    so that the same model built twice, or in another order, describes itself the same way,
    together with its compile configuration (optimizer, loss, metrics) and the code of the
    methods of every layer class that is not Keras's own (a custom layer's configuration does
    not show what its ``call`` computes)."""
    try:
        every_layer = list(model._flatten_layers(include_self=True, recursive=True))
    except AttributeError:  # not a Keras 3 layer
        every_layer = [model, *model.layers]
    # A functional model's configuration names its layers again where it wires them together
    # (``keras_history``, ``input_layers``, ``output_layers``): in those places and as a
    # ``name``, a layer's name becomes its kind and its rank among the model's layers of that
    # kind. Other strings (an activation called "softmax", say) are left alone.
    kinds, renamed = collections.Counter(), {}
    for layer in every_layer:
        if layer.name not in renamed:
            kind = re.sub(r"_\d+$", "", layer.name)
            renamed[layer.name] = f"{kind}#{kinds[kind]}"
            kinds[kind] += 1

    def layer_name(name):
        return renamed.get(name, re.sub(r"_\d+$", "", name))

    def reference(value):  # [layer name, node index, tensor index], or a list of them
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], str):
            return [layer_name(value[0]), *value[1:]]
        if isinstance(value, (list, tuple)):
            return [reference(item) for item in value]
        return value

    def strip(value):
        if isinstance(value, dict):
            return {key: (layer_name(item) if key == "name" and isinstance(item, str) else
                          reference(item) if key in ("keras_history", "input_layers", "output_layers") else
                          strip(item))
                    for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [strip(item) for item in value]
        return value

    custom = {}
    for cls in {type(layer) for layer in every_layer}:
        for klass in cls.__mro__:
            if klass is not object and klass.__module__.split(".")[0] not in ("keras", "tensorflow"):
                custom[klass.__qualname__] = {name: code_of(member) for name, member in sorted(vars(klass).items())
                                              if inspect.isfunction(member)}
    try:  # the optimizer (learning rate or schedule, clipping), loss and metrics, when compiled
        compiled = model.get_compile_config()
    except (AttributeError, NotImplementedError):
        compiled = None
    return {"config": strip(model.get_config()), "compiled": strip(compiled), "custom code": custom}


def code_of(function):
    """The source of a function or class or, where Python cannot find it, a digest of its code."""
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        def digest(code):
            consts = [digest(const) if inspect.iscode(const)
                      else sorted(map(repr, const)) if isinstance(const, frozenset)  # set order varies by process
                      else repr(const) for const in code.co_consts]
            return [code.co_code.hex(), consts, list(code.co_names), list(code.co_varnames)]
        return fingerprint(digest(function.__code__))


def fingerprint(value):
    """SHA-256 (hex) of bytes, of a NumPy array, or of a JSON-able value (dict keys in any order)."""
    if isinstance(value, np.ndarray) and value.dtype != object:
        array = np.ascontiguousarray(value)
        value = f"array {array.dtype.str} {array.shape} ".encode() + array.tobytes()
    elif isinstance(value, (bytes, bytearray, memoryview)):
        value = b"bytes " + bytes(value)
    else:
        value = b"json " + json.dumps(value, sort_keys=True, default=_plain).encode()
    return hashlib.sha256(value).hexdigest()


def _plain(value):
    """NumPy numbers and arrays, and namespaces of settings, as plain Python values for ``json.dumps``."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    if hasattr(value, "__dict__") and type(value).__name__ == "SimpleNamespace":
        return vars(value)
    raise TypeError(f"model_key: a {type(value).__name__} is not JSON-able; "
                    "describe it with numbers, strings, lists and dicts")


def model_key(model, settings, code=(), vocabulary=(), data=None):
    """A short hex digest (SHA-256) of everything that determines a trained model: its
    architecture and compile configuration (``architecture``), its ``settings`` (a JSON-able
    dict or namespace: sizes, epochs, seed, precision...), the source of the functions and
    classes in ``code`` (the training recipe, the input pipeline), the whole ``vocabulary`` (a
    list of tokens or a string of characters) and the training ``data`` (a JSON-able value,
    bytes or a NumPy array)."""
    parts = {"name": model.name, "architecture": architecture(model), "settings": settings,
             "code": [code_of(item) for item in code],
             "vocabulary": fingerprint([str(token) for token in vocabulary]), "data": fingerprint(data)}
    return fingerprint(parts)[:16]


def models_dir():
    return cache_dir() / "models"


def model_path(name, key):
    """Where the model ``name`` trained with ``key`` is saved; its ``.json`` (key, history,
    checksum) is beside it. Each key has its own files: a quick-mode run, another seed or
    another precision never overwrites a model trained with other settings."""
    return models_dir() / f"{name}-{key}.keras"


def _temporary_name(path):
    """An unused name in the folder of ``path``, hidden, marked as this chapter's and with this
    process's id, and with the same suffix (Keras needs ``.keras``)."""
    return path.with_name(f".{path.stem}.ch16-partial-{os.getpid()}-{os.urandom(4).hex()}{path.suffix}")


def remove_stale_temporaries(folder):
    """Remove the temporary files that a save killed half-way left in ``folder``: only files of
    this chapter's temporary names, that are over a day old, or over ten minutes old and of a
    process that has ended (on this machine: a folder shared by machines or containers may hold
    files of another's process id, which the ten minutes protect while they are being written)."""
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if not match:
            continue
        try:
            os.kill(int(match[1]), 0)
            running = True
        except ProcessLookupError:
            running = False
        except (PermissionError, OverflowError):
            running = True
        try:
            age = time.time() - entry.lstat().st_mtime
            if age > STALE_TEMPORARY_SECONDS or (not running and age > ENDED_PROCESS_SECONDS):
                entry.unlink()
        except OSError:
            pass


def save_trained(model, history, key):
    """Save a trained model with its history and ``key``; a failure is a warning (returns False).

    Both files are written under temporary names in the cache folder and renamed into
    place, the ``.keras`` first and the ``.json`` (key, history and the SHA-256 of that
    ``.keras``) last, so that a reader sees either the old pair or the new one.
    """
    path = model_path(model.name, key)
    meta_path = path.with_suffix(".json")
    temporary = [_temporary_name(path), _temporary_name(meta_path)]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path.parent)
        model.save(temporary[0])
        meta = {"key": key, "keras_sha256": sha256_of(temporary[0]), "history": history}
        temporary[1].write_text(json.dumps(meta))
        with folder_lock(path.parent):  # another run saving the same model renames its pair before or after
            os.replace(temporary[0], path)
            os.replace(temporary[1], meta_path)
        return True
    except Exception as error:  # noqa: BLE001  (whatever failed, the trained model must not be lost)
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        warn(f"could not save the trained '{model.name}' model in {display_path(path.parent)} "
             f"({reason}): it stays usable in this session only.")
        return False
    finally:
        for leftover in temporary:
            try:
                leftover.unlink(missing_ok=True)
            except OSError:
                pass


class _DamagedEntry(Exception):
    """A saved model whose files cannot be used: ``args`` are the file and what is wrong."""


def _read(path, max_bytes):
    """The bytes of a cache file: a regular file of at most ``max_bytes`` (a named pipe or a link
    to a device is refused before it is opened); ``_DamagedEntry`` otherwise."""
    try:
        return read_regular_file(path, max_bytes)
    except (NotARegularFileError, FileTooLargeError) as error:
        raise _DamagedEntry(path, error.strerror)
    except MemoryError:
        raise _DamagedEntry(path, "too large to read into memory")
    except OSError as error:
        raise _DamagedEntry(path, error.strerror or type(error).__name__)


def _read_entry(path, key):
    """The verified ``(.keras bytes, history)`` saved at ``path`` for ``key``; None if there is none.

    Raises ``_DamagedEntry`` for unreadable or mismatched files. The ``.keras`` is read
    after the ``.json``: a save that replaces it in between shows as a checksum mismatch,
    so that case is read once more after a pause.
    """
    meta_path = path.with_suffix(".json")
    for attempt in range(2):
        if not (meta_path.exists() or meta_path.is_symlink()):
            return None
        try:
            meta = json.loads(_read(meta_path, MAX_META_BYTES))
        except (ValueError, RecursionError) as error:
            raise _DamagedEntry(meta_path, f"not readable JSON: {type(error).__name__}")
        if not isinstance(meta, dict) or "key" not in meta:
            raise _DamagedEntry(meta_path, "it has no key")
        if meta["key"] != key:
            return None
        history = meta.get("history")
        if not (isinstance(meta.get("keras_sha256"), str) and isinstance(history, dict)
                and all(isinstance(values, list) for values in history.values())):
            raise _DamagedEntry(meta_path, "it lacks the checksum or the history")
        lengths = {len(values) for values in history.values()}
        if not ("loss" in history and len(lengths) == 1 and lengths != {0}
                and all(type(value) in (int, float) for values in history.values() for value in values)):
            raise _DamagedEntry(meta_path, "its history is not one list of numbers per measure, each of every epoch")
        if not (path.exists() or path.is_symlink()):
            raise _DamagedEntry(path, "it is missing")
        model_bytes = _read(path, MAX_MODEL_BYTES)
        if hashlib.sha256(model_bytes).hexdigest() == meta["keras_sha256"]:
            return model_bytes, history
        if attempt == 0:
            time.sleep(0.5)
    raise _DamagedEntry(path, f"its checksum differs from the one in {meta_path.name}")


def load_trained(name, key, strategy=None):
    """The saved ``(model, history)`` of model ``name`` if it was saved with ``key``, else None.

    The model is loaded inside ``strategy.scope()`` (default: the current strategy), from
    the bytes whose checksum was verified. A damaged entry is a one-line warning and None.
    """
    import keras
    import tensorflow as tf

    path = model_path(name, key)
    try:
        entry = _read_entry(path, key)
        if entry is None:
            return None
        model_bytes, history = entry
        try:
            with tempfile.TemporaryDirectory(prefix="ch16-") as folder:
                copy = Path(folder) / path.name
                copy.write_bytes(model_bytes)
                with (strategy or tf.distribute.get_strategy()).scope():
                    try:
                        model = keras.models.load_model(copy)
                    except Exception as error:  # a verified file Keras cannot read: retrain, never crash
                        raise _DamagedEntry(path, f"Keras cannot load it: {type(error).__name__}")
        except OSError as error:  # the temporary folder (full, or none usable)
            raise _DamagedEntry(path, f"it could not be copied to a temporary folder: {error.strerror or error}")
    except _DamagedEntry as damage:
        file, problem = damage.args
        warn(f"ignoring the saved model file {display_path(file)} ({problem}).")
        return None
    return model, history


def _cannot_write(folder):
    """The OSError met when creating a file in ``folder`` (made if missing), or None."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        return error
    return None


def load_or_train(model, key, train, retrain=False):
    """Load the model saved with ``key`` by an earlier run, or train it and save it.

    Unless ``retrain``, a verified saved model of the same name and key is loaded, inside
    ``model.distribute_strategy.scope()``. Otherwise ``train(model)`` trains it and returns
    its Keras ``History`` (or a dict of per-epoch lists), and the model is saved. A cache
    that cannot be written is a warning: the trained model is never lost to it.
    Returns ``(model, history)``, history a dict of per-epoch lists of floats.
    """
    if not yes_no(retrain, "RETRAIN"):
        saved = load_trained(model.name, key, model.distribute_strategy)
        if saved is not None:
            print(f"Loaded the trained '{model.name}' model saved by an earlier run "
                  "(set CH16_RETRAIN=1 to retrain).")
            return saved
    folder = model_path(model.name, key).parent
    error = _cannot_write(folder)
    if error is not None:
        warn(f"cannot write to the model cache folder {display_path(folder)} "
             f"({error.strerror or type(error).__name__}): the trained '{model.name}' model "
             "will stay usable in this session but will not be saved.")
    history = train(model)
    history = getattr(history, "history", history)
    history = {name: [float(value) for value in values] for name, values in history.items()}
    if error is None:
        save_trained(model, history, key)
    return model, history
