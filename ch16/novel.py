"""*The Mysterious Island*, Project Gutenberg ebook #1268: a local copy or a download, checked by its
structure (no checksum is pinned: Project Gutenberg revises its files) and trimmed to the story."""

import re
from pathlib import Path

from ch16.download import download
from ch16.errors import DataError
from ch16.settings import cache_dir as default_cache_dir

NOVEL_URL = "https://www.gutenberg.org/files/1268/1268-0.txt"
NOVEL_FILE = "1268-0.txt"
NOVEL_MIN_CHARS = 100_000
MAX_NOVEL_BYTES = 64 << 20  # the file has 1.2 MB
HINT = f"Download {NOVEL_URL} by hand, save it as {NOVEL_FILE} and set CH16_DATA_DIR to its folder."
_START = re.compile(r"^\*\*\* ?START OF (THIS|THE) PROJECT GUTENBERG EBOOK.*$", re.M)
_END = re.compile(r"^\*\*\* ?END OF (THIS|THE) PROJECT GUTENBERG EBOOK", re.M)
_CLOSING = re.compile(r"^End of (the )?Project Gutenberg", re.M | re.I)  # a line some editions put before END


def trim_gutenberg(raw, source="the text"):
    """The story of a Project Gutenberg text: no byte-order mark or CR line ends, nothing up to the START
    marker's line or from the END marker on, no "Produced by" paragraph or "End of the Project Gutenberg" line."""
    text = raw.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    start, end = _START.search(text), _END.search(text)
    if start is None or end is None or end.start() < start.end():
        missing = "START marker" if start is None else "END marker" if end is None else "END marker after its START"
        raise DataError(f"{source} has no Project Gutenberg {missing}: truncated, or not a Project Gutenberg text?")
    if "MYSTERIOUS ISLAND" not in start.group().upper():
        raise DataError(f"{source} is a Project Gutenberg text, but its START marker does not name The Mysterious "
                        "Island: another book?")
    body = text[start.end():end.start()].strip()
    if body[:40].lower().startswith(("produced by", "this ebook was produced by")) and "\n\n" in body:
        body = body[body.index("\n\n"):].lstrip()
    closing = _CLOSING.search(body)
    return body[:closing.start() if closing else None].strip() + "\n"


def read_novel(path, min_chars, source=None):
    """The trimmed text of the file ``path``; a ``DataError`` naming ``source`` (or the path) if it is
    not a UTF-8 Project Gutenberg text of The Mysterious Island of at least ``min_chars`` characters."""
    source = source or str(path)
    path = Path(path)
    if not path.is_file() or path.stat().st_size > MAX_NOVEL_BYTES:
        raise DataError(f"{source} is not a file of at most {MAX_NOVEL_BYTES:,} bytes. {HINT}")
    try:
        text = trim_gutenberg(path.read_bytes().decode("utf-8"), source)
    except UnicodeDecodeError as error:
        raise DataError(f"{source} is not UTF-8 text ({error.reason} at byte {error.start}). {HINT}") from None
    except OSError as error:
        raise DataError(f"{source} cannot be read ({error.strerror or error}). {HINT}") from None
    except DataError as error:
        raise DataError(f"{error} {HINT}") from None
    if len(text) < min_chars:
        raise DataError(f"{source} holds {len(text):,} characters of story, fewer than the {min_chars:,} expected: "
                        f"truncated? {HINT}")
    return text


def load_mysterious_island(data_dir=None, cache_dir=None, url=NOVEL_URL, min_chars=NOVEL_MIN_CHARS):
    """The text of *The Mysterious Island* without the Project Gutenberg header and licence: from
    ``data_dir/1268-0.txt`` (no network), or the data cache's copy, downloaded and checked on first use."""
    if data_dir is not None:
        path = Path(data_dir) / NOVEL_FILE
        if not path.exists():
            raise DataError(f"No {NOVEL_FILE} in {data_dir}. {HINT}")
        return read_novel(path, min_chars)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "data"
    path = cache / NOVEL_FILE
    if not path.exists():
        print(f"Downloading The Mysterious Island (1.2 MB) from {url}")
        try:
            download(url, path, HINT, check=lambda part: read_novel(part, min_chars, f"The download of {url}"),
                     max_bytes=MAX_NOVEL_BYTES, deadline=600)
        except OSError as error:
            raise DataError(f"The data cache {cache} cannot be used ({error.strerror or error}): set "
                            "CH16_CACHE_DIR to another folder.") from None
    try:
        return read_novel(path, min_chars)
    except DataError as error:
        raise DataError(f"{error} (It is the cached copy: delete it to download the novel again.)") from None
