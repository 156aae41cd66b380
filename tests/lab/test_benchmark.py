"""Tests of ``python -m lab.benchmark`` on a tiny synthetic CIFAR-10 (60 + 20 images).

The models are the teacher notebook's real functions with their real settings (the MLP trains
its full 20 epochs); only the data are tiny. The CNNs are not trained here (30 epochs take too
long even on 50 images); the optimised CNN runs one epoch through ``--optimized-epochs``.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys

import pytest

keras = pytest.importorskip("keras")

from grader.assignment import MODELS, REPO_ROOT, TeacherNotebook  # noqa: E402
from lab import benchmark  # noqa: E402

LIMIT = 50  # of the 60 synthetic training images; 10 test images


def run(data_dir, out, *extra):
    return benchmark.main(["--data-dir", str(data_dir), "--out", str(out), "--limit", str(LIMIT),
                           "--data-note", "synthetic (tests)", *extra])


def results(out):
    return json.loads((out / "benchmark.json").read_text())


def test_reference_functions_find_all_ten():
    notebook = TeacherNotebook()
    functions = notebook.reference_functions()
    assert set(notebook.functions) < set(functions) and len(notebook.functions) == 10
    assert set(functions) - set(notebook.functions) == {"fit_optimized_cnn"}, "the teacher's helper"
    assert {f for m in MODELS.values() for f in (m.loader, m.build, m.train)} <= set(functions)
    assert all(callable(f) for f in functions.values())
    grade_ids = list(notebook.function_cells)
    assert "first_image_of_each_class" not in grade_ids  # a figure cell, not definitions
    assert functions["build_multilayer_nn"]().count_params() == 308_310


def test_mlp_run_writes_results_skips_when_done_and_reruns_with_force(data_dir, tmp_path, capsys):
    out = tmp_path / "results"
    out.mkdir()
    other = {"name": "cnn", "title": "kept", "epochs": 30, "limit": None, "test_accuracy": 0.7}
    (out / "benchmark.json").write_text(json.dumps(
        {"schema": 1, "models": {"cnn": other}, "speed": {"ratio": 2.0, "variants": {}}}))

    run(data_dir, out, "--models", "mlp")
    first = results(out)
    mlp = first["models"]["mlp"]
    assert mlp["limit"] == LIMIT and mlp["train_images"] == LIMIT and mlp["test_images"] == 10
    assert mlp["parameters"] == 308_310 and mlp["epochs"] == 20 and mlp["batch_size"] == 32
    assert len(mlp["history"]["loss"]) == 20 and len(mlp["history"]["val_accuracy"]) == 20
    assert len(mlp["epoch_seconds"]) == 20 and mlp["seconds_per_epoch_median"] > 0
    assert mlp["epoch_times_include_validation"] is False
    assert mlp["validation_seconds_per_epoch_median"] > 0
    assert 0 <= mlp["test_accuracy"] <= 1 and mlp["test_loss"] > 0
    assert 0 <= mlp["test_accuracy_flip_tta"] <= 1
    assert 0 <= mlp["test_accuracy_crop_tta"] <= 1
    assert mlp["final_train_loss"] == mlp["history"]["loss"][-1]
    assert first["models"]["cnn"] == other and first["speed"]["ratio"] == 2.0  # merged, kept
    meta = first["metadata"]
    assert meta["data"] == {"dir": data_dir.name, "note": "synthetic (tests)"}
    assert meta["command"].startswith("python -m lab.benchmark --data-dir")
    assert meta["machine"]["logical_cores"] >= 1 and meta["versions"]["keras"].startswith("3.")
    assert meta["versions"]["keras_backend"] == "tensorflow" and meta["versions"]["tensorflow"]
    readme = (out / "README.md").read_text()
    assert f"limit {LIMIT}" in readme and "not a reference figure" in readme
    assert "| 308,310 | 20 |" in readme
    assert (out / "curves_mlp.png").stat().st_size > 1000
    assert not (out / ".backup").exists()
    out_text = capsys.readouterr().out
    assert "[benchmark] mlp: start" in out_text and "[benchmark] mlp: done" in out_text
    assert "Epoch 20/20" in out_text  # Keras's own per-epoch lines

    run(data_dir, out, "--models", "mlp")  # resume: finished models are skipped
    assert "mlp: skipped" in capsys.readouterr().out
    assert results(out)["models"]["mlp"] == mlp

    run(data_dir, out, "--models", "mlp", "--no-curves", "--force")
    forced = results(out)
    assert "mlp: start" in capsys.readouterr().out
    assert forced["models"]["mlp"]["date"] >= mlp["date"]
    assert forced["models"]["mlp"]["curves"] is False
    assert "val_loss" not in forced["models"]["mlp"]["history"]
    assert forced["models"]["mlp"]["validation_seconds_total"] == 0
    assert forced["models"]["cnn"] == other


def test_limit_run_never_replaces_full_data_figures(data_dir, tmp_path, capsys):
    out = tmp_path / "results"
    out.mkdir()
    full = {"name": "mlp", "epochs": 20, "limit": None, "test_accuracy": 0.48}
    (out / "benchmark.json").write_text(json.dumps({"schema": 1, "models": {"mlp": full}}))
    run(data_dir, out, "--models", "mlp")
    assert "full-data figures" in capsys.readouterr().out
    assert results(out)["models"]["mlp"] == full


class InterruptAt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt("simulated interruption")


def test_interrupted_model_resumes_at_last_finished_epoch(data_dir, tmp_path, monkeypatch):
    out = tmp_path / "results"
    real_train_model = benchmark.train_model
    monkeypatch.setattr(benchmark, "train_model",
                        functools.partial(real_train_model, extra_callbacks=[InterruptAt(7)]))
    with pytest.raises(KeyboardInterrupt):
        run(data_dir, out, "--models", "mlp")
    progress = json.loads((out / ".backup" / "mlp.progress.json").read_text())
    assert [r["epoch"] for r in progress["records"]] == list(range(7))
    assert (out / ".backup" / "mlp" / "training_metadata.json").is_file()

    monkeypatch.setattr(benchmark, "train_model", real_train_model)
    run(data_dir, out, "--models", "mlp")
    mlp = results(out)["models"]["mlp"]
    assert mlp["resumed_from_epoch"] == 7
    assert len(mlp["history"]["loss"]) == 20 and mlp["history_complete"]
    assert mlp["history"]["loss"][:7] == [r["logs"]["loss"] for r in progress["records"]]
    assert not (out / ".backup").exists()
    assert "resumed at epoch 8" in (out / "README.md").read_text()


def test_optimized_model_uses_its_own_training_settings(data_dir, tmp_path):
    out = tmp_path / "results"
    run(data_dir, out, "--models", "optimized", "--optimized-epochs", "1", "--no-curves")
    entry = results(out)["models"]["optimized"]
    assert entry["epochs"] == 1 and entry["batch_size"] == 512
    assert entry["functions"] == ["load_cifar10", "build_optimized_cnn", "train_optimized_cnn"]


def test_command_line_help_does_not_need_tensorflow():
    done = subprocess.run([sys.executable, "-m", "lab.benchmark", "--help"],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert done.returncode == 0 and "--optimized-epochs" in done.stdout
