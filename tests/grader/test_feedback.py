"""The feedback students get: points and teaching messages, not the tests or the server.

One submission with two realistic mistakes (and everything else solved, figures included) is
graded by the real ``nbgrader autograde`` and ``nbgrader generate_feedback``; each test reads
its page.
"""

from __future__ import annotations

import re
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from demo import submissions
from grader.course import REPO_ROOT
from grader.preprocessors.feedback import is_test_cell

STUDENT = "two_mistakes"


class _Text(HTMLParser):
    """The text a browser shows, without the style sheets and scripts."""

    def __init__(self):
        super().__init__()
        self.skipping, self.parts = 0, []

    def handle_starttag(self, tag, attrs):
        self.skipping += tag in ("style", "script")
        self.parts.append(" ")

    def handle_endtag(self, tag):
        self.skipping -= tag in ("style", "script")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def shown(html: str) -> str:
    """The page's visible text, whitespace collapsed."""
    parser = _Text()
    parser.feed(html)
    return " ".join("".join(parser.parts).split())


@pytest.fixture(scope="module")
def feedback(tmp_path_factory, grading_env):
    course = submissions.scratch_course(tmp_path_factory.mktemp("course"), {STUDENT: "mistakes"})
    course.autograde(env=grading_env, check=True)
    course.generate_feedback()
    html = course.feedback_html(STUDENT).read_text()
    return {"course": course, "html": html, "text": shown(html), "scores": course.scores()[STUDENT]}


def autograded(course) -> nbformat.NotebookNode:
    return nbformat.read(course.autograded_notebook(STUDENT), as_version=4)


def test_a_failed_check_shows_its_teaching_message(feedback):
    """A test that earned nothing ends in its message; one that earned part lists its criteria,
    what failed and the points."""
    course, text = feedback["course"], feedback["text"]
    cells = {c.metadata.nbgrader["grade_id"]: c for c in autograded(course).cells if is_test_cell(c)}
    costs = {g for m in submissions.MISTAKES.values() for g in m.costs}
    errors = [" ".join(o.evalue.split()) for cell in cells.values()
              for o in cell.outputs if o.output_type == "error"]
    partial = [cell for cell in cells.values()
               if any(o.output_type == "execute_result" for o in cell.outputs)]
    assert errors and partial and len(errors) + len(partial) == len(costs)
    for message in errors:
        assert f"AssertionError: {message}" in text
    for cell in partial:
        report = "".join(o.text for o in cell.outputs if o.output_type == "stream")
        assert "FAILED" in report and " ".join(report.split()) in text
    assert "Did you divide by 255?" in text


def test_each_graded_cell_shows_its_points(feedback):
    cells, text = feedback["scores"], feedback["text"]
    tests = [g for g in cells if g.startswith("test_")]
    assert len(tests) == 16 and any(cells[g]["score"] < cells[g]["max_score"] for g in tests)
    for grade_id in tests:
        cell = cells[grade_id]
        assert f"Grade cell: {grade_id} Score: {cell['score']:.1f} / {cell['max_score']:.1f}" in text
    total, most = sum(c["score"] for c in cells.values()), sum(c["max_score"] for c in cells.values())
    assert f"(Score: {total:.1f} / {most:.1f})" in text


def test_each_test_cell_says_what_it_checks(feedback):
    text = feedback["text"]
    assert "# Check the input shape, each Dense layer's settings and a new model per call" in text
    assert "Visible checks passed: Flatten -> Dense -> Dense." in text


def test_no_test_code_and_no_traceback(feedback):
    teacher = nbformat.read(feedback["course"].source_notebook, as_version=4)
    test_lines = {line.strip() for cell in teacher.cells if is_test_cell(cell)
                  for line in cell.source.splitlines() if "grading." in line}
    assert len(test_lines) == 16
    for secret in ("BEGIN HIDDEN TESTS", "grading.run(", "check_param_count", "Traceback",
                   "most recent call last", "checks.py", "grading.py", *test_lines):
        assert " ".join(secret.split()) not in feedback["text"], f"the feedback shows {secret!r}"


def test_no_server_paths(feedback):
    course = feedback["course"]
    paths = {str(course.root), str(REPO_ROOT), sys.prefix, tempfile.gettempdir() + "/",
             str(Path(tempfile.gettempdir()).resolve()) + "/", "site-packages", "utils/checks.py"}
    if str(Path.home()) != "/":
        paths.add(str(Path.home()) + "/")
    for path in paths:
        assert path not in feedback["html"], f"the feedback names {path!r}"


def test_figures_are_kept(feedback):
    """Every image the graded notebook holds is on the page."""
    images = sum("image/png" in o.get("data", {}) for cell in autograded(feedback["course"]).cells
                 for o in cell.get("outputs", []))
    assert images >= 1, "the notebook's figures did not render when graded"
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', feedback["html"])) == images


def test_the_autograded_notebook_stays_complete(feedback):
    """formgrader shows the instructor every test's code and full traceback."""
    nb = autograded(feedback["course"])
    text = nbformat.writes(nb)
    assert "### BEGIN HIDDEN TESTS" in text
    assert any('grading.run("test_build_convolution_nn_hidden"' in cell.source for cell in nb.cells)
    errors = [o for cell in nb.cells if is_test_cell(cell) for o in cell.outputs if o.output_type == "error"]
    assert errors and all(any("grading.py" in line or "checks.py" in line for line in o.traceback)
                          for o in errors)


def test_mathjax_comes_from_the_course_template(feedback):
    """The page loads MathJax only when it shows mathematics, without blocking, never through
    nbconvert's blocking CDN tag (formgrader's pages use the same template, from this server)."""
    html = feedback["html"]
    assert "latest.js?config=TeX-AMS_CHTML-full" not in html
    assert "/static/jupyter_server_mathjax/MathJax.js" in html and "script.async = true" in html
