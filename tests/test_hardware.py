"""ch16.hardware: choosing the precision from the CPU's flags and the GPUs, and what is printed."""

import pytest

import ch16
from ch16 import hardware
from ch16.errors import SettingError

X86_AVX2 = {"fpu", "sse4_2", "avx", "avx2", "fma"}  # e.g. an AMD EPYC (Zen 2/3) or an older Xeon
X86_AVX512_BF16 = X86_AVX2 | {"avx512f", "avx512_bf16"}  # e.g. Cooper Lake, Zen 4 and 5
X86_AMX = X86_AVX2 | {"avx512f", "amx_tile", "amx_bf16", "amx_int8"}  # e.g. Sapphire Rapids
ARM_BF16 = {"fp", "asimd", "sve", "bf16", "i8mm"}  # /proc/cpuinfo "Features" of e.g. Graviton3
ARM_NO_BF16 = {"fp", "asimd", "crc32", "atomics"}  # e.g. Graviton2


@pytest.mark.parametrize("flags", [X86_AVX512_BF16, X86_AMX, ARM_BF16], ids=["avx512_bf16", "amx_bf16", "arm_bf16"])
def test_cpus_with_a_bfloat16_flag_compute_it_natively_and_get_mixed_bfloat16(flags):
    policy, reason = ch16.choose_precision("auto", [], flags)
    assert policy == "mixed_bfloat16"
    assert any(flag in reason for flag in flags & {"avx512_bf16", "amx_bf16", "bf16"})


@pytest.mark.parametrize("flags", [X86_AVX2, ARM_NO_BF16, set()], ids=["avx2", "arm", "empty"])
def test_cpus_without_a_bfloat16_flag_stay_in_float32(flags):
    assert ch16.choose_precision("auto", [], flags)[0] == "float32"


def test_avx512_without_its_bf16_extension_is_not_native_bfloat16():
    assert ch16.choose_precision("auto", [], X86_AVX2 | {"avx512f", "avx512bw", "avx512_vnni"})[0] == "float32"


def test_unknown_cpu_flags_mean_float32_and_say_why():
    policy, reason = ch16.choose_precision("auto", None, None)
    assert policy == "float32" and "cannot be read" in reason


@pytest.mark.parametrize("capabilities, policy", [
    ([(8, 0)], "mixed_bfloat16"), ([(9, 0)], "mixed_bfloat16"), ([(7, 5)], "mixed_float16"), ([(6, 1)], "float32"),
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
    with pytest.raises(SettingError, match="precision"):
        ch16.choose_precision(setting, [], X86_AVX2)


def test_the_cpu_is_described_with_its_family_model_and_stepping_where_linux_gives_them(monkeypatch):
    fields = {"model name": "AMD EPYC", "cpu family": "26", "model": "2", "stepping": "1", "flags": "fpu avx2"}
    monkeypatch.setattr(hardware, "_cpuinfo", lambda: fields)
    assert hardware.cpu_model() == "AMD EPYC (cpu family 26, model 2, stepping 1)"
    assert hardware.cpu_flags() == {"fpu", "avx2"}


def test_dtype_policy_restores_the_previous_global_policy():
    import keras

    before = keras.config.dtype_policy().name
    with ch16.dtype_policy("mixed_bfloat16"):
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
        layer = keras.layers.Dense(2)
    assert keras.config.dtype_policy().name == before and layer.dtype_policy.name == "mixed_bfloat16"
