"""Run the real nbgrader commands on a course directory and read the results back.

Everything goes through nbgrader's own command line (as an instructor would type it), so the
demo and the tests exercise exactly what course staff use; scores are read from the gradebook
with nbgrader's API.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .assignment import ASSIGNMENT, COURSE_ID, NOTEBOOK, REPO_ROOT, TeacherNotebook


def nbgrader_env(extra: dict | None = None) -> dict:
    """The environment nbgrader runs in: this one, plus *extra*, with this interpreter's bin first.

    nbgrader starts helpers (alembic, the kernel) by name, so they must come from this environment.
    """
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.update(extra or {})
    return env


@dataclass
class Course:
    """An nbgrader course directory (``nbgrader_config.py``, ``source/``, ``release/`` ...)."""

    root: Path
    db_url: str | None = None  # the gradebook; None: as nbgrader_config.py chooses it

    @classmethod
    def copy_of(cls, target: Path, source_root: Path = REPO_ROOT) -> "Course":
        """Make a fresh course directory at *target* with this repository's config and source."""
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source_root / "nbgrader_config.py", target / "nbgrader_config.py")
        shutil.copytree(source_root / "source", target / "source", dirs_exist_ok=True)
        return cls(target)

    # -- paths ------------------------------------------------------------------------------
    @property
    def source_notebook(self) -> Path:
        return self.root / "source" / ASSIGNMENT / NOTEBOOK

    @property
    def teacher(self) -> TeacherNotebook:
        """The contract of this course's teacher notebook (graded cells, points, answers)."""
        return TeacherNotebook(self.source_notebook)

    @property
    def release_notebook(self) -> Path:
        return self.root / "release" / ASSIGNMENT / NOTEBOOK

    def submitted_notebook(self, student: str) -> Path:
        return self.root / "submitted" / student / ASSIGNMENT / NOTEBOOK

    def autograded_notebook(self, student: str) -> Path:
        return self.root / "autograded" / student / ASSIGNMENT / NOTEBOOK

    def feedback_html(self, student: str) -> Path:
        return self.root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"

    # -- nbgrader ---------------------------------------------------------------------------
    def nbgrader(self, *args: str, env: dict | None = None, check: bool = True,
                 cwd: Path | None = None) -> subprocess.CompletedProcess:
        """Run ``nbgrader ARGS`` in the course directory; raise with its log if it fails."""
        result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd or self.root,
                                env=nbgrader_env(env), capture_output=True, text=True)
        if check and result.returncode != 0:
            raise RuntimeError(f"nbgrader {' '.join(args)} failed ({result.returncode}):\n"
                               f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
        return result

    def generate_release(self) -> Path:
        """``nbgrader generate_assignment``: write the student version into release/."""
        self.nbgrader("generate_assignment", ASSIGNMENT, "--force")
        return self.release_notebook

    def validate(self, notebook: Path, env: dict | None = None) -> tuple[bool, str]:
        """``nbgrader validate``: (passed, what it printed). Its exit code is 0 either way."""
        result = self.nbgrader("validate", str(notebook), env=env)
        output = result.stdout + result.stderr
        return "Success! Your notebook passes all the tests." in output, output

    def submit(self, student: str, notebook: nbformat.NotebookNode | str | bytes) -> Path:
        """Place a submission in submitted/<student>/ as ``nbgrader collect`` would."""
        path = self.submitted_notebook(student)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(notebook, nbformat.NotebookNode):
            nbformat.write(notebook, path)
        else:
            path.write_bytes(notebook if isinstance(notebook, bytes) else notebook.encode())
        return path

    def autograde(self, student: str | None = None, env: dict | None = None,
                  check: bool = False) -> subprocess.CompletedProcess:
        """``nbgrader autograde``: grade one student or, by default, every submission.

        nbgrader grades the others when one submission fails and then exits non-zero, so by
        default a failure is returned, not raised.
        """
        args = ["autograde", ASSIGNMENT, "--create", "--force"]
        if student:
            args += ["--student", student]
        return self.nbgrader(*args, env=env, check=check)

    def generate_feedback(self) -> None:
        """``nbgrader generate_feedback``: one HTML page per graded submission, in feedback/.

        The course's nbgrader_config.py makes the pages show points and teaching messages, and
        hide the test code, tracebacks into the helpers and this server's paths.
        """
        self.nbgrader("generate_feedback", ASSIGNMENT, "--force")

    def release_feedback(self, env: dict | None = None) -> None:
        """``nbgrader release_feedback``: put the feedback pages in the exchange for students."""
        self.nbgrader("release_feedback", ASSIGNMENT, env=env)

    def export_grades(self, path: Path) -> Path:
        self.nbgrader("export", "--to", str(path))
        return path

    # -- results ----------------------------------------------------------------------------
    @property
    def gradebook_url(self) -> str:
        """The gradebook's URL: the one given, else as nbgrader_config.py chooses it."""
        return (self.db_url or os.environ.get("NBGRADER_DB_URL")
                or f"sqlite:///{self.root / 'gradebook.db'}")

    def hold_for_review(self, student: str, note: str) -> None:
        """Set a submission's automatic scores to 0 as manual grades, with *note* as comment.

        Its total then counts nothing automatic until an instructor has looked at it and set
        the scores in formgrader.
        """
        from nbgrader.api import Gradebook

        with Gradebook(self.gradebook_url, course_id=COURSE_ID) as gb:
            submission = gb.find_submission(ASSIGNMENT, student)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.auto_score is not None:
                        grade.manual_score = 0
                for comment in notebook.comments[:1]:
                    comment.manual_comment = note
            gb.db.commit()

    def cell_timeout(self) -> int:
        """Seconds one cell may run when graded, as this course's ``nbgrader_config.py`` sets it."""
        from traitlets.config.loader import PyFileConfigLoader

        config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        return int(config.Execute.timeout)

    def totals(self) -> dict[str, float]:
        """Each student's points in all: automatic and manual scores together, as formgrader sums them."""
        return {student: sum(cell["score"] for cell in cells.values())
                for student, cells in self.scores().items()}

    def scores(self) -> dict[str, dict[str, dict]]:
        """Per student, per graded cell: {'score', 'max_score', 'auto_score', 'needs_manual'}."""
        from nbgrader.api import Gradebook

        out: dict[str, dict[str, dict]] = {}
        with Gradebook(self.gradebook_url, course_id=COURSE_ID) as gb:
            assignment = gb.find_assignment(ASSIGNMENT)
            for submission in assignment.submissions:
                cells = {}
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        cells[grade.name] = {
                            "score": float(grade.score),
                            "max_score": float(grade.max_score),
                            "auto_score": grade.auto_score,
                            "needs_manual": bool(grade.needs_manual_grade),
                        }
                out[submission.student_id] = cells
        return out
