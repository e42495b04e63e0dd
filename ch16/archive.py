"""Safe extraction of a .tar.gz, by this module's own reader: Python's ``tarfile`` never parses a
header (some of its versions take quadratic time on crafted extended headers, CVE-2024-6232, or
loop for ever on a negative size, CVE-2025-8194). One reader walks the archive twice over one
open file: first every header is read and checked, then the plain files and folders wanted are
written into a staging folder."""

import gzip
import os
import re
import shutil
import zlib
from pathlib import Path
from typing import NamedTuple

from ch16.errors import DataError
from ch16.files import display_path, open_regular, partial_folder

# Real archives need extended headers of a few hundred bytes (a long name, a few pax records).
MAX_EXTENDED_HEADER = 8 * 1024
MAX_EXTENDED_IN_A_ROW = 4  # extended headers before one member (a global, a pax, a long name and link)
_PAX_TYPES = {b"x", b"g", b"X"}  # pax extended headers (X: the Solaris variant)
_NAME_TYPES = {b"L", b"K"}  # GNU long name and long link name
_FILE_TYPES = {b"0", b"\0", b"7"}  # regular (and contiguous) files: their data follows the header
_REFUSED_TYPES = {b"1": "a hard link", b"2": "a symbolic link", b"3": "a character device",
                  b"4": "a block device", b"6": "a named pipe"}
_BLOCK = 512


class Member(NamedTuple):
    name: str
    kind: bytes
    size: int


def _number_field(field):
    """A numeric header field: GNU's base-256 when its first byte says so, else octal digits up to
    the first NUL. A negative number is refused."""
    if field[0] in (0o200, 0o377):
        value = int.from_bytes(field[1:], "big", signed=field[0] == 0o377)
    else:
        digits = field.split(b"\0", 1)[0].strip()
        if not re.fullmatch(rb"[0-7]*", digits):
            raise ValueError(f"a bad number field {field!r}")
        value = int(digits or b"0", 8)
    if value < 0:
        raise ValueError("a header with a negative number")
    return value


def _checksum_is_right(header):
    """Whether a header's checksum field matches its bytes (the sum with the field read as spaces)."""
    recorded = _number_field(header[148:156])
    unsigned = sum(header[:148]) + 8 * 32 + sum(header[156:])
    signed = sum(b - 256 if b > 127 else b for b in header[:148] + header[156:]) + 8 * 32
    return recorded in (unsigned, signed)


def _pax_records(data):
    """The (keyword, value) pairs of pax records "LENGTH KEY=VALUE\\n", read in linear time; a
    ``ValueError`` if they are not well formed."""
    records, position = [], 0
    while position < len(data):
        space = data.find(b" ", position, position + 20)
        if space <= position or not data[position:space].isdigit():
            raise ValueError("a badly formed pax header")
        end = position + int(data[position:space])
        if end > len(data) or end <= space + 2 or data[end - 1:end] != b"\n" or b"=" not in data[space + 1:end]:
            raise ValueError("a badly formed pax header")
        keyword, _, value = data[space + 1:end - 1].partition(b"=")
        records.append((keyword, value))
        position = end
    return records


def _read_exactly(stream, count):
    data = stream.read(count)
    if len(data) < count:
        raise EOFError("the archive ends inside a member")
    return data


def _skip(stream, count):
    while count > 0:
        count -= len(_read_exactly(stream, min(count, 1 << 20)))


def _text(raw, what):
    try:
        return raw.split(b"\0", 1)[0].decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"a member {what} that is not UTF-8 ({raw[:60]!r})") from None


class _Capped:
    """A stream that refuses to yield more than ``limit`` bytes in all: a small archive that
    decompresses to a huge one (a compression bomb) is stopped early instead of read for hours."""

    def __init__(self, stream, limit):
        self.stream, self.limit, self.count = stream, limit, 0

    def read(self, size):
        data = self.stream.read(size)
        self.count += len(data)
        if self.count > self.limit:
            raise ValueError(f"more than {self.limit:,} bytes once decompressed (a compression bomb?)")
        return data


def _walk(stream, on_member, max_headers=None):
    """Read the tar stream header by header, in linear time. For each member, call
    ``on_member(member, stream)``, which reads none or all of the member's data (``size`` bytes)
    and returns whether it read it. Returns at the end-of-archive block, having read the rest of
    the stream (so that gzip's CRC and length are checked). More than ``max_headers`` headers
    (members and extended headers) in all is a ``ValueError``."""
    long_name, pax_name, pax_size, in_a_row, headers = None, None, None, 0, 0
    while True:
        header = stream.read(_BLOCK)
        headers += 1
        if max_headers is not None and headers > max_headers:
            raise ValueError(f"more than {max_headers:,} headers")
        if len(header) < _BLOCK:
            raise EOFError("the archive ends before its end-of-archive blocks")
        if header == bytes(_BLOCK):
            while stream.read(1 << 20):
                pass
            return
        if not _checksum_is_right(header):
            raise ValueError("a member header with a wrong checksum")
        size, kind = _number_field(header[124:136]), header[156:157]
        if kind in _PAX_TYPES or kind in _NAME_TYPES:
            in_a_row += 1
            if in_a_row > MAX_EXTENDED_IN_A_ROW:
                raise ValueError(f"more than {MAX_EXTENDED_IN_A_ROW} extended headers in a row")
            if size > MAX_EXTENDED_HEADER:
                raise ValueError(f"an extended header of {size:,} bytes (more than the "
                                 f"{MAX_EXTENDED_HEADER:,} allowed)")
            data = _read_exactly(stream, size)
            _skip(stream, -size % _BLOCK)
            if kind == b"L":
                long_name = _text(data, "name")
            elif kind in _PAX_TYPES:
                for keyword, value in _pax_records(data):
                    if keyword.startswith(b"GNU.sparse."):
                        raise ValueError("a sparse file (GNU.sparse pax records)")
                    if kind == b"g":
                        continue  # global records (a comment, a time) do not change what is extracted
                    if keyword == b"path":
                        pax_name = _text(value, "name")
                    elif keyword == b"size":
                        if not value.isdigit() or len(value) > 18:
                            raise ValueError("a badly formed pax header")
                        pax_size = int(value)
            continue
        name = _text(header[:100], "name")
        if header[257:263] == b"ustar\0":  # POSIX: a prefix of the name in bytes 345-500
            prefix = _text(header[345:500], "name")
            name = f"{prefix}/{name}" if prefix else name
        name = pax_name if pax_name is not None else long_name if long_name is not None else name
        size = pax_size if pax_size is not None else size
        long_name, pax_name, pax_size, in_a_row = None, None, None, 0
        if kind not in _FILE_TYPES and kind != b"5" and kind not in _REFUSED_TYPES:
            raise ValueError(f"a member of an unsupported type ({kind!r})")
        member = Member(name, kind, size if kind in _FILE_TYPES else 0)
        if not on_member(member, stream):
            _skip(stream, member.size)
        _skip(stream, -member.size % _BLOCK)


MAX_NAME_BYTES = 1024  # a member's whole name; the IMDb archive's longest has about 40


def _member_problem(member, seen, files, folders):
    """Why an archive member must not be extracted (None if it may): only plain files and
    folders are, each named once, by a relative, non-empty path without '..', not inside a file
    member and not a file where other members need a folder (``files``, ``folders``: the
    normalised names of the file members before it and of the folders their names imply). A
    folder named '.' (``tar -C folder .`` writes one) is the top of the archive."""
    name = member.name
    if not name.strip("/") or (os.path.normpath(name) == "." and member.kind != b"5"):
        return "an empty name"
    if member.kind in _REFUSED_TYPES:
        return _REFUSED_TYPES[member.kind]
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        return "an absolute path"
    if ".." in re.split(r"[/\\]", name):
        return "'..' in its path"
    if member.kind in _FILE_TYPES and name.endswith("/"):
        return "a file named like a folder"
    if "\0" in name or any(ord(c) < 32 for c in name):
        return "a control character in its name"
    if os.path.normpath(name) in seen:
        return "a second member of that name"
    if len(name.encode()) > MAX_NAME_BYTES:
        return f"a name longer than {MAX_NAME_BYTES:,} bytes"
    if any(len(part.encode()) > 255 for part in re.split(r"[/\\]", name)):
        return "a part of its name longer than 255 bytes"
    inside = [parent for parent in Path(os.path.normpath(name)).parents if str(parent) in files]
    if inside:
        return f"a path inside the file member {str(inside[0])!r}"
    if member.kind in _FILE_TYPES and os.path.normpath(name) in folders:
        return "a file where earlier members need a folder"
    return None


def safe_extract(archive, staging_for, keep=lambda name: True, manual_hint="", max_bytes=1 << 29,
                 max_members=200_000, max_archive_bytes=1 << 30, max_unpacked_bytes=1 << 31):
    """Extract the members of a .tar.gz for which ``keep(name)`` is true into a new folder beside
    ``staging_for`` (``NAME.ch16-partial-...``), and return that folder: the caller moves what it
    needs out of it and removes it. Nothing else is touched.

    Every header is read and checked before anything is written: extended headers are bounded,
    links (symbolic or hard), devices, pipes, sparse files, negative sizes, empty names, absolute
    paths, '..', names that are not UTF-8 and repeated names are refused, and so are archives of
    more than ``max_archive_bytes`` (1 GiB; the official IMDb archive has 84 MB) or of more than
    ``max_members`` members (it has about 100,000), or that decompress to more than
    ``max_unpacked_bytes`` (2 GiB, skipped members and trailing data included), and kept files
    of more than ``max_bytes`` in all (512 MiB by default; the labelled reviews take about 70 MB).
    If extraction fails, the folder is removed.
    """
    staging_for = Path(staging_for)
    name = Path(archive).name
    staging = None
    try:
        with open_regular(archive) as raw:
            if os.fstat(raw.fileno()).st_size > max_archive_bytes:
                raise DataError(f"{name} has {os.fstat(raw.fileno()).st_size:,} bytes, more than the "
                                f"{max_archive_bytes:,} allowed for this archive. {manual_hint}")
            seen, files, folders, wanted, total = set(), set(), set(), set(), 0

            def check(member, stream):
                nonlocal total
                problem = _member_problem(member, seen, files, folders)
                if problem:
                    raise DataError(f"Unsafe archive member {member.name!r} in {name}: {problem}. "
                                    f"Nothing was extracted. {manual_hint}")
                seen.add(os.path.normpath(member.name))
                if member.kind in _FILE_TYPES:
                    files.add(os.path.normpath(member.name))
                folders.update(str(parent) for parent in Path(os.path.normpath(member.name)).parents)
                if len(seen) > max_members:
                    raise ValueError(f"more than {max_members:,} members")
                if keep(member.name):
                    wanted.add(os.path.normpath(member.name))
                    total += member.size
                return False

            try:
                with gzip.GzipFile(fileobj=raw) as stream:
                    _walk(_Capped(stream, max_unpacked_bytes), check, max_headers=2 * max_members + 8)
            except ValueError as problem:
                raise DataError(f"{name} has {problem}. Nothing was extracted. {manual_hint}") from None
            if total > max_bytes:
                raise DataError(f"{name} would unpack to {total:,} bytes, more than the {max_bytes:,} "
                                f"allowed. Nothing was extracted. {manual_hint}")
            staging_for.parent.mkdir(parents=True, exist_ok=True)
            staging = partial_folder(staging_for)

            def write(member, stream):
                relative = os.path.normpath(member.name)
                if relative not in wanted:
                    return False
                target = staging / relative
                if member.kind == b"5":
                    target.mkdir(parents=True, exist_ok=True)
                    return False
                target.parent.mkdir(parents=True, exist_ok=True)
                descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
                with os.fdopen(descriptor, "wb") as out:
                    left = member.size
                    while left:
                        chunk = _read_exactly(stream, min(left, 1 << 20))
                        out.write(chunk)
                        left -= len(chunk)
                return True

            raw.seek(0)
            with gzip.GzipFile(fileobj=raw) as stream:
                _walk(stream, write)
    except BaseException as err:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if isinstance(err, DataError):
            raise
        if isinstance(err, (EOFError, ValueError, zlib.error, gzip.BadGzipFile)):
            raise DataError(f"{name} is truncated or corrupt ({err}). {manual_hint}") from None
        if isinstance(err, OSError):
            where = display_path(staging_for.parent)
            raise DataError(f"Could not extract {name} into {where} ({err.strerror or err}). {manual_hint}") from None
        raise
    return staging
