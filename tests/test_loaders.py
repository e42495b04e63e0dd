"""The data loaders: local copies, the download cache, and a clear error for every failure."""

import hashlib
import io
import os
import urllib.error
from pathlib import Path

import numpy as np
import pytest

import ch16_helpers as ch16
import synthetic


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
    monkeypatch.setattr(ch16.urllib.request, "urlopen", refuse)


@pytest.fixture
def count_downloads(monkeypatch):
    calls = []
    real_urlopen = ch16.urllib.request.urlopen

    def counting(url, *args, **kwargs):
        calls.append(url)
        return real_urlopen(url, *args, **kwargs)
    monkeypatch.setattr(ch16.urllib.request, "urlopen", counting)
    return calls


class FakeResponse(io.BytesIO):
    """A response that announces ``length`` bytes and may fail after the first block."""

    def __init__(self, data, length, fail_after_first_block=False):
        super().__init__(data)
        self.headers = {"Content-Length": str(length)}
        self.fail = fail_after_first_block
        self.reads = 0

    def read(self, size=-1):
        self.reads += 1
        if self.fail and self.reads > 1:
            raise ConnectionResetError("connection reset by peer")
        return super().read(size)


def files_in(folder):
    return sorted(p.relative_to(folder) for p in Path(folder).rglob("*"))


# ---- IMDb -------------------------------------------------------------------------------

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
    marker_time = (cache / "aclImdb.complete").stat().st_mtime_ns
    second = ch16.load_imdb(archive.parent, cache_dir=cache)
    assert (cache / "aclImdb.complete").stat().st_mtime_ns == marker_time
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


def test_no_network_says_where_to_put_the_file(tmp_path, no_network):
    with pytest.raises(ch16.DataError, match="by hand.*CH16_DATA_DIR"):
        ch16.load_imdb(cache_dir=tmp_path / "cache")
    assert files_in(tmp_path / "cache") == []


def test_wrong_checksum_is_refused_and_nothing_cached(imdb_archive, tmp_path):
    archive, _ = imdb_archive
    with pytest.raises(ch16.DataError, match="wrong checksum"):
        ch16.load_imdb(cache_dir=tmp_path / "cache", url=archive.as_uri(), sha256="0" * 64)
    assert files_in(tmp_path / "cache") == []


def test_truncated_download_is_refused_and_nothing_cached(imdb_archive, tmp_path, monkeypatch):
    archive, sha256 = imdb_archive
    data = archive.read_bytes()
    monkeypatch.setattr(ch16.urllib.request, "urlopen",
                        lambda url, timeout=None: FakeResponse(data[:100], length=len(data)))
    with pytest.raises(ch16.DataError, match="truncated"):
        ch16.load_imdb(cache_dir=tmp_path / "cache", url="https://example.invalid/a.tar.gz", sha256=sha256)
    assert files_in(tmp_path / "cache") == []


def test_interrupted_download_leaves_no_partial_file(tmp_path, monkeypatch):
    data = os.urandom(3 << 20)
    monkeypatch.setattr(ch16.urllib.request, "urlopen",
                        lambda url, timeout=None: FakeResponse(data, len(data), fail_after_first_block=True))
    with pytest.raises(ch16.DataError, match="interrupted"):
        ch16.download("https://example.invalid/a.tar.gz", tmp_path / "a.tar.gz")
    assert files_in(tmp_path) == []


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


def test_truncated_local_archive_is_a_clear_error(imdb_archive, tmp_path):
    archive, _ = imdb_archive
    local = tmp_path / "truncated"
    local.mkdir()
    (local / "aclImdb_v1.tar.gz").write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(ch16.DataError, match="truncated or corrupt"):
        ch16.load_imdb(local, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "aclImdb").exists()


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink", "hardlink"])
def test_hostile_archive_is_refused_and_writes_nothing(tmp_path, kind):
    local = tmp_path / "local"
    local.mkdir()
    synthetic.hostile_archive(local / "aclImdb_evil.tar.gz", kind)
    before = files_in(tmp_path)
    with pytest.raises(ch16.DataError, match="Unsafe archive member"):
        ch16.load_imdb(local, cache_dir=tmp_path / "cache")
    assert [p for p in files_in(tmp_path) if p not in before and p.name != "cache"] == []
    assert not (tmp_path / "cache" / "aclImdb").exists()
    assert not Path("/tmp/ch16_escaped.txt").exists()


# ---- The Mysterious Island ----------------------------------------------------------------

def test_novel_is_trimmed_and_normalised(tmp_path):
    body = synthetic.novel_body(n_sentences=50)
    (tmp_path / "1268-0.txt").write_bytes(synthetic.gutenberg_file(body))
    text = ch16.load_mysterious_island(tmp_path)
    assert text == "THE MYSTERIOUS ISLAND\n\n" + body
    assert "\r" not in text and "\ufeff" not in text and "Gutenberg" not in text


@pytest.mark.parametrize("marker", ["start", "end"])
def test_novel_without_a_marker_is_a_clear_error(tmp_path, marker):
    raw = synthetic.gutenberg_file("Some text.\n", **{marker: False})
    (tmp_path / "1268-0.txt").write_bytes(raw)
    with pytest.raises(ch16.DataError, match=f"no Project Gutenberg {marker.upper()} marker"):
        ch16.load_mysterious_island(tmp_path)


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
    with pytest.raises(ch16.DataError, match="END marker"):
        ch16.load_mysterious_island(cache_dir=tmp_path / "cache", url=served.as_uri())
    assert files_in(tmp_path / "cache") == []


# ---- Real data (only when CH16_DATA_DIR names it) --------------------------------------------

@pytest.mark.realdata
def test_real_imdb_has_25000_balanced_reviews_per_split(real_data_dir, tmp_path):
    splits = ch16.load_imdb(real_data_dir, cache_dir=tmp_path / "cache")
    for split in ("train", "test"):
        texts, labels = splits[split]
        assert len(texts) == 25_000
        assert np.bincount(labels).tolist() == [12_500, 12_500]
        assert all(isinstance(t, str) and t.strip() for t in texts[:100])


@pytest.mark.realdata
def test_real_novel_is_trimmed_to_the_story(real_data_dir):
    text = ch16.load_mysterious_island(real_data_dir)
    assert text.startswith("THE MYSTERIOUS ISLAND")
    assert text.rstrip().endswith("Captain Nemo.")
    assert "Gutenberg" not in text and "\r" not in text and "\ufeff" not in text
    assert 1_100_000 < len(text) < 1_120_000


def test_split_evenly_trims_each_batch_to_the_replica_count():
    from types import SimpleNamespace

    import tensorflow as tf

    batches = tf.data.Dataset.range(9).map(lambda i: (tf.fill([3], i), i)).batch(4)  # 4, 4 and 1
    trimmed = list(ch16.split_evenly(batches, SimpleNamespace(num_replicas_in_sync=2)))
    assert [len(inputs) for inputs, _ in trimmed] == [4, 4]  # the batch of one is left out
    for inputs, targets in trimmed:
        np.testing.assert_array_equal(inputs.numpy()[:, 0], targets.numpy())  # rows stay paired
    odd = tf.data.Dataset.range(7).map(lambda i: (tf.fill([2], i), i)).batch(7)
    assert [len(x) for x, _ in ch16.split_evenly(odd, SimpleNamespace(num_replicas_in_sync=3))] == [6]
    assert ch16.split_evenly(batches, SimpleNamespace(num_replicas_in_sync=1)) is batches
