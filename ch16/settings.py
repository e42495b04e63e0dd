"""Run settings: yes/no, choice, number and folder values read from environment variables (or
injected as notebook parameters), the full-run or quick-mode value of each hyperparameter, and
the cache folder."""

import os
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ch16.errors import SettingError

PROJECT_DIR = Path(__file__).resolve().parent.parent
SETTING_VARIABLES = ("CH16_QUICK", "CH16_DATA_DIR", "CH16_CACHE_DIR", "CH16_RETRAIN", "CH16_SEED", "CH16_PRECISION")
RETIRED_VARIABLES = {"CH16_MIXED_PRECISION": "CH16_PRECISION"}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def yes_no(value, name):
    """A yes/no setting as a bool: ``True``/``False`` or the numbers 1/0, or as a string (as an
    environment variable or a papermill parameter gives it) 1/0, true/false, yes/no or on/off in
    any case; anything else is a ``SettingError`` naming the setting."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, float, np.number)) and value in (0, 1)):
        return bool(value)
    word = value.strip().lower() if isinstance(value, str) else None
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise SettingError(f"{name}={value!r} is not a yes/no value: use 1/0, true/false, "
                       "yes/no or on/off (or leave it unset).")


def env_flag(name, default=False):
    """A yes/no environment variable (see ``yes_no``); unset or empty means ``default``, so that
    a misspelt ``CH16_QUICK=ye`` cannot silently start a full run."""
    value = os.environ.get(name, "").strip()
    return yes_no(value, name) if value else default


def env_choice(name, choices, default):
    """An environment variable that must be one of ``choices`` (case-insensitive)."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value not in choices:
        raise SettingError(f"{name}={os.environ[name]!r} is not one of: {', '.join(choices)}.")
    return value


def env_int(name, default, low=0, high=2**31 - 1):
    """An integer environment variable in [low, high]; unset or empty means ``default``."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    number = int(value) if re.fullmatch(r"[0-9]{1,10}", value) else None  # ASCII digits only: not "1_000", "+7"
    if number is None or not low <= number <= high:
        raise SettingError(f"{name}={os.environ[name]!r} is not a whole number from {low} to {high}.")
    return number


def env_folder(name):
    """An environment variable naming a folder (``~`` expanded); unset means None. Set but empty
    (a mistyped ``$VAR``, say) is a ``SettingError``, and so is a ``~user`` that names no user."""
    if name not in os.environ:
        return None
    value = os.environ[name].strip()
    if not value:
        raise SettingError(f"{name} is set but empty: unset it (unset {name}) or give it a folder.")
    try:
        return Path(value).expanduser()
    except RuntimeError as error:  # "Could not determine home directory."
        raise SettingError(f"{name}={value!r}: {error} Give the folder's full path.") from None


def cache_dir():
    """The folder of downloads, extracted reviews, trained models and figures: ``CH16_CACHE_DIR``,
    read anew at every call, or ``cache/`` in the project folder."""
    return env_folder("CH16_CACHE_DIR") or PROJECT_DIR / "cache"


def unknown_setting_variables(environ=None):
    """One message for each variable named like the chapter's (CH16_..., in any case) that no
    part of the chapter reads: a misspelt ``CH16_QUIK=1`` or a lower-case ``ch16_quick=1``
    would otherwise start a full run without a word."""
    environ = os.environ if environ is None else environ
    messages = []
    for name in sorted(environ):
        if not name.upper().startswith("CH16_") or name in SETTING_VARIABLES:
            continue
        if name.upper() in SETTING_VARIABLES:
            messages.append(f"{name} is not read by this chapter: variable names are case-sensitive, "
                            f"use {name.upper()}.")
        elif name in RETIRED_VARIABLES:
            messages.append(f"{name} is not read by this chapter: it was replaced by {RETIRED_VARIABLES[name]}.")
        else:
            messages.append(f"{name} is not read by this chapter; its settings are {', '.join(SETTING_VARIABLES)}.")
    return messages


def choose_settings(quick, settings):
    """Pick the full-run or quick-mode value of each setting and say what quick mode changed.

    ``settings`` maps each name to ``(full_value, quick_value)``; returns a namespace of the
    chosen values.
    """
    quick = yes_no(quick, "QUICK")
    chosen = {name: (quick_value if quick else full_value) for name, (full_value, quick_value) in settings.items()}
    if quick:
        print("Quick mode (CH16_QUICK=1) changed:")
        for name, (full_value, quick_value) in settings.items():
            if full_value != quick_value:
                print(f"  {name:<22} {full_value!s:>10} -> {quick_value}")
    else:
        print("Full run: " + ", ".join(f"{name}={value}" for name, value in chosen.items()))
    return SimpleNamespace(**chosen)


def full_settings(settings):
    """The full-run values of a part's settings, as a namespace (the benchmarks use them)."""
    return SimpleNamespace(**{name: full for name, (full, _) in settings.items()})
