"""Time ``nbgrader autograde`` of one full-marks submission: the figure quoted in README.md.

    python -m instructor.timing --runs 3      # data from $CIFAR10_DIR (or Keras), as in a real course

Each run grades the same submission again (``--force``) in a fresh course copy, so the time
includes everything nbgrader does: starting a kernel, importing TensorFlow, running every cell.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from . import submissions
from .course import Course


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cifar10-timing-") as tmp:
        course = Course.copy_of(Path(tmp))
        course.generate_release()
        course.submit("timing", submissions.solved(course.release_notebook, course.source_notebook))
        seconds = []
        for run in range(1, args.runs + 1):
            started = time.perf_counter()
            course.autograde("timing", check=True)
            seconds.append(time.perf_counter() - started)
            score = course.totals()["timing"]
            print(f"run {run}: {seconds[-1]:.1f} s, {score:g} points")
    print(f"median of {args.runs}: {statistics.median(seconds):.1f} s per submission")


if __name__ == "__main__":
    main()
