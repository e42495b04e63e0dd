"""Fixtures and helpers of the data tests: small IMDb trees and archives, no network, and a local
server that answers (or does not) as a test tells it to."""

import hashlib
import socket
import socketserver
import threading
import urllib.request
from pathlib import Path

import pytest

import synthetic

HINT = "by hand.*CH16_DATA_DIR"  # the end of the data errors: how to get the file without the chapter
REVIEWS_PER_FOLDER = 12  # more than 10, so that ordering by review id differs from ordering by name


@pytest.fixture
def imdb_tree(tmp_path):
    """An aclImdb/ folder of synthetic reviews, in tmp_path/local/."""
    return synthetic.make_imdb_tree(tmp_path / "local" / "aclImdb", reviews_per_folder=REVIEWS_PER_FOLDER)


@pytest.fixture
def imdb_archive(tmp_path, imdb_tree):
    """``imdb_tree`` packed as tmp_path/served/aclImdb_v1.tar.gz, and the archive's SHA-256."""
    archive = synthetic.make_imdb_archive(tmp_path / "served" / "aclImdb_v1.tar.gz", imdb_tree)
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest()


def reviews_as_written(root):
    """What ``load_imdb`` must return for the aclImdb/ folder ``root``, computed from the files:
    for each split, the negative then the positive reviews, each in the order of their numeric id."""
    splits = {}
    for split in ("train", "test"):
        texts, labels = [], []
        for label, name in enumerate(("neg", "pos")):
            reviews = sorted((root / split / name).glob("*_*.txt"), key=lambda path: int(path.name.split("_")[0]))
            texts += [review.read_text(encoding="utf-8") for review in reviews]
            labels += [label] * len(reviews)
        splits[split] = texts, labels
    return splits


def as_lists(splits):
    return {split: (texts.tolist(), labels.tolist()) for split, (texts, labels) in splits.items()}


def refuse_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("this test must not use the network")
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture
def no_network(monkeypatch):
    refuse_network(monkeypatch)


def files_in(folder):
    """Everything under ``folder`` (hidden files too), relative to it; [] if it does not exist."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


def assert_one_error(error):
    """A single error, not a chain of them: no 'During handling of the above exception...'."""
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            request += chunk
        try:
            self.server.respond(self.request, self.server.stop)
        except OSError:  # the client gave up
            pass


@pytest.fixture
def serve(monkeypatch):
    """``serve(respond)``: the URL of a server on 127.0.0.1 that reads a request and calls
    ``respond(connection, stop)``; ``stop`` (a threading.Event) is set when the test ends."""
    monkeypatch.setenv("no_proxy", "*")  # straight to the local server, whatever proxy is set
    monkeypatch.setenv("NO_PROXY", "*")
    servers = []

    def start(respond):
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.respond, server.stop = respond, threading.Event()
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/aclImdb_v1.tar.gz"
    yield start
    for server in servers:
        server.stop.set()
        server.shutdown()
        server.server_close()


def send_slowly(data, every):
    """A ``respond`` that sends ``data`` one byte every ``every`` seconds, until told to stop."""
    def respond(connection, stop):
        for byte in data:
            if stop.wait(every):
                return
            connection.sendall(bytes([byte]))
        stop.wait(30)
    return respond


def raised_within(seconds, function, *arguments, **keywords):
    """The exception that ``function`` raises (None if it returns), run in a daemon thread so that a
    hang fails the test after ``seconds`` instead of blocking the test run."""
    outcome = []

    def run():
        try:
            function(*arguments, **keywords)
            outcome.append(None)
        except Exception as err:  # noqa: BLE001  (the test looks at it)
            outcome.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    assert outcome, f"{getattr(function, '__name__', function)} still runs after {seconds} s"
    return outcome[0]


def closed_port():
    """A port on 127.0.0.1 where nothing listens: a connection to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
