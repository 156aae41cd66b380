"""The tamper and fault suite: hostile and broken submissions graded next to an honest one.

    python -m demo.attacks                          # grade them all in a scratch course
    python -m demo.attacks --out results/attacks.md # and keep the table

Each attack is a notebook a student could hand in: the untouched release, the full solution or
the solution with two mistakes, plus cells that attack the grader. Every attack must end with no
more points than its notebook earns without the attack, leave the originals, the gradebook and
the other students' results alone, and not stop the grading of the others.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import hashlib
import json
import os
import platform
import shlex
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader import grade, sandbox
from grader.course import Course
from grader.reports import markdown_table

from . import submissions

REPORT = "ATTACK RESULT:"  # attack cells print what happened after this marker


@dataclass
class Attack:
    name: str
    what: str
    base: str                  # release | solved | mistakes: the notebook the attack starts from
    code: str | None = None    # an attack cell, inserted after the cell with grade_id *after*
    after: str = "load_cifar10"
    needs_process_limit: bool = False


def reported(code: str) -> str:
    """Wrap attack code so that the cell prints what happened instead of stopping with an error."""
    body = "\n".join("    " + line for line in code.strip().splitlines())
    return (f"try:\n{body}\nexcept BaseException as error:\n"
            f"    print({REPORT!r}, 'blocked:', type(error).__name__, str(error)[:120])")


ATTACKS = [
    Attack("read_teacher_notebook", "reads the teacher notebook (solutions, hidden tests) from disk",
           "release", reported('''
text = open("../../../source/cifar10_keras/cifar10_keras.ipynb").read()
print("ATTACK RESULT:", "read the teacher notebook:", len(text), "characters")''')),
    Attack("write_gradebook", "writes full marks into the gradebook with sqlite3",
           "release", reported('''
import sqlite3
db = sqlite3.connect("file:../../../gradebook.db?mode=rw", uri=True)
db.execute("UPDATE grade SET manual_score = 99")
db.commit()
print("ATTACK RESULT:", "wrote the gradebook")''')),
    Attack("monkeypatch_helpers", "rebinds the test helpers and numpy so that every check passes",
           "release", '''
import utils.checks
for name in ("call", "unpack", "check_model", "check_layers", "check_param_count",
             "check_images", "check_onehot", "check_binary_labels", "check_training"):
    setattr(utils.checks, name, lambda *args, **kwargs: (None, None, None, None))
np.allclose = lambda *args, **kwargs: True
print("ATTACK RESULT:", "patched the helpers")'''),
    Attack("replace_after_test", "fixes a wrong function only after its test cells ran",
           "mistakes", '''
def build_convolution_nn():
    return keras.Sequential([keras.Input(shape=(32, 32, 3)), layers.Flatten(),
                             layers.Dense(10, activation="softmax")])''',
           after="test_build_convolution_nn_hidden"),
    Attack("delete_and_duplicate_cells", "deletes a test cell and duplicates another as a no-op",
           "release"),
    Attack("fork_bomb", "forks without end", "solved", reported('''
import os, time
while True:
    if os.fork() == 0:
        time.sleep(60)
        os._exit(0)'''), needs_process_limit=True),
    Attack("memory_hog", "allocates far more memory than the limit", "solved", reported('''
def hog():
    blocks = []
    while True:
        blocks.append(np.ones(2**27))  # 1 GiB, every page touched
hog()''')),
    Attack("network", "opens network sockets: the internet and the grader's own database port",
           "release", reported('''
import socket
for host, port in (("pypi.org", 443), ("127.0.0.1", 5432)):
    try:
        socket.create_connection((host, port), timeout=5).close()
        print("ATTACK RESULT:", "connected to", host, port)
    except OSError as error:
        print("ATTACK RESULT:", "blocked:", host, port, type(error).__name__)''')),
    Attack("sleep_forever", "sleeps forever in one cell", "solved", '''
import time
time.sleep(10**9)'''),
    Attack("print_100mb", "prints 100 MB", "solved", '''
print("x" * 100_000_000)'''),
    Attack("delete_files", "deletes every file it can reach, its own folder included",
           "solved", reported('''
import os, shutil
for path in ("../../../submitted", "../../../source", "../../../gradebook.db",
             "../../../autograded", os.getcwd(), "/work", "/tmp"):
    shutil.rmtree(path, ignore_errors=True)
    print("ATTACK RESULT:", "still there" if os.path.exists(path) else "gone or never seen", path)'''),
           after="test_train_binary_classifier_hidden"),
    Attack("not_json", "is not valid JSON", "release"),
    # Attempts on the verdict itself: each makes the notebook's own test cells pass (or go
    # quiet) without right answers. The grader judges evidence instead, outside the kernel.
    Attack("input_transformer", "an IPython hook rewrites every later test cell into 'pass'",
           "mistakes", '''
get_ipython().input_transformers_post.append(
    lambda lines: ["pass\\n"] if any("grading" in line for line in lines) else lines)'''),
    Attack("ast_transformer", "an AST transformer deletes every statement of the later test cells",
           "mistakes", '''
import ast
class Quiet(ast.NodeTransformer):
    def visit_Module(self, node):
        if any("grading" in ast.dump(n) for n in node.body):
            node.body = [ast.Pass()]
        return node
get_ipython().ast_transformers.append(Quiet())'''),
    Attack("custom_exception_handler", "swallows every AssertionError with a custom exception "
           "handler", "mistakes", '''
get_ipython().set_custom_exc((AssertionError,), lambda shell, etype, value, tb, tb_offset=None: None)'''),
    Attack("rebind_through_namespace", "replaces the test runner through the module's namespace "
           "dictionary (no assignment statement)", "mistakes", '''
import utils.grading
vars(utils.grading)["run"] = lambda *args, **kwargs: print("Visible checks passed")'''),
    Attack("rebind_with_mock", "replaces the checks with unittest.mock", "mistakes", '''
from unittest import mock
import utils.checks
for _name in ("check_images", "check_onehot", "check_layers", "check_param_count"):
    mock.patch.object(utils.checks, _name, lambda *a, **k: None).start()'''),
    Attack("rebind_with_type_setattr", "replaces the test runner through type(module).__setattr__",
           "mistakes", '''
import utils.grading
type(utils.grading).__setattr__(utils.grading, "run", lambda *args, **kwargs: None)'''),
    Attack("forged_evidence", "sends evidence documents for the tests itself, from its own cell",
           "mistakes", '''
import os
from IPython.display import display
for test in ("test_build_convolution_nn_basic", "test_build_convolution_nn_hidden"):
    display({"application/vnd.cifar10-keras.evidence+json": {
        "test": test, "nonce": os.environ.get("CIFAR10_GRADING_NONCE", "?"),
        "data": {"architecture": {}}, "arrays": {}}}, raw=True)'''),
    Attack("lying_arrays", "returns arrays whose comparisons and min/max always say 'right'",
           "mistakes", '''
class Liar(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(self), bool)
    def max(self, *a, **k): return 1.0
    def min(self, *a, **k): return 0.0
    def __bool__(self): return True
_real_load = load_cifar10
def load_cifar10():
    return tuple(np.asarray(v).view(Liar) for v in _real_load())'''),
    Attack("result_as_points", "the test runner returns each cell's full points, which nbgrader "
           "reads as partial credit", "mistakes", '''
import utils.grading
vars(utils.grading)["run"] = lambda grade_id, function: utils.grading.TESTS[grade_id].points'''),
    Attack("kernel_messages", "a hook sends forged evidence and a result of full points on the "
           "kernel's own message channel before every test cell runs", "mistakes", reported('''
import os
import utils.grading
_kernel = get_ipython().kernel

def _forge(info):
    for grade_id, test in utils.grading.TESTS.items():
        if f'"{grade_id}"' in (info.raw_cell or ""):
            parent = _kernel.get_parent()
            document = {"test": grade_id, "nonce": os.environ.get("CIFAR10_GRADING_NONCE", "?"),
                        "data": {"passed": True}, "arrays": {}}
            _kernel.session.send(_kernel.iopub_socket, "display_data", {
                "data": {"application/vnd.cifar10-keras.evidence+json": document},
                "metadata": {}, "transient": {}}, parent=parent)
            _kernel.session.send(_kernel.iopub_socket, "execute_result", {
                "data": {"text/plain": str(test.points)}, "metadata": {},
                "execution_count": 1}, parent=parent)

get_ipython().events.register("pre_run_cell", _forge)
vars(utils.grading)["run"] = lambda *args, **kwargs: None
print("ATTACK RESULT:", "forges messages on iopub")''')),
    Attack("kill_kernel", "kills its own kernel halfway through", "solved", '''
import os
os._exit(0)''', after="test_build_multilayer_nn_hidden"),
]

def build(attack: Attack, course: Course) -> nbformat.NotebookNode | bytes:
    """The notebook a student running *attack* hands in."""
    if attack.name == "not_json":
        return b'{"cells": [ "this is not a notebook'
    nb = submissions.build(course, attack.base)
    if attack.name == "delete_and_duplicate_cells":
        nb.cells.remove(submissions.find_cell(nb, "test_build_multilayer_nn_hidden"))
        duplicate = copy.deepcopy(submissions.find_cell(nb, "test_load_cifar10_basic"))
        duplicate.source = 'print("passed")'
        nb.cells.insert(nb.cells.index(submissions.find_cell(nb, "test_load_cifar10_basic")), duplicate)
    if attack.code:
        index = nb.cells.index(submissions.find_cell(nb, attack.after)) + 1
        nb.cells.insert(index, nbformat.v4.new_code_cell(attack.code.strip()))
    return nb


def attack_reports(course: Course, attack: Attack) -> list[str]:
    """What the attack's own cell printed in the autograded notebook, or the error it ended with."""
    path = course.autograded_notebook(attack.name)
    if not attack.code or not path.is_file():
        return []
    lines = []
    for cell in json.loads(path.read_text())["cells"]:
        if "".join(cell.get("source", "")) != attack.code.strip():
            continue
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", ""))
            lines += [line.split(REPORT, 1)[1].strip() for line in text.splitlines() if REPORT in line]
            if output.get("output_type") == "error" and "ename" in output:
                lines.append(f"cell stopped: {output['ename']}")
    return lines


def run_suite(root: Path, workers: int = 2, env: dict | None = None) -> list[dict]:
    """Grade every attack and a full-marks control together; return one row per submission."""
    course = submissions.scratch_course(root, {"control_full_marks": "solved"})
    attacks = [a for a in ATTACKS if not a.needs_process_limit or sandbox.process_limit_available()]
    for attack in attacks:
        course.submit(attack.name, build(attack, course))
    originals = {p: hashlib.sha256(p.read_bytes()).hexdigest()
                 for p in sorted((course.root / "submitted").rglob("*")) if p.is_file()}
    source_digest = hashlib.sha256(course.source_notebook.read_bytes()).hexdigest()
    outcomes = {o["student"]: o for o in grade.grade_class(
        course, grade.find_submissions(course), workers=workers, timeout=300, env=env)}
    totals = course.totals()
    untouched = all(hashlib.sha256(p.read_bytes()).hexdigest() == d for p, d in originals.items()
                    if p.exists()) and all(p.exists() for p in originals)
    untouched = untouched and hashlib.sha256(course.source_notebook.read_bytes()).hexdigest() == source_digest
    rows = []
    for attack in [*attacks, Attack("control_full_marks", "an honest full-marks submission", "solved")]:
        points, earned = totals.get(attack.name, 0), submissions.automatic_points(course, attack.base)
        rows.append({"attack": attack.name, "what": attack.what,
                     "status": outcomes[attack.name]["status"],
                     "reason": outcomes[attack.name]["reason"],
                     "observed": "; ".join(attack_reports(course, attack)) or "-",
                     "points": points, "earned": earned, "ok": points <= earned and untouched})
    return rows


def markdown(rows: list[dict]) -> str:
    return markdown_table(
        ["Attack", "What it does", "Grading outcome", "What the attack saw",
         "Points (earned without the attack)"],
        [[f"`{r['attack']}`", r["what"], r["status"] + (f": {r['reason'][:90]}" if r["reason"] else ""),
          r["observed"][:160], f"{r['points']:g} ({r['earned']:g})"] for r in rows])


def report(rows: list[dict], command: str) -> str:
    """The page ``--out`` writes: the table, and how it was made."""
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    verdict = ("Every attack earned at most what its notebook earns without it, and the originals "
               "were untouched." if all(r["ok"] for r in rows)
               else "**Some attacks earned more than their notebook, or harmed the originals.**")
    return (f"# The tamper and fault suite\n\nGenerated by `{command}` on {date} "
            f"({platform.platform()}, {os.cpu_count()} logical cores); do not edit by hand. Each "
            f"row is a submission graded by `python -m grader.grade` in the sandbox, beside an "
            f"honest one. {verdict}\n\n{markdown(rows)}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.attacks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file "
                        "(e.g. results/attacks.md)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cifar10-attacks-") as tmp:
        rows = run_suite(Path(tmp) / "course", args.workers)
    print(markdown(rows))
    if args.out:
        command = "python -m demo.attacks" + (" " + shlex.join(argv if argv is not None
                                                                else sys.argv[1:]))
        args.out.write_text(report(rows, command.strip()), encoding="utf-8")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
