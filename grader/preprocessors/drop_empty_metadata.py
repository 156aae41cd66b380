"""Keep a submission with a duplicated graded cell gradable."""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor


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
