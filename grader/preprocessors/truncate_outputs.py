"""Keep a submission that prints without end readable."""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer


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
