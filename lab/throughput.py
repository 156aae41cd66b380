"""Measure grading throughput: plain sequential ``nbgrader autograde`` against ``grader.grade``.

    python -m lab.throughput --submissions 100 --workers 2

Both grade the same synthetic class in a scratch copy of the course, one after the other in one
run, with the same data and the same per-cell time limit. The class mixes what a real one holds:
in every 20 submissions, 9 full marks, 4 with two mistakes, 2 untouched, 2 that raise, 1 that does
not parse, 1 that never ends (stopped by the cell time limit) and 1 with edited and deleted test
cells (restored by nbgrader).

Writes ``results/throughput.json`` and prints: submissions per minute of each, their ratio, the
median seconds per submission, and whether both awarded the same points (they must, except for
submissions the class grader holds for review).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from demo import submissions
from grader import grade
from grader.assignment import REPO_ROOT
from grader.course import Course
from grader.files import write_json

from .machine import run_metadata

PROGRAM = "python -m lab.throughput"

# One class of 20, repeated: (kind, how many).
MIX = (("solved", 9), ("mistakes", 4), ("release", 2), ("exception", 2), ("syntax_error", 1),
       ("endless_loop", 1), ("tampered", 1))
RESULT = REPO_ROOT / "results" / "throughput.json"


def kinds(count: int) -> list[str]:
    """The kind of each of *count* submissions: the mix of MIX, spread through the class, not in runs."""
    pattern = [kind for kind, n in MIX for _ in range(n)]
    pattern = [pattern[(i * 7) % len(pattern)] for i in range(len(pattern))]  # 7 is coprime to 20
    return [pattern[i % len(pattern)] for i in range(count)]


def make_class(course: Course, count: int) -> None:
    """*count* submissions named ``sNNNN_kind`` (each kind's notebook is built once)."""
    class_kinds = kinds(count)
    notebooks = {kind: submissions.build(course, kind) for kind in dict.fromkeys(class_kinds)}
    for number, kind in enumerate(class_kinds):
        course.submit(f"s{number:04d}_{kind}", notebooks[kind])


def forget_grades(course: Course) -> None:
    """Start the second run from the same state as the first: no gradebook, nothing autograded."""
    for path in ("gradebook.db", "autograded", grade.STATUS_FILE, grade.LOG_DIR):
        target = course.root / path
        shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
    course.generate_release()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data", type=Path,
                        help="CIFAR-10 folder the notebooks load (default: a synthetic one, 20 "
                             "training and 5 test images per class, as in the tests)")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    n = args.submissions
    with tempfile.TemporaryDirectory(prefix="cifar10-throughput-") as tmp:
        if args.data:
            data, data_note = args.data.resolve(), f"CIFAR-10 from {args.data}"
        else:
            from utils.data import write_synthetic_cifar10

            data = write_synthetic_cifar10(Path(tmp) / "synthetic-cifar10", train_per_class=20,
                                           test_per_class=5)
            data_note = "synthetic CIFAR-10, 200 training and 50 test images"
        # The command with every setting spelled out, defaults included.
        command = ["--submissions", str(n), "--workers", str(args.workers)]
        metadata = run_metadata(command + (["--data", str(args.data)] if args.data else []),
                                data, data_note, PROGRAM)
        env = {"CIFAR10_DIR": str(data)}
        course = submissions.scratch_course(Path(tmp) / "course")
        make_class(course, n)
        load_before = os.getloadavg()
        cell_timeout = course.cell_timeout()

        print(f"Plain nbgrader autograde, {n} submissions one after another ...", flush=True)
        started = time.perf_counter()
        course.autograde(env=env)
        sequential = time.perf_counter() - started
        plain_totals = course.totals()
        print(f"  {sequential:.0f} s", flush=True)

        forget_grades(course)
        print(f"grader.grade, {args.workers} workers, sandboxed ...", flush=True)
        started = time.perf_counter()
        outcomes = grade.grade_class(course, grade.find_submissions(course), workers=args.workers,
                                     timeout=600, env=env)
        parallel = time.perf_counter() - started
        class_totals = course.totals()

    flagged = {o["student"] for o in outcomes if o["status"] == "flagged"}
    differ = sorted(s for s in set(plain_totals) | set(class_totals)
                    if s not in flagged and plain_totals.get(s) != class_totals.get(s))
    seconds = [o["seconds"] for o in outcomes]
    result = {
        **{key: metadata[key] for key in ("date", "command", "machine", "versions")},
        "load_average_before": [round(x, 2) for x in load_before],
        "data": metadata["data"],
        "cell_timeout_s": cell_timeout,
        "mix_per_20": dict(MIX),
        "submissions": n,
        "sequential": {"seconds": round(sequential, 1), "per_minute": round(60 * n / sequential, 2),
                       "mean_seconds_each": round(sequential / n, 1)},
        "parallel": {"workers": args.workers, "sandboxed": True, "seconds": round(parallel, 1),
                     "per_minute": round(60 * n / parallel, 2),
                     "median_seconds_each": round(statistics.median(seconds), 1),
                     "outcomes": {k: sum(o["status"] == k for o in outcomes)
                                  for k in sorted({o["status"] for o in outcomes})}},
        "ratio": round(sequential / parallel, 2),
        "same_points_except_flagged": not differ,
        "differing_students": differ,
    }
    write_json(args.out, result, indent=1)
    print(json.dumps(result, indent=1))
    print(f"plain nbgrader autograde: {result['sequential']['per_minute']}/min; "
          f"grader.grade ({args.workers} workers): {result['parallel']['per_minute']}/min; "
          f"ratio {result['ratio']}x; written to {args.out}")


if __name__ == "__main__":
    main()
