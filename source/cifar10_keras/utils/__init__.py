"""Helpers for the CIFAR-10 Keras assignment: data loading, figures and the checks behind its tests.

Notebooks use ``import utils`` and then ``utils.load_data()``, ``utils.show_images(...)`` and
``utils.is_being_graded()``, and ``utils.fast_training()`` (bfloat16 on CPUs that compute it
natively); test cells use ``utils.checks``. ``utils.training`` holds faster forms
of max pooling and data augmentation for the optimised network of Question 3.3; it is imported on
its own (``from utils.training import ...``) because it needs Keras, which ``check_environment``
must be able to report missing.
"""

import contextlib
import os
import sys
import tempfile

# TensorFlow's start-up notices (CPU features, missing GPU drivers) would fill the first cell's
# output with red text that is not an error; this keeps its real warnings and errors. It only
# works before TensorFlow is imported, which is why the notebook imports utils first.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: Lines TensorFlow's C++ core writes straight to the process's stderr while it is imported,
#: whatever TF_CPP_MIN_LOG_LEVEL says: notices, not problems.
STARTUP_NOTICES = ("All log messages before absl::InitializeLog()", "oneDNN custom operations are on",
                   "This TensorFlow binary is optimized", "To enable the following instructions",
                   "Unable to register cu", "computation placer already registered",
                   "Could not find cuda drivers", "TF-TRT Warning")


@contextlib.contextmanager
def _without_startup_notices():
    """Hold back what C++ code writes to file descriptor 2 meanwhile, then pass on all but the
    known start-up notices, so that a real warning still shows."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode(errors="replace").splitlines(keepends=True)
            kept = [line for line in lines if not any(n in line for n in STARTUP_NOTICES)]
            if kept:
                sys.stderr.write("".join(kept))

from .cache import trained
from .data import ANIMAL_MASK, CLASS_NAMES, DataNotFoundError, load_data
from .plots import plot_history, show_images
from .precision import fast_training

REQUIRED = {"keras": "3.", "tensorflow": "2."}


def is_being_graded() -> bool:
    """Return True while nbgrader validates or autogrades this notebook (long runs are skipped then)."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def check_environment() -> None:
    """Print the versions this assignment relies on and say what to do when one is wrong."""
    import importlib

    for name, prefix in REQUIRED.items():
        try:
            with _without_startup_notices():
                version = importlib.import_module(name).__version__
        except ImportError:
            raise ImportError(
                f"{name} is not installed in this kernel. Install what the assignment needs: "
                f"run  %pip install -r requirements.txt  in a new cell (requirements.txt is the "
                f"file beside this notebook), then Kernel > Restart Kernel, and run this cell again."
            ) from None
        status = "ok" if version.startswith(prefix) else f"expected {prefix}x: please upgrade"
        print(f"{name:<11} {version:<10} {status}")


__all__ = [
    "ANIMAL_MASK", "CLASS_NAMES", "DataNotFoundError", "check_environment", "fast_training",
    "is_being_graded", "load_data", "plot_history", "show_images", "trained",
]
