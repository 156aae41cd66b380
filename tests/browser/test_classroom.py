"""One assignment's life in a real browser, as instructor and student live it on a shared server.

The instructor works in formgrader on a JupyterLab server of their own; the student is a separate
Unix user with their own JupyterLab server, started from an environment made from the release's
``requirements.txt`` only. Headless Chromium (Debian's ``chromium``) drives both pages through
Playwright; a screenshot of every step goes to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import getpass
import os
import re
import time
import urllib.request

import nbformat
import pytest
from playwright.sync_api import Page, expect

from demo import submissions
from grader.assignment import ASSIGNMENT, NOTEBOOK, TeacherNotebook

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1800)]

#: How long one step may take in the browser: a kernel start with TensorFlow, a validation.
STEP_MS = 240_000


# -- formgrader -------------------------------------------------------------------------------
def formgrader_action(page: Page, icon: str, row_text: str = ASSIGNMENT) -> None:
    """Click a formgrader button (by its icon) in a table row and wait for its success message."""
    page.locator("tr", has_text=row_text).locator(f".glyphicon-{icon}").first.click()
    modal = page.locator("#success-modal, #error-modal")
    expect(modal).to_be_visible(timeout=STEP_MS)
    expect(modal.locator(".modal-title")).to_have_text("Success")


def close_modal(page: Page) -> None:
    page.locator("#success-modal").get_by_role("button", name="OK").click()
    expect(page.locator("#success-modal")).to_have_count(0)


# -- JupyterLab notebook ----------------------------------------------------------------------
def cell(page: Page, index: int):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)


def write_cell(page: Page, index: int, text: str) -> None:
    """Replace a cell's text as a student does: into its editor, select all, paste."""
    target = cell(page, index)
    target.scroll_into_view_if_needed()
    if "jp-MarkdownCell" in (target.get_attribute("class") or ""):
        target.dblclick()
    target.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)
    page.keyboard.press("Escape")


def run_cell(page: Page, index: int):
    """Run one cell (select it, Shift+Enter) and wait until its execution count appears."""
    target = cell(page, index)
    target.scroll_into_view_if_needed()
    target.locator(".jp-InputArea-prompt").click()
    page.keyboard.press("Shift+Enter")
    expect(target.locator(".jp-InputArea-prompt")).to_have_text(re.compile(r"\[\d+\]"),
                                                                  timeout=STEP_MS)
    return target


def wait_until(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.5)


def open_assignments_tab(page: Page) -> None:
    page.get_by_role("menuitem", name="Nbgrader").click()
    page.locator(".lm-Menu-itemLabel", has_text="Assignment List").click()
    expect(page.get_by_text("Released assignments")).to_be_visible()


def test_a_class_in_the_browser(classroom, browser, screenshots):
    shots = screenshots
    assert not (classroom.course.root / "release").exists(), "nothing is generated yet"
    teacher = TeacherNotebook(classroom.course.source_notebook)
    manual_points = {g: c.points for g, c in teacher.graded_cells.items() if not c.automatic}

    # Two browsers in effect: contexts share no cookies or storage.
    instructor = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    student = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    outside = classroom.requests_leaving_loopback(instructor, student)

    # Instructor: generate the student version and release it, in formgrader.
    instructor.goto(classroom.instructor.url("formgrader/manage_assignments"))
    formgrader_action(instructor, "education")
    shots(instructor, "instructor-generated")
    close_modal(instructor)
    formgrader_action(instructor, "cloud-upload")
    shots(instructor, "instructor-released")
    close_modal(instructor)

    # Student: fetch it in the Assignments tab and open the notebook.
    student.goto(classroom.student.url("lab"))
    open_assignments_tab(student)
    student.get_by_role("button", name="Fetch").click()
    expect(student.locator("#fetched_assignments_list")).to_contain_text(ASSIGNMENT,
                                                                       timeout=STEP_MS)
    shots(student, "student-fetched")
    assert (classroom.student_home / ASSIGNMENT / "utils" / "checks.py").is_file()
    student.goto(classroom.student.url(f"lab/tree/{ASSIGNMENT}/{NOTEBOOK}"))
    expect(cell(student, 0)).to_be_visible(timeout=STEP_MS)
    released = nbformat.read(classroom.student_home / ASSIGNMENT / NOTEBOOK, 4)
    index = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(released.cells)}
    code = [i for i, c in enumerate(released.cells) if c.cell_type == "code"]

    # The setup cell prints versions only; the sample images are drawn.
    setup = run_cell(student, code[0])
    expect(setup).to_contain_text("keras")
    assert setup.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    run_cell(student, code[1])
    samples = run_cell(student, code[2])
    expect(samples.locator(".jp-OutputArea-output img")).to_be_visible()
    shots(student, "student-sample-images")

    # A first try at Question 1.1 forgets to scale the pixels: the self-check says what is wrong.
    _, right, wrong, _ = submissions.MISTAKES["load_cifar10"]
    answer = teacher.answers["load_cifar10"]
    write_cell(student, index["load_cifar10"], answer.replace(right, wrong))
    run_cell(student, index["load_cifar10"])
    run_cell(student, index["load_cifar10"] + 2)
    check = run_cell(student, index["test_load_cifar10_basic"])
    expect(check).to_contain_text("Did you divide by 255?")
    shots(student, "student-self-check-fails")

    # Fixed, the self-check passes.
    write_cell(student, index["load_cifar10"], answer)
    run_cell(student, index["load_cifar10"])
    run_cell(student, index["load_cifar10"] + 2)
    check = run_cell(student, index["test_load_cifar10_basic"])
    expect(check).to_contain_text("Visible checks passed")
    assert check.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    shots(student, "student-self-check-passes")

    # The rest of the answers, pasted in; the figure of Question 1.2 is drawn.
    for grade_id, cell_index in index.items():
        if grade_id in teacher.answers and grade_id != "load_cifar10":
            write_cell(student, cell_index, teacher.answers[grade_id])
    figure = run_cell(student, index["first_image_of_each_class"])
    expect(figure.locator(".jp-OutputArea-output img")).to_be_visible()
    shots(student, "student-figure")
    student.keyboard.press("Control+s")
    expect(student.locator(".jp-NotebookPanel .jp-mod-dirty")).to_have_count(0)

    # Validate (nbgrader's button), then submit from the Assignments tab.
    student.locator(".validate-button").click()
    dialog = student.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Success! Your notebook passes all the tests.", timeout=STEP_MS)
    shots(student, "student-validated")
    dialog.get_by_role("button").last.click()
    open_assignments_tab(student)
    student.get_by_role("button", name="Submit").click()
    expect(student.locator("#submitted_assignments_list")).to_contain_text(ASSIGNMENT,
                                                                         timeout=STEP_MS)
    shots(student, "student-submitted")

    # Instructor: collect, autograde, then grade the figure and the written answers by hand.
    instructor.goto(classroom.instructor.url("formgrader/manage_assignments"))
    formgrader_action(instructor, "cloud-download")
    close_modal(instructor)
    instructor.goto(classroom.instructor.url(f"formgrader/manage_submissions/{ASSIGNMENT}"))
    formgrader_action(instructor, "flash", row_text=classroom.student_name)
    close_modal(instructor)
    shots(instructor, "instructor-autograded")
    automatic = classroom.automatic_points()
    instructor.goto(classroom.instructor.url(
        f"formgrader/gradebook/{ASSIGNMENT}/{NOTEBOOK.removesuffix('.ipynb')}"))
    instructor.get_by_role("link", name=re.compile("Submission #1")).click()
    figure_cell = instructor.locator("div.cell", has=instructor.locator("#first_image_of_each_class"))
    expect(figure_cell.locator("img")).to_be_visible(timeout=STEP_MS)
    figure_cell.locator("img").scroll_into_view_if_needed()
    shots(instructor, "instructor-grades-the-figure")
    for grade_id, points in manual_points.items():
        score = instructor.locator(f"input.score#{grade_id}")
        score.fill(str(points))
        score.press("Tab")  # formgrader saves a score when the field loses focus
    comment = instructor.locator("#first_image_of_each_class-comment")
    comment.fill("Clear figure: every class once, with its name.")
    comment.press("Tab")
    total = automatic + sum(manual_points.values())
    wait_until(lambda: classroom.total_score() == total, "the hand-given points reach the gradebook")
    figure_cell.scroll_into_view_if_needed()
    shots(instructor, "instructor-graded-by-hand")

    # Instructor: generate and release feedback; student: fetch it and read it.
    instructor.goto(classroom.instructor.url("formgrader/manage_assignments"))
    formgrader_action(instructor, "comment")
    close_modal(instructor)
    formgrader_action(instructor, "envelope")
    close_modal(instructor)
    student.goto(classroom.student.url("lab"))
    open_assignments_tab(student)
    student.get_by_role("button", name="Fetch Feedback").click()
    view = student.get_by_text("(view feedback)")
    expect(view).to_be_visible(timeout=STEP_MS)
    view.click()  # the file browser opens the feedback folder
    expect(student.locator(".jp-DirListing-content")).to_contain_text(f"{ASSIGNMENT}.html")
    shots(student, "student-feedback-fetched")
    (page_path,) = (classroom.student_home / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html")
    feedback = student.context.new_page()
    feedback.goto(classroom.student.url(f"files/{page_path.relative_to(classroom.student_home)}"))
    expect(feedback.locator("body")).to_contain_text("Visible checks passed")
    expect(feedback.locator("body")).to_contain_text(f"{total}")
    shots(feedback, "student-reads-feedback")
    page = feedback.content()
    assert "BEGIN HIDDEN TESTS" not in page and "checks.check_" not in page
    assert str(classroom.course.root) not in page

    assert outside == [], "formgrader and JupyterLab load everything from this machine"
    with urllib.request.urlopen(classroom.instructor.url("static/jupyter_server_mathjax/MathJax.js")):
        pass  # where formgrader's pages find MathJax when a notebook has mathematics
    assert getpass.getuser() != classroom.student_name and os.geteuid() == 0
