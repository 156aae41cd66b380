"""Two nbgrader preprocessors that keep odd submissions gradable (enabled in nbgrader_config.py)."""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer


class DropEmptyNbgraderMetadata(NbGraderPreprocessor):
    """Turn cells whose nbgrader metadata nbgrader itself emptied into ordinary cells.

    When a student duplicates a graded cell, nbgrader's DeduplicateIds keeps one copy and sets the
    other's metadata to ``{}``; with ``add_missing_cells`` on, nbgrader 0.9.6 then fails on that
    cell (``KeyError: 'grade_id'``) and the whole submission goes ungraded.
    """

    def preprocess_cell(self, cell, resources, index):
        if "nbgrader" in cell.metadata and "grade_id" not in cell.metadata.nbgrader:
            del cell.metadata["nbgrader"]
        return cell, resources


class TruncateLongOutputs(NbGraderPreprocessor):
    """Cut every text output to ``max_chars`` characters (nbgrader's LimitOutput counts lines only).

    A notebook that prints 100 MB on one line would otherwise make a 100 MB autograded notebook
    and feedback page.
    """

    max_chars = Integer(100_000, help="Longest text kept in one output").tag(config=True)

    def truncate(self, text: str) -> str:
        if len(text) <= self.max_chars:
            return text
        return text[: self.max_chars] + f"\n... [{len(text) - self.max_chars:,} more characters cut by the grader]\n"

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if isinstance(output.get("text"), str):
                output["text"] = self.truncate(output["text"])
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") and isinstance(value, str):
                    output["data"][mime] = self.truncate(value)
        return cell, resources
