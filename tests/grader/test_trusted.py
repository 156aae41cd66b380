"""Scores come from evidence judged in the grader's process (grader.preprocessors.trusted):
attempts that make the notebook's own test cells pass earn nothing, a right answer is never
charged for a library's warning, and a right answer keeps its points.

Each submission below is the teacher's solution with one change; nbgrader's autograde grades
them all in one scratch course, unsandboxed (the sandbox has tests of its own), so what is
tested here is the judging alone.
"""

from __future__ import annotations

import copy

import nbformat
import pytest

from demo import submissions
from grader.grade import recheck_notes
from grader.preprocessors.trusted import METADATA_KEY

FUNCTION_TESTS = {
    "load_cifar10": ("test_load_cifar10_basic", "test_load_cifar10_hidden"),
    "build_multilayer_nn": ("test_build_multilayer_nn_basic", "test_build_multilayer_nn_hidden"),
    "train_multilayer_nn": ("test_train_multilayer_nn_basic", "test_train_multilayer_nn_hidden"),
}

#: Lines a student could add to the end of an answer cell, each of which made the notebook's
#: own test cells pass without a right answer when the verdict was read from the notebook
#: (tests/demo/test_attacks.py grades many more such attempts, in the sandbox).
REBIND_THROUGH_NAMESPACE = (
    "import utils.grading\n"
    "vars(utils.grading)['run'] = lambda *args, **kwargs: print('Visible checks passed')\n")
REBIND_WITH_MOCK = (
    "from unittest import mock\n"
    "import utils.checks\n"
    "for _name in ('check_images', 'check_onehot', 'check_layers', 'check_param_count'):\n"
    "    mock.patch.object(utils.checks, _name, lambda *a, **k: None).start()\n")
def with_lines_after(nb, grade_id: str, lines: str):
    nb = copy.deepcopy(nb)
    submissions.find_cell(nb, grade_id).source += "\n\n" + lines
    return nb


def with_answer(nb, grade_id: str, old: str, new: str):
    nb = copy.deepcopy(nb)
    submissions.replace_in(nb, grade_id, old, new)
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory, grading_env):
    from grader.course import Course

    course = Course.copy_of(tmp_path_factory.mktemp("course"))
    course.generate_release()
    solved = submissions.solved(course.release_notebook, course.source_notebook)
    wrong_loader = with_answer(solved, "load_cifar10", 'xtrain = xtrain.astype("float32") / 255.0',
                               'xtrain = xtrain.astype("float32")')
    wrong_everything = with_answer(
        with_answer(wrong_loader, "build_multilayer_nn", 'layers.Dense(100, activation="relu")',
                    'layers.Dense(50, activation="relu")'),
        "train_multilayer_nn", "epochs=20", "epochs=2")
    hand_in = {
        "honest": solved,
        "honest_mistakes": wrong_everything,
        "rebind": with_lines_after(wrong_everything, "load_cifar10", REBIND_THROUGH_NAMESPACE),
        "mock": with_lines_after(wrong_everything, "load_cifar10", REBIND_WITH_MOCK),
        "old_spelling": with_answer(solved, "build_multilayer_nn",
                                    "keras.Input(shape=(32, 32, 3)),\n        layers.Flatten(),",
                                    "layers.Flatten(input_shape=(32, 32, 3)),"),
        "momentum": with_answer(solved, "train_multilayer_nn", "SGD(learning_rate=0.01)",
                                "SGD(learning_rate=0.01, momentum=0.9)"),
    }
    originals = {}
    for student, nb in hand_in.items():
        originals[student] = course.submit(student, nb).read_bytes()
    course.autograde(env=grading_env, check=True)
    return course, course.scores(), originals


def automatic(scores: dict, student: str, cells=None) -> float:
    return sum(c["score"] for g, c in scores[student].items()
               if not c["needs_manual"] and (cells is None or g in cells))


def test_the_honest_solution_keeps_full_marks_and_no_note(graded, points):
    course, scores, _ = graded
    assert automatic(scores, "honest") == points["solved"]
    nb = nbformat.read(course.autograded_notebook("honest"), as_version=4)
    assert METADATA_KEY not in nb.metadata and recheck_notes(course.autograded_notebook("honest")) == ""


def test_honest_mistakes_lose_the_points_of_the_tests_they_fail(graded):
    _, scores, _ = graded
    mine = scores["honest_mistakes"]
    failing = {*FUNCTION_TESTS["load_cifar10"], "test_build_multilayer_nn_hidden",
               "test_train_multilayer_nn_hidden"}
    assert all(mine[g]["score"] == 0 for g in failing)
    # Dense(50) still has the right kinds of layers; two epochs still compile and fit.
    assert mine["test_build_multilayer_nn_basic"]["score"] == mine["test_train_multilayer_nn_basic"]["score"] == 1


@pytest.mark.parametrize("student", ["rebind", "mock"])
def test_making_the_notebooks_tests_pass_earns_nothing(graded, student):
    course, scores, originals = graded
    honest = scores["honest_mistakes"]
    assert all(cell["score"] <= honest[g]["score"] for g, cell in scores[student].items()
               if not cell["needs_manual"])
    assert automatic(scores, student, {"test_load_cifar10_basic", "test_load_cifar10_hidden",
                                       "test_build_multilayer_nn_hidden"}) == 0
    assert course.submitted_notebook(student).read_bytes() == originals[student]


def test_where_the_notebook_and_the_grader_disagree_the_submission_says_so(graded):
    course, _, _ = graded
    notes = recheck_notes(course.autograded_notebook("rebind"))
    assert "the notebook's test passed, the grader's check failed" in notes

    def errors(student):
        nb = nbformat.read(course.autograded_notebook(student), as_version=4)
        cell = submissions.find_cell(nb, "test_load_cifar10_basic")
        return [o.evalue for o in cell.outputs if o.output_type == "error"]

    # The test runner was replaced, so the test left no evidence.
    assert [e for e in errors("rebind") if e.startswith("On re-checking by the grader: No evidence")]
    # The checks were replaced in the kernel; the grader's own checks still see the mistake.
    assert [e for e in errors("mock") if e.startswith("On re-checking by the grader")
            and "Did you divide by 255?" in e]


def test_a_warning_on_stderr_costs_a_right_answer_nothing(graded, points):
    course, scores, _ = graded
    nb = nbformat.read(course.autograded_notebook("old_spelling"), as_version=4)
    cell = submissions.find_cell(nb, "build_multilayer_nn")
    assert cell.source.count("input_shape=") == 1
    assert automatic(scores, "old_spelling") == points["solved"]


def test_plain_sgd_means_no_momentum(graded, points):
    _, scores, _ = graded
    lost = scores["momentum"]["test_train_multilayer_nn_hidden"]
    assert lost["score"] == 0 and scores["momentum"]["test_train_multilayer_nn_basic"]["score"] == 1
    assert automatic(scores, "momentum") == points["solved"] - lost["max_score"]
