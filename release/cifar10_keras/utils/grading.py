"""The assignment's tests: each collects evidence, then judges it, criterion by criterion.

A test cell calls ``grading.run(grade_id, function)``. It gives the student's function inputs of
its own (a tiny synthetic data set, a tiny model), writes down as plain data what the function
returned or did (the *evidence*), and judges that evidence with the checks of ``utils.checks``.

Each test holds a few *criteria*, each worth part of the cell's points: one thing the
assignment asks for (the training pixels scaled, the dropout rates, the learning rate ...). A
visible test and its hidden partner judge different criteria, so each mistake costs its own
points once, and a partly right answer earns the part it got right. The cell prints every
criterion with its points and, if one fails, raises ``AssertionError`` with a message that
teaches.

While a notebook is graded the evidence is also sent out as an output of the test cell (see
``utils.evidence``), and the grader judges it again after the kernel has exited, in its own
process, with the same criteria (``score``). Those points are the scores, so nothing a
submission does to the notebook's own test cells can change them; forging evidence that passes
means computing what a right answer computes.
"""

from __future__ import annotations

import difflib
import functools
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
# Criteria, and the points they earn
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Criterion:
    """One thing a test judges, worth *points*: *check* raises AssertionError when it is wrong."""

    text: str
    points: float
    check: Callable[[Evidence], None]


@dataclass(frozen=True)
class Result:
    criterion: Criterion
    failure: str | None  # None: passed

    @property
    def earned(self) -> float:
        return 0.0 if self.failure else self.criterion.points


@dataclass(frozen=True)
class Test:
    """One test cell: how it collects evidence from the student's function, and its criteria."""

    collect: Callable[[Callable], Evidence]
    criteria: tuple[Criterion, ...]
    passed: str = ""  # printed when every criterion of a visible test passes

    @property
    def points(self) -> float:
        return sum(c.points for c in self.criteria)


def judge_criteria(test: Test, found: Evidence | None) -> list[Result]:
    """Every criterion of *test* judged on *found* (None: no evidence, so all fail)."""
    if found is None:
        missing = ("No evidence from this test: the cell did not run to its end while the "
                   "notebook was graded (an error before it, a stopped kernel, or a changed cell).")
        return [Result(c, missing) for c in test.criteria]
    error = found[0].get("error") if isinstance(found[0], dict) else "malformed evidence"
    results = []
    for criterion in test.criteria:
        if error:
            results.append(Result(criterion, str(error)))
            continue
        try:
            criterion.check(found)
        except AssertionError as failure:
            results.append(Result(criterion, str(failure) or "the check failed"))
        except Exception as problem:  # noqa: BLE001 (malformed evidence)
            results.append(Result(criterion, f"The evidence of this test could not be judged "
                                             f"({type(problem).__name__})."))
        else:
            results.append(Result(criterion, None))
    return results


def points_text(points: float) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")


def report(results: list[Result]) -> str:
    """The criteria as a test cell prints them: each one's points and, if it failed, why."""
    lines = []
    for result in results:
        mark = "FAILED" if result.failure else "passed"
        lines.append(f"{mark}  {result.earned:g} of {points_text(result.criterion.points)}: "
                     f"{result.criterion.text}")
    total = sum(r.earned for r in results)
    whole = sum(r.criterion.points for r in results)
    lines.append(f"This test: {total:g} of {points_text(whole)}")
    return "\n".join(lines)


def failure_message(results: list[Result]) -> str | None:
    """What failed, as one message (each distinct reason once), or None when all passed."""
    reasons = list(dict.fromkeys(r.failure for r in results if r.failure))
    if not reasons:
        return None
    return reasons[0] if len(reasons) == 1 else "\n".join(f"- {reason}" for reason in reasons)


# --------------------------------------------------------------------------------------------
# Loaders: the arrays a loader returns for a synthetic data set the test chooses
# --------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def synthetic_raw(train_per_class: int, test_per_class: int, seed: int):
    """The raw ``(x, y)`` of the training and test sets of a synthetic CIFAR-10."""
    with tempfile.TemporaryDirectory(prefix="cifar10-judge-") as tmp:
        write_synthetic_cifar10(tmp, train_per_class, test_per_class, seed)
        arrays = load_data(tmp)
    for part in arrays:
        for array in part:
            array.flags.writeable = False  # shared by every judge of this data set
    return arrays


def collect_loader(function, function_name: str, names: tuple[str, ...], which: tuple[int, ...],
                   train_per_class: int, test_per_class: int, base_seed: int) -> Evidence:
    """The arrays numbered *which* among the four the loader returns (only those are judged)."""
    data_seed = evidence.seed(base_seed)
    data = {"train_per_class": train_per_class, "test_per_class": test_per_class, "seed": data_seed}
    arrays = {}
    try:
        with checks.synthetic_cifar10(train_per_class, test_per_class, data_seed):
            result = checks.unpack(checks.call(function), 4, function_name, ", ".join(names))
        for number in which:
            try:
                arrays[f"value{number}"] = checks.as_array(result[number], names[number])
            except AssertionError as not_an_array:
                data.setdefault("not_arrays", {})[str(number)] = str(not_an_array)
    except Exception as error:  # noqa: BLE001 (whatever the student's code raised)
        data["error"] = _failure(error, function)
    return data, arrays


def judge_array(found: Evidence, names: tuple[str, ...], number: int, binary: bool) -> None:
    data, arrays = found
    (x_train, y_train), (x_test, y_test) = synthetic_raw(
        int(data["train_per_class"]), int(data["test_per_class"]), int(data["seed"]))
    raw = {0: x_train, 1: y_train, 2: x_test, 3: y_test}[number]
    name = names[number]
    if f"value{number}" not in arrays:
        raise AssertionError((data.get("not_arrays") or {}).get(
            str(number), f"{name} should be a numpy array."))
    value = arrays[f"value{number}"]
    if number % 2 == 0:
        checks.check_images(value, raw, name)
    elif binary:
        checks.check_binary_labels(value, raw, name)
    else:
        checks.check_onehot(value, raw, name)


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
    architecture = data.get("architecture")
    if not isinstance(architecture, dict):
        raise AssertionError("The model could not be described.")
    return checks.describe_architecture(architecture)


def matched_layers(layers: list[dict], spec) -> dict[int, int]:
    """Which of the student's layers stands for each layer the assignment asks for: the two
    lists of layer types aligned, so that a missing or extra layer leaves the others matched
    (``{index in spec: index in layers}``)."""
    got, want = [info["type"] for info in layers], [kind for kind, _ in spec]
    matcher = difflib.SequenceMatcher(None, want, got, autojunk=False)
    matched = {}
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            matched[block.a + offset] = block.b + offset
    return matched


def check_settings(found: Evidence, spec, indices: tuple[int, ...], function_name: str) -> None:
    """The settings of the layers that stand for ``spec[i]`` for each i in *indices*. A layer
    left out costs the points of the layer list, not these: only the layers there are judged."""
    layers = judged_layers(found)
    matched = matched_layers(layers, spec)
    present = [i for i in indices if i in matched]
    if not present:
        kinds = " or ".join(sorted({spec[i][0] for i in indices}))
        raise AssertionError(f"{function_name}() has no {kinds} layer where the assignment asks "
                             f"for one, so its settings cannot be checked.")
    for i in present:
        kind, settings = spec[i]
        checks.check_layer_settings(layers[matched[i]], matched[i] + 1, kind,
                                    {k: v for k, v in settings.items() if k != "output"})


def check_input_shape(found: Evidence, want: tuple, function_name: str) -> None:
    got = checks.input_shape(found[0].get("architecture") or {})
    if got != want:
        raise AssertionError(f"{function_name}() builds a model for inputs of shape {got}; "
                             f"CIFAR-10 images have shape {want}: start with "
                             f"keras.Input(shape={want}).")


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


def training_criterion(text: str, points: float, aspect: str, function_name: str,
                       **settings) -> Criterion:
    """A criterion that judges one *aspect* of the training evidence (see
    ``checks.check_training_aspect``)."""
    def check(found: Evidence) -> None:
        data, _ = found
        x, y = checks.sample_data(n=int(data["n"]), binary=bool(data["binary"]),
                                  seed=int(data["seed"]))
        checks.check_training_aspect(aspect, data, function_name, x, y, **settings)
    return Criterion(text, points, check)


# --------------------------------------------------------------------------------------------
# The tests of the notebook, by grade id
# --------------------------------------------------------------------------------------------

LOAD_NAMES = ("xtrain", "ytrain_1hot", "xtest", "ytest_1hot")
BINARY_NAMES = ("xtrain", "ytrain", "xtest", "ytest")
IMAGE_SHAPE = (32, 32, 3)
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


def loader_test(function_name: str, names: tuple[str, ...], *, binary: bool, hidden: bool,
                base_seed: int, passed: str = "") -> Test:
    """The visible test judges the training arrays, the hidden one the test arrays, each on a
    data set of its own."""
    train_per_class, test_per_class = (2, 3) if hidden else (3, 1)
    which = (2, 3) if hidden else (0, 1)
    points = 1.0 if hidden else 0.5
    what = {0: "holds the training images, scaled to [0, 1]", 2: "holds the test images, scaled to [0, 1]",
            1: "holds the training labels, one-hot", 3: "holds the test labels, one-hot"}
    if binary:
        what.update({1: "holds the training labels, 1 for an animal and 0 for a vehicle",
                     3: "holds the test labels, 1 for an animal and 0 for a vehicle"})
    criteria = tuple(
        Criterion(f"{names[n]} {what[n]}", points,
                  lambda found, n=n: judge_array(found, names, n, binary))
        for n in which)
    return Test(lambda f: collect_loader(f, function_name, names, which, train_per_class,
                                         test_per_class, base_seed), criteria, passed)


CONV_LAYERS = ("two blocks of Conv2D, Conv2D, MaxPooling2D, Dropout; then Flatten and three "
               "Dense layers")


def layer_kinds(function_name: str, spec, points: float, kinds: str = "") -> Criterion:
    kinds = kinds or " -> ".join(kind for kind, _ in spec)
    return Criterion(f"the layers, in order: {kinds}", points,
                     lambda found: checks.check_layers(judged_layers(found), _types(spec),
                                                       function_name))


def layer_settings(text: str, points: float, function_name: str, spec, *indices: int) -> Criterion:
    return Criterion(text, points,
                     lambda found: check_settings(found, spec, indices, function_name))


def input_of(function_name: str, points: float) -> Criterion:
    return Criterion(f"inputs of shape {IMAGE_SHAPE}", points,
                     lambda found: check_input_shape(found, IMAGE_SHAPE, function_name))


def _check_new_model(found: Evidence, function_name: str) -> None:
    if not found[0].get("new_model_each_call"):
        raise AssertionError(f"{function_name}() should build a new model on every call.")


def _check_binary_output(found: Evidence) -> None:
    last = (judged_layers(found) or [{"type": "(none)"}])[-1]
    if not (last["type"] == "Dense" and last.get("units") == 1 and last.get("activation") == "sigmoid"):
        raise AssertionError(f"The output layer should be Dense(units=1, activation=sigmoid), but "
                             f"it is {checks.layer_text(last)}.")


def training_tests(function_name: str, *, loss: str, epochs: int, binary: bool,
                   hidden_points: float, hidden_seed: int, visible_passed: str) -> tuple[Test, Test]:
    """The visible test judges the data, the loss, the epochs and the batch size; the hidden one
    the optimiser, its learning rate, the metric and what the function returns."""
    def aspect(text, share, total, name, **settings):
        return training_criterion(text, share * total, name, function_name, **settings)

    visible = (
        aspect("trains the model it is given on the data it is given", 0.25, 1.0, "data"),
        aspect(f"loss {loss!r}", 0.25, 1.0, "loss", loss=loss),
        aspect(f"{epochs} epochs", 0.25, 1.0, "epochs", epochs=epochs),
        aspect("batches of 32", 0.25, 1.0, "batch_size", batch_size=32),
    )
    hidden = (
        aspect("plain SGD (no momentum)", 0.25, hidden_points, "optimizer"),
        aspect("learning rate 0.01", 0.25, hidden_points, "learning_rate", learning_rate=0.01),
        aspect("reports accuracy", 0.25, hidden_points, "accuracy"),
        aspect("returns the History of model.fit", 0.25, hidden_points, "history"),
    )
    return (Test(lambda f: collect_training(f, 64, binary, 0), visible, visible_passed),
            Test(lambda f: collect_training(f, 48, binary, hidden_seed), hidden))


CNN = conv_spec(10, "softmax")
BINARY = conv_spec(1, "sigmoid")
MLP_TRAINING = training_tests("train_multilayer_nn", loss="categorical_crossentropy", epochs=20,
                              binary=False, hidden_points=2.0, hidden_seed=3,
                              visible_passed="Visible checks passed: the model is compiled and trained.")
CNN_TRAINING = training_tests("train_convolution_nn", loss="categorical_crossentropy", epochs=30,
                              binary=False, hidden_points=1.0, hidden_seed=4,
                              visible_passed="Visible checks passed: the model is trained for 30 epochs.")
BINARY_TRAINING = training_tests("train_binary_classifier", loss="binary_crossentropy", epochs=30,
                                 binary=True, hidden_points=1.0, hidden_seed=5,
                                 visible_passed="Visible checks passed: binary cross-entropy, and the model is trained.")

TESTS: dict[str, Test] = {
    "test_load_cifar10_basic": loader_test(
        "load_cifar10", LOAD_NAMES, binary=False, hidden=False, base_seed=7,
        passed="Visible checks passed: xtrain and ytrain_1hot look right."),
    "test_load_cifar10_hidden": loader_test(
        "load_cifar10", LOAD_NAMES, binary=False, hidden=True, base_seed=11),
    "test_build_multilayer_nn_basic": Test(collect_model, (
        layer_kinds("build_multilayer_nn", MLP_SPEC, 1.0),),
        "Visible checks passed: Flatten -> Dense -> Dense."),
    "test_build_multilayer_nn_hidden": Test(lambda f: collect_model(f, fresh=True), (
        input_of("build_multilayer_nn", 0.5),
        layer_settings("a hidden layer of 100 relu neurons", 0.5, "build_multilayer_nn", MLP_SPEC, 1),
        layer_settings("an output layer of 10 softmax neurons", 0.5, "build_multilayer_nn",
                       MLP_SPEC, 2),
        Criterion("a new model on every call", 0.5,
                  lambda found: _check_new_model(found, "build_multilayer_nn")),
    )),
    "test_train_multilayer_nn_basic": MLP_TRAINING[0],
    "test_train_multilayer_nn_hidden": MLP_TRAINING[1],
    "test_build_convolution_nn_basic": Test(collect_model, (
        layer_kinds("build_convolution_nn", CNN, 1.0, CONV_LAYERS),),
        "Visible checks passed: the layers are of the right kinds, in the right order."),
    "test_build_convolution_nn_hidden": Test(collect_model, (
        input_of("build_convolution_nn", 0.25),
        layer_settings("four convolutions of 32 filters, 3 x 3, padding 'same', relu", 0.75,
                       "build_convolution_nn", CNN, 0, 1, 4, 5),
        layer_settings("max pooling over 2 x 2", 0.5, "build_convolution_nn", CNN, 2, 6),
        layer_settings("dropout rates 0.25, then 0.5", 0.5, "build_convolution_nn", CNN, 3, 7),
        layer_settings("dense layers of 250 and 100 relu neurons", 0.5, "build_convolution_nn",
                       CNN, 9, 10),
        layer_settings("an output layer of 10 softmax neurons", 0.5, "build_convolution_nn", CNN, 11),
    )),
    "test_train_convolution_nn_basic": CNN_TRAINING[0],
    "test_train_convolution_nn_hidden": CNN_TRAINING[1],
    "test_get_binary_cifar10_basic": loader_test(
        "get_binary_cifar10", BINARY_NAMES, binary=True, hidden=False, base_seed=7,
        passed="Visible checks passed: xtrain and ytrain look right."),
    "test_get_binary_cifar10_hidden": loader_test(
        "get_binary_cifar10", BINARY_NAMES, binary=True, hidden=True, base_seed=12),
    "test_build_binary_classifier_basic": Test(collect_model, (
        Criterion("an output layer of one sigmoid neuron", 1.0, _check_binary_output),),
        "Visible checks passed: the output is one sigmoid neuron."),
    "test_build_binary_classifier_hidden": Test(collect_model, (
        layer_kinds("build_binary_classifier", BINARY, 0.5, CONV_LAYERS),
        layer_settings("the settings of Question 3.1's layers", 0.5, "build_binary_classifier",
                       BINARY, *range(len(BINARY) - 1)),
    )),
    "test_train_binary_classifier_basic": BINARY_TRAINING[0],
    "test_train_binary_classifier_hidden": BINARY_TRAINING[1],
}


def points_statement(function_name: str) -> str:
    """How the points of *function_name*'s tests are shared out, as the notebook states it
    (markdown, at the end of the question)."""
    tests = [(label, TESTS[f"test_{function_name}_{kind}"])
             for kind, label in (("basic", "the visible test"), ("hidden", "the hidden test"))]
    whole = sum(test.points for _, test in tests)
    lines = [f"*How its {points_text(whole)} are shared out* (each part is earned on its own, so "
             f"a partly right answer earns the parts it gets right):"]
    for label, test in tests:
        items = "; ".join(f"{c.text} ({c.points:g})" for c in test.criteria)
        lines.append(f"* {label} ({test.points:g}): {items}")
    return "\n".join(lines)


def score(grade_id: str, found: Evidence | None) -> list[Result]:
    """The grader's judgement of saved evidence: every criterion of the test, with its points."""
    return judge_criteria(TESTS[grade_id], found)


def judge(grade_id: str, found: Evidence | None) -> str | None:
    """What failed on saved evidence, as one message; None when every criterion passed."""
    return failure_message(score(grade_id, found))


def run(grade_id: str, function) -> None:
    """Run one test cell's test on the student's *function*: collect, send while grading, judge
    and print each criterion; raise AssertionError (what failed) if any criterion failed."""
    test = TESTS[grade_id]
    data, arrays = test.collect(function)
    evidence.record(grade_id, data, arrays)
    results = judge_criteria(test, (evidence.plain(data), arrays))
    print(report(results))
    failure = failure_message(results)
    if failure:
        raise AssertionError(failure)
    if test.passed:
        print(test.passed)
