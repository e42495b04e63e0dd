"""The Large Movie Review Dataset (Maas et al., 2011): a local aclImdb/ folder, or the official archive
(downloaded or local), opened only with the official SHA-256 and extracted once (docs/data.md)."""

import os
import re
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

import numpy as np

from ch16.download import download, printable, sha256_of
from ch16.errors import DataError
from ch16.settings import cache_dir as default_cache_dir

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
IMDB_SPLITS, IMDB_CLASSES = ("train", "test"), ("neg", "pos")  # labels 0 and 1
MAX_REVIEW_BYTES = 1 << 20  # the longest real review has about 14,000 bytes
MAX_SHARED = 0.05  # of a split: more repeated reviews than this, and the evaluation would not be on unseen text
HINT = (f"Download {IMDB_URL} by hand, extract it (tar -xzf aclImdb_v1.tar.gz) and set CH16_DATA_DIR "
        "to the folder that holds aclImdb/.")


def load_imdb(data_dir=None, cache_dir=None, url=IMDB_URL, sha256=IMDB_SHA256):
    """The labelled reviews: {"train": (texts, labels), "test": (texts, labels)}, texts an array of str
    (negative, then positive, each by review id), labels 0 (negative) or 1 (positive). From ``data_dir``
    (no network): its ``aclImdb/`` folder or the official archive; otherwise from the data cache
    (default ``CH16_CACHE_DIR/data``), the archive downloaded on first use."""
    root = imdb_folder(data_dir, cache_dir, url, sha256)
    try:
        return read_reviews(root)
    except (DataError, OSError) as error:
        cached = data_dir is None or root != Path(data_dir) / "aclImdb"
        raise DataError(f"{error}{f' (the data cache copy: delete {root} to extract it again)' * cached}") from None


def imdb_folder(data_dir=None, cache_dir=None, url=IMDB_URL, sha256=IMDB_SHA256):
    """The path of the ``aclImdb/`` folder that ``load_imdb`` reads (see there)."""
    archive = None
    if data_dir is not None:
        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise DataError(f"CH16_DATA_DIR names {data_dir}, which is not a folder. {HINT}")
        if (data_dir / "aclImdb").is_dir():
            return data_dir / "aclImdb"
        archives = sorted(path for path in data_dir.glob("aclImdb*.tar.gz") if path.is_file())
        if not archives:
            raise DataError(f"{data_dir} holds no aclImdb/ folder and no {Path(url).name}. {HINT}")
        archive = next((found for found in archives if sha256_of(found) == sha256), None)
        if archive is None:
            raise DataError(f"{archives[0]} is not the official archive (its SHA-256 differs: cut short?), so it "
                            "is not opened. Download it again, or extract it (tar -xzf) and point CH16_DATA_DIR there.")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "data"
    extracted = cache / "aclImdb"
    if extracted.is_dir():
        return extracted
    try:
        cache.mkdir(parents=True, exist_ok=True)
        if archive is None:
            archive = cache / Path(url).name
            if archive.exists() and (not archive.is_file() or sha256_of(archive) != sha256):  # reported, not deleted
                raise DataError(f"{archive} is not the official archive: delete it to download it again.")
            if not archive.exists():
                print(f"Downloading the IMDb reviews (84 MB) from {url}")
                download(url, archive, HINT, sha256=sha256, max_bytes=256 << 20)
        print(f"Extracting the labelled reviews of {archive.name} into the data cache ...")
        staging = Path(tempfile.mkdtemp(dir=cache, prefix=".aclImdb.", suffix=".part"))
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(staging, members=[m for m in tar if _labelled(m.name)], filter="data")
            try:
                os.replace(staging / "aclImdb", extracted)  # complete, or not there at all
            except OSError:
                if not extracted.is_dir():  # else another run has just put the same reviews there
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except (OSError, tarfile.TarError, EOFError) as error:  # the official archive: the cache or the disk failed
        raise DataError(f"The reviews could not be extracted into {cache} ({getattr(error, 'strerror', None) or error})"
                        ": set CH16_CACHE_DIR to another folder, or extract them and set CH16_DATA_DIR.") from None
    return extracted


def _labelled(name):  # a labelled review, or one of the folders above it
    parts = PurePosixPath(name).parts
    return parts[:1] == ("aclImdb",) and (len(parts) == 1 or parts[1] in IMDB_SPLITS and
                                         (len(parts) == 2 or parts[2] in IMDB_CLASSES))


def read_reviews(root):
    """Read and check the reviews of an ``aclImdb/`` folder (see ``load_imdb``)."""
    splits = {}
    for split in IMDB_SPLITS:
        texts, labels = [], []
        for label, name in enumerate(IMDB_CLASSES):
            folder = root / split / name
            if not folder.is_dir():
                raise DataError(f"{folder} is missing: an aclImdb/ folder holds train/ and test/, each with neg/ "
                                f"and pos/. {HINT}")
            with os.scandir(folder) as entries:
                files = sorted((e for e in entries if re.fullmatch(r"\d+_\d+\.txt", e.name)),
                               key=lambda e: (int(e.name.split("_")[0]), e.name))  # by ID, whatever the folder's order
            if not files:
                raise DataError(f"{folder} holds no reviews (ID_RATING.txt files). {HINT}")
            for entry in files:
                if not (entry.is_file() and 0 < entry.stat().st_size <= MAX_REVIEW_BYTES):  # links followed
                    raise DataError(f"{entry.path} is not a review: a file (or a link to one) of 1 to "
                                    f"{MAX_REVIEW_BYTES:,} bytes.")
                try:
                    texts.append(Path(entry.path).read_bytes().decode("utf-8"))
                except UnicodeDecodeError as error:
                    raise DataError(f"{entry.path} is not UTF-8 text ({error.reason} at byte {error.start}).") from None
            labels += [label] * len(files)
        splits[split] = (np.array(texts, dtype=object), np.array(labels, dtype=np.int32))
    _check_repeats(splits, root)
    return splits


def _check_repeats(splits, root):
    """Refuse test reviews that repeat training reviews, or reviews that repeat another of their split,
    beyond a few percent: a copied folder would make the evaluation measure memory."""
    train, test = splits["train"][0], splits["test"][0]
    seen = set(train)
    for count, total, what in [(sum(text in seen for text in test), len(test), "test reviews also in training"),
                               (len(train) - len(seen), len(train), "training reviews that repeat another"),
                               (len(test) - len(set(test)), len(test), "test reviews that repeat another")]:
        if count > MAX_SHARED * total:
            raise DataError(f"{printable(root)} has {count:,} {what}, of {total:,} ({count / total:.1%}): the "
                            "evaluation would not be on unseen reviews. Was a folder copied into another?")
