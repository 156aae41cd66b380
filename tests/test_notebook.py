"""The teacher notebook itself: it runs top to bottom (fast mode) and its structure is sound."""

from __future__ import annotations

import re

import nbformat
import pytest
from nbclient import NotebookClient

from grader.assignment import SOURCE_NOTEBOOK as SOURCE, TeacherNotebook


def nbgrader_cells(nb):
    return [(c, c.metadata["nbgrader"]) for c in nb.cells if "nbgrader" in c.metadata]


def test_grade_ids_are_unique_and_readable():
    ids = [meta["grade_id"] for _, meta in nbgrader_cells(nbformat.read(SOURCE, as_version=4))]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", g) for g in ids), ids


def test_points_table_matches_the_graded_cells():
    """The points announced in the introduction are the points the cells carry, part by part."""
    nb = nbformat.read(SOURCE, as_version=4)
    table = dict(re.findall(r"^\| (\d) \| [^|]+ \| (\d+) \|$", nb.cells[0].source, re.MULTILINE))
    points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
              for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
    per_part: dict[str, float] = {}
    for grade_id, cell in TeacherNotebook(SOURCE).graded_cells.items():
        per_part[cell.part[-1]] = per_part.get(cell.part[-1], 0) + points[grade_id]
    assert {k: int(v) for k, v in table.items()} == per_part
    assert sum(points.values()) == 30


def test_each_question_states_how_its_points_are_shared_out():
    """The split the notebook states is the split the tests apply (utils.grading)."""
    from utils import grading

    nb = nbformat.read(SOURCE, as_version=4)
    teacher = TeacherNotebook(SOURCE)
    for function in teacher.functions:
        if not teacher.tests_of(function):
            continue
        at = next(i for i, c in enumerate(nb.cells)
                  if c.metadata.get("nbgrader", {}).get("grade_id") == function)
        question = next(c for c in reversed(nb.cells[:at]) if c.cell_type == "markdown")
        assert question.source.endswith(grading.points_statement(function)), function


def test_every_test_cell_opens_with_a_docstring_and_follows_its_task():
    nb = nbformat.read(SOURCE, as_version=4)
    for cell, meta in nbgrader_cells(nb):
        if meta.get("grade") and not meta.get("solution"):
            assert cell.source.startswith('"""Check'), meta["grade_id"]


def test_every_graded_function_has_a_self_check_before_its_tests():
    """Between a function's solution cell and its first test cell there is a code cell to try it."""
    nb = nbformat.read(SOURCE, as_version=4)
    cells = nb.cells
    for i, cell in enumerate(cells):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and not meta.get("grade") and cell.cell_type == "code":
            following = cells[i + 1:]
            first_test = next(j for j, c in enumerate(following)
                              if c.metadata.get("nbgrader", {}).get("grade"))
            tries = [c for c in following[:first_test]
                     if c.cell_type == "code" and meta["grade_id"] in c.source]
            assert tries, f"no self-check cell for {meta['grade_id']}"


@pytest.mark.timeout(900)
def test_teacher_notebook_runs_top_to_bottom_in_fast_mode(monkeypatch, tmp_path):
    """With a tiny data set every cell runs, long training included, and every visible test passes."""
    from utils.data import write_synthetic_cifar10

    data = write_synthetic_cifar10(tmp_path / "cifar10", train_per_class=6, test_per_class=2)
    monkeypatch.setenv("CIFAR10_DIR", str(data))
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    nb = nbformat.read(SOURCE, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [(c.metadata.get("nbgrader", {}).get("grade_id"), o.get("ename"), o.get("evalue"))
              for c in nb.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert errors == []
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert text.count("Visible checks passed") == 8
    assert text.count("test accuracy:") == 4, "all four long training cells ran"
