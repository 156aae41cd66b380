"""Where and how a measurement was made: the machine, the library versions, the data, the command.

Times mean little without the machine that made them, so every result file of the lab carries
the same :func:`run_metadata`.
"""

from __future__ import annotations

import datetime as _dt
import os
import pickle
import platform
import shlex
from pathlib import Path

import numpy as np

from utils.data import DATA_DIR_ENV, TEST_BATCH, find_batches_dir


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "processor\t: ")) and ":" in line:
                value = line.split(":", 1)[1].strip()
                if value and not value.isdigit():
                    return value
    except OSError:
        pass
    return platform.processor() or "unknown"


def physical_cores() -> int:
    """Physical cores this process may use (hyper-threads counted once), best effort."""
    logical = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        pairs, physical, core = set(), None, None
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "physical id":
                physical = value.strip()
            elif key == "core id":
                core = value.strip()
            elif not line.strip():
                if core is not None:
                    pairs.add((physical, core))
                physical = core = None
        if core is not None:
            pairs.add((physical, core))
        if pairs:
            return max(1, min(len(pairs), logical or len(pairs)))
    except OSError:
        pass
    return logical or 1


def gpus() -> list[str]:
    """The GPUs Keras's backend sees (names as the backend gives them); metadata only."""
    import keras

    try:
        if keras.backend.backend() == "jax":
            import jax

            return [device.device_kind for device in jax.devices() if device.platform == "gpu"]
        if keras.backend.backend() == "torch":
            import torch

            return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        import tensorflow as tf

        return [device.name for device in tf.config.list_physical_devices("GPU")]
    except Exception:  # noqa: BLE001 - metadata only
        return []


def machine_info() -> dict:
    """Platform, CPU model, cores, load and GPUs of this machine."""
    info = {
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "physical_cores": physical_cores(),
    }
    try:
        info["load_average"] = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        pass
    info["gpus"] = gpus()
    return info


def backend_versions() -> dict:
    """Keras, its backend and the version of the backend's library (as that library reports it:
    the course installs TensorFlow as the ``tensorflow-cpu`` package)."""
    import importlib

    import keras

    backend = keras.backend.backend()
    try:
        library_version = importlib.import_module(backend).__version__
    except (ImportError, AttributeError):
        library_version = None
    return {"keras": keras.__version__, "keras_backend": backend, backend: library_version}


def machine_summary(machine: dict, versions: dict | None = None) -> str:
    """One line for a table: the CPU, its cores and the GPUs (and Keras's backend, if given)."""
    gpu_names = machine.get("gpus") or []
    text = f"{machine.get('cpu', '?')}, {machine.get('logical_cores', '?')} logical cores"
    text += f", GPU: {', '.join(gpu_names)}" if gpu_names else ", no GPU"
    if versions:
        text += f", Keras {versions['keras']} on {versions['keras_backend']}"
    return text


def data_summary(metadata: dict) -> str:
    """The data of a run, in words: its folder and what it is."""
    return f"{metadata['data']['dir']} ({metadata['data']['note']})"


def describe_data(data_dir=None) -> str:
    """Whether *data_dir* (default ``$CIFAR10_DIR``) holds the real CIFAR-10 or a synthetic copy.

    Read from the files rather than the folder's name: ``utils.data`` names every synthetic image
    ``synthetic_...``, the official batches name the photographs.
    """
    batches = find_batches_dir(data_dir)
    if batches is None:
        return "CIFAR-10 through Keras (its cache or a download)"
    with open(batches / TEST_BATCH, "rb") as f:
        names = pickle.load(f, encoding="bytes").get(b"filenames") or [b""]
    return "synthetic CIFAR-10" if names[0].startswith(b"synthetic_") else "real CIFAR-10"


def run_metadata(argv: list[str], data_dir, data_note: str, program: str) -> dict:
    """Date, machine, versions, data and the exact command line (*program* and *argv*)."""
    data_dir = data_dir or os.environ.get(DATA_DIR_ENV)
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     **backend_versions()},
        "data": {"dir": Path(data_dir).expanduser().resolve().name if data_dir
                 else "keras default (cache or download)", "note": data_note},
        "command": program + (" " + shlex.join(argv) if argv else ""),
    }
