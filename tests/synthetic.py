"""Small data sets made by the tests themselves, in the layout of the real ones."""

import io
import os
import tarfile
from pathlib import Path

import numpy as np

POSITIVE_WORDS = ["great", "wonderful", "excellent", "loved", "brilliant", "superb", "moving", "delightful"]
NEGATIVE_WORDS = ["awful", "boring", "terrible", "hated", "dull", "worst", "waste", "clumsy"]
NEUTRAL_WORDS = ("the film movie story actor actress scene plot director music camera it was and a of "
                 "to in this that with on for as but at by an end start night city house").split()


def synthetic_review(rng, label):
    """A review whose label shows in a few sentiment words among neutral ones."""
    sentiment = POSITIVE_WORDS if label == 1 else NEGATIVE_WORDS
    words = list(rng.choice(NEUTRAL_WORDS, size=rng.integers(12, 60)))
    for _ in range(rng.integers(2, 5)):
        words.insert(rng.integers(0, len(words) + 1), rng.choice(sentiment))
    half = len(words) // 2
    return (" ".join(words[:half]).capitalize() + ".<br /><br />"
            + " ".join(words[half:]).capitalize() + "!")


def make_imdb_tree(root, reviews_per_folder=200, seed=0):
    """An aclImdb/ folder: {train,test}/{neg,pos}/ID_RATING.txt with learnable labels."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    for split in ("train", "test"):
        for label, name in enumerate(("neg", "pos")):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(reviews_per_folder):
                rating = rng.integers(7, 11) if label else rng.integers(1, 5)
                (folder / f"{i}_{rating}.txt").write_text(synthetic_review(rng, label), encoding="utf-8")
    (root / "README").write_text("Synthetic reviews for the tests.\n")
    return root


def make_imdb_archive(path, tree_root):
    """Pack an aclImdb/ folder into a .tar.gz whose top folder is aclImdb/."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        tar.add(tree_root, arcname="aclImdb")
    return Path(path)


SUBJECTS = ["the engineer", "the sailor", "Cyrus Harding", "Pencroft", "the captain", "Top"]
VERBS = ["walked to", "looked at", "climbed", "found", "left", "reached"]
PLACES = ["the granite house", "the beach", "the forest", "the lake", "the cave", "the island at night"]


def novel_body(n_sentences=1200, seed=0):
    """Regular English-like sentences that a small character model can learn."""
    rng = np.random.default_rng(seed)
    sentences = []
    for _ in range(n_sentences):
        sentence = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(PLACES)}."
        sentences.append(sentence[0].upper() + sentence[1:])
    lines, line = [], ""
    for sentence in sentences:
        if len(line) + len(sentence) > 70:
            lines.append(line.rstrip())
            line = ""
        line += sentence + " "
    lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


def gutenberg_file(body, bom=True, crlf=True, start=True, end=True):
    """A Project Gutenberg-style file around ``body``: header, START/END markers, licence."""
    parts = ["The Project Gutenberg EBook of The Mysterious Island, by Jules Verne\n\n"
             "This eBook is for the use of anyone anywhere at no cost.\n\n"]
    if start:
        parts.append("*** START OF THIS PROJECT GUTENBERG EBOOK THE MYSTERIOUS ISLAND ***\n\n\n")
    parts.append("Produced by volunteers\n\n\n\nTHE MYSTERIOUS ISLAND\n\n" + body)
    parts.append("\n\nEnd of the Project Gutenberg EBook of The Mysterious Island, by Jules Verne\n\n")
    if end:
        parts.append("*** END OF THIS PROJECT GUTENBERG EBOOK THE MYSTERIOUS ISLAND ***\n\n")
    parts.append("Section 1. General Terms of Use and Redistributing Project Gutenberg-tm\n")
    text = "".join(parts)
    if crlf:
        text = text.replace("\n", "\r\n")
    return (("\ufeff" if bom else "") + text).encode("utf-8")


def hostile_archive(path, kind, outside):
    """A .tar.gz of one review and a member that must be refused; returns that member's name.

    ``outside`` is a folder the hostile members aim at: it must lie outside the folder the
    archive is extracted to (the tests use one inside their own temporary folder).
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        def add(name, type_=tarfile.REGTYPE, linkname="", data=b""):
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size = type_, linkname, len(data)
            tar.addfile(info, io.BytesIO(data))
            return name

        add("aclImdb/train/pos/0_9.txt", data=b"review")
        if kind == "absolute":
            return add(str(Path(outside) / "escaped.txt"), data=b"escaped")
        if kind == "dotdot":
            return add("aclImdb/../../escaped.txt", data=b"escaped")
        if kind == "symlink":
            return add("aclImdb/train/neg/link", tarfile.SYMTYPE, "../../../../escaped.txt")
        if kind == "hardlink":
            return add("aclImdb/train/neg/link", tarfile.LNKTYPE, str(Path(outside) / "escaped.txt"))
        if kind == "symlink_inside":  # harmless in itself, but the real archive has no links
            return add("aclImdb/train", tarfile.SYMTYPE, "test")
        if kind == "link_chain":
            return _add_link_chain(add, outside)
        if kind == "fifo":
            return add("aclImdb/train/neg/1_1.txt", tarfile.FIFOTYPE)
        if kind == "device":
            return add("aclImdb/train/neg/1_1.txt", tarfile.CHRTYPE)
        if kind == "duplicate":
            return add("aclImdb/train/pos/0_9.txt", data=b"another review")
        raise ValueError(kind)


def _add_link_chain(add, outside):
    """The links of CVE-2025-4517: folders of long names reached through a chain of short
    symbolic links, so that the resolved path of a link through them is longer than PATH_MAX.
    ``os.path.realpath`` then stops resolving, and tarfile's ``filter="data"`` (Python 3.11.7)
    lets a link to ``outside`` through, and a file written through that link."""
    long_name = "d" * 247
    steps = "abcdefghijklmnop"
    base = "aclImdb/train/pos/"  # a folder the IMDb loader extracts, with all its subfolders
    folder = base
    for step in steps:
        add(folder + long_name, tarfile.DIRTYPE)
        add(folder + step, tarfile.SYMTYPE, long_name)
        folder += long_name + "/"
    deep_link = "/".join(steps) + "/" + "l" * 254
    add(base + deep_link, tarfile.SYMTYPE, "../" * len(steps))  # leads back to base, but too long to check
    up_to_root = "../" * len(steps)  # from base, where the deep link really leads (the filter thinks deeper)
    add(base + "escape", tarfile.SYMTYPE, deep_link + "/" + up_to_root + os.path.relpath(outside, "/"))
    add(base + "escape/escaped.txt", data=b"escaped")
    return base + steps[0]
