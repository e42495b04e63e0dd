"""Helpers shared by the chapter's two notebooks and its tests.

Nothing in this module is part of the chapter's lesson: it downloads and checks the
data sets, chooses the run settings (full or quick mode), describes the machine,
saves and reloads trained models, times epochs and shows figures. Everything a
reader learns from lives in the notebooks.
"""

import hashlib
import json
import os
import platform
import re
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np

PROJECT_DIR = Path(__file__).resolve().parent
CACHE_DIR = Path(os.environ.get("CH16_CACHE_DIR", PROJECT_DIR / "cache"))

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

def choose_settings(quick, **settings):
    """Pick the full-run or quick-mode value of each setting and say what quick mode changed.

    Each keyword is ``NAME=(full_value, quick_value)``; returns a namespace of the chosen values.
    """
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
    """True inside a Jupyter kernel, False in a terminal run of the exported script."""
    return "ipykernel" in sys.modules


def describe_environment():
    """Print the versions and devices of this run and return the distribution strategy.

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
    if not in_notebook():
        import matplotlib
        matplotlib.use("Agg")  # terminal runs save figures instead of opening windows
    print(f"Python {platform.python_version()}, TensorFlow {tf.__version__}, "
          f"Keras {keras.__version__}, NumPy {np.__version__}")
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores")
    devices = tf.config.list_physical_devices()
    print("Devices TensorFlow sees: " + ", ".join(f"{d.device_type} {d.name.split(':', 1)[-1]}"
                                                   for d in devices))
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        print("No GPU found: everything runs on the CPU (the timings in the text are for a 2-core CPU).")
    if len(gpus) > 1:
        strategy = tf.distribute.MirroredStrategy()
        print(f"{len(gpus)} GPUs: training with MirroredStrategy on {strategy.num_replicas_in_sync} replicas")
    else:
        strategy = tf.distribute.get_strategy()
    return strategy


def run_summary():
    """Print the hardware, versions and wall time of this run (since ``describe_environment``)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    hardware = f"{len(gpus)} GPU(s)" if gpus else f"{os.cpu_count()} CPU cores, no GPU"
    minutes = (time.perf_counter() - _RUN_START) / 60
    print(f"Run on {platform.machine()}, {hardware}; Python {platform.python_version()}, "
          f"TensorFlow {tf.__version__}; wall time {minutes:.1f} minutes")


_RUN_START = time.perf_counter()


def use_mixed_precision(enabled):
    """Compute in float16 (variables stay float32) when asked and a GPU is present.

    Models keep their output layer in float32 so that the logits and the loss are exact.
    """
    import keras
    import tensorflow as tf

    if enabled and tf.config.list_physical_devices("GPU"):
        keras.mixed_precision.set_global_policy("mixed_float16")
        print("Mixed precision: float16 computations, float32 variables and outputs")
    elif enabled:
        print("Mixed precision asked for, but there is no GPU: staying with float32")


def show_figure(fig, name):
    """Show a figure inline in Jupyter; in a terminal run save it under cache/figures/."""
    import matplotlib.pyplot as plt

    if in_notebook():
        plt.show()
        return
    folder = CACHE_DIR / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    fig.savefig(folder / f"{name}.png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"(figure saved as cache/figures/{name}.png)")


# --------------------------------------------------------------------------
# Downloads
# --------------------------------------------------------------------------

def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url, destination, sha256=None, manual_hint=""):
    """Download ``url`` to ``destination`` with a progress bar.

    The bytes go to a temporary file beside the destination, which is renamed only when
    the download is complete (and its checksum matches), so an interrupted or corrupt
    download never leaves a cache entry behind.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=destination.name + ".", suffix=".part",
                                    dir=destination.parent)
    digest = hashlib.sha256()
    received = 0
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(url, timeout=60)
            except (urllib.error.URLError, OSError) as err:
                raise DataError(f"Could not download {url} ({err}). {manual_hint}") from None
            with response:
                total = int(response.headers.get("Content-Length") or 0)
                shown = -1
                while True:
                    try:
                        block = response.read(1 << 20)
                    except OSError as err:
                        raise DataError(f"The download of {url} was interrupted after "
                                        f"{received:,} bytes ({err}). {manual_hint}") from None
                    if not block:
                        break
                    out.write(block)
                    digest.update(block)
                    received += len(block)
                    if total:
                        percent = 100 * received // total
                        if percent // 5 != shown:
                            shown = percent // 5
                            bar = "#" * shown + "." * (20 - shown)
                            print(f"\r  [{bar}] {percent:3d}% of {total / 1e6:.1f} MB",
                                  end="", flush=True)
                print()
        if total and received != total:
            raise DataError(f"The download of {url} is truncated: {received:,} of {total:,} bytes. "
                            f"{manual_hint}")
        if sha256 and digest.hexdigest() != sha256:
            raise DataError(f"The download of {url} has the wrong checksum "
                            f"(sha256 {digest.hexdigest()}, expected {sha256}). {manual_hint}")
        os.replace(tmp_name, destination)
    finally:
        if os.path.exists(tmp_name):
            os.remove(tmp_name)
    return destination


# --------------------------------------------------------------------------
# Safe extraction
# --------------------------------------------------------------------------

def _check_member(member, target):
    """Refuse archive members that would write outside ``target`` or are not plain files."""
    name = member.name
    parts = Path(name).parts
    if name.startswith(("/", "\\")) or Path(name).is_absolute() or re.match(r"^[A-Za-z]:", name):
        raise DataError(f"Unsafe archive member {name!r}: absolute path. Nothing was extracted.")
    if ".." in parts:
        raise DataError(f"Unsafe archive member {name!r}: '..' in its path. Nothing was extracted.")
    if member.issym() or member.islnk():
        link = Path(member.linkname)
        base = (target / name).parent if member.issym() else target
        resolved = os.path.normpath(base / link)
        if link.is_absolute() or not resolved.startswith(str(target) + os.sep):
            raise DataError(f"Unsafe archive member {name!r}: a link to {member.linkname!r}, "
                            "outside the target folder. Nothing was extracted.")
    elif not (member.isfile() or member.isdir()):
        raise DataError(f"Unsafe archive member {name!r}: not a regular file or folder. "
                        "Nothing was extracted.")


def safe_extract(archive, target, keep=lambda name: True, manual_hint=""):
    """Extract the members of a .tar.gz for which ``keep(name)`` is true into ``target``.

    Every member is checked before anything is written; the archive is unpacked into a
    temporary folder that is renamed to ``target`` only when extraction is complete.
    """
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member, target)
            wanted = [m for m in members if keep(m.name)]
            tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", suffix=".part", dir=target.parent))
            try:
                tar.extractall(tmp, members=wanted, filter="data")
                if target.exists():
                    shutil.rmtree(target)
                os.replace(tmp, target)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp)
    except (tarfile.TarError, EOFError, OSError, ValueError) as err:
        raise DataError(f"{Path(archive).name} is truncated or corrupt ({err}). {manual_hint}") from None
    return target


# --------------------------------------------------------------------------
# IMDb: the Large Movie Review Dataset (Maas et al., 2011)
# --------------------------------------------------------------------------

def _imdb_hint(data_dir=None):
    where = data_dir or "a folder named by CH16_DATA_DIR"
    return (f"Download {IMDB_URL} by hand and put it (or its extracted aclImdb/ folder) "
            f"in {where}, then set CH16_DATA_DIR to that folder.")


def _check_imdb_folder(root, data_dir=None):
    for split in IMDB_SPLITS:
        for label in IMDB_CLASSES:
            folder = root / split / label
            if not folder.is_dir() or not any(folder.glob("*.txt")):
                raise DataError(f"The IMDb folder {root} is missing the split {split}/{label} "
                                f"(no reviews in {folder}). {_imdb_hint(data_dir)}")
    return root


def _imdb_member_wanted(name):
    parts = Path(name).parts
    return len(parts) <= 2 or (parts[1] in IMDB_SPLITS and parts[2] in IMDB_CLASSES)


def imdb_folder(data_dir=None, cache_dir=None, url=IMDB_URL, sha256=IMDB_SHA256):
    """Return the path of an ``aclImdb`` folder holding train/test × neg/pos reviews.

    Looks in ``data_dir`` first (an ``aclImdb/`` folder or an ``aclImdb*.tar.gz``), with no
    network; otherwise uses the cache, downloading the official archive on first use.
    The unlabelled ``train/unsup`` folder is never needed (and not extracted).
    """
    cache_dir = Path(cache_dir or CACHE_DIR / "data")
    archives = []
    if data_dir is not None:
        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise DataError(f"CH16_DATA_DIR names {data_dir}, which is not a folder. "
                            f"{_imdb_hint(data_dir)}")
        if (data_dir / "aclImdb").is_dir():
            return _check_imdb_folder(data_dir / "aclImdb", data_dir)
        archives = sorted(data_dir.glob("aclImdb*.tar.gz"))
        if not archives:
            raise DataError(f"No aclImdb/ folder or aclImdb*.tar.gz in {data_dir}. "
                            f"{_imdb_hint(data_dir)}")
    extracted = cache_dir / "aclImdb"
    marker = cache_dir / "aclImdb.complete"
    if archives:
        archive = archives[0]
        source = f"{archive.name} sha256 {sha256_of(archive)}"
    else:
        archive = cache_dir / Path(url).name
        source = f"{archive.name} sha256 {sha256}"
    if extracted.is_dir() and marker.exists() and marker.read_text() == source:
        return _check_imdb_folder(extracted, data_dir)
    if not archives and not archive.exists():
        print(f"Downloading the IMDb reviews (84 MB) from {url}")
        download(url, archive, sha256, manual_hint=_imdb_hint(data_dir))
    print(f"Extracting {archive.name} (labelled reviews only) ...")
    marker.unlink(missing_ok=True)
    staging = safe_extract(archive, cache_dir / "aclImdb_extract", keep=_imdb_member_wanted,
                           manual_hint=_imdb_hint(data_dir))
    try:  # the staging folder goes in every case; only a checked folder becomes the cache entry
        if not (staging / "aclImdb").is_dir():
            raise DataError(f"{archive.name} holds no aclImdb/ folder. {_imdb_hint(data_dir)}")
        _check_imdb_folder(staging / "aclImdb", data_dir)
        if extracted.exists():
            shutil.rmtree(extracted)
        os.replace(staging / "aclImdb", extracted)
    finally:
        shutil.rmtree(staging)
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
            files = sorted((root / split / name).glob("*.txt"), key=_review_id)
            texts += [f.read_text(encoding="utf-8") for f in files]
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


def trim_gutenberg(raw, source="the text"):
    """Strip the byte-order mark, normalise line endings, and cut the Project Gutenberg
    header and licence at their START/END markers."""
    text = raw.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    start = re.search(r"^\*\*\* ?START OF (THIS|THE) PROJECT GUTENBERG EBOOK.*$", text, re.M)
    end = re.search(r"^\*\*\* ?END OF (THIS|THE) PROJECT GUTENBERG EBOOK.*$", text, re.M)
    if start is None or end is None or end.start() < start.end():
        missing = "START" if start is None else "END"
        raise DataError(f"{source} has no Project Gutenberg {missing} marker: the file is "
                        f"truncated or not a Project Gutenberg text.")
    body = text[start.end():end.start()].strip()
    body = re.sub(r"\A(Produced by|This eBook was produced by).*?\n\n", "", body, flags=re.S | re.I)
    body = re.sub(r"\n*End of (the )?Project Gutenberg.*\Z", "", body, flags=re.S | re.I)
    return body.strip() + "\n"


def load_mysterious_island(data_dir=None, cache_dir=None, url=NOVEL_URL):
    """Return the text of *The Mysterious Island* without the Project Gutenberg header and licence.

    Reads ``data_dir/1268-0.txt`` when ``data_dir`` is given (no network); otherwise the
    cached copy, downloading it on first use.
    """
    if data_dir is not None:
        data_dir = Path(data_dir)
        path = data_dir / NOVEL_FILE
        if not data_dir.is_dir() or not path.is_file():
            raise DataError(f"No {NOVEL_FILE} in {data_dir}. {_novel_hint(data_dir)}")
    else:
        path = Path(cache_dir or CACHE_DIR / "data") / NOVEL_FILE
        if not path.exists():
            print(f"Downloading The Mysterious Island (1.2 MB) from {url}")
            tmp = download(url, path.with_name(path.name + ".download"),
                           manual_hint=_novel_hint(data_dir))
            try:
                _read_novel(tmp, data_dir)
            except DataError:
                tmp.unlink()
                raise
            os.replace(tmp, path)
    return _read_novel(path, data_dir)


def _read_novel(path, data_dir=None):
    try:
        raw = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{Path(path).name} is not UTF-8 text ({err}). {_novel_hint(data_dir)}") from None
    text = trim_gutenberg(raw, source=Path(path).name)
    if len(text) < NOVEL_MIN_CHARS and data_dir is None:
        raise DataError(f"{Path(path).name} holds only {len(text):,} characters of text: "
                        f"truncated? {_novel_hint(data_dir)}")
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


def no_autotune(dataset, prefetch=8):
    """Prefetch a few batches (none if ``prefetch`` is None) and turn tf.data autotuning off.

    On TF 2.21, destroying a used iterator waits for the autotune thread, which can sleep
    for up to 60 s: ``fit``/``evaluate`` then sit idle at epoch boundaries. Without
    autotuning the results are identical and the stalls are gone.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    if prefetch is not None:
        dataset = dataset.prefetch(prefetch)
    return dataset.with_options(options)


def epoch_timer():
    """A Keras callback that records the wall time of every training epoch in ``.times``."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.times = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self._start)
            if logs is not None:
                logs["epoch_seconds"] = self.times[-1]

    return EpochTimer()


def model_path(name):
    return CACHE_DIR / "models" / f"{name}.keras"


def save_trained(model, history, name, signature):
    """Save a trained model, its training history and a signature of what it was trained on."""
    path = model_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    path.with_suffix(".json").write_text(json.dumps({"signature": signature, "history": history}))


def load_trained(name, signature):
    """Load a saved model and its history if it was trained on the same ``signature``, else None."""
    import keras

    path = model_path(name)
    meta_path = path.with_suffix(".json")
    if not (path.exists() and meta_path.exists()):
        return None
    meta = json.loads(meta_path.read_text())
    if meta.get("signature") != json.loads(json.dumps(signature)):
        return None
    return keras.models.load_model(path), meta["history"]


def fit_or_load(model, train_batches, val_batches, max_epochs, signature, retrain=False, patience=2):
    """Train with early stopping on the validation loss (best weights restored), or load.

    When the validation loss does not improve for an epoch, the learning rate is divided by 5;
    when it has not improved for ``patience`` epochs, training stops.

    Keras prints one line per epoch. Records the seconds of every epoch in the history
    ("epoch_seconds"), saves the model
    in the ``.keras`` format with its history, and on a rerun loads the saved model instead
    of retraining when it was trained on the same ``signature`` (unless ``retrain``).
    Returns ``(model, history)`` with history a dict of per-epoch lists.
    """
    import keras

    saved = None if retrain else load_trained(model.name, signature)
    if saved is not None:
        print(f"Loaded the trained '{model.name}' model saved by an earlier run "
              "(set CH16_RETRAIN=1 to retrain).")
        return saved
    early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                                   restore_best_weights=True)
    reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=0,
                                                  min_lr=1e-5, verbose=1)
    history = model.fit(train_batches, validation_data=val_batches, epochs=max_epochs, shuffle=False,
                        callbacks=[epoch_timer(), reduce_lr, early_stopping], verbose=2)
    history = {key: [float(v) for v in values] for key, values in history.history.items()}
    best = int(np.argmin(history["val_loss"]))
    print(f"Best epoch {best + 1} of {len(history['loss'])}: val_loss {history['val_loss'][best]:.4f}; "
          f"{np.mean(history['epoch_seconds']):.1f} s per epoch")
    save_trained(model, history, model.name, signature)
    return model, history


def plot_history(history, metrics, title, name):
    """Training and validation curves per epoch, one panel per metric (the one plot helper)."""
    import matplotlib.pyplot as plt

    epochs = range(1, len(history["loss"]) + 1)
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.8))
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        if metric in history:
            ax.plot(epochs, history[metric], "o-", label="training")
        ax.plot(epochs, history[f"val_{metric}"], "s--", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    show_figure(fig, name)
