"""Measuring and steering one training call of the teacher notebook's own code.

The lab trains with the notebook's ``train_...`` functions unchanged, so that what it measures is
what students are asked to write. Whatever a measurement needs (a timing callback, a backup,
validation data, another input pipeline, another optimiser) goes in from outside:
:func:`patched_training` passes the arguments of the model's ``fit`` and ``compile`` calls through
a function while the notebook's code runs.
"""

from __future__ import annotations

import contextlib
import inspect
import time
from pathlib import Path
from typing import Callable

from grader.files import write_json

#: A change to a call: it gets the call's arguments by name and returns those to call with.
ArgumentsChange = Callable[[dict], dict]

#: The teacher's Question 3.3 answer trains through this function, which takes the number of
#: epochs; ``train_optimized_cnn(model, xtrain, ytrain)`` calls it with the answer's own.
OPTIMIZED_RECIPE = "fit_optimized_cnn"


def train_optimized(functions: dict, model, xtrain, ytrain, epochs: int | None = None):
    """Train the teacher's optimised CNN, for its own number of epochs or for *epochs*."""
    if epochs:
        return functions[OPTIMIZED_RECIPE](model, xtrain, ytrain, epochs=epochs)
    return functions["train_optimized_cnn"](model, xtrain, ytrain)


def make_epoch_timer(records: dict | None = None, progress_path: Path | None = None,
                     fingerprint: dict | None = None):
    """Return a Keras callback that times every epoch and keeps its logs.

    ``records[epoch]`` gets ``train_seconds`` (the fit time of the epoch *without* the pass over
    the validation data, which Keras brackets with ``on_test_begin``/``on_test_end``),
    ``validation_seconds`` and the epoch's logs. With *progress_path* the records are saved after
    every epoch, so a run resumed by ``BackupAndRestore`` still has the history of its first part.
    """
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.records = dict(records or {})
            self._start = self._train_end = self._test_start = None
            self._validation = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()
            self._train_end = self._test_start = None
            self._validation = 0.0

        def on_test_begin(self, logs=None):
            if self._start is None:  # an evaluate() outside fit
                return
            now = time.perf_counter()
            if self._train_end is None:
                self._train_end = now
            self._test_start = now

        def on_test_end(self, logs=None):
            if self._test_start is not None:
                self._validation += time.perf_counter() - self._test_start
                self._test_start = None

        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            logs = {key: float(value) for key, value in (logs or {}).items()}
            validated = any(key.startswith("val_") for key in logs)
            # If Keras ever validated without on_test_begin, the time includes that pass: say so.
            includes_validation = validated and self._train_end is None
            self.records[epoch] = {
                "train_seconds": (self._train_end or now) - self._start,
                "validation_seconds": None if includes_validation or not validated
                else self._validation,
                "includes_validation": includes_validation,
                "logs": logs,
            }
            self._start = None
            if progress_path is not None:
                write_json(progress_path, {"fingerprint": fingerprint,
                                           "records": records_to_json(self.records)})

    return EpochTimer()


def records_to_json(records: dict) -> list:
    """An epoch timer's records as a JSON list (JSON object keys cannot be numbers)."""
    return [{"epoch": epoch, **record} for epoch, record in sorted(records.items())]


def records_from_json(items: list) -> dict:
    """The records :func:`records_to_json` saved, keyed by epoch again."""
    return {int(item["epoch"]): {k: v for k, v in item.items() if k != "epoch"} for item in items}


def bind_arguments(function, args: tuple, kwargs: dict) -> dict:
    """The arguments of a call of *function*, by name (defaults filled in)."""
    bound = inspect.signature(function).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def fit_batch_size(fit_arguments: dict) -> int | None:
    """The batch size ``model.fit`` trains with: its argument, a ``PyDataset``'s ``batch_size``,
    or a given ``tf.data`` pipeline's."""
    if fit_arguments.get("batch_size"):
        return int(fit_arguments["batch_size"])
    data = fit_arguments.get("x")
    if isinstance(getattr(data, "batch_size", None), int):  # utils.training.AugmentedBatches
        return data.batch_size
    if not hasattr(data, "element_spec"):  # not a tf.data.Dataset
        return None
    # The size the pipeline batches to (tf.data keeps it on its batching step), else the size of
    # its first batch, which is smaller when there are fewer images than that.
    stage = data
    while stage is not None:
        if getattr(stage, "_batch_size", None) is not None:
            return int(stage._batch_size)
        stage = getattr(stage, "_input_dataset", None)
    return int(next(iter(data.take(1)))[0].shape[0])


def with_callbacks(fit_arguments: dict, *callbacks) -> dict:
    """*fit_arguments* with *callbacks* after the call's own, and one log line per epoch."""
    return {**fit_arguments, "callbacks": [*(fit_arguments.get("callbacks") or []), *callbacks],
            "verbose": 2}


@contextlib.contextmanager
def patched_training(model, *, fit: ArgumentsChange | None = None,
                     compile: ArgumentsChange | None = None):
    """While the block runs, ``model.fit`` and ``model.compile`` calls go through *fit* and
    *compile* first.

    Each change gets the call's arguments by name, defaults filled in, and returns the arguments
    to make the call with: the same dict changed, or a new one. The model's own methods are back
    afterwards, also when the training fails.
    """
    changes = {name: change for name, change in (("fit", fit), ("compile", compile)) if change}

    def through(original, change):
        def call(*args, **kwargs):
            return original(**change(bind_arguments(original, args, kwargs)))
        return call

    for name, change in changes.items():
        setattr(model, name, through(getattr(model, name), change))
    try:
        yield model
    finally:
        for name in changes:
            delattr(model, name)
