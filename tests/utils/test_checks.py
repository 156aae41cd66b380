"""Tests for utils.checks: right answers written in different ways pass, wrong ones fail and teach."""

import os

import keras
import numpy as np
import pytest
from keras import layers

import utils
from utils import checks


def failure(function, *args, **kwargs) -> str:
    """Run a check that must fail; return its AssertionError message."""
    with pytest.raises(AssertionError) as error:
        function(*args, **kwargs)
    return str(error.value)


def assert_mentions(message: str, *phrases: str) -> None:
    """Assert that every phrase occurs in the message."""
    missing = [phrase for phrase in phrases if phrase not in message]
    assert not missing, f"{missing} not in message: {message!r}"


@pytest.fixture(scope="module")
def tiny_set():
    """The tiny synthetic CIFAR-10 the notebook's tests use: ((x, y), (x_test, y_test)) as uint8."""
    with checks.synthetic_cifar10() as raw:
        return raw


# --------------------------------------------------------------------------------------------
# call and unpack
# --------------------------------------------------------------------------------------------

def test_call_passes_arguments_and_result():
    """call() is transparent for working code."""
    assert checks.call(lambda a, b=0: a + b, 2, b=3) == 5


def test_call_explains_a_leftover_not_implemented():
    """A function still raising NotImplementedError fails with a hint to replace that line."""
    def load_cifar10():
        raise NotImplementedError()

    message = failure(checks.call, load_cifar10)
    assert_mentions(message, "load_cifar10()", "raise NotImplementedError()")


def test_call_leaves_other_errors_alone():
    """Real bugs in the student's code keep their own exception type and traceback."""
    def broken():
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        checks.call(broken)


def test_unpack_explains_a_missing_return():
    """A None result is blamed on a forgotten return statement."""
    message = failure(checks.unpack, None, 4, "load_cifar10", "xtrain, ytrain_1hot, xtest, ytest_1hot")
    assert_mentions(message, "load_cifar10() returned None", "return")


@pytest.mark.parametrize("result, described", [
    ((1, 2), "tuple of length 2"),
    (np.zeros((3, 4)), "ndarray of length 3"),
    (5, "returned int."),
])
def test_unpack_rejects_the_wrong_number_of_values(result, described):
    """Returning too few values (or a single array) names the values expected."""
    message = failure(checks.unpack, result, 4, "load_cifar10", "xtrain, ytrain_1hot, xtest, ytest_1hot")
    assert_mentions(message, "should return 4 values (xtrain, ytrain_1hot, xtest, ytest_1hot)", described)


@pytest.mark.parametrize("result", [(1, 2, 3, 4), [1, 2, 3, 4]])
def test_unpack_accepts_tuples_and_lists(result):
    """Four values come back as a tuple, whether returned as a tuple or a list."""
    assert checks.unpack(result, 4, "f", "a, b, c, d") == (1, 2, 3, 4)


# --------------------------------------------------------------------------------------------
# synthetic_cifar10
# --------------------------------------------------------------------------------------------

def test_synthetic_cifar10_serves_both_loaders(monkeypatch):
    """Inside the context utils.load_data() and keras's cifar10.load_data() return the tiny set."""
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    with checks.synthetic_cifar10(train_per_class=4, test_per_class=5, seed=11) as (train, test):
        assert train[0].shape == (40, 32, 32, 3) and test[0].shape == (50, 32, 32, 3)
        assert train[1].shape == (40, 1) and train[0].dtype == np.uint8
        for loaded in (utils.load_data(), keras.datasets.cifar10.load_data()):
            (x, y), (xt, yt) = loaded
            np.testing.assert_array_equal(x, train[0])
            np.testing.assert_array_equal(y, train[1])
            np.testing.assert_array_equal(xt, test[0])
            np.testing.assert_array_equal(yt, test[1])


def test_synthetic_cifar10_restores_the_environment(monkeypatch):
    """Afterwards CIFAR10_DIR, keras's loader and the temporary folder are as before, even on error."""
    monkeypatch.setenv("CIFAR10_DIR", "/somewhere/else")
    original = keras.datasets.cifar10.load_data
    with pytest.raises(RuntimeError):
        with checks.synthetic_cifar10():
            folder = os.environ["CIFAR10_DIR"]
            assert folder != "/somewhere/else" and os.path.isdir(folder)
            assert keras.datasets.cifar10.load_data is not original
            raise RuntimeError("a failing student function")
    assert os.environ["CIFAR10_DIR"] == "/somewhere/else"
    assert keras.datasets.cifar10.load_data is original
    assert not os.path.exists(folder)

    monkeypatch.delenv("CIFAR10_DIR")
    with checks.synthetic_cifar10():
        pass
    assert "CIFAR10_DIR" not in os.environ


def test_synthetic_cifar10_seeds_differ(tiny_set):
    """The hidden tests' other seed gives other images, so a hard-coded answer cannot pass."""
    with checks.synthetic_cifar10(train_per_class=6, test_per_class=3, seed=8) as ((x, _), _):
        assert x.shape == tiny_set[0][0].shape
        assert not np.array_equal(x, tiny_set[0][0])


def test_sample_data_and_small_model_fit_together():
    """sample_data gives float32 images in [0, 1] with one-hot or 0/1 labels for small_model."""
    x, y = checks.sample_data(n=20)
    assert x.shape == (20, 32, 32, 3) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert y.shape == (20, 10) and (y.sum(axis=1) == 1).all()
    _, yb = checks.sample_data(n=20, binary=True)
    assert yb.shape == (20,) and set(np.unique(yb)) <= {0.0, 1.0}
    assert checks.small_model().output_shape == (None, 10)
    assert checks.small_model(1, "sigmoid").output_shape == (None, 1)


# --------------------------------------------------------------------------------------------
# check_images
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [
    lambda raw: raw.astype("float32") / 255.0,
    lambda raw: raw / 255,
    lambda raw: (raw / np.float32(255)).astype(np.float32),
    lambda raw: np.divide(raw, 255.0, dtype=np.float64),
    lambda raw: keras.ops.convert_to_tensor(raw.astype("float32") / 255.0),
], ids=["float32", "float64", "float32-cast", "np.divide", "tensor"])
def test_check_images_accepts_scaled_images(tiny_set, scale):
    """float32 or float64 pixels divided by 255, in the loaded order, pass."""
    raw = tiny_set[0][0]
    checks.check_images(scale(raw), raw, "xtrain")


@pytest.mark.parametrize("answer, phrases", [
    (lambda raw: raw, ("dtype uint8", "divide by 255")),
    (lambda raw: raw.astype("float32"), ("still between 0 and 255", "divide by 255")),
    (lambda raw: raw.astype("float32") / 255.0 / 255.0, ("divided by 255 twice",)),
    (lambda raw: raw[::-1].astype("float32") / 255.0, ("order",)),
    (lambda raw: raw.astype("float32") / 127.5 - 1.0, ("negative values", "dividing by 255")),
    (lambda raw: raw.transpose(0, 3, 1, 2) / 255.0, ("should have shape (60, 32, 32, 3)", "(60, 3, 32, 32)")),
    (lambda raw: raw.reshape(len(raw), -1) / 255.0, ("should have shape", "(60, 3072)")),
    (lambda raw: raw[:10] / 255.0, ("should have shape", "(10, 32, 32, 3)")),
    (lambda raw: (raw / 255.0).tolist(), ("numpy array", "list")),
], ids=["uint8", "unscaled", "divided-twice", "shuffled", "centred", "channels-first",
        "flattened", "too-few", "list"])
def test_check_images_rejects_wrong_images(tiny_set, answer, phrases):
    """Wrong dtype, scale, order or shape each fail with a message that says what to fix."""
    raw = tiny_set[0][0]
    message = failure(checks.check_images, answer(raw), raw, "xtrain")
    assert_mentions(message, "xtrain", *phrases)


# --------------------------------------------------------------------------------------------
# check_onehot
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("encode", [
    lambda y: keras.utils.to_categorical(y, num_classes=10),
    lambda y: keras.utils.to_categorical(y),
    lambda y: keras.utils.to_categorical(y.reshape(-1), 10),
    lambda y: np.eye(10)[y.reshape(-1)],
    lambda y: np.eye(10, dtype=np.float32)[y[:, 0]],
    lambda y: (y == np.arange(10)).astype(int),
    lambda y: keras.ops.one_hot(y.reshape(-1), 10),
], ids=["to_categorical", "to_categorical-inferred", "to_categorical-flat", "eye", "eye-float32",
        "broadcast", "ops.one_hot"])
def test_check_onehot_accepts_encodings(tiny_set, encode):
    """to_categorical, np.eye indexing and other correct encodings all pass."""
    y = tiny_set[0][1]
    checks.check_onehot(encode(y), y, "ytrain_1hot")


@pytest.mark.parametrize("answer, phrases", [
    (lambda y: y, ("shape (60, 1)", "still class ids", "one-hot", "(60, 10)")),
    (lambda y: y.reshape(-1), ("shape (60,)", "still class ids", "one-hot")),
    (lambda y: np.eye(10)[y], ("should have shape (60, 10)", "(60, 1, 10)")),
    (lambda y: keras.utils.to_categorical(y, 11), ("should have shape (60, 10)", "(60, 11)")),
    (lambda y: np.eye(10)[(y.reshape(-1) + 1) % 10], ("Row 0", "position of the class id")),
    (lambda y: np.eye(10)[9 - y.reshape(-1)], ("position of the class id",)),
    (lambda y: np.eye(10)[y.reshape(-1)] * 0.9 + 0.01, ("only zeros and ones",)),
    (lambda y: np.eye(10)[y.reshape(-1)] + np.eye(10)[(y.reshape(-1) + 1) % 10],
     ("exactly one 1",)),
], ids=["class-ids-2d", "class-ids-1d", "eye-of-2d", "11-classes", "shifted", "reversed",
        "smoothed", "two-ones"])
def test_check_onehot_rejects_wrong_encodings(tiny_set, answer, phrases):
    """Class ids, wrong widths and ones at the wrong positions fail with a teaching message."""
    y = tiny_set[0][1]
    message = failure(checks.check_onehot, answer(y), y, "ytrain_1hot")
    assert_mentions(message, "ytrain_1hot", *phrases)


# --------------------------------------------------------------------------------------------
# check_binary_labels
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("encode", [
    lambda y: utils.ANIMAL_MASK[y.reshape(-1)],
    lambda y: np.array([0, 0, 1, 1, 1, 1, 1, 1, 0, 0])[y[:, 0]],
    lambda y: np.isin(y.flatten(), [2, 3, 4, 5, 6, 7]).astype("float32"),
    lambda y: ((y >= 2) & (y <= 7)).ravel(),
    lambda y: np.where(np.isin(y, [0, 1, 8, 9]), 0, 1).reshape(-1),
], ids=["mask", "array-index", "isin-float", "bool", "where"])
def test_check_binary_labels_accepts_encodings(tiny_set, encode):
    """Integer, float and boolean 0/1 vectors with 1 = animal pass."""
    y = tiny_set[0][1]
    checks.check_binary_labels(encode(y), y, "ytrain")


def test_check_binary_labels_hints_to_flatten(tiny_set):
    """An (N, 1) column of correct values fails with the hint to flatten it."""
    y = tiny_set[0][1]
    message = failure(checks.check_binary_labels, utils.ANIMAL_MASK[y], y, "ytrain")
    assert_mentions(message, "ytrain", "shape (60,)", "(60, 1)", "Flatten it", ".reshape(-1)")


def test_check_binary_labels_rejects_swapped_classes(tiny_set):
    """Vehicles = 1 and animals = 0 fail with the rule spelled out."""
    y = tiny_set[0][1]
    message = failure(checks.check_binary_labels, 1 - utils.ANIMAL_MASK[y.reshape(-1)], y, "ytrain")
    assert_mentions(message, "binary label should be", "animal = 1", "vehicle = 0")


@pytest.mark.parametrize("answer, phrases, flatten_hint", [
    (lambda y: y.reshape(-1), ("only 0 (vehicle) and 1 (animal)",), False),
    (lambda y: utils.ANIMAL_MASK[y.reshape(-1)][:30], ("shape (60,)", "(30,)"), False),
    (lambda y: keras.utils.to_categorical(utils.ANIMAL_MASK[y.reshape(-1)], 2), ("shape (60,)",), False),
], ids=["class-ids", "too-short", "one-hot-2"])
def test_check_binary_labels_rejects_other_answers(tiny_set, answer, phrases, flatten_hint):
    """Class ids or arrays of another size fail; the flatten hint only comes when it would help."""
    y = tiny_set[0][1]
    message = failure(checks.check_binary_labels, answer(y), y, "ytrain")
    assert_mentions(message, *phrases)
    assert ("Flatten" in message) == flatten_hint


# --------------------------------------------------------------------------------------------
# Models: check_model, describe_layers, check_layers, check_param_count
# --------------------------------------------------------------------------------------------

MLP_SPEC = [
    ("Flatten", {"output": (3072,)}),
    ("Dense", {"units": 100, "activation": "relu", "output": (100,)}),
    ("Dense", {"units": 10, "activation": "softmax", "output": (10,)}),
]
MLP_PARAMS = 308_310

CONV = {"filters": 32, "kernel_size": (3, 3), "padding": "same", "activation": "relu"}
CONV_SPEC = [
    ("Conv2D", {**CONV, "output": (32, 32, 32)}),
    ("Conv2D", {**CONV, "output": (32, 32, 32)}),
    ("MaxPooling2D", {"pool_size": (2, 2), "output": (16, 16, 32)}),
    ("Dropout", {"rate": 0.25}),
    ("Conv2D", {**CONV, "output": (16, 16, 32)}),
    ("Conv2D", {**CONV, "output": (16, 16, 32)}),
    ("MaxPooling2D", {"pool_size": (2, 2), "output": (8, 8, 32)}),
    ("Dropout", {"rate": 0.5}),
    ("Flatten", {"output": (2048,)}),
    ("Dense", {"units": 250, "activation": "relu"}),
    ("Dense", {"units": 100, "activation": "relu"}),
    ("Dense", {"units": 10, "activation": "softmax", "output": (10,)}),
]
CONV_PARAMS = 567_000


def conv_layers():
    """The layers of the Question 3.1 network, as the model solution writes them."""
    return [
        layers.Conv2D(32, (3, 3), activation="relu", padding="same"),
        layers.Conv2D(32, (3, 3), activation="relu", padding="same"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Dropout(0.25),
        layers.Conv2D(32, (3, 3), activation="relu", padding="same"),
        layers.Conv2D(32, (3, 3), activation="relu", padding="same"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Dropout(0.5),
        layers.Flatten(),
        layers.Dense(250, activation="relu"),
        layers.Dense(100, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ]


def mlp_list():
    return keras.Sequential([keras.Input(shape=(32, 32, 3)), layers.Flatten(),
                             layers.Dense(100, activation="relu"), layers.Dense(10, activation="softmax")])


def mlp_add():
    model = keras.Sequential()
    model.add(keras.Input(shape=(32, 32, 3)))
    model.add(layers.Flatten())
    model.add(layers.Dense(units=100, activation=keras.activations.relu))
    model.add(layers.Dense(units=10, activation="softmax"))
    return model


def mlp_input_shape():
    return keras.Sequential([layers.Flatten(input_shape=(32, 32, 3)),
                             layers.Dense(100, activation="relu"), layers.Dense(10, activation="softmax")])


def mlp_functional():
    inputs = keras.Input(shape=(32, 32, 3))
    hidden = layers.Dense(100, activation="relu")(layers.Flatten()(inputs))
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(hidden))


def mlp_no_input():
    return keras.Sequential([layers.Flatten(), layers.Dense(100, activation="relu"),
                             layers.Dense(10, activation="softmax")])


def mlp_separate_activations():
    return keras.Sequential([keras.Input(shape=(32, 32, 3)), layers.Flatten(),
                             layers.Dense(100), layers.ReLU(), layers.Dense(10), layers.Softmax()])


def mlp_activation_layers():
    return keras.Sequential([keras.Input(shape=(32, 32, 3)), layers.Flatten(),
                             layers.Dense(100), layers.Activation("relu"),
                             layers.Dense(10), layers.Activation("softmax")])


def conv_list():
    return keras.Sequential([keras.Input(shape=(32, 32, 3)), *conv_layers()])


def conv_add_with_relu_layers():
    model = keras.Sequential()
    model.add(keras.Input(shape=(32, 32, 3)))
    for rate in (0.25, 0.5):
        for _ in range(2):
            model.add(layers.Conv2D(filters=32, kernel_size=3, padding="same"))
            model.add(layers.ReLU())
        model.add(layers.MaxPooling2D(2))
        model.add(layers.Dropout(rate=rate))
    model.add(layers.Flatten())
    model.add(layers.Dense(250))
    model.add(layers.Activation("relu"))
    model.add(layers.Dense(100, activation="relu"))
    model.add(layers.Dense(10))
    model.add(layers.Activation("softmax"))
    return model


def conv_input_shape():
    first, *rest = conv_layers()
    return keras.Sequential([layers.Conv2D(32, (3, 3), activation="relu", padding="same",
                                           input_shape=(32, 32, 3)), *rest])


def conv_functional():
    inputs = x = keras.Input(shape=(32, 32, 3))
    for layer in conv_layers():
        x = layer(x)
    return keras.Model(inputs=inputs, outputs=x)


def conv_no_input():
    return keras.Sequential(conv_layers())


def conv_activation_layers():
    model = []
    for layer in conv_layers():
        if isinstance(layer, layers.Conv2D):
            model += [layers.Conv2D(32, (3, 3), padding="same"), layers.Activation("relu")]
        else:
            model.append(layer)
    return keras.Sequential(model)


@pytest.fixture(scope="module")
def mlp_reference():
    """describe_layers of the model solution of build_multilayer_nn."""
    return checks.describe_layers(checks.check_model(mlp_list(), "build_multilayer_nn"))


@pytest.fixture(scope="module")
def conv_reference():
    """describe_layers of the model solution of build_convolution_nn."""
    return checks.describe_layers(checks.check_model(conv_list(), "build_convolution_nn"))


@pytest.mark.filterwarnings("ignore::UserWarning")  # Keras warns about input_shape= on a layer
@pytest.mark.parametrize("build", [mlp_list, mlp_add, mlp_input_shape, mlp_functional, mlp_no_input,
                                   mlp_separate_activations, mlp_activation_layers])
def test_multilayer_nn_written_differently_reads_the_same(build, mlp_reference):
    """Every way of writing Flatten, Dense(100, relu), Dense(10, softmax) passes and reads the same."""
    model = checks.check_model(checks.call(build), "build_multilayer_nn")
    assert checks.describe_layers(model) == mlp_reference
    checks.check_layers(model, MLP_SPEC, "build_multilayer_nn")
    checks.check_param_count(model, MLP_PARAMS, "build_multilayer_nn")


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("build", [conv_list, conv_add_with_relu_layers, conv_input_shape,
                                   conv_functional, conv_no_input, conv_activation_layers])
def test_convolution_nn_written_differently_reads_the_same(build, conv_reference):
    """Every way of writing the Question 3.1 network passes the notebook's hidden checks."""
    model = checks.check_model(checks.call(build), "build_convolution_nn")
    assert checks.describe_layers(model) == conv_reference
    checks.check_layers(model, CONV_SPEC, "build_convolution_nn")
    checks.check_param_count(model, CONV_PARAMS, "build_convolution_nn")


def test_describe_layers_reads_settings(conv_reference):
    """The description holds the settings the checks compare, and layer_text prints them."""
    first, pool, dropout = conv_reference[0], conv_reference[2], conv_reference[7]
    assert first == {"type": "Conv2D", "output": (32, 32, 32), "filters": 32, "kernel_size": (3, 3),
                     "padding": "same", "activation": "relu", "params": 3 * 3 * 3 * 32 + 32}
    assert pool["pool_size"] == (2, 2) and dropout["rate"] == 0.5
    assert checks.layer_text(conv_reference[-1]) == "Dense(units=10, activation=softmax)"


def conv_with(index, layer=None):
    """The Question 3.1 network with layer *index* replaced by *layer* (or removed)."""
    model_layers = conv_layers()
    if layer is None:
        del model_layers[index]
    else:
        model_layers[index] = layer
    return keras.Sequential([keras.Input(shape=(32, 32, 3)), *model_layers])


@pytest.mark.parametrize("build, phrases", [
    (lambda: conv_with(9, layers.Dense(200, activation="relu")),
     ("Layer 10 (Dense)", "units 250", "has 200", "Your layer: Dense(units=200, activation=relu)")),
    (lambda: conv_with(10, layers.Dense(100, activation="sigmoid")),
     ("Layer 11 (Dense)", "activation relu", "has sigmoid")),
    (lambda: conv_with(0, layers.Conv2D(32, (3, 3), padding="same")),
     ("Layer 1 (Conv2D)", "activation relu", "has linear")),
    (lambda: conv_with(2, layers.MaxPooling2D(pool_size=(3, 3))),
     ("Layer 3 (MaxPooling2D)", "pool_size (2, 2)", "has (3, 3)")),
    (lambda: conv_with(7, layers.Dropout(0.25)),
     ("Layer 8 (Dropout)", "rate 0.5", "has 0.25")),
    (lambda: conv_with(1, layers.Conv2D(32, (3, 3), activation="relu")),
     ("Layer 2 (Conv2D)", "padding same", "has valid")),
    (lambda: conv_with(4, layers.Conv2D(64, (3, 3), activation="relu", padding="same")),
     ("Layer 5 (Conv2D)", "filters 32", "has 64")),
    (lambda: conv_with(5, layers.Conv2D(32, (5, 5), activation="relu", padding="same")),
     ("Layer 6 (Conv2D)", "kernel_size (3, 3)", "has (5, 5)")),
], ids=["units", "activation", "no-activation", "pool-size", "dropout-rate", "valid-padding",
        "filters", "kernel-size"])
def test_check_layers_rejects_wrong_settings(build, phrases):
    """A wrong setting fails with the layer's number and type, the value wanted and the value found."""
    model = checks.check_model(build(), "build_convolution_nn")
    message = failure(checks.check_layers, model, CONV_SPEC, "build_convolution_nn")
    assert_mentions(message, *phrases)


def test_check_layers_rejects_a_missing_layer():
    """A missing Dropout fails with both layer lists, so the student sees what is missing."""
    model = checks.check_model(conv_with(3), "build_convolution_nn")
    message = failure(checks.check_layers, model, CONV_SPEC, "build_convolution_nn")
    assert_mentions(message, "build_convolution_nn() builds these layers",
                    "Conv2D -> Conv2D -> MaxPooling2D -> Conv2D",
                    "but the assignment asks for",
                    "Conv2D -> Conv2D -> MaxPooling2D -> Dropout -> Conv2D")


def test_check_layers_rejects_a_wrong_output_shape():
    """A wrong output shape is reported as such (here: Flatten of a 28x28x3 crop)."""
    model = keras.Sequential([keras.Input(shape=(32, 32, 3)), layers.Cropping2D(2), layers.Flatten(),
                              layers.Dense(100, activation="relu"), layers.Dense(10, activation="softmax")])
    spec = [("Cropping2D", {})] + MLP_SPEC
    message = failure(checks.check_layers, model, spec, "build_multilayer_nn")
    assert_mentions(message, "Layer 2 (Flatten)", "output shape (3072,)", "has (2352,)")


def test_check_param_count_rejects_another_size():
    """A model with another parameter count fails with both counts and where to compare."""
    model = keras.Sequential([keras.Input(shape=(32, 32, 3)), layers.Flatten(),
                              layers.Dense(100, activation="relu", use_bias=False),
                              layers.Dense(10, activation="softmax")])
    checks.check_layers(model, MLP_SPEC, "build_multilayer_nn")  # same layers, no hidden bias
    message = failure(checks.check_param_count, model, MLP_PARAMS, "build_multilayer_nn")
    assert_mentions(message, "308,210 parameters", "308,310", "model.summary()")


@pytest.mark.parametrize("result, phrases", [
    (None, ("build_multilayer_nn() returned None", "return model")),
    ([layers.Flatten(), layers.Dense(10)], ("should return a Keras model", "list")),
    (keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Flatten(), layers.Dense(10)]),
     ("32x32x3", "keras.Input(shape=(32, 32, 3))", "(28, 28, 1)")),
], ids=["none", "list", "wrong-input"])
def test_check_model_rejects_non_models(result, phrases):
    """No model, a list of layers or the wrong input shape each fail with a hint."""
    message = failure(checks.check_model, result, "build_multilayer_nn")
    assert_mentions(message, *phrases)


# --------------------------------------------------------------------------------------------
# Training: record_training and check_training
# --------------------------------------------------------------------------------------------

EPOCHS = 2  # the "task" of these tests; keeps every real fit to 2 x 2 steps
GLOBAL_X, GLOBAL_Y = checks.sample_data(n=32, seed=9)  # a notebook-level array of another size


def train_solution(model, xtrain, ytrain):
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=0.01),
                  metrics=["accuracy"])
    return model.fit(xtrain, ytrain, epochs=EPOCHS, batch_size=32)


def train_objects(model, xtrain, ytrain):
    model.compile(optimizer="sgd", loss=keras.losses.CategoricalCrossentropy(), metrics=["accuracy"])
    history = model.fit(x=xtrain, y=ytrain, batch_size=32, epochs=EPOCHS, verbose=1)
    return history


def train_objects_no_return(model, xtrain, ytrain):
    model.compile(optimizer="sgd", loss=keras.losses.CategoricalCrossentropy(), metrics=["accuracy"])
    model.fit(x=xtrain, y=ytrain, batch_size=32, epochs=EPOCHS, verbose=1)


def train_positional(model, xtrain, ytrain):
    model.compile(keras.optimizers.SGD(0.01), keras.losses.categorical_crossentropy, metrics=["acc"])
    history = model.fit(xtrain, ytrain, 32, EPOCHS, 0)
    return history


def train_default_batch(model, xtrain, ytrain):
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=1e-2),
                  metrics=[keras.metrics.CategoricalAccuracy()])
    return model.fit(xtrain, ytrain, epochs=EPOCHS, validation_split=0.25)


@pytest.mark.parametrize("train", [train_solution, train_objects, train_positional,
                                   train_default_batch])
def test_training_written_differently_passes(train):
    """String or object loss and optimiser, any fit call style, batch_size left at 32: all pass."""
    x, y = checks.sample_data(n=48, seed=3)
    model = checks.small_model()
    record = checks.record_training(train, model, x, y)
    checks.check_training(record, train.__name__, x, y, loss="categorical_crossentropy",
                          epochs=EPOCHS, batch_size=32, learning_rate=0.01)
    assert len(record.fit_calls) == 1 and record.fit_calls[0]["x"] is x
    assert record.optimizer == "SGD" and record.loss == "categorical_crossentropy"
    assert "fit" not in vars(model)  # the recording wrapper is gone again


def test_record_training_records_what_happened():
    """The record holds the fit arguments, what the function returned and the compiled settings."""
    x, y = checks.sample_data(n=48, seed=3)
    record = checks.record_training(train_solution, checks.small_model(), x, y)
    fit = record.fit_calls[0]
    assert fit["x"] is x and fit["y"] is y and fit["epochs"] == EPOCHS and fit["batch_size"] == 32
    assert isinstance(record.returned, keras.callbacks.History)
    assert len(record.returned.history["loss"]) == EPOCHS
    assert record.learning_rate == pytest.approx(0.01)
    assert "accuracy" in record.history_keys and record.trainable_at_fit
    assert checks.record_training(train_objects_no_return, checks.small_model(), x, y).returned is None


def test_training_must_return_the_history():
    """A train function that trains right but returns nothing, or something else, is told to
    return the History: the notebook's long cells plot it."""
    x, y = checks.sample_data(n=48, seed=3)
    record = checks.record_training(train_objects_no_return, checks.small_model(), x, y)
    with pytest.raises(AssertionError) as error:
        checks.check_training(record, "train_multilayer_nn", x, y, loss="categorical_crossentropy",
                              epochs=EPOCHS, batch_size=32, learning_rate=0.01)
    assert_mentions(str(error.value), "returned nothing", "return model.fit(...)")

    def train_returns_model(model, xtrain, ytrain):
        train_solution(model, xtrain, ytrain)
        return model

    record = checks.record_training(train_returns_model, checks.small_model(), x, y)
    with pytest.raises(AssertionError, match="returned a Sequential"):
        checks.check_training(record, "train_multilayer_nn", x, y, loss="categorical_crossentropy",
                              epochs=EPOCHS, batch_size=32, learning_rate=0.01)


def test_binary_training_passes():
    """A sigmoid model trained with binary cross-entropy (object or string) passes its check."""
    def train(model, xtrain, ytrain):
        model.compile(loss=keras.losses.BinaryCrossentropy(), optimizer="sgd", metrics=["accuracy"])
        return model.fit(xtrain, ytrain, epochs=EPOCHS)

    x, y = checks.sample_data(n=48, binary=True, seed=5)
    record = checks.record_training(train, checks.small_model(1, "sigmoid"), x, y)
    checks.check_training(record, "train_binary_classifier", x, y, loss="binary_crossentropy",
                          epochs=EPOCHS, batch_size=32, learning_rate=0.01)


def make_train(loss="categorical_crossentropy", optimizer=None, metrics=("accuracy",),
               fit_kwargs=None, fits=1, data=None):
    """A train function like the solution with one thing changed."""
    def train(model, xtrain, ytrain):
        model.compile(loss=loss, metrics=list(metrics),
                      optimizer=optimizer() if optimizer else keras.optimizers.SGD(learning_rate=0.01))
        x, y = data if data else (xtrain, ytrain)
        for _ in range(fits):
            history = model.fit(x, y, **{"epochs": EPOCHS, "batch_size": 32, **(fit_kwargs or {})})
        return history if fits else None
    return train


def train_new_model(model, xtrain, ytrain):
    model = checks.small_model()
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    return model.fit(xtrain, ytrain, epochs=EPOCHS, batch_size=32)


def record_and_check(train, x, y):
    """What a hidden test cell does: record the training, then check it against the task."""
    record = checks.record_training(train, checks.small_model(), x, y)
    checks.check_training(record, "train_multilayer_nn", x, y, loss="categorical_crossentropy",
                          epochs=EPOCHS, batch_size=32, learning_rate=0.01)


@pytest.mark.parametrize("train, phrases", [
    (make_train(fit_kwargs={"epochs": EPOCHS + 1}), (f"ran for {EPOCHS + 1} epochs", f"asks for {EPOCHS}")),
    (make_train(fit_kwargs={"batch_size": 16}), ("batch_size=16", "asks for 32")),
    (make_train(optimizer=keras.optimizers.Adam), ("optimiser Adam", "keras.optimizers.SGD")),
    (make_train(optimizer=lambda: keras.optimizers.SGD(learning_rate=0.1)),
     ("learning rate", "should be 0.01", "SGD(learning_rate=0.01)")),
    (make_train(metrics=()), ("does not report accuracy", "metrics=['accuracy']")),
    (make_train(loss="mse"), ("loss 'mse'", "'categorical_crossentropy'")),
    (make_train(loss="binary_crossentropy"), ("loss 'binary_crossentropy'", "'categorical_crossentropy'")),
    (make_train(fits=2), ("called model.fit 2 times", "one call")),
    (make_train(fits=0), ("never called model.fit",)),
    (make_train(data=(GLOBAL_X, GLOBAL_Y)), ("xtrain it is given", "(48, 32, 32, 3)", "(32, 32, 32, 3)")),
], ids=["epochs", "batch-size", "adam", "learning-rate", "no-accuracy", "mse", "binary-loss",
        "fit-twice", "no-fit", "global-data"])
def test_check_training_rejects_wrong_training(train, phrases):
    """Each deviation from the task fails with a message naming it and the expected setting."""
    x, y = checks.sample_data(n=48, seed=3)
    assert_mentions(failure(record_and_check, train, x, y), *phrases)


def train_global_labels(model, xtrain, ytrain):
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    return model.fit(xtrain, GLOBAL_Y, epochs=EPOCHS, batch_size=32)  # ytrain_1hot of the notebook


def train_global_images(model, xtrain, ytrain):
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    return model.fit(GLOBAL_X, ytrain, epochs=EPOCHS, batch_size=32)


@pytest.mark.parametrize("train, phrases", [
    (train_global_labels, ("ytrain it is given", "(48, 10)", "(32, 10)")),
    (train_global_images, ("xtrain it is given", "(48, 32, 32, 3)", "(32, 32, 32, 3)")),
], ids=["global-labels", "global-images"])
def test_training_on_one_global_array_is_explained(train, phrases):
    """Mixing an argument with a notebook global of another length gets the teaching message,
    not Keras's 'Data cardinality is ambiguous' ValueError."""
    x, y = checks.sample_data(n=48, seed=3)
    assert_mentions(failure(record_and_check, train, x, y), *phrases)


def test_check_training_rejects_training_a_new_model():
    """Training a freshly built model instead of the given one fails, and the message says so."""
    x, y = checks.sample_data(n=48, seed=3)
    model = checks.small_model()
    before = [w.copy() for w in model.get_weights()]
    record = checks.record_training(train_new_model, model, x, y)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert not record.trainable_at_fit
    message = failure(checks.check_training, record, "train_multilayer_nn", x, y,
                      loss="categorical_crossentropy", epochs=EPOCHS, batch_size=32, learning_rate=0.01)
    assert_mentions(message, "model it is given")


@pytest.mark.filterwarnings("ignore:The model does not have any trainable weights")
def test_check_training_rejects_unchanged_weights():
    """A record whose model could not learn (fit on a frozen model) fails with the weights message."""
    def train_frozen(model, xtrain, ytrain):
        model.trainable = False
        return train_solution(model, xtrain, ytrain)

    x, y = checks.sample_data(n=48, seed=3)
    record = checks.record_training(train_frozen, checks.small_model(), x, y)
    message = failure(checks.check_training, record, "train_multilayer_nn", x, y,
                      loss="categorical_crossentropy", epochs=EPOCHS, batch_size=32, learning_rate=0.01)
    assert_mentions(message, "weights could not change", "the model it is given")


def test_record_training_explains_not_implemented():
    """An unfinished train function fails like any other unfinished function, and fit is restored."""
    def train_multilayer_nn(model, xtrain, ytrain):
        raise NotImplementedError()

    model = checks.small_model()
    x, y = checks.sample_data(n=8)
    message = failure(checks.record_training, train_multilayer_nn, model, x, y)
    assert_mentions(message, "train_multilayer_nn()", "raise NotImplementedError()")
    assert "fit" not in vars(model)
