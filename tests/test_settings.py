"""ch16.settings: the variables a reader sets (a set variable must hold a valid value; blank is an
error, unset is the default), unknown CH16_* variables, the full-run or quick-mode settings, and atomic
writes."""

from pathlib import Path

import pytest

import ch16
from ch16 import settings
from ch16.errors import SettingError
from ch16.settings import write_atomically


@pytest.mark.parametrize("value, expected", [
    ("1", True), ("true", True), ("TRUE", True), ("Yes", True), (" on ", True),
    ("0", False), ("false", False), ("No", False), ("OFF", False),
])
def test_yes_no_variables_accept_the_usual_spellings_in_any_case(monkeypatch, value, expected):
    monkeypatch.setenv("CH16_RETRAIN", value)
    assert ch16.env_flag("CH16_RETRAIN", default=not expected) is expected


@pytest.mark.parametrize("value", ["y", "2", "-1", "enabled", "nope"])
def test_a_bad_yes_no_value_is_refused_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("CH16_QUICK", value)
    with pytest.raises(SettingError, match=f"CH16_QUICK={value!r} is not a yes/no value"):
        ch16.env_flag("CH16_QUICK")


@pytest.mark.parametrize("value, expected", [(True, True), (1, True), ("Yes", True), (False, False), (0, False),
                                             ("false", False)])
def test_injected_yes_no_parameters_are_read_like_the_variables(value, expected):
    """papermill passes ``-p QUICK false`` as the text 'false', which Python would count as true."""
    assert settings.yes_no(value, "RETRAIN") is expected


@pytest.mark.parametrize("value", [None, "", 2, 0.5, "perhaps"])
def test_a_bad_injected_yes_no_parameter_is_refused_naming_it(value):
    with pytest.raises(SettingError, match="QUICK"):
        ch16.choose_settings(value, {"size": (100, 1)})


READERS = {  # how the notebooks read each variable
    "CH16_QUICK": lambda: ch16.env_flag("CH16_QUICK"),
    "CH16_RETRAIN": lambda: ch16.env_flag("CH16_RETRAIN"),
    "CH16_SEED": lambda: ch16.env_int("CH16_SEED", 1),
    "CH16_PRECISION": lambda: ch16.env_choice("CH16_PRECISION", ch16.PRECISIONS, "auto"),
    "CH16_DATA_DIR": lambda: ch16.env_folder("CH16_DATA_DIR"),
    "CH16_CACHE_DIR": settings.cache_dir,
}


@pytest.mark.parametrize("blank", ["", "  ", "\t"])
@pytest.mark.parametrize("name", READERS)
def test_a_blank_variable_is_an_error_not_the_default(monkeypatch, name, blank):
    monkeypatch.setenv(name, blank)
    with pytest.raises(SettingError, match=f"{name} is set but blank"):
        READERS[name]()


@pytest.mark.parametrize("name, default", [
    ("CH16_QUICK", False), ("CH16_RETRAIN", False), ("CH16_SEED", 1), ("CH16_PRECISION", "auto"),
    ("CH16_DATA_DIR", None), ("CH16_CACHE_DIR", settings.PROJECT_DIR / "cache"),
])
def test_an_unset_variable_means_the_default(monkeypatch, name, default):
    monkeypatch.delenv(name, raising=False)
    assert READERS[name]() == default


def test_a_set_variable_is_read_stripped_and_in_any_case(monkeypatch, tmp_path):
    monkeypatch.setenv("CH16_SEED", " 42 ")
    monkeypatch.setenv("CH16_PRECISION", "BFloat16")
    monkeypatch.setenv("CH16_DATA_DIR", str(tmp_path))
    read = [READERS[name]() for name in ("CH16_SEED", "CH16_PRECISION", "CH16_DATA_DIR")]
    assert read == [42, "bfloat16", tmp_path]


@pytest.mark.parametrize("value", ["+7", "-1", "1_000", "1e3", "7.0", "seven", "１２", "٣", "101", "9" * 5000])
def test_env_int_refuses_anything_but_ascii_digits_in_range_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("CH16_SEED", value)
    with pytest.raises(SettingError, match="CH16_SEED=.* is not a whole number from 0 to 100"):
        ch16.env_int("CH16_SEED", 1, high=100)


def test_env_choice_refuses_an_unlisted_value_naming_the_variable_and_the_choices(monkeypatch):
    monkeypatch.setenv("CH16_PRECISION", "float64")
    with pytest.raises(SettingError, match="CH16_PRECISION='float64' is not one of: auto, float32, bfloat16, float16"):
        READERS["CH16_PRECISION"]()


def test_env_folder_expands_the_home_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CH16_DATA_DIR", "~/data")
    assert ch16.env_folder("CH16_DATA_DIR") == tmp_path / "data"


def test_env_folder_refuses_the_home_folder_of_no_such_user(monkeypatch):
    monkeypatch.setenv("CH16_CACHE_DIR", "~nosuchuser_of_this_machine/cache")
    with pytest.raises(SettingError, match=r"CH16_CACHE_DIR='~nosuchuser_of_this_machine/cache'.*full path"):
        settings.cache_dir()


def test_the_cache_folder_is_read_at_every_use(monkeypatch, tmp_path):
    monkeypatch.setenv("CH16_CACHE_DIR", str(tmp_path / "first"))
    assert settings.cache_dir() == tmp_path / "first"
    monkeypatch.setenv("CH16_CACHE_DIR", str(tmp_path / "second"))
    assert settings.cache_dir() == tmp_path / "second"


def test_unknown_ch16_variables_misspelt_or_in_the_wrong_case_are_named():
    environ = {"CH16_QUICK": "1", "CH16_QUIK": "1", "ch16_seed": "3", "Ch16_Retrain": "1", "LANG": "C.UTF-8",
               "MY_CH16_QUICK": "1"}
    messages = settings.unknown_setting_variables(environ)
    assert [message.split()[0] for message in messages] == ["CH16_QUIK", "Ch16_Retrain", "ch16_seed"]
    assert all("is not read by this chapter" in message and "CH16_QUICK" in message for message in messages)
    assert settings.unknown_setting_variables({name: "1" for name in settings.SETTING_VARIABLES}) == []


def test_the_unknown_variables_of_the_environment_are_the_ones_checked(monkeypatch):
    monkeypatch.setenv("CH16_QUIK", "1")
    assert any(message.startswith("CH16_QUIK ") for message in settings.unknown_setting_variables())


SETTINGS = {"reviews": (20_000, 320), "epochs": (10, 1), "seq_length": (40, 40)}


def test_quick_mode_picks_the_quick_values_and_prints_only_what_it_changed(capsys):
    chosen = ch16.choose_settings(True, SETTINGS)
    assert vars(chosen) == {"reviews": 320, "epochs": 1, "seq_length": 40}
    printed = capsys.readouterr().out
    assert "Quick mode" in printed and "20000 -> 320" in printed and "10 -> 1" in printed
    assert "seq_length" not in printed


def test_a_full_run_picks_the_full_values_and_prints_them(capsys):
    chosen = ch16.choose_settings("0", SETTINGS)
    assert vars(chosen) == {"reviews": 20_000, "epochs": 10, "seq_length": 40}
    assert capsys.readouterr().out == "Full run: reviews=20000, epochs=10, seq_length=40\n"


def test_a_failed_write_leaves_the_old_file_whole_and_no_temporary(tmp_path):
    path = tmp_path / "figures.json"
    path.write_text("old")

    def write_half_then_fail(temporary):
        Path(temporary).write_text("ne")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, write_half_then_fail)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["figures.json"]


def test_an_atomic_write_replaces_the_file_with_the_permissions_open_would_give(tmp_path):
    path = tmp_path / "sub" / "figures.json"
    write_atomically(path, lambda temporary: Path(temporary).write_text("new"))
    (tmp_path / "plain").write_text("")  # made by open() under the same umask
    assert path.read_text() == "new"
    assert path.stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777
    assert [p.name for p in path.parent.iterdir()] == ["figures.json"]


def test_figures_of_a_terminal_run_that_cannot_be_saved_are_warned_of_once_and_the_run_goes_on(tmp_path, monkeypatch,
                                                                                           capsys):
    from ch16 import results
    (tmp_path / "not-a-folder").write_text("")  # the cache folder's name taken by a file
    monkeypatch.setenv("CH16_CACHE_DIR", str(tmp_path / "not-a-folder"))
    monkeypatch.setattr(results, "in_notebook", lambda: False)
    monkeypatch.setattr(results, "_FIGURES", {})
    monkeypatch.setattr(results, "_UNSAVED", [])
    for value in (1, 2):
        results.report(f"shown {value}", value=value)
    captured = capsys.readouterr()
    assert captured.out == "shown 1\nshown 2\n"
    assert captured.err.count("Warning: could not save the run's figures") == 1
