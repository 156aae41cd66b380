"""The assignment's tests: each collects evidence, then judges it.

A test cell calls one function here, e.g. ``grading.test_load_cifar10_basic(load_cifar10)``.
It gives the student's function inputs of its own (a tiny synthetic data set, a tiny model),
writes down as plain data what the function returned or did (the *evidence*), and judges that
evidence with the checks of ``utils.checks``: a failure raises ``AssertionError`` with a message
that teaches, a pass prints what was checked.

While a notebook is graded the evidence is also sent out as an output of the test cell (see
``utils.evidence``), and the grader
judges it again after the kernel has exited, in its own process, with the same judges
(``JUDGES``). Those verdicts are the scores, so nothing a submission does to the notebook's own
test cells can change them; forging evidence that passes means computing what a right answer
computes.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Callable

from . import checks, evidence
from .data import load_data, write_synthetic_cifar10

Evidence = tuple[dict, dict]  # (plain data, arrays)


def _failure(error: BaseException, function) -> str:
    """What a student's function raised, as the message of a failed test."""
    if isinstance(error, AssertionError):
        return str(error)
    name = getattr(function, "__name__", "the function")
    return f"{name}() raised {type(error).__name__}: {str(error)[:500]}"


# --------------------------------------------------------------------------------------------
# Loaders: the arrays a loader returns for a synthetic data set the test chooses
# --------------------------------------------------------------------------------------------

def synthetic_raw(train_per_class: int, test_per_class: int, seed: int):
    """The raw ``(x, y)`` of the training and test sets of a synthetic CIFAR-10."""
    with tempfile.TemporaryDirectory(prefix="cifar10-judge-") as tmp:
        write_synthetic_cifar10(tmp, train_per_class, test_per_class, seed)
        return load_data(tmp)


def collect_loader(function, function_name: str, names: tuple[str, ...], train_per_class: int,
                   test_per_class: int, base_seed: int) -> Evidence:
    data_seed = evidence.seed(base_seed)
    data = {"train_per_class": train_per_class, "test_per_class": test_per_class, "seed": data_seed}
    arrays = {}
    try:
        with checks.synthetic_cifar10(train_per_class, test_per_class, data_seed):
            result = checks.unpack(checks.call(function), 4, function_name, ", ".join(names))
        for number, (name, value) in enumerate(zip(names, result)):
            try:
                arrays[f"value{number}"] = checks.as_array(value, name)
            except AssertionError as not_an_array:
                data.setdefault("not_arrays", {})[str(number)] = str(not_an_array)
    except Exception as error:  # noqa: BLE001 (whatever the student's code raised)
        data["error"] = _failure(error, function)
    return data, arrays


def judge_loader(found: Evidence, names: tuple[str, ...], which: tuple[int, ...],
                 binary: bool) -> None:
    data, arrays = found
    if data.get("error"):
        raise AssertionError(data["error"])
    (x_train, y_train), (x_test, y_test) = synthetic_raw(
        int(data["train_per_class"]), int(data["test_per_class"]), int(data["seed"]))
    raw = {0: x_train, 1: y_train, 2: x_test, 3: y_test}
    for number in which:
        name = names[number]
        if f"value{number}" not in arrays:
            raise AssertionError((data.get("not_arrays") or {}).get(
                str(number), f"{name} should be a numpy array."))
        value = arrays[f"value{number}"]
        if number % 2 == 0:
            checks.check_images(value, raw[number], name)
        elif binary:
            checks.check_binary_labels(value, raw[number], name)
        else:
            checks.check_onehot(value, raw[number], name)


# --------------------------------------------------------------------------------------------
# Builders: the architecture of the model a build function returns
# --------------------------------------------------------------------------------------------

def collect_model(function, fresh: bool = False) -> Evidence:
    """The architecture the build function returns (and, if *fresh*, whether a second call
    builds a new model)."""
    name = getattr(function, "__name__", "build")
    data: dict = {}
    try:
        model = checks.check_model(checks.call(function), name)
        data["architecture"] = checks.model_json(model)
        if fresh:
            data["new_model_each_call"] = checks.call(function) is not model
    except Exception as error:  # noqa: BLE001
        data["error"] = _failure(error, function)
    return data, {}


def judged_layers(found: Evidence) -> list[dict]:
    data, _ = found
    if data.get("error"):
        raise AssertionError(data["error"])
    architecture = data.get("architecture")
    if not isinstance(architecture, dict):
        raise AssertionError("The model could not be described.")
    return checks.describe_architecture(architecture)


# --------------------------------------------------------------------------------------------
# Trainers: how a train function compiled and fitted a model the test gives it
# --------------------------------------------------------------------------------------------

def collect_training(function, n: int, binary: bool, base_seed: int) -> Evidence:
    data_seed = evidence.seed(base_seed)
    x, y = checks.sample_data(n=n, binary=binary, seed=data_seed)
    model = checks.small_model(1, "sigmoid") if binary else checks.small_model()
    data: dict = {"n": n, "binary": binary, "seed": data_seed}
    try:
        data.update(checks.training_evidence(checks.record_training(function, model, x, y)))
    except Exception as error:  # noqa: BLE001
        data["error"] = _failure(error, function)
    return data, {}


def judge_training(found: Evidence, function_name: str, *, loss: str, epochs: int | None,
                   batch_size: int, learning_rate: float, everything: bool) -> None:
    data, _ = found
    if data.get("error"):
        raise AssertionError(data["error"])
    x, y = checks.sample_data(n=int(data["n"]), binary=bool(data["binary"]), seed=int(data["seed"]))
    checks.check_training_evidence(data, function_name, x, y, loss=loss, epochs=epochs,
                                   batch_size=batch_size, learning_rate=learning_rate,
                                   everything=everything)


# --------------------------------------------------------------------------------------------
# The tests of the notebook, by grade id
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Test:
    """One test cell: how it collects evidence from the student's function and judges it."""

    collect: Callable[[Callable], Evidence]
    judge: Callable[[Evidence], None]
    passed: str = ""  # printed when a visible test passes


LOAD_NAMES = ("xtrain", "ytrain_1hot", "xtest", "ytest_1hot")
BINARY_NAMES = ("xtrain", "ytrain", "xtest", "ytest")
MLP_TYPES = [("Flatten", {}), ("Dense", {}), ("Dense", {})]
MLP_SPEC = [
    ("Flatten", {"output": (3072,)}),
    ("Dense", {"units": 100, "activation": "relu", "output": (100,)}),
    ("Dense", {"units": 10, "activation": "softmax", "output": (10,)}),
]
CONV = {"filters": 32, "kernel_size": (3, 3), "padding": "same", "activation": "relu"}


def conv_spec(outputs: int, activation: str) -> list[tuple[str, dict]]:
    return [
        ("Conv2D", {**CONV, "output": (32, 32, 32)}), ("Conv2D", {**CONV, "output": (32, 32, 32)}),
        ("MaxPooling2D", {"pool_size": (2, 2), "output": (16, 16, 32)}), ("Dropout", {"rate": 0.25}),
        ("Conv2D", {**CONV, "output": (16, 16, 32)}), ("Conv2D", {**CONV, "output": (16, 16, 32)}),
        ("MaxPooling2D", {"pool_size": (2, 2), "output": (8, 8, 32)}), ("Dropout", {"rate": 0.5}),
        ("Flatten", {"output": (2048,)}),
        ("Dense", {"units": 250, "activation": "relu"}), ("Dense", {"units": 100, "activation": "relu"}),
        ("Dense", {"units": outputs, "activation": activation, "output": (outputs,)}),
    ]


def _types(spec):
    return [(kind, {}) for kind, _ in spec]


def _judge_build(name: str, spec, params: int | None = None, fresh: bool = False):
    def judge(found: Evidence) -> None:
        layers = judged_layers(found)
        checks.check_layers(layers, spec, name)
        if params is not None:
            checks.check_param_count(layers, params, name)
        if fresh and not found[0].get("new_model_each_call"):
            raise AssertionError(f"{name}() should build a new model on every call.")
    return judge


def _judge_binary_output(found: Evidence) -> None:
    last = (judged_layers(found) or [{"type": "(none)"}])[-1]
    if not (last["type"] == "Dense" and last.get("units") == 1 and last.get("activation") == "sigmoid"):
        raise AssertionError(f"The output layer should be Dense(units=1, activation=sigmoid), but "
                             f"it is {checks.layer_text(last)}.")


def loader_test(function_name: str, names: tuple[str, ...], *, binary: bool, hidden: bool,
                base_seed: int, passed: str = "") -> Test:
    """The visible test checks the training arrays; the hidden one all four, on another data set."""
    train_per_class, test_per_class = (4, 5) if hidden else (6, 3)
    which = (0, 1, 2, 3) if hidden else (0, 1)
    return Test(lambda f: collect_loader(f, function_name, names, train_per_class, test_per_class,
                                         base_seed),
                lambda e: judge_loader(e, names, which, binary=binary), passed)


def training_test(function_name: str, *, loss: str, epochs: int, binary: bool, hidden: bool,
                  base_seed: int, visible_checks_epochs: bool = False, passed: str = "") -> Test:
    """The visible test checks that the model is compiled with the loss and fitted on the data
    given; the hidden one every setting (all three tasks use SGD at 0.01 and batches of 32)."""
    return Test(lambda f: collect_training(f, 48 if hidden else 64, binary, base_seed),
                lambda e: judge_training(e, function_name, loss=loss,
                                         epochs=epochs if hidden or visible_checks_epochs else None,
                                         batch_size=32, learning_rate=0.01, everything=hidden),
                passed)


TESTS: dict[str, Test] = {
    "test_load_cifar10_basic": loader_test(
        "load_cifar10", LOAD_NAMES, binary=False, hidden=False, base_seed=7,
        passed="Visible checks passed: xtrain and ytrain_1hot look right."),
    "test_load_cifar10_hidden": loader_test(
        "load_cifar10", LOAD_NAMES, binary=False, hidden=True, base_seed=11),
    "test_build_multilayer_nn_basic": Test(
        collect_model, _judge_build("build_multilayer_nn", MLP_TYPES),
        "Visible checks passed: Flatten -> Dense -> Dense."),
    "test_build_multilayer_nn_hidden": Test(
        lambda f: collect_model(f, fresh=True),
        _judge_build("build_multilayer_nn", MLP_SPEC, 308_310, fresh=True)),
    "test_train_multilayer_nn_basic": training_test(
        "train_multilayer_nn", loss="categorical_crossentropy", epochs=20, binary=False,
        hidden=False, base_seed=0, passed="Visible checks passed: the model is compiled and trained."),
    "test_train_multilayer_nn_hidden": training_test(
        "train_multilayer_nn", loss="categorical_crossentropy", epochs=20, binary=False,
        hidden=True, base_seed=3),
    "test_build_convolution_nn_basic": Test(
        collect_model, _judge_build("build_convolution_nn", _types(conv_spec(10, "softmax"))),
        "Visible checks passed: the layers are of the right kinds, in the right order."),
    "test_build_convolution_nn_hidden": Test(
        collect_model, _judge_build("build_convolution_nn", conv_spec(10, "softmax"), 567_000)),
    "test_train_convolution_nn_basic": training_test(
        "train_convolution_nn", loss="categorical_crossentropy", epochs=30, binary=False,
        hidden=False, base_seed=0, visible_checks_epochs=True,
        passed="Visible checks passed: the model is trained for 30 epochs."),
    "test_train_convolution_nn_hidden": training_test(
        "train_convolution_nn", loss="categorical_crossentropy", epochs=30, binary=False,
        hidden=True, base_seed=4),
    "test_get_binary_cifar10_basic": loader_test(
        "get_binary_cifar10", BINARY_NAMES, binary=True, hidden=False, base_seed=7,
        passed="Visible checks passed: xtrain and ytrain look right."),
    "test_get_binary_cifar10_hidden": loader_test(
        "get_binary_cifar10", BINARY_NAMES, binary=True, hidden=True, base_seed=12),
    "test_build_binary_classifier_basic": Test(
        collect_model, _judge_binary_output, "Visible checks passed: the output is one sigmoid neuron."),
    "test_build_binary_classifier_hidden": Test(
        collect_model, _judge_build("build_binary_classifier", conv_spec(1, "sigmoid"), 566_091)),
    "test_train_binary_classifier_basic": training_test(
        "train_binary_classifier", loss="binary_crossentropy", epochs=30, binary=True,
        hidden=False, base_seed=0,
        passed="Visible checks passed: binary cross-entropy, and the model is trained."),
    "test_train_binary_classifier_hidden": training_test(
        "train_binary_classifier", loss="binary_crossentropy", epochs=30, binary=True,
        hidden=True, base_seed=5),
}


def run(grade_id: str, function) -> None:
    """Run one test cell's test on the student's *function*: collect, save while grading, judge."""
    test = TESTS[grade_id]
    data, arrays = test.collect(function)
    evidence.record(grade_id, data, arrays)
    test.judge((evidence.plain(data), arrays))
    if test.passed:
        print(test.passed)


def judge(grade_id: str, found: Evidence | None) -> str | None:
    """The grader's verdict on saved evidence: None when it passes, else what failed."""
    if found is None:
        return ("No evidence from this test: the cell did not run to its end while the notebook "
                "was graded (an error before it, a stopped kernel, or a changed cell).")
    try:
        TESTS[grade_id].judge(found)
    except AssertionError as failure:
        return str(failure) or "the check failed"
    except Exception as error:  # noqa: BLE001 (malformed evidence)
        return f"The evidence of this test could not be judged ({type(error).__name__})."
    return None
