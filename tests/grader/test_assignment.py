"""The contract read from the teacher notebook: functions, graded cells, points and answers."""

from __future__ import annotations

import re

import pytest

from demo import submissions
from grader.assignment import MODELS, TeacherNotebook

#: The functions the assignment's specification asks students to write, with their names.
SPECIFIED = {"load_cifar10", "build_multilayer_nn", "train_multilayer_nn", "build_convolution_nn",
             "train_convolution_nn", "build_optimized_cnn", "train_optimized_cnn",
             "get_binary_cifar10", "build_binary_classifier", "train_binary_classifier"}


@pytest.fixture(scope="module")
def teacher():
    return TeacherNotebook()


def test_the_notebook_defines_the_specified_functions(teacher):
    assert set(teacher.functions) == SPECIFIED and len(teacher.functions) == len(SPECIFIED)


def test_models_name_only_functions_the_notebook_defines(teacher):
    for model in MODELS.values():
        assert {model.loader, model.build, model.train} <= set(teacher.functions), model.name


def test_parts_points_and_who_grades(teacher):
    cells = teacher.graded_cells
    assert teacher.parts == ["Part 1", "Part 2", "Part 3", "Part 4"]
    assert teacher.total_points == sum(c.points for c in cells.values()) > 0
    manual = {g for g, c in cells.items() if not c.automatic}
    assert manual == {"first_image_of_each_class", "optimized_model", "optimized_model_explanation",
                      "binary_vs_multiclass"}


def test_every_test_cell_belongs_to_one_function(teacher):
    tests = [g for g, c in teacher.graded_cells.items() if c.automatic]
    owners = {g: [f for f in teacher.functions if g in teacher.tests_of(f)] for g in tests}
    assert all(len(found) == 1 for found in owners.values()), owners
    assert all(re.fullmatch(r"test_[a-z0-9_]+_(basic|hidden)", g) for g in tests)


def test_a_wrong_function_costs_exactly_the_points_of_its_tests(teacher):
    lost = sum(teacher.graded_cells[g].points for f in submissions.MISTAKES for g in teacher.tests_of(f))
    assert lost > 0
    assert teacher.automatic_points(tuple(submissions.MISTAKES)) == teacher.automatic_points() - lost


def test_the_criteria_of_each_test_share_out_exactly_its_cells_points(teacher):
    from utils import grading

    for grade_id, test in grading.TESTS.items():
        assert test.points == teacher.graded_cells[grade_id].points, grade_id
        assert len({c.text for c in test.criteria}) == len(test.criteria), grade_id


def test_each_realistic_mistake_costs_part_of_its_functions_points(teacher):
    for function, mistake in submissions.MISTAKES.items():
        whole = sum(teacher.graded_cells[g].points for g in teacher.tests_of(function))
        assert 0 < submissions.criteria_points(mistake.costs) < whole, function


def test_answers_are_the_solutions_without_markers(teacher):
    answers = teacher.answers
    assert "BEGIN SOLUTION" not in "".join(answers.values())
    assert "def load_cifar10" in answers["load_cifar10"]
    assert set(teacher.function_cells) < set(answers)  # the figure cell runs code: not reference code
    assert "first_image_of_each_class" in answers


def test_reference_functions_run_in_the_notebook_s_namespace(teacher):
    functions = teacher.reference_functions()
    assert set(functions) == SPECIFIED | {"fit_optimized_cnn"}, "the answers and the teacher's helper"
    assert functions["build_multilayer_nn"]().count_params() == 308_310


def test_solutions_digest_changes_with_the_reference_code(teacher, tmp_path):
    import nbformat

    nb = nbformat.read(teacher.path, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "load_cifar10")
    cell.source += "\n# changed"
    changed = tmp_path / "changed.ipynb"
    nbformat.write(nb, changed)
    assert TeacherNotebook(changed).solutions_digest != teacher.solutions_digest
    assert len(teacher.solutions_digest) == 16
