"""*The Mysterious Island*, Project Gutenberg ebook #1268: a local copy or a download, checked
by its structure and trimmed to the story."""

import os
import re
from pathlib import Path

from ch16.data_cache import data_cache_dir, filling, usable_cache
from ch16.download import download
from ch16.errors import DataError
from ch16.files import FileTooLargeError, NotARegularFileError, display_path, read_regular_file

NOVEL_URL = "https://www.gutenberg.org/files/1268/1268-0.txt"
NOVEL_FILE = "1268-0.txt"
# Project Gutenberg revises its files now and then (new headers, fixes), so no checksum is
# pinned for the novel: a download is checked by its structure instead (UTF-8, the START and
# END markers, at least this many characters between them).
NOVEL_MIN_CHARS = 100_000
MAX_NOVEL_BYTES = 64 << 20  # the file has 1.2 MB

# Marker lines, found by fixed patterns (no nested repetition: linear time on any text).
_START_MARKER = re.compile(r"^\*\*\* ?START OF (THIS|THE) PROJECT GUTENBERG EBOOK", re.M)
_END_MARKER = re.compile(r"^\*\*\* ?END OF (THIS|THE) PROJECT GUTENBERG EBOOK", re.M)
_CLOSING_LINE = re.compile(r"^End of (the )?Project Gutenberg", re.M | re.I)


def _hint(data_dir=None):
    where = data_dir or "a folder named by CH16_DATA_DIR"
    return (f"Download {NOVEL_URL} by hand, save it as {NOVEL_FILE} in {where}, "
            f"then set CH16_DATA_DIR to that folder.")


def trim_gutenberg(raw, source="the text"):
    """Strip the byte-order mark, normalise line endings, and cut the Project Gutenberg
    header and licence at their START/END marker lines, then the "Produced by" paragraph
    and the "End of the Project Gutenberg ..." line between them."""
    text = raw.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    start = _START_MARKER.search(text)
    end = _END_MARKER.search(text)
    if start is None or end is None:
        missing = "START" if start is None else "END"
        raise DataError(f"{source} has no Project Gutenberg {missing} marker: the file is "
                        f"truncated or not a Project Gutenberg text.")
    if end.start() < start.start():
        raise DataError(f"{source} has its Project Gutenberg END marker before its START marker: "
                        f"it is not a Project Gutenberg text.")
    body = text[text.find("\n", start.end()):end.start()].strip()
    if body[:30].lower().startswith(("produced by", "this ebook was produced by")):
        paragraph_end = body.find("\n\n")
        if paragraph_end >= 0:
            body = body[paragraph_end + 2:]
    closing = _CLOSING_LINE.search(body)
    return body[:closing.start() if closing else None].strip() + "\n"


class _Unreadable(Exception):
    """The file could not be read at all (as opposed to read and found damaged)."""


class _TooShort(DataError):
    """The text is a complete Project Gutenberg text, but shorter than the caller asked for."""


def _read_novel(path, min_chars, manual_hint, shown_as=None):
    """The trimmed text of the novel file ``path``, named ``shown_as`` (if given) in messages. A file
    that cannot be read raises ``_Unreadable`` (with a ``DataError`` as its argument); a damaged
    one a ``DataError``."""
    shown_as = shown_as or path
    try:
        raw = read_regular_file(path, MAX_NOVEL_BYTES)
    except (NotARegularFileError, FileTooLargeError) as err:
        raise _Unreadable(DataError(f"{shown_as} is {err.strerror}. {manual_hint}")) from None
    except OSError as err:
        raise _Unreadable(DataError(f"{shown_as} is unreadable ({err.strerror or err}). {manual_hint}")) from None
    try:
        decoded = raw.decode("utf-8")
        start = _START_MARKER.search(decoded)
        marker_line = decoded[start.start():].split("\n", 1)[0] if start is not None else ""
        if start is not None and "MYSTERIOUS ISLAND" not in marker_line.upper():
            raise DataError(f"{shown_as} is a Project Gutenberg text, but its START marker does not name "
                            "The Mysterious Island: another book?")
        text = trim_gutenberg(decoded, source=str(shown_as))
    except UnicodeDecodeError as err:
        raise DataError(f"{shown_as} is not UTF-8 text ({err.reason} at byte {err.start}). {manual_hint}") from None
    except DataError as err:
        raise DataError(f"{err} {manual_hint}") from None
    if len(text) < min_chars:
        raise _TooShort(f"{shown_as} holds only {len(text):,} characters of text, fewer than the {min_chars:,} "
                        f"asked for: truncated? {manual_hint}")
    return text


def load_mysterious_island(data_dir=None, cache_dir=None, url=NOVEL_URL, min_chars=NOVEL_MIN_CHARS):
    """Return the text of *The Mysterious Island* without the Project Gutenberg header and licence.

    Reads ``data_dir/1268-0.txt`` when ``data_dir`` is given (no network); otherwise the copy in
    the data cache ``cache_dir`` (default ``CH16_CACHE_DIR/data``), downloading it on first use (and
    again if the cached copy is damaged; a cached copy that cannot be read is an error, not
    deleted). A text of fewer than ``min_chars`` characters is refused as truncated.
    """
    if data_dir is not None:
        path = Path(data_dir) / NOVEL_FILE
        if not path.exists():
            raise DataError(f"No {NOVEL_FILE} in {data_dir}. {_hint(data_dir)}")
        try:
            return _read_novel(path, min_chars, _hint(data_dir))
        except _Unreadable as unreadable:
            raise unreadable.args[0] from None
    cache = Path(cache_dir) if cache_dir is not None else data_cache_dir()
    path = cache / NOVEL_FILE
    hint = _hint()
    with usable_cache(cache), filling(cache):
        if path.exists() or path.is_symlink():
            try:
                return _read_novel(path, min_chars, hint)
            except _Unreadable as unreadable:
                raise DataError(f"{unreadable.args[0]} (The cached copy {display_path(path)} was left as it "
                                "is: remove it, or set CH16_CACHE_DIR to another folder.)") from None
            except _TooShort as short:  # complete, but shorter than asked: kept, the caller's setting is the cause
                raise DataError(f"{short} (The cached copy {display_path(path)} is a complete text and was kept.)") from None
            except DataError as err:
                path.unlink()
                reason = str(err).replace(hint, "").replace(str(path), "it").strip()
                print(f"Deleted {display_path(path)}, the cached copy of the novel: {reason}")
        print(f"Downloading The Mysterious Island (1.2 MB) from {url}")
        texts = []

        def check(part):
            try:  # named by its source, not by the temporary file it was saved in
                texts.append(_read_novel(part, min_chars, hint, shown_as=f"The download of {url}"))
            except _Unreadable as unreadable:
                raise unreadable.args[0] from None

        download(url, path, manual_hint=hint, check=check, max_bytes=MAX_NOVEL_BYTES)
    return texts[0]
