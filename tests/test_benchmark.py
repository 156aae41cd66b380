"""Tests of ``python -m instructor.benchmark`` on a tiny synthetic CIFAR-10 (60 + 20 images).

The models are the teacher notebook's real functions with their real settings (the MLP trains
its full 20 epochs); only the data are tiny. The CNNs are not trained here (30 epochs take too
long even on 50 images); the optimised CNN runs one epoch through ``--optimized-epochs``.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from instructor import benchmark  # noqa: E402
from utils.data import write_synthetic_cifar10  # noqa: E402

LIMIT = 50  # of the 60 synthetic training images; 10 test images


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_synthetic_cifar10(tmp_path_factory.mktemp("cifar10"), train_per_class=6,
                                   test_per_class=2)


def run(data_dir, out, *extra):
    return benchmark.main(["--data-dir", str(data_dir), "--out", str(out), "--limit", str(LIMIT),
                           "--data-note", "synthetic (tests)", *extra])


def results(out):
    return json.loads((out / "benchmark.json").read_text())


def test_load_reference_functions_finds_all_ten():
    functions = benchmark.load_reference_functions(benchmark.NOTEBOOK)
    assert set(functions) == set(benchmark.REFERENCE_FUNCTIONS)
    assert all(callable(f) for f in functions.values())
    grade_ids = [grade_id for grade_id, _ in benchmark.solution_cells(benchmark.NOTEBOOK)]
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
    assert meta["command"].startswith("python -m instructor.benchmark --data-dir")
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


def test_accuracy_vs_time_draws_full_data_models_only(tmp_path):
    full = {"epochs": 2, "epoch_seconds": [60.0, 60.0], "history": {"val_accuracy": [0.5, 0.6]}}
    smoke = {**full, "limit": 500}
    png = tmp_path / "accuracy_vs_time.png"
    assert not benchmark.save_accuracy_vs_time({"cnn": smoke}, png) and not png.exists()
    assert benchmark.save_accuracy_vs_time({"cnn": full, "mlp": smoke}, png)
    assert png.stat().st_size > 1000


def test_flip_tta_averages_each_image_with_its_mirror():
    """A model that reads only the leftmost pixel: averaging with the mirror changes its answers."""
    x = np.zeros((2, 1, 2, 1), "float32")
    x[0, 0, 0, 0] = x[1, 0, 1, 0] = 0.9  # bright left pixel / bright right pixel
    left = keras.layers.Lambda(lambda t: t[:, 0, 0, :])
    two_classes = keras.Sequential([keras.Input((1, 2, 1)), left,
                                    keras.layers.Lambda(lambda p: keras.ops.concatenate([p, 1 - p], -1))])
    # image 0: [0.9, 0.1] alone, [0.45, 0.55] with its mirror; image 1: [0, 1] and [0.45, 0.55]
    assert benchmark.tta_accuracies(two_classes, x, np.eye(2)[[1, 1]])[0] == 1.0
    assert benchmark.tta_accuracies(two_classes, x, np.eye(2)[[0, 1]])[0] == 0.5
    one_sigmoid = keras.Sequential([keras.Input((1, 2, 1)), left])  # 0.45 for both: "0"
    assert benchmark.tta_accuracies(one_sigmoid, x, np.array([0, 0]))[0] == 1.0


def test_fast_dataset_keeps_the_data_and_batch_size():
    x = np.arange(10 * 2, dtype=np.float64).reshape(10, 2)
    y = np.eye(10)[np.arange(10) % 3]
    batches = list(benchmark.fast_dataset(x, y, batch_size=4))
    assert [len(bx) for bx, _ in batches] == [4, 4, 2]
    bx = np.concatenate([b.numpy() for b, _ in batches])
    by = np.concatenate([b.numpy() for _, b in batches])
    assert bx.dtype == np.float32 and by.dtype == np.float32
    order = np.argsort(bx[:, 0])
    np.testing.assert_array_equal(bx[order], x)
    np.testing.assert_array_equal(by[order], y)  # every label stays with its image


def test_batch_size_is_read_from_arrays_pipelines_and_portable_batches():
    from utils.training import AugmentedBatches, augmented_batches

    x, y = np.zeros((10, 4, 4, 3), np.float32), np.eye(10)
    assert benchmark._batch_size({"x": x, "batch_size": 32}) == 32
    assert benchmark._batch_size({"x": x, "batch_size": None}) is None
    assert benchmark._batch_size({"x": augmented_batches(x, y, 4)}) == 4
    assert benchmark._batch_size({"x": AugmentedBatches(x, y, 6)}) == 6


def test_speed_mode_records_both_variants(data_dir, tmp_path, monkeypatch):
    """The orchestration and both workers, in this process (the real run uses subprocesses)."""
    def in_process(command, **kwargs):
        assert command[1:3] == ["-m", "instructor.benchmark"]
        assert benchmark.main(command[3:]) == 0
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(benchmark.subprocess, "run", in_process)
    out = tmp_path / "results"
    benchmark.main(["--speed", "--data-dir", str(data_dir), "--out", str(out),
                    "--speed-images", "40", "--speed-epochs", "2",
                    "--speed-variants", "plain", "tuned", "tuned-xla",
                    "--steps-per-execution", "2"])
    speed = results(out)["speed"]
    plain, tuned = speed["variants"]["plain"], speed["variants"]["tuned"]
    assert plain["images"] == tuned["images"] == 40 and len(plain["epoch_seconds"]) == 2
    assert plain["batch_size"] == tuned["batch_size"] == 32
    assert tuned["steps_per_execution"] == 2 and plain["steps_per_execution"] == 1
    assert speed["ratio"] == pytest.approx(
        plain["seconds_per_epoch_median"] / tuned["seconds_per_epoch_median"])
    assert speed["ratio_after_first"] == pytest.approx(
        plain["epoch_seconds"][1] / tuned["epoch_seconds"][1])
    assert plain["y_dtype"] == "float64" and tuned["steps_per_execution"] == 2
    xla = speed["variants"]["tuned-xla"]
    assert xla["jit_compile"] and not tuned["jit_compile"] and xla["steps_per_execution"] == 2
    assert speed["ratio_xla"] == pytest.approx(
        plain["seconds_per_epoch_median"] / xla["seconds_per_epoch_median"])
    report = (out / "README.md").read_text()
    assert "Speed: training the Question 3.1 CNN faster" in report and "plain ÷ tuned-xla" in report


def test_command_line_help_does_not_need_tensorflow():
    done = subprocess.run([sys.executable, "-m", "instructor.benchmark", "--help"],
                          capture_output=True, text=True, cwd=benchmark.REPO_ROOT, timeout=60)
    assert done.returncode == 0 and "--speed-images" in done.stdout


def test_crop_tta_weighs_six_views_half_unshifted_half_shifted():
    images = np.random.default_rng(3).random((5, 32, 32, 3), dtype=np.float32)
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    shifted = [padded[:, :32, :32], padded[:, 2:, 2:]]
    views = {"unshifted": [images, images[:, :, ::-1]],
             "shifted": [s for v in shifted for s in (v, v[:, :, ::-1])]}

    class FakeModel:
        """Class 0 (0.9) on the two unshifted views, class 1 (0.8) on the four shifted ones."""
        seen = []

        def predict(self, x, batch_size=None, verbose=0):
            kind = next(k for k, vs in views.items() if any(np.array_equal(x, v) for v in vs))
            self.seen.append(kind)
            return np.tile([0.9, 0.1] if kind == "unshifted" else [0.2, 0.8], (len(x), 1))

    labels = np.tile([[1.0, 0.0]], (5, 1))
    model = FakeModel()
    # Half the weight on each group: 0.5 * 0.9 + 0.5 * 0.2 = 0.55 for class 0 (a plain mean of
    # the six views would give 0.43 and class 1).
    assert benchmark.tta_accuracies(model, images, labels)[1] == 1.0
    assert sorted(model.seen) == ["shifted"] * 4 + ["unshifted"] * 2


def test_threads_verdict_needs_a_gain_beyond_the_noise():
    threads = (2, 2)
    # Medians 10 % apart, but the epoch times overlap: noise, not a gain.
    helps, text = benchmark.threads_verdict([19.1, 19.2, 18.3], [20.2, 18.8, 15.4], threads)
    assert not helps and "overlap" in text and "1.10×" in text
    # Every epoch with the settings faster than every epoch without: a gain.
    helps, text = benchmark.threads_verdict([30.0, 20.0, 20.5], [25.0, 17.0, 17.5], threads)
    assert helps and "help measurably" in text
    helps, text = benchmark.threads_verdict([20.0, 20.0], [19.5, 19.6], threads)
    assert not helps and "under 5 %" in text
