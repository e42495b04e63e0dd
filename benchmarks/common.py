"""What the benchmarks share: the command line, the printout's header, the figures written beside
it, the data, the chapter's full-run settings, and training steps timed in alternating rounds. The
lesson's code itself (pipelines, models, recipes) is imported from ch16.part1 and ch16.part2,
generated from the notebooks."""

import argparse
import json
import os
import platform
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import tensorflow as tf

import ch16
from ch16 import part1, part2
from ch16.hardware import BFLOAT16_FLAGS, cpu_flags, cpu_model, gpus
from ch16.settings import write_atomically

SEED = 1
PART1 = SimpleNamespace(**{name: full for name, (full, _) in part1.SETTINGS.items()})  # the full-run settings
PART2 = SimpleNamespace(**{name: full for name, (full, _) in part2.SETTINGS.items()})
tf.get_logger().setLevel("ERROR")  # retracing warnings of bucketed batches (their shapes vary by design)
FIGURES = {}  # what a benchmark reports, by key: written as JSON with --figures


def arguments(docstring, data=True, novel=False):
    """A parser of the benchmark's command line, described by its docstring's first line, with
    ``--figures`` and (with ``data``) ``--data-dir`` (and, with ``novel``, ``--min-text-chars``)."""
    parser = argparse.ArgumentParser(description=docstring.split("\n")[0])
    parser.add_argument("--figures", metavar="FILE", help="also write the reported figures to FILE as JSON")
    if data:
        add_data_arguments(parser, novel)
    return parser


def at_least(minimum):
    """An argparse type: an integer of at least ``minimum`` (``--rounds 0`` would divide by zero)."""
    def parse(text):
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value
    return parse


def figure(**values):
    """Keep figures the benchmark reports (numbers or strings), by key."""
    FIGURES.update({key: value.item() if hasattr(value, "item") else value for key, value in values.items()})


def save_figures(path):
    """Write the figures as JSON to ``path`` (if given): a temporary file, then renamed."""
    if path:
        write_atomically(path, lambda temporary: Path(temporary).write_text(json.dumps(FIGURES, indent=1,
                                                                                        sort_keys=True) + "\n"))


def header(argv):
    """Print the head of a benchmark's printout: date (UTC), command, CPU, GPUs and versions. A
    ``--data-dir`` value is shown as ``DIR``, so that no local path appears in a committed printout."""
    shown = ["DIR" if previous == "--data-dir" else "--data-dir=DIR" if argument.startswith("--data-dir=")
             else argument for previous, argument in zip([None, *argv[1:]], argv[1:])]
    devices = "; ".join(f"{name} (compute capability {'.'.join(map(str, capability))})" for name, capability in gpus())
    for label, value in [
        ("Date (UTC)", f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M}"),
        ("Command", shlex.join(["python", "-m", "benchmarks." + Path(argv[0]).stem, *shown])),
        ("CPU", f"{cpu_model()}; {platform.machine()}, {os.cpu_count()} cores"),
        ("bfloat16 flags", ", ".join(sorted(BFLOAT16_FLAGS & (cpu_flags() or set()))) or "none or unknown"),
        ("GPUs", devices or "none"),
        ("Versions", f"Python {platform.python_version()}, TensorFlow {tf.__version__}, "
                     f"Keras {keras.__version__}, NumPy {np.__version__}"),
    ]:
        print(f"{label + ':':<16}{value}")
    print(flush=True)
    figure(cpu=cpu_model(), date=f"{datetime.now(timezone.utc):%Y-%m-%d}")


def describe(docstring):
    """Print what a benchmark compares: its docstring without the usage line at its end."""
    print(docstring.rsplit("\n\n", 1)[0] + "\n", flush=True)


def add_data_arguments(parser, novel=False):
    """The benchmarks' ``--data-dir`` option, and with ``novel`` the novel's ``--min-text-chars``."""
    parser.add_argument("--data-dir", default=ch16.env_folder("CH16_DATA_DIR"),
                        help="folder with the data sets (default: $CH16_DATA_DIR)")
    if novel:
        parser.add_argument("--min-text-chars", type=at_least(1), default=PART2.min_text_chars,
                            help="refuse a shorter novel as truncated (default: the chapter's full-run check)")


def imdb_reviews(data_dir, reviews=None):
    """The chapter's training and validation reviews (seed 1): ``(texts, labels), (texts, labels)``;
    with ``reviews``, that many training reviews and a quarter as many for validation."""
    n_train, n_val = (PART1.train_reviews, PART1.val_reviews) if reviews is None else (reviews, max(1, reviews // 4))
    return part1.split_reviews(*ch16.load_imdb(data_dir)["train"], n_train, n_val, SEED)


def novel(data_dir, min_chars):
    """*The Mysterious Island* as the notebook encodes it: ``(ids, vocabulary size)``."""
    text = ch16.load_mysterious_island(data_dir, min_chars=min_chars)
    id_to_char = sorted(set(text))
    char_to_id = {char: i for i, char in enumerate(id_to_char)}
    return np.array([char_to_id[char] for char in text], dtype=np.int32), len(id_to_char)


def epoch_statistics(batches):
    """Steps, real tokens, padding share and distinct batch shapes of one pass over ``batches``."""
    steps = tokens = positions = 0
    shapes = set()
    for ids, _ in batches:
        steps += 1
        tokens += int(tf.math.count_nonzero(ids))
        positions += int(tf.size(ids))
        shapes.add(tuple(ids.shape))
    return SimpleNamespace(steps=steps, tokens=tokens, padding=1 - tokens / positions, shapes=len(shapes))


def endless(batches):
    """One iterator over a dataset's batches, epoch after epoch, prefetched (autotuning off)."""
    return iter(ch16.autotune_off(batches.repeat().prefetch(8)))


class TimedTraining:
    """A compiled model and its batches, trained in timed chunks.

    ``batches`` is one iterator for the whole run (see ``endless``): ``fit`` would start a new
    one, at the beginning of an epoch, on every call, while here the timed steps of all the
    rounds follow each other through the epochs as they would in training. The ``warmup``
    steps (tracing, filling caches) are not timed.
    """

    def __init__(self, name, model, batches, warmup):
        self.name, self.model, self.batches = name, model, batches
        for _ in range(warmup):
            self.step()
        self.steps, self.examples, self.seconds = 0, 0, 0.0

    def step(self):
        """Train on the next batch; return its number of examples."""
        inputs, targets = next(self.batches)
        self.model.train_on_batch(inputs, targets)
        return int(inputs.shape[0])

    def train(self, steps=None, examples=None):
        """Train, timed, for ``steps`` batches, or (given ``examples``) until that many examples."""
        progress = ch16.Progress(f"[{self.name}]")
        start = time.perf_counter()
        done_steps = done_examples = 0
        while (done_examples < examples) if examples else (done_steps < steps):
            done_examples += self.step()
            done_steps += 1
            progress.update(done_steps, steps)
        seconds = time.perf_counter() - start
        self.steps += done_steps
        self.examples += done_examples
        self.seconds += seconds
        progress.finish(f"[{self.name}] {done_steps} steps ({done_examples:,} examples) in {seconds:.1f} s: "
                        f"{seconds / done_steps * 1000:.0f} ms per step")

    @property
    def ms_per_step(self):
        return self.seconds / self.steps * 1000


def alternate(trainers, rounds, steps=None, examples=None):
    """Give every trainer ``steps`` (or ``examples``) in total, split into alternating rounds."""
    for _ in range(rounds):
        for trainer in trainers:
            trainer.train(steps=None if steps is None else steps // rounds,
                          examples=None if examples is None else examples // rounds)
