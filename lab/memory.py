"""How much memory a student needs: the peak of the student's kernel running a solved notebook on
the real data, and the peak of nbgrader's Validate, which starts a second kernel beside it.

A JupyterHub pod is often given 2 GiB; both peaks together must fit in it, since Validate runs
while the student's own kernel is still alive. The long trainings (hours on a laptop) are run
for ``--train-seconds`` each and then interrupted, which reaches their memory peak (the data
and the model are in memory from the first batch on) without their hours.

    python -m lab.memory --data-dir ~/.cache/cifar10-mirror     # writes results/memory.json
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil
from jupyter_client.manager import start_new_kernel

from demo import submissions
from grader.assignment import ASSIGNMENT, NOTEBOOK, REPO_ROOT, SOURCE_NOTEBOOK
from grader.files import write_json

from .machine import run_metadata
from .options import data_dir_env

GIB = 1024 ** 3
#: The memory of a common JupyterHub pod.
POD_LIMIT = 2 * GIB
#: A long training: a cell that trains on the full data through the training cache.
LONG_TRAINING = "utils.trained("
#: How the figures were made, written into results/memory.json beside them.
METHOD = ("Proportional set size (PSS) of the kernel and its children, sampled every 0.1 s, per "
          "code cell of the teacher's answers run in order as Run All does, on the real data. "
          "Each long training is interrupted after --train-seconds (its peak is reached within "
          "the first epoch); an interrupted fit keeps its copy of the training data alive, so "
          "'after' values from the first long training on are upper bounds. Validate: nbgrader "
          "validate on the same notebook, nbgrader and its kernel together.")
FORGET_TRACEBACK = ("import gc, sys\n"
                    "sys.last_type = sys.last_value = sys.last_traceback = None\n"
                    "gc.collect()\n")


class PeakMemory:
    """Samples the memory of a process and all its children until stopped.

    It counts proportional set size (PSS): each page shared between processes (TensorFlow's
    libraries, mapped by both kernels) is divided among them, so the sum over processes is what
    the machine, or a pod's memory limit, really holds. Resident size (RSS) would count those
    libraries once per kernel.
    """

    def __init__(self, pid: int, every: float = 0.1):
        self.process, self.every = psutil.Process(pid), every
        self.peak = self.current = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = 0
        for process in [self.process, *self.process.children(recursive=True)]:
            try:
                total += process.memory_full_info().pss
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.current = self._sample()
            except psutil.NoSuchProcess:
                return
            self.peak = max(self.peak, self.current)
            time.sleep(self.every)

    def reset_peak(self) -> None:
        self.peak = self.current

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def student_folder(root: Path) -> Path:
    """The release as a student has it, answered with the teacher's solutions."""
    folder = root / ASSIGNMENT
    shutil.copytree(REPO_ROOT / "release" / ASSIGNMENT, folder,
                    ignore=shutil.ignore_patterns("__pycache__"))
    nbformat.write(submissions.solved(folder / NOTEBOOK, SOURCE_NOTEBOOK), folder / NOTEBOOK)
    return folder


def run_student_kernel(folder: Path, train_seconds: float) -> list[dict]:
    """Run every code cell in a kernel of its own, as Run All does; memory per cell."""
    nb = nbformat.read(folder / NOTEBOOK, as_version=4)
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(folder))
    cells = []
    try:
        with PeakMemory(manager.provisioner.process.pid) as memory:
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                memory.reset_peak()
                long = LONG_TRAINING in cell.source
                msg_id = client.execute(cell.source)
                started = time.monotonic()
                interrupted = False
                while True:
                    try:
                        reply = client.get_shell_msg(timeout=1)
                    except Exception:  # noqa: BLE001 (queue.Empty: still running)
                        if long and not interrupted and time.monotonic() - started > train_seconds:
                            manager.interrupt_kernel()
                            interrupted = True
                        continue
                    if reply["parent_header"].get("msg_id") == msg_id:
                        break
                if interrupted:
                    # A finished training leaves no traceback behind; an interrupted one does,
                    # and it holds the training's frames (and their copies of the data).
                    client.execute_interactive(FORGET_TRACEBACK, silent=True, timeout=60)
                time.sleep(0.5)  # one more sample after the cell
                cells.append({"cell": index, "first_line": cell.source.splitlines()[0][:80],
                              "seconds": round(time.monotonic() - started, 1),
                              "status": reply["content"]["status"],
                              "interrupted_after_s": train_seconds if interrupted else None,
                              "peak_bytes": memory.peak, "after_bytes": memory.current})
                print(f"cell {index:3d}: peak {memory.peak / GIB:5.2f} GiB, after "
                      f"{memory.current / GIB:5.2f} GiB  {cells[-1]['first_line']}", flush=True)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return cells


def run_validate(folder: Path) -> dict:
    """``nbgrader validate`` on the notebook: the peak of nbgrader and its kernel together."""
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "nbgrader", "validate", NOTEBOOK],
                               cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    with PeakMemory(process.pid) as memory:
        output, _ = process.communicate(timeout=1800)
    return {"peak_bytes": memory.peak, "seconds": round(time.monotonic() - started, 1),
            "passed": "Success! Your notebook passes all the tests." in output}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder holding cifar-10-batches-py (default $CIFAR10_DIR)")
    parser.add_argument("--train-seconds", type=float, default=90,
                        help="how long each long training runs before it is interrupted")
    parser.add_argument("--out", default="results", help="results folder (default: %(default)s/)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="cifar10-memory-") as tmp, data_dir_env(args.data_dir):
        home = Path(tmp)
        folder = student_folder(home)
        os.environ["CIFAR10_TRAINING_CACHE"] = str(home / "training-cache")
        cells = run_student_kernel(folder, args.train_seconds)
        validate = run_validate(folder)
    kernel_peak = max(c["peak_bytes"] for c in cells)
    together = kernel_peak + validate["peak_bytes"]
    result = {
        "metadata": run_metadata(sys.argv[1:] if argv is None else argv, args.data_dir,
                                 "CIFAR-10 (JPEG mirror)", "python -m lab.memory"),
        "method": METHOD,
        "train_seconds": args.train_seconds,
        "pod_limit_bytes": POD_LIMIT,
        "student_kernel_peak_bytes": kernel_peak,
        "student_kernel_peak_cell": max(cells, key=lambda c: c["peak_bytes"])["cell"],
        "validate": validate,
        "kernel_and_validate_bytes": together,
        "fits_in_pod": together <= POD_LIMIT,
        "cells": cells,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "memory.json", result)
    print(f"student kernel peak {kernel_peak / GIB:.2f} GiB (cell {result['student_kernel_peak_cell']}),"
          f" Validate peak {validate['peak_bytes'] / GIB:.2f} GiB, together {together / GIB:.2f} GiB"
          f" of {POD_LIMIT / GIB:.0f} GiB; Validate {'passed' if validate['passed'] else 'FAILED'}")


if __name__ == "__main__":
    main()
