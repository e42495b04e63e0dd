"""The machine: CPU model and flags, GPUs, and the choice of numeric precision."""

import contextlib
import os
import platform
from pathlib import Path

from ch16.errors import SettingError

BFLOAT16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})  # x86 AVX512_BF16, AMX-BF16; Arm BF16
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
_POLICY = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}


def _cpuinfo():  # the first processor's fields of /proc/cpuinfo (Linux), lower-case keys; {} elsewhere
    try:  # (no such file elsewhere)
        lines = Path("/proc/cpuinfo").read_text(errors="replace").split("\n\n")[0].splitlines()
    except OSError:
        return {}
    return {key.strip().lower(): value.strip() for key, _, value in (line.partition(":") for line in reversed(lines))}


def cpu_model():
    """The CPU's model, with its family, model and stepping where Linux gives them (a virtual machine
    may call itself only "AMD EPYC"); elsewhere what Python's ``platform`` knows."""
    fields = _cpuinfo()
    if fields.get("model name"):
        ids = ", ".join(f"{key} {fields[key]}" for key in ("cpu family", "model", "stepping") if key in fields)
        return f"{fields['model name']} ({ids})" if ids else fields["model name"]
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_flags():
    """The CPU feature flags Linux lists (x86 ``flags``, Arm ``features``), or None elsewhere."""
    fields = _cpuinfo()
    flags = fields.get("flags") or fields.get("features")
    return set(flags.split()) if flags else None


def choose_precision(setting="auto", gpu_capabilities=None, flags=None):
    """The character models' dtype policy and why: ``auto`` is mixed bfloat16 on GPUs of compute capability
    8.0 or later and CPUs that compute bfloat16 natively, mixed float16 on 7.x GPUs, float32 elsewhere (never
    an emulated format). ``gpu_capabilities``: (major, minor) per GPU; ``flags``: the CPU's (None: unknown)."""
    if setting not in PRECISIONS:
        raise SettingError(f"precision {setting!r} is not one of: {', '.join(PRECISIONS)}.")
    if setting != "auto":
        return _POLICY[setting], f"set by CH16_PRECISION={setting}"
    if gpu_capabilities:
        major = min(capability[0] for capability in gpu_capabilities)
        policy = "mixed_bfloat16" if major >= 8 else "mixed_float16" if major == 7 else "float32"
        return policy, f"GPU of compute capability {major}.x"
    found = sorted(BFLOAT16_FLAGS & set(flags or ()))
    if found:
        return "mixed_bfloat16", f"the CPU computes bfloat16 natively ({', '.join(found)})"
    if flags is None:
        return "float32", "the CPU's features cannot be read on this system"
    return "float32", "the CPU has no native bfloat16 (no avx512_bf16, amx_bf16 or bf16 flag)"


def gpus():
    """``(name, (major, minor) compute capability)`` of every GPU TensorFlow sees."""
    import tensorflow as tf
    details = [tf.config.experimental.get_device_details(gpu) for gpu in tf.config.list_physical_devices("GPU")]
    return [(d.get("device_name", "GPU"), tuple(d.get("compute_capability", (0, 0)))) for d in details]


def gpu_capabilities():
    return [capability for _, capability in gpus()]


@contextlib.contextmanager
def dtype_policy(policy):
    """``with ch16.dtype_policy("mixed_bfloat16"): model = build()`` builds the layers under that Keras
    policy, then restores the previous global policy."""
    import keras
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def print_environment():
    """Print the versions, the CPU and the GPUs of this run."""
    import keras
    import numpy as np
    import tensorflow as tf
    print(f"Python {platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}, "
          f"NumPy {np.__version__}")
    print(f"CPU: {cpu_model()}; {platform.machine()}, {os.cpu_count()} cores")
    for name, capability in gpus() or [("none found: everything runs on the CPU", ())]:
        print(f"GPU: {name}" + (f", compute capability {'.'.join(map(str, capability))}" if capability else ""))
