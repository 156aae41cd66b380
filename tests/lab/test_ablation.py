"""Tests of ``python -m lab.ablation``: its runs, its table, and what it skips.

The runs train the teacher notebook's real optimised model for one epoch on synthetic CIFAR-10.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("keras")

from lab import ablation  # noqa: E402
from utils.data import write_synthetic_cifar10  # noqa: E402


def test_sweep_options_scale_learning_rate_and_weight_decay_only():
    args = ablation.build_parser().parse_args(["--learning-rate-scale", "2"])
    assert (args.learning_rate_scale, args.weight_decay_scale) == (2.0, 1.0)
    with pytest.raises(SystemExit):  # the recipe already spares batch normalisation from decay
        ablation.build_parser().parse_args(["--no-decay-normalization"])


def test_main_records_runs_renders_table_and_skips_them_next_time(tmp_path, capsys):
    data = write_synthetic_cifar10(tmp_path / "cifar10", train_per_class=4, test_per_class=1)
    out = tmp_path / "results"
    argv = ["--data-dir", str(data), "--out", str(out), "--train-images", "24", "--epochs", "1",
            "--variants", "recipe", "no-label-smoothing", "--data-note", "synthetic (tests)"]
    assert ablation.main(argv) == 0
    runs = json.loads((out / "ablation.json").read_text())["runs"]
    assert {run["variant"] for run in runs.values()} == {"recipe", "no-label-smoothing"}
    for run in runs.values():
        assert run["train_images"] == 24 and run["test_images"] == 10 and run["epochs"] == 1
        assert 0.0 <= run["test_accuracy_crop_tta"] <= 1.0
    table = (out / "ablation.md").read_text()
    assert "## 24 training images, 1 epoch" in table
    assert "| `no-label-smoothing` |" in table and "synthetic (tests)" in table

    capsys.readouterr()
    assert ablation.main(argv) == 0
    assert capsys.readouterr().out.count("skipped") == 2
    assert all(run["command"].startswith("python -m lab.ablation --data-dir")
               for run in runs.values())

    (out / "ablation.md").unlink()
    assert ablation.main(["--render-only", "--out", str(out)]) == 0
    assert (out / "ablation.md").read_text() == table
    assert ablation.main(["--render-only", "--out", str(tmp_path / "empty")]) == 1
