"""The course's own nbgrader preprocessors, one cell at a time."""

from __future__ import annotations

import re
import sys
import tempfile

import nbformat

from grader.preprocessors import DropEmptyNbgraderMetadata, HideTestsInFeedback, TruncateLongOutputs


def test_a_cell_whose_nbgrader_metadata_was_emptied_becomes_an_ordinary_cell():
    duplicate = nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {}})
    graded = nbformat.v4.new_code_cell("y = 2", metadata={"nbgrader": {"grade_id": "test_y"}})
    for cell in (duplicate, graded):
        DropEmptyNbgraderMetadata().preprocess_cell(cell, {}, 0)
    assert "nbgrader" not in duplicate.metadata
    assert graded.metadata["nbgrader"] == {"grade_id": "test_y"}


def test_long_text_outputs_are_cut_and_say_so():
    cell = nbformat.v4.new_code_cell("print(...)", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="x" * 250),
        nbformat.v4.new_output("execute_result", data={"text/plain": "y" * 250,
                                                       "image/png": "z" * 250})])
    TruncateLongOutputs(max_chars=100).preprocess_cell(cell, {}, 0)
    stream, result = cell.outputs
    assert stream["text"].startswith("x" * 100) and "150 more characters cut by the grader" in stream["text"]
    assert result["data"]["text/plain"].startswith("y" * 100)
    assert result["data"]["image/png"] == "z" * 250, "images are not text: kept whole"


def test_short_outputs_are_left_alone():
    cell = nbformat.v4.new_code_cell("print(1)", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="1\n")])
    TruncateLongOutputs().preprocess_cell(cell, {}, 0)
    assert cell.outputs[0]["text"] == "1\n"


# -- feedback -------------------------------------------------------------------------------

RED, CYAN, GREEN, OFF = "\x1b[31m", "\x1b[36m", "\x1b[32m", "\x1b[39m"
COURSE = "/srv/course/autograded/ann/cifar10_keras"
VENV_FILE = f"{sys.prefix}/lib/python3.11/site-packages/keras/src/layers/core/dense.py"
TMP_FILE = f"{tempfile.gettempdir()}/cifar10-check-x1y2/data_batch_1"
HIDDEN = ('"""Check every layer\'s settings and the parameter count (more checks when graded)."""\n'
          "from utils import checks\n\n### BEGIN HIDDEN TESTS\n"
          "checks.check_param_count(f(), 308_310, 'f')\n### END HIDDEN TESTS")


def cell_frame(count: int, line: int, code: str, where: str = "") -> str:
    """A traceback frame in notebook cell In[count], coloured as IPython colours it."""
    return (f"{CYAN}Cell{OFF}{CYAN} {OFF}{GREEN}In[{count}]{OFF}{GREEN}, line {line}{OFF}{where}\n"
            f"{GREEN}----> {line}{OFF} {code}\n")


def file_frame(path: str, line: int, code: str) -> str:
    return f"{CYAN}File {OFF}{GREEN}{path}:{line}{OFF}, in {CYAN}check{OFF}\n{GREEN}---> {line}{OFF} {code}\n"


def error(ename: str, evalue: str, *frames: str):
    head = [f"{RED}{'-' * 75}{OFF}", f"{RED}{ename}{OFF}    Traceback (most recent call last)"]
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                  traceback=[*head, *frames, f"{RED}{ename}{OFF}: {evalue}"])


def stream(name: str, text: str):
    return nbformat.v4.new_output("stream", name=name, text=text)


def graded(source, count, outputs, grade_id, solution=False, grade=True):
    return nbformat.v4.new_code_cell(source, execution_count=count, outputs=outputs, metadata={
        "nbgrader": {"grade": grade, "solution": solution, "grade_id": grade_id, "points": 2,
                     "locked": not solution, "schema_version": 3}})


def feedback_notebook():
    """A hand-made autograded notebook, through the feedback preprocessor.

    Cells: the task, a student's function, a failed hidden test, a test that the student's
    function crashes, a student's cell with a warning, a figure and an error, and one that
    does not parse.
    """
    student = graded("def f():\n    return 1 / 0", 1, [], "f", solution=True, grade=False)
    failed_check = graded(HIDDEN, 2, [
        stream("stderr", f"{COURSE}/utils/checks.py:12: UserWarning: checks.check_param_count(f()\n"),
        error("AssertionError", "f() has 10 parameters; the assignment asks for 308,310.",
              cell_frame(2, 5, "checks.check_param_count(f(), 308_310, 'f')"),
              file_frame(f"{COURSE}/utils/checks.py", 99, "raise AssertionError(...)")),
    ], "test_f_hidden")
    crash = graded('"""Check that f returns a model."""\nfrom utils import checks\nchecks.call(f)', 3, [
        stream("stdout", f"reading {TMP_FILE}\n"),
        error("ZeroDivisionError", "division by zero",
              cell_frame(3, 3, "checks.call(f)"),
              file_frame(f"{COURSE}/utils/checks.py", 33, "return function(*args, **kwargs)"),
              cell_frame(1, 2, "return 1 / 0", where=f", in {CYAN}f{OFF}()")),
    ], "test_f_basic")
    figure = nbformat.v4.new_output("display_data", data={
        "image/png": "iVBORw0KGgo=", "text/plain": "<Figure size 640x480 with 1 Axes>",
        "text/html": f"<span>saved in {COURSE}/fig.png</span> <a href='https://keras.io/api/'>docs</a>"})
    own = nbformat.v4.new_code_cell("import keras\nkeras.layers.Dense('ten')", execution_count=4, outputs=[
        stream("stderr", f"{VENV_FILE}:93: UserWarning: odd units\n"),
        figure,
        error("ValueError", f"Invalid units 'ten'; see {VENV_FILE}",
              cell_frame(4, 2, "keras.layers.Dense('ten')"),
              file_frame(VENV_FILE, 93, "raise ValueError(...)")),
    ])
    syntax_error = nbformat.v4.new_output(
        "error", ename="SyntaxError", evalue="invalid syntax (1063758517.py, line 1)",
        traceback=[f"  {CYAN}Cell{OFF}{CYAN} {OFF}{GREEN}In[5]{OFF}{GREEN}, line 1{OFF}\n"
                   f"    def g(:\n          ^\n{RED}SyntaxError{OFF}: invalid syntax\n"])
    syntax = nbformat.v4.new_code_cell("def g(:\n    pass", execution_count=5, outputs=[syntax_error])
    task = nbformat.v4.new_markdown_cell("Write `f` in the cell below.")
    nb = nbformat.v4.new_notebook(cells=[task, student, failed_check, crash, own, syntax])
    return HideTestsInFeedback().preprocess(nb, {})[0]


def plain(output) -> str:
    """What a student reads in an output: its text, without colour codes."""
    text = (output.get("text") or "\n".join(output.get("traceback", []))
            or output.get("data", {}).get("text/plain", ""))
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_feedback_shows_what_a_test_checks_and_not_its_code():
    cell = feedback_notebook().cells[2]
    assert cell.source.startswith("# Check every layer's settings and the parameter count")
    assert "check_param_count" not in cell.source and "HIDDEN" not in cell.source
    assert cell.metadata["nbgrader"]["grade_id"] == "test_f_hidden", "points still shown per cell"


def test_a_failed_check_shows_only_its_teaching_message():
    outputs = feedback_notebook().cells[2].outputs
    assert [o.output_type for o in outputs] == ["error"], "the warning quoting test code is dropped"
    assert plain(outputs[0]) == "AssertionError: f() has 10 parameters; the assignment asks for 308,310."


def test_an_error_in_the_students_code_keeps_their_own_lines_only():
    stdout, crash = feedback_notebook().cells[3].outputs
    text = plain(crash)
    assert "In[1], line 2" in text and "return 1 / 0" in text, "the student's failing line is shown"
    assert text.endswith("ZeroDivisionError: division by zero")
    for hidden in ("In[3]", "checks.call", "checks.py", "Traceback", "/srv/"):
        assert hidden not in text
    assert plain(stdout) == "reading …/data_batch_1\n"


def test_students_cells_keep_source_and_figures_with_paths_scrubbed():
    nb = feedback_notebook()
    student, own, syntax = nb.cells[1], nb.cells[4], nb.cells[5]
    assert student.source == "def f():\n    return 1 / 0"
    warning, figure, crash = own.outputs
    assert plain(warning) == "…/dense.py:93: UserWarning: odd units\n"
    assert figure["data"]["image/png"] == "iVBORw0KGgo="
    assert figure["data"]["text/html"] == ("<span>saved in …/fig.png</span> "
                                           "<a href='https://keras.io/api/'>docs</a>")
    assert plain(crash) == ("Cell In[4], line 2\n----> 2 keras.layers.Dense('ten')\n\n"
                            "ValueError: Invalid units 'ten'; see …/dense.py")
    assert plain(syntax.outputs[0]).count("SyntaxError") == 1
    assert "def g(:" in plain(syntax.outputs[0])
    assert nb.cells[0].source == "Write `f` in the cell below."


def test_path_scrubbing_leaves_fractions_urls_markup_and_base64_alone():
    scrub = HideTestsInFeedback().scrub
    for text in ("x / 255", "1/0", "and/or", "https://keras.io/api/layers/", "utils/checks",
                 "Conv2D -> Dense", "</span></div>", "data:image/png;base64,iVB+/Rw0/KGgo+/AAA/BB=="):
        assert scrub(text) == text
    assert scrub("File /home/ann/course/utils/checks.py:99, in f") == "File …/checks.py:99, in f"
    assert scrub(f"{GREEN}/opt/x/y.py{OFF}") == f"{GREEN}…/y.py{OFF}"


def test_a_cell_stopped_at_the_time_limit_says_so():
    timeout = nbformat.v4.new_output("error", ename="CellTimeoutError", evalue="",
                                     traceback=[f"{RED}CellTimeoutError{OFF}: No reply from kernel before timeout"])
    loop = nbformat.v4.new_code_cell("while True:\n    pass", execution_count=1, outputs=[
        error("KeyboardInterrupt", "", cell_frame(1, 1, "while True:")), timeout])
    test = graded("checks.call(f)", 2, [error("AssertionError", "")], "test_f")
    nb = HideTestsInFeedback().preprocess(nbformat.v4.new_notebook(cells=[loop, test]), {})[0]
    interrupted, timed_out = (plain(o) for o in nb.cells[0].outputs)
    assert interrupted.endswith("KeyboardInterrupt: the cell was stopped: it ran longer than grading "
                                "allows for one cell")
    assert timed_out == "CellTimeoutError: No reply from kernel before timeout"
    assert nb.cells[1].source.startswith("# A test of your answer above."), "no docstring: a neutral line"
    assert plain(nb.cells[1].outputs[0]) == "AssertionError: a check in this cell failed"
