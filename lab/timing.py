"""Time ``nbgrader autograde`` of one full-marks submission, and its memory.

    python -m lab.timing --runs 3      # data from $CIFAR10_DIR (or Keras), as in a real course

Each run grades the same submission again (``--force``) in a fresh course copy, so the time
includes everything nbgrader does: starting a kernel, importing TensorFlow, running every cell.
While it runs, the resident memory of the grading kernel (and of everything nbgrader started) is
sampled five times a second; the peak is what one grading worker needs, which sizes how many can
share a machine.

Writes ``--out`` (default ``results/timing.json``): every run, the medians, and the machine and
data they were measured on.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil

from demo import submissions
from grader.assignment import REPO_ROOT
from grader.files import write_json
from utils.data import DATA_DIR_ENV

from .machine import describe_data, run_metadata

PROGRAM = "python -m lab.timing"
RESULT = REPO_ROOT / "results" / "timing.json"
STUDENT = "timing"


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


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULT,
                        help="the JSON file to write (default: results/timing.json)")
    args = parser.parse_args(argv)
    data_dir = os.environ.get(DATA_DIR_ENV) or None
    # The command with every setting spelled out; the data are in the environment.
    metadata = run_metadata(["--runs", str(args.runs)], data_dir, describe_data(data_dir), PROGRAM)
    seconds, kernel_mb, total_mb, points = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="cifar10-timing-") as tmp:
        course = submissions.scratch_course(Path(tmp), {STUDENT: "solved"})
        for run in range(1, args.runs + 1):
            started = time.perf_counter()
            with PeakMemory() as memory:
                course.autograde(STUDENT, check=True)
            seconds.append(time.perf_counter() - started)
            kernel_mb.append(memory.kernel / 2**20)
            total_mb.append(memory.total / 2**20)
            points.append(course.totals()[STUDENT])
            print(f"run {run}: {seconds[-1]:.1f} s, {points[-1]:g} points, peak memory: kernel "
                  f"{kernel_mb[-1]:.0f} MiB, all of nbgrader's processes {total_mb[-1]:.0f} MiB")
    medians = {"seconds": statistics.median(seconds),
               "kernel_peak_mib": statistics.median(kernel_mb),
               "total_peak_mib": statistics.median(total_mb)}
    print(f"median of {args.runs}: {medians['seconds']:.1f} s per submission; peak "
          f"memory {medians['kernel_peak_mib']:.0f} MiB in the kernel, "
          f"{medians['total_peak_mib']:.0f} MiB in all")
    runs = [{"seconds": round(s, 1), "kernel_peak_mib": round(k, 1), "total_peak_mib": round(t, 1),
             "points": p} for s, k, t, p in zip(seconds, kernel_mb, total_mb, points)]
    result = {"date": metadata["date"], "command": metadata["command"],
              "machine": metadata["machine"], "versions": metadata["versions"],
              "data": {**metadata["data"], DATA_DIR_ENV: data_dir},
              "runs": runs, "medians": {key: round(value, 1) for key, value in medians.items()}}
    write_json(args.out, result)
    print(f"written to {args.out}")
    return result


if __name__ == "__main__":
    main()
