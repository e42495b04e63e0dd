"""The data loaders: local copies, the download cache, and a clear error for every failure."""

import errno
import hashlib
import http.client
import http.server
import io
import os
import re
import tarfile
import threading
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import ch16_helpers as ch16
import synthetic

HINT = "by hand.*CH16_DATA_DIR"  # the end of every data error: how to get the file without us


@pytest.fixture
def imdb_tree(tmp_path):
    return synthetic.make_imdb_tree(tmp_path / "local" / "aclImdb", reviews_per_folder=5)


@pytest.fixture
def imdb_archive(tmp_path, imdb_tree):
    archive = synthetic.make_imdb_archive(tmp_path / "served" / "aclImdb_v1.tar.gz", imdb_tree)
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest()


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network in this test")
    monkeypatch.setattr(ch16.urllib.request, "urlopen", refuse)


@pytest.fixture
def count_downloads(monkeypatch):
    calls = []
    real_urlopen = ch16.urllib.request.urlopen

    def counting(url, *args, **kwargs):
        calls.append(url)
        return real_urlopen(url, *args, **kwargs)
    monkeypatch.setattr(ch16.urllib.request, "urlopen", counting)
    return calls


class FakeResponse(io.BytesIO):
    """A response with these headers whose ``read`` raises ``error`` once ``fail_at`` bytes are read."""

    def __init__(self, data, headers, error=None, fail_at=0):
        super().__init__(data)
        self.headers = headers
        self.error, self.fail_at = error, fail_at

    def read(self, size=-1):
        if self.error is not None and self.tell() >= self.fail_at:
            raise self.error
        return super().read(size)


class StallingResponse(FakeResponse):
    """Sends the first half of the body, then waits for ``resume`` before sending the rest."""

    def __init__(self, data, resume):
        super().__init__(data, {"Content-Length": str(len(data))})
        self.resume = resume

    def read(self, size=-1):
        if self.tell() == 0:
            return super().read(len(self.getvalue()) // 2)
        self.resume.wait(timeout=30)
        return super().read(size)


def files_in(folder):
    return sorted(p.relative_to(folder) for p in Path(folder).rglob("*"))


def wait_for(condition, seconds=20):
    """Poll ``condition`` until it returns something true, and return that."""
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
    return result


def error_within(seconds, function):
    """The exception ``function`` raises (None if it returns), failing if it runs longer than ``seconds``."""
    outcome = {}

    def run():
        try:
            function()
        except Exception as err:
            outcome["error"] = err
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    return outcome.get("error")


# ---- IMDb -------------------------------------------------------------------------------

def test_local_imdb_folder_is_read_without_network(imdb_tree, tmp_path, no_network):
    splits = ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")
    for split in ("train", "test"):
        texts, labels = splits[split]
        assert len(texts) == 10 and labels.tolist() == [0] * 5 + [1] * 5
    expected = (imdb_tree / "train" / "pos" / sorted(os.listdir(imdb_tree / "train" / "pos"))[0]).read_text()
    assert expected in splits["train"][0].tolist()
    assert not (tmp_path / "cache").exists()


def test_local_imdb_archive_is_extracted_once_and_reused(imdb_archive, tmp_path, no_network):
    archive, _ = imdb_archive
    cache = tmp_path / "cache"
    first = ch16.load_imdb(archive.parent, cache_dir=cache)
    marker_time = (cache / "aclImdb.complete").stat().st_mtime_ns
    second = ch16.load_imdb(archive.parent, cache_dir=cache)
    assert (cache / "aclImdb.complete").stat().st_mtime_ns == marker_time
    assert first["train"][0].tolist() == second["train"][0].tolist()
    assert len(first["test"][0]) == 10


def test_download_is_cached_and_not_repeated(imdb_archive, tmp_path, count_downloads):
    archive, sha256 = imdb_archive
    cache = tmp_path / "cache"
    for _ in range(2):
        splits = ch16.load_imdb(cache_dir=cache, url=archive.as_uri(), sha256=sha256)
    assert len(count_downloads) == 1
    assert len(splits["train"][0]) == 10
    assert (cache / "aclImdb_v1.tar.gz").exists()


def test_unsup_folder_is_not_needed_nor_extracted(tmp_path, no_network):
    tree = synthetic.make_imdb_tree(tmp_path / "src" / "aclImdb", reviews_per_folder=3)
    (tree / "train" / "unsup").mkdir()
    (tree / "train" / "unsup" / "0_0.txt").write_text("unlabelled")
    archive = synthetic.make_imdb_archive(tmp_path / "local" / "aclImdb.tar.gz", tree)
    splits = ch16.load_imdb(archive.parent, cache_dir=tmp_path / "cache")
    assert len(splits["train"][0]) == 6
    assert not (tmp_path / "cache" / "aclImdb" / "train" / "unsup").exists()


def test_wrong_checksum_is_refused_and_nothing_cached(imdb_archive, tmp_path):
    archive, _ = imdb_archive
    with pytest.raises(ch16.DataError, match="wrong checksum"):
        ch16.load_imdb(cache_dir=tmp_path / "cache", url=archive.as_uri(), sha256="0" * 64)
    assert files_in(tmp_path / "cache") == []


def _raise(error):
    raise error


ARCHIVE = b"bytes of an archive" * 1000  # served in place of the IMDb archive: 19,000 bytes
DOWNLOAD_FAILURES = {  # what urlopen does (return a response or raise), and the error expected
    "http error": (lambda: _raise(urllib.error.HTTPError("u", 503, "Service Unavailable", {}, None)),
                   "failed.*HTTP Error 503"),
    "connection refused": (lambda: _raise(urllib.error.URLError(ConnectionRefusedError(111, "Refused"))),
                           "failed.*Refused"),
    "server never answers": (lambda: _raise(TimeoutError("timed out")), "failed.*timed out"),
    "server hangs up": (lambda: _raise(http.client.RemoteDisconnected("Remote end closed connection")),
                        "failed.*Remote end closed"),
    "stalls mid-body": (lambda: FakeResponse(ARCHIVE, {"Content-Length": "19000"}, TimeoutError("timed out"),
                                             fail_at=100),
                        "interrupted after 19,000 bytes.*timed out"),
    "connection reset": (lambda: FakeResponse(ARCHIVE, {}, ConnectionResetError(104, "Reset"), fail_at=100),
                         "interrupted after 19,000 bytes.*Reset"),
    "chunks cut short": (lambda: FakeResponse(ARCHIVE, {}, http.client.IncompleteRead(b"", 500), fail_at=100),
                         "interrupted after 19,000 bytes.*IncompleteRead"),
    "body shorter than its length": (lambda: FakeResponse(ARCHIVE[:100], {"Content-Length": "19000"}),
                                     "truncated: 100 bytes received, 19,000 announced"),
    "body cut short, no length": (lambda: FakeResponse(ARCHIVE[:100], {}), "wrong checksum"),
    "length not a number": (lambda: FakeResponse(ARCHIVE, {"Content-Length": "abc"}),
                            r"malformed Content-Length \('abc'\)"),
    "negative length": (lambda: FakeResponse(ARCHIVE, {"Content-Length": "-5"}),
                        r"malformed Content-Length \('-5'\)"),
}


@pytest.mark.parametrize("failure", DOWNLOAD_FAILURES)
def test_failed_download_is_a_data_error_with_the_hint_and_nothing_cached(tmp_path, monkeypatch, failure):
    respond, message = DOWNLOAD_FAILURES[failure]
    monkeypatch.setattr(ch16.urllib.request, "urlopen", lambda url, timeout=None: respond())
    cache = tmp_path / "cache"
    with pytest.raises(ch16.DataError, match=f"{message}.*{HINT}") as raised:
        ch16.load_imdb(cache_dir=cache, url="https://example.invalid/aclImdb_v1.tar.gz",
                       sha256=hashlib.sha256(ARCHIVE).hexdigest())
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__ or raised.value.__context__ is None  # no second traceback
    assert files_in(cache) == []


class DripHandler(http.server.BaseHTTPRequestHandler):
    """Announces 19,000 bytes and sends one every 50 ms: each well within any read timeout."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(ARCHIVE)))
        self.end_headers()
        try:
            for byte in ARCHIVE:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:  # the client gave up
            pass

    def log_message(self, *args):
        pass


def test_a_server_sending_a_byte_now_and_then_is_given_up_on(tmp_path, monkeypatch):
    """A server that keeps every read within its timeout but sends almost nothing would keep a
    download going for ever; below an average rate, after a while, it is a DataError."""
    monkeypatch.setattr(ch16, "DOWNLOAD_MIN_RATE", (100, 1.0))  # 100 bytes/s over any second; the server sends 20
    for proxy in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)  # straight to the local server
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), DripHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        error = raised_within(15, ch16.load_imdb, cache_dir=tmp_path / "cache",  # the whole body would take 950 s
                              url=f"http://127.0.0.1:{server.server_port}/a.tar.gz",
                              sha256=hashlib.sha256(ARCHIVE).hexdigest())
        assert isinstance(error, ch16.DataError)
        assert re.search(f"interrupted after .* bytes.*too slow.*{HINT}", str(error))
        assert files_in(tmp_path / "cache") == []
    finally:
        server.shutdown()
        server.server_close()


def test_partial_files_of_a_killed_run_are_removed_by_the_next(imdb_archive, tmp_path):
    archive, sha256 = imdb_archive
    cache = tmp_path / "cache"
    (cache / "aclImdb_extract.k1ll.part" / "aclImdb").mkdir(parents=True)
    (cache / "aclImdb_v1.tar.gz.k1ll.part").write_bytes(b"the first bytes of the archive")
    ch16.load_imdb(cache_dir=cache, url=archive.as_uri(), sha256=sha256)
    assert sorted(p.name for p in cache.iterdir()) == ["aclImdb", "aclImdb.complete", "aclImdb_v1.tar.gz"]


def test_a_live_download_is_waited_for_and_its_partial_file_kept(tmp_path, monkeypatch, capsys):
    served = synthetic.gutenberg_file(synthetic.novel_body(n_sentences=50))
    resume = threading.Event()
    calls = []

    def stalling_urlopen(url, timeout=None):
        calls.append(url)
        return StallingResponse(served, resume)
    monkeypatch.setattr(ch16.urllib.request, "urlopen", stalling_urlopen)
    cache = tmp_path / "cache"

    def load():
        return ch16.load_mysterious_island(cache_dir=cache, url="https://example.invalid/1268-0.txt",
                                           min_chars=100)
    printed = []
    with ThreadPoolExecutor(2) as pool:
        try:
            first = pool.submit(load)
            (partial,) = wait_for(lambda: list(cache.glob("*.part")))  # the first download has begun
            second = pool.submit(load)
            wait_for(lambda: printed.append(capsys.readouterr().out) or "Waiting" in "".join(printed))
            assert partial.exists()
        finally:
            resume.set()
        assert first.result(timeout=30) == second.result(timeout=30)
    assert len(calls) == 1  # the second load used the first one's download


def test_two_extractions_into_one_cache_at_once_both_succeed(imdb_archive, tmp_path, no_network, monkeypatch):
    archive, _ = imdb_archive
    cache = tmp_path / "cache"
    extract = ch16.tarfile.TarFile.extractall
    extractions = []

    def slow_extract(self, *args, **kwargs):  # widens the time in which two extractions could overlap
        extractions.append(self.name)
        extract(self, *args, **kwargs)
        time.sleep(0.3)
    monkeypatch.setattr(ch16.tarfile.TarFile, "extractall", slow_extract)
    start = threading.Barrier(2)

    def load():
        start.wait(timeout=10)
        return ch16.load_imdb(archive.parent, cache_dir=cache)
    with ThreadPoolExecutor(2) as pool:
        first, second = [future.result(timeout=60) for future in [pool.submit(load), pool.submit(load)]]
    for split in ("train", "test"):
        assert len(first[split][0]) == 10
        assert first[split][0].tolist() == second[split][0].tolist()
    assert sorted(p.name for p in cache.iterdir()) == ["aclImdb", "aclImdb.complete"]
    assert len(extractions) == 1  # the second load waited for the first one's extraction, and used it


def test_cached_archive_with_a_wrong_checksum_is_deleted_and_downloaded_again(imdb_archive, tmp_path,
                                                                              count_downloads, capsys):
    archive, sha256 = imdb_archive
    cached = tmp_path / "cache" / archive.name
    cached.parent.mkdir()
    cached.write_bytes(archive.read_bytes()[:-100])  # a copy cut short
    splits = ch16.load_imdb(cache_dir=cached.parent, url=archive.as_uri(), sha256=sha256)
    assert f"Deleted {cached}" in capsys.readouterr().out
    assert len(count_downloads) == 1
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == sha256
    assert len(splits["train"][0]) == 10


def test_cached_archive_of_another_checksum_is_never_extracted(imdb_archive, tmp_path, no_network):
    _, sha256 = imdb_archive
    other_tree = synthetic.make_imdb_tree(tmp_path / "other" / "aclImdb", reviews_per_folder=2, seed=1)
    cached = synthetic.make_imdb_archive(tmp_path / "cache" / "aclImdb_v1.tar.gz", other_tree)
    with pytest.raises(ch16.DataError, match=HINT):
        ch16.load_imdb(cache_dir=cached.parent, url="https://example.invalid/aclImdb_v1.tar.gz",
                       sha256=sha256)
    assert files_in(cached.parent) == []  # deleted, and neither extracted nor recorded


def _not_a_regular_file(path, kind):
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")  # a symlink to a device that never ends


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_archive_that_is_not_a_regular_file_is_named_and_nothing_hangs(tmp_path, kind, no_network):
    """A named pipe or a device where the archive belongs, in the data folder or in the cache,
    is a DataError naming it; hashing it would block or never end (the timeout catches a hang)."""
    local = tmp_path / "local"
    local.mkdir()
    _not_a_regular_file(local / "aclImdb_v1.tar.gz", kind)
    cached = tmp_path / "cache" / "aclImdb_v1.tar.gz"
    cached.parent.mkdir()
    _not_a_regular_file(cached, kind)
    for path, arguments in [(local / "aclImdb_v1.tar.gz", dict(data_dir=local, cache_dir=tmp_path / "cache-local")),
                            (cached, dict(cache_dir=cached.parent, url="https://example.invalid/aclImdb_v1.tar.gz"))]:
        error = raised_within(20, ch16.load_imdb, **arguments)
        assert isinstance(error, ch16.DataError), error
        assert re.search(f"{re.escape(str(path))}.*not a regular file", str(error))


def raised_within(seconds, function, **arguments):
    """The exception that ``function(**arguments)`` raises (None if it returns), run in a daemon
    thread so that a hang fails the test after ``seconds`` instead of blocking the test run."""
    outcome = []

    def run():
        try:
            function(**arguments)
            outcome.append(None)
        except Exception as err:  # noqa: BLE001  (the test looks at it)
            outcome.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    assert outcome, f"{function.__name__} still runs after {seconds} s"
    return outcome[0]


def test_extraction_failing_half_way_leaves_no_folder_and_no_staging(imdb_archive, tmp_path, monkeypatch):
    """A disk that fills up during extraction: the archive is unpacked into a staging folder that
    becomes the extracted folder only when complete, so the failure leaves neither behind."""
    archive, _ = imdb_archive
    real_extract = tarfile.TarFile.extract

    def extract_then_fill_the_disk(self, member, path="", **options):
        if member.isfile() and any(Path(path).rglob("*.txt")):  # one review already written
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_extract(self, member, path, **options)

    monkeypatch.setattr(tarfile.TarFile, "extractall", lambda self, path, members, **options: [
        extract_then_fill_the_disk(self, member, path, **options) for member in members])
    target = tmp_path / "unpacked"
    with pytest.raises(ch16.DataError, match="No space left on device"):
        ch16.safe_extract(archive, target, manual_hint="")
    assert not target.exists() and not list(tmp_path.glob("*.part"))


def test_missing_data_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ch16.DataError, match="not a folder"):
        ch16.load_imdb(tmp_path / "does-not-exist", cache_dir=tmp_path / "cache")


def test_data_folder_without_imdb_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ch16.DataError, match="No aclImdb/ folder or aclImdb"):
        ch16.load_imdb(tmp_path / "empty", cache_dir=tmp_path / "cache")


@pytest.mark.parametrize("missing", ["train/neg", "test/pos"])
def test_folder_missing_a_split_is_named(imdb_tree, tmp_path, missing):
    for review in (imdb_tree / missing).iterdir():
        review.unlink()
    with pytest.raises(ch16.DataError, match=f"missing the split {missing}"):
        ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")


def test_archive_missing_a_split_is_named_and_leaves_no_cache_entry(tmp_path):
    tree = synthetic.make_imdb_tree(tmp_path / "src" / "aclImdb", reviews_per_folder=3)
    for review in (tree / "test" / "neg").iterdir():
        review.unlink()
    archive = synthetic.make_imdb_archive(tmp_path / "local" / "aclImdb.tar.gz", tree)
    with pytest.raises(ch16.DataError, match="missing the split test/neg"):
        ch16.load_imdb(archive.parent, cache_dir=tmp_path / "cache")
    assert files_in(tmp_path / "cache") == []


def test_truncated_local_archive_is_a_clear_error(imdb_archive, tmp_path):
    archive, _ = imdb_archive
    local = tmp_path / "truncated"
    local.mkdir()
    (local / "aclImdb_v1.tar.gz").write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(ch16.DataError, match="truncated or corrupt"):
        ch16.load_imdb(local, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "aclImdb").exists()


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
    target = tmp_path / "extracted"
    with pytest.raises(ch16.DataError, match=message.format(limit=limit, over=limit - 1)):
        ch16.safe_extract(archive, target, **{cap: limit - 1})
    assert not target.exists() and list(tmp_path.glob("*.part")) == []
    ch16.safe_extract(archive, target, **{cap: limit})  # exactly at the cap is allowed
    assert files_in(target / "aclImdb") == files_in(imdb_tree)


def _break_review(path, monkeypatch, damage):
    if damage == "not UTF-8":
        path.write_bytes("Un film très réussi.".encode("latin-1"))
    elif damage == "a folder":
        path.mkdir()
    elif damage == "a named pipe":
        os.mkfifo(path)  # opening it for reading would wait forever for a writer
    elif damage == "unreadable":  # the tests run as root, who can read any file: simulate it
        path.write_text("a review")
        read_bytes = Path.read_bytes
        monkeypatch.setattr(Path, "read_bytes", lambda self: _raise(PermissionError(13, "Permission denied"))
                            if self == path else read_bytes(self))


@pytest.mark.parametrize("damage, message", [("not UTF-8", "is not UTF-8 text"),
                                             ("a folder", "is not a regular file"),
                                             ("a named pipe", "is not a regular file"),
                                             ("unreadable", r"is unreadable \(Permission denied\)")])
def test_damaged_review_file_is_named(imdb_tree, tmp_path, monkeypatch, damage, message):
    review = imdb_tree / "train" / "pos" / "99_10.txt"
    _break_review(review, monkeypatch, damage)
    error = error_within(20, lambda: ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache"))
    assert isinstance(error, ch16.DataError)
    assert re.search(f"{re.escape(str(review))} {message}.*{HINT}", str(error))


def test_unreadable_review_folder_is_named_as_unreadable(imdb_tree, tmp_path, monkeypatch):
    locked = imdb_tree / "test" / "neg"

    def refusing(list_folder):  # the tests run as root, who can list any folder: simulate it
        return lambda path=".": (_raise(PermissionError(13, "Permission denied", str(path)))
                                 if Path(path) == locked else list_folder(path))
    monkeypatch.setattr(os, "listdir", refusing(os.listdir))
    monkeypatch.setattr(os, "scandir", refusing(os.scandir))
    with pytest.raises(ch16.DataError, match=f"{re.escape(str(locked))} is unreadable.*{HINT}"):
        ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")


# ---- The Mysterious Island ----------------------------------------------------------------

def test_novel_is_trimmed_and_normalised(tmp_path):
    body = synthetic.novel_body(n_sentences=50)
    (tmp_path / "1268-0.txt").write_bytes(synthetic.gutenberg_file(body))
    text = ch16.load_mysterious_island(tmp_path, min_chars=100)
    assert text == "THE MYSTERIOUS ISLAND\n\n" + body
    assert "\r" not in text and "\ufeff" not in text and "Gutenberg" not in text


@pytest.mark.parametrize("marker", ["start", "end"])
def test_novel_without_a_marker_is_a_clear_error(tmp_path, marker):
    raw = synthetic.gutenberg_file("Some text.\n", **{marker: False})
    (tmp_path / "1268-0.txt").write_bytes(raw)
    with pytest.raises(ch16.DataError, match=f"no Project Gutenberg {marker.upper()} marker.*{HINT}"):
        ch16.load_mysterious_island(tmp_path, min_chars=1)


def test_end_marker_before_start_marker_is_named(tmp_path):
    raw = synthetic.gutenberg_file(synthetic.novel_body(n_sentences=50))
    swapped = raw.replace(b"** START OF", b"** MARKER").replace(b"** END OF", b"** START OF")
    (tmp_path / "1268-0.txt").write_bytes(swapped.replace(b"** MARKER", b"** END OF"))
    with pytest.raises(ch16.DataError, match="END marker before its START marker"):
        ch16.load_mysterious_island(tmp_path, min_chars=1)


@pytest.mark.parametrize("source", ["data folder", "download"])
def test_novel_shorter_than_min_chars_is_refused_whatever_its_source(tmp_path, source):
    body = synthetic.novel_body(n_sentences=50)
    length = len("THE MYSTERIOUS ISLAND\n\n" + body)  # the text once trimmed
    served = tmp_path / "served" / "1268-0.txt"
    served.parent.mkdir()
    served.write_bytes(synthetic.gutenberg_file(body))
    where = dict(data_dir=served.parent) if source == "data folder" else dict(cache_dir=tmp_path / "cache",
                                                                              url=served.as_uri())
    with pytest.raises(ch16.DataError, match=f"holds only {length:,} characters.*{HINT}"):
        ch16.load_mysterious_island(**where, min_chars=length + 1)
    assert len(ch16.load_mysterious_island(**where, min_chars=length)) == length


def test_blank_lines_between_the_markers_are_trimmed_in_linear_time():
    blank = "\n" * 200_000
    raw = synthetic.gutenberg_file(blank + "Pencroft reached the beach.\n").decode("utf-8")
    start = time.perf_counter()
    text = ch16.trim_gutenberg(raw)
    assert time.perf_counter() - start < 1.0
    assert text == "THE MYSTERIOUS ISLAND\n\n" + blank + "Pencroft reached the beach.\n"


def test_novel_missing_from_data_folder_says_where_to_put_it(tmp_path):
    with pytest.raises(ch16.DataError, match=r"save it as 1268-0\.txt in"):
        ch16.load_mysterious_island(tmp_path)


def test_novel_download_is_cached_and_not_repeated(tmp_path, count_downloads):
    served = tmp_path / "served.txt"
    served.write_bytes(synthetic.gutenberg_file(synthetic.novel_body(n_sentences=5000)))
    texts = [ch16.load_mysterious_island(cache_dir=tmp_path / "cache", url=served.as_uri()) for _ in range(2)]
    assert len(count_downloads) == 1
    assert texts[0] == texts[1] and texts[0].startswith("THE MYSTERIOUS ISLAND")


def test_truncated_novel_download_is_refused_and_not_cached(tmp_path):
    served = tmp_path / "served.txt"
    served.write_bytes(synthetic.gutenberg_file(synthetic.novel_body(n_sentences=5000))[:5000])
    with pytest.raises(ch16.DataError, match="END marker"):
        ch16.load_mysterious_island(cache_dir=tmp_path / "cache", url=served.as_uri())
    assert files_in(tmp_path / "cache") == []


DAMAGED_NOVELS = {"no markers": b"Chapter 1. Half a novel.\n",
                  "not UTF-8": "Le capitaine Némo.".encode("latin-1")}


@pytest.mark.parametrize("damage", DAMAGED_NOVELS)
def test_damaged_cached_novel_is_deleted_and_downloaded_again(tmp_path, count_downloads, capsys, damage):
    served = tmp_path / "served.txt"
    served.write_bytes(synthetic.gutenberg_file(synthetic.novel_body(n_sentences=50)))
    cached = tmp_path / "cache" / "1268-0.txt"
    cached.parent.mkdir()
    cached.write_bytes(DAMAGED_NOVELS[damage])
    text = ch16.load_mysterious_island(cache_dir=cached.parent, url=served.as_uri(), min_chars=100)
    assert f"Deleted {cached}" in capsys.readouterr().out
    assert len(count_downloads) == 1 and cached.read_bytes() == served.read_bytes()
    assert text.startswith("THE MYSTERIOUS ISLAND")


def test_damaged_cached_novel_without_network_is_deleted_and_a_clear_error(tmp_path, no_network, capsys):
    cached = tmp_path / "cache" / "1268-0.txt"
    cached.parent.mkdir()
    cached.write_bytes(DAMAGED_NOVELS["no markers"])
    with pytest.raises(ch16.DataError, match=HINT):
        ch16.load_mysterious_island(cache_dir=cached.parent, min_chars=1)
    assert f"Deleted {cached}" in capsys.readouterr().out
    assert files_in(cached.parent) == []


# ---- A cache in the way: every case a DataError naming the path ------------------------------

def test_marker_of_undecodable_bytes_means_extract_again(imdb_archive, tmp_path, no_network):
    archive, _ = imdb_archive
    cache = tmp_path / "cache"
    ch16.load_imdb(archive.parent, cache_dir=cache)
    (cache / "aclImdb.complete").write_bytes(b"\xff\xfe not text")
    assert len(ch16.load_imdb(archive.parent, cache_dir=cache)["train"][0]) == 10
    assert (cache / "aclImdb.complete").read_text().startswith(archive.name)


def _imdb_with_a_folder_as_cached_archive(tmp_path):
    (tmp_path / "cache" / "aclImdb_v1.tar.gz").mkdir(parents=True)
    ch16.load_imdb(cache_dir=tmp_path / "cache", url="https://example.invalid/aclImdb_v1.tar.gz")


def _novel_with_a_folder_as_cached_copy(tmp_path):
    (tmp_path / "cache" / "1268-0.txt").mkdir(parents=True)
    ch16.load_mysterious_island(cache_dir=tmp_path / "cache", url="https://example.invalid/1268-0.txt")


def _cache_folder_is_a_file(tmp_path):
    (tmp_path / "cache").write_text("not a folder")
    ch16.load_mysterious_island(cache_dir=tmp_path / "cache" / "data", url="https://example.invalid/1268-0.txt")


@pytest.mark.parametrize("case, named", [
    (_imdb_with_a_folder_as_cached_archive, "aclImdb_v1.tar.gz"),
    (_novel_with_a_folder_as_cached_copy, "1268-0.txt"),
    (_cache_folder_is_a_file, "cache"),
])
def test_a_cache_path_of_the_wrong_kind_is_a_data_error_naming_it(tmp_path, no_network, capsys, case, named):
    with pytest.raises(ch16.DataError, match=f"data cache cannot be used: .*{re.escape(named)}.*CH16_CACHE_DIR"):
        case(tmp_path)
    assert "Deleted" not in capsys.readouterr().out  # nothing claims a deletion that did not happen


# ---- Real data (only when CH16_DATA_DIR names it) --------------------------------------------

@pytest.mark.realdata
def test_real_imdb_has_25000_balanced_reviews_per_split(real_data_dir, tmp_path):
    splits = ch16.load_imdb(real_data_dir, cache_dir=tmp_path / "cache")
    for split in ("train", "test"):
        texts, labels = splits[split]
        assert len(texts) == 25_000
        assert np.bincount(labels).tolist() == [12_500, 12_500]
        assert all(isinstance(t, str) and t.strip() for t in texts[:100])


@pytest.mark.realdata
def test_real_novel_is_trimmed_to_the_story(real_data_dir):
    text = ch16.load_mysterious_island(real_data_dir)
    assert text.startswith("THE MYSTERIOUS ISLAND")
    assert text.rstrip().endswith("Captain Nemo.")
    assert "Gutenberg" not in text and "\r" not in text and "\ufeff" not in text
    assert 1_100_000 < len(text) < 1_120_000


def test_split_evenly_trims_each_batch_to_the_replica_count():
    from types import SimpleNamespace

    import tensorflow as tf

    batches = tf.data.Dataset.range(9).map(lambda i: (tf.fill([3], i), i)).batch(4)  # 4, 4 and 1
    trimmed = list(ch16.split_evenly(batches, SimpleNamespace(num_replicas_in_sync=2)))
    assert [len(inputs) for inputs, _ in trimmed] == [4, 4]  # the batch of one is left out
    for inputs, targets in trimmed:
        np.testing.assert_array_equal(inputs.numpy()[:, 0], targets.numpy())  # rows stay paired
    odd = tf.data.Dataset.range(7).map(lambda i: (tf.fill([2], i), i)).batch(7)
    assert [len(x) for x, _ in ch16.split_evenly(odd, SimpleNamespace(num_replicas_in_sync=3))] == [6]
    assert ch16.split_evenly(batches, SimpleNamespace(num_replicas_in_sync=1)) is batches
