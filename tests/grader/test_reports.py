"""Points per part, the score table and Markdown tables, from gradebook-shaped scores."""

from __future__ import annotations

from grader.assignment import GradedCell
from grader.reports import markdown_table, part_points, score_table

CELLS = {
    "test_a_basic": GradedCell("test_a_basic", "Part 1", 1, automatic=True),
    "figure": GradedCell("figure", "Part 1", 2, automatic=False),
    "test_b_hidden": GradedCell("test_b_hidden", "Part 2", 3, automatic=True),
}


def got(a: float, figure: float, b: float, manual: bool = False) -> dict:
    return {"test_a_basic": {"score": a, "max_score": 1, "needs_manual": False},
            "figure": {"score": figure, "max_score": 2, "needs_manual": manual},
            "test_b_hidden": {"score": b, "max_score": 3, "needs_manual": False}}


def test_part_points_sum_each_part_the_automatic_cells_and_everything():
    assert part_points(got(1, 2, 0), CELLS) == {"Part 1": 3, "Part 2": 0, "auto": 1, "total": 3}
    assert part_points(got(1, 2, 0), CELLS, "max_score") == {"Part 1": 3, "Part 2": 3, "auto": 4,
                                                             "total": 6}


def test_part_points_of_a_missing_submission_are_zero():
    assert part_points({}, CELLS) == {"Part 1": 0, "Part 2": 0, "auto": 0, "total": 0}


def test_score_table_shows_points_of_the_maximum_and_what_waits_for_a_grader():
    table = score_table({"bob": got(0, 0, 3, manual=True), "ann": got(1, 2, 3)}, CELLS)
    assert list(table.index) == ["ann", "bob"]
    assert table.loc["ann"].to_dict() == {"Part 1": "3/3", "Part 2": "3/3", "auto": "4/4",
                                          "to grade by hand": "0 pts"}
    assert table.loc["bob", "to grade by hand"] == "2 pts"


def test_markdown_table_aligns_its_columns():
    assert markdown_table(["name", "n"], [["a", 1], ["b", 22]], "lr") == (
        "| name | n |\n| --- | ---: |\n| a | 1 |\n| b | 22 |")
