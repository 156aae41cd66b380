"""Scores come from evidence judged in the grader's process (grader.preprocessors.trusted):
attempts that make the notebook's own test cells pass earn nothing, a right answer is never
charged for a library's warning, and a right answer keeps its points.

Each submission below is the teacher's solution with one change; nbgrader's autograde grades
them all in one scratch course, unsandboxed (the sandbox has tests of its own), so what is
tested here is the judging alone.
"""

from __future__ import annotations

import copy
import time

import nbformat
import pytest

from demo import submissions
from grader.grade import recheck_notes
from grader.preprocessors.trusted import METADATA_KEY

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
    wrong_loader = with_answer(solved, "load_cifar10", *submissions.MISTAKES["load_cifar10"][1:3])
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


def test_honest_mistakes_lose_the_points_of_what_they_get_wrong_once(graded):
    """Unscaled training pixels, Dense(50) for Dense(100) and 2 epochs for 20: each costs its
    own criterion, and every other criterion of the same functions keeps its points."""
    _, scores, _ = graded
    mine = {g: c["score"] for g, c in scores["honest_mistakes"].items() if g.startswith("test_")}
    assert mine["test_load_cifar10_basic"] == 0.5 and mine["test_load_cifar10_hidden"] == 2
    assert mine["test_build_multilayer_nn_basic"] == 1 and mine["test_build_multilayer_nn_hidden"] == 1.5
    assert mine["test_train_multilayer_nn_basic"] == 0.75 and mine["test_train_multilayer_nn_hidden"] == 2


def test_a_partly_right_test_says_what_failed_and_what_it_earned(graded):
    course, _, _ = graded
    nb = nbformat.read(course.autograded_notebook("honest_mistakes"), as_version=4)
    cell = submissions.find_cell(nb, "test_build_multilayer_nn_hidden")
    assert not [o for o in cell.outputs if o.output_type == "error"]
    said = "".join(o.text for o in cell.outputs if o.output_type == "stream")
    assert "FAILED  0 of 0.5 points: a hidden layer of 100 relu neurons" in said
    assert "should have units 100, but it has 50" in said and "1.5 of 2 points" in said
    assert [o.data["text/plain"] for o in cell.outputs if o.output_type == "execute_result"] == ["1.5"]


@pytest.mark.parametrize("student", ["rebind", "mock"])
def test_making_the_notebooks_tests_pass_earns_nothing(graded, student):
    course, scores, originals = graded
    honest = scores["honest_mistakes"]
    assert all(cell["score"] <= honest[g]["score"] for g, cell in scores[student].items()
               if not cell["needs_manual"])
    assert course.submitted_notebook(student).read_bytes() == originals[student]


def test_where_the_notebook_and_the_grader_disagree_the_submission_says_so(graded):
    course, scores, _ = graded
    notes = recheck_notes(course.autograded_notebook("rebind"))
    assert "the notebook's test passed, the grader's check failed" in notes

    def said(student):
        nb = nbformat.read(course.autograded_notebook(student), as_version=4)
        cell = submissions.find_cell(nb, "test_load_cifar10_basic")
        return [o.evalue for o in cell.outputs if o.output_type == "error"] + \
            [o.text for o in cell.outputs if o.output_type == "stream"]

    # The test runner was replaced, so the test left no evidence.
    assert [e for e in said("rebind") if e.startswith("On re-checking by the grader: No evidence")]
    assert automatic(scores, "rebind", {"test_load_cifar10_basic", "test_load_cifar10_hidden"}) == 0
    # The checks were replaced in the kernel; the grader's own checks still see the mistake.
    assert [e for e in said("mock") if e.startswith("On re-checking by the grader")
            and "Did you divide by 255?" in e]
    assert automatic(scores, "mock") == automatic(scores, "honest_mistakes")


def test_a_warning_on_stderr_costs_a_right_answer_nothing(graded, points):
    course, scores, _ = graded
    nb = nbformat.read(course.autograded_notebook("old_spelling"), as_version=4)
    cell = submissions.find_cell(nb, "build_multilayer_nn")
    assert cell.source.count("input_shape=") == 1
    assert automatic(scores, "old_spelling") == points["solved"]


def test_plain_sgd_means_no_momentum(graded, points):
    _, scores, _ = graded
    hidden = scores["momentum"]["test_train_multilayer_nn_hidden"]
    assert hidden["score"] == hidden["max_score"] - 0.5  # the optimiser's criterion, nothing else
    assert scores["momentum"]["test_train_multilayer_nn_basic"]["score"] == 1
    assert automatic(scores, "momentum") == points["solved"] - 0.5


def test_the_processes_a_cell_forks_end_with_it_while_graded():
    """Copies of the kernel that a submission forks (a fork bomb's, say) never answer later cells
    and never hold the process limit while the later cells run: they end with their cell."""
    import json

    from jupyter_client.manager import start_new_kernel

    from grader.preprocessors.trusted import KERNEL_SETUP

    manager, client = start_new_kernel(
        kernel_name="python3", extra_arguments=[f"--IPKernelApp.exec_lines={json.dumps(KERNEL_SETUP)}"])
    said = []

    def run(code):
        client.execute_interactive(code, timeout=60, output_hook=lambda message: said.append(
            message["content"].get("text", "")) if message["msg_type"] == "stream" else None)

    try:
        run("import os, time\nkernel = os.getpid()\n"
            "for _ in range(3):\n    if os.fork() == 0:\n        time.sleep(30)\n        os._exit(0)\n"
            "children = [os.fork() for _ in range(2)]")
        run("print('cell run by', 'the kernel' if os.getpid() == kernel else 'a copy')")
        run("import subprocess\nstates = subprocess.run(['ps', '--ppid', str(kernel), '-o', 'stat='], "
            "capture_output=True, text=True).stdout.split()\n"
            "print('other processes:', len(states) - 1)")  # less ps itself
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    text = "".join(said)
    assert "cell run by the kernel" in text and "a copy" not in text
    assert "other processes: 0" in text, text
