"""Build realistic student submissions from the release and the teacher's solutions.

A submission starts from the student version (``release/``), exactly as a student receives it,
and has its answer cells filled in; the demo and the tests then break it in known ways to show
what grading does with right, wrong, tampered and broken work.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.MULTILINE)


def answers_of(source_notebook: Path) -> dict[str, str]:
    """The teacher's answer for each solution cell, by grade_id, with the solution markers removed."""
    nb = nbformat.read(source_notebook, as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: SOLUTION_MARKERS.sub("", cell.source)
            for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("solution")}


def solved(release_notebook: Path, source_notebook: Path) -> nbformat.NotebookNode:
    """The release with every answer cell filled in with the teacher's answer: full marks."""
    nb = nbformat.read(release_notebook, as_version=4)
    answers = answers_of(source_notebook)
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
        raise ValueError(f"cell {grade_id!r} no longer contains {old!r}: update instructor/submissions.py")
    cell.source = cell.source.replace(old, new)


#: The two functions that the "realistic mistakes" submission gets wrong, and how.
MISTAKES = {
    "load_cifar10": ("forgets to scale the training pixels to [0, 1]",
                     'xtrain = xtrain.astype("float32") / 255.0', 'xtrain = xtrain.astype("float32")'),
    "build_convolution_nn": ("leaves out the dropout layer of the second block",
                             "        layers.Dropout(0.5),\n", ""),
}


def with_mistakes(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of a solved notebook with the realistic mistakes of MISTAKES in two functions."""
    nb = copy.deepcopy(nb)
    for grade_id, (_, old, new) in MISTAKES.items():
        replace_in(nb, grade_id, old, new)
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
