"""End to end: the real nbgrader commands on the real notebooks, with a tiny synthetic CIFAR-10.

One class of submissions (right, empty, wrong, tampered, broken) is handed in and autograded in a
single ``nbgrader autograde`` run, as course staff would; each test then checks one promise.
"""

from __future__ import annotations

import hashlib
import json
import time

import nbformat
import pytest

from demo import submissions
from grader.assignment import TeacherNotebook
from grader.course import REPO_ROOT

TEACHER = TeacherNotebook()
AUTO_POINTS = TEACHER.automatic_points()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, grading_env):
    """A course copy with eight submissions, all autograded in one nbgrader run."""
    class_ = {"full_marks": "solved", "untouched": "release", "two_mistakes": "mistakes",
              "tampered": "tampered", "syntax_error": "syntax_error", "exception": "exception",
              "endless_loop": "endless_loop", "not_json": b'{"cells": [ this is not a notebook'}
    course = submissions.scratch_course(tmp_path_factory.mktemp("course"), class_)
    before = {s: hashlib.sha256(course.submitted_notebook(s).read_bytes()).hexdigest() for s in class_}
    started = time.perf_counter()
    result = course.autograde(env=grading_env)
    seconds = time.perf_counter() - started
    return {"course": course, "result": result, "scores": course.scores(), "before": before,
            "seconds": seconds, "students": list(class_)}


def auto_total(cells: dict) -> float:
    return sum(c["score"] for c in cells.values() if c["auto_score"] is not None and not c["needs_manual"])


def failed_cells(cells: dict) -> set[str]:
    return {g for g, c in cells.items() if c["auto_score"] is not None and c["score"] < c["max_score"]}


def test_release_is_up_to_date_with_source(graded):
    """release/ in git is exactly what nbgrader generates from source/ now."""
    fresh = nbformat.read(graded["course"].release_notebook, as_version=4)
    committed = nbformat.read(REPO_ROOT / "release" / "cifar10_keras" / "cifar10_keras.ipynb", as_version=4)
    assert committed == fresh, ("release/ is out of date: run `make release` (nbgrader "
                                "generate_assignment) and commit the result")


def test_release_hides_solutions_and_hidden_tests(graded):
    """Students see stubs, not the teacher's answers, hidden tests or rubrics."""
    text = graded["course"].release_notebook.read_text()
    for secret in ("BEGIN SOLUTION", "HIDDEN TESTS", "check_param_count", "Rubric", "Model answer",
                   "keras.utils.to_categorical(ytrain"):
        assert secret not in text, f"the release leaks {secret!r}"
    nb = nbformat.read(graded["course"].release_notebook, as_version=4)
    stubs = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]
    assert len(stubs) == 10 and all("raise NotImplementedError()" in c.source for c in stubs)


def test_release_has_no_outputs_and_source_neither():
    """Notebook outputs stay out of git, in source/ and release/ alike."""
    for folder in ("source", "release"):
        nb = nbformat.read(REPO_ROOT / folder / "cifar10_keras" / "cifar10_keras.ipynb", as_version=4)
        assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), folder


def test_full_solution_earns_every_automatic_point(graded):
    cells = graded["scores"]["full_marks"]
    assert failed_cells(cells) == set()
    assert auto_total(cells) == AUTO_POINTS
    manual = {g for g, c in cells.items() if c["needs_manual"]}
    assert manual == {"first_image_of_each_class", "optimized_model", "optimized_model_explanation",
                      "binary_vs_multiclass"}


def test_untouched_release_earns_nothing(graded):
    cells = graded["scores"]["untouched"]
    assert sum(c["score"] for c in cells.values()) == 0
    assert not any(c["needs_manual"] for c in cells.values()), "unanswered questions need no grader"


def test_two_mistakes_lose_exactly_the_points_of_what_they_get_wrong(graded):
    """Each mistake costs its own criteria once; the other tests of the same function pass."""
    cells = graded["scores"]["two_mistakes"]
    costs = {g: criteria for m in submissions.MISTAKES.values() for g, criteria in m.costs.items()}
    assert failed_cells(cells) == set(costs)
    for grade_id in costs:
        lost = submissions.criteria_points({grade_id: costs[grade_id]})
        assert cells[grade_id]["score"] == cells[grade_id]["max_score"] - lost
    for function in submissions.MISTAKES:  # the function's other tests keep their points
        for grade_id in set(TEACHER.tests_of(function)) - set(costs):
            assert cells[grade_id]["score"] == cells[grade_id]["max_score"]
    assert auto_total(cells) == AUTO_POINTS - submissions.criteria_points(costs) < AUTO_POINTS


def test_tampered_test_cells_are_restored(graded):
    """Edited test cells get their original code and points back; a deleted one is re-added."""
    cells = graded["scores"]["tampered"]
    assert sum(c["score"] for c in cells.values()) == 0
    assert cells["test_load_cifar10_basic"]["max_score"] == 1
    assert cells["test_build_multilayer_nn_basic"]["max_score"] == 1
    assert "test_build_convolution_nn_basic" in cells
    text = graded["course"].autograded_notebook("tampered").read_text()
    assert 'print(\\"All tests passed!\\")' not in text


def test_syntax_error_costs_only_its_own_function(graded):
    cells = graded["scores"]["syntax_error"]
    assert failed_cells(cells) == set(TEACHER.tests_of("build_multilayer_nn"))


def test_exception_costs_only_its_own_function(graded):
    cells = graded["scores"]["exception"]
    assert failed_cells(cells) == set(TEACHER.tests_of("train_multilayer_nn"))


def test_endless_loop_is_interrupted_and_the_rest_graded(graded):
    cells = graded["scores"]["endless_loop"]
    assert auto_total(cells) == AUTO_POINTS
    nb = json.loads(graded["course"].autograded_notebook("endless_loop").read_text())
    loop = next(c for c in nb["cells"] if "".join(c["source"]).startswith("while True"))
    assert any(o["output_type"] == "error" for o in loop["outputs"]), "the loop cell shows its timeout"


def test_a_broken_file_does_not_stop_the_others(graded):
    """An invalid notebook fails on its own: nbgrader reports it and grades everyone else."""
    assert graded["result"].returncode != 0
    assert "not_json" in graded["result"].stdout + graded["result"].stderr
    graded_students = set(graded["scores"]) - {"not_json"}
    assert graded_students == set(graded["students"]) - {"not_json"}


def test_grading_never_alters_a_submission(graded):
    course = graded["course"]
    for student, digest in graded["before"].items():
        assert hashlib.sha256(course.submitted_notebook(student).read_bytes()).hexdigest() == digest


def test_feedback_and_export(graded, tmp_path):
    """generate_feedback writes HTML with the score; export writes one CSV row per submission."""
    course = graded["course"]
    course.generate_feedback()
    html = course.feedback_html("full_marks").read_text()
    assert f"{AUTO_POINTS:.1f} / {TEACHER.total_points:.1f}" in html, "the feedback states the score"
    csv = course.export_grades(tmp_path / "grades.csv").read_text().splitlines()
    rows = {line.split(",")[3]: line for line in csv[1:]}
    assert rows["full_marks"].split(",")[7] == f"{AUTO_POINTS:.1f}"
    assert rows["untouched"].split(",")[7] == "0.0"


def test_validate_passes_the_solution_and_fails_the_release(graded, grading_env):
    course = graded["course"]
    passed, output = course.validate(course.source_notebook, env=grading_env)
    assert passed, output
    passed, output = course.validate(course.release_notebook, env=grading_env)
    assert not passed, output
