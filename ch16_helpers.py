"""Helpers shared by the chapter's two notebooks and its tests.

Nothing in this module is part of the chapter's lesson: it downloads and checks the
data sets, chooses the run settings (full or quick mode), describes the machine,
saves and reloads trained models, times epochs and shows figures. Everything a
reader learns from lives in the notebooks.
"""

import collections
import contextlib
import errno
import fcntl
import gzip
import hashlib
import http.client
import inspect
import json
import os
import platform
import re
import shlex
import shutil
import stat
import sys
import tarfile
import tempfile
import time
import urllib.request
import warnings
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np


@contextlib.contextmanager
def _quiet_stderr():
    """Send what C++ code writes to the standard error to /dev/null for a moment."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _import_tensorflow_quietly():
    """Import TensorFlow and probe its devices once with its C++ start-up log silenced (some of it,
    written before its logging starts, ignores TF_CPP_MIN_LOG_LEVEL). Errors still raise."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _quiet_stderr():
        import tensorflow as tf
        tf.config.list_physical_devices()


_import_tensorflow_quietly()


PROJECT_DIR = Path(__file__).resolve().parent

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
IMDB_SPLITS = ("train", "test")
IMDB_CLASSES = ("neg", "pos")  # label 0, label 1

NOVEL_URL = "https://www.gutenberg.org/files/1268/1268-0.txt"
NOVEL_FILE = "1268-0.txt"
# Project Gutenberg revises its files now and then (new headers, fixes), so no checksum is
# pinned for the novel: a download is checked by its structure instead (UTF-8, the START and
# END markers, at least this many characters between them).
NOVEL_MIN_CHARS = 100_000


class DataError(RuntimeError):
    """A data set could not be found, downloaded, checked or extracted."""


# --------------------------------------------------------------------------
# Run settings
# --------------------------------------------------------------------------

class SettingError(ValueError):
    """An environment variable or argument has a value the chapter cannot use."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_flag(name, default=False):
    """Read a yes/no environment variable: 1/0, true/false, yes/no or on/off in any case.

    Unset or empty means ``default``; any other value is a ``SettingError`` (so that a
    misspelt ``CH16_QUICK=ye`` cannot silently start a full run).
    """
    value = os.environ.get(name, "").strip()
    return yes_no(value, name) if value else default


def yes_no(value, name):
    """A yes/no setting as a bool: ``True``/``False`` or the numbers 1/0, or as a string (as an
    environment variable or a papermill parameter gives it) 1/0, true/false, yes/no or on/off in
    any case; anything else is a ``SettingError`` naming the setting."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, float, np.number)) and value in (0, 1)):
        return bool(value)
    word = value.strip().lower() if isinstance(value, str) else None
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise SettingError(f"{name}={value!r} is not a yes/no value: use 1/0, true/false, "
                       "yes/no or on/off (or leave it unset).")


def env_choice(name, choices, default):
    """Read an environment variable that must be one of ``choices`` (case-insensitive)."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value not in choices:
        raise SettingError(f"{name}={os.environ[name]!r} is not one of: {', '.join(choices)}.")
    return value


def env_int(name, default, low=0, high=2**31 - 1):
    """Read an integer environment variable in [low, high]; unset or empty means ``default``."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise SettingError(f"{name}={os.environ[name]!r} is not a whole number from {low} to {high}.")
    return number


def env_folder(name):
    """Read an environment variable naming a folder; unset or empty means None."""
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


CACHE_DIR = env_folder("CH16_CACHE_DIR") or PROJECT_DIR / "cache"
SETTING_VARIABLES = ("CH16_QUICK", "CH16_DATA_DIR", "CH16_CACHE_DIR", "CH16_RETRAIN", "CH16_SEED", "CH16_PRECISION")
RETIRED_VARIABLES = {"CH16_MIXED_PRECISION": "CH16_PRECISION"}


def unknown_setting_variables(environ=os.environ):
    """One message for each CH16_* variable that no part of the chapter reads (a misspelt
    ``CH16_QUIK=1`` would otherwise start a full run without a word)."""
    messages = []
    for name in sorted(environ):
        if name.startswith("CH16_") and name not in SETTING_VARIABLES:
            instead = RETIRED_VARIABLES.get(name)
            messages.append(f"{name} is not read by this chapter"
                            + (f": it was replaced by {instead}." if instead else
                               f"; its settings are {', '.join(SETTING_VARIABLES)}."))
    return messages


# The settings of each part: NAME=(full-run value, quick-mode value). They live here, once,
# because the benchmarks under benchmarks/ time the chapter's own settings.
PART1_SETTINGS = dict(
    train_reviews=(20_000, 320),   # reviews used for training (taken from the official train split)
    val_reviews=(5_000, 80),       # the rest of the official train split, for validation
    test_reviews=(25_000, 400),    # the official test split, used once at the end
    max_tokens=(10_000, 2_000),    # vocabulary size, counting the padding and out-of-vocabulary tokens
    embed_dim=(32, 8),             # size of the word embeddings
    rnn_units=(64, 8),             # units of each recurrent layer (per direction)
    batch_size=(128, 32),          # reviews per batch
    learning_rate=(5e-4, 1e-3),    # Adam's initial learning rate
    dropout=(0.25, 0.0),           # dropout rate on the embeddings and on the recurrent layer's output
    max_epochs=(10, 1),            # upper bound for the LSTMs; early stopping usually ends training sooner
    rnn_max_epochs=(6, 1),         # for the SimpleRNN comparison models
)
PART2_SETTINGS = dict(
    text_chars=(None, 20_000),     # characters of the novel used (None: the whole novel)
    min_text_chars=(1_000_000, 10_000),  # a shorter text is refused as truncated
    seq_length=(40, 40),           # characters the model reads to predict the next ones
    batch_size=(64, 64),           # chunks per batch
    embed_dim=(256, 16),           # size of the character embeddings
    lstm_units=(512, 32),          # units of the LSTM layer
    learning_rate=(1e-3, 1e-3),    # Adam's initial learning rate, for both character models
    max_epochs=(30, 1),            # upper bound for both character models; early stopping ends sooner
    generate_chars=(500, 60),      # length of each generated passage
    model_dim=(256, 16),           # width of the Transformer model
    num_heads=(4, 2),              # attention heads per Transformer block
    num_blocks=(2, 1),             # Transformer blocks
    dropout=(0.1, 0.0),            # dropout in the Transformer blocks
)

# Part 1's text standardisation and length buckets (used by the notebook and the benchmark).
STANDARDIZE_PATTERN = r"[^\p{L}\p{N}']+"  # runs of anything but letters, digits and apostrophes


def standardize(text):
    """Lower-case, turn the reviews' ``<br />`` line breaks into spaces, and replace every run of
    characters that are not letters (of any alphabet), digits or apostrophes by one space."""
    import tensorflow as tf

    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, r"<br\s*/?>", " ")
    return tf.strings.regex_replace(text, STANDARDIZE_PATTERN, " ")


BUCKET_BOUNDARIES = [round(20 * 1.1 ** k) for k in range(49)]  # 20, 22, 24, 27, ..., 1940 tokens
BATCH_SHUFFLE_BUFFER = 1_000  # batches; more than an epoch of part 1 holds, so the whole epoch is mixed


def architecture(model):
    """A model's configuration without the names Keras numbers automatically (``embedding_3``),
    so that the same model built twice, or in another order, describes itself the same way,
    together with its compile configuration (optimizer, loss, metrics) and the code of the
    methods (plain functions) of every layer class that is not Keras's own: a custom layer's
    configuration does not show what its ``call`` computes. Helpers that such a method calls,
    properties and class attributes are not covered."""
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
                custom[klass.__qualname__] = {name: _code_of(member) for name, member in sorted(vars(klass).items())
                                              if inspect.isfunction(member)}
    try:  # the optimizer (learning rate, clipping), loss and metrics, when compiled
        compiled = model.get_compile_config()
    except (AttributeError, NotImplementedError):
        compiled = None
    return {"config": strip(model.get_config()), "compiled": strip(compiled), "custom code": custom}


def _code_of(function):
    """The source of a function or, where Python cannot find it, a digest of its compiled code."""
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        def digest(code):
            consts = [digest(const) if inspect.iscode(const)
                      else sorted(map(repr, const)) if isinstance(const, frozenset)  # set order varies by process
                      else repr(const) for const in code.co_consts]
            return [code.co_code.hex(), consts, list(code.co_names), list(code.co_varnames)]
        return _fingerprint(digest(function.__code__))


def choose_settings(quick, **settings):
    """Pick the full-run or quick-mode value of each setting and say what quick mode changed.

    Each keyword is ``NAME=(full_value, quick_value)``; returns a namespace of the chosen values.
    """
    quick = yes_no(quick, "QUICK")
    chosen = {name: (quick_value if quick else full_value)
              for name, (full_value, quick_value) in settings.items()}
    if quick:
        print("Quick mode (CH16_QUICK=1) changed:")
        for name, (full_value, quick_value) in settings.items():
            if full_value != quick_value:
                print(f"  {name:<22} {full_value!s:>10} -> {quick_value}")
    else:
        print("Full run: " + ", ".join(f"{name}={value}" for name, value in chosen.items()))
    return SimpleNamespace(**chosen)


def in_notebook():
    """True inside a Jupyter kernel, False in a terminal run of the exported script (or in a
    process that has merely imported ipykernel, as pytest's nbval plugin does)."""
    if "ipykernel" not in sys.modules:
        return False
    from IPython import get_ipython

    return getattr(get_ipython(), "kernel", None) is not None


# --------------------------------------------------------------------------
# The machine: CPU model, devices, precision
# --------------------------------------------------------------------------

def cpu_model():
    """The CPU's model name, as the operating system reports it."""
    try:
        if sys.platform.startswith("linux"):
            for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
        elif sys.platform == "darwin":
            import subprocess
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                  text=True, timeout=5).stdout.strip() or platform.processor()
    except (OSError, ValueError):
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_flags():
    """The CPU feature flags the OS lists (Linux: /proc/cpuinfo ``flags`` or ``Features``), or None
    where they cannot be read (other systems)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith(("flags", "features")):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None


BFLOAT16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})  # x86 AVX512_BF16, AMX-BF16; Arm BF16


def native_bfloat16(flags):
    """Whether a CPU with these flags computes bfloat16 in hardware: x86 AVX512_BF16 or AMX-BF16,
    or Arm's BF16 extension (flag ``bf16``). Unknown flags (None) count as no."""
    return bool(flags) and bool(BFLOAT16_FLAGS & set(flags))


PRECISIONS = ("auto", "float32", "bfloat16", "float16")
_POLICY = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}


def choose_precision(setting="auto", gpu_capabilities=None, flags=None):
    """Choose the precision of the character LSTM: returns ``(keras policy name, reason)``.

    ``auto``: mixed bfloat16 on a GPU of compute capability 8.0 or later, mixed float16 on 7.x,
    mixed bfloat16 on a CPU that computes bfloat16 natively, float32 everywhere else (never an
    emulated format). ``float32``, ``bfloat16`` or ``float16`` force that choice.
    ``gpu_capabilities`` is a list of (major, minor) per GPU; ``flags`` the CPU's flags.
    """
    if setting not in PRECISIONS:
        raise SettingError(f"precision {setting!r} is not one of: {', '.join(PRECISIONS)}.")
    if setting != "auto":
        return _POLICY[setting], f"set by CH16_PRECISION={setting}"
    if gpu_capabilities:
        major = min(capability[0] for capability in gpu_capabilities)
        if major >= 8:
            return "mixed_bfloat16", f"GPU of compute capability {major}.x computes bfloat16"
        if major == 7:
            return "mixed_float16", "GPU of compute capability 7.x computes float16"
        return "float32", f"GPU of compute capability {major}.x: no fast reduced precision"
    if native_bfloat16(flags):
        found = sorted(BFLOAT16_FLAGS & set(flags))
        return "mixed_bfloat16", f"the CPU computes bfloat16 natively ({', '.join(found)})"
    if flags is None:
        return "float32", "the CPU's features could not be read on this system: float32"
    return "float32", "the CPU has no native bfloat16: no avx512_bf16, amx_bf16 or bf16 flag"


def gpu_capabilities():
    """(major, minor) compute capability of every GPU TensorFlow sees."""
    import tensorflow as tf

    capabilities = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        capabilities.append(tuple(details.get("compute_capability", (0, 0))))
    return capabilities


class dtype_policy:
    """``with ch16.dtype_policy("mixed_bfloat16"): model = build()`` builds the model's layers
    under that Keras policy and restores the previous global policy afterwards."""

    def __init__(self, policy):
        self.policy = policy

    def __enter__(self):
        import keras

        self.previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(self.policy)
        return self

    def __exit__(self, *exc):
        import keras

        keras.config.set_dtype_policy(self.previous)
        return False


def describe_environment():
    """Print the versions, CPU model and devices of this run and return the distribution strategy.

    With more than one GPU visible, training uses ``tf.distribute.MirroredStrategy``
    (one copy of the model per GPU, each batch split between them); otherwise the
    default strategy (one device).
    """
    import keras
    import tensorflow as tf

    global _RUN_START
    _RUN_START = time.perf_counter()
    # Datasets of bucketed batches have no known length; Keras warns about it after each pass.
    warnings.filterwarnings("ignore", message="Your input ran out of data")
    # fit's default shuffle=True does not apply to a tf.data dataset; the pipelines shuffle themselves.
    warnings.filterwarnings("ignore", message="`shuffle=True` was passed")
    if not in_notebook():
        import matplotlib
        matplotlib.use("Agg")  # terminal runs save figures instead of opening windows
        _install_terminal_errors()
    for message in unknown_setting_variables():
        _warn(message)
    print(f"Python {platform.python_version()}, TensorFlow {tf.__version__}, "
          f"Keras {keras.__version__}, NumPy {np.__version__}")
    print(f"CPU: {cpu_model()} ({platform.machine()}, {os.cpu_count()} cores)")
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        details = tf.config.experimental.get_device_details(gpu)
        print(f"GPU: {details.get('device_name', gpu.name)}, compute capability "
              f"{'.'.join(map(str, details.get('compute_capability', ('?',))))}")
    if not gpus:
        print("No GPU found: everything runs on the CPU.")
    if len(gpus) > 1:
        strategy = tf.distribute.MirroredStrategy()
        print(f"{len(gpus)} GPUs: training with MirroredStrategy on {strategy.num_replicas_in_sync} replicas")
    else:
        strategy = tf.distribute.get_strategy()
    return strategy


def _install_terminal_errors():
    """In a terminal run, end on a DataError or SettingError with its one message, no traceback."""
    previous = sys.excepthook

    def excepthook(kind, error, traceback):
        if issubclass(kind, (DataError, SettingError)):
            print(f"\n{kind.__name__}: {error}", file=sys.stderr)
            return
        previous(kind, error, traceback)

    sys.excepthook = excepthook


def run_summary():
    """Print the hardware, versions and wall time of this run (since ``describe_environment``)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    hardware = f"{len(gpus)} GPU(s)" if gpus else "no GPU"
    minutes = (time.perf_counter() - _RUN_START) / 60
    print(f"Run on {cpu_model()} ({os.cpu_count()} cores), {hardware}; Python {platform.python_version()}, "
          f"TensorFlow {tf.__version__}; wall time {minutes:.1f} minutes")


_RUN_START = time.perf_counter()


def show_figure(fig, name):
    """Show a figure inline in Jupyter; in a terminal run save it under cache/figures/."""
    import matplotlib.pyplot as plt

    if in_notebook():
        plt.show()
        return
    path = CACHE_DIR / "figures" / f"{name}.png"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100, bbox_inches="tight")
    except OSError as error:  # a figure is never worth the run: warn and go on
        _warn(f"could not save the figure {display_path(path)} "
              f"({error.strerror or type(error).__name__}); the run goes on without it.")
    else:
        print(f"(figure saved as {display_path(path)})")
    finally:
        plt.close(fig)


def display_path(path):
    """A path as a reader should see it: relative to the project folder when inside it (the
    path itself, not what it links to)."""
    path = Path(path).absolute()
    path = path.parent.resolve() / path.name
    try:
        return str(path.relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------
# Downloads
# --------------------------------------------------------------------------

class NotARegularFileError(OSError):
    """A path where a regular file belongs names a folder, a named pipe, a device or a socket."""


def sha256_of(path):
    """The SHA-256 of the regular file ``path``; a ``NotARegularFileError`` for anything else (a
    named pipe or a device would never end), checked before it is opened and again after."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise NotARegularFileError(errno.EINVAL, "not a regular file", str(path))
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):  # replaced in between
        os.close(descriptor)
        raise NotARegularFileError(errno.EINVAL, "not a regular file", str(path))
    with open(descriptor, "rb") as f:
        digest = hashlib.sha256()
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def _usable_cache(folder):
    """Turn an OS error met in the data cache ``folder`` (a file where a folder belongs, a folder
    where a file belongs, no permission) into a ``DataError`` naming the path."""
    try:
        yield
    except OSError as err:
        where = Path(err.filename) if err.filename else Path(folder)
        in_the_way = err.errno in (errno.ENOTDIR, errno.EISDIR, errno.EEXIST) or isinstance(err, NotARegularFileError)
        advice = ("Remove that path, or set CH16_CACHE_DIR to another folder." if in_the_way else
                  "Check that folder (space, permissions), or set CH16_CACHE_DIR to another folder.")
        raise DataError(f"The data cache cannot be used: {display_path(where)}: {err.strerror or err}. "
                        f"{advice}") from None


@contextlib.contextmanager
def folder_lock(folder, waiting=None):
    """Hold an exclusive lock on ``folder`` (shared with other processes and threads), printing
    ``waiting`` first if another holds it. Where the folder cannot be opened for reading or its
    file system has no locks, go on without one."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting:
                print(waiting)
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as error:
            if error.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                raise
        yield
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def _cache_lock(folder):
    """Hold ``folder`` while this process fills it, after removing the partial files (``*.part``)
    a killed run left there. Another process (or thread) filling the same folder waits for the
    lock, so the partial files of a live download are never removed."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with folder_lock(folder, waiting=f"Waiting for another process that is filling {display_path(folder)} ..."):
        for leftover in folder.glob("*.part"):
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
        yield


def _content_length(response, url, manual_hint):
    """The body length the server announced, or None if it announced none."""
    value = response.headers.get("Content-Length")
    if value is None:
        return None
    if not re.fullmatch(r"\s*[0-9]+\s*", value):
        raise DataError(f"The server of {url} sent a malformed Content-Length ({value!r}). {manual_hint}")
    return int(value)


DOWNLOAD_MIN_RATE = (1_000, 120)  # bytes per second, on average over any this many seconds


def download(url, destination, sha256=None, manual_hint=""):
    """Download ``url`` to ``destination`` with a progress bar.

    The bytes go to a partial file (``*.part``) beside the destination, which is renamed only
    when the download is complete (and its checksum matches), so a failed download never
    leaves a cache entry behind. Every failure is a ``DataError`` ending with ``manual_hint``.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(prefix=destination.name + ".", suffix=".part", dir=destination.parent)
    digest = hashlib.sha256()
    received = 0
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    total = _content_length(response, url, manual_hint)
                    shown = None
                    # read1 returns what has arrived, so that a server sending a byte now and then
                    # (each in time for the 60 s timeout) is caught by the rate check below.
                    read = response.read1 if isinstance(response, http.client.HTTPResponse) else response.read
                    rate, window = DOWNLOAD_MIN_RATE
                    progress = collections.deque([(time.monotonic(), 0)])  # (time, bytes received)
                    for block in iter(lambda: read(1 << 20), b""):
                        out.write(block)
                        digest.update(block)
                        received += len(block)
                        now = time.monotonic()
                        while len(progress) > 1 and progress[1][0] <= now - window:
                            progress.popleft()  # keep one point at least `window` seconds old
                        progress.append((now, received))
                        since, then = progress[0]
                        if now - since >= window and received - then < rate * (now - since):
                            raise TimeoutError(f"too slow: {received - then:,} bytes in the last {now - since:.0f} s, "
                                               f"less than {rate:,} bytes per second")
                        if total and 20 * received // total != shown:
                            shown = 20 * received // total
                            print(f"\r  [{'#' * shown:.<20}] {100 * received // total:3d}% of "
                                  f"{total / 1e6:.1f} MB", end="", flush=True)
                    print()
            except (OSError, http.client.HTTPException) as err:
                failed = f"was interrupted after {received:,} bytes" if received else "failed"
                raise DataError(f"The download of {url} {failed} ({str(err) or type(err).__name__}). "
                                f"{manual_hint}") from None
        if total is not None and received != total:
            raise DataError(f"The download of {url} is truncated: {received:,} bytes received, "
                            f"{total:,} announced. {manual_hint}")
        if sha256 and digest.hexdigest() != sha256:
            raise DataError(f"The download of {url} has the wrong checksum "
                            f"(sha256 {digest.hexdigest()}, expected {sha256}). {manual_hint}")
        os.replace(part, destination)
    finally:
        if os.path.exists(part):
            os.remove(part)
    return destination


# --------------------------------------------------------------------------
# Safe extraction
# --------------------------------------------------------------------------

def _member_problem(member, seen):
    """Why an archive member must not be extracted (None if it may): only plain files and
    folders are, each named once, by a relative path without '..'."""
    name = member.name
    if member.issym() or member.islnk():
        return f"a link to {member.linkname!r}"
    if not (member.isfile() or member.isdir()):
        return "not a regular file or folder"
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        return "an absolute path"
    if ".." in re.split(r"[/\\]", name):
        return "'..' in its path"
    if os.path.normpath(name) in seen:
        return "a second member of that name"
    return None


def safe_extract(archive, target, keep=lambda name: True, manual_hint="", max_bytes=1 << 29,
                 max_members=200_000):
    """Extract the members of a .tar.gz for which ``keep(name)`` is true into ``target``.

    Every member is checked before anything is written: links (symbolic or hard), devices,
    absolute paths, '..' and repeated names are refused, and so are archives of more than
    ``max_members`` members (the official IMDb archive has about 100,000) or kept files of
    more than ``max_bytes`` in all (512 MiB by default; the labelled reviews take about
    70 MB). The archive is unpacked into a new staging folder (``*.part``) that
    replaces ``target`` only when extraction is complete.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    name = Path(archive).name
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = []
            for member in tar:  # counted as read: a flood of tiny members stops here
                members.append(member)
                if len(members) > max_members:
                    raise DataError(f"{name} has more than {max_members:,} members. Nothing was extracted. "
                                    f"{manual_hint}")
            seen = set()
            for member in members:
                problem = _member_problem(member, seen)
                if problem:
                    raise DataError(f"Unsafe archive member {member.name!r} in {name}: {problem}. "
                                    f"Nothing was extracted. {manual_hint}")
                seen.add(os.path.normpath(member.name))
            wanted = [m for m in members if keep(m.name)]
            size = sum(m.size for m in wanted if m.isfile())
            if size > max_bytes:
                raise DataError(f"{name} would unpack to {size:,} bytes, more than the {max_bytes:,} "
                                f"allowed. Nothing was extracted. {manual_hint}")
            staging = Path(tempfile.mkdtemp(prefix=target.name + ".", suffix=".part", dir=target.parent))
            try:
                tar.extractall(staging, members=wanted, filter="data")
                if target.exists():
                    shutil.rmtree(target)
                os.replace(staging, target)
            finally:
                if staging.exists():
                    shutil.rmtree(staging)
    except (tarfile.TarError, EOFError, ValueError, zlib.error) as err:
        raise DataError(f"{name} is truncated or corrupt ({err}). {manual_hint}") from None
    except OSError as err:
        if isinstance(err, (gzip.BadGzipFile, EOFError)):
            raise DataError(f"{name} is truncated or corrupt ({err}). {manual_hint}") from None
        raise DataError(f"Could not extract {name} into {display_path(target.parent)} "
                        f"({err.strerror or err}). {manual_hint}") from None
    return target


# --------------------------------------------------------------------------
# IMDb: the Large Movie Review Dataset (Maas et al., 2011)
# --------------------------------------------------------------------------

def _imdb_hint(data_dir=None):
    where = data_dir or "a folder named by CH16_DATA_DIR"
    return (f"Download {IMDB_URL} by hand and put it (or its extracted aclImdb/ folder) "
            f"in {where}, then set CH16_DATA_DIR to that folder.")


def _review_files(folder, data_dir=None):
    """The review files (``*.txt``) in ``folder``, sorted by review id; none if it is missing."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as err:
        raise DataError(f"The IMDb folder {folder} is unreadable ({err.strerror or err}). "
                        f"{_imdb_hint(data_dir)}") from None
    return sorted((folder / name for name in names if name.endswith(".txt")), key=_review_id)


def _read_text(path, manual_hint):
    """The UTF-8 text of the regular file ``path``; a ``DataError`` naming it otherwise."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # never open a folder or a named pipe
            raise DataError(f"{path} is not a regular file. {manual_hint}")
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{path} is not UTF-8 text ({err.reason} at byte {err.start}). "
                        f"{manual_hint}") from None
    except OSError as err:
        raise DataError(f"{path} is unreadable ({err.strerror or err}). {manual_hint}") from None


def _check_imdb_folder(root, data_dir=None):
    for split in IMDB_SPLITS:
        for label in IMDB_CLASSES:
            folder = root / split / label
            if not _review_files(folder, data_dir):
                raise DataError(f"The IMDb folder {root} is missing the split {split}/{label} "
                                f"(no reviews in {folder}). {_imdb_hint(data_dir)}")
    return root


def _imdb_member_wanted(name):
    parts = Path(name).parts
    return len(parts) <= 2 or (parts[1] in IMDB_SPLITS and parts[2] in IMDB_CLASSES)


def imdb_folder(data_dir=None, cache_dir=None, url=IMDB_URL, sha256=IMDB_SHA256):
    """Return the path of an ``aclImdb`` folder holding train/test × neg/pos reviews.

    Looks in ``data_dir`` first (an ``aclImdb/`` folder or an ``aclImdb*.tar.gz``), with no
    network; otherwise uses the cache, downloading the official archive on first use (and
    again if the cached one does not have the checksum ``sha256``). The unlabelled
    ``train/unsup`` folder is never needed (and not extracted).
    """
    cache_dir = Path(cache_dir or CACHE_DIR / "data")
    hint = _imdb_hint(data_dir)
    if data_dir is None:
        archive, archive_sha256 = cache_dir / Path(url).name, sha256
    else:
        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise DataError(f"CH16_DATA_DIR names {data_dir}, which is not a folder. {hint}")
        if (data_dir / "aclImdb").is_dir():
            return _check_imdb_folder(data_dir / "aclImdb", data_dir)
        archives = sorted(data_dir.glob("aclImdb*.tar.gz"))
        if not archives:
            raise DataError(f"No aclImdb/ folder or aclImdb*.tar.gz in {data_dir}. {hint}")
        if len(archives) > 1:
            raise DataError(f"{data_dir} holds {len(archives)} IMDb archives "
                            f"({', '.join(a.name for a in archives)}): keep one. {hint}")
        archive = archives[0]
        try:
            archive_sha256 = sha256_of(archive)
        except OSError as err:
            raise DataError(f"{archive} cannot be read ({err.strerror or err}). {hint}") from None
    extracted = cache_dir / "aclImdb"
    marker = cache_dir / "aclImdb.complete"
    source = f"{archive.name} sha256 {archive_sha256}"
    with _usable_cache(cache_dir), _cache_lock(cache_dir):
        if extracted.is_dir() and marker.is_file() and marker.read_bytes() == source.encode():
            return _check_imdb_folder(extracted, data_dir)
        if data_dir is None:
            if archive.exists() and sha256_of(archive) != sha256:
                archive.unlink()
                print(f"Deleted {display_path(archive)}: it does not have the expected checksum.")
            if not archive.exists():
                print(f"Downloading the IMDb reviews (84 MB) from {url}")
                download(url, archive, sha256, manual_hint=hint)
        print(f"Extracting {archive.name} (labelled reviews only) ...")
        marker.unlink(missing_ok=True)
        unpacked = safe_extract(archive, cache_dir / "aclImdb_extract", keep=_imdb_member_wanted,
                                manual_hint=hint)
        try:  # the unpacked folder goes in every case; only a checked folder becomes the cache entry
            if not (unpacked / "aclImdb").is_dir():
                raise DataError(f"{archive.name} holds no aclImdb/ folder. {hint}")
            _check_imdb_folder(unpacked / "aclImdb", data_dir)
            if extracted.exists():
                shutil.rmtree(extracted)
            os.replace(unpacked / "aclImdb", extracted)
        finally:
            shutil.rmtree(unpacked)
        marker.write_text(source)
    return extracted


def _review_id(path):
    """The numeric id of a review file named ID_RATING.txt (files sort by it)."""
    head = path.stem.split("_")[0]
    return (int(head) if head.isdigit() else 0, path.name)


def load_imdb(data_dir=None, cache_dir=None, url=IMDB_URL, sha256=IMDB_SHA256):
    """Read the labelled IMDb reviews: {"train": (texts, labels), "test": (texts, labels)}.

    Texts are a NumPy array of str in a fixed order (negative then positive, files sorted by
    review id); labels are 0 (negative) or 1 (positive).
    """
    root = imdb_folder(data_dir, cache_dir, url, sha256)
    splits = {}
    for split in IMDB_SPLITS:
        texts, labels = [], []
        for label, name in enumerate(IMDB_CLASSES):
            files = _review_files(root / split / name, data_dir)
            texts += [_read_text(f, _imdb_hint(data_dir)) for f in files]
            labels += [label] * len(files)
        splits[split] = (np.array(texts, dtype=object), np.array(labels, dtype=np.int32))
    return splits


# --------------------------------------------------------------------------
# The Mysterious Island: Project Gutenberg ebook #1268
# --------------------------------------------------------------------------

def _novel_hint(data_dir=None):
    where = data_dir or "a folder named by CH16_DATA_DIR"
    return (f"Download {NOVEL_URL} by hand, save it as {NOVEL_FILE} in {where}, "
            f"then set CH16_DATA_DIR to that folder.")


# Marker lines, found by fixed patterns (no nested repetition: linear time on any text).
_START_MARKER = re.compile(r"^\*\*\* ?START OF (THIS|THE) PROJECT GUTENBERG EBOOK", re.M)
_END_MARKER = re.compile(r"^\*\*\* ?END OF (THIS|THE) PROJECT GUTENBERG EBOOK", re.M)
_CLOSING_LINE = re.compile(r"^End of (the )?Project Gutenberg", re.M | re.I)


def trim_gutenberg(raw, source="the text"):
    """Strip the byte-order mark, normalise line endings, and cut the Project Gutenberg
    header and licence at their START/END marker lines, then the "Produced by" paragraph
    and the "End of the Project Gutenberg ..." line between them."""
    text = raw.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    start = _START_MARKER.search(text)
    end = _END_MARKER.search(text)
    if start is None or end is None:
        missing = "START" if start is None else "END"
        raise DataError(f"{source} has no Project Gutenberg {missing} marker: the file is "
                        f"truncated or not a Project Gutenberg text.")
    if end.start() < start.start():
        raise DataError(f"{source} has its Project Gutenberg END marker before its START marker: "
                        f"it is not a Project Gutenberg text.")
    body = text[text.find("\n", start.end()):end.start()].strip()
    if body[:30].lower().startswith(("produced by", "this ebook was produced by")):
        paragraph_end = body.find("\n\n")
        if paragraph_end >= 0:
            body = body[paragraph_end + 2:]
    closing = _CLOSING_LINE.search(body)
    return body[:closing.start() if closing else None].strip() + "\n"


def load_mysterious_island(data_dir=None, cache_dir=None, url=NOVEL_URL, min_chars=NOVEL_MIN_CHARS):
    """Return the text of *The Mysterious Island* without the Project Gutenberg header and licence.

    Reads ``data_dir/1268-0.txt`` when ``data_dir`` is given (no network); otherwise the
    cached copy, downloading it on first use (and again if the cached copy is damaged).
    A text of fewer than ``min_chars`` characters is refused as truncated.
    """
    if data_dir is not None:
        path = Path(data_dir) / NOVEL_FILE
        if not path.exists():
            raise DataError(f"No {NOVEL_FILE} in {data_dir}. {_novel_hint(data_dir)}")
        return _read_novel(path, min_chars, _novel_hint(data_dir))
    cache_dir = Path(cache_dir or CACHE_DIR / "data")
    path = cache_dir / NOVEL_FILE
    hint = _novel_hint()
    with _usable_cache(cache_dir), _cache_lock(cache_dir):
        if path.exists():
            try:
                return _read_novel(path, min_chars, hint)
            except DataError:
                path.unlink()
                print(f"Deleted {display_path(path)}: it is not a complete Project Gutenberg text.")
        print(f"Downloading The Mysterious Island (1.2 MB) from {url}")
        fresh = download(url, path.with_name(path.name + ".download"), manual_hint=hint)
        try:
            text = _read_novel(fresh, min_chars, hint)
        except DataError:
            fresh.unlink()
            raise
        os.replace(fresh, path)
    return text


def _read_novel(path, min_chars, manual_hint):
    raw = _read_text(path, manual_hint)
    try:
        text = trim_gutenberg(raw, source=str(path))
    except DataError as err:
        raise DataError(f"{err} {manual_hint}") from None
    if len(text) < min_chars:
        raise DataError(f"{path} holds only {len(text):,} characters of text: truncated? {manual_hint}")
    return text


# --------------------------------------------------------------------------
# Training helpers
# --------------------------------------------------------------------------

def split_evenly(batches, strategy):
    """Trim every batch to a multiple of the strategy's replica count (unchanged on one device).

    Under ``MirroredStrategy`` each batch is split between the replicas, and on TF 2.21 Keras's
    distributed train and test steps fail ("Inputs to operation AddN ... must have the same
    size and shape") when the first batch does not split evenly, as a bucket's partly filled
    batch may not. Up to ``replicas - 1`` examples of such a batch are left out.
    """
    import tensorflow as tf

    replicas = strategy.num_replicas_in_sync
    if replicas == 1:
        return batches

    def trim(inputs, targets):
        keep = tf.shape(inputs)[0] // replicas * replicas
        return inputs[:keep], targets[:keep]

    return batches.map(trim).filter(lambda inputs, targets: tf.shape(inputs)[0] > 0)


def autotune_off(dataset):
    """Turn tf.data autotuning off for a dataset given to ``fit``/``evaluate``.

    On TF 2.21, destroying a used iterator waits for the autotune thread, which can sleep
    for up to 60 s: ``fit``/``evaluate`` then sit idle at epoch boundaries. Without
    autotuning the results are identical and the stalls are gone. (A fixed prefetch buffer
    still overlaps input and training.)
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def epoch_log(max_epochs):
    """A Keras callback that prints one line per epoch (time, losses and metrics, learning-rate
    changes) and adds the epoch's seconds to the history as ``seconds``. Put it last in the
    callback list, so that it sees the learning rate that ReduceLROnPlateau has just set."""
    import keras

    class EpochLog(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self._start
            shown = "  ".join(f"{name} {value:.4f}" for name, value in logs.items()
                              if name != "learning_rate")
            line = f"epoch {epoch + 1:>2}/{max_epochs}: {seconds:3.0f} s  {shown}"
            learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            if learning_rate != self.learning_rate:
                line += f"  (val_loss did not improve: learning rate {self.learning_rate:.0e} -> {learning_rate:.0e})"
                self.learning_rate = learning_rate
            print(line, flush=True)
            logs["seconds"] = seconds

    return EpochLog()


def report_best_epoch(history):
    """Print the epoch whose weights early stopping kept, and the mean seconds per epoch."""
    best = int(np.argmin(history["val_loss"]))
    print(f"Best epoch {best + 1} of {len(history['val_loss'])} (val_loss {history['val_loss'][best]:.4f}), "
          f"its weights kept; {np.mean(history['seconds']):.1f} s per epoch")


def model_key(name, settings, vocabulary, data):
    """A short hex digest (SHA-256) of everything that determines a trained model.

    ``settings`` are the model's own settings, a JSON-able dict (sizes, learning rate,
    epochs, seed, precision...; not ``model.get_config()``, whose automatic layer names
    change from run to run). ``vocabulary`` is a list or array of tokens, or a string of
    characters: all of it counts. ``data`` identifies the training data: a JSON-able
    value, bytes or a NumPy array.
    """
    parts = {"name": name, "settings": settings,
             "vocabulary": _fingerprint([str(token) for token in vocabulary]),
             "data": _fingerprint(data)}
    return _fingerprint(parts)[:16]


def _fingerprint(value):
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
    """NumPy numbers and arrays as plain Python values, for ``json.dumps``."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"model_key: a {type(value).__name__} is not JSON-able; "
                    "describe it with numbers, strings, lists and dicts")


def model_path(name, key):
    """Where the model ``name`` trained with ``key`` is saved; its ``.json`` (key, history,
    checksum) is beside it. Each key has its own files: a quick-mode run, another seed or
    another precision never overwrites a model trained with other settings."""
    return CACHE_DIR / "models" / f"{name}-{key}.keras"


def _warn(message):
    """A one-line warning on stderr (shown every time, unlike ``warnings.warn``)."""
    print(f"Warning: {message}", file=sys.stderr, flush=True)


def _temporary_name(path):
    """An unused name in the folder of ``path``, hidden and with the same suffix."""
    return path.with_name(f".{path.stem}.{os.getpid()}.{os.urandom(4).hex()}{path.suffix}")


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
        model.save(temporary[0])
        meta = {"key": key, "keras_sha256": sha256_of(temporary[0]), "history": history}
        temporary[1].write_text(json.dumps(meta))
        with folder_lock(path.parent):  # another run saving the same model renames its pair before or after
            os.replace(temporary[0], path)
            os.replace(temporary[1], meta_path)
        return True
    except Exception as error:  # noqa: BLE001  (whatever failed, the trained model must not be lost)
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        _warn(f"could not save the trained '{model.name}' model in {display_path(path.parent)} "
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


def _read_entry(path, key):
    """The verified ``(.keras bytes, history)`` saved at ``path`` for ``key``; None if there is none.

    Raises ``_DamagedEntry`` for unreadable or mismatched files. The ``.keras`` is read
    after the ``.json``: a save that replaces it in between shows as a checksum mismatch,
    so that case is read once more after a pause.
    """
    meta_path = path.with_suffix(".json")
    for attempt in range(2):
        try:
            meta = json.loads(meta_path.read_bytes())
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, ValueError, RecursionError) as error:
            raise _DamagedEntry(meta_path, f"not readable JSON: {type(error).__name__}")
        if not isinstance(meta, dict) or "key" not in meta:
            raise _DamagedEntry(meta_path, "it has no key")
        if meta["key"] != key:
            return None
        history = meta.get("history")
        if not (isinstance(meta.get("keras_sha256"), str) and isinstance(history, dict)
                and all(isinstance(values, list) for values in history.values())):
            raise _DamagedEntry(meta_path, "it lacks the checksum or the history")
        try:
            model_bytes = path.read_bytes()
        except OSError as error:
            raise _DamagedEntry(path, error.strerror or type(error).__name__)
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
        with tempfile.TemporaryDirectory(prefix="ch16-") as folder:
            copy = Path(folder) / path.name
            copy.write_bytes(model_bytes)
            with (strategy or tf.distribute.get_strategy()).scope():
                try:
                    model = keras.models.load_model(copy)
                except Exception as error:  # a verified file Keras cannot read: retrain, never crash
                    raise _DamagedEntry(path, f"Keras cannot load it: {type(error).__name__}")
    except _DamagedEntry as damage:
        file, problem = damage.args
        _warn(f"ignoring the saved model file {display_path(file)} ({problem}).")
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
        _warn(f"cannot write to the model cache folder {display_path(folder)} "
              f"({error.strerror or type(error).__name__}): the trained '{model.name}' model "
              "will stay usable in this session but will not be saved.")
    history = train(model)
    history = getattr(history, "history", history)
    history = {name: [float(value) for value in values] for name, values in history.items()}
    if error is None:
        save_trained(model, history, key)
    return model, history


def plot_history(history, metrics, title, name):
    """Training and validation curves per epoch, one panel per metric (the one plot helper)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = range(1, len(history["loss"]) + 1)
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.8))
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        if metric in history:
            ax.plot(epochs, history[metric], "o-", label="training")
        ax.plot(epochs, history[f"val_{metric}"], "s--", label="validation")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    show_figure(fig, name)


# --------------------------------------------------------------------------
# Benchmarks
# --------------------------------------------------------------------------

def benchmark_header(argv):
    """Print the head of a benchmark's printout: date (UTC), command, CPU, GPUs and versions.

    ``argv`` is the benchmark's ``sys.argv``; a ``--data-dir`` value is shown as ``DIR``, so
    that no local path of the machine appears in a committed printout.
    """
    from datetime import datetime, timezone

    import keras
    import tensorflow as tf

    arguments = ["DIR" if previous == "--data-dir" else
                 "--data-dir=DIR" if argument.startswith("--data-dir=") else argument
                 for previous, argument in zip([None, *argv[1:]], argv[1:])]
    flags = cpu_flags()
    if flags is None:
        bf16_flags = "unknown (the CPU's flags cannot be read on this system)"
    else:
        bf16_flags = ", ".join(sorted(BFLOAT16_FLAGS & flags)) or "none"
    gpus = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        capability = ".".join(map(str, details.get("compute_capability", ("?",))))
        gpus.append(f"{details.get('device_name', gpu.name)} (compute capability {capability})")
    for label, value in [
        ("Date (UTC)", f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M}"),
        ("Command", shlex.join(["python", "-m", "benchmarks." + Path(argv[0]).stem, *arguments])),
        ("CPU", f"{cpu_model()} ({platform.machine()}, {os.cpu_count()} cores)"),
        ("bfloat16 flags", bf16_flags),
        ("GPUs", "; ".join(gpus) or "none"),
        ("Versions", f"Python {platform.python_version()}, TensorFlow {tf.__version__}, "
                     f"Keras {keras.__version__}, NumPy {np.__version__}"),
    ]:
        print(f"{label + ':':<16}{value}")
    print(flush=True)
    for message in unknown_setting_variables():
        _warn(message)
