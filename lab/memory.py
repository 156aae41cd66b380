"""How much memory a student needs: the peak of the student's kernel running a solved notebook on
the real data, and the peak of nbgrader's Validate, which starts a second kernel beside it.

A JupyterHub pod is often given 2 GiB. The kernel's peak must fit in it, and so must Validate
together with the kernel it runs beside: a student validates the finished notebook while its
kernel is still alive, so Validate is measured then, both processes sampled together. The long
trainings (hours on a laptop) are stopped after
``--train-seconds`` each, as ``EarlyStopping`` stops a training, which reaches their memory peak
(the data and the model are in memory from the first batch on) without their hours, and leaves
the kernel as a finished training does.

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
          "Each fit is stopped after --train-seconds by a callback that sets stop_training (its "
          "peak is reached within the first epoch), so it ends as a finished training does and "
          "its result is saved for reuse. Validate: nbgrader "
          "validate on the same notebook, nbgrader and its kernel, run after the last cell while "
          "the student's kernel is still alive, all three processes sampled together.")
#: Run in the kernel first: every fit stops after TRAIN_SECONDS, from its first batch on.
TIME_LIMIT = """
import functools, time, keras

class _StopAfter(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.started = time.monotonic()
    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() - self.started > {seconds}:
            self.model.stop_training = True

@functools.wraps(keras.Model.fit)
def _fit_for_a_while(self, *args, callbacks=None, _fit=keras.Model.fit, **kwargs):
    return _fit(self, *args, callbacks=[*(callbacks or []), _StopAfter()], **kwargs)

keras.Model.fit = _fit_for_a_while
"""


class PeakMemory:
    """Samples the memory of a process and all its children until stopped.

    It counts proportional set size (PSS): each page shared between processes (TensorFlow's
    libraries, mapped by both kernels) is divided among them, so the sum over processes is what
    the machine, or a pod's memory limit, really holds. Resident size (RSS) would count those
    libraries once per kernel.
    """

    def __init__(self, *pids: int, every: float = 0.1):
        self.processes, self.every = [psutil.Process(pid) for pid in pids], every
        self.peak = self.current = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = 0
        for root in self.processes:
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
            for process in tree:
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
            if not any(p.is_running() for p in self.processes):
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


def run_student_kernel(folder: Path, train_seconds: float) -> tuple[list[dict], dict]:
    """Run every code cell in a kernel of its own, as Run All does; memory per cell. Then
    Validate, beside that kernel."""
    nb = nbformat.read(folder / NOTEBOOK, as_version=4)
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(folder))
    cells = []
    try:
        client.execute_interactive(TIME_LIMIT.format(seconds=float(train_seconds)), silent=True,
                                   timeout=120)
        with PeakMemory(manager.provisioner.process.pid) as memory:
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                memory.reset_peak()
                long = LONG_TRAINING in cell.source
                started = time.monotonic()
                reply = client.execute_interactive(cell.source, timeout=3600,
                                                   output_hook=lambda message: None)
                time.sleep(0.5)  # one more sample after the cell
                cells.append({"cell": index, "first_line": cell.source.splitlines()[0][:80],
                              "seconds": round(time.monotonic() - started, 1),
                              "status": reply["content"]["status"],
                              "stopped_after_s": train_seconds if long else None,
                              "peak_bytes": memory.peak, "after_bytes": memory.current})
                print(f"cell {index:3d}: peak {memory.peak / GIB:5.2f} GiB, after "
                      f"{memory.current / GIB:5.2f} GiB  {cells[-1]['first_line']}", flush=True)
        validate = run_validate(folder, manager.provisioner.process.pid)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return cells, validate


def run_validate(folder: Path, kernel_pid: int) -> dict:
    """``nbgrader validate`` on the notebook while the student's kernel is alive: the peak of
    nbgrader and its kernel, and of those two with the student's kernel."""
    started = time.monotonic()
    with PeakMemory(kernel_pid) as kernel:
        time.sleep(1.0)
        idle = kernel.current
        process = subprocess.Popen([sys.executable, "-m", "nbgrader", "validate", NOTEBOOK],
                                   cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True)
        with PeakMemory(process.pid) as alone, PeakMemory(process.pid, kernel_pid) as together:
            output, _ = process.communicate(timeout=1800)
    return {"peak_bytes": alone.peak, "with_student_kernel_bytes": together.peak,
            "student_kernel_idle_bytes": idle, "seconds": round(time.monotonic() - started, 1),
            "passed": "Success! Your notebook passes all the tests." in output}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder holding cifar-10-batches-py (default $CIFAR10_DIR)")
    parser.add_argument("--train-seconds", type=float, default=90,
                        help="how long each long training runs before it is stopped")
    parser.add_argument("--out", default="results", help="results folder (default: %(default)s/)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="cifar10-memory-") as tmp, data_dir_env(args.data_dir):
        home = Path(tmp)
        folder = student_folder(home)
        os.environ["CIFAR10_TRAINING_CACHE"] = str(home / "training-cache")
        cells, validate = run_student_kernel(folder, args.train_seconds)
    failed = [c for c in cells if c["status"] != "ok"]
    if failed:
        raise SystemExit(f"{len(failed)} cells of the solved notebook failed (first: cell "
                         f"{failed[0]['cell']}, {failed[0]['first_line']!r}): not measured.")
    kernel_peak = max(c["peak_bytes"] for c in cells)
    together = validate["with_student_kernel_bytes"]
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
        "kernel_peak_plus_validate_peak_bytes": kernel_peak + validate["peak_bytes"],
        "fits_in_pod": max(kernel_peak, together) <= POD_LIMIT,
        "cells": cells,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "memory.json", result)
    print(f"student kernel peak {kernel_peak / GIB:.2f} GiB (cell {result['student_kernel_peak_cell']}),"
          f" Validate peak {validate['peak_bytes'] / GIB:.2f} GiB, Validate beside the idle kernel "
          f"{together / GIB:.2f} GiB, of {POD_LIMIT / GIB:.0f} GiB; "
          f"Validate {'passed' if validate['passed'] else 'FAILED'}")


if __name__ == "__main__":
    main()
