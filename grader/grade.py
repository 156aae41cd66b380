"""Grade a whole class: parallel, time-limited, resumable, with progress, a summary and a report.

    python -m grader.grade                          # every submission under submitted/
    python -m grader.grade --students ann bob       # a subset
    python -m grader.grade --workers 8 --timeout 600 --force
    python -m grader.grade --scheduler tcp://10.0.0.5:8786        # an existing Dask cluster
    NBGRADER_DB_URL=postgresql://grader@db/cifar10 python -m grader.grade   # shared gradebook

Each submission is graded by the real ``nbgrader autograde --student S`` in a process of its own,
so scores land in the gradebook exactly as nbgrader puts them (formgrader, ``nbgrader export``
and ``generate_feedback`` keep working). The jobs run on a Dask cluster: a local one with
``--workers`` processes by default, or the one at ``--scheduler`` (its workers need this course
directory at the same path, e.g. on a shared file system, and the same Python environment).

A submission that is not a valid notebook, that makes nbgrader fail, or that runs past
``--timeout`` seconds is recorded with its reason and never stops the others. Outcomes are kept
in ``grading_status.json``; a rerun skips submissions already graded whose file has not changed
(``--force`` regrades them). At the end: a summary, and ``reports/scores.csv`` plus
``reports/class_report.png``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from . import sandbox, tamper
from .assignment import ASSIGNMENT, REPO_ROOT
from .course import Course, nbgrader_env
from .files import read_json, write_json
from .reports import class_report

STATUS_FILE = "grading_status.json"
LOG_DIR = "grading_logs"  # nbgrader's output for each submission, for course staff
DONE = ("graded", "flagged")  # outcomes a rerun keeps while the submission is unchanged


@dataclass
class Outcome:
    """What happened to one submission."""

    student: str
    status: str          # graded | flagged (held for review) | invalid | failed | timeout
    seconds: float
    digest: str          # sha256 of the submitted notebook, to notice a resubmission
    reason: str = ""


def digest_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def kill_tree(pid: int) -> None:
    """Kill a process and everything it started (nbgrader's kernel runs in a session of its own)."""
    import psutil

    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    family = parent.children(recursive=True) + [parent]
    for process in family:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(family, timeout=10)


def last_error(log: str) -> str:
    """The most telling line of an nbgrader log: the exception that stopped it, if any."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in reversed(lines):
        if re.match(r"^[\w.]*(Error|Exception)\b.*", line):
            return line[:300]
    for line in reversed(lines):
        if "ERROR" in line and "see the the above traceback" not in line:
            return line[:300]
    return lines[-1][:300] if lines else "no output"


def grade_one(course_root: str, student: str, timeout: float, env: dict | None = None,
              sandboxed: bool = True) -> dict:
    """Autograde one submission with nbgrader in its own process; return an Outcome as a dict.

    With *sandboxed*, the notebook's kernel runs in the bubblewrap sandbox of
    :mod:`grader.sandbox`. Runs on a Dask worker: it only needs the course directory and
    this package.
    """
    course = Course(Path(course_root), db_url=(env or {}).get("NBGRADER_DB_URL"))
    notebook = course.submitted_notebook(student)
    started = time.perf_counter()
    digest = digest_of(notebook)

    def outcome(status: str, reason: str = "") -> dict:
        return asdict(Outcome(student, status, round(time.perf_counter() - started, 2), digest, reason))

    try:
        nb = nbformat.read(notebook, as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # not JSON, not a notebook, a broken schema
        return outcome("invalid", f"not a valid notebook: {type(error).__name__}: {str(error)[:200]}")
    findings = tamper.find_tampering(nb, tamper.trusted_sources(course.release_notebook))

    full_env = nbgrader_env(env)
    command = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--create", "--force",
               "--student", student]
    with tempfile.TemporaryDirectory(prefix="cifar10-grading-") as private:
        if sandboxed:
            full_env["JUPYTER_PATH"] = str(sandbox.install_kernelspec(Path(private) / "jupyter"))
            (Path(private) / "sockets").mkdir()
            command += sandbox.nbgrader_args(Path(private) / "sockets")
        process = subprocess.Popen(command, cwd=course_root, env=full_env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        timed_out = False
        try:
            log, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(process.pid)
            log = process.communicate()[0] + f"\n[grade] stopped after {timeout:g} s\n"
            timed_out = True
        sandbox.remove_empty_cgroups()
    (course.root / LOG_DIR).mkdir(exist_ok=True)
    (course.root / LOG_DIR / f"{student}.log").write_text(log)
    if timed_out:
        return outcome("timeout", f"still running after {timeout:g} s: stopped")
    if process.returncode != 0:
        return outcome("failed", last_error(log))
    if findings:
        reason = "held for review, automatic scores set to 0: " + "; ".join(findings)[:500]
        course.hold_for_review(student, reason)
        return outcome("flagged", reason)
    rechecked = recheck_notes(course.autograded_notebook(student))
    if rechecked:
        return outcome("flagged", "the grader's scores stand; " + rechecked[:500])
    return outcome("graded")


def recheck_notes(autograded: Path) -> str:
    """Where the grader's verdicts differ from the notebook's own (grader.preprocessors.trusted)."""
    from .preprocessors.trusted import METADATA_KEY

    try:
        notes = nbformat.read(autograded, as_version=4).metadata.get(METADATA_KEY) or {}
    except Exception:  # noqa: BLE001 (no autograded notebook: nothing to say)
        return ""
    parts = [f"{d['cell']}: the notebook's test {d['notebook']}, the grader's check {d['grader']}"
             + (f" ({d['points']} points)" if d.get("points") else "")
             for d in notes.get("differences", [])]
    if notes.get("stopped"):
        parts.append(f"the notebook stopped early ({notes['stopped'][:120]})")
    return "; ".join(parts)


# --------------------------------------------------------------------------------------------
# The class
# --------------------------------------------------------------------------------------------

def find_submissions(course: Course, students: list[str] | None = None) -> list[str]:
    """Students with a submitted notebook, sorted; *students* narrows the list (and must exist)."""
    found = sorted(p.parent.parent.name for p in (course.root / "submitted").glob(
        f"*/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"))
    if students:
        missing = sorted(set(students) - set(found))
        if missing:
            raise SystemExit(f"No submission from: {', '.join(missing)}")
        found = [s for s in found if s in set(students)]
    return found


def read_status(course: Course) -> dict[str, dict]:
    return read_json(course.root / STATUS_FILE, {})


def write_status(course: Course, status: dict[str, dict]) -> None:
    write_json(course.root / STATUS_FILE, status, indent=1, sort_keys=True)


def to_grade(course: Course, students: list[str], status: dict, force: bool) -> list[str]:
    """Leave out submissions graded before whose file has not changed since (unless *force*)."""
    if force:
        return students
    return [s for s in students
            if status.get(s, {}).get("status") not in DONE
            or status[s].get("digest") != digest_of(course.submitted_notebook(s))]


def make_client(workers: int, scheduler: str | None):
    """A Dask client: to the cluster at *scheduler*, or to a new local cluster of *workers* processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler, timeout="30s")
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=40)
    return Client(cluster)


def thread_limits(workers: int) -> dict[str, str]:
    """Share this machine's cores among the graders instead of every kernel using all of them.

    TensorFlow and OpenMP size their thread pools to the whole machine by default; with one
    grader per core that oversubscribes the CPU *workers*-fold.
    """
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    return {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": threads,
            "OMP_NUM_THREADS": threads}


def grade_class(course: Course, students: list[str], *, workers: int, timeout: float,
                scheduler: str | None = None, env: dict | None = None,
                sandboxed: bool = True) -> list[dict]:
    """Grade *students* in parallel; record each outcome in the status file as it arrives."""
    from distributed import as_completed
    from tqdm import tqdm

    if not scheduler:
        env = {**thread_limits(workers), **(env or {})}
    status = read_status(course)
    outcomes = []
    with make_client(workers, scheduler) as client:
        futures = [client.submit(grade_one, str(course.root), s, timeout, env, sandboxed,
                                 key=f"grade-{s}", pure=False) for s in students]
        with tqdm(total=len(futures), unit="submission", desc="Grading", file=sys.stdout) as bar:
            for future in as_completed(futures):
                result = future.result()
                outcomes.append(result)
                status[result["student"]] = result
                write_status(course, status)
                bar.set_postfix_str(f"{result['student']}: {result['status']}")
                bar.update()
    return outcomes


def summary(outcomes: list[dict], skipped: int, seconds: float) -> str:
    """A few lines for the terminal: counts, speed, and every submission that was not graded."""
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o["status"]] = counts.get(o["status"], 0) + 1
    lines = [f"{len(outcomes)} submissions in {seconds:.0f} s "
             f"({60 * len(outcomes) / seconds:.1f} per minute)" if outcomes and seconds
             else "Nothing to grade."]
    if outcomes:
        lines.append("  " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
                     + f"; median {statistics.median(o['seconds'] for o in outcomes):.1f} s each")
    if skipped:
        lines.append(f"  {skipped} skipped: graded before and unchanged (--force regrades them)")
    for o in sorted(outcomes, key=lambda o: o["student"]):
        if o["status"] != "graded":
            lines.append(f"  {o['student']}: {o['status']}: {o['reason']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.grade", description=__doc__.splitlines()[0])
    parser.add_argument("--course", type=Path, default=REPO_ROOT, help="the course directory")
    parser.add_argument("--students", nargs="+", help="grade only these students")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="parallel graders on this machine (default: the number of cores)")
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds one submission may take in all (default 300)")
    parser.add_argument("--force", action="store_true", help="regrade submissions graded before")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler to grade on")
    parser.add_argument("--no-sandbox", dest="sandboxed", action="store_false",
                        help="run student code without the bubblewrap sandbox (not recommended)")
    parser.add_argument("--reports", type=Path, help="where the class report goes "
                        "(default: reports/ in the course directory)")
    args = parser.parse_args(argv)

    course = Course(args.course.resolve())
    if args.sandboxed and not sandbox.available():
        raise SystemExit("bubblewrap is not installed (Debian: apt-get install bubblewrap); install "
                         "it, or grade without isolation with --no-sandbox.")
    students = find_submissions(course, args.students)
    pending = to_grade(course, students, read_status(course), args.force)
    print(f"{len(students)} submissions, {len(pending)} to grade, on "
          f"{args.scheduler or f'{args.workers} local workers'}; time limit {args.timeout:g} s each"
          f"{'' if args.sandboxed else '; NO SANDBOX'}.")
    started = time.perf_counter()
    outcomes = grade_class(course, pending, workers=args.workers, timeout=args.timeout,
                           scheduler=args.scheduler, sandboxed=args.sandboxed) if pending else []
    print(summary(outcomes, len(students) - len(pending), time.perf_counter() - started))
    csv, png = class_report(course.scores(), read_status(course), course.teacher.graded_cells,
                            args.reports or course.root / "reports")
    print(f"Class report: {csv} and {png}")
    return 0 if all(o["status"] in DONE for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
