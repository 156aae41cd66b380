"""The course's own nbgrader preprocessors, one cell at a time."""

from __future__ import annotations

import nbformat

from grader.preprocessors import DropEmptyNbgraderMetadata, TruncateLongOutputs


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
