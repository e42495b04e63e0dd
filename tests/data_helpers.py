"""Fixtures and helpers of the data tests: small IMDb trees and archives, fake and slow servers."""

import hashlib
import io
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

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
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture
def count_downloads(monkeypatch):
    calls = []
    real_urlopen = urllib.request.urlopen

    def counting(url, *args, **kwargs):
        calls.append(url)
        return real_urlopen(url, *args, **kwargs)
    monkeypatch.setattr(urllib.request, "urlopen", counting)
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


def fail(error):
    raise error
