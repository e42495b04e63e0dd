"""Run settings from environment variables (or notebook parameters): a variable that is set must hold a
valid value, blank included; the full-run or quick-mode settings; the cache folder and its writes."""

import os
import secrets
from pathlib import Path
from types import SimpleNamespace

from ch16.errors import SettingError

PROJECT_DIR = Path(__file__).resolve().parent.parent
SETTING_VARIABLES = ("CH16_QUICK", "CH16_DATA_DIR", "CH16_CACHE_DIR", "CH16_RETRAIN", "CH16_SEED", "CH16_PRECISION")
_YES, _NO = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _value(name):
    """The stripped value of the variable ``name``; None if unset; a ``SettingError`` if blank."""
    value = os.environ.get(name)
    if value is not None and not value.strip():
        raise SettingError(f"{name} is set but blank: give it a value, or unset it ({name} is read only when set).")
    return None if value is None else value.strip()


def yes_no(value, name):
    """A yes/no setting: a bool, 0/1, or the text 1/0, true/false, yes/no, on/off in any case."""
    if isinstance(value, bool) or value in (0, 1):
        return bool(value)
    word = value.strip().lower() if isinstance(value, str) else None
    if word not in _YES | _NO:
        raise SettingError(f"{name}={value!r} is not a yes/no value: use 1/0, true/false, yes/no or on/off.")
    return word in _YES


def env_flag(name, default=False):
    value = _value(name)
    return default if value is None else yes_no(value, name)


def env_choice(name, choices, default):
    value = _value(name)
    if value is not None and value.lower() not in choices:
        raise SettingError(f"{name}={value!r} is not one of: {', '.join(choices)}.")
    return default if value is None else value.lower()


def env_int(name, default, low=0, high=2**31 - 1):
    value = _value(name)
    digits = value is not None and value.isascii() and value.isdigit() and len(value.lstrip("0")) <= len(str(high))
    if value is not None and not (digits and low <= int(value) <= high):  # (int() refuses over 4,300 digits)
        raise SettingError(f"{name}={value!r} is not a whole number from {low} to {high}.")
    return default if value is None else int(value)


def env_folder(name):
    """A folder named by an environment variable (``~`` expanded), or None if it is unset."""
    value = _value(name)
    try:
        return None if value is None else Path(value).expanduser()
    except RuntimeError as error:  # "~user" of no such user
        raise SettingError(f"{name}={value!r}: {error} Give the folder's full path.") from None


def cache_dir():
    """Downloads, trained models and figures: ``CH16_CACHE_DIR`` (read at every call) or ``cache/``."""
    return env_folder("CH16_CACHE_DIR") or PROJECT_DIR / "cache"


def write_atomically(path, write):
    """``write(temporary)`` into a file of a new name beside ``path`` (made by ``write``), then renamed to
    ``path``: a reader sees the old file or the whole new one, never a half-written one (the temporary
    goes on failure)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.{secrets.token_hex(8)}{path.suffix}")
    try:
        write(str(temporary))
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def unknown_setting_variables(environ=os.environ):
    """A message for each variable named like the chapter's (``CH16_...``, any case) that it does not
    read: a misspelt ``CH16_QUIK=1`` would otherwise start a full run without a word."""
    return [f"{name} is not read by this chapter; its settings are {', '.join(SETTING_VARIABLES)} (names are "
            "case-sensitive)." for name in sorted(environ) if name.upper().startswith("CH16_")
            and name not in SETTING_VARIABLES]


def choose_settings(quick, settings):
    """The full-run or quick-mode value of each setting (name: ``(full, quick)``), as a namespace; prints
    what quick mode changed, or the full run's values."""
    quick = yes_no(quick, "QUICK")
    chosen = {name: pair[quick] for name, pair in settings.items()}
    if quick:
        print("Quick mode (CH16_QUICK=1) changed:")
        print("\n".join(f"  {name:<22} {full!s:>10} -> {fast}" for name, (full, fast) in settings.items() if full != fast))
    else:
        print("Full run: " + ", ".join(f"{name}={value}" for name, value in chosen.items()))
    return SimpleNamespace(**chosen)
