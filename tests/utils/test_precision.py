"""Tests of ``utils.fast_training``: it reads the CPU right, switches Keras's policy only where it
helps, keeps output layers in float32, and the graded functions are judged the same with it on."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from grader.assignment import TeacherNotebook  # noqa: E402
from utils import cache, evidence, grading, precision  # noqa: E402


@pytest.fixture(autouse=True)
def float32_afterwards():
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("machine, flags, expected", [
    ("x86_64", {"avx2", "avx512f", "avx512_bf16"}, (True, "AVX512-BF16")),
    ("x86_64", {"avx2", "amx_tile", "amx_bf16", "avx512_bf16"}, (True, "AMX-BF16")),
    ("x86_64", {"avx", "avx2", "avx512f"}, (False, "this x86 CPU has neither AVX512-BF16 nor AMX")),
    ("aarch64", {"fp", "asimd", "bf16", "i8mm"}, (True, "Arm BF16")),
    ("aarch64", {"fp", "asimd"}, (False, "this Arm CPU has no BF16 extension")),
])
def test_bfloat16_support_is_read_from_the_cpu_flags(monkeypatch, machine, flags, expected):
    monkeypatch.setattr(precision.platform, "machine", lambda: machine)
    monkeypatch.setattr(precision.platform, "system", lambda: "Linux")
    monkeypatch.setattr(precision, "_cpu_flags", lambda: flags)
    assert precision.bfloat16_support() == expected


def test_fast_training_follows_the_cpu_and_says_why(monkeypatch, capsys):
    monkeypatch.setattr(precision, "bfloat16_support", lambda: (True, "AVX512-BF16"))
    assert precision.fast_training() == "mixed_bfloat16"
    assert "bfloat16 (AVX512-BF16)" in capsys.readouterr().out
    monkeypatch.setattr(precision, "bfloat16_support", lambda: (False, "this CPU has no BF16"))
    assert precision.fast_training() == "float32"
    assert "this CPU has no BF16, so bfloat16 would be slower here" in capsys.readouterr().out
    assert precision.fast_training(bfloat16=True) == "mixed_bfloat16"
    assert "expect slower training" in capsys.readouterr().out


def test_grading_keeps_the_policy_it_finds(monkeypatch):
    monkeypatch.setattr(precision, "bfloat16_support", lambda: (True, "AVX512-BF16"))
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert precision.fast_training() == "float32"


def small_cnn():
    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])


def test_the_output_layer_computes_in_float32_and_the_others_in_bfloat16():
    precision.fast_training(bfloat16=True)
    model = precision.float32_output(small_cnn())
    assert [layer.compute_dtype for layer in model.layers] == ["bfloat16", "bfloat16", "float32"]
    probabilities = model(np.random.default_rng(0).random((4, 8, 8, 3), dtype=np.float32))
    assert probabilities.dtype == "float32"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(probabilities).sum(axis=1), 1, atol=1e-6)
    assert all(v.dtype == "float32" for v in model.weights)  # the updates stay in float32


def test_a_float32_model_is_left_as_it_is():
    model = precision.float32_output(small_cnn())
    assert {layer.compute_dtype for layer in model.layers} == {"float32"}


def test_a_saved_bfloat16_training_is_reused_with_its_float32_output(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    precision.fast_training(bfloat16=True)
    rng = np.random.default_rng(1)
    x, y = rng.random((16, 8, 8, 3), dtype=np.float32), np.eye(3, dtype=np.float32)[rng.integers(0, 3, 16)]

    def train(model, xtrain, ytrain):
        model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
        return model.fit(xtrain, ytrain, epochs=2, batch_size=8, verbose=0)

    model, history = cache.trained(small_cnn, train, x, y)
    again, same = cache.trained(small_cnn, train, x, y)
    assert again is not model and same.history == history.history
    assert [layer.compute_dtype for layer in again.layers] == ["bfloat16", "bfloat16", "float32"]
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


@pytest.fixture(scope="module")
def reference():
    return TeacherNotebook().reference_functions()


@pytest.mark.parametrize("grade_id", sorted(grading.TESTS))
def test_the_teachers_answers_pass_every_test_under_bfloat16(grade_id, reference, monkeypatch):
    precision.fast_training(bfloat16=True)
    function = reference[grade_id.removeprefix("test_").removesuffix("_basic").removesuffix("_hidden")]
    sent = []
    monkeypatch.setenv(evidence.NONCE_ENV, "a-grading-run")
    monkeypatch.setattr("IPython.display.display", lambda value, raw=False: sent.append({"data": value}))
    grading.run(grade_id, function)
    assert grading.judge(grade_id, evidence.from_outputs(sent, grade_id, "a-grading-run")) is None
