"""Faster training on CPUs that compute in bfloat16: ``utils.fast_training()``.

Many recent CPUs multiply numbers in *bfloat16* (a 16-bit float with float32's range and fewer
digits) at twice the rate of float32 or more: x86 CPUs with AVX512-BF16 (Intel Cooper Lake and
later, AMD Zen 4 and later) or AMX (Intel Sapphire Rapids and later), and Arm CPUs with the BF16
extension (Apple M2 and later, AWS Graviton 3 and later). Keras uses them with its
``mixed_bfloat16`` policy: each layer computes in bfloat16 while its weights, and so every
training update, stay in float32. On a CPU without such units bfloat16 is slower than float32,
so ``fast_training`` keeps float32 there and says why.

A model's output layer turns scores into probabilities (softmax, sigmoid), where bfloat16's three
significant digits are too few; ``float32_output`` makes that one layer compute in float32, as
the Keras guide to mixed precision advises, and ``utils.trained`` applies it to every model it
trains. The students' own code stays plain Keras, and the graded functions are judged the same
with the policy on or off.
"""

from __future__ import annotations

import os
import platform
import subprocess

MIXED = "mixed_bfloat16"


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.split(":")[0].strip() in ("flags", "Features"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def bfloat16_support() -> tuple[bool, str]:
    """Whether this CPU computes bfloat16 in hardware, and the name of what it has (or lacks)."""
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        flags = _cpu_flags()
        for flag, name in (("amx_bf16", "AMX-BF16"), ("avx512_bf16", "AVX512-BF16")):
            if flag in flags:
                return True, name
        return False, "this x86 CPU has neither AVX512-BF16 nor AMX"
    if machine in ("aarch64", "arm64"):
        if "bf16" in _cpu_flags():
            return True, "Arm BF16"
        if platform.system() == "Darwin":
            try:
                found = subprocess.run(["sysctl", "-n", "hw.optional.arm.FEAT_BF16"],
                                       capture_output=True, text=True, timeout=5).stdout.strip()
            except (OSError, subprocess.SubprocessError):
                found = ""
            if found == "1":
                return True, "Arm BF16"
        return False, "this Arm CPU has no BF16 extension"
    return False, f"bfloat16 support on {machine or 'this CPU'} is not known"


def fast_training(bfloat16: bool | None = None) -> str:
    """Make Keras train as fast as this machine allows; return the dtype policy now in force.

    *bfloat16*: None (the default) decides from the CPU; True or False forces the choice.
    While a notebook is graded nothing changes: the tests train nothing, and judge the same way
    on every grading machine.
    """
    import keras

    if os.environ.get("NBGRADER_EXECUTION"):
        return keras.mixed_precision.global_policy().name
    supported, what = bfloat16_support()
    if any(str(d).lower().startswith("gpu") for d in keras.distribution.list_devices()):
        supported, what = False, "a GPU does the work, and this setting is for CPUs"
    use = supported if bfloat16 is None else bfloat16
    keras.mixed_precision.set_global_policy(MIXED if use else "float32")
    if use and supported:
        print(f"Fast training: layers compute in bfloat16 ({what}), weights stay in float32.")
    elif use:
        print(f"bfloat16 on, as asked, although {what}: expect slower training, not faster.")
    elif bfloat16 is None:
        print(f"Training in float32: {what}, so bfloat16 would be slower here.")
    else:
        print("Training in float32, as asked.")
    return keras.mixed_precision.global_policy().name


def float32_output(model):
    """Make *model*'s last layer compute in float32 if the others compute in bfloat16 (its
    probabilities need float32's digits); return the model."""
    import keras

    layers = getattr(model, "layers", None) or []
    if layers and keras.mixed_precision.global_policy().name == MIXED \
            and layers[-1].dtype_policy.compute_dtype == "bfloat16":
        layers[-1].dtype_policy = "float32"
    return model
