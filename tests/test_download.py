"""ch16.download: every failure a DataError with the way to get the file by hand, nothing half-written cached."""

import hashlib
import http.client
import http.server
import re
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

import ch16
import ch16.download as download_module
import synthetic
from data_helpers import HINT, FakeResponse, StallingResponse, fail, files_in, raised_within, wait_for

ARCHIVE = b"bytes of an archive" * 1000  # served in place of the IMDb archive: 19,000 bytes
DOWNLOAD_FAILURES = {  # what urlopen does (return a response or raise), and the error expected
    "http error": (lambda: fail(urllib.error.HTTPError("u", 503, "Service Unavailable", {}, None)),
                   "failed.*HTTP Error 503"),
    "connection refused": (lambda: fail(urllib.error.URLError(ConnectionRefusedError(111, "Refused"))),
                           "failed.*Refused"),
    "server never answers": (lambda: fail(TimeoutError("timed out")), "failed.*timed out"),
    "server hangs up": (lambda: fail(http.client.RemoteDisconnected("Remote end closed connection")),
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
    "length of 5,000 digits": (lambda: FakeResponse(ARCHIVE, {"Content-Length": "9" * 5000}),
                               r"malformed Content-Length \('9999"),
}


@pytest.mark.parametrize("failure", DOWNLOAD_FAILURES)
def test_failed_download_is_a_data_error_with_the_hint_and_nothing_cached(tmp_path, monkeypatch, failure):
    respond, message = DOWNLOAD_FAILURES[failure]
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: respond())
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
    monkeypatch.setattr(download_module, "DOWNLOAD_MIN_RATE", (100, 1.0))  # 100 bytes/s over any second; the server sends 20
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



def test_a_download_slow_but_above_the_minimum_rate_ends_at_its_deadline(tmp_path, monkeypatch):
    """A server sending steadily just above the minimum rate would keep a large download going for
    days; the whole download has a deadline."""
    monkeypatch.setattr(download_module, "DOWNLOAD_MIN_RATE", (10, 1.0))  # the server sends 20 bytes/s
    monkeypatch.setattr(download_module, "DOWNLOAD_MAX_SECONDS", 2)
    for proxy in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), DripHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        error = raised_within(15, ch16.load_imdb, cache_dir=tmp_path / "cache",
                              url=f"http://127.0.0.1:{server.server_port}/a.tar.gz",
                              sha256=hashlib.sha256(ARCHIVE).hexdigest())
        assert isinstance(error, ch16.DataError)
        assert re.search(f"interrupted after .* bytes.*not complete after 2 s.*{HINT}", str(error))
        assert files_in(tmp_path / "cache") == []
    finally:
        server.shutdown()
        server.server_close()


def test_a_live_download_is_waited_for_and_its_partial_file_kept(tmp_path, monkeypatch, capsys):
    served = synthetic.gutenberg_file(synthetic.novel_body(n_sentences=50))
    resume = threading.Event()
    calls = []

    def stalling_urlopen(url, timeout=None):
        calls.append(url)
        return StallingResponse(served, resume)
    monkeypatch.setattr(urllib.request, "urlopen", stalling_urlopen)
    cache = tmp_path / "cache"

    def load():
        return ch16.load_mysterious_island(cache_dir=cache, url="https://example.invalid/1268-0.txt",
                                           min_chars=100)
    printed = []
    with ThreadPoolExecutor(2) as pool:
        try:
            first = pool.submit(load)
            (partial,) = wait_for(lambda: list(cache.glob("*.ch16-partial-*")))  # the first download has begun
            second = pool.submit(load)
            wait_for(lambda: printed.append(capsys.readouterr().out) or "Waiting" in "".join(printed))
            assert partial.exists()
        finally:
            resume.set()
        assert first.result(timeout=30) == second.result(timeout=30)
    assert len(calls) == 1  # the second load used the first one's download


def test_a_download_larger_than_expected_is_refused_as_it_arrives(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: FakeResponse(ARCHIVE, {}))
    with pytest.raises(ch16.DataError, match="larger than the 1,000 bytes expected at most"):
        download_module.download("https://example.invalid/a", tmp_path / "a", max_bytes=1_000)
    assert files_in(tmp_path) == []


def test_a_download_that_cannot_be_saved_is_a_data_error(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: FakeResponse(ARCHIVE, {}))
    monkeypatch.setattr(download_module.os, "replace", lambda *args: fail(OSError(28, "No space left on device")))
    with pytest.raises(ch16.DataError, match=r"could not be saved as .*No space left on device"):
        download_module.download("https://example.invalid/a", tmp_path / "a")
    assert files_in(tmp_path) == []
