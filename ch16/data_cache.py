"""The data cache folder (``CH16_CACHE_DIR/data``): OS errors met there as one clear message,
and a lock held while this process fills it."""

import contextlib
import errno
from pathlib import Path

from ch16.errors import DataError
from ch16.files import NotARegularFileError, display_path, folder_lock, remove_partials
from ch16.settings import cache_dir

# The names this chapter writes in the data cache; nothing else there is ever removed.
OWN_NAMES = {"aclImdb", "aclImdb_v1.tar.gz", "1268-0.txt"}


def data_cache_dir():
    """The data cache folder, read anew at every call (see ``ch16.settings.cache_dir``)."""
    return cache_dir() / "data"


@contextlib.contextmanager
def usable_cache(folder):
    """Turn an OS error met in the data cache ``folder`` (a file where a folder belongs, a folder
    where a file belongs, no permission) into a ``DataError`` naming the path."""
    try:
        yield
    except OSError as err:
        where = Path(err.filename) if err.filename else Path(folder)
        if err.errno == errno.ENOTDIR:  # name the file in the way, not a path below it that cannot exist
            while not where.exists() and where.parent != where:
                where = where.parent
        in_the_way = err.errno in (errno.ENOTDIR, errno.EISDIR, errno.EEXIST) or isinstance(err, NotARegularFileError)
        advice = ("Remove that path, or set CH16_CACHE_DIR to another folder." if in_the_way else
                  "Check that folder (space, permissions), or set CH16_CACHE_DIR to another folder.")
        raise DataError(f"The data cache cannot be used: {display_path(where)}: {err.strerror or err}. "
                        f"{advice}") from None


@contextlib.contextmanager
def filling(folder):
    """Hold ``folder`` while this process fills it, after removing the temporary files and folders
    (``NAME.ch16-partial-...``) that a killed run of this chapter left there. Another process
    (or thread) filling the same folder waits for the lock, so the temporary files of a live
    download are never removed; files of other names are never touched. Where the file system
    has no locks, only temporary entries untouched for a day are removed (a live run's could be
    among younger ones)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with folder_lock(folder, waiting=f"Waiting for another process that is filling {display_path(folder)} ...") as locked:
        remove_partials(folder, OWN_NAMES, older_than=0 if locked else 24 * 3600)
        yield
