"""ch16.novel: The Mysterious Island from a local copy or a download checked before it is kept,
trimmed to the story at the Project Gutenberg markers; every mistake one DataError (docs/data.md)."""

import os
import re

import pytest

import ch16
import synthetic
from ch16.novel import trim_gutenberg
from data_helpers import HINT, assert_one_error, files_in, no_network, raised_within, refuse_network  # noqa: F401

BODY = synthetic.novel_body(n_sentences=60)
STORY = "THE MYSTERIOUS ISLAND\n\n" + BODY.strip() + "\n"  # what the trimmed text of gutenberg_file(BODY) must be


def novel_folder(tmp_path, raw, name="1268-0.txt"):
    folder = tmp_path / "local"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(raw)
    return folder


def test_a_local_copy_is_read_trimmed_to_the_story_without_network(tmp_path, no_network):
    text = ch16.load_mysterious_island(novel_folder(tmp_path, synthetic.gutenberg_file(BODY)), min_chars=100)
    assert text == STORY  # no byte-order mark, no CR, no header, "Produced by" paragraph or licence


@pytest.mark.parametrize("layout", [dict(closing=False),
                                    dict(before_end="\n\nUpdated editions will replace the previous one.\n"),
                                    dict(bom=False, crlf=False)],
                         ids=["no closing line", "text between the closing line and END", "LF, no BOM"])
def test_the_story_ends_at_the_end_marker_or_the_closing_line_before_it(layout):
    """The licence after the END marker is cut even where no "End of the Project Gutenberg" line comes before it."""
    assert trim_gutenberg(synthetic.gutenberg_file(BODY, **layout).decode("utf-8")) == STORY


@pytest.mark.parametrize("damage, message", [
    (dict(start=False), "has no Project Gutenberg START marker"),
    (dict(end=False), "has no Project Gutenberg END marker"),
    (dict(book="TWENTY THOUSAND LEAGUES UNDER THE SEA"), "does not name The Mysterious Island"),
], ids=["no START marker", "no END marker", "another book"])
def test_a_file_without_the_markers_of_the_mysterious_island_is_one_error(tmp_path, damage, message):
    folder = novel_folder(tmp_path, synthetic.gutenberg_file(BODY, **damage))
    with pytest.raises(ch16.DataError, match=f"^{re.escape(str(folder / '1268-0.txt'))} .*{message}") as raised:
        ch16.load_mysterious_island(folder, min_chars=1)
    assert_one_error(raised.value)


def test_an_end_marker_before_the_start_marker_is_one_error(tmp_path):
    start = b"*** START OF THE PROJECT GUTENBERG EBOOK THE MYSTERIOUS ISLAND ***\n"
    raw = synthetic.gutenberg_file(BODY, start=False) + start  # after the END marker
    with pytest.raises(ch16.DataError, match="no Project Gutenberg END marker after its START"):
        ch16.load_mysterious_island(novel_folder(tmp_path, raw), min_chars=1)


def test_a_file_that_is_not_utf8_is_one_error(tmp_path):
    raw = synthetic.gutenberg_file(BODY + "Captain Nemo.\n", bom=False)
    folder = novel_folder(tmp_path, raw.replace(b"Nemo", "Némo".encode("latin-1")))  # a Latin-1 copy
    with pytest.raises(ch16.DataError, match=f"^{re.escape(str(folder / '1268-0.txt'))} is not UTF-8 text.*{HINT}"):
        ch16.load_mysterious_island(folder, min_chars=1)


def test_a_story_shorter_than_asked_is_one_error_with_its_length(tmp_path):
    folder = novel_folder(tmp_path, synthetic.gutenberg_file(BODY))
    assert ch16.load_mysterious_island(folder, min_chars=len(STORY)) == STORY
    with pytest.raises(ch16.DataError, match=f"holds {len(STORY):,} characters of story, fewer than the "
                                             f"{len(STORY) + 1:,} expected.*{HINT}") as raised:
        ch16.load_mysterious_island(folder, min_chars=len(STORY) + 1)
    assert_one_error(raised.value)


@pytest.mark.parametrize("what", ["missing", "named pipe"])
def test_a_missing_file_or_one_that_is_not_a_regular_file_is_one_error(tmp_path, what):
    folder = novel_folder(tmp_path, b"", name="other.txt")
    if what == "named pipe":
        os.mkfifo(folder / "1268-0.txt")  # reading it would wait for ever for a writer
    error = raised_within(20, ch16.load_mysterious_island, folder, min_chars=1)
    assert isinstance(error, ch16.DataError) and re.search(f"1268-0.txt.*{re.escape(str(folder))}|"
                                                           f"{re.escape(str(folder))}/1268-0.txt", str(error))
    assert re.search(HINT, str(error))


def test_a_download_is_checked_then_kept_in_the_cache_and_not_repeated(tmp_path, monkeypatch):
    served = tmp_path / "served" / "1268-0.txt"
    served.parent.mkdir()
    served.write_bytes(synthetic.gutenberg_file(BODY))
    cache = tmp_path / "cache"
    assert ch16.load_mysterious_island(cache_dir=cache, url=served.as_uri(), min_chars=100) == STORY
    assert files_in(cache) == ["1268-0.txt"] and (cache / "1268-0.txt").read_bytes() == served.read_bytes()
    served.unlink()
    refuse_network(monkeypatch)
    assert ch16.load_mysterious_island(cache_dir=cache, url=served.as_uri(), min_chars=100) == STORY


FULL = synthetic.gutenberg_file(BODY)


@pytest.mark.parametrize("served, min_chars", [(FULL[:len(FULL) // 2], 1), (FULL, len(STORY) + 1),
                                               (synthetic.gutenberg_file(BODY, book="AROUND THE WORLD"), 1)],
                         ids=["cut short", "shorter than asked", "another book"])
def test_a_download_that_fails_its_check_is_not_kept(tmp_path, served, min_chars):
    path = tmp_path / "served" / "1268-0.txt"
    path.parent.mkdir()
    path.write_bytes(served)
    cache = tmp_path / "cache"
    with pytest.raises(ch16.DataError, match=f"^The download of {re.escape(path.as_uri())} ") as raised:
        ch16.load_mysterious_island(cache_dir=cache, url=path.as_uri(), min_chars=min_chars)
    assert_one_error(raised.value)
    assert files_in(cache) == []  # no cached copy, and no temporary file


def test_a_damaged_cached_copy_is_reported_with_the_advice_to_delete_it_and_kept(tmp_path, no_network):
    cached = tmp_path / "cache" / "1268-0.txt"
    cached.parent.mkdir()
    damaged = synthetic.gutenberg_file(BODY, end=False)
    cached.write_bytes(damaged)
    with pytest.raises(ch16.DataError, match=f"^{re.escape(str(cached))} has no .*END marker.*the cached copy: "
                                             "delete it to download the novel again") as raised:
        ch16.load_mysterious_island(cache_dir=cached.parent, url="https://example.invalid/1268-0.txt", min_chars=1)
    assert_one_error(raised.value)
    assert cached.read_bytes() == damaged


@pytest.mark.realdata
def test_real_novel_is_trimmed_to_the_story(real_data_dir):
    text = ch16.load_mysterious_island(real_data_dir)
    assert text.startswith("THE MYSTERIOUS ISLAND")
    assert text.rstrip().endswith("Captain Nemo.")
    assert "Gutenberg" not in text and "\r" not in text and "\ufeff" not in text
