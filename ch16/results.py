"""The figures a run reports, by key: what the README and the other documents quote is checked
against them (tests/test_documents.py), one number to one key."""

import json
import sys
from pathlib import Path

from ch16.errors import warn
from ch16.session import in_notebook
from ch16.settings import cache_dir, write_atomically

_FIGURES = {}  # this process's figures, written whole at each report of a terminal run
_UNSAVED = []  # where they could not be written (warned of once)


def report(shown, **figures):
    """Show ``shown`` (a text, or a pandas DataFrame), a result of the run, and keep ``figures`` (numbers
    or strings by key): in Jupyter as the output's metadata (``"ch16"``), so that the committed notebook
    holds them; in a terminal run in ``results/SCRIPT.json`` in the cache folder (this run's figures)."""
    figures = {key: value.item() if hasattr(value, "item") else value for key, value in figures.items()}
    if in_notebook():
        from IPython.display import display
        return display(*([{"text/plain": shown}] if isinstance(shown, str) else [shown]), raw=isinstance(shown, str),
                       metadata={"ch16": figures})
    print(shown if isinstance(shown, str) else shown.to_string(), flush=True)
    _FIGURES.update(figures)
    path = cache_dir() / "results" / f"{Path(sys.argv[0]).stem if sys.argv[0].endswith('.py') else 'session'}.json"
    try:
        write_atomically(path, lambda temporary: Path(temporary).write_text(json.dumps(_FIGURES, indent=1)))
    except OSError as error:  # a by-product of a terminal run: the run goes on without it
        if not _UNSAVED:
            warn(f"could not save the run's figures in {path} ({error.strerror or error}).")
        _UNSAVED.append(path)
