"""Tests of the one way the lab steers a training call: its fit and compile arguments."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from lab.fitting import (fit_batch_size, make_epoch_timer, patched_training,  # noqa: E402
                         with_callbacks)


def tiny_model():
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])


def test_batch_size_is_read_from_arrays_pipelines_and_portable_batches():
    from utils.training import AugmentedBatches, augmented_batches

    x, y = np.zeros((10, 4, 4, 3), np.float32), np.eye(10)
    assert fit_batch_size({"x": x, "batch_size": 32}) == 32
    assert fit_batch_size({"x": x, "batch_size": None}) is None
    assert fit_batch_size({"x": augmented_batches(x, y, 4)}) == 4
    assert fit_batch_size({"x": AugmentedBatches(x, y, 6)}) == 6


def test_patched_training_passes_the_calls_arguments_by_name_and_restores_the_model():
    model = tiny_model()
    x, y = np.zeros((8, 3), np.float32), np.eye(2)[np.arange(8) % 2]
    timer = make_epoch_timer()
    seen = {}

    def compile_(arguments):
        seen["compile"] = dict(arguments)
        return {**arguments, "optimizer": "adam"}

    def fit(arguments):
        seen["fit"] = dict(arguments)
        return {**with_callbacks(arguments, timer), "epochs": 2}

    with patched_training(model, fit=fit, compile=compile_):
        model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])  # positional too
        history = model.fit(x, y, 4, 5)  # x, y, batch_size, epochs
    assert seen["compile"]["optimizer"] == "sgd" and seen["compile"]["loss"] == \
        "categorical_crossentropy"
    assert seen["compile"]["steps_per_execution"] == 1  # defaults are filled in
    assert seen["fit"]["batch_size"] == 4 and seen["fit"]["epochs"] == 5
    assert seen["fit"]["callbacks"] is None and seen["fit"]["validation_split"] == 0.0
    assert len(history.history["loss"]) == 2 and sorted(timer.records) == [0, 1]
    assert type(model.optimizer).__name__ == "Adam"
    assert "fit" not in vars(model) and "compile" not in vars(model)  # the model's own again


def test_patched_training_restores_the_model_when_training_fails():
    model = tiny_model()

    def fail(arguments):
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        with patched_training(model, fit=fail):
            model.fit(np.zeros((2, 3)), np.zeros((2, 2)))
    assert "fit" not in vars(model)


def test_with_callbacks_appends_to_the_calls_own_and_logs_each_epoch():
    own, added = object(), object()
    arguments = {"callbacks": [own], "verbose": "auto"}
    assert with_callbacks(arguments, added) == {"callbacks": [own, added], "verbose": 2}
    assert arguments["callbacks"] == [own]  # the call's list is left alone
    assert with_callbacks({"callbacks": None}, added)["callbacks"] == [added]
