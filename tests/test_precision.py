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
