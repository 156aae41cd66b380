"""Scores from evidence judged where student code cannot reach.

``ExecuteAndJudge`` replaces nbgrader's ``Execute`` in autograding. It runs the notebook as
``Execute`` does, with a fresh random nonce in the kernel's environment: the test cells give the
student's functions inputs drawn from it and send what the functions returned and did, as plain
data, in an output of their own (``utils.evidence``). Once the kernel has exited, it judges
that evidence here, in
nbgrader's own process, with the course's ``utils.grading`` (never the copy in the submission's
folder), and rewrites each test cell's outputs so that nbgrader's ``SaveAutoGrades`` scores the
verdict:

* passed: the cell's error and stderr outputs are dropped (a library's warning on stderr no
  longer costs the points of a right answer);
* failed, or no evidence: the outputs end in an error that says what failed (where the
  notebook's own test failed the same way, its error and traceback are kept as they are).

The evidence outputs themselves are then removed from every cell.

Where the notebook's own verdict differs from this one, the notebook's metadata records it, and
the cell's message says so; ``grader.grade`` holds such submissions for review.
"""

from __future__ import annotations

import os
import secrets

from nbformat import NotebookNode
from nbgrader.preprocessors import Execute

from utils import evidence, grading

#: Where the verdicts that differ from the notebook's own go, in the notebook's metadata.
METADATA_KEY = "cifar10_rechecked"


def is_test_cell(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def notebook_passed(cell) -> bool:
    return not any(o.output_type == "error" for o in cell.get("outputs", []))


def error_output(message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename="AssertionError", evalue=message,
                        traceback=[f"AssertionError: {message}"])


class ExecuteAndJudge(Execute):
    """nbgrader's Execute, then the grader's own verdict on each test cell's evidence."""

    def preprocess(self, nb, resources):
        run_nonce = secrets.token_hex(16)
        previous = os.environ.get(evidence.NONCE_ENV)
        os.environ[evidence.NONCE_ENV] = run_nonce
        stopped = None
        try:
            nb, resources = super().preprocess(nb, resources)
        except Exception as error:  # noqa: BLE001 (a dead or unresponsive kernel: judge what is there)
            stopped = f"{type(error).__name__}: {str(error)[:300]}"
            self.log.warning("Execution stopped early (%s); judging the evidence collected so far",
                             stopped)
        finally:
            if previous is None:
                os.environ.pop(evidence.NONCE_ENV, None)
            else:
                os.environ[evidence.NONCE_ENV] = previous
        self.judge(nb, run_nonce, stopped)
        return nb, resources

    def judge(self, nb, run_nonce: str, stopped: str | None) -> None:
        differences = []
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            outputs = cell.get("outputs", [])
            cell.outputs = [o for o in outputs if not evidence.is_evidence(o)]
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            if not is_test_cell(cell) or grade_id not in grading.TESTS:
                continue  # not a test, or one this course does not know: nbgrader's verdict stands
            verdict = grading.judge(grade_id, evidence.from_outputs(outputs, grade_id, run_nonce))
            in_notebook = notebook_passed(cell)
            if verdict is None:
                cell.outputs = [o for o in cell.outputs if o.output_type != "error"
                                and not (o.output_type == "stream" and o.get("name") == "stderr")]
            elif in_notebook:
                cell.outputs.append(error_output(f"On re-checking by the grader: {verdict}"))
            elif not any(o.output_type == "error" and o.get("evalue") == verdict
                         for o in cell.outputs):
                # Failed in both, for other reasons: the notebook's traceback stays for the
                # instructor, and the grader's reason is added.
                cell.outputs.append(error_output(verdict))
            if in_notebook != (verdict is None):
                differences.append({"cell": grade_id, "notebook": "passed" if in_notebook else "failed",
                                    "grader": "passed" if verdict is None else "failed",
                                    "reason": (verdict or "")[:300]})
        if differences or stopped:
            nb.metadata[METADATA_KEY] = {"differences": differences, "stopped": stopped}
        else:
            nb.metadata.pop(METADATA_KEY, None)
