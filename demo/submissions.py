"""Build realistic student submissions from the release and the teacher's solutions.

A submission starts from the student version (``release/``), exactly as a student receives it,
and has its answer cells filled in; the demo and the tests then break it in known ways to show
what grading does with right, wrong, tampered and broken work.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import NamedTuple

import nbformat

from grader.assignment import TeacherNotebook
from grader.course import Course
from utils import grading


def solved(release_notebook: Path, source_notebook: Path) -> nbformat.NotebookNode:
    """The release with every answer cell filled in with the teacher's answer: full marks."""
    nb = nbformat.read(release_notebook, as_version=4)
    answers = TeacherNotebook(source_notebook).answers
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = answers[grade_id]
    return nb


def find_cell(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def replace_in(nb: nbformat.NotebookNode, grade_id: str, old: str, new: str) -> None:
    """Replace text in one cell, and fail loudly if the text is not there (the notebook changed)."""
    cell = find_cell(nb, grade_id)
    if old not in cell.source:
        raise ValueError(f"cell {grade_id!r} no longer contains {old!r}: update demo/submissions.py")
    cell.source = cell.source.replace(old, new)


class Mistake(NamedTuple):
    """A realistic mistake: what the student does wrong, the text of the teacher's answer it
    changes, and the criteria it fails (``{test grade id: (start of the criterion's text, ...)}``)."""

    why: str
    right: str
    wrong: str
    costs: dict[str, tuple[str, ...]]


#: The two functions that the "realistic mistakes" submission gets wrong, and how. Each mistake
#: costs the points of what it gets wrong, once: the rest of the function's points stay.
MISTAKES = {
    "load_cifar10": Mistake("forgets to scale the training pixels to [0, 1]",
                            "    xtrain /= 255.0  # in place: no second float32 copy\n", "",
                            {"test_load_cifar10_basic": ("xtrain ",)}),
    "build_convolution_nn": Mistake("leaves out the dropout layer of the second block",
                                    "        layers.Dropout(0.5),\n", "",
                                    {"test_build_convolution_nn_basic": ("the layers, in order",)}),
}


def criteria_points(costs: dict[str, tuple[str, ...]]) -> float:
    """The points of the criteria that *costs* names (see :class:`Mistake`)."""
    total = 0.0
    for grade_id, starts in costs.items():
        chosen = [c for c in grading.TESTS[grade_id].criteria if c.text.startswith(starts)]
        if len(chosen) != len(starts):
            raise ValueError(f"{grade_id} has no criterion for each of {starts}: update MISTAKES")
        total += sum(c.points for c in chosen)
    return total


def with_mistakes(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of a solved notebook with the realistic mistakes of MISTAKES in two functions."""
    nb = copy.deepcopy(nb)
    for grade_id, mistake in MISTAKES.items():
        replace_in(nb, grade_id, mistake.right, mistake.wrong)
    return nb


def tampered(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """An untouched release whose owner edits two test cells to pass and deletes a third.

    Grading must restore all three from the gradebook, so this still earns nothing.
    """
    nb = copy.deepcopy(nb)
    for grade_id in ("test_load_cifar10_basic", "test_build_multilayer_nn_basic"):
        cell = find_cell(nb, grade_id)
        cell.source = 'print("All tests passed!")'
        cell.metadata["nbgrader"]["points"] = 100
    nb.cells.remove(find_cell(nb, "test_build_convolution_nn_basic"))
    return nb


def with_syntax_error(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A solved notebook whose build_multilayer_nn cell does not parse."""
    nb = copy.deepcopy(nb)
    replace_in(nb, "build_multilayer_nn", "def build_multilayer_nn():", "def build_multilayer_nn(:")
    return nb


def with_exception(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A solved notebook whose train_multilayer_nn raises before training."""
    nb = copy.deepcopy(nb)
    replace_in(nb, "train_multilayer_nn", "    model.compile(", "    1 / 0\n    model.compile(")
    return nb


def with_endless_loop(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A solved notebook with an ungraded cell that never finishes (a forgotten experiment)."""
    nb = copy.deepcopy(nb)
    index = nb.cells.index(find_cell(nb, "build_multilayer_nn")) + 1
    nb.cells.insert(index, nbformat.v4.new_code_cell("while True:\n    pass  # waiting for nothing"))
    return nb


#: Kinds of submission :func:`build` makes, by name: what the notebook is and what it does wrong.
KINDS = {
    "solved": "the teacher's solution",
    "release": "the release, handed in unchanged",
    "mistakes": "; ".join(mistake.why for mistake in MISTAKES.values()),
    "syntax_error": "the solution, with a cell that does not parse",
    "exception": "the solution, with a train function that raises",
    "endless_loop": "the solution, with a cell that never ends",
    "tampered": "the release, with test cells edited and deleted",
}


def build(course: Course, kind: str) -> nbformat.NotebookNode:
    """A submission of *kind* (one of KINDS) for *course*'s release."""
    if kind in ("release", "tampered"):
        release = nbformat.read(course.release_notebook, as_version=4)
        return tampered(release) if kind == "tampered" else release
    full = solved(course.release_notebook, course.source_notebook)
    changes = {"solved": lambda nb: nb, "mistakes": with_mistakes,
               "syntax_error": with_syntax_error, "exception": with_exception,
               "endless_loop": with_endless_loop}
    return changes[kind](full)


def automatic_points(course: Course, kind: str) -> float:
    """The automatic points a submission of *kind* earns when graded honestly."""
    if kind in ("release", "tampered"):
        return 0.0
    if kind not in ("solved", "mistakes"):
        raise ValueError(f"no fixed score for a submission of kind {kind!r}")
    lost = sum(criteria_points(m.costs) for m in MISTAKES.values()) if kind == "mistakes" else 0.0
    return course.teacher.automatic_points() - lost


def scratch_course(target: Path, hand_in: dict[str, str | nbformat.NotebookNode | bytes] = (),
                   ) -> Course:
    """A fresh course at *target*: this repository's config and source, a new release, and the
    submissions in *hand_in* (student -> a kind of KINDS, or the notebook itself)."""
    course = Course.copy_of(target)
    course.generate_release()
    for student, notebook in dict(hand_in).items():
        course.submit(student, build(course, notebook) if isinstance(notebook, str) else notebook)
    return course
