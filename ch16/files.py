"""Files treated as possibly hostile: regular files only, read with a size cap, checksums, a
folder lock shared by processes, and the temporary names this chapter gives what it is writing."""

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path

from ch16.settings import PROJECT_DIR


class NotARegularFileError(OSError):
    """A path where a regular file belongs names a folder, a link, a named pipe, a device or a socket."""


class FileTooLargeError(OSError):
    """A file is larger than the chapter ever needs to read."""


def open_regular(path, follow_links=True):
    """A read-only file object for the regular file ``path``; a ``NotARegularFileError`` for
    anything else (a named pipe or a device would block or never end), checked before opening
    and again on what was opened. With ``follow_links=False`` a symbolic link is refused too."""
    mode = os.stat(path, follow_symlinks=follow_links).st_mode
    if not stat.S_ISREG(mode):
        kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
        raise NotARegularFileError(errno.EINVAL, kind, str(path))
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | (0 if follow_links else os.O_NOFOLLOW)
    descriptor = os.open(path, flags)
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):  # replaced in between
        os.close(descriptor)
        raise NotARegularFileError(errno.EINVAL, "not a regular file", str(path))
    return open(descriptor, "rb")


def read_regular_file(path, max_bytes, follow_links=True):
    """The bytes of the regular file ``path``, refused (``FileTooLargeError``) beyond ``max_bytes``."""
    with open_regular(path, follow_links) as f:
        size = os.fstat(f.fileno()).st_size
        if size > max_bytes:
            raise FileTooLargeError(errno.EFBIG, f"larger than the {max_bytes:,} bytes allowed", str(path))
        data = f.read(size + 1)  # one byte more than announced shows a file that grows while it is read
        data += f.read(max_bytes + 1 - len(data)) if len(data) > size else b""
    if len(data) > max_bytes:  # grew while being read
        raise FileTooLargeError(errno.EFBIG, f"larger than the {max_bytes:,} bytes allowed", str(path))
    return data


def sha256_of(path):
    """The SHA-256 of the regular file ``path`` (see ``open_regular``)."""
    with open_regular(path) as f:
        digest = hashlib.sha256()
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def folder_lock(folder, waiting=None):
    """Hold an exclusive lock on ``folder`` (shared with other processes and threads), printing
    ``waiting`` first if another holds it. Where the folder cannot be opened for reading or its
    file system has no locks, go on without one. Yields whether the lock is held."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield False
        return
    try:
        locked = True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting:
                print(waiting)
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as error:
            if error.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                raise
            locked = False
        yield locked
    finally:
        os.close(fd)  # releases the lock


def display_path(path):
    """A path as a reader should see it: relative to the project folder when inside it (the
    path itself, not what it links to)."""
    path = Path(path).absolute()
    try:
        path = path.parent.resolve() / path.name
        return str(path.relative_to(PROJECT_DIR))
    except (ValueError, OSError, RuntimeError):  # outside the project, or a loop of links on the way
        return str(path)


# What this chapter is writing gets a name of its own, so that only its own leftovers are ever
# removed: NAME.ch16-partial-XXXXXXXX (X: tempfile's random letters, digits and underscores).
PARTIAL_TAG = ".ch16-partial-"
_PARTIAL = re.compile(re.escape(PARTIAL_TAG) + r"[a-z0-9_]{8}$")


def partial_file(destination):
    """A new, empty file beside ``destination`` under this chapter's temporary name: ``(fd, path)``."""
    destination = Path(destination)
    fd, name = tempfile.mkstemp(prefix=destination.name + PARTIAL_TAG, dir=destination.parent)
    return fd, Path(name)


def partial_folder(destination):
    """A new, empty folder beside ``destination`` under this chapter's temporary name."""
    destination = Path(destination)
    return Path(tempfile.mkdtemp(prefix=destination.name + PARTIAL_TAG, dir=destination.parent))


def remove_partials(folder, names, older_than=0):
    """Remove what a killed run of this chapter left in ``folder``: entries named
    ``NAME.ch16-partial-XXXXXXXX`` for a NAME in ``names``, last changed more than ``older_than``
    seconds ago, and nothing else."""
    for entry in Path(folder).iterdir():
        base, tag, _ = entry.name.rpartition(PARTIAL_TAG)
        if tag and base in names and _PARTIAL.search(entry.name):
            if older_than and time.time() - entry.lstat().st_mtime < older_than:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
