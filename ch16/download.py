"""Downloads that never leave a half-written file behind and give up on a stalled server."""

import collections
import hashlib
import http.client
import os
import re
import time
import urllib.request
from pathlib import Path

from ch16.errors import DataError
from ch16.files import partial_file

DOWNLOAD_MIN_RATE = (1_000, 120)  # bytes per second, on average over any this many seconds
DOWNLOAD_MAX_SECONDS = 3 * 3600  # a whole download (84 MB in 3 hours: 8 kB/s on average)


def _content_length(response, url, manual_hint):
    """The body length the server announced, or None if it announced none."""
    value = response.headers.get("Content-Length")
    if value is None:
        return None
    if not re.fullmatch(r"\s*[0-9]{1,18}\s*", value):  # up to 10**18 bytes: more is no real file
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise DataError(f"The server of {url} sent a malformed Content-Length ({shown!r}). {manual_hint}")
    return int(value)


def download(url, destination, sha256=None, manual_hint="", check=None, max_bytes=1 << 30):
    """Download ``url`` to ``destination`` with a progress bar.

    The bytes go to a temporary file beside the destination (``NAME.ch16-partial-...``), renamed
    only when the download is complete, its checksum matches and ``check(path)`` (if given) has
    not raised, so a failed download never leaves a cache entry behind. A body of more than
    ``max_bytes`` is refused as it arrives. Every failure is a ``DataError`` ending with ``manual_hint``.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, part = partial_file(destination)
    digest = hashlib.sha256()
    received = 0
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    total = _content_length(response, url, manual_hint)
                    shown = None
                    # read1 returns what has arrived, so that a server sending a byte now and then
                    # (each in time for the 60 s timeout) is caught by the rate check below.
                    read = response.read1 if isinstance(response, http.client.HTTPResponse) else response.read
                    rate, window = DOWNLOAD_MIN_RATE
                    started = time.monotonic()
                    progress = collections.deque([(started, 0)])  # (time, bytes received)
                    for block in iter(lambda: read(1 << 20), b""):
                        out.write(block)
                        digest.update(block)
                        received += len(block)
                        if received > max_bytes or (total or 0) > max_bytes:
                            raise DataError(f"The download of {url} is larger than the {max_bytes:,} bytes "
                                            f"expected at most. {manual_hint}")
                        now = time.monotonic()
                        while len(progress) > 1 and progress[1][0] <= now - window:
                            progress.popleft()  # keep one point at least `window` seconds old
                        progress.append((now, received))
                        if now - started > DOWNLOAD_MAX_SECONDS:
                            raise TimeoutError(f"too slow: not complete after {DOWNLOAD_MAX_SECONDS:,} s")
                        since, then = progress[0]
                        if now - since >= window and received - then < rate * (now - since):
                            raise TimeoutError(f"too slow: {received - then:,} bytes in the last {now - since:.0f} s, "
                                               f"less than {rate:,} bytes per second")
                        if total and 20 * received // total != shown:
                            shown = 20 * received // total
                            print(f"\r  [{'#' * shown:.<20}] {100 * received // total:3d}% of "
                                  f"{total / 1e6:.1f} MB", end="", flush=True)
                    print()
            except (OSError, http.client.HTTPException) as err:
                failed = f"was interrupted after {received:,} bytes" if received else "failed"
                raise DataError(f"The download of {url} {failed} ({str(err) or type(err).__name__}). "
                                f"{manual_hint}") from None
        if total is not None and received != total:
            raise DataError(f"The download of {url} is truncated: {received:,} bytes received, "
                            f"{total:,} announced. {manual_hint}")
        if sha256 and digest.hexdigest() != sha256:
            raise DataError(f"The download of {url} has the wrong checksum "
                            f"(sha256 {digest.hexdigest()}, expected {sha256}). {manual_hint}")
        if check is not None:
            check(part)
        os.replace(part, destination)
    except OSError as err:  # writing or renaming the file (the download's own errors are DataErrors above)
        raise DataError(f"The download of {url} could not be saved as {destination} "
                        f"({err.strerror or err}). {manual_hint}") from None
    finally:
        if os.path.exists(part):
            os.remove(part)
    return destination
