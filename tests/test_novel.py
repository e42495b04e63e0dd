"""ch16.novel: the novel from a local copy or a download, checked and trimmed; clear errors otherwise."""

import os
import re
import time
import urllib.request

import pytest

import ch16
import synthetic
from ch16.novel import trim_gutenberg
from data_helpers import HINT, count_downloads, files_in, no_network, raised_within  # noqa: F401  (fixtures)


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
    text = trim_gutenberg(raw)
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
    with pytest.raises(ch16.DataError, match="END marker") as error:
        ch16.load_mysterious_island(cache_dir=tmp_path / "cache", url=served.as_uri())
    assert files_in(tmp_path / "cache") == []
    # named by where it came from, not by the temporary file that no longer exists
    assert str(error.value).startswith(f"The download of {served.as_uri()}") and "partial" not in str(error.value)


DAMAGED_NOVELS = {"no markers": (b"Chapter 1. Half a novel.\n", "no Project Gutenberg START marker"),
                  "not UTF-8": ("Le capitaine Némo.".encode("latin-1"), "not UTF-8 text"),
                  "another book": (synthetic.gutenberg_file(synthetic.novel_body(n_sentences=50)).replace(
                      b"THE MYSTERIOUS ISLAND ***", b"TWENTY THOUSAND LEAGUES ***"), "another book?")}


@pytest.mark.parametrize("damage", DAMAGED_NOVELS)
def test_damaged_cached_novel_is_deleted_and_downloaded_again(tmp_path, count_downloads, capsys, damage):
    served = tmp_path / "served.txt"
    served.write_bytes(synthetic.gutenberg_file(synthetic.novel_body(n_sentences=50)))
    cached = tmp_path / "cache" / "1268-0.txt"
    cached.parent.mkdir()
    damaged, reason = DAMAGED_NOVELS[damage]
    cached.write_bytes(damaged)
    text = ch16.load_mysterious_island(cache_dir=cached.parent, url=served.as_uri(), min_chars=100)
    printed = capsys.readouterr().out
    assert f"Deleted {cached}" in printed and reason in printed  # with the reason it failed its check
    assert len(count_downloads) == 1 and cached.read_bytes() == served.read_bytes()
    assert text.startswith("THE MYSTERIOUS ISLAND")


def test_damaged_cached_novel_without_network_is_deleted_and_a_clear_error(tmp_path, no_network, capsys):
    cached = tmp_path / "cache" / "1268-0.txt"
    cached.parent.mkdir()
    cached.write_bytes(DAMAGED_NOVELS["no markers"][0])
    with pytest.raises(ch16.DataError, match=HINT):
        ch16.load_mysterious_island(cache_dir=cached.parent, min_chars=1)
    assert f"Deleted {cached}" in capsys.readouterr().out
    assert files_in(cached.parent) == []




def _imdb_with_a_folder_as_cached_archive(tmp_path):
    (tmp_path / "cache" / "aclImdb_v1.tar.gz").mkdir(parents=True)
    ch16.load_imdb(cache_dir=tmp_path / "cache", url="https://example.invalid/aclImdb_v1.tar.gz")


def _novel_with_a_folder_as_cached_copy(tmp_path):
    (tmp_path / "cache" / "1268-0.txt").mkdir(parents=True)
    ch16.load_mysterious_island(cache_dir=tmp_path / "cache", url="https://example.invalid/1268-0.txt")


def _cache_folder_is_a_file(tmp_path):
    (tmp_path / "cache").write_text("not a folder")
    ch16.load_mysterious_island(cache_dir=tmp_path / "cache" / "data", url="https://example.invalid/1268-0.txt")


@pytest.mark.parametrize("case, message", [
    (_imdb_with_a_folder_as_cached_archive, "data cache cannot be used: .*aclImdb_v1.tar.gz.*CH16_CACHE_DIR"),
    (_novel_with_a_folder_as_cached_copy, "1268-0.txt is not a regular file.*left as it is.*CH16_CACHE_DIR"),
    (_cache_folder_is_a_file, "data cache cannot be used: .*cache.*CH16_CACHE_DIR"),
])
def test_a_cache_path_of_the_wrong_kind_is_a_data_error_naming_it(tmp_path, no_network, capsys, case, message):
    with pytest.raises(ch16.DataError, match=message):
        case(tmp_path)
    assert "Deleted" not in capsys.readouterr().out  # nothing claims a deletion that did not happen



def test_an_unreadable_cached_novel_is_named_and_kept(tmp_path, no_network, monkeypatch, capsys):
    """A cached copy that cannot be read (no permission) is an error naming it, not a damaged file:
    it is not deleted."""
    from ch16 import novel as novel_module

    cached = tmp_path / "cache" / "1268-0.txt"
    cached.parent.mkdir()
    cached.write_bytes(synthetic.gutenberg_file(synthetic.novel_body(n_sentences=50)))
    real_read = novel_module.read_regular_file

    def denied(path, *args, **kwargs):  # the tests run as root, who can read any file: simulate it
        if path == cached:
            raise PermissionError(13, "Permission denied", str(path))
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(novel_module, "read_regular_file", denied)
    with pytest.raises(ch16.DataError, match=r"1268-0.txt is unreadable \(Permission denied\).*left as it is"):
        ch16.load_mysterious_island(cache_dir=cached.parent, min_chars=100)
    assert cached.exists() and "Deleted" not in capsys.readouterr().out


def test_a_named_pipe_as_the_novel_is_refused_without_hanging(tmp_path):
    os.mkfifo(tmp_path / "1268-0.txt")
    error = raised_within(20, ch16.load_mysterious_island, tmp_path, min_chars=100)
    assert isinstance(error, ch16.DataError) and "is not a regular file" in str(error)


@pytest.mark.realdata
def test_real_novel_is_trimmed_to_the_story(real_data_dir):
    text = ch16.load_mysterious_island(real_data_dir)
    assert text.startswith("THE MYSTERIOUS ISLAND")
    assert text.rstrip().endswith("Captain Nemo.")
    assert "Gutenberg" not in text and "\r" not in text and "\ufeff" not in text
    assert 1_100_000 < len(text) < 1_120_000


def test_a_complete_cached_novel_shorter_than_asked_is_kept(tmp_path, no_network, capsys):
    cached = tmp_path / "cache" / "1268-0.txt"
    cached.parent.mkdir()
    cached.write_bytes(synthetic.gutenberg_file(synthetic.novel_body(n_sentences=50)))
    with pytest.raises(ch16.DataError, match="fewer than the 1,000,000 asked for.*complete text and was kept"):
        ch16.load_mysterious_island(cache_dir=cached.parent, min_chars=1_000_000)
    assert cached.exists() and "Deleted" not in capsys.readouterr().out


def test_a_novel_download_larger_than_any_novel_is_refused(tmp_path, monkeypatch):
    from ch16 import novel as novel_module

    served = tmp_path / "served.txt"
    served.write_bytes(synthetic.gutenberg_file(synthetic.novel_body(n_sentences=500)))
    monkeypatch.setattr(novel_module, "MAX_NOVEL_BYTES", 1_000)
    with pytest.raises(ch16.DataError, match="larger than the 1,000 bytes expected at most"):
        ch16.load_mysterious_island(cache_dir=tmp_path / "cache", url=served.as_uri(), min_chars=100)
    assert files_in(tmp_path / "cache") == []


def test_another_project_gutenberg_book_is_refused(tmp_path):
    """A wrong file or mirror can serve another complete Gutenberg ebook: its START marker names it."""
    raw = synthetic.gutenberg_file(synthetic.novel_body(n_sentences=50))
    (tmp_path / "1268-0.txt").write_bytes(raw.replace(b"THE MYSTERIOUS ISLAND ***", b"TWENTY THOUSAND LEAGUES ***"))
    with pytest.raises(ch16.DataError, match="does not name The Mysterious Island"):
        ch16.load_mysterious_island(tmp_path, min_chars=10)
