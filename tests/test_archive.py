"""ch16.archive: hostile and broken archives are refused, before anything is written, in bounded time."""

import errno
import gzip
import io
import os
import re
import tarfile
from pathlib import Path

import pytest

import ch16
import synthetic
from ch16.archive import MAX_EXTENDED_HEADER, safe_extract
from data_helpers import HINT, files_in, imdb_archive, imdb_tree, raised_within  # noqa: F401  (fixtures)


def test_extraction_failing_half_way_leaves_no_folder_and_no_staging(imdb_archive, tmp_path, monkeypatch):
    """A disk that fills up during extraction: the archive is unpacked into a staging folder that
    becomes the extracted folder only when complete, so the failure leaves neither behind."""
    archive, _ = imdb_archive
    files_in_before = files_in(tmp_path)
    real_fdopen, opened = os.fdopen, []

    def fdopen_then_fill_the_disk(descriptor, *args, **options):
        opened.append(descriptor)
        if len(opened) == 2:  # one review already written
            os.close(descriptor)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fdopen(descriptor, *args, **options)

    monkeypatch.setattr(os, "fdopen", fdopen_then_fill_the_disk)
    with pytest.raises(ch16.DataError, match="No space left on device"):
        safe_extract(archive, tmp_path / "unpacked", manual_hint="")
    assert len(opened) == 2
    assert files_in(tmp_path) == files_in_before



@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink", "hardlink", "symlink_inside", "link_chain",
                                  "fifo", "device", "duplicate"])
def test_hostile_archive_is_refused_before_anything_is_written(tmp_path, kind):
    outside = tmp_path / "outside"  # where the hostile members aim
    outside.mkdir()
    member = synthetic.hostile_archive(tmp_path / "local" / "aclImdb_evil.tar.gz", kind, outside)
    before = files_in(tmp_path)
    with pytest.raises(ch16.DataError, match=f"Unsafe archive member {re.escape(repr(member))}.*{HINT}"):
        ch16.load_imdb(tmp_path / "local", cache_dir=tmp_path / "cache")
    assert [p for p in files_in(tmp_path) if p not in before] == [Path("cache")]  # an empty cache folder


def _unpacked_bytes(tree):
    return sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())


def _members(tree):
    return sum(1 for _ in tree.rglob("*")) + 1  # every file and folder, and aclImdb/ itself


@pytest.mark.parametrize("cap, measure, message", [
    ("max_bytes", _unpacked_bytes, "{limit:,} bytes, more than the {over:,} allowed"),
    ("max_members", _members, "more than {over:,} members"),
])
def test_archive_over_a_cap_is_refused_before_extraction(imdb_tree, imdb_archive, tmp_path, cap, measure, message):
    archive, _ = imdb_archive
    limit = measure(imdb_tree)
    before = files_in(tmp_path)
    with pytest.raises(ch16.DataError, match=message.format(limit=limit, over=limit - 1)):
        safe_extract(archive, tmp_path / "extracted", **{cap: limit - 1})
    assert files_in(tmp_path) == before
    staging = safe_extract(archive, tmp_path / "extracted", **{cap: limit})  # exactly at the cap is allowed
    assert staging.name.startswith("extracted.ch16-partial-")
    assert files_in(staging / "aclImdb") == files_in(imdb_tree)



def _archive_with_extended_header(path, kind, payload):
    """A .tar.gz of one review preceded by an extended header (pax 'x' or GNU long name 'L') holding ``payload``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        header = tarfile.TarInfo("././@PaxHeader" if kind == "pax" else "././@LongLink")
        header.type, header.size = (tarfile.XHDTYPE if kind == "pax" else tarfile.GNUTYPE_LONGNAME), len(payload)
        tar.addfile(header, io.BytesIO(payload))
        review = tarfile.TarInfo("aclImdb/train/pos/0_9.txt")
        review.size = 6
        tar.addfile(review, io.BytesIO(b"review"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(buffer.getvalue()))
    return path


def _pax_record(value):
    """One well-formed pax record "LENGTH comment=VALUE\\n"."""
    record = b" comment=" + value + b"\n"
    digits = len(str(len(record)))
    while len(str(len(record) + digits)) != digits:
        digits += 1
    return str(len(record) + digits).encode() + record


@pytest.mark.parametrize("kind, payload", [
    ("pax", b"1" * 400_000),  # no record at all: digits only (Python 3.11.7's tarfile takes hours on this)
    ("pax", _pax_record(b"7" * 300_000)),  # one well-formed record, far too long
    ("long name", b"a" * (MAX_EXTENDED_HEADER + 1)),
])
def test_a_small_archive_with_a_huge_extended_header_is_refused_in_seconds(tmp_path, kind, payload):
    """CVE-2024-6232: tarfile of Python before 3.11.10 parses pax headers in quadratic time, so a few
    hundred compressed bytes stall it; the headers are bounded before tarfile reads them."""
    archive = _archive_with_extended_header(tmp_path / "local" / "aclImdb_v1.tar.gz", kind, payload)
    assert archive.stat().st_size < 2_000
    error = raised_within(15, ch16.load_imdb, tmp_path / "local", cache_dir=tmp_path / "cache")
    assert isinstance(error, ch16.DataError), error
    assert re.search(rf"aclImdb_v1.tar.gz has an extended header of [\d,]+ bytes.*Nothing was extracted.*{HINT}",
                     str(error))


def test_a_badly_formed_pax_header_of_a_few_bytes_is_refused(tmp_path):
    archive = _archive_with_extended_header(tmp_path / "local" / "aclImdb_v1.tar.gz", "pax", b"12 no-equals\n")
    with pytest.raises(ch16.DataError, match="a badly formed pax header"):
        ch16.load_imdb(tmp_path / "local", cache_dir=tmp_path / "cache")


def test_a_short_well_formed_pax_header_is_accepted(tmp_path):
    archive = _archive_with_extended_header(tmp_path / "a.tar.gz", "pax", _pax_record(b"made by a test"))
    staging = safe_extract(archive, tmp_path / "out")
    assert (staging / "aclImdb" / "train" / "pos" / "0_9.txt").read_bytes() == b"review"


def test_a_member_with_an_empty_name_is_named_as_such(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        member = tarfile.TarInfo("/")
        member.type = tarfile.DIRTYPE
        tar.addfile(member)
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "aclImdb.tar.gz").write_bytes(gzip.compress(buffer.getvalue()))
    with pytest.raises(ch16.DataError, match="Unsafe archive member '/' in aclImdb.tar.gz: an empty name"):
        ch16.load_imdb(tmp_path / "local", cache_dir=tmp_path / "cache")


def test_a_truncated_archive_is_named_as_truncated_or_corrupt(imdb_archive, tmp_path):
    archive, _ = imdb_archive
    local = tmp_path / "truncated"
    local.mkdir()
    (local / "aclImdb_v1.tar.gz").write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(ch16.DataError, match="truncated or corrupt"):
        ch16.load_imdb(local, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "aclImdb").exists()


def _tar(members):
    """The bytes of a .tar.gz of (TarInfo, data) pairs, in the ustar format."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _member(name, data=b"review", kind=tarfile.REGTYPE):
    info = tarfile.TarInfo(name)
    info.type, info.size = kind, len(data)
    return info, data


def test_a_solaris_extended_header_is_bounded_too(tmp_path):
    """tarfile parses 'X' headers with the same regular expressions as pax 'x' headers."""
    (tmp_path / "local").mkdir()
    raw = _tar([_member("././@PaxHeader", b"1" * 60_000, b"X"), _member("aclImdb/train/pos/0_9.txt")])
    (tmp_path / "local" / "aclImdb.tar.gz").write_bytes(gzip.compress(raw))
    error = raised_within(15, ch16.load_imdb, tmp_path / "local", cache_dir=tmp_path / "cache")
    assert isinstance(error, ch16.DataError) and "an extended header of 60,000 bytes" in str(error)


def test_a_pax_size_record_cannot_hide_a_header_from_the_scan(tmp_path):
    """A pax record "size=0" makes tarfile read the next member as empty, so the 512 bytes the
    member's own header announces are read as the next header: here a 30 kB 'X' header."""
    hidden = tarfile.TarInfo("././@PaxHeader")
    hidden.type, hidden.size = b"X", 30_000
    hidden_header = hidden.tobuf(format=tarfile.USTAR_FORMAT)
    raw = _tar([_member("././@PaxHeader", _pax_record_of(b"size", b"0"), tarfile.XHDTYPE),
                _member("aclImdb/a.txt", hidden_header), _member("pad", b"1" * 30_000)])
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "aclImdb.tar.gz").write_bytes(gzip.compress(raw))
    error = raised_within(15, ch16.load_imdb, tmp_path / "local", cache_dir=tmp_path / "cache")
    assert isinstance(error, ch16.DataError) and "extended header of 30,000 bytes" in str(error), error


def _pax_record_of(keyword, value):
    record = b" " + keyword + b"=" + value + b"\n"
    digits = len(str(len(record)))
    while len(str(len(record) + digits)) != digits:
        digits += 1
    return str(len(record) + digits).encode() + record


def test_a_header_with_a_wrong_checksum_is_refused_not_taken_for_the_end(imdb_tree, tmp_path):
    """tarfile takes a damaged header after the first for the end of the archive and says nothing:
    the reviews after it would be lost without a word."""
    raw = bytearray(io.BytesIO(gzip.decompress(synthetic.make_imdb_archive(tmp_path / "a.tar.gz", imdb_tree)
                                               .read_bytes())).getvalue())
    headers = [offset for offset in range(0, len(raw), 512) if raw[offset + 257:offset + 262] == b"ustar"]
    raw[headers[len(headers) // 2] + 100] ^= 0x01  # a bit of the mode field of a header in the middle
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / "aclImdb.tar.gz").write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(ch16.DataError, match="a member header with a wrong checksum"):
        ch16.load_imdb(tmp_path / "damaged", cache_dir=tmp_path / "cache")


def test_a_compressed_stream_that_fails_its_check_is_refused(imdb_archive, tmp_path):
    archive, _ = imdb_archive
    damaged = bytearray(archive.read_bytes())
    damaged[-8] ^= 0xFF  # gzip's CRC, at the very end, after the tar end marker
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / "aclImdb.tar.gz").write_bytes(bytes(damaged))
    with pytest.raises(ch16.DataError, match="truncated or corrupt"):
        ch16.load_imdb(tmp_path / "damaged", cache_dir=tmp_path / "cache")


def test_number_fields_are_read_as_tar_writes_them_and_negative_ones_are_refused():
    from ch16.archive import _number_field

    assert _number_field(b"\x00" + b"00000001000") == 0
    assert _number_field(b"00000001000\x00") == 512
    assert _number_field(bytes([0o200]) + (1000).to_bytes(11, "big")) == 1000
    with pytest.raises(ValueError, match="negative"):
        _number_field(bytes([0o377]) + (-512).to_bytes(11, "big", signed=True))


def _raw_header(name, size_field, kind=b"0"):
    """A ustar header written byte by byte, so that it can hold what tarfile would not write."""
    header = bytearray(512)
    header[:len(name)] = name
    header[100:108], header[108:116], header[116:124] = b"0000644\0", b"0000000\0", b"0000000\0"
    header[124:136], header[136:148], header[156:157] = size_field, b"00000000000\0", kind
    header[257:263], header[263:265] = b"ustar\0", b"00"
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


NEGATIVE = bytes([0o377]) + (-512).to_bytes(11, "big", signed=True)


@pytest.mark.parametrize("raw, problem", [
    # a member of size -512: Python 3.11.7's tarfile reads the same header again for ever (CVE-2025-8194)
    (_raw_header(b"aclImdb/a.txt", b"%011o\0" % 0) + _raw_header(b"aclImdb/b.txt", NEGATIVE) + bytes(1024),
     "a header with a negative number"),
    # an extended header of size -1 would have the whole stream read into memory
    (_raw_header(b"PaxHeader", bytes([0o377]) + (-1).to_bytes(11, "big", signed=True), b"x") + bytes(1024),
     "a header with a negative number"),
    # pax sparse records: tarfile reads a sparse map of any length before any cap applies
    (_raw_header(b"PaxHeader", b"%011o\0" % len(_pax_record_of(b"GNU.sparse.major", b"1")), b"x")
     + _pax_record_of(b"GNU.sparse.major", b"1").ljust(512, b"\0") + _raw_header(b"aclImdb/a.txt", b"%011o\0" % 0)
     + bytes(1024), "a sparse file"),
    # a file named like a folder: tarfile takes it for a folder and reads no data after it
    (_raw_header(b"aclImdb/d/", b"%011o\0" % 512, b"\0") + bytes(512) + bytes(1024), "a file named like a folder"),
])
def test_headers_that_make_tarfile_loop_or_read_without_bound_are_refused_in_seconds(tmp_path, raw, problem):
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "aclImdb.tar.gz").write_bytes(gzip.compress(raw))
    error = raised_within(15, ch16.load_imdb, tmp_path / "local", cache_dir=tmp_path / "cache")
    assert isinstance(error, ch16.DataError) and problem in str(error), error
    assert not any((tmp_path / "cache").rglob("*.txt"))


def test_a_negative_size_cannot_take_the_unpacked_size_under_its_cap(tmp_path):
    """A member of 3 MiB followed by one of a negative size: the sum of the sizes is below any cap."""
    big = _raw_header(b"aclImdb/a.txt", b"%011o\0" % (3 << 20)) + bytes(3 << 20)
    back = bytes([0o377]) + (-(len(big) + 512)).to_bytes(11, "big", signed=True)
    archive = tmp_path / "aclImdb.tar.gz"
    archive.write_bytes(gzip.compress(big + _raw_header(b"aclImdb/b.txt", back) + bytes(1024)))
    with pytest.raises(ch16.DataError, match="negative"):
        safe_extract(archive, tmp_path / "out", max_bytes=1 << 20)
    assert not any(tmp_path.rglob("*.txt"))


def test_an_archive_entry_named_like_the_marker_is_not_extracted(imdb_tree, tmp_path):
    """The marker says which folder this chapter extracted; an archive cannot bring its own."""
    (imdb_tree / ch16.imdb.MARKER).mkdir()
    synthetic.make_imdb_archive(tmp_path / "archive" / "aclImdb_v1.tar.gz", imdb_tree)
    ch16.load_imdb(tmp_path / "archive", cache_dir=tmp_path / "cache")
    assert (tmp_path / "cache" / "aclImdb" / ch16.imdb.MARKER).is_file()


def test_a_local_archive_over_its_size_cap_is_refused_before_it_is_read(tmp_path, monkeypatch):
    (tmp_path / "local").mkdir()
    with open(tmp_path / "local" / "aclImdb_v1.tar.gz", "wb") as sparse:
        sparse.truncate(ch16.imdb.MAX_ARCHIVE_BYTES + 1)  # a sparse file: no disk space used
    error = raised_within(15, ch16.load_imdb, tmp_path / "local", cache_dir=tmp_path / "cache")
    assert isinstance(error, ch16.DataError) and "more than the" in str(error), error


def test_a_pax_size_of_thousands_of_digits_is_a_badly_formed_header(tmp_path):
    raw = _tar([_member("././@PaxHeader", _pax_record_of(b"size", b"9" * 5_000), tarfile.XHDTYPE),
                _member("aclImdb/train/pos/0_9.txt")])
    (tmp_path / "a.tar.gz").write_bytes(gzip.compress(raw))
    with pytest.raises(ch16.DataError, match="a badly formed pax header"):
        safe_extract(tmp_path / "a.tar.gz", tmp_path / "unpacked", manual_hint="")


def test_a_small_archive_that_decompresses_to_a_huge_one_is_refused_early(tmp_path):
    """A compression bomb: a valid little tar followed by zeros that gzip packs 1,000 to 1. The
    cap counts every decompressed byte, skipped members and data after the end blocks included."""
    raw = _tar([_member("aclImdb/train/pos/0_9.txt")]) + bytes(8 << 20)
    (tmp_path / "bomb.tar.gz").write_bytes(gzip.compress(raw, compresslevel=9))
    assert (tmp_path / "bomb.tar.gz").stat().st_size < 100_000
    with pytest.raises(ch16.DataError, match=r"more than 1,048,576 bytes once decompressed"):
        safe_extract(tmp_path / "bomb.tar.gz", tmp_path / "unpacked", manual_hint="", max_unpacked_bytes=1 << 20)
    assert files_in(tmp_path) == [Path("bomb.tar.gz")]


@pytest.mark.parametrize("members, problem", [
    ([_member("aclImdb/train", b"a file"), _member("aclImdb/train/pos/0_9.txt")],
     "a path inside the file member 'aclImdb/train'"),
    ([_member(".", b"a file")], "an empty name"),
    ([_member("aclImdb/train/pos/0_9.txt"), _member("aclImdb/train", b"a file")],
     "a file where earlier members need a folder"),
    ([_member("././@PaxHeader", _pax_record_of(b"path", b"aclImdb/" + b"x/" * 600 + b"0_9.txt"), tarfile.XHDTYPE),
      _member("aclImdb/train/pos/0_9.txt")], "a name longer than 1,024 bytes"),
    ([_member("././@PaxHeader", _pax_record_of(b"path", b"aclImdb/train/pos/" + b"x" * 300 + b".txt"),
              tarfile.XHDTYPE), _member("aclImdb/train/pos/0_9.txt")], "a part of its name longer than 255 bytes"),
])
def test_an_archive_that_cannot_be_laid_out_on_disk_is_blamed_on_the_archive(tmp_path, members, problem):
    """Found while checking the headers, before anything is written, and not reported as a fault of
    the folder it was to be extracted into."""
    (tmp_path / "a.tar.gz").write_bytes(gzip.compress(_tar(members)))
    with pytest.raises(ch16.DataError, match=re.escape(problem) + ".*Nothing was extracted"):
        safe_extract(tmp_path / "a.tar.gz", tmp_path / "unpacked", manual_hint="")
    assert files_in(tmp_path) == [Path("a.tar.gz")]


def test_an_archive_made_with_tar_of_a_folders_contents_is_extracted(tmp_path, imdb_tree):
    """``tar czf aclImdb.tar.gz -C parent .`` writes a first member './': the top of the archive."""
    (tmp_path / "archive").mkdir()
    with tarfile.open(tmp_path / "archive" / "aclImdb.tar.gz", "w:gz") as tar:
        tar.add(imdb_tree.parent, arcname=".")  # members ./, ./aclImdb, ./aclImdb/train, ...
    data = ch16.load_imdb(tmp_path / "archive", cache_dir=tmp_path / "cache")
    assert len(data["train"][0]) == 10 and len(data["test"][0]) == 10


def test_a_run_of_extended_headers_without_a_member_is_refused(tmp_path):
    raw = _tar([_member("././@PaxHeader", _pax_record(b"x"), tarfile.XHDTYPE) for _ in range(5)]
               + [_member("aclImdb/train/pos/0_9.txt")])
    (tmp_path / "a.tar.gz").write_bytes(gzip.compress(raw))
    with pytest.raises(ch16.DataError, match="more than 4 extended headers in a row"):
        safe_extract(tmp_path / "a.tar.gz", tmp_path / "unpacked", manual_hint="")
