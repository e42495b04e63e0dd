"""ch16.imdb: local copies, the download cache, the rechecked extraction, and a clear error for every failure."""

import hashlib
import errno
import os
import re
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import ch16
import synthetic
from ch16.imdb import MAX_REVIEW_BYTES
from data_helpers import (HINT, count_downloads, fail, files_in, imdb_archive, imdb_tree,  # noqa: F401  (fixtures)
                          no_network, raised_within)



def test_local_imdb_folder_is_read_without_network(imdb_tree, tmp_path, no_network):
    splits = ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")
    for split in ("train", "test"):
        texts, labels = splits[split]
        assert len(texts) == 10 and labels.tolist() == [0] * 5 + [1] * 5
    expected = (imdb_tree / "train" / "pos" / sorted(os.listdir(imdb_tree / "train" / "pos"))[0]).read_text()
    assert expected in splits["train"][0].tolist()
    assert not (tmp_path / "cache").exists()


def test_local_imdb_archive_is_extracted_once_and_reused(imdb_archive, tmp_path, no_network):
    archive, _ = imdb_archive
    cache = tmp_path / "cache"
    first = ch16.load_imdb(archive.parent, cache_dir=cache)
    marker = cache / "aclImdb" / ".ch16-extracted.json"
    marker_time = marker.stat().st_mtime_ns
    second = ch16.load_imdb(archive.parent, cache_dir=cache)
    assert marker.stat().st_mtime_ns == marker_time
    assert first["train"][0].tolist() == second["train"][0].tolist()
    assert len(first["test"][0]) == 10


def test_download_is_cached_and_not_repeated(imdb_archive, tmp_path, count_downloads):
    archive, sha256 = imdb_archive
    cache = tmp_path / "cache"
    for _ in range(2):
        splits = ch16.load_imdb(cache_dir=cache, url=archive.as_uri(), sha256=sha256)
    assert len(count_downloads) == 1
    assert len(splits["train"][0]) == 10
    assert (cache / "aclImdb_v1.tar.gz").exists()


def test_unsup_folder_is_not_needed_nor_extracted(tmp_path, no_network):
    tree = synthetic.make_imdb_tree(tmp_path / "src" / "aclImdb", reviews_per_folder=3)
    (tree / "train" / "unsup").mkdir()
    (tree / "train" / "unsup" / "0_0.txt").write_text("unlabelled")
    archive = synthetic.make_imdb_archive(tmp_path / "local" / "aclImdb.tar.gz", tree)
    splits = ch16.load_imdb(archive.parent, cache_dir=tmp_path / "cache")
    assert len(splits["train"][0]) == 6
    assert not (tmp_path / "cache" / "aclImdb" / "train" / "unsup").exists()


def test_wrong_checksum_is_refused_and_nothing_cached(imdb_archive, tmp_path):
    archive, _ = imdb_archive
    with pytest.raises(ch16.DataError, match="wrong checksum"):
        ch16.load_imdb(cache_dir=tmp_path / "cache", url=archive.as_uri(), sha256="0" * 64)
    assert files_in(tmp_path / "cache") == []



def test_partial_files_of_a_killed_run_are_removed_by_the_next(imdb_archive, tmp_path):
    archive, sha256 = imdb_archive
    cache = tmp_path / "cache"
    (cache / "aclImdb.ch16-partial-k1ll_x9z" / "aclImdb").mkdir(parents=True)
    (cache / "aclImdb_v1.tar.gz.ch16-partial-abcd1234").write_bytes(b"the first bytes of the archive")
    ch16.load_imdb(cache_dir=cache, url=archive.as_uri(), sha256=sha256)
    assert sorted(p.name for p in cache.iterdir()) == ["aclImdb", "aclImdb_v1.tar.gz"]


def test_the_data_cache_removes_only_what_this_chapter_wrote(imdb_archive, tmp_path):
    """A cache folder shared with other files: names that are not this chapter's own temporary
    names stay, whatever they look like, and so does an aclImdb/ folder this chapter did not write."""
    archive, sha256 = imdb_archive
    cache = tmp_path / "cache"
    theirs = [cache / "notes.part", cache / "old.part" / "kept.txt", cache / "aclImdb_v1.tar.gz.part",
              cache / "1268-0.txt.ch16-partial-TOO-LONG-x"]
    for path in theirs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("someone else's file")
    ch16.load_imdb(cache_dir=cache, url=archive.as_uri(), sha256=sha256)
    assert all(path.read_text() == "someone else's file" for path in theirs)
    their_reviews = synthetic.make_imdb_tree(tmp_path / "other" / "aclImdb", reviews_per_folder=2, seed=3)
    other_cache = tmp_path / "other"
    before = files_in(other_cache)
    with pytest.raises(ch16.DataError, match=r"other/aclImdb was not written by this chapter, which leaves it alone"):
        ch16.load_imdb(cache_dir=other_cache, url=archive.as_uri(), sha256=sha256)
    assert files_in(other_cache) == before and their_reviews.is_dir()


def test_reviews_deleted_from_the_extracted_cache_are_noticed_and_extracted_again(imdb_archive, tmp_path,
                                                                                   no_network, capsys):
    archive, _ = imdb_archive
    cache = tmp_path / "cache"
    complete = ch16.load_imdb(archive.parent, cache_dir=cache)
    for review in list((cache / "aclImdb" / "train" / "pos").iterdir())[:3]:
        review.unlink()
    (cache / "aclImdb" / "test" / "neg" / "0_1.txt").write_text("a review changed after extraction")
    again = ch16.load_imdb(archive.parent, cache_dir=cache)
    assert "differ from those extracted" in capsys.readouterr().out
    for split in ("train", "test"):
        assert again[split][0].tolist() == complete[split][0].tolist()



def test_two_extractions_into_one_cache_at_once_both_succeed(imdb_archive, tmp_path, no_network, monkeypatch):
    archive, _ = imdb_archive
    cache = tmp_path / "cache"
    extract = ch16.imdb.safe_extract
    extractions = []

    def slow_extract(*args, **kwargs):  # widens the time in which two extractions could overlap
        extractions.append(args[0])
        staging = extract(*args, **kwargs)
        time.sleep(0.3)
        return staging
    monkeypatch.setattr(ch16.imdb, "safe_extract", slow_extract)
    start = threading.Barrier(2)

    def load():
        start.wait(timeout=10)
        return ch16.load_imdb(archive.parent, cache_dir=cache)
    with ThreadPoolExecutor(2) as pool:
        first, second = [future.result(timeout=60) for future in [pool.submit(load), pool.submit(load)]]
    for split in ("train", "test"):
        assert len(first[split][0]) == 10
        assert first[split][0].tolist() == second[split][0].tolist()
    assert sorted(p.name for p in cache.iterdir()) == ["aclImdb"]
    assert len(extractions) == 1  # the second load waited for the first one's extraction, and used it


def test_cached_archive_with_a_wrong_checksum_is_deleted_and_downloaded_again(imdb_archive, tmp_path,
                                                                              count_downloads, capsys):
    archive, sha256 = imdb_archive
    cached = tmp_path / "cache" / archive.name
    cached.parent.mkdir()
    cached.write_bytes(archive.read_bytes()[:-100])  # a copy cut short
    splits = ch16.load_imdb(cache_dir=cached.parent, url=archive.as_uri(), sha256=sha256)
    assert f"Deleted {cached}" in capsys.readouterr().out
    assert len(count_downloads) == 1
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == sha256
    assert len(splits["train"][0]) == 10


def test_cached_archive_of_another_checksum_is_never_extracted(imdb_archive, tmp_path, no_network):
    _, sha256 = imdb_archive
    other_tree = synthetic.make_imdb_tree(tmp_path / "other" / "aclImdb", reviews_per_folder=2, seed=1)
    cached = synthetic.make_imdb_archive(tmp_path / "cache" / "aclImdb_v1.tar.gz", other_tree)
    with pytest.raises(ch16.DataError, match=HINT):
        ch16.load_imdb(cache_dir=cached.parent, url="https://example.invalid/aclImdb_v1.tar.gz",
                       sha256=sha256)
    assert files_in(cached.parent) == []  # deleted, and neither extracted nor recorded


def _not_a_regular_file(path, kind):
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")  # a symlink to a device that never ends


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_archive_that_is_not_a_regular_file_is_named_and_nothing_hangs(tmp_path, kind, no_network):
    """A named pipe or a device where the archive belongs, in the data folder or in the cache,
    is a DataError naming it; hashing it would block or never end (the timeout catches a hang)."""
    local = tmp_path / "local"
    local.mkdir()
    _not_a_regular_file(local / "aclImdb_v1.tar.gz", kind)
    cached = tmp_path / "cache" / "aclImdb_v1.tar.gz"
    cached.parent.mkdir()
    _not_a_regular_file(cached, kind)
    for path, arguments in [(local / "aclImdb_v1.tar.gz", dict(data_dir=local, cache_dir=tmp_path / "cache-local")),
                            (cached, dict(cache_dir=cached.parent, url="https://example.invalid/aclImdb_v1.tar.gz"))]:
        error = raised_within(20, ch16.load_imdb, **arguments)
        assert isinstance(error, ch16.DataError), error
        assert re.search(f"{re.escape(str(path))}.*not a regular file", str(error))



def test_missing_data_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ch16.DataError, match="not a folder"):
        ch16.load_imdb(tmp_path / "does-not-exist", cache_dir=tmp_path / "cache")


def test_data_folder_without_imdb_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ch16.DataError, match="No aclImdb/ folder or aclImdb"):
        ch16.load_imdb(tmp_path / "empty", cache_dir=tmp_path / "cache")


@pytest.mark.parametrize("missing", ["train/neg", "test/pos"])
def test_folder_missing_a_split_is_named(imdb_tree, tmp_path, missing):
    for review in (imdb_tree / missing).iterdir():
        review.unlink()
    with pytest.raises(ch16.DataError, match=f"missing the split {missing}"):
        ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")


def test_archive_missing_a_split_is_named_and_leaves_no_cache_entry(tmp_path):
    tree = synthetic.make_imdb_tree(tmp_path / "src" / "aclImdb", reviews_per_folder=3)
    for review in (tree / "test" / "neg").iterdir():
        review.unlink()
    archive = synthetic.make_imdb_archive(tmp_path / "local" / "aclImdb.tar.gz", tree)
    with pytest.raises(ch16.DataError, match="missing the split test/neg"):
        ch16.load_imdb(archive.parent, cache_dir=tmp_path / "cache")
    assert files_in(tmp_path / "cache") == []



def _break_review(path, monkeypatch, damage):
    if damage == "not UTF-8":
        path.write_bytes("Un film très réussi.".encode("latin-1"))
    elif damage == "a folder":
        path.mkdir()
    elif damage == "a named pipe":
        os.mkfifo(path)  # opening it for reading would wait forever for a writer
    elif damage == "unreadable":  # the tests run as root, who can read any file: simulate it
        from ch16 import imdb

        path.write_text("a review")
        real_read = imdb.read_regular_file
        monkeypatch.setattr(imdb, "read_regular_file", lambda file, *args, **kwargs: fail(
            PermissionError(13, "Permission denied", str(file))) if file == path else real_read(file, *args, **kwargs))


@pytest.mark.parametrize("damage, message", [("not UTF-8", "is not UTF-8 text"),
                                             ("a folder", "is not a regular file"),
                                             ("a named pipe", "is not a regular file"),
                                             ("unreadable", r"is unreadable \(Permission denied\)")])
def test_damaged_review_file_is_named(imdb_tree, tmp_path, monkeypatch, damage, message):
    review = imdb_tree / "train" / "pos" / "99_10.txt"
    _break_review(review, monkeypatch, damage)
    error = raised_within(20, ch16.load_imdb, imdb_tree.parent, cache_dir=tmp_path / "cache")
    assert isinstance(error, ch16.DataError)
    assert re.search(f"{re.escape(str(review))} {message}.*{HINT}", str(error))


def test_unreadable_review_folder_is_named_as_unreadable(imdb_tree, tmp_path, monkeypatch):
    locked = imdb_tree / "test" / "neg"

    def refusing(list_folder):  # the tests run as root, who can list any folder: simulate it
        return lambda path=".": (fail(PermissionError(13, "Permission denied", str(path)))
                                 if Path(path) == locked else list_folder(path))
    monkeypatch.setattr(os, "listdir", refusing(os.listdir))
    monkeypatch.setattr(os, "scandir", refusing(os.scandir))
    with pytest.raises(ch16.DataError, match=f"{re.escape(str(locked))} is unreadable.*{HINT}"):
        ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")




@pytest.mark.parametrize("link", ["review", "split folder"])
def test_links_in_a_data_folder_are_refused(imdb_tree, tmp_path, link):
    """A review linked to a file of the system would be read as a review; a linked split folder
    would make the training reviews the test reviews."""
    if link == "review":
        target = imdb_tree / "train" / "pos" / "99_10.txt"
        target.symlink_to("/etc/hostname")
        message = f"{re.escape(str(target))} is a symbolic link"
    else:
        target = imdb_tree / "test" / "pos"
        os.rename(target, tmp_path / "moved")
        target.symlink_to(imdb_tree / "train" / "pos")
        message = f"The IMDb folder {re.escape(str(target))} is a symbolic link"
    with pytest.raises(ch16.DataError, match=f"{message}.*{HINT}"):
        ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")


def test_a_review_hard_linked_into_another_split_is_refused(imdb_tree, tmp_path):
    """A hard link is no symbolic link, but it makes a test review a training review all the same."""
    test_review = next((imdb_tree / "test" / "pos").iterdir())
    os.link(next((imdb_tree / "train" / "pos").iterdir()), imdb_tree / "test" / "pos" / "777_9.txt")
    with pytest.raises(ch16.DataError, match=r"are the same file \(hard links\)"):
        ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")
    assert test_review.exists()


def test_a_data_folder_with_more_reviews_than_allowed_is_refused(imdb_tree, tmp_path, monkeypatch):
    monkeypatch.setattr(ch16.imdb, "MAX_REVIEWS", 19)  # the synthetic folder holds 20
    with pytest.raises(ch16.DataError, match="holds 20 reviews of .* more than the 19 reviews"):
        ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")


def test_a_review_file_larger_than_any_review_is_refused(imdb_tree, tmp_path):
    review = imdb_tree / "train" / "neg" / "99_1.txt"
    review.write_bytes(b"long " * (MAX_REVIEW_BYTES // 5 + 1))
    with pytest.raises(ch16.DataError, match=f"{re.escape(str(review))} is larger than the"):
        ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")


def test_marker_of_undecodable_bytes_means_extract_again(imdb_archive, tmp_path, no_network):
    archive, _ = imdb_archive
    cache = tmp_path / "cache"
    ch16.load_imdb(archive.parent, cache_dir=cache)
    marker = cache / "aclImdb" / ".ch16-extracted.json"
    marker.write_bytes(b"\xff\xfe not text")
    assert len(ch16.load_imdb(archive.parent, cache_dir=cache)["train"][0]) == 10
    assert archive.name in marker.read_text()


@pytest.mark.realdata
def test_real_imdb_has_25000_balanced_reviews_per_split(real_data_dir, tmp_path):
    splits = ch16.load_imdb(real_data_dir, cache_dir=tmp_path / "cache")
    for split in ("train", "test"):
        texts, labels = splits[split]
        assert len(texts) == 25_000
        assert np.bincount(labels).tolist() == [12_500, 12_500]
        assert all(isinstance(t, str) and t.strip() for t in texts[:100])


def test_a_linked_split_folder_is_refused(imdb_tree, tmp_path):
    """aclImdb/train -> test: the link is above the class folders, and would make training equal test."""
    os.rename(imdb_tree / "train", tmp_path / "moved")
    (imdb_tree / "train").symlink_to(imdb_tree / "test")
    with pytest.raises(ch16.DataError, match=f"{re.escape(str(imdb_tree / 'train'))} is a symbolic link"):
        ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")


def test_a_review_file_named_with_other_digits_is_read(imdb_tree, tmp_path):
    (imdb_tree / "train" / "pos" / "²_10.txt").write_text("a superscript two")
    texts = ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")["train"][0]
    assert "a superscript two" in texts.tolist()


def test_a_deeply_nested_marker_means_extract_again(imdb_archive, tmp_path, no_network):
    archive, _ = imdb_archive
    cache = tmp_path / "cache"
    ch16.load_imdb(archive.parent, cache_dir=cache)
    (cache / "aclImdb" / ".ch16-extracted.json").write_text("[" * 100_000)
    assert len(ch16.load_imdb(archive.parent, cache_dir=cache)["train"][0]) == 10


def test_without_a_lock_only_day_old_temporary_entries_are_removed(tmp_path, monkeypatch):
    """On a file system without locks another run may be downloading right now: its young temporary
    file is kept; one a day old is a killed run's and goes."""
    import fcntl

    from ch16.data_cache import filling

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))
    monkeypatch.setattr(fcntl, "flock", no_locks)
    young, old = tmp_path / "1268-0.txt.ch16-partial-abcd1234", tmp_path / "aclImdb_v1.tar.gz.ch16-partial-efgh5678"
    young.write_text("a live download")
    old.write_text("a killed download")
    os.utime(old, (time.time() - 2 * 24 * 3600,) * 2)
    with filling(tmp_path):
        pass
    assert young.exists() and not old.exists()


def test_an_archive_review_that_is_not_text_is_blamed_on_the_archive_and_nothing_is_cached(tmp_path):
    tree = synthetic.make_imdb_tree(tmp_path / "src" / "aclImdb", reviews_per_folder=3)
    (tree / "train" / "pos" / "98_9.txt").write_bytes(b"\xff\xfe not UTF-8")
    archive = synthetic.make_imdb_archive(tmp_path / "local" / "aclImdb.tar.gz", tree)
    with pytest.raises(ch16.DataError, match=r"The archive aclImdb.tar.gz: aclImdb/train/pos/98_9.txt is not UTF-8"):
        ch16.load_imdb(archive.parent, cache_dir=tmp_path / "cache")
    assert files_in(tmp_path / "cache") == []


def test_cached_reviews_are_checked_and_read_in_one_hold_of_the_cache_lock(imdb_archive, tmp_path, no_network,
                                                                           monkeypatch):
    """Between the check that the cached reviews come from this run's archive and their reading,
    another run (of another data source) must not be able to extract other reviews in their place."""
    archive, _ = imdb_archive
    cache = tmp_path / "cache"
    ch16.load_imdb(archive.parent, cache_dir=cache)  # extracted: the next load checks and reads the cache
    holds = []
    real_lock = ch16.files.folder_lock

    def counting_lock(folder, *args, **kwargs):
        holds.append(Path(folder))
        return real_lock(folder, *args, **kwargs)
    for module in (ch16.imdb, ch16.data_cache):
        if hasattr(module, "folder_lock"):
            monkeypatch.setattr(module, "folder_lock", counting_lock)
    ch16.load_imdb(archive.parent, cache_dir=cache)
    assert holds == [cache]


@pytest.mark.parametrize("copy", ["train into test", "within train"])
def test_reviews_copied_between_or_within_splits_are_refused(tmp_path, copy):
    tree = synthetic.make_imdb_tree(tmp_path / "local" / "aclImdb", reviews_per_folder=10)
    source = tree / "train" / "pos"
    target = tree / "test" / "pos" if copy == "train into test" else tree / "train" / "neg"
    for review, other in zip(sorted(source.iterdir()), sorted(target.iterdir())):
        other.write_text(review.read_text())
    with pytest.raises(ch16.DataError, match="the evaluation would not be on unseen reviews"):
        ch16.load_imdb(tmp_path / "local", cache_dir=tmp_path / "cache")


def test_a_few_repeated_reviews_as_in_the_official_data_are_accepted(tmp_path):
    tree = synthetic.make_imdb_tree(tmp_path / "local" / "aclImdb", reviews_per_folder=40)
    first = sorted((tree / "train" / "pos").iterdir())[0]
    (tree / "test" / "neg" / sorted(p.name for p in (tree / "test" / "neg").iterdir())[0]).write_text(first.read_text())
    data = ch16.load_imdb(tmp_path / "local", cache_dir=tmp_path / "cache")
    assert len(data["test"][0]) == 80


def test_an_archive_with_copied_reviews_is_refused_and_nothing_is_cached(tmp_path):
    tree = synthetic.make_imdb_tree(tmp_path / "src" / "aclImdb", reviews_per_folder=10)
    for review, other in zip(sorted((tree / "train" / "pos").iterdir()), sorted((tree / "test" / "pos").iterdir())):
        other.write_text(review.read_text())
    archive = synthetic.make_imdb_archive(tmp_path / "local" / "aclImdb.tar.gz", tree)
    with pytest.raises(ch16.DataError, match=r"The archive aclImdb.tar.gz has 10 test reviews that are also training"):
        ch16.load_imdb(archive.parent, cache_dir=tmp_path / "cache")
    assert files_in(tmp_path / "cache") == []
