"""Shared fixtures: a tiny synthetic CIFAR-10, the environment nbgrader's kernels grade in, and
the points each kind of demo submission earns (read from the teacher notebook)."""

import os

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
