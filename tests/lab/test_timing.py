"""Tests of ``python -m lab.timing``: its memory sampler, and the result file it writes."""

from __future__ import annotations

import json
import subprocess
import sys

from lab import timing


def test_peak_memory_sees_a_child_process():
    """lab.timing's sampler: the peak of a child that holds 200 MiB for a moment."""
    from lab.timing import PeakMemory

    with PeakMemory(interval=0.05) as memory:
        holder = "import time; block = bytes(range(256)) * (200 * 2**12); time.sleep(1)"
        subprocess.run([sys.executable, "-c", holder], check=True)
    assert 200 * 2**20 <= memory.kernel <= memory.total


def test_main_writes_every_run_the_medians_and_the_data(data_dir, tmp_path, monkeypatch, capsys):
    """A stand-in course whose grading is a child process holding 50 MiB: no nbgrader here."""
    made = {}

    class FakeCourse:
        def autograde(self, student, check=False):
            holder = "import time; block = bytes(range(256)) * (50 * 2**12); time.sleep(0.5)"
            subprocess.run([sys.executable, "-c", holder], check=True)

        def totals(self):
            return {timing.STUDENT: 42.0}

    def scratch_course(target, hand_in):
        made.update(hand_in)
        return FakeCourse()

    monkeypatch.setattr(timing.submissions, "scratch_course", scratch_course)
    monkeypatch.setenv("CIFAR10_DIR", str(data_dir))
    out = tmp_path / "timing.json"
    timing.main(["--runs", "2", "--out", str(out)])
    assert made == {timing.STUDENT: "solved"}
    result = json.loads(out.read_text())
    assert [run["points"] for run in result["runs"]] == [42.0, 42.0]
    assert all(run["seconds"] > 0 and 50 <= run["kernel_peak_mib"] <= run["total_peak_mib"]
               for run in result["runs"])
    assert set(result["medians"]) == {"seconds", "kernel_peak_mib", "total_peak_mib"}
    assert result["data"] == {"dir": data_dir.name, "note": "synthetic CIFAR-10",
                              "CIFAR10_DIR": str(data_dir)}
    assert result["command"] == "python -m lab.timing --runs 2"
    assert result["machine"]["logical_cores"] >= 1 and result["date"]
    printed = capsys.readouterr().out
    assert "run 2: " in printed and "42 points" in printed and "median of 2: " in printed


def test_a_course_as_of_a_git_revision(tmp_path):
    """--before REV grades the course's config and notebook as they were at REV, side by side."""
    course = timing.course_at("HEAD", tmp_path / "before")
    assert (course.root / "nbgrader_config.py").is_file() and course.release_notebook.is_file()
    assert course.submitted_notebook(timing.STUDENT).is_file()


def test_the_floor_is_a_course_whose_notebook_only_imports_keras(tmp_path):
    import nbformat

    course = timing.floor_course(tmp_path / "floor")
    nb = nbformat.read(course.submitted_notebook(timing.STUDENT), as_version=4)
    assert [cell.source for cell in nb.cells] == [timing.FLOOR_CELL]
