"""The instructor's pipeline on a demo class, end to end, with the real nbgrader commands.

    python -m demo                  # real CIFAR-10 ($CIFAR10_DIR, or Keras cache/download)
    python -m demo --data synthetic # offline: a small synthetic stand-in

Steps: regenerate the student release from source/, hand in three demo submissions (the full
solution, the untouched release, one with realistic mistakes in two functions), autograde them,
generate their feedback, export the grades to grades.csv and print a per-student, per-part table.
Everything lands in this course directory, as it would for a real class; demo students' ids
start with ``demo_``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from utils import data

from grader.assignment import REPO_ROOT
from grader.course import Course
from grader.reports import score_table

from . import submissions

#: The demo class: each student's kind of submission (see demo.submissions.KINDS).
STUDENTS = {"demo_full_marks": "solved", "demo_untouched": "release",
            "demo_two_mistakes": "mistakes"}


def resolve_data(choice: str) -> dict:
    """Return the environment the grading kernels need for *choice*, or exit with what to do."""
    if choice == "synthetic":
        root = Path(tempfile.mkdtemp(prefix="cifar10-synthetic-"))
        data.write_synthetic_cifar10(root, train_per_class=100, test_per_class=20)
        print(f"Using a synthetic stand-in for CIFAR-10 in {root} (offline demo).")
        return {data.DATA_DIR_ENV: str(root)}
    try:
        batches = data.find_batches_dir()
        if batches is None:
            print("Looking for CIFAR-10 through Keras (its cache, else a download of ~170 MB) ...")
            data.load_data()
            return {}
        print(f"Using CIFAR-10 from {batches}.")
        return {data.DATA_DIR_ENV: str(batches)}
    except data.DataNotFoundError as error:
        sys.exit(f"{error}\n\nTo run the demo without the real data set, use the offline option:\n"
                 f"    make demo DATA=synthetic     (or: python -m demo --data synthetic)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("real", "synthetic"), default="real",
                        help="real CIFAR-10 (default) or a small synthetic stand-in (offline)")
    parser.add_argument("--course", type=Path, default=REPO_ROOT,
                        help="the course directory (default: this repository)")
    args = parser.parse_args(argv)

    env = resolve_data(args.data)
    course = Course(args.course)
    started = time.perf_counter()

    print("1. nbgrader generate_assignment: source/ -> release/")
    course.generate_release()

    print("2. Handing in the demo submissions:")
    for student, kind in STUDENTS.items():
        course.submit(student, submissions.build(course, kind))
        print(f"   {student:<18} {submissions.KINDS[kind]}")

    print("3. nbgrader autograde (each one in a fresh kernel; long training is skipped) ...")
    for student in STUDENTS:
        t0 = time.perf_counter()
        result = course.autograde(student, env=env)
        status = "graded" if result.returncode == 0 else "FAILED (see nbgrader's log above)"
        if result.returncode:
            print(result.stderr[-3000:])
        print(f"   {student:<18} {status} in {time.perf_counter() - t0:.0f} s")

    print("4. nbgrader generate_feedback -> feedback/<student>/cifar10_keras/")
    course.generate_feedback()
    grades = course.export_grades(course.root / "grades.csv")
    print(f"5. nbgrader export -> {grades.relative_to(course.root)}")

    table = score_table({s: v for s, v in course.scores().items() if s in STUDENTS},
                        course.teacher.graded_cells)
    print("\nScores (parts include the points graded by hand, still 0 until graded in formgrader):")
    print(table.to_string())
    print(f"\nDone in {time.perf_counter() - started:.0f} s. Next: grade the hand-graded answers in "
          f"formgrader (jupyter lab, then Nbgrader -> Formgrader), then generate_feedback again.")


if __name__ == "__main__":
    main()
