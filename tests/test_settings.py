"""ch16.settings: yes/no, choice, number and folder settings, quick mode, unknown variables, the cache folder."""

import pytest

import ch16
from ch16 import settings
from ch16.errors import SettingError


@pytest.mark.parametrize("value, expected", [
    ("1", True), ("true", True), ("TRUE", True), ("Yes", True), ("on", True), (" On ", True),
    ("0", False), ("false", False), ("False", False), ("NO", False), ("off", False),
])
def test_env_flag_accepts_the_usual_yes_no_spellings_in_any_case(monkeypatch, value, expected):
    monkeypatch.setenv("CH16_TEST_FLAG", value)
    assert ch16.env_flag("CH16_TEST_FLAG", default=not expected) is expected


@pytest.mark.parametrize("default", [True, False])
def test_env_flag_unset_or_empty_means_the_default(monkeypatch, default):
    monkeypatch.delenv("CH16_TEST_FLAG", raising=False)
    assert ch16.env_flag("CH16_TEST_FLAG", default) is default
    monkeypatch.setenv("CH16_TEST_FLAG", "")
    assert ch16.env_flag("CH16_TEST_FLAG", default) is default


@pytest.mark.parametrize("value", ["ye", "2", "y", "enabled", "-1"])
def test_env_flag_rejects_anything_else_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("CH16_TEST_FLAG", value)
    with pytest.raises(SettingError, match="CH16_TEST_FLAG"):
        ch16.env_flag("CH16_TEST_FLAG")


@pytest.mark.parametrize("value, expected", [("false", False), ("No", False), (0, False), (False, False),
                                             ("TRUE", True), (1, True), (True, True)])
def test_injected_yes_no_parameters_are_read_like_the_variables(value, expected, capsys):
    """papermill passes ``-p QUICK false`` as the string 'false', which Python counts as true:
    the notebooks' QUICK and RETRAIN go through the same yes/no parsing as the variables."""
    chosen = ch16.choose_settings(value, {"size": (100, 1)})
    assert chosen.size == (1 if expected else 100)
    assert settings.yes_no(value, "RETRAIN") is expected


@pytest.mark.parametrize("value", ["perhaps", "", 2, None, 0.5])
def test_injected_yes_no_parameters_reject_anything_else_naming_the_setting(value):
    with pytest.raises(SettingError, match="QUICK"):
        ch16.choose_settings(value, {"size": (100, 1)})
    with pytest.raises(SettingError, match="RETRAIN"):
        ch16.load_or_train(None, "key", train=None, retrain=value)


def test_quick_mode_prints_what_it_changed(capsys):
    chosen = ch16.choose_settings(True, {"reviews": (20_000, 320), "seq_length": (40, 40)})
    assert (chosen.reviews, chosen.seq_length) == (320, 40)
    printed = capsys.readouterr().out
    assert "reviews" in printed and "20000 -> 320" in printed and "seq_length" not in printed


def test_env_choice_accepts_a_listed_value_in_any_case(monkeypatch):
    monkeypatch.setenv("CH16_TEST_CHOICE", "BFloat16")
    assert ch16.env_choice("CH16_TEST_CHOICE", ch16.PRECISIONS, "auto") == "bfloat16"
    monkeypatch.setenv("CH16_TEST_CHOICE", "")
    assert ch16.env_choice("CH16_TEST_CHOICE", ch16.PRECISIONS, "auto") == "auto"


def test_env_choice_rejects_an_unlisted_value_naming_the_variable(monkeypatch):
    monkeypatch.setenv("CH16_TEST_CHOICE", "float64")
    with pytest.raises(SettingError, match="CH16_TEST_CHOICE"):
        ch16.env_choice("CH16_TEST_CHOICE", ch16.PRECISIONS, "auto")


def test_env_int_reads_a_whole_number_in_range(monkeypatch):
    monkeypatch.setenv("CH16_TEST_INT", " 42 ")
    assert ch16.env_int("CH16_TEST_INT", 7, low=1, high=100) == 42
    monkeypatch.setenv("CH16_TEST_INT", "")
    assert ch16.env_int("CH16_TEST_INT", 7) == 7


@pytest.mark.parametrize("value", ["forty", "4.5", "0", "101"])
def test_env_int_rejects_other_values_and_numbers_out_of_range_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("CH16_TEST_INT", value)
    with pytest.raises(SettingError, match="CH16_TEST_INT"):
        ch16.env_int("CH16_TEST_INT", 7, low=1, high=100)


def test_env_folder_names_a_path_unset_is_none_and_set_but_empty_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("CH16_TEST_FOLDER", str(tmp_path))
    assert ch16.env_folder("CH16_TEST_FOLDER") == tmp_path
    monkeypatch.setenv("CH16_TEST_FOLDER", " ")  # CH16_DATA_DIR=$MISTYPED would otherwise mean "download"
    with pytest.raises(SettingError, match="CH16_TEST_FOLDER is set but empty"):
        ch16.env_folder("CH16_TEST_FOLDER")
    monkeypatch.delenv("CH16_TEST_FOLDER")
    assert ch16.env_folder("CH16_TEST_FOLDER") is None


@pytest.mark.parametrize("value", ["1_000", "+7", "１２", "٣", "12345678901"])
def test_a_seed_is_ascii_digits_only(monkeypatch, value):
    monkeypatch.setenv("CH16_SEED", value)
    with pytest.raises(SettingError, match="CH16_SEED"):
        ch16.env_int("CH16_SEED", 1)


def test_a_home_folder_of_no_user_is_a_setting_error_naming_the_variable(monkeypatch):
    monkeypatch.setenv("CH16_CACHE_DIR", "~no_such_user_of_this_machine/cache")
    with pytest.raises(SettingError, match=r"CH16_CACHE_DIR='~no_such_user_of_this_machine/cache'.*full path"):
        settings.cache_dir()


def test_the_cache_folder_is_read_when_it_is_used(monkeypatch, tmp_path):
    monkeypatch.setenv("CH16_CACHE_DIR", str(tmp_path / "first"))
    assert settings.cache_dir() == tmp_path / "first"
    monkeypatch.setenv("CH16_CACHE_DIR", str(tmp_path / "second"))
    assert settings.cache_dir() == tmp_path / "second"
    monkeypatch.delenv("CH16_CACHE_DIR")
    assert settings.cache_dir() == settings.PROJECT_DIR / "cache"


def test_misspelt_lower_case_or_retired_variables_are_named():
    environ = {"CH16_QUICK": "1", "CH16_QUIK": "1", "CH16_MIXED_PRECISION": "1", "ch16_quick": "1", "LANG": "C.UTF-8"}
    messages = settings.unknown_setting_variables(environ)
    assert len(messages) == 3
    assert messages[0].startswith("CH16_MIXED_PRECISION is not read") and "replaced by CH16_PRECISION" in messages[0]
    assert messages[1].startswith("CH16_QUIK is not read") and "CH16_QUICK" in messages[1]
    assert messages[2].startswith("ch16_quick is not read") and "case-sensitive, use CH16_QUICK" in messages[2]
    assert settings.unknown_setting_variables({name: "" for name in settings.SETTING_VARIABLES}) == []


def test_the_setup_warns_about_them(monkeypatch, capsys):
    from ch16 import session

    monkeypatch.setenv("ch16_quick", "1")
    monkeypatch.setattr(session, "_install_terminal_errors", lambda: None)
    ch16.set_global_options()
    assert "Warning: ch16_quick is not read by this chapter" in capsys.readouterr().err
