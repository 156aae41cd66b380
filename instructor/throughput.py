"""Measure grading throughput: plain sequential ``nbgrader autograde`` against ``instructor.grade``.

    python -m instructor.throughput --submissions 100 --workers 2

Both grade the same synthetic class (mixed correct and faulty submissions) in a scratch copy of
the course, one after the other in one run; printed: submissions per minute of each, their ratio,
and the median seconds per submission of the parallel run.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from . import grade, submissions
from .course import Course

MIX = ("solved", "release", "mistakes", "syntax_error", "exception", "endless_loop")


def make_class(course: Course, count: int) -> None:
    """*count* submissions cycling through MIX."""
    full = submissions.solved(course.release_notebook, course.source_notebook)
    release = nbformat.read(course.release_notebook, as_version=4)
    builders = {"solved": lambda: full, "release": lambda: release,
                "mistakes": lambda: submissions.with_mistakes(full),
                "syntax_error": lambda: submissions.with_syntax_error(full),
                "exception": lambda: submissions.with_exception(full),
                "endless_loop": lambda: submissions.with_endless_loop(full)}
    for number, kind in zip(range(count), itertools.cycle(MIX)):
        course.submit(f"s{number:04d}_{kind}", builders[kind]())


def forget_grades(course: Course) -> None:
    for path in ("gradebook.db", "autograded", grade.STATUS_FILE, grade.LOG_DIR):
        target = course.root / path
        shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
    course.generate_release()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cifar10-throughput-") as tmp:
        course = Course.copy_of(Path(tmp) / "course")
        course.generate_release()
        make_class(course, args.submissions)

        started = time.perf_counter()
        course.autograde()  # plain nbgrader: every submission, one after another
        sequential = time.perf_counter() - started

        forget_grades(course)
        started = time.perf_counter()
        outcomes = grade.grade_class(course, grade.find_submissions(course), workers=args.workers,
                                     timeout=600)
        parallel = time.perf_counter() - started

    n = args.submissions
    print(f"plain nbgrader autograde: {n} submissions in {sequential:.0f} s = {60 * n / sequential:.2f}/min")
    print(f"instructor.grade, {args.workers} workers (sandboxed): {n} in {parallel:.0f} s = "
          f"{60 * n / parallel:.2f}/min")
    print(f"ratio: {sequential / parallel:.2f}x; median {statistics.median(o['seconds'] for o in outcomes):.1f} s "
          f"per submission in the parallel run; outcomes: "
          + ", ".join(f"{k} {sum(o['status'] == k for o in outcomes)}" for k in sorted({o['status'] for o in outcomes})))


if __name__ == "__main__":
    main()
