"""The checks behind the assignment's test cells, written to teach.

Every check raises ``AssertionError`` with a message that says what was expected, what the
student's code did instead, and where to look. Test cells build their own inputs (a tiny
synthetic data set, a tiny model), so each function is graded on its own: a wrong
``load_cifar10`` costs nothing in Parts 2-4.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import re
import tempfile
from dataclasses import dataclass, field
from unittest import mock

import numpy as np

from .data import ANIMAL_MASK, DATA_DIR_ENV, load_data, write_synthetic_cifar10

INPUT_SHAPE = (32, 32, 3)


# --------------------------------------------------------------------------------------------
# Calling the student's code
# --------------------------------------------------------------------------------------------

def call(function, *args, **kwargs):
    """Call a student's function; explain a leftover ``raise NotImplementedError()``."""
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        raise AssertionError(
            f"{function.__name__}() still raises NotImplementedError: replace the line "
            f"'raise NotImplementedError()' with your code, run the cell, then run this test again."
        ) from None


@contextlib.contextmanager
def synthetic_cifar10(train_per_class: int = 6, test_per_class: int = 3, seed: int = 7):
    """Serve a tiny synthetic CIFAR-10 to any loader; yield the raw arrays it holds.

    While active, ``utils.load_data()`` and ``keras.datasets.cifar10.load_data()`` both return
    this data set, so a student's loader is tested the same way whichever of the two it calls,
    in a fraction of a second and without the real data.
    """
    with tempfile.TemporaryDirectory(prefix="cifar10-check-") as tmp:
        write_synthetic_cifar10(tmp, train_per_class, test_per_class, seed)
        raw = load_data(tmp)

        def fake_keras_load_data():
            return load_data(tmp)

        with contextlib.ExitStack() as stack:
            stack.enter_context(mock.patch.dict(os.environ, {DATA_DIR_ENV: tmp}))
            for module in ("keras.datasets.cifar10", "keras.src.datasets.cifar10"):
                with contextlib.suppress(ImportError, AttributeError):
                    stack.enter_context(mock.patch(f"{module}.load_data", fake_keras_load_data))
            yield raw


def unpack(result, count: int, function_name: str, names: str):
    """Check that *result* is a tuple of *count* items and return it as a tuple."""
    if result is None:
        raise AssertionError(f"{function_name}() returned None: did you forget the return statement?")
    if not isinstance(result, (tuple, list)) or len(result) != count:
        raise AssertionError(f"{function_name}() should return {count} values ({names}), "
                             f"but it returned {type(result).__name__}"
                             f"{f' of length {len(result)}' if hasattr(result, '__len__') else ''}.")
    return tuple(result)


# --------------------------------------------------------------------------------------------
# Arrays: images and labels
# --------------------------------------------------------------------------------------------

def as_array(value, name: str) -> np.ndarray:
    """Return *value* as a numpy array, or explain why it is not one."""
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    if not isinstance(value, np.ndarray):
        raise AssertionError(f"{name} should be a numpy array, but it is a {type(value).__name__}.")
    return value


def check_images(x, raw: np.ndarray, name: str) -> None:
    """Check that *x* holds the pixels of *raw* as floats scaled to [0, 1], in the same order."""
    x = as_array(x, name)
    if x.shape != raw.shape:
        raise AssertionError(f"{name} should have shape {raw.shape} (images, height, width, "
                             f"colour channels), but it has shape {x.shape}.")
    if not np.issubdtype(x.dtype, np.floating):
        raise AssertionError(f"{name} has dtype {x.dtype}: pixels should be floats (float32 or "
                             f"float64). Did you divide by 255.0?")
    high, low = float(x.max()), float(x.min())
    if high > 1.0 + 1e-6:
        raise AssertionError(f"The largest value in {name} is {high:g}: it looks like the pixel "
                             f"values are still between 0 and 255. Did you divide by 255?")
    if low < -1e-6:
        raise AssertionError(f"{name} has negative values (down to {low:g}): scale the pixels to "
                             f"[0, 1] by dividing by 255, without subtracting anything.")
    expected = raw.astype(np.float64) / 255.0
    if not np.allclose(x, expected, atol=1e-3):
        if high < 0.5 and np.allclose(x * 255.0, expected, atol=1e-3):
            raise AssertionError(f"{name} looks divided by 255 twice: divide once.")
        raise AssertionError(f"{name} does not match the loaded images divided by 255. Keep the "
                             f"images in the order they were loaded and only scale them.")


def check_onehot(y, labels: np.ndarray, name: str, num_classes: int = 10) -> None:
    """Check that *y* is the one-hot encoding of the class ids *labels*."""
    y = as_array(y, name)
    labels = np.asarray(labels).reshape(-1)
    if y.shape == labels.shape or y.shape == (len(labels), 1):
        raise AssertionError(f"{name} has shape {y.shape}: these are still class ids. Convert them "
                             f"to one-hot rows of length {num_classes}, shape ({len(labels)}, "
                             f"{num_classes}).")
    if y.shape != (len(labels), num_classes):
        raise AssertionError(f"{name} should have shape ({len(labels)}, {num_classes}), one row per "
                             f"image, but it has shape {y.shape}.")
    if not np.isin(y, (0, 1)).all():
        raise AssertionError(f"{name} should contain only zeros and ones.")
    if not (y.sum(axis=1) == 1).all():
        raise AssertionError(f"Each row of {name} should hold exactly one 1.")
    if not (y.argmax(axis=1) == labels).all():
        wrong = int(np.flatnonzero(y.argmax(axis=1) != labels)[0])
        raise AssertionError(f"Row {wrong} of {name} marks class {int(y[wrong].argmax())}, but the "
                             f"image's label is {int(labels[wrong])}. The 1 goes at the position "
                             f"of the class id.")


def check_binary_labels(y, labels: np.ndarray, name: str) -> None:
    """Check that *y* is 1 for animals and 0 for vehicles, one value per image, shape (N,)."""
    y = as_array(y, name)
    labels = np.asarray(labels).reshape(-1)
    if y.shape != labels.shape:
        hint = " Flatten it, e.g. with .reshape(-1)." if y.size == labels.size else ""
        raise AssertionError(f"{name} should have shape {labels.shape}, one 0/1 value per image, "
                             f"but it has shape {y.shape}.{hint}")
    expected = ANIMAL_MASK[labels]
    if not np.isin(y, (0, 1)).all():
        raise AssertionError(f"{name} should contain only 0 (vehicle) and 1 (animal).")
    if not (y == expected).all():
        wrong = int(np.flatnonzero(y != expected)[0])
        raise AssertionError(f"Image {wrong} has class id {int(labels[wrong])}, so its binary label "
                             f"should be {int(expected[wrong])} (animal = 1: bird, cat, deer, dog, "
                             f"frog, horse; vehicle = 0: airplane, automobile, ship, truck), but "
                             f"{name} has {y[wrong]}.")


# --------------------------------------------------------------------------------------------
# Models: layers, shapes, parameters
# --------------------------------------------------------------------------------------------

def activation_name(function) -> str:
    """Name of an activation function ('relu', 'softmax', ...; 'linear' when none)."""
    if function is None:
        return "linear"
    if isinstance(function, str):
        return function
    if isinstance(function, dict):  # a serialised activation object
        return str(function.get("config", {}).get("name") or function.get("class_name", "")).lower()
    return getattr(function, "__name__", type(function).__name__).lower()


def check_model(model, function_name: str):
    """Check that a build function returned a Keras model with a 32x32x3 input; build it if needed."""
    import keras

    if model is None:
        raise AssertionError(f"{function_name}() returned None: did you forget 'return model'?")
    if not isinstance(model, keras.Model):
        raise AssertionError(f"{function_name}() should return a Keras model, but it returned a "
                             f"{type(model).__name__}.")
    if not model.built:
        model.build((None, *INPUT_SHAPE))
    try:
        shape = tuple(model.input_shape[1:])
    except (AttributeError, ValueError):
        shape = INPUT_SHAPE
    if shape != INPUT_SHAPE:
        raise AssertionError(f"The model's input should be one 32x32x3 image, e.g. "
                             f"keras.Input(shape=(32, 32, 3)), but it expects {shape}.")
    return model


def model_json(model) -> dict:
    """The model's architecture as Keras serialises it (``model.to_json()``): plain data, which
    the checks read the same way in the notebook and in the grader."""
    import json

    try:
        return json.loads(model.to_json())
    except Exception as error:  # noqa: BLE001 (a model Keras cannot describe)
        raise AssertionError(f"Keras cannot describe this model ({type(error).__name__}: "
                             f"{str(error)[:200]}). Build it from Keras layers with "
                             f"keras.Sequential or the functional API.") from None


def _pair(value, default=None) -> tuple:
    if value is None:
        return default
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


def _output_shape(kind: str, config: dict, shape: tuple | None) -> tuple | None:
    """The output shape (without the batch) of one layer, from its configuration; None if the
    layer is not one of those this assignment uses."""
    if shape is None:
        return None
    if kind in ("Dropout", "Activation", "ReLU", "Softmax", "LeakyReLU", "BatchNormalization",
                "SpatialDropout2D", "GaussianNoise"):
        return shape
    if kind == "Flatten":
        return (int(np.prod(shape)),)
    if kind == "Dense":
        return (*shape[:-1], int(config.get("units", 0)))
    if kind in ("GlobalAveragePooling2D", "GlobalMaxPooling2D") and len(shape) == 3:
        return (shape[-1],)
    if kind in ("Cropping2D", "ZeroPadding2D") and len(shape) == 3:
        margins = config.get("cropping" if kind == "Cropping2D" else "padding")
        if isinstance(margins, int):
            margins = ((margins, margins), (margins, margins))
        sign = -1 if kind == "Cropping2D" else 1
        return (*(n + sign * sum(_pair(m)) for n, m in zip(shape[:2], margins)), shape[-1])
    if kind in ("Conv2D", "MaxPooling2D", "AveragePooling2D") and len(shape) == 3:
        if kind == "Conv2D":
            window = _pair(config.get("kernel_size"), (1, 1))
            strides = _pair(config.get("strides"), (1, 1))
            channels = int(config.get("filters", 0))
        else:
            window = _pair(config.get("pool_size"), (2, 2))
            strides = _pair(config.get("strides"), window)
            channels = shape[-1]
        size = []
        for n, k, step in zip(shape[:2], window, strides):
            size.append(-(-n // step) if config.get("padding") == "same" else (n - k) // step + 1)
        return (*size, channels)
    return None


def _param_count(kind: str, config: dict, shape: tuple | None) -> int | None:
    """Parameters of one layer, from its configuration and input shape; None if unknown."""
    if shape is None:
        return None
    bias = bool(config.get("use_bias", True))
    if kind == "Dense":
        units = int(config.get("units", 0))
        return shape[-1] * units + (units if bias else 0)
    if kind == "Conv2D":
        kh, kw = _pair(config.get("kernel_size"), (1, 1))
        filters, groups = int(config.get("filters", 0)), int(config.get("groups", 1) or 1)
        return kh * kw * (shape[-1] // groups) * filters + (filters if bias else 0)
    if kind == "BatchNormalization":
        return 2 * shape[-1] * (int(bool(config.get("center", True))) +
                                int(bool(config.get("scale", True)))) + 2 * shape[-1]
    if _output_shape(kind, config, shape) is not None:
        return 0
    return None


def input_shape(architecture: dict) -> tuple | None:
    """The shape of one input of a serialised model, without the batch dimension."""
    config = architecture.get("config") or {}
    for layer in config.get("layers") or []:
        if layer.get("class_name") == "InputLayer":
            batch_shape = (layer.get("config") or {}).get("batch_shape")
            return tuple(batch_shape[1:]) if batch_shape else None
        build = (layer.get("build_config") or {}).get("input_shape")
        return tuple(build[1:]) if build else None
    build = config.get("build_input_shape")
    return tuple(build[1:]) if build else None


def describe_architecture(architecture: dict) -> list[dict]:
    """Describe each computing layer of a serialised model: its type, settings, output shape and
    parameter count, in order.

    Input layers are skipped, and a separate Activation or ReLU layer is folded into the layer
    before it, so that ``Dense(100, activation="relu")`` and ``Dense(100), ReLU()`` read the same.
    """
    described: list[dict] = []
    shape = input_shape(architecture)
    all_layers = [layer for layer in (architecture.get("config") or {}).get("layers") or []
                  if isinstance(layer, dict)]
    for number, layer in enumerate(all_layers):
        kind, config = layer.get("class_name"), layer.get("config") or {}
        if kind == "InputLayer":
            continue
        params = _param_count(kind, config, shape)
        computed = _output_shape(kind, config, shape)
        if computed is None and number + 1 < len(all_layers):
            # A layer the assignment does not use: Keras's own record of the next layer's input.
            following = (all_layers[number + 1].get("build_config") or {}).get("input_shape")
            computed = tuple(following[1:]) if following else None
        shape = computed
        if kind in ("Activation", "ReLU", "Softmax") and described \
                and described[-1].get("activation") == "linear":
            folded = "relu" if kind == "ReLU" else "softmax" if kind == "Softmax" \
                else activation_name(config.get("activation"))
            described[-1].update(activation=folded, output=shape)
            continue
        info = {"type": kind, "output": shape, "params": params}
        for attribute in ("units", "filters", "kernel_size", "padding", "pool_size", "rate"):
            if attribute in config:
                value = config[attribute]
                info[attribute] = tuple(value) if isinstance(value, (list, tuple)) else value
        if "activation" in config:
            info["activation"] = activation_name(config["activation"])
        described.append(info)
    return described


def describe_layers(model) -> list[dict]:
    """Describe each computing layer of a Keras model (see ``describe_architecture``)."""
    return describe_architecture(model_json(model))


def layer_text(info: dict) -> str:
    """One layer as the student would write it, e.g. 'Dense(units=100, activation=relu)'."""
    settings = ", ".join(f"{key}={value}" for key, value in info.items()
                         if key not in ("type", "output", "params"))
    return f"{info['type']}({settings})"


def check_layers(model, expected: list[tuple[str, dict]], function_name: str) -> None:
    """Check layer types and order, then each layer's settings and output shape, in that order.

    *model* is a Keras model or its description (``describe_architecture``); *expected* lists
    ``(layer type, {setting: value})``; the settings may include ``output``, the output shape
    without the batch dimension.
    """
    layers = model if isinstance(model, list) else describe_layers(model)
    got_types = [info["type"] for info in layers]
    want_types = [kind for kind, _ in expected]
    if got_types != want_types:
        raise AssertionError(
            f"{function_name}() builds these layers:\n    " + " -> ".join(got_types or ["(none)"])
            + "\nbut the assignment asks for:\n    " + " -> ".join(want_types))
    for number, (info, (kind, settings)) in enumerate(zip(layers, expected), 1):
        check_layer_settings(info, number, kind, settings)


def check_layer_settings(info: dict, number: int, kind: str, settings: dict) -> None:
    """Check one described layer (layer *number*, counted from 1) against *settings*."""
    for key, want in settings.items():
        got = info.get(key)
        if key == "rate":
            matches = got is not None and abs(got - want) < 1e-9
        else:
            matches = got == want
        if not matches:
            what = "output shape" if key == "output" else key
            raise AssertionError(f"Layer {number} ({kind}) should have {what} {want}, but it "
                                 f"has {got}. Your layer: {layer_text(info)}.")


def check_param_count(model, expected: int, function_name: str) -> None:
    """Check the number of trainable and non-trainable parameters together (*model*: a Keras
    model or its description)."""
    layers = model if isinstance(model, list) else describe_layers(model)
    counts = [info.get("params") for info in layers]
    if any(count is None for count in counts):
        unknown = next(info["type"] for info in layers if info.get("params") is None)
        raise AssertionError(f"The model of {function_name}() has a {unknown} layer, which the "
                             f"assignment's networks do not use: compare model.summary() with "
                             f"the layer list in the task.")
    got = sum(counts)
    if got != expected:
        raise AssertionError(f"The model of {function_name}() has {got:,} parameters; the one the "
                             f"assignment describes has {expected:,}. Compare model.summary() with "
                             f"the layer list in the task.")


# --------------------------------------------------------------------------------------------
# Training: what the train function compiled and how it called fit
# --------------------------------------------------------------------------------------------

def small_model(outputs: int = 10, activation: str = "softmax"):
    """A tiny classifier for testing a train function quickly (not an answer to any task)."""
    import keras

    return keras.Sequential([
        keras.Input(shape=INPUT_SHAPE),
        keras.layers.Flatten(),
        keras.layers.Dense(outputs, activation=activation),
    ])


def sample_data(n: int = 64, binary: bool = False, seed: int = 0):
    """Random images in [0, 1] with one-hot (or 0/1) labels, for testing train functions."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, *INPUT_SHAPE), dtype=np.float32)
    labels = rng.integers(0, 10, size=n)
    y = ANIMAL_MASK[labels].astype(np.float32) if binary else np.eye(10, dtype=np.float32)[labels]
    return x, y


@dataclass
class TrainingRecord:
    """What a train function did to a model: its fit calls and the compiled settings."""

    fit_calls: list[dict] = field(default_factory=list)
    returned: object = None
    fit_result: object = None  # the History that model.fit returned
    loss: str | None = None
    optimizer: str | None = None
    learning_rate: float | None = None
    history_keys: tuple[str, ...] = ()
    trainable_at_fit: bool = False  # the model given had weights to train when fit was called
    other_fit_calls: int = 0  # fit calls on models other than the one given
    optimizer_config: dict = field(default_factory=dict)  # momentum, nesterov, ...


def metric_names(metrics) -> list[str]:
    """The names Keras gives the compiled *metrics* (strings, functions or metric objects)."""
    if metrics is None:
        return []
    if isinstance(metrics, dict):
        return [name for value in metrics.values() for name in metric_names(value)]
    if not isinstance(metrics, (list, tuple)):
        metrics = [metrics]
    names = []
    for metric in metrics:
        if isinstance(metric, (list, tuple, dict)):
            names.extend(metric_names(metric))
        else:
            names.append(metric if isinstance(metric, str) else str(
                getattr(metric, "name", None) or getattr(metric, "__name__", type(metric).__name__)))
    return names


def _history_of(model, call_args: dict, metrics: list[str]):
    """The History ``fit`` returns, for a fit that is recorded but not run: one row of NaN per
    epoch for the loss and each compiled metric (and their ``val_`` forms with validation)."""
    import keras

    epochs = max(int(call_args.get("epochs") or 1) - int(call_args.get("initial_epoch") or 0), 0)
    keys = ["loss", *metrics]
    if call_args.get("validation_data") is not None or call_args.get("validation_split"):
        keys += [f"val_{key}" for key in keys]
    history = keras.callbacks.History()
    history.set_model(model)
    history.history = {key: [float("nan")] * epochs for key in keys}
    history.epoch = list(range(epochs))
    samples = len(call_args["x"]) if hasattr(call_args.get("x"), "__len__") else 0
    history.params = {"verbose": call_args.get("verbose", "auto"), "epochs": epochs,
                      "steps": -(-samples // int(call_args.get("batch_size") or 32))}
    return history


def record_training(train_function, model, xtrain, ytrain) -> TrainingRecord:
    """Run *train_function(model, xtrain, ytrain)* and record how it compiled and fitted *model*.

    ``model.compile`` really runs. ``model.fit`` is recorded, not run: each call's arguments are
    checked and kept as Keras would read them (``batch_size=None`` means 32), and it returns a
    History like the real one (the tests judge how the training was asked for, so grading does
    not spend seconds tracing and training a model per test).
    """
    import keras

    record = TrainingRecord()
    class_fit = keras.Model.fit
    real_compile = model.compile
    signature = inspect.signature(class_fit)
    compiled: dict = {"metrics": []}

    def recording_compile(*args, **kwargs):
        bound = inspect.signature(keras.Model.compile).bind(model, *args, **kwargs)
        compiled["metrics"] = metric_names(bound.arguments.get("metrics"))
        return real_compile(*args, **kwargs)

    def arguments(self, args, kwargs) -> dict:
        bound = signature.bind(self, *args, **kwargs)  # a wrong argument fails as in Keras
        bound.apply_defaults()
        call_args = dict(bound.arguments)
        call_args.pop("self", None)
        call_args.update(call_args.pop("kwargs", {}) or {})
        return call_args

    def recording_fit(*args, **kwargs):
        call_args = arguments(model, args, kwargs)
        record.fit_calls.append({
            "x": call_args.get("x"), "y": call_args.get("y"),
            "epochs": call_args.get("epochs"),
            "batch_size": 32 if call_args.get("batch_size") is None else call_args["batch_size"],
        })
        # Keras would stop a global array of another length with "Data cardinality is ambiguous".
        for what, given, used in (("xtrain", xtrain, call_args.get("x")),
                                  ("ytrain", ytrain, call_args.get("y"))):
            if used is not given and np.shape(used) != np.shape(given):
                raise AssertionError(
                    f"{train_function.__name__}() should train on the {what} it is given (shape "
                    f"{np.shape(given)}), but model.fit got data of shape {np.shape(used)}. Use the "
                    f"function's own arguments, not variables from elsewhere in the notebook such "
                    f"as ytrain_1hot.")
        if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
            raise RuntimeError("You must call `compile()` before using the model.")
        record.trainable_at_fit = bool(model.trainable_weights)
        history = _history_of(model, call_args, compiled["metrics"])
        record.history_keys = tuple(history.history)
        record.fit_result = history
        return history

    def other_model_fit(self, *args, **kwargs):
        record.other_fit_calls += 1
        return _history_of(self, arguments(self, args, kwargs), [])

    model.fit = recording_fit
    model.compile = recording_compile
    try:
        with mock.patch.object(keras.Model, "fit", other_model_fit):
            record.returned = call(train_function, model, xtrain, ytrain)
    finally:
        for name in ("fit", "compile"):
            with contextlib.suppress(Exception):
                delattr(model, name)
    record.loss = loss_name(getattr(model, "loss", None))
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        record.optimizer = type(optimizer).__name__
        with contextlib.suppress(Exception):
            record.optimizer_config = dict(optimizer.get_config())
        with contextlib.suppress(Exception):
            record.learning_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    return record


def loss_name(loss) -> str | None:
    """Normalise a compiled loss to snake case: 'categorical_crossentropy', 'binary_crossentropy'."""
    if loss is None:
        return None
    if isinstance(loss, str):
        name = loss
    elif hasattr(loss, "fn"):  # a keras.losses.LossFunctionWrapper subclass instance
        name = getattr(loss.fn, "__name__", type(loss).__name__)
    else:
        name = getattr(loss, "__name__", type(loss).__name__)
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("cross_entropy", "crossentropy")


def _fingerprint(value) -> dict:
    """What ``fit`` was given, as data: the shape and a digest of the values (or the type)."""
    from .evidence import digest

    try:
        array = np.asarray(value)
        if array.dtype.kind not in "fiub":
            raise TypeError
        return {"shape": list(array.shape), "digest": digest(array.astype(np.float32))}
    except Exception:  # noqa: BLE001 (a Dataset, a generator: not the arrays it was given)
        return {"shape": None, "digest": None, "type": type(value).__name__}


def training_evidence(record: TrainingRecord) -> dict:
    """A TrainingRecord as plain data: what the checks of a train function read."""
    return {
        "fit_calls": [{"epochs": call["epochs"], "batch_size": call["batch_size"],
                       "x": _fingerprint(call["x"]), "y": _fingerprint(call["y"])}
                      for call in record.fit_calls],
        "other_fit_calls": record.other_fit_calls,
        "loss": record.loss,
        "optimizer": record.optimizer,
        "optimizer_config": record.optimizer_config,
        "learning_rate": record.learning_rate,
        "history_keys": list(record.history_keys),
        "trainable_at_fit": record.trainable_at_fit,
        "returned_history": record.returned is not None and record.returned is record.fit_result,
        "returned": type(record.returned).__name__,
    }


def the_fit_call(data: dict, function_name: str) -> dict:
    """The one ``fit`` call of training evidence; AssertionError if there is none, or several."""
    calls = data.get("fit_calls") or []
    if not calls and data.get("other_fit_calls"):
        raise AssertionError(f"{function_name}() trained another model, not the model it is given: "
                             f"compile and fit the argument 'model' instead of building a new one.")
    if not calls:
        raise AssertionError(f"{function_name}() never called model.fit(...): compile the model, "
                             f"then train it with model.fit.")
    if len(calls) > 1:
        raise AssertionError(f"{function_name}() called model.fit {len(calls)} times; train once, "
                             f"with all the epochs in one call.")
    return calls[0]


#: What check_training_aspect can judge, in the order check_training_evidence judges them.
TRAINING_ASPECTS = ("data", "loss", "epochs", "batch_size", "optimizer", "learning_rate",
                    "accuracy", "history")


def check_training_aspect(aspect: str, data: dict, function_name: str, xtrain, ytrain, *,
                          loss: str | None = None, epochs: int | None = None,
                          batch_size: int | None = None, learning_rate: float | None = None) -> None:
    """Check one *aspect* (of TRAINING_ASPECTS) of training evidence (``training_evidence``)
    against the setting the assignment asks for. Every aspect needs the one fit call first."""
    from .evidence import digest

    fit = the_fit_call(data, function_name)
    config = data.get("optimizer_config") or {}
    if aspect == "data":
        for what, given, used, hint in (
                ("xtrain", xtrain, fit.get("x") or {}, "variables from elsewhere in the notebook"),
                ("ytrain", ytrain, fit.get("y") or {}, "a global variable such as ytrain_1hot")):
            if used.get("digest") != digest(np.asarray(given).astype(np.float32)):
                shape = tuple(used["shape"]) if used.get("shape") is not None else used.get("type")
                raise AssertionError(f"{function_name}() should train on the {what} it is given "
                                     f"(shape {np.shape(given)}), but model.fit got {shape}. Use "
                                     f"the function's own arguments, not {hint}.")
        if not data.get("trainable_at_fit"):
            raise AssertionError(f"The model's weights could not change: {function_name}() must "
                                 f"train the model it is given, with its layers trainable.")
    elif aspect == "loss":
        if data.get("loss") != loss:
            raise AssertionError(f"{function_name}() compiles the model with loss "
                                 f"{data.get('loss')!r}; this task uses {loss!r}.")
    elif aspect == "epochs":
        if fit.get("epochs") != epochs:
            raise AssertionError(f"model.fit ran for {fit.get('epochs')} epochs; the task asks "
                                 f"for {epochs}.")
    elif aspect == "batch_size":
        if fit.get("batch_size") != batch_size:
            raise AssertionError(f"model.fit used batch_size={fit.get('batch_size')}; the task "
                                 f"asks for {batch_size}.")
    elif aspect == "optimizer":
        if data.get("optimizer") != "SGD":
            raise AssertionError(f"{function_name}() uses the optimiser {data.get('optimizer')}; "
                                 f"the task asks for plain stochastic gradient descent, "
                                 f"keras.optimizers.SGD.")
        if float(config.get("momentum") or 0) != 0 or config.get("nesterov"):
            raise AssertionError(f"The SGD optimiser uses momentum={config.get('momentum')}"
                                 f"{' with Nesterov' if config.get('nesterov') else ''}; the task "
                                 f"asks for plain SGD, without momentum.")
    elif aspect == "learning_rate":
        rate = data.get("learning_rate")
        if not isinstance(rate, (int, float)) or not np.isclose(rate, learning_rate):
            raise AssertionError(f"The learning rate is {rate or 0:.4g}; it should be "
                                 f"{learning_rate} (keras.optimizers.SGD(learning_rate="
                                 f"{learning_rate})).")
    elif aspect == "accuracy":
        if not any("acc" in str(key) for key in data.get("history_keys") or []):
            raise AssertionError("Training does not report accuracy: compile with "
                                 "metrics=['accuracy'].")
    elif aspect == "history":
        if not data.get("returned_history"):
            returned = data.get("returned")
            what = "nothing (None)" if returned in (None, "NoneType") else f"a {returned}"
            raise AssertionError(f"{function_name}() returned {what}; return the History that "
                                 f"model.fit returns ('return model.fit(...)'): it records the "
                                 f"loss and accuracy of every epoch, and the long cells plot it.")
    else:
        raise ValueError(f"unknown aspect of training: {aspect!r}")


def check_training_evidence(data: dict, function_name: str, xtrain, ytrain, *, loss: str,
                            epochs: int, batch_size: int, learning_rate: float) -> None:
    """Check every aspect of training evidence, in the order of TRAINING_ASPECTS."""
    for aspect in TRAINING_ASPECTS:
        check_training_aspect(aspect, data, function_name, xtrain, ytrain, loss=loss,
                              epochs=epochs, batch_size=batch_size, learning_rate=learning_rate)


def check_training(record: TrainingRecord, function_name: str, xtrain, ytrain, *,
                   loss: str, epochs: int, batch_size: int, learning_rate: float) -> None:
    """Check a TrainingRecord against every setting the assignment asks for."""
    check_training_evidence(training_evidence(record), function_name, xtrain, ytrain, loss=loss,
                            epochs=epochs, batch_size=batch_size, learning_rate=learning_rate)
