"""The nbgrader exchange round trip: release, fetch, submit, collect, grade what was collected,
then release the feedback and fetch it as the student."""

from __future__ import annotations

import getpass
import os

import nbformat

from demo import submissions
from grader.assignment import ASSIGNMENT, COURSE_ID, NOTEBOOK


def test_release_fetch_submit_collect_and_grade(tmp_path, grading_env, points):
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    os.chmod(exchange, 0o777)
    env = dict(grading_env, NBGRADER_EXCHANGE=str(exchange))  # read by the course's nbgrader_config.py
    course = submissions.scratch_course(tmp_path / "course")

    # Instructor: publish the release into the exchange.
    course.nbgrader("release_assignment", ASSIGNMENT, env=env)
    assert (exchange / COURSE_ID / "outbound" / ASSIGNMENT / NOTEBOOK).is_file()

    # Student, in a home folder of their own, without the course's config: name course and exchange.
    home = tmp_path / "student"
    home.mkdir()
    student_args = ["--course", COURSE_ID, f"--Exchange.root={exchange}"]
    course.nbgrader("fetch_assignment", ASSIGNMENT, *student_args, cwd=home, env=env)
    fetched = home / ASSIGNMENT / NOTEBOOK
    assert nbformat.read(fetched, as_version=4) == nbformat.read(course.release_notebook, as_version=4)
    nbformat.write(submissions.solved(fetched, course.source_notebook), fetched)
    course.nbgrader("submit", ASSIGNMENT, *student_args, cwd=home, env=env)

    # Instructor: collect into submitted/<student>/ and grade.
    course.nbgrader("collect", ASSIGNMENT, env=env)
    student = getpass.getuser()
    assert course.submitted_notebook(student).read_bytes() == fetched.read_bytes()
    course.autograde(student, env=env, check=True)
    cells = course.scores()[student]
    assert sum(c["score"] for c in cells.values() if not c["needs_manual"]) == points["solved"]

    # Instructor: feedback into the exchange; student: fetch it. It hides the tests.
    course.generate_feedback()
    course.release_feedback(env=env)
    course.nbgrader("fetch_feedback", ASSIGNMENT, *student_args, cwd=home, env=env)
    pages = list((home / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))
    assert len(pages) == 1 and pages[0].read_text() == course.feedback_html(student).read_text()
    page = pages[0].read_text()
    assert "Visible checks passed" in page and "BEGIN HIDDEN TESTS" not in page
