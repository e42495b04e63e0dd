"""The two errors the chapter raises for things a reader can fix, and one-line warnings."""

import sys


class DataError(RuntimeError):
    """A data set could not be found, downloaded, checked or extracted."""


class SettingError(ValueError):
    """An environment variable or argument has a value the chapter cannot use."""


def warn(message):
    """A one-line warning on stderr (shown every time, unlike ``warnings.warn``)."""
    print(f"Warning: {message}", file=sys.stderr, flush=True)
