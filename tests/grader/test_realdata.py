"""Checks on the real CIFAR-10 (marked realdata): run only when CIFAR10_DIR points at it."""

from __future__ import annotations

import os

import numpy as np
import pytest

from demo import submissions
from grader.assignment import TeacherNotebook
from utils.data import find_batches_dir

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not os.environ.get("CIFAR10_DIR"), reason="CIFAR10_DIR is not set"),
]


@pytest.fixture(scope="module")
def solution():
    return TeacherNotebook().reference_functions()


def test_the_solutions_loaders_on_the_real_data(solution):
    xtrain, ytrain_1hot, xtest, ytest_1hot = solution["load_cifar10"]()
    assert xtrain.shape == (50000, 32, 32, 3) and xtest.shape == (10000, 32, 32, 3)
    assert xtrain.dtype == np.float32 and 0.0 <= xtrain.min() and xtrain.max() <= 1.0
    assert (ytrain_1hot.sum(axis=0) == 5000).all() and (ytest_1hot.sum(axis=0) == 1000).all()
    _, ytrain, _, ytest = solution["get_binary_cifar10"]()
    assert ytrain.shape == (50000,) and ytest.shape == (10000,)
    assert ytrain.mean() == pytest.approx(0.6) and ytest.mean() == pytest.approx(0.6)


def test_full_marks_when_graded_with_the_real_data(tmp_path, points):
    course = submissions.scratch_course(tmp_path / "course", {"real": "solved"})
    course.autograde("real", env={"CIFAR10_DIR": str(find_batches_dir())}, check=True)
    assert course.totals()["real"] == points["solved"]
