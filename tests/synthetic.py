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


def gutenberg_file(body, bom=True, crlf=True, start=True, end=True, closing=True, before_end="",
                   book="THE MYSTERIOUS ISLAND"):
    """A Project Gutenberg-style file around ``body``: header, START marker (naming ``book``), a
    "Produced by" paragraph, the title, ``body``, the "End of the Project Gutenberg" closing line
    (if ``closing``), ``before_end`` (text between it and the END marker), the END marker and the
    licence. Its story, once trimmed, is ``"THE MYSTERIOUS ISLAND\n\n" + body.strip() + "\n"``."""
    parts = ["The Project Gutenberg EBook of The Mysterious Island, by Jules Verne\n\n"
             "This eBook is for the use of anyone anywhere at no cost.\n\n"]
    if start:
        parts.append(f"*** START OF THIS PROJECT GUTENBERG EBOOK {book} ***\n\n\n")
    parts.append("Produced by volunteers\n\n\n\nTHE MYSTERIOUS ISLAND\n\n" + body)
    if closing:
        parts.append("\n\nEnd of the Project Gutenberg EBook of The Mysterious Island, by Jules Verne\n\n")
    parts.append(before_end)
    if end:
        parts.append("\n\n*** END OF THIS PROJECT GUTENBERG EBOOK THE MYSTERIOUS ISLAND ***\n\n")
    parts.append("Section 1. General Terms of Use and Redistributing Project Gutenberg-tm\n"
                 "End of the Project Gutenberg licence: text after the END marker is no part of the story.\n")
    text = "".join(parts)
    if crlf:
        text = text.replace("\n", "\r\n")
    return (("\ufeff" if bom else "") + text).encode("utf-8")


def hostile_archive(path, kind, outside):
    """A .tar.gz of one review and a member aimed at the folder ``outside`` (which must lie outside
    the folder the archive would be extracted to); returns that member's name."""
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
            return add("aclImdb/" + "../" * 64 + os.path.relpath(outside, "/") + "/escaped.txt", data=b"escaped")
        if kind == "symlink":
            add("aclImdb/train/neg", tarfile.SYMTYPE, str(outside))
            return add("aclImdb/train/neg/escaped.txt", data=b"escaped")
        raise ValueError(kind)
