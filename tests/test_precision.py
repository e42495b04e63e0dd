"""Choosing the precision from the hardware, and reading the settings from environment variables."""

import pytest

import ch16_helpers as ch16

X86_AVX2 = {"fpu", "sse4_2", "avx", "avx2", "fma"}  # e.g. an AMD EPYC (Zen 2/3) or an older Xeon
X86_AVX512_BF16 = X86_AVX2 | {"avx512f", "avx512_bf16"}  # e.g. Cooper Lake, Zen 4
X86_AMX = X86_AVX2 | {"avx512f", "amx_tile", "amx_bf16", "amx_int8"}  # e.g. Sapphire Rapids
ARM_BF16 = {"fp", "asimd", "sve", "bf16", "i8mm"}  # /proc/cpuinfo "Features" of e.g. Graviton3
ARM_NO_BF16 = {"fp", "asimd", "crc32", "atomics"}  # e.g. Graviton2


@pytest.mark.parametrize("flags", [X86_AVX512_BF16, X86_AMX, ARM_BF16], ids=["avx512_bf16", "amx_bf16", "arm_bf16"])
def test_cpus_with_a_bfloat16_flag_compute_it_natively_and_get_mixed_bfloat16(flags):
    assert ch16.native_bfloat16(flags)
    policy, reason = ch16.choose_precision("auto", [], flags)
    assert policy == "mixed_bfloat16"
    assert any(flag in reason for flag in flags & {"avx512_bf16", "amx_bf16", "bf16"})


@pytest.mark.parametrize("flags", [X86_AVX2, ARM_NO_BF16, set()], ids=["avx2", "arm", "empty"])
def test_cpus_without_a_bfloat16_flag_stay_in_float32(flags):
    assert not ch16.native_bfloat16(flags)
    assert ch16.choose_precision("auto", [], flags)[0] == "float32"


def test_avx512_without_its_bf16_extension_is_not_native_bfloat16():
    assert not ch16.native_bfloat16(X86_AVX2 | {"avx512f", "avx512bw", "avx512_vnni"})


def test_unknown_cpu_flags_mean_float32_and_say_why():
    assert not ch16.native_bfloat16(None)
    policy, reason = ch16.choose_precision("auto", None, None)
    assert policy == "float32"
    assert "could not be read" in reason


@pytest.mark.parametrize("capabilities, policy", [
    ([(8, 0)], "mixed_bfloat16"),
    ([(9, 0)], "mixed_bfloat16"),
    ([(7, 5)], "mixed_float16"),
    ([(6, 1)], "float32"),
    ([(8, 6), (7, 0)], "mixed_float16"),  # mixed GPUs: the oldest decides
])
def test_gpu_compute_capability_decides_over_the_cpu(capabilities, policy):
    assert ch16.choose_precision("auto", capabilities, X86_AVX512_BF16)[0] == policy
    assert ch16.choose_precision("auto", capabilities, X86_AVX2)[0] == policy


@pytest.mark.parametrize("setting, policy", [("float32", "float32"), ("bfloat16", "mixed_bfloat16"),
                                             ("float16", "mixed_float16")])
def test_an_explicit_precision_overrides_the_hardware(setting, policy):
    for capabilities, flags in [([], X86_AVX2), ([(8, 0)], X86_AVX512_BF16), (None, None)]:
        assert ch16.choose_precision(setting, capabilities, flags)[0] == policy


@pytest.mark.parametrize("setting", ["fp16", "mixed_bfloat16", "", "AUTO"])
def test_an_unknown_precision_setting_is_a_setting_error(setting):
    with pytest.raises(ch16.SettingError, match="precision"):
        ch16.choose_precision(setting, [], X86_AVX2)


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
    with pytest.raises(ch16.SettingError, match="CH16_TEST_FLAG"):
        ch16.env_flag("CH16_TEST_FLAG")


@pytest.mark.parametrize("value, expected", [("false", False), ("No", False), (0, False), (False, False),
                                             ("TRUE", True), (1, True), (True, True)])
def test_injected_yes_no_parameters_are_read_like_the_variables(value, expected, capsys):
    """papermill passes ``-p QUICK false`` as the string 'false', which Python counts as true:
    the notebooks' QUICK and RETRAIN go through the same yes/no parsing as the variables."""
    settings = ch16.choose_settings(value, size=(100, 1))
    assert settings.size == (1 if expected else 100)
    assert ch16.yes_no(value, "RETRAIN") is expected


@pytest.mark.parametrize("value", ["perhaps", "", 2, None, 0.5])
def test_injected_yes_no_parameters_reject_anything_else_naming_the_setting(value):
    with pytest.raises(ch16.SettingError, match="QUICK"):
        ch16.choose_settings(value, size=(100, 1))
    with pytest.raises(ch16.SettingError, match="RETRAIN"):
        ch16.load_or_train(None, "key", train=None, retrain=value)


def test_env_choice_accepts_a_listed_value_in_any_case(monkeypatch):
    monkeypatch.setenv("CH16_TEST_CHOICE", "BFloat16")
    assert ch16.env_choice("CH16_TEST_CHOICE", ch16.PRECISIONS, "auto") == "bfloat16"


def test_env_choice_empty_means_the_default(monkeypatch):
    monkeypatch.setenv("CH16_TEST_CHOICE", "")
    assert ch16.env_choice("CH16_TEST_CHOICE", ch16.PRECISIONS, "auto") == "auto"


def test_env_choice_rejects_an_unlisted_value_naming_the_variable(monkeypatch):
    monkeypatch.setenv("CH16_TEST_CHOICE", "float64")
    with pytest.raises(ch16.SettingError, match="CH16_TEST_CHOICE"):
        ch16.env_choice("CH16_TEST_CHOICE", ch16.PRECISIONS, "auto")


def test_env_int_reads_a_whole_number_in_range(monkeypatch):
    monkeypatch.setenv("CH16_TEST_INT", " 42 ")
    assert ch16.env_int("CH16_TEST_INT", 7, low=1, high=100) == 42


def test_env_int_empty_means_the_default(monkeypatch):
    monkeypatch.setenv("CH16_TEST_INT", "")
    assert ch16.env_int("CH16_TEST_INT", 7) == 7


@pytest.mark.parametrize("value", ["forty", "4.5", "0", "101"])
def test_env_int_rejects_other_values_and_numbers_out_of_range_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("CH16_TEST_INT", value)
    with pytest.raises(ch16.SettingError, match="CH16_TEST_INT"):
        ch16.env_int("CH16_TEST_INT", 7, low=1, high=100)


def test_env_folder_names_a_path_and_empty_is_none(monkeypatch, tmp_path):
    monkeypatch.setenv("CH16_TEST_FOLDER", str(tmp_path))
    assert ch16.env_folder("CH16_TEST_FOLDER") == tmp_path
    monkeypatch.setenv("CH16_TEST_FOLDER", "")
    assert ch16.env_folder("CH16_TEST_FOLDER") is None
    monkeypatch.delenv("CH16_TEST_FOLDER")
    assert ch16.env_folder("CH16_TEST_FOLDER") is None


def test_misspelt_or_retired_variables_are_named():
    environ = {"CH16_QUICK": "1", "CH16_QUIK": "1", "CH16_MIXED_PRECISION": "1", "LANG": "C.UTF-8"}
    messages = ch16.unknown_setting_variables(environ)
    assert len(messages) == 2
    assert messages[0].startswith("CH16_MIXED_PRECISION is not read") and "replaced by CH16_PRECISION" in messages[0]
    assert messages[1].startswith("CH16_QUIK is not read") and "CH16_QUICK" in messages[1]
    assert ch16.unknown_setting_variables({name: "" for name in ch16.SETTING_VARIABLES}) == []


def test_the_setup_warns_about_them(monkeypatch, capsys):
    monkeypatch.setenv("CH16_QUIK", "1")
    monkeypatch.setattr(ch16, "_install_terminal_errors", lambda: None)
    ch16.describe_environment()
    assert "Warning: CH16_QUIK is not read by this chapter" in capsys.readouterr().err
