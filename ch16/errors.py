"""The errors the chapter raises for things a reader can fix, and one-line warnings."""

import sys


class DataError(RuntimeError):
    """A data set could not be found, downloaded or read, or it is not what the chapter needs."""


class SettingError(ValueError):
    """An environment variable or argument has a value the chapter cannot use."""


def warn(message):
    print(f"Warning: {message}", file=sys.stderr, flush=True)  # every time, unlike warnings.warn
