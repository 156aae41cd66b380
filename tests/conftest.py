"""Shared fixtures: a tiny synthetic CIFAR-10, the environment nbgrader's kernels grade in, and
the points each kind of demo submission earns (read from the teacher notebook)."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory):
    """A synthetic CIFAR-10 in the official on-disk format: 200 training and 50 test images."""
    from utils.data import write_synthetic_cifar10

    return write_synthetic_cifar10(tmp_path_factory.mktemp("cifar10"), train_per_class=20,
                                   test_per_class=5)


@pytest.fixture(scope="session")
def grading_env(synthetic_dir):
    """Environment for nbgrader runs: the synthetic data, and a short per-cell time limit."""
    return {"CIFAR10_DIR": str(synthetic_dir), "NBGRADER_CELL_TIMEOUT": "30"}


@pytest.fixture(scope="session")
def points():
    """Automatic points by kind of submission: 'solved', 'mistakes', 'release' (demo.submissions)."""
    from demo import submissions
    from grader.course import REPO_ROOT, Course

    course = Course(REPO_ROOT)
    return {kind: submissions.automatic_points(course, kind) for kind in ("solved", "mistakes", "release")}


def pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def student_bin():
    """The bin/ folder of a new virtual environment with nothing but the release's
    requirements.txt installed, as a student sets it up.

    It is built on the system's Python where there is one, in a folder every user may read, so
    that a second Unix user (the student of the browser tests) can run it too.
    """
    from grader.assignment import ASSIGNMENT, REPO_ROOT

    if not pypi_reachable() and not os.environ.get("PIP_FIND_LINKS"):
        pytest.skip("installing the student's requirements needs PyPI")
    system = "/usr/bin/python3"
    usable = Path(system).exists() and subprocess.run(
        [system, "-c", "import ensurepip, sys, venv; assert sys.version_info >= (3, 11)"],
        capture_output=True).returncode == 0
    base = system if usable else sys.executable
    venv = Path(tempfile.mkdtemp(prefix="cifar10-student-venv-"))
    venv.chmod(0o755)
    try:
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        install = subprocess.run(
            [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "-r",
             str(REPO_ROOT / "release" / ASSIGNMENT / "requirements.txt")],
            capture_output=True, text=True, timeout=1200)
        assert install.returncode == 0, install.stderr[-3000:]
        yield venv / "bin"
    finally:
        shutil.rmtree(venv, ignore_errors=True)
