"""Training steps timed in alternating rounds, so that a slow spell of a shared machine falls
on every variant alike."""

import time

from benchmarks.chapter import no_autotune


def endless(batches):
    """One iterator over a dataset's batches, epoch after epoch, prefetched (autotuning off)."""
    return iter(no_autotune(batches.repeat()))


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
        start = time.perf_counter()
        done_steps = done_examples = 0
        while (done_examples < examples) if examples else (done_steps < steps):
            done_examples += self.step()
            done_steps += 1
        seconds = time.perf_counter() - start
        self.steps += done_steps
        self.examples += done_examples
        self.seconds += seconds
        print(f"[{self.name}] {done_steps} steps ({done_examples:,} examples) in {seconds:.1f} s: "
              f"{seconds / done_steps * 1000:.0f} ms per step", flush=True)

    @property
    def ms_per_step(self):
        return self.seconds / self.steps * 1000


def alternate(trainers, rounds, steps=None, examples=None):
    """Give every trainer ``steps`` (or ``examples``) in total, split into alternating rounds."""
    for _ in range(rounds):
        for trainer in trainers:
            trainer.train(steps=None if steps is None else steps // rounds,
                          examples=None if examples is None else examples // rounds)
