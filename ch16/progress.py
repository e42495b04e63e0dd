"""Progress that updates in place while a long step runs (an epoch, an evaluation, a
measurement) and leaves one summary line when it ends: a display updated in place in Jupyter,
a line rewritten with a carriage return in a terminal, nothing but the summary in a log file."""

import sys
import time

from ch16.session import in_notebook

UPDATE_SECONDS = 1.0


def _duration(seconds):
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


class Progress:
    """``progress = Progress("epoch 3/30")``, then ``progress.update(done, total)`` as often as
    convenient (shown at most once a second) and ``progress.finish(summary)`` at the end, which
    replaces the progress by ``summary``. ``total`` may be None (unknown): then ``expected``,
    the count of an earlier pass, gives the estimate of the end."""

    def __init__(self, label, expected=None):
        self.label, self.expected = label, expected
        self.start = self._shown_at = time.perf_counter()
        self._handle = None
        self._width = 0
        self._notebook = in_notebook()
        self._terminal = not self._notebook and sys.stdout.isatty()
        if self._notebook:  # one output per progress, from the start: it becomes the summary line
            self._show(f"{label}: starting")

    def elapsed(self):
        return time.perf_counter() - self.start

    def update(self, done, total=None, unit="steps"):
        now = time.perf_counter()
        if now - self._shown_at < UPDATE_SECONDS or not (self._notebook or self._terminal):
            return
        self._shown_at = now
        elapsed = now - self.start
        total = total or self.expected
        text = f"{self.label}: {done:,}{f'/{total:,}' if total else ''} {unit}, {_duration(elapsed)} elapsed"
        if total and done:
            text += f", about {_duration(max(0.0, elapsed * (total - done) / done))} left"
        self._show(text)

    def _show(self, text):
        if self._notebook:
            from IPython.display import Pretty, display

            if self._handle is None:
                self._handle = display(Pretty(text), display_id=True)
            else:
                self._handle.update(Pretty(text))
        else:
            sys.stdout.write("\r" + text.ljust(self._width))
            sys.stdout.flush()
            self._width = len(text)

    def finish(self, summary):
        """Replace the progress by ``summary`` (a line of its own in a log file)."""
        if self._handle is not None:
            from IPython.display import Pretty

            self._handle.update(Pretty(summary))
        elif self._width:
            sys.stdout.write("\r" + summary.ljust(self._width) + "\n")
            sys.stdout.flush()
        else:
            print(summary, flush=True)
