"""Safe extraction of a .tar.gz: every header read and checked by this module (checksums, types,
sizes, extended headers) before ``tarfile`` parses any of them, then only plain files and folders
unpacked into a staging folder."""

import gzip
import os
import re
import shutil
import sys
import tarfile
import zlib
from pathlib import Path

from ch16.errors import DataError
from ch16.files import display_path, open_regular, partial_folder

# Extended headers (pax 'x'/'g', GNU long names 'L'/'K') are read by tarfile with regular
# expressions that take quadratic time on some inputs in Python before 3.11.10 (CVE-2024-6232):
# a few hundred compressed bytes can stall it for hours. Real archives need a few hundred bytes.
MAX_EXTENDED_HEADER = 8 * 1024
_PAX_TYPES = {b"x", b"g", b"X"}  # pax extended headers (X: the Solaris variant tarfile also reads)
_NAME_TYPES = {b"L", b"K"}  # GNU long name and long link name
# Member types this module accepts in an archive (the extraction then takes only files and folders):
# files, hard and symbolic links, character and block devices, folders, named pipes. Others (GNU
# sparse files, whose extension blocks would throw the scan out of step, contiguous files, unknown
# types) are refused.
_MEMBER_TYPES = {b"0", b"\0", b"1", b"2", b"3", b"4", b"5", b"6"}
_BLOCK = 512


def _number_field(field):
    """A numeric header field as tarfile reads it: GNU's base-256 when the first byte says so, else
    octal digits up to the first NUL."""
    if field[0] in (0o200, 0o377):
        return int.from_bytes(field[1:], "big", signed=field[0] == 0o377)
    digits = field.split(b"\0", 1)[0].strip()
    if not re.fullmatch(rb"[0-7]*", digits):
        raise ValueError(f"a bad number field {field!r}")
    return int(digits or b"0", 8)


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


def _skip(stream, count):
    while count > 0:
        chunk = stream.read(min(count, 1 << 20))
        if not chunk:
            raise EOFError("the archive ends inside a member")
        count -= len(chunk)


def scan_headers(archive, max_members):
    """Read every header of the .tar.gz ``archive`` once, in linear time, and return the number of
    members. ``ValueError`` (a message for a ``DataError``) for: a header whose checksum is wrong,
    a member type this module does not accept, an extended header of more than
    ``MAX_EXTENDED_HEADER`` bytes or badly formed pax records, more than ``max_members`` members,
    and a compressed stream that is truncated or fails its check at the end (the whole stream is
    read, so that gzip's CRC is checked)."""
    members, size_override = 0, None
    with open_regular(archive) as raw, gzip.GzipFile(fileobj=raw) as stream:
        while True:
            header = stream.read(_BLOCK)
            if len(header) < _BLOCK:
                raise EOFError("the archive ends before its end-of-archive blocks")
            if header == bytes(_BLOCK):
                while stream.read(1 << 20):  # the rest, up to gzip's CRC and length check
                    pass
                return members
            if not _checksum_is_right(header):
                raise ValueError("a member header with a wrong checksum")
            size, kind = _number_field(header[124:136]), header[156:157]
            if kind in _PAX_TYPES or kind in _NAME_TYPES:
                if size > MAX_EXTENDED_HEADER:
                    raise ValueError(f"an extended header of {size:,} bytes (more than the "
                                     f"{MAX_EXTENDED_HEADER:,} allowed)")
                data = stream.read(size)
                if kind in _PAX_TYPES:
                    for keyword, value in _pax_records(data):
                        if keyword == b"size" and kind != b"g":  # tarfile takes the next member's size from it
                            if not value.isdigit():
                                raise ValueError("a badly formed pax header")
                            size_override = int(value)
                _skip(stream, -size % _BLOCK)
                continue
            if kind not in _MEMBER_TYPES:
                raise ValueError(f"a member of an unsupported type ({kind!r})")
            members += 1
            if members > max_members:
                raise ValueError(f"more than {max_members:,} members")
            if size_override is not None:
                size, size_override = size_override, None
            if kind in (b"0", b"\0"):
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
    if not hasattr(tarfile, "data_filter"):  # Python 3.11.0-3.11.3
        raise DataError(f"Extracting {name} safely needs Python 3.11.4 or later (3.11.10 or later recommended); "
                        f"this is {sys.version.split()[0]}. {manual_hint}")
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
