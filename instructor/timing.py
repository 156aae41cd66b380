"""Time ``nbgrader autograde`` of one full-marks submission, and its memory: figures in README.md.

    python -m instructor.timing --runs 3      # data from $CIFAR10_DIR (or Keras), as in a real course

Each run grades the same submission again (``--force``) in a fresh course copy, so the time
includes everything nbgrader does: starting a kernel, importing TensorFlow, running every cell.
While it runs, the resident memory of the grading kernel (and of everything nbgrader started) is
sampled five times a second; the peak is what one grading worker needs, which sizes how many can
share a machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil

from . import submissions
from .course import Course


class PeakMemory:
    """Sample the resident memory of this process's descendants until stopped (a context manager).

    ``kernel`` is the peak of the largest single descendant (the Jupyter kernel running the
    notebook), ``total`` the peak of all of them together (nbgrader's own process included).
    """

    def __init__(self, interval: float = 0.2):
        self.interval, self.kernel, self.total = interval, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            sizes = []
            for child in me.children(recursive=True):
                try:
                    sizes.append(child.memory_info().rss)
                except psutil.Error:  # it ended between listing and reading
                    pass
            if sizes:
                self.kernel, self.total = max(self.kernel, max(sizes)), max(self.total, sum(sizes))
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cifar10-timing-") as tmp:
        course = Course.copy_of(Path(tmp))
        course.generate_release()
        course.submit("timing", submissions.solved(course.release_notebook, course.source_notebook))
        seconds, kernel_mb, total_mb = [], [], []
        for run in range(1, args.runs + 1):
            started = time.perf_counter()
            with PeakMemory() as memory:
                course.autograde("timing", check=True)
            seconds.append(time.perf_counter() - started)
            kernel_mb.append(memory.kernel / 2**20)
            total_mb.append(memory.total / 2**20)
            score = course.totals()["timing"]
            print(f"run {run}: {seconds[-1]:.1f} s, {score:g} points, peak memory: kernel "
                  f"{kernel_mb[-1]:.0f} MiB, all of nbgrader's processes {total_mb[-1]:.0f} MiB")
    print(f"median of {args.runs}: {statistics.median(seconds):.1f} s per submission; peak "
          f"memory {statistics.median(kernel_mb):.0f} MiB in the kernel, "
          f"{statistics.median(total_mb):.0f} MiB in all")


if __name__ == "__main__":
    main()
