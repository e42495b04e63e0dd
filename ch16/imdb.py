"""The Large Movie Review Dataset (Maas et al., 2011): a local copy or the official archive,
checked, extracted once into the cache and rechecked cheaply on every later use."""

import errno
import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np

from ch16.archive import safe_extract
from ch16.data_cache import data_cache_dir, filling, usable_cache
from ch16.download import download
from ch16.errors import DataError
from ch16.files import (FileTooLargeError, NotARegularFileError, display_path, partial_folder,
                        read_regular_file, sha256_of)

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
IMDB_SPLITS = ("train", "test")
IMDB_CLASSES = ("neg", "pos")  # label 0, label 1
MAX_REVIEW_BYTES = 1 << 20  # the longest real review has about 14,000 bytes
MAX_ARCHIVE_BYTES = 256 << 20  # the official archive has 84 MB
MAX_REVIEWS, MAX_REVIEWS_BYTES = 200_000, 1 << 29  # as for an archive
MARKER = ".ch16-extracted.json"  # in an aclImdb/ folder this chapter extracted, with what it checked


def _hint(data_dir=None):
    where = data_dir or "a folder named by CH16_DATA_DIR"
    return (f"Download {IMDB_URL} by hand and put it (or its extracted aclImdb/ folder) "
            f"in {where}, then set CH16_DATA_DIR to that folder.")


def _review_id(path):
    """The numeric id of a review file named ID_RATING.txt (files sort by it)."""
    head = path.name.split("_")[0]
    return (int(head) if head.isascii() and head.isdigit() else 0, path.name)


def _review_files(folder, data_dir=None):
    """The review files (``*.txt``) in ``folder`` (``ROOT/SPLIT/CLASS``), sorted by review id; none
    if it is missing. As in an archive, a link (the split or class folder, or a review) is refused:
    a linked review could be any file of the system, and a linked split folder could make training
    equal test."""
    try:
        for path in (folder.parent, folder):
            if stat.S_ISLNK(os.lstat(path).st_mode):
                raise DataError(f"The IMDb folder {path} is a symbolic link; links are not followed in "
                                f"the review folders. {_hint(data_dir)}")
        with os.scandir(folder) as entries:
            files = [Path(entry.path) for entry in entries if entry.name.endswith(".txt")]
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as err:
        raise DataError(f"The IMDb folder {folder} is unreadable ({err.strerror or err}). {_hint(data_dir)}") from None
    return sorted(files, key=_review_id)


def _read_review(path, data_dir, shown_as=None):
    """The UTF-8 text of the review file ``path``: a regular file, not a link, at most
    ``MAX_REVIEW_BYTES``; a ``DataError`` naming it (or ``shown_as``) otherwise."""
    shown_as = shown_as or path
    try:
        return read_regular_file(path, MAX_REVIEW_BYTES, follow_links=False).decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{shown_as} is not UTF-8 text ({err.reason} at byte {err.start}). {_hint(data_dir)}") from None
    except (NotARegularFileError, FileTooLargeError) as err:
        raise DataError(f"{shown_as} is {err.strerror}. {_hint(data_dir)}") from None
    except OSError as err:
        if err.errno == errno.ELOOP:  # O_NOFOLLOW met a link that appeared after the check
            raise DataError(f"{shown_as} is a symbolic link. {_hint(data_dir)}") from None
        raise DataError(f"{shown_as} is unreadable ({err.strerror or err}). {_hint(data_dir)}") from None


def _split_files(root, data_dir=None, shown_as=None):
    """{(split, class): review files} of an aclImdb/ folder; a ``DataError`` if a split is missing, or
    if two splits are the same folder. ``shown_as`` names the folder in messages (an archive whose
    staging folder it is)."""
    files, folders, inodes, total = {}, {}, {}, 0
    for split in IMDB_SPLITS:
        for label in IMDB_CLASSES:
            folder = root / split / label
            found = _review_files(folder, data_dir)
            if not found:
                where = shown_as or f"The IMDb folder {root}"
                raise DataError(f"{where} is missing the split {split}/{label} "
                                f"(no reviews in {shown_as and f'{split}/{label}' or folder}). {_hint(data_dir)}")
            identity = os.stat(folder)[stat.ST_INO], os.stat(folder)[stat.ST_DEV]
            if identity in folders:
                raise DataError(f"In {shown_as or root}, {split}/{label} and {folders[identity]} are the same "
                                f"folder. {_hint(data_dir)}")
            folders[identity] = f"{split}/{label}"
            files[split, label] = found
            for path in found:  # a review hard-linked into two places (as the same file twice) is refused
                info = os.lstat(path)
                total += info.st_size
                if info.st_nlink > 1 and (info.st_dev, info.st_ino) in inodes:
                    raise DataError(f"In {shown_as or root}, {split}/{label}/{path.name} and "
                                    f"{inodes[info.st_dev, info.st_ino]} are the same file (hard links). "
                                    f"{_hint(data_dir)}")
                inodes[info.st_dev, info.st_ino] = f"{split}/{label}/{path.name}"
    if len(inodes) > MAX_REVIEWS or total > MAX_REVIEWS_BYTES:
        raise DataError(f"{shown_as or root} holds {len(inodes):,} reviews of {total:,} bytes, more than the "
                        f"{MAX_REVIEWS:,} reviews or {MAX_REVIEWS_BYTES:,} bytes allowed (the official data set "
                        f"has 50,000 labelled reviews of about 65 MB). {_hint(data_dir)}")
    return files


def _manifest(files):
    """A digest of every review file's name and size: what must not change after extraction."""
    digest = hashlib.sha256()
    for (split, label), paths in sorted(files.items()):
        for path in paths:
            digest.update(f"{split}/{label}/{path.name} {os.lstat(path).st_size}\n".encode())
    return digest.hexdigest()


def _is_ours(folder):
    return (folder / MARKER).is_file() and not (folder / MARKER).is_symlink()


def _cached_folder(extracted, source):
    """The review files (as ``_split_files`` gives them) of the cached aclImdb/ folder if this
    chapter extracted it from ``source`` and its reviews are still those it checked then (names
    and sizes), else None. A folder of that name that this
    chapter did not write is a ``DataError``: it is never replaced or deleted."""
    if not extracted.exists() and not extracted.is_symlink():
        return None
    if extracted.is_symlink() or not extracted.is_dir() or not _is_ours(extracted):
        raise DataError(f"{display_path(extracted)} was not written by this chapter, which leaves it alone. "
                        "Move it away, or set CH16_DATA_DIR to its parent folder to use it, or set "
                        "CH16_CACHE_DIR to another folder.")
    try:
        recorded = json.loads(read_regular_file(extracted / MARKER, 64 * 1024, follow_links=False))
        files = _split_files(extracted)
        if recorded == {"source": source, "manifest": _manifest(files)}:
            return files
    except (ValueError, RecursionError, DataError, OSError):
        pass
    print(f"The reviews in {display_path(extracted)} differ from those extracted from {source.split()[0]}: "
          "extracting them again.")
    return None


def _read_splits(files, data_dir, shown_as=None):
    """{"train": (texts, labels), "test": (texts, labels)} from the files of ``_split_files``;
    ``shown_as`` names the archive whose staging folder holds them, in messages."""
    splits = {}
    for split in IMDB_SPLITS:
        texts, labels = [], []
        for label, name in enumerate(IMDB_CLASSES):
            texts += [_read_review(path, data_dir, shown_as and f"{shown_as}: aclImdb/{split}/{name}/{path.name}")
                      for path in files[split, name]]
            labels += [label] * len(files[split, name])
        splits[split] = (np.array(texts, dtype=object), np.array(labels, dtype=np.int32))
    return splits


def imdb_folder(data_dir=None, cache_dir=None, url=IMDB_URL, sha256=IMDB_SHA256):
    """Return the path of an ``aclImdb`` folder holding train/test × neg/pos reviews (another run
    sharing the cache may replace a cached folder afterwards: ``load_imdb`` reads it under the
    cache's lock).

    Looks in ``data_dir`` first (an ``aclImdb/`` folder or an ``aclImdb*.tar.gz``), with no
    network; otherwise uses the data cache ``cache_dir`` (default ``CH16_CACHE_DIR/data``),
    downloading the official archive on first use (and again if the cached one does not have
    the checksum ``sha256``). Only the labelled reviews are extracted, once; each later use
    checks that the extracted files are still those checked then, and extracts again if not.
    """
    return _using_imdb_folder(data_dir, cache_dir, url, sha256, lambda root, files, splits: root)


def _using_imdb_folder(data_dir, cache_dir, url, sha256, use):
    """``use(root, files, splits)`` of the aclImdb folder found as ``imdb_folder`` finds it, called
    while the data cache is locked when the folder is in the cache, so that no other run replaces
    it meanwhile: ``files`` are its checked review files, or None right after an extraction, when
    ``splits`` holds the reviews already read and checked (else None)."""
    cache = _cache(cache_dir)
    hint = _hint(data_dir)
    if data_dir is None:
        archive, archive_sha256 = cache / Path(url).name, sha256
    else:
        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise DataError(f"CH16_DATA_DIR names {data_dir}, which is not a folder. {hint}")
        if (data_dir / "aclImdb").is_dir():
            return use(data_dir / "aclImdb", _split_files(data_dir / "aclImdb", data_dir), None)
        archives = sorted(data_dir.glob("aclImdb*.tar.gz"))
        if not archives:
            raise DataError(f"No aclImdb/ folder or aclImdb*.tar.gz in {data_dir}. {hint}")
        if len(archives) > 1:
            raise DataError(f"{data_dir} holds {len(archives)} IMDb archives "
                            f"({', '.join(a.name for a in archives)}): keep one. {hint}")
        archive = archives[0]
        try:
            if os.stat(archive).st_size > MAX_ARCHIVE_BYTES:
                raise DataError(f"{archive} has {os.stat(archive).st_size:,} bytes, more than the "
                                f"{MAX_ARCHIVE_BYTES:,} allowed (the official archive has 84 MB). {hint}")
            archive_sha256 = sha256_of(archive)
        except OSError as err:
            raise DataError(f"{archive} cannot be read ({err.strerror or err}). {hint}") from None
        if archive_sha256 != sha256:
            print(f"Note: {archive.name} is not the official archive (its SHA-256 differs); its reviews are "
                  "checked as any archive's and used.")
    extracted = cache / "aclImdb"
    source = f"{archive.name} sha256 {archive_sha256}"
    with usable_cache(cache), filling(cache):
        files = _cached_folder(extracted, source)
        if files is not None:
            return use(extracted, files, None)
        if data_dir is None:
            if archive.exists() and sha256_of(archive) != sha256:
                archive.unlink()
                print(f"Deleted {display_path(archive)}: it does not have the expected checksum.")
            if not archive.exists():
                print(f"Downloading the IMDb reviews (84 MB) from {url}")
                download(url, archive, sha256, manual_hint=hint, max_bytes=MAX_ARCHIVE_BYTES)
        print(f"Extracting {archive.name} (labelled reviews only) ...")
        staging = safe_extract(archive, extracted, keep=_labelled_review, manual_hint=hint,
                               max_archive_bytes=MAX_ARCHIVE_BYTES)
        try:  # only a checked folder becomes the cache entry; the staging folder goes in every case
            unpacked = staging / "aclImdb"
            if not unpacked.is_dir():
                raise DataError(f"{archive.name} holds no aclImdb/ folder. {hint}")
            files = _split_files(unpacked, data_dir, shown_as=f"The archive {archive.name}")
            splits = _check_overlap(_read_splits(files, data_dir, shown_as=f"The archive {archive.name}"),
                                    f"The archive {archive.name}", data_dir)  # readable, not copied between splits
            manifest = _manifest(files)
            (unpacked / MARKER).write_text(json.dumps({"source": source, "manifest": manifest}))
            if extracted.exists():  # an earlier extraction of ours, now stale: moved aside, then removed
                old = partial_folder(extracted)
                os.replace(extracted, old)
                shutil.rmtree(old)
            os.replace(unpacked, extracted)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return use(extracted, None, splits)


def _labelled_review(name):
    """Whether to extract an archive member: the labelled reviews and the folders above them, never
    an entry named like this chapter's marker."""
    parts = Path(name).parts
    if MARKER in parts:
        return False
    return len(parts) <= 2 or (parts[1] in IMDB_SPLITS and parts[2] in IMDB_CLASSES)


def load_imdb(data_dir=None, cache_dir=None, url=IMDB_URL, sha256=IMDB_SHA256):
    """Read the labelled IMDb reviews: {"train": (texts, labels), "test": (texts, labels)}.

    Texts are a NumPy array of str in a fixed order (negative then positive, files sorted by
    review id); labels are 0 (negative) or 1 (positive).
    """
    # Cached reviews are checked and read holding the cache's lock: another run (of another data
    # source) cannot extract other reviews in their place meanwhile.
    def read(root, files, splits):
        if splits is not None:  # just extracted: read and checked already
            return splits
        return _check_overlap(_read_splits(files, data_dir), f"The IMDb folder {root}", data_dir)
    return _using_imdb_folder(data_dir, cache_dir, url, sha256, read)


MAX_SHARED = 0.05  # of a split's reviews: the official data set has about 0.5% of test reviews also in train


def _check_overlap(splits, where, data_dir):
    """Refuse reviews whose test split repeats the training split, or whose training split repeats
    itself, beyond a few percent: a copied folder would make the evaluation measure memory.
    ``where`` names the folder or archive in the message."""
    train, test = splits["train"][0], splits["test"][0]
    train_texts = set(train)
    in_both = sum(text in train_texts for text in test)
    repeated = len(train) - len(train_texts)
    for count, total, what in [(in_both, len(test), "test reviews that are also training reviews"),
                               (repeated, len(train), "training reviews that repeat another training review")]:
        if count > MAX_SHARED * total:
            raise DataError(f"{where} has {count:,} {what}, of {total:,} ({count / total:.1%}; the official data "
                            f"set has under 1%): the evaluation would not be on unseen reviews. {_hint(data_dir)}")
    return splits


def _cache(cache_dir):
    return Path(cache_dir) if cache_dir is not None else data_cache_dir()
