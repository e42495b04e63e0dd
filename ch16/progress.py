"""Progress that updates in place while a long step runs and ends as one summary line: a display updated
in Jupyter, a line rewritten after a carriage return in a terminal, only the summary in a log file."""

import sys
import time

from ch16.session import in_notebook

UPDATE_SECONDS = 1.0


def _duration(seconds):
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


class Progress:
    """``Progress("epoch 3/30")``, then ``update(done, total)`` as often as convenient (shown at most once
    a second; with ``total`` None, ``expected`` is the total) and ``finish(summary)``, which replaces it."""

    def __init__(self, label, expected=None):
        self.label, self.expected = label, expected
        self.start = self._shown_at = time.perf_counter()
        self._handle, self._width = None, 0
        self._notebook = in_notebook()
        self._terminal = not self._notebook and sys.stdout.isatty()
        if self._notebook:  # one output from the start, which becomes the summary
            self._show(f"{label}: starting")

    def elapsed(self):
        return time.perf_counter() - self.start

    def update(self, done, total=None, unit="steps"):
        now = time.perf_counter()
        if now - self._shown_at < UPDATE_SECONDS or not (self._notebook or self._terminal):
            return
        self._shown_at, elapsed, total = now, now - self.start, total or self.expected
        text = f"{self.label}: {done:,}{f'/{total:,}' if total else ''} {unit}, {_duration(elapsed)} elapsed"
        if total and done:
            text += f", about {_duration(max(0.0, elapsed * (total - done) / done))} left"
        self._show(text)

    def _show(self, text):
        from IPython.display import Pretty, display
        if self._notebook and self._handle is None:
            self._handle = display(Pretty(text), display_id=True)
        elif self._notebook:
            self._handle.update(Pretty(text))
        else:
            sys.stdout.write("\r" + text.ljust(self._width))
            sys.stdout.flush()
            self._width = max(self._width, len(text))

    def finish(self, summary):
        """Replace the progress by ``summary`` (a line of its own in a log file)."""
        if self._handle is not None:
            self._show(summary)
        elif self._width:
            sys.stdout.write("\r" + summary.ljust(self._width) + "\n")
            sys.stdout.flush()
        else:
            print(summary, flush=True)
