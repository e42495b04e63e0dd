"""Safe extraction of a .tar.gz: every header read and checked by this module before
``tarfile`` parses any of them, then only plain files and folders unpacked into a staging
folder that replaces the target when complete."""

import gzip
import os
import re
import shutil
import tarfile
import zlib
from pathlib import Path

from ch16.errors import DataError
from ch16.files import display_path, open_regular, partial_folder

# Extended headers (pax 'x'/'g', GNU long names 'L'/'K') are read by tarfile with regular
# expressions that take quadratic time on some inputs in Python before 3.11.10 (CVE-2024-6232):
# a few hundred compressed bytes can stall it for hours. Real archives need a few hundred bytes.
MAX_EXTENDED_HEADER = 8 * 1024
_EXTENDED_TYPES = {b"x", b"g", b"L", b"K"}
_BLOCK = 512


def _size_field(header):
    """A tar header's size: octal digits, or GNU's base-256 when the high bit is set."""
    field = header[124:136]
    if field[0] & 0x80:
        return int.from_bytes(field[1:], "big")
    digits = field.replace(b"\0", b" ").strip()
    if not re.fullmatch(rb"[0-7]*", digits):
        raise ValueError(f"bad size field {field!r}")
    return int(digits or b"0", 8)


def _pax_records_are_well_formed(data):
    """Whether ``data`` is a sequence of pax records "LENGTH KEY=VALUE\\n", checked in linear time."""
    position = 0
    while position < len(data):
        space = data.find(b" ", position, position + 20)
        if space <= position or not data[position:space].isdigit():
            return False
        end = position + int(data[position:space])
        if end > len(data) or end <= space + 2 or data[end - 1:end] != b"\n" or b"=" not in data[space + 1:end]:
            return False
        position = end
    return True


def _skip(stream, count):
    while count > 0:
        chunk = stream.read(min(count, 1 << 20))
        if not chunk:
            raise EOFError("the archive ends inside a member")
        count -= len(chunk)


def scan_headers(archive, max_members):
    """Read every header of the .tar.gz ``archive`` once, in linear time, and return the number
    of members; ``DataError``-ready messages (``ValueError``) for extended headers of more than
    ``MAX_EXTENDED_HEADER`` bytes or badly formed pax records, and for more than ``max_members``."""
    members = 0
    with open_regular(archive) as raw, gzip.GzipFile(fileobj=raw) as stream:
        while True:
            header = stream.read(_BLOCK)
            if len(header) < _BLOCK or header == bytes(_BLOCK):
                return members
            size, kind = _size_field(header), header[156:157]
            if kind in _EXTENDED_TYPES:
                if size > MAX_EXTENDED_HEADER:
                    raise ValueError(f"an extended header of {size:,} bytes (more than the "
                                     f"{MAX_EXTENDED_HEADER:,} allowed)")
                data = stream.read(size)
                if kind in (b"x", b"g") and not _pax_records_are_well_formed(data):
                    raise ValueError("a badly formed pax header")
                _skip(stream, -size % _BLOCK)
            else:
                members += 1
                if members > max_members:
                    raise ValueError(f"more than {max_members:,} members")
                _skip(stream, size + -size % _BLOCK)


def _member_problem(member, seen):
    """Why an archive member must not be extracted (None if it may): only plain files and
    folders are, each named once, by a relative, non-empty path without '..'."""
    name = member.name
    if not name.strip("/"):
        return "an empty name"
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


def safe_extract(archive, staging_for, keep=lambda name: True, manual_hint="", max_bytes=1 << 29,
                 max_members=200_000):
    """Extract the members of a .tar.gz for which ``keep(name)`` is true into a new folder beside
    ``staging_for`` (``NAME.ch16-partial-...``), and return that folder: the caller moves what it
    needs out of it and removes it. Nothing else is touched.

    Every header is checked before anything is written: extended headers are bounded (see
    ``scan_headers``), links (symbolic or hard), devices, empty names, absolute paths, '..' and
    repeated names are refused, and so are archives of more than ``max_members`` members (the
    official IMDb archive has about 100,000) or kept files of more than ``max_bytes`` in all
    (512 MiB by default; the labelled reviews take about 70 MB). If extraction fails, the
    folder is removed.
    """
    staging_for = Path(staging_for)
    name = Path(archive).name
    try:
        try:
            scan_headers(archive, max_members)
        except ValueError as problem:
            raise DataError(f"{name} has {problem}. Nothing was extracted. {manual_hint}") from None
        with tarfile.open(archive, "r:gz") as tar:
            members, seen = tar.getmembers(), set()
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
            staging_for.parent.mkdir(parents=True, exist_ok=True)
            staging = partial_folder(staging_for)
            try:
                tar.extractall(staging, members=wanted, filter="data")
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    except (tarfile.TarError, EOFError, ValueError, zlib.error, gzip.BadGzipFile) as err:
        raise DataError(f"{name} is truncated or corrupt ({err}). {manual_hint}") from None
    except OSError as err:
        raise DataError(f"Could not extract {name} into {display_path(staging_for.parent)} "
                        f"({err.strerror or err}). {manual_hint}") from None
    return staging
