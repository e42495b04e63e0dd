"""Downloads that never leave a half-written file under the destination's name and never wait for
ever: a server must answer within a minute, and the whole download end within its deadline."""

import hashlib
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from ch16.errors import DataError

ANSWER_SECONDS = 60  # for the response headers, and for each read of the body


def printable(text, limit=200):  # text from outside (a server, a file name), safe to print: no control characters
    return "".join(c if c.isprintable() else "?" for c in str(text))[:limit]


def sha256_of(path):
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as error:
        raise DataError(f"{printable(path)} cannot be read ({error.strerror or error}).") from None


def _fetch(url, out, answered, stop, max_bytes):
    with urllib.request.urlopen(url, timeout=ANSWER_SECONDS) as response:
        answered.set()
        total, received, shown = getattr(response, "length", None) or 0, 0, -1  # http.client's parse of Content-Length
        while not stop.is_set() and (block := getattr(response, "read1", response.read)(1 << 20)):  # what came
            received += len(block)
            if received > max_bytes:
                raise DataError(f"more than the {max_bytes:,} bytes expected")
            out.write(block)
            if total and 20 * received // total != shown:
                shown = 20 * received // total
                print(f"\r  [{'#' * shown:.<20}] {100 * received // total:3d}% of {total / 1e6:.1f} MB", end="")
        print()
        if total and received != total:
            raise DataError(f"truncated: {received:,} of {total:,} bytes")


def download(url, destination, hint, sha256=None, check=None, max_bytes=1 << 30, deadline=3600):
    """Download ``url`` to ``destination`` under a temporary name, renamed when complete, of the expected
    ``sha256`` and accepted by ``check(path)`` (if given); else one ``DataError`` naming the URL, with ``hint``."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = destination.with_name(f".{destination.name}.{secrets.token_hex(8)}.part")  # a new name, ours alone
    answered, stop, failure = threading.Event(), threading.Event(), []

    def run():
        try:
            with open(part, "xb") as out:
                _fetch(url, out, answered, stop, max_bytes)
        except Exception as error:  # noqa: BLE001  (reported below)
            failure.append(error)

    worker = threading.Thread(target=run, daemon=True)  # told to stop at the end; a stalled read times out
    try:
        end = time.monotonic() + deadline  # for the whole download, answer included
        worker.start()
        worker.join(ANSWER_SECONDS)  # sooner if it ends: a refused connection, a small file
        if answered.is_set():
            worker.join(max(0, end - time.monotonic()))
        problem = (f"the server did not answer within {ANSWER_SECONDS} s" if not answered.is_set() else
                   f"not complete after {deadline:,} s") if worker.is_alive() else failure and _reason(failure[0])
        if not problem and sha256 and sha256_of(part) != sha256:
            problem = f"its SHA-256 is not the expected {sha256}"
        if problem:
            raise DataError(f"Download of {url} failed: {problem}. {hint}")
        if check is not None:
            check(part)
        os.replace(part, destination)
    finally:
        stop.set()
        if os.path.exists(part):
            os.remove(part)
    return destination


def _reason(error):  # an HTTP error by its code, never the server's text
    return (f"HTTP error {int(error.code)}" if isinstance(error, urllib.error.HTTPError) else
            f"no data for {ANSWER_SECONDS} s" if isinstance(error, TimeoutError) else
            printable(f"no connection ({error.reason})" if isinstance(error, urllib.error.URLError) else error))
