"""Scores from evidence judged where student code cannot reach.

``ExecuteAndJudge`` replaces nbgrader's ``Execute`` in autograding. It runs the notebook as
``Execute`` does, with a fresh random nonce in the kernel's environment: the test cells give the
student's functions inputs drawn from it and send what the functions returned and did, as plain
data, in an output of their own (``utils.evidence``). Once the kernel has exited, it judges
that evidence here, in
nbgrader's own process, with the course's ``utils.grading`` (never the copy in the submission's
folder), and rewrites each test cell's outputs so that nbgrader's ``SaveAutoGrades`` scores the
verdict:

* every criterion passed: the cell's error and stderr outputs are dropped (a library's warning
  on stderr no longer costs the points of a right answer);
* some passed: the verdict outputs are replaced by the reasons and the points earned, as the
  cell's result (which nbgrader reads as partial credit);
* none passed, or no evidence: the outputs end in an error that says what failed (where the
  notebook's own test failed the same way, its error and traceback are kept as they are).

Whatever result the notebook's own run left in a test cell is dropped: only the grader's counts.

The evidence outputs themselves are then removed from every cell.

Where the notebook's own verdict differs from this one, the notebook's metadata records it, and
the cell's message says so; ``grader.grade`` holds such submissions for review.
"""

from __future__ import annotations

import json
import os
import secrets

from nbformat import NotebookNode
from nbgrader.preprocessors import Execute

from utils import evidence, grading

#: Where the verdicts that differ from the notebook's own go, in the notebook's metadata.
METADATA_KEY = "cifar10_rechecked"

#: Run first in the grading kernel. When a cell ends, the processes it forked end with it: a
#: fork bomb's children (or a forgotten os.fork) can neither answer later cells as a second
#: kernel nor hold the sandbox's process limit while the later cells run. Only the submission's
#: own cells could undo it, and that harms no one else.
KERNEL_SETUP = [
    "import os as _grading_os, signal as _grading_signal\n"
    "_grading_kernel_pid = _grading_os.getpid()\n"
    "def _grading_end_forked_processes(*_):\n"
    "    if _grading_os.getpid() != _grading_kernel_pid:\n"
    "        _grading_os._exit(0)\n"
    "    try:\n"
    "        tasks = _grading_os.listdir('/proc/self/task')\n"
    "    except OSError:\n"
    "        return\n"
    "    for task in tasks:\n"
    "        try:\n"
    "            with open(f'/proc/self/task/{task}/children') as listed:\n"
    "                children = [int(pid) for pid in listed.read().split()]\n"
    "        except OSError:\n"
    "            continue\n"
    "        for pid in children:\n"
    "            try:\n"
    "                _grading_os.kill(pid, _grading_signal.SIGKILL)\n"
    "                _grading_os.waitpid(pid, 0)\n"
    "            except (OSError, ChildProcessError):\n"
    "                pass\n"
    "get_ipython().events.register('post_run_cell', _grading_end_forked_processes)\n",
]


def is_test_cell(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def notebook_passed(cell) -> bool:
    return not any(o.output_type == "error" for o in cell.get("outputs", []))


def error_output(message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename="AssertionError", evalue=message,
                        traceback=[f"AssertionError: {message}"])


def stdout_output(text: str) -> NotebookNode:
    return NotebookNode(output_type="stream", name="stdout", text=text.rstrip("\n") + "\n")


def points_output(points: float) -> NotebookNode:
    """What nbgrader reads as partial credit: a cell's result that is one number."""
    return NotebookNode(output_type="execute_result", execution_count=None, metadata={},
                        data={"text/plain": f"{points:g}"})


def without_verdict(outputs) -> list:
    """The outputs less the notebook's own verdict (errors) and stderr (a library's warning)."""
    return [o for o in outputs if o.output_type not in ("error", "execute_result")
            and not (o.output_type == "stream" and o.get("name") == "stderr")]


class ExecuteAndJudge(Execute):
    """nbgrader's Execute, then the grader's own verdict on each test cell's evidence."""

    def preprocess(self, nb, resources):
        setup = f"--IPKernelApp.exec_lines={json.dumps(KERNEL_SETUP)}"
        if setup not in self.extra_arguments:
            self.extra_arguments = [*self.extra_arguments, setup]
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
            results = grading.score(grade_id, evidence.from_outputs(outputs, grade_id, run_nonce))
            differences.extend(self.rewrite(cell, grade_id, results))
        if differences or stopped:
            nb.metadata[METADATA_KEY] = {"differences": differences, "stopped": stopped}
        else:
            nb.metadata.pop(METADATA_KEY, None)

    @staticmethod
    def rewrite(cell, grade_id: str, results) -> list[dict]:
        """Make the cell's outputs say the grader's verdict, which ``SaveAutoGrades`` scores:
        all points (no error), none (an error that says why) or part (the reasons, then the
        points as the cell's result). Returns the difference from the notebook's own verdict."""
        whole = sum(r.criterion.points for r in results) or 1.0
        cell_points = float(cell.metadata["nbgrader"].get("points") or 0)
        earned = round(sum(r.earned for r in results) / whole * cell_points, 4)
        message = grading.failure_message(results)
        in_notebook = notebook_passed(cell)
        differs = in_notebook != (message is None)
        if message is None:
            cell.outputs = without_verdict(cell.outputs)
        elif earned == 0:
            # nbgrader reads the first error or result: no result of the notebook's may come first
            cell.outputs = [o for o in cell.outputs if o.output_type != "execute_result"]
            already_said = any(o.output_type == "error" and o.get("evalue") == message
                               for o in cell.outputs)
            if differs:
                cell.outputs.append(error_output(f"On re-checking by the grader: {message}"))
            elif not already_said:
                # Failed in both, for other reasons: the notebook's traceback stays for the
                # instructor, and the grader's reason is added.
                cell.outputs.append(error_output(message))
        else:
            prefix = "On re-checking by the grader:\n" if differs else ""
            cell.outputs = without_verdict(cell.outputs) + [
                stdout_output(f"{prefix}{grading.report(results)}\n{message}"),
                points_output(earned)]
        if not differs:
            return []
        return [{"cell": grade_id, "notebook": "passed" if in_notebook else "failed",
                 "grader": "passed" if message is None else "failed",
                 "points": f"{earned:g} of {cell_points:g}",
                 "reason": (message or "")[:300]}]
