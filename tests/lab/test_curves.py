"""Tests of the benchmark's pictures."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

from lab.curves import save_accuracy_vs_time  # noqa: E402


def test_accuracy_vs_time_draws_full_data_models_only(tmp_path):
    full = {"epochs": 2, "epoch_seconds": [60.0, 60.0], "history": {"val_accuracy": [0.5, 0.6]}}
    smoke = {**full, "limit": 500}
    png = tmp_path / "accuracy_vs_time.png"
    assert not save_accuracy_vs_time({"cnn": smoke}, png) and not png.exists()
    assert save_accuracy_vs_time({"cnn": full, "mlp": smoke}, png)
    assert png.stat().st_size > 1000
