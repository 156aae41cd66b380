"""Tests of ``python -m lab.speed``: the tuned input feeds the same data, and the comparison.

The workers train the teacher notebook's real Q3.1 CNN for two epochs on 40 synthetic images.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from grader.assignment import REPO_ROOT  # noqa: E402
from lab import speed  # noqa: E402


def test_fast_dataset_keeps_the_data_and_batch_size():
    x = np.arange(10 * 2, dtype=np.float64).reshape(10, 2)
    y = np.eye(10)[np.arange(10) % 3]
    batches = list(speed.fast_dataset(x, y, batch_size=4))
    assert [len(bx) for bx, _ in batches] == [4, 4, 2]
    bx = np.concatenate([b.numpy() for b, _ in batches])
    by = np.concatenate([b.numpy() for _, b in batches])
    assert bx.dtype == np.float32 and by.dtype == np.float32
    order = np.argsort(bx[:, 0])
    np.testing.assert_array_equal(bx[order], x)
    np.testing.assert_array_equal(by[order], y)  # every label stays with its image


def test_speed_mode_records_both_variants(data_dir, tmp_path, monkeypatch):
    """The orchestration and both workers, in this process (the real run uses subprocesses)."""
    def in_process(command, **kwargs):
        assert command[1:3] == ["-m", "lab.speed"]
        assert speed.main(command[3:]) == 0
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(speed.subprocess, "run", in_process)
    out = tmp_path / "results"
    speed.main(["--data-dir", str(data_dir), "--out", str(out), "--images", "40", "--epochs", "2",
                "--variants", "plain", "tuned", "tuned-xla", "--steps-per-execution", "2"])
    comparison = json.loads((out / "benchmark.json").read_text())["speed"]
    plain, tuned = comparison["variants"]["plain"], comparison["variants"]["tuned"]
    assert plain["images"] == tuned["images"] == 40 and len(plain["epoch_seconds"]) == 2
    assert plain["batch_size"] == tuned["batch_size"] == 32
    assert tuned["steps_per_execution"] == 2 and plain["steps_per_execution"] == 1
    assert comparison["ratio"] == pytest.approx(
        plain["seconds_per_epoch_median"] / tuned["seconds_per_epoch_median"])
    assert comparison["ratio_after_first"] == pytest.approx(
        plain["epoch_seconds"][1] / tuned["epoch_seconds"][1])
    assert plain["y_dtype"] == "float64" and tuned["steps_per_execution"] == 2
    xla = comparison["variants"]["tuned-xla"]
    assert xla["jit_compile"] and not tuned["jit_compile"] and xla["steps_per_execution"] == 2
    assert comparison["ratio_xla"] == pytest.approx(
        plain["seconds_per_epoch_median"] / xla["seconds_per_epoch_median"])
    report = (out / "README.md").read_text()
    assert "Speed: training the Question 3.1 CNN faster" in report and "plain ÷ tuned-xla" in report


def test_threads_verdict_needs_a_gain_beyond_the_noise():
    threads = (2, 2)
    # Medians 10 % apart, but the epoch times overlap: noise, not a gain.
    helps, text = speed.threads_verdict([19.1, 19.2, 18.3], [20.2, 18.8, 15.4], threads)
    assert not helps and "overlap" in text and "1.10×" in text
    # Every epoch with the settings faster than every epoch without: a gain.
    helps, text = speed.threads_verdict([30.0, 20.0, 20.5], [25.0, 17.0, 17.5], threads)
    assert helps and "help measurably" in text
    helps, text = speed.threads_verdict([20.0, 20.0], [19.5, 19.6], threads)
    assert not helps and "under 5 %" in text


def test_command_line_help_does_not_need_tensorflow():
    done = subprocess.run([sys.executable, "-m", "lab.speed", "--help"],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert done.returncode == 0 and "--steps-per-execution" in done.stdout
