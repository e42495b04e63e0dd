"""The machine: CPU model and flags, GPUs, and the choice of numeric precision."""

import os
import platform
import sys
from pathlib import Path

from ch16.errors import SettingError

BFLOAT16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})  # x86 AVX512_BF16, AMX-BF16; Arm BF16
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
_POLICY = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}


def _cpuinfo_fields():
    """The first processor's ``key: value`` lines of /proc/cpuinfo (Linux), lower-case keys."""
    fields = {}
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if not line.strip():
                if fields:
                    break
                continue
            key, _, value = line.partition(":")
            fields.setdefault(key.strip().lower(), value.strip())
    except OSError:
        pass
    return fields


def cpu_model():
    """The CPU's model name as the operating system reports it, with its family, model and
    stepping where Linux gives them (a virtual machine may report only "AMD EPYC")."""
    if sys.platform.startswith("linux"):
        fields = _cpuinfo_fields()
        name = fields.get("model name") or fields.get("hardware") or fields.get("cpu model")
        if name:
            ids = [f"{key} {fields[key]}" for key in ("cpu family", "model", "stepping") if key in fields]
            return f"{name} ({', '.join(ids)})" if ids else name
    elif sys.platform == "darwin":
        import subprocess
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                  text=True, timeout=5).stdout.strip() or platform.processor()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_flags():
    """The CPU feature flags Linux lists (``flags`` or Arm's ``features``), or None where they
    cannot be read (other systems)."""
    if not sys.platform.startswith("linux"):
        return None
    fields = _cpuinfo_fields()
    flags = fields.get("flags") or fields.get("features")
    return set(flags.split()) if flags else None


def native_bfloat16(flags):
    """Whether a CPU with these flags computes bfloat16 in hardware: x86 AVX512_BF16 or AMX-BF16,
    or Arm's BF16 extension (flag ``bf16``). Unknown flags (None) count as no."""
    return bool(flags) and bool(BFLOAT16_FLAGS & set(flags))


def choose_precision(setting="auto", gpu_capabilities=None, flags=None):
    """Choose the precision of the character LSTM: returns ``(keras policy name, reason)``.

    ``auto``: mixed bfloat16 on a GPU of compute capability 8.0 or later, mixed float16 on 7.x,
    mixed bfloat16 on a CPU that computes bfloat16 natively, float32 everywhere else (never an
    emulated format). ``float32``, ``bfloat16`` or ``float16`` force that choice.
    ``gpu_capabilities`` is a list of (major, minor) per GPU; ``flags`` the CPU's flags.
    """
    if setting not in PRECISIONS:
        raise SettingError(f"precision {setting!r} is not one of: {', '.join(PRECISIONS)}.")
    if setting != "auto":
        return _POLICY[setting], f"set by CH16_PRECISION={setting}"
    if gpu_capabilities:
        major = min(capability[0] for capability in gpu_capabilities)
        if major >= 8:
            return "mixed_bfloat16", f"GPU of compute capability {major}.x computes bfloat16"
        if major == 7:
            return "mixed_float16", "GPU of compute capability 7.x computes float16"
        return "float32", f"GPU of compute capability {major}.x: no fast reduced precision"
    if native_bfloat16(flags):
        found = sorted(BFLOAT16_FLAGS & set(flags))
        return "mixed_bfloat16", f"the CPU computes bfloat16 natively ({', '.join(found)})"
    if flags is None:
        return "float32", "the CPU's features could not be read on this system: float32"
    return "float32", "the CPU has no native bfloat16: no avx512_bf16, amx_bf16 or bf16 flag"


def gpus():
    """``(name, (major, minor) compute capability)`` of every GPU TensorFlow sees."""
    import tensorflow as tf

    found = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        found.append((details.get("device_name", gpu.name), tuple(details.get("compute_capability", (0, 0)))))
    return found


def gpu_capabilities():
    """(major, minor) compute capability of every GPU TensorFlow sees."""
    return [capability for _, capability in gpus()]


def bfloat16_flags_text():
    """The CPU's bfloat16 flags as text: their names, "none", or why they are unknown."""
    flags = cpu_flags()
    if flags is None:
        return "unknown (the CPU's flags cannot be read on this system)"
    return ", ".join(sorted(BFLOAT16_FLAGS & flags)) or "none"


class dtype_policy:
    """``with ch16.dtype_policy("mixed_bfloat16"): model = build()`` builds the model's layers
    under that Keras policy and restores the previous global policy afterwards."""

    def __init__(self, policy):
        self.policy = policy

    def __enter__(self):
        import keras

        self.previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(self.policy)
        return self

    def __exit__(self, *exc):
        import keras

        keras.config.set_dtype_policy(self.previous)
        return False


def print_environment():
    """Print the versions, the CPU model and the GPUs of this run (it only prints)."""
    import keras
    import numpy as np
    import tensorflow as tf

    print(f"Python {platform.python_version()}, TensorFlow {tf.__version__}, "
          f"Keras {keras.__version__}, NumPy {np.__version__}")
    print(f"CPU: {cpu_model()}; {platform.machine()}, {os.cpu_count()} cores; "
          f"bfloat16 flags: {bfloat16_flags_text()}")
    found = gpus()
    for name, capability in found:
        print(f"GPU: {name}, compute capability {'.'.join(map(str, capability))}")
    if not found:
        print("No GPU found: everything runs on the CPU.")
