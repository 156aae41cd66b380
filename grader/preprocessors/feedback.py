"""Feedback that teaches and hides: points and teaching messages, no test code, no server paths."""

from __future__ import annotations

import ast
import os
import re
import sys
import tempfile
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import List, Unicode

#: An ANSI colour or cursor code, as IPython puts them in tracebacks.
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: An absolute POSIX path of at least two parts; not a URL, a fraction, a relative path or base64.
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~+\\-])(?:/[\w.+@~-]+){2,}/?")
#: The head of a traceback frame in one of the notebook's own cells (IPython 8: "Cell In[7], line 3").
CELL_FRAME = re.compile(r"^\s*Cell\s+In\s*\[(\d+)\]")


def is_test_cell(cell) -> bool:
    """A graded cell the student did not write: an autograder test (visible or hidden)."""
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def summary_of(source: str) -> str:
    """The first line of a test cell's docstring (written for students), or '' if it has none."""
    try:
        docstring = ast.get_docstring(ast.parse(source))
    except SyntaxError:
        match = re.match(r'\s*(?:"""|\'\'\')(.*?)(?:"""|\'\'\'|$)', source, re.S)
        docstring = match.group(1) if match else None
    lines = [line.strip() for line in (docstring or "").strip().splitlines()]
    return lines[0] if lines else ""


class HideTestsInFeedback(NbGraderPreprocessor):
    """Make the feedback page show what each test checked and why it failed, and nothing else.

    For the feedback only (the autograded notebook that formgrader shows is not touched):

    * every graded test cell's code, visible and hidden, becomes a comment: the first line of
      the cell's docstring, which says what it checks, and a note that the code is not shown;
    * an error in a test cell shows only ``AssertionError: <the teaching message>``; other
      errors also keep the frames in the student's own cells that led to them (the line of
      their code that failed), never a frame in a test cell, the helpers or a library;
    * an error in a student's cell keeps the frames in the notebook's cells, without the
      frames inside the helpers and libraries;
    * warnings a test cell printed to stderr are dropped (they can quote test code);
    * in every output, absolute paths (course folder, temporary folders, the Python
      environment, home folders) become ``…/<file name>``.

    Figures and other rich outputs are kept.
    """

    placeholder = Unicode("…", help="What stands for the folders of a scrubbed path").tag(config=True)
    hidden_note = Unicode("The test code is not part of the feedback; its result is below.",
                          help="Second comment line of every test cell in the feedback").tag(config=True)
    extra_prefixes = List(Unicode(), help="More server folders to scrub from outputs").tag(config=True)

    # -- paths -------------------------------------------------------------------------------
    def server_prefixes(self) -> list[str]:
        """Folders of this server that outputs may name, longest first."""
        candidates = [os.getcwd(), sys.prefix, sys.base_prefix, sys.exec_prefix,
                      tempfile.gettempdir(), str(Path.home()), *self.extra_prefixes]
        root = self.config.get("CourseDirectory", {}).get("root")
        if isinstance(root, str) and root:
            candidates.append(root)
        prefixes = set()
        for candidate in candidates:
            for form in (candidate, os.path.realpath(candidate)):
                form = form.rstrip("/")
                if form:  # never "/" itself
                    prefixes.add(form)
        return sorted(prefixes, key=len, reverse=True)

    def _shorten(self, match: re.Match) -> str:
        name = match.group(0).rstrip("/").rsplit("/", 1)[-1]
        return f"{self.placeholder}/{name}" if name else self.placeholder

    def scrub(self, text: str) -> str:
        """*text* with every absolute path of two parts or more cut to ``…/<file name>``.

        Safe for HTML too: a closing tag (``</span>``), a URL or base64 data never matches.
        """
        if not isinstance(text, str) or "/" not in text:
            return text
        if not hasattr(self, "_known"):  # the server's own folders, whatever characters they hold
            folders = "|".join(re.escape(prefix) for prefix in self.server_prefixes())
            self._known = re.compile(rf"(?<![\w.:/~+\\-])(?:{folders})(?![\w.+@~-])"
                                     r"(?:/[^\s'\"<>:,;()\[\]\x1b]*)?")
        pieces = ANSI.split(text)
        codes = ANSI.findall(text)
        out = []
        for index, piece in enumerate(pieces):
            piece = ABSOLUTE_PATH.sub(self._shorten, self._known.sub(self._shorten, piece))
            out.append(piece)
            if index < len(codes):
                out.append(codes[index])
        return "".join(out)

    # -- tracebacks --------------------------------------------------------------------------
    def student_frames(self, traceback: list[str]) -> list[str]:
        """The frames of *traceback* in the notebook's non-test cells, paths scrubbed."""
        kept = []
        for entry in traceback:
            match = CELL_FRAME.match(ANSI.sub("", entry))
            if match and int(match.group(1)) in self._student_counts:
                kept.append(self.scrub(entry))
        return kept

    def short_error(self, output, in_test_cell: bool) -> None:
        """Replace an error output's traceback with the student's frames and the message."""
        ename = str(output.get("ename", "Error"))
        evalue = str(output.get("evalue", ""))
        if not evalue and output.get("traceback"):  # nbgrader's own errors keep it there
            last = ANSI.sub("", output["traceback"][-1]).strip()
            evalue = last[len(ename) + 1:].strip() if last.startswith(f"{ename}:") else ""
        evalue = self.scrub(evalue)
        if ename == "KeyboardInterrupt" and not evalue:
            evalue = "the cell was stopped: it ran longer than grading allows for one cell"
        elif ename == "AssertionError" and not evalue:
            evalue = "a check in this cell failed"
        frames = [] if in_test_cell and ename == "AssertionError" else self.student_frames(
            output.get("traceback", []))
        message = f"\x1b[31m{ename}\x1b[39m: {evalue}"
        # A SyntaxError's one frame already ends with its message.
        last_line = (ANSI.sub("", frames[-1]).strip().splitlines() or [""])[-1] if frames else ""
        if last_line.startswith(f"{ename}:"):
            message = None
        output["ename"], output["evalue"] = ename, evalue
        output["traceback"] = frames + ([message] if message else [])

    # -- cells -------------------------------------------------------------------------------
    def preprocess(self, nb, resources):
        self._student_counts = {cell.get("execution_count") for cell in nb.cells
                                if cell.cell_type == "code" and not is_test_cell(cell)
                                and cell.get("execution_count") is not None}
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        test = is_test_cell(cell)
        if test:
            summary = summary_of(cell.source) or "A test of your answer above."
            cell.source = f"# {summary}\n# {self.hidden_note}"
        outputs = []
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream":
                if test and output.get("name") == "stderr":
                    continue
                output["text"] = self.scrub(output.get("text", ""))
            elif kind == "error":
                self.short_error(output, test)
            elif kind in ("display_data", "execute_result"):
                for mime, value in output.get("data", {}).items():
                    if mime.startswith("text/"):
                        output["data"][mime] = self.scrub(value)
            outputs.append(output)
        cell.outputs = outputs
        return cell, resources
