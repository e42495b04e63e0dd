"""ch16.imdb: a local aclImdb/ folder, or the official archive (local or downloaded) opened only when
its SHA-256 is the expected one and extracted once, only its labelled reviews; the reader's mistakes
each one DataError that says what and where (docs/data.md)."""

import hashlib
import os
import re
import shutil
import tarfile

import numpy as np
import pytest

import ch16
import synthetic
from data_helpers import (HINT, REVIEWS_PER_FOLDER, as_lists, assert_one_error, files_in,  # noqa: F401  (fixtures)
                          imdb_archive, imdb_tree, no_network, raised_within, reviews_as_written)


def forbid_opening_archives(monkeypatch):
    monkeypatch.setattr(tarfile, "open", lambda *args, **kwargs: pytest.fail("an archive was opened"))


def labelled_files(tree):
    """The files of an aclImdb/ folder that are labelled reviews (or the folders above them), as
    ``files_in`` lists them under the top folder's parent."""
    return sorted(["aclImdb"] + [f"aclImdb/{path}" for path in files_in(tree)
                                 if path in ("train", "test") or path.split("/")[1:2] in (["neg"], ["pos"])])


# A local aclImdb/ folder

def test_a_local_aclimdb_folder_is_read_in_review_id_order_without_network(imdb_tree, tmp_path, no_network):
    splits = ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")
    assert as_lists(splits) == reviews_as_written(imdb_tree)  # negative then positive, by numeric id: 2 before 10
    assert splits["train"][1].dtype == np.int32
    assert not (tmp_path / "cache").exists()


def test_files_not_named_like_reviews_are_skipped_and_links_to_reviews_are_read(imdb_tree, tmp_path):
    expected = reviews_as_written(imdb_tree)
    (imdb_tree / "train" / "pos" / "._0_9.txt").write_text("resource fork")  # a macOS metadata file
    (imdb_tree / "train" / "pos" / "notes.txt").write_text("my notes")
    review = sorted((imdb_tree / "test" / "neg").iterdir())[0]
    annex = tmp_path / "annex" / review.name  # as git-annex or `cp -s` leave a review: a link to its content
    annex.parent.mkdir()
    review.rename(annex)
    review.symlink_to(annex)
    assert as_lists(ch16.load_imdb(imdb_tree.parent, tmp_path / "cache")) == expected


@pytest.mark.parametrize("kind", ["broken link", "folder", "named pipe"])
def test_a_name_of_a_review_that_is_no_file_is_named_in_one_error_without_waiting(imdb_tree, tmp_path, kind):
    review = imdb_tree / "train" / "pos" / "999_9.txt"
    if kind == "broken link":  # as git-annex leaves a review whose content is not fetched
        review.symlink_to(tmp_path / "not-fetched")
    else:  # reading a named pipe would wait for ever for a writer
        review.mkdir() if kind == "folder" else os.mkfifo(review)
    error = raised_within(20, lambda: ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache"))
    assert isinstance(error, ch16.DataError) and str(error).startswith(f"{review} is not a review"), error
    assert_one_error(error)


def test_an_unreadable_archive_or_novel_is_named_in_one_error(imdb_tree, tmp_path):
    (tmp_path / "data").mkdir()
    for name in ("aclImdb_v1.tar.gz", "1268-0.txt"):
        (tmp_path / "data" / name).symlink_to("/proc/self/mem")  # a file that exists but cannot be read
    for load in (ch16.load_imdb, ch16.load_mysterious_island):
        with pytest.raises(ch16.DataError, match="cannot be read") as raised:
            load(tmp_path / "data", tmp_path / "cache")
        assert_one_error(raised.value)


def test_an_empty_review_file_is_named_in_one_error(imdb_tree, tmp_path):
    review = imdb_tree / "train" / "neg" / "0_1.txt"
    review.write_bytes(b"")  # as a crash can leave a file that was never flushed
    with pytest.raises(ch16.DataError, match=f"^{re.escape(str(review))} is not a review: a file .* of 1 to 1,048,576 bytes") as raised:
        ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")
    assert_one_error(raised.value)


@pytest.mark.parametrize("missing", ["test", "train/neg", "test/pos"])
def test_a_missing_split_or_class_folder_is_named_in_one_error(imdb_tree, tmp_path, missing):
    shutil.rmtree(imdb_tree / missing)
    with pytest.raises(ch16.DataError) as raised:
        ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")
    folder = imdb_tree / missing if "/" in missing else imdb_tree / missing / "neg"
    assert str(raised.value).startswith(f"{folder} is missing")
    assert_one_error(raised.value)


def test_a_review_that_is_not_utf8_is_named_in_one_error(imdb_tree, tmp_path):
    review = imdb_tree / "test" / "pos" / "5_8.txt"
    review.write_bytes("Un film très réussi.".encode("latin-1"))
    with pytest.raises(ch16.DataError, match=f"^{re.escape(str(review))} is not UTF-8 text") as raised:
        ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")
    assert_one_error(raised.value)


def test_a_review_over_1_mib_is_named_in_one_error(imdb_tree, tmp_path):
    review = imdb_tree / "train" / "neg" / "99_1.txt"
    review.write_bytes(b"x" * (1 << 20))  # 1 MiB: long, but allowed
    assert "x" * (1 << 20) in ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")["train"][0].tolist()
    review.write_bytes(b"x" * ((1 << 20) + 1))
    with pytest.raises(ch16.DataError, match=f"^{re.escape(str(review))} is not a review: a file .* of 1 to 1,048,576 bytes") as raised:
        ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")
    assert_one_error(raised.value)


def _copy_reviews(source, target, count):
    """Overwrite ``count`` reviews of the folder ``target`` with reviews of the folder ``source``."""
    for review, other in list(zip(sorted(source.iterdir()), sorted(target.iterdir())))[:count]:
        other.write_text(review.read_text())


@pytest.mark.parametrize("source, target, what", [("train/pos", "test/pos", "test reviews also in training"),
                                                  ("train/pos", "train/neg", "training reviews that repeat another"),
                                                  ("test/pos", "test/neg", "test reviews that repeat another")])
def test_more_than_5_percent_of_copied_reviews_are_refused_naming_the_folder(imdb_tree, tmp_path, source, target,
                                                                             what):
    _copy_reviews(imdb_tree / source, imdb_tree / target, 2)  # 2 of 24 reviews: 8%
    refused = f"^{re.escape(str(imdb_tree))} has 2 {what}, of {2 * REVIEWS_PER_FOLDER}"
    with pytest.raises(ch16.DataError, match=refused) as raised:
        ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")
    assert_one_error(raised.value)


def test_a_few_repeated_reviews_as_in_the_official_data_are_accepted(imdb_tree, tmp_path):
    _copy_reviews(imdb_tree / "train" / "pos", imdb_tree / "test" / "neg", 1)  # 1 of 24 test reviews: 4%
    _copy_reviews(imdb_tree / "train" / "pos", imdb_tree / "train" / "neg", 1)  # 1 of 24 training reviews
    assert as_lists(ch16.load_imdb(imdb_tree.parent, cache_dir=tmp_path / "cache")) == reviews_as_written(imdb_tree)


@pytest.mark.parametrize("data_dir", ["missing", "empty"])
def test_a_data_folder_without_the_reviews_is_named_with_the_way_to_get_them(tmp_path, data_dir):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ch16.DataError, match=f"{re.escape(str(tmp_path / data_dir))}.*{HINT}"):
        ch16.load_imdb(tmp_path / data_dir, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


# The official archive: opened only when its SHA-256 is the expected one

def test_the_archive_in_the_data_folder_is_extracted_once_into_the_cache(imdb_archive, imdb_tree, tmp_path,
                                                                          no_network, monkeypatch):
    archive, sha256 = imdb_archive
    cache = tmp_path / "cache"
    assert as_lists(ch16.load_imdb(archive.parent, cache, sha256=sha256)) == reviews_as_written(imdb_tree)
    assert files_in(cache) == labelled_files(imdb_tree)  # the reviews, and no temporary folder left
    forbid_opening_archives(monkeypatch)  # not extracted a second time
    assert as_lists(ch16.load_imdb(archive.parent, cache, sha256=sha256)) == reviews_as_written(imdb_tree)


def test_only_the_labelled_reviews_are_extracted(tmp_path, no_network):
    tree = synthetic.make_imdb_tree(tmp_path / "src" / "aclImdb", reviews_per_folder=3)
    (tree / "train" / "unsup").mkdir()
    (tree / "train" / "unsup" / "0_0.txt").write_text("an unlabelled review")
    (tree / "train" / "labeledBow.feat").write_text("0 0:1\n")
    (tree / "imdbEr.txt").write_text("0.1\n")
    archive = synthetic.make_imdb_archive(tmp_path / "local" / "aclImdb_v1.tar.gz", tree)
    ch16.load_imdb(archive.parent, tmp_path / "cache", sha256=hashlib.sha256(archive.read_bytes()).hexdigest())
    extracted = files_in(tmp_path / "cache")
    assert extracted == labelled_files(tree) and len(extracted) == 1 + 2 + 4 + 4 * 3
    assert not any("unsup" in p or p.endswith(("imdbEr.txt", ".feat", "README")) for p in extracted)


def test_an_archive_that_is_not_the_official_one_is_refused_before_it_is_opened_and_nothing_is_written(
        imdb_archive, tmp_path, cache, no_network, monkeypatch):
    archive, _ = imdb_archive  # not the official archive: its SHA-256 differs from the pinned one
    forbid_opening_archives(monkeypatch)
    before = files_in(tmp_path)
    refused = f"^{re.escape(str(archive))} is not the official archive.*CH16_DATA_DIR"
    with pytest.raises(ch16.DataError, match=refused) as raised:
        ch16.load_imdb(archive.parent)  # the data cache: CH16_CACHE_DIR/data
    assert_one_error(raised.value)
    assert files_in(tmp_path) == before and not cache.exists()


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink"])
def test_an_archive_with_the_pinned_checksum_still_extracts_nothing_outside_the_cache(tmp_path, cache, no_network,
                                                                                     kind):
    """Defence in depth behind the checksum: tarfile's "data" filter and the labelled members only."""
    outside = tmp_path / "outside"
    outside.mkdir()
    archive = tmp_path / "local" / "aclImdb_v1.tar.gz"
    synthetic.hostile_archive(archive, kind, outside)
    with pytest.raises(ch16.DataError) as raised:  # a link refused, or train/neg missing
        ch16.load_imdb(archive.parent, sha256=hashlib.sha256(archive.read_bytes()).hexdigest())
    assert_one_error(raised.value)
    assert files_in(outside) == [] and [p for p in files_in(tmp_path) if "escaped" in p] == []


def test_the_archive_is_downloaded_checked_and_extracted_into_the_cache(imdb_archive, imdb_tree, tmp_path):
    archive, sha256 = imdb_archive
    cache = tmp_path / "cache"
    splits = ch16.load_imdb(cache_dir=cache, url=archive.as_uri(), sha256=sha256)
    assert as_lists(splits) == reviews_as_written(imdb_tree)
    assert files_in(cache) == sorted(labelled_files(imdb_tree) + ["aclImdb_v1.tar.gz"])
    assert (cache / "aclImdb_v1.tar.gz").read_bytes() == archive.read_bytes()


def test_a_download_of_another_sha256_is_one_error_and_leaves_nothing_in_the_cache(imdb_archive, tmp_path):
    archive, _ = imdb_archive
    cache = tmp_path / "cache"
    refused = f"^Download of {re.escape(archive.as_uri())} failed: its SHA-256 .*{HINT}"
    with pytest.raises(ch16.DataError, match=refused) as raised:
        ch16.load_imdb(cache_dir=cache, url=archive.as_uri())  # the official SHA-256, which the synthetic one lacks
    assert_one_error(raised.value)
    assert files_in(cache) == []


def test_a_cached_archive_that_is_not_the_official_one_is_reported_and_kept(imdb_archive, tmp_path, no_network,
                                                                            monkeypatch):
    archive, sha256 = imdb_archive
    forbid_opening_archives(monkeypatch)
    cached = tmp_path / "cache" / "aclImdb_v1.tar.gz"
    cached.parent.mkdir()
    cached.write_bytes(archive.read_bytes()[:-100])  # not what the expected SHA-256 names
    with pytest.raises(ch16.DataError, match=f"^{re.escape(str(cached))} is not the official archive.*delete it"):
        ch16.load_imdb(cache_dir=cached.parent, url=archive.as_uri(), sha256=sha256)
    assert cached.read_bytes() == archive.read_bytes()[:-100]
    assert files_in(cached.parent) == ["aclImdb_v1.tar.gz"]


def test_a_named_pipe_at_the_cached_archive_is_reported_without_waiting_for_it(imdb_archive, tmp_path, no_network):
    archive, sha256 = imdb_archive
    cached = tmp_path / "cache" / "aclImdb_v1.tar.gz"
    cached.parent.mkdir()
    os.mkfifo(cached)
    error = raised_within(20, ch16.load_imdb, cache_dir=cached.parent, url=archive.as_uri(), sha256=sha256)
    assert isinstance(error, ch16.DataError) and str(error).startswith(f"{cached} is not the official archive")


def test_a_damaged_extracted_copy_in_the_cache_says_to_delete_it(imdb_archive, tmp_path):
    archive, sha256 = imdb_archive
    cache = tmp_path / "cache"
    ch16.load_imdb(archive.parent, cache, sha256=sha256)
    shutil.rmtree(cache / "aclImdb" / "test" / "pos")
    with pytest.raises(ch16.DataError, match=f"data cache copy: delete {re.escape(str(cache / 'aclImdb'))}") as raised:
        ch16.load_imdb(archive.parent, cache, sha256=sha256)
    assert_one_error(raised.value)


def test_a_killed_runs_temporary_files_are_not_trusted(imdb_archive, imdb_tree, tmp_path):
    archive, sha256 = imdb_archive
    cache = tmp_path / "cache"
    killed_extraction = cache / ".aclImdb.k1ll3d.part" / "aclImdb" / "train" / "pos"
    killed_extraction.mkdir(parents=True)
    (killed_extraction / "0_9.txt").write_text("half a review")
    (cache / ".aclImdb_v1.tar.gz.k1ll3d.part").write_bytes(archive.read_bytes()[:1000])  # half a download
    splits = ch16.load_imdb(cache_dir=cache, url=archive.as_uri(), sha256=sha256)
    assert as_lists(splits) == reviews_as_written(imdb_tree)
    assert (cache / "aclImdb_v1.tar.gz").read_bytes() == archive.read_bytes()


def test_an_extraction_that_fails_half_way_leaves_nothing_a_later_run_trusts(imdb_archive, imdb_tree, tmp_path,
                                                                             no_network, monkeypatch):
    archive, sha256 = imdb_archive
    cache = tmp_path / "cache"
    extractall = tarfile.TarFile.extractall

    def disk_full_half_way(self, path, members, **kwargs):
        extractall(self, path, members=members[:len(members) // 2], **kwargs)
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(tarfile.TarFile, "extractall", disk_full_half_way)
    refused = f"^The reviews could not be extracted into {re.escape(str(cache))} \\(No space left"
    with pytest.raises(ch16.DataError, match=refused) as raised:
        ch16.load_imdb(archive.parent, cache, sha256=sha256)
    assert_one_error(raised.value)
    assert files_in(cache) == []  # neither the half-extracted reviews nor their temporary folder
    monkeypatch.setattr(tarfile.TarFile, "extractall", extractall)
    assert as_lists(ch16.load_imdb(archive.parent, cache, sha256=sha256)) == reviews_as_written(imdb_tree)


@pytest.mark.realdata
def test_real_imdb_has_25000_balanced_reviews_per_split(real_data_dir, tmp_path):
    splits = ch16.load_imdb(real_data_dir, cache_dir=tmp_path / "cache")
    for split in ("train", "test"):
        texts, labels = splits[split]
        assert len(texts) == 25_000
        assert np.bincount(labels).tolist() == [12_500, 12_500]
        assert all(isinstance(t, str) and t.strip() for t in texts[:100])
