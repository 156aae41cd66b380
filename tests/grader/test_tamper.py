"""The static check for student code that reaches into the grading machinery."""

from __future__ import annotations

import nbformat
import pytest

from demo import submissions
from grader import tamper
from grader.course import REPO_ROOT, Course

COURSE = Course(REPO_ROOT)


@pytest.fixture(scope="module")
def trusted():
    return tamper.trusted_sources(COURSE.release_notebook)


def with_cell(source: str) -> nbformat.NotebookNode:
    nb = submissions.build(COURSE, "solved")
    nb.cells.insert(5, nbformat.v4.new_code_cell(source))
    return nb


def test_the_release_and_the_solution_are_clean(trusted):
    assert tamper.find_tampering(nbformat.read(COURSE.release_notebook, as_version=4), trusted) == []
    assert tamper.find_tampering(submissions.build(COURSE, "solved"), trusted) == []


@pytest.mark.parametrize("code, finding", [
    ("np.allclose = lambda *a, **k: True", "rebinds np.allclose"),
    ("import utils.checks as c\nc.check_layers = print", "rebinds c.check_layers"),
    ("from utils import checks\nchecks.call.__code__ = None", "rebinds checks.call.__code__"),
    ("import numpy\nnumpy.testing.assert_allclose = print", "rebinds numpy.testing.assert_allclose"),
    ("setattr(utils, 'checks', None)", "uses setattr"),
    ("import sys\nsys.modules['utils.checks'] = None", "uses sys.modules"),
    ("import builtins\nbuiltins.AssertionError = Exception", "uses builtins"),
    ("exec('x = 1')", "uses exec"),
])
def test_tampering_is_found(trusted, code, finding):
    findings = tamper.find_tampering(with_cell(code), trusted)
    assert any(finding in f for f in findings), findings


@pytest.mark.parametrize("code", [
    "model = build_multilayer_nn()\nmodel.trainable = True",   # an attribute of a model, not a module
    "history = train_multilayer_nn(mlp, xtrain[:100], ytrain_1hot[:100])",
    "x = np.zeros(3)\nx[0] = 1",
    "def broken(:\n    pass",                                   # does not run, cannot tamper
])
def test_ordinary_student_code_is_not_flagged(trusted, code):
    assert tamper.find_tampering(with_cell(code), trusted) == []


def test_edited_metadata_does_not_hide_a_cell(trusted):
    """A student cannot exempt a cell by marking it as a locked test cell."""
    nb = with_cell("np.mean = len")
    nb.cells[5].metadata["nbgrader"] = {"grade": True, "locked": True, "grade_id": "test_x",
                                        "points": 0, "solution": False, "schema_version": 3}
    assert tamper.find_tampering(nb, trusted)
