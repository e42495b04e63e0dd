"""ch16.download: a file is kept only when complete and checked; every failure is one DataError that
names the URL and ends with the hint, and leaves nothing behind; a server cannot make a download
wait for ever, nor print its own text to the terminal."""

import hashlib
import inspect
import re
import threading
import time
from pathlib import Path

import pytest

import ch16
from ch16 import download as download_module
from data_helpers import assert_one_error, closed_port, files_in, raised_within, send_slowly, serve  # noqa: F401

SERVED = bytes(range(256)) * 40  # 10,240 bytes
HINT = "Fetch it yourself, then set CH16_DATA_DIR."


@pytest.fixture
def served(tmp_path):
    path = tmp_path / "served" / "aclImdb_v1.tar.gz"
    path.parent.mkdir()
    path.write_bytes(SERVED)
    return path


@pytest.fixture
def destination(tmp_path):
    """Where the downloads go: a folder of its own, so that anything left in it shows."""
    return tmp_path / "cache" / "aclImdb_v1.tar.gz"


@pytest.fixture
def quick_answers(monkeypatch):
    monkeypatch.setattr(download_module, "ANSWER_SECONDS", 1)
    return 1


def test_a_download_of_the_expected_sha256_is_kept_under_its_name_and_nothing_else(served, destination):
    result = download_module.download(served.as_uri(), destination, HINT,
                                      sha256=hashlib.sha256(SERVED).hexdigest())
    assert result == destination and destination.read_bytes() == SERVED
    assert files_in(destination.parent) == [destination.name]  # no temporary file left beside it


def test_the_check_sees_the_complete_download_before_it_is_kept(served, destination):
    seen = []

    def check(part):
        seen.append((Path(part).name, Path(part).read_bytes(), destination.exists()))
    download_module.download(served.as_uri(), destination, HINT, check=check)
    ((name, data, kept_already),) = seen
    assert re.fullmatch(rf"\.{re.escape(destination.name)}\..+\.part", name)  # a hidden temporary name beside it
    assert data == SERVED and not kept_already
    assert destination.read_bytes() == SERVED


def test_a_download_the_check_refuses_is_not_kept_and_its_error_is_raised(served, destination):
    def check(part):
        raise ch16.DataError("not a novel")
    with pytest.raises(ch16.DataError, match="^not a novel$"):
        download_module.download(served.as_uri(), destination, HINT, check=check)
    assert files_in(destination.parent) == []


def _not_found_with_escapes(connection, stop):
    connection.sendall(b"HTTP/1.0 404 \x1b[2J\x1b]0;owned\x07Gone\x1b[0m\r\nContent-Length: 0\r\n\r\n")


def _truncated(connection, stop):
    connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 10240\r\n\r\n" + SERVED[:100])  # then hangs up


FAILURES = {  # how to make the download fail: (URL, keywords of download), and what the error says
    "wrong sha256": (lambda served, serve: (served.as_uri(), dict(sha256="0" * 64)),
                     "its SHA-256 is not the expected 0000"),
    "larger than expected": (lambda served, serve: (served.as_uri(), dict(max_bytes=len(SERVED) - 1)),
                             f"more than the {len(SERVED) - 1:,} bytes expected"),
    "HTTP 404": (lambda served, serve: (serve(_not_found_with_escapes), {}), "HTTP error 404"),
    "body shorter than its Content-Length": (lambda served, serve: (serve(_truncated), {}),
                                             "truncated: 100 of 10,240 bytes"),
    "connection refused": (lambda served, serve: (f"http://127.0.0.1:{closed_port()}/a.tar.gz", {}),
                           "no connection .*refused"),
}


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_download_is_one_data_error_naming_the_url_and_leaves_no_file(served, destination, serve,
                                                                                 failure):
    make, reason = FAILURES[failure]
    url, keywords = make(served, serve)
    error = raised_within(10, download_module.download, url, destination, HINT, **keywords)
    assert isinstance(error, ch16.DataError), error
    assert re.fullmatch(f"Download of {re.escape(url)} failed: {reason}.*{re.escape(HINT)}", str(error))
    assert_one_error(error)
    assert files_in(destination.parent) == []


@pytest.mark.parametrize("respond", [_not_found_with_escapes,
                                     lambda connection, stop: connection.sendall(b"\x1b[2J\x1b]0;owned\x07 x\r\n")],
                         ids=["reason phrase of an HTTP error", "malformed status line"])
def test_text_a_server_sends_is_never_printed_with_its_control_characters(destination, serve, respond):
    error = raised_within(10, download_module.download, serve(respond), destination, HINT)
    assert isinstance(error, ch16.DataError), error
    assert str(error).isprintable()  # no escape sequence that would clear the terminal or set its title
    assert files_in(destination.parent) == []


def _given_up_within(seconds, url, destination, **keywords):
    """The DataError that a download of ``url`` ends in, asserting that it came within ``seconds``."""
    start = time.monotonic()
    error = raised_within(seconds + 10, download_module.download, url, destination, HINT, **keywords)
    elapsed = time.monotonic() - start
    assert isinstance(error, ch16.DataError), error
    assert elapsed < seconds, f"given up on after {elapsed:.1f} s"
    assert files_in(destination.parent) == []
    return error


def test_a_server_that_never_answers_is_given_up_on_at_the_answer_time(destination, serve, quick_answers):
    url = serve(lambda connection, stop: stop.wait(30))
    error = _given_up_within(quick_answers + 0.8, url, destination)
    assert url in str(error)


def test_a_server_sending_its_headers_a_byte_at_a_time_is_given_up_on_at_the_answer_time(destination, serve,
                                                                                          quick_answers):
    """Each byte comes well within the socket's timeout: only the time allowed for the whole answer ends it."""
    url = serve(send_slowly(b"HTTP/1.0 200 OK\r\nContent-Length: 10240\r\n\r\n", every=0.2))
    error = _given_up_within(quick_answers + 0.8, url, destination)
    assert f"did not answer within {quick_answers} s" in str(error)


def test_a_body_that_stops_coming_is_given_up_on_at_the_answer_time_not_the_deadline(destination, serve,
                                                                                       quick_answers):
    def stall(connection, stop):
        connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 10240\r\n\r\n" + SERVED[:100])
        stop.wait(30)
    error = _given_up_within(2 * quick_answers + 0.8, serve(stall), destination, deadline=60)
    assert f"no data for {quick_answers} s" in str(error)


def test_a_download_that_keeps_coming_slowly_ends_at_its_deadline(destination, serve, quick_answers):
    """A byte every 0.2 s keeps every read in time; the deadline counts from the start of the download."""
    head = b"HTTP/1.0 200 OK\r\nContent-Length: 10240\r\n\r\n"
    url = serve(lambda connection, stop: connection.sendall(head) or send_slowly(SERVED, every=0.2)(connection, stop))
    before = threading.active_count()
    error = _given_up_within(2 + 0.7, url, destination, deadline=2)
    assert "not complete after 2 s" in str(error)
    time.sleep(1)  # a few more of the server's bytes: the download, told to stop, does not read on
    assert threading.active_count() <= before



def test_the_time_limits_are_those_the_documentation_promises(tmp_path, monkeypatch):
    """docs/data.md: a server must answer within a minute; a download must end within an hour (ten
    minutes for the novel)."""
    from ch16 import imdb, novel

    assert download_module.ANSWER_SECONDS == 60
    default = inspect.signature(download_module.download).parameters["deadline"].default
    deadlines = {}

    def record(url, destination, hint, **keywords):
        deadlines[destination.name] = keywords.get("deadline", default)
        raise ch16.DataError("not downloaded")
    for module in (imdb, novel):
        monkeypatch.setattr(module, "download", record)
    for load in (ch16.load_imdb, ch16.load_mysterious_island):
        with pytest.raises(ch16.DataError, match="not downloaded"):
            load(cache_dir=tmp_path / "cache")
    assert deadlines == {"aclImdb_v1.tar.gz": 3600, "1268-0.txt": 600}


@pytest.mark.parametrize("length", [b"abc", b"-5"])
def test_a_content_length_that_is_no_length_is_ignored_and_the_body_read_to_its_end(destination, serve, length, capsys):
    def respond(connection, stop):
        connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: " + length + b"\r\n\r\n" + SERVED)  # then closes
    url = serve(respond)
    download_module.download(url, destination, HINT, sha256=hashlib.sha256(SERVED).hexdigest())
    assert destination.read_bytes() == SERVED and "abc" not in capsys.readouterr().out
