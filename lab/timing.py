"""Time ``nbgrader autograde`` of one full-marks submission, and its memory.

    python -m lab.timing --runs 3      # data from $CIFAR10_DIR (or Keras), as in a real course
    python -m lab.timing --runs 3 --before REV   # and the course as it was at git revision REV,
                                                 # run by run in turn, side by side
    python -m lab.timing --runs 3 --floor        # and a notebook that only imports Keras: what
                                                 # any grading costs (nbgrader, kernel, TensorFlow)

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


def course_at(revision: str, target: Path):
    """A scratch course with the config and source of git *revision*, and a solved submission."""
    import io
    import subprocess
    import tarfile

    from grader.course import Course

    archive = subprocess.run(["git", "archive", revision, "nbgrader_config.py", "source"],
                             cwd=REPO_ROOT, check=True, capture_output=True).stdout
    target.mkdir(parents=True)
    tarfile.open(fileobj=io.BytesIO(archive)).extractall(target, filter="data")
    course = Course(target)
    course.generate_release()
    course.submit(STUDENT, submissions.build(course, "solved"))
    return course


FLOOR_CELL = "import keras"


def floor_course(target: Path):
    """A scratch course whose notebook only imports Keras, with that notebook handed in: grading
    it costs what every grading costs (nbgrader, the kernel, TensorFlow's import), and no more."""
    import shutil

    import nbformat

    from grader.assignment import ASSIGNMENT, NOTEBOOK
    from grader.course import Course

    target.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "nbgrader_config.py", target)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FLOOR_CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (target / "source" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(nb, target / "source" / ASSIGNMENT / NOTEBOOK)
    course = Course(target)
    course.generate_release()
    course.submit(STUDENT, nbformat.read(course.release_notebook, as_version=4))
    return course


def time_one(course) -> dict:
    """Grade the course's one submission again; seconds, peak memory and points."""
    started = time.perf_counter()
    with PeakMemory() as memory:
        course.autograde(STUDENT, check=True)
    return {"seconds": round(time.perf_counter() - started, 1),
            "kernel_peak_mib": round(memory.kernel / 2**20, 1),
            "total_peak_mib": round(memory.total / 2**20, 1), "points": course.totals()[STUDENT]}


def medians_of(runs: list[dict]) -> dict:
    return {key: round(statistics.median(r[key] for r in runs), 1)
            for key in ("seconds", "kernel_peak_mib", "total_peak_mib")}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULT,
                        help="the JSON file to write (default: results/timing.json)")
    parser.add_argument("--before", metavar="REV",
                        help="also time the course's config and notebook as of this git revision "
                             "(the helpers and the grader are this checkout's), alternating runs")
    parser.add_argument("--floor", action="store_true",
                        help="also time a notebook that only imports Keras, alternating runs")
    args = parser.parse_args(argv)
    data_dir = os.environ.get(DATA_DIR_ENV) or None
    # The command with every setting spelled out; the data are in the environment.
    metadata = run_metadata(["--runs", str(args.runs)] + (["--before", args.before] if args.before
                                                          else []) + (["--floor"] if args.floor else []),
                            data_dir, describe_data(data_dir), PROGRAM)
    with tempfile.TemporaryDirectory(prefix="cifar10-timing-") as tmp:
        courses = {"now": submissions.scratch_course(Path(tmp) / "now", {STUDENT: "solved"})}
        if args.before:
            courses["before"] = course_at(args.before, Path(tmp) / "before")
        if args.floor:
            courses["floor"] = floor_course(Path(tmp) / "floor")
        runs = {name: [] for name in courses}
        for run in range(1, args.runs + 1):
            for name, course in courses.items():
                r = time_one(course)
                runs[name].append(r)
                print(f"{name} run {run}: {r['seconds']:.1f} s, {r['points']:g} points, peak memory: "
                      f"kernel {r['kernel_peak_mib']:.0f} MiB, all of nbgrader's processes "
                      f"{r['total_peak_mib']:.0f} MiB", flush=True)
    result = {"date": metadata["date"], "command": metadata["command"],
              "machine": metadata["machine"], "versions": metadata["versions"],
              "data": {**metadata["data"], DATA_DIR_ENV: data_dir},
              "runs": runs["now"], "medians": medians_of(runs["now"])}
    if args.before:
        result["before"] = {"revision": args.before, "runs": runs["before"],
                            "medians": medians_of(runs["before"])}
    if args.floor:
        result["floor"] = {"notebook": FLOOR_CELL, "runs": runs["floor"],
                           "medians": medians_of(runs["floor"])}
        result["above_floor_seconds"] = round(result["medians"]["seconds"]
                                              - result["floor"]["medians"]["seconds"], 1)
    for name in courses:
        m = medians_of(runs[name])
        print(f"{name}: median of {args.runs}: {m['seconds']:.1f} s per submission; peak memory "
              f"{m['kernel_peak_mib']:.0f} MiB in the kernel, {m['total_peak_mib']:.0f} MiB in all")
    write_json(args.out, result)
    print(f"written to {args.out}")
    return result


if __name__ == "__main__":
    main()
