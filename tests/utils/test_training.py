"""Tests of ``utils.training``: the fast forms of pooling and augmentation learn exactly the same,
the patch-whitening layer's weights do what they promise, and a fit without copies trains
exactly as a plain fit does, in less memory."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from utils import training  # noqa: E402
from utils.training import (AugmentedBatches, MaxPooling2x2, augmented_batches,  # noqa: E402
                            fit_without_copies, patch_whitening, shared_tensor)


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("height, width", [(8, 6), (7, 5)])  # odd: the last row and column dropped
def test_max_pooling_2x2_matches_the_builtin_layer_and_its_gradient(jit, height, width):
    size = 2 * height * width * 3
    x = tf.constant(np.random.default_rng(0).permutation(size)
                    .reshape(2, height, width, 3).astype(np.float32))  # distinct values: no ties

    # A different weight for every output, so that each gradient shows where its maximum was.
    out_shape = (2, height // 2, width // 2, 3)
    weights = tf.reshape(tf.range(1.0, 1.0 + int(np.prod(out_shape))), out_shape)

    def value_and_gradient(layer):
        @tf.function(jit_compile=jit)
        def run(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x)
                loss = tf.reduce_sum(y * weights)
            return y, tape.gradient(loss, x)
        return run(x)

    y_fast, g_fast = value_and_gradient(MaxPooling2x2())
    y_builtin, g_builtin = value_and_gradient(keras.layers.MaxPooling2D((2, 2)))
    assert y_fast.shape == out_shape
    assert MaxPooling2x2().compute_output_shape((None, height, width, 3)) == (None, *out_shape[1:])
    np.testing.assert_array_equal(y_fast.numpy(), y_builtin.numpy())
    np.testing.assert_array_equal(g_fast.numpy(), g_builtin.numpy())


def correlated_images(count=300, seed=1, noise_level=0.05):
    """Images whose neighbouring pixels and colour channels are strongly correlated, like photos."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(count, 18, 18, 1)).astype(np.float32)
    smooth = (noise[:, :-2, :-2] + noise[:, 1:-1, 1:-1] + noise[:, 2:, 2:]) / 3
    images = np.concatenate([smooth, smooth * 0.5, -smooth], axis=-1) + 0.4
    return images + noise_level * rng.normal(size=images.shape).astype(np.float32)


def whitening_layer_outputs(images, weights):
    layer = keras.layers.Conv2D(weights[0].shape[-1], weights[0].shape[:2])
    layer.build((None, *images.shape[1:]))
    layer.set_weights(weights)
    return keras.ops.convert_to_numpy(layer(images)).reshape(-1, weights[0].shape[-1])


@pytest.mark.parametrize("size", [2, 3])
def test_patch_whitening_gives_decorrelated_zero_mean_unit_variance_outputs(size):
    images = correlated_images()
    kernel, bias = patch_whitening(images, size=size, eps=0.0)
    directions = size * size * 3
    assert kernel.shape == (size, size, 3, 2 * directions) and bias.shape == (2 * directions,)
    np.testing.assert_allclose(kernel[..., directions:], -kernel[..., :directions])  # both signs
    outputs = whitening_layer_outputs(images, [kernel, bias])
    np.testing.assert_allclose(outputs.mean(axis=0), 0.0, atol=1e-3)
    np.testing.assert_allclose(np.cov(outputs[:, :directions], rowvar=False, bias=True),
                               np.eye(directions), atol=2e-3)


def test_patch_whitening_damps_only_the_faintest_directions():
    images = correlated_images(noise_level=0.002)  # faint noise: a few directions barely vary
    outputs = whitening_layer_outputs(images, patch_whitening(images, eps=5e-4))
    variances = np.sort(outputs[:, :12].var(axis=0))
    assert variances[-1] == pytest.approx(1.0, abs=0.01)  # strong directions: unit variance
    assert variances[0] < 0.5  # the faintest (the noise) scaled down by eps, not blown up


def test_patch_whitening_ignores_the_pixel_scale():
    """Pixels in [0, 1] or in [0, 255]: the same layer outputs (eps is relative to the variance)."""
    images = correlated_images()
    (kernel, bias), (kernel_255, bias_255) = patch_whitening(images), patch_whitening(images * 255)
    # each direction's sign is arbitrary, so compare magnitudes
    np.testing.assert_allclose(np.abs(kernel), np.abs(kernel_255) * 255, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(np.abs(bias), np.abs(bias_255), rtol=1e-3, atol=1e-4)


def test_max_pooling_2x2_survives_a_config_round_trip():
    model = keras.Sequential([keras.Input((8, 8, 2)), MaxPooling2x2(),
                              keras.layers.GlobalMaxPooling2D()])
    copy = keras.Sequential.from_config(model.get_config())
    assert isinstance(copy.layers[0], MaxPooling2x2)
    assert copy.output_shape == (None, 2)


def images_with_ids(n: int, size: int = 8):
    """*n* distinct random images and one-hot labels that say which image each one is."""
    rng = np.random.default_rng(n)
    return rng.random((n, size, size, 3)).astype(np.float64), np.eye(n)


def collect(dataset):
    """All batches of one epoch, concatenated, as ``model.fit`` would see them."""
    if isinstance(dataset, AugmentedBatches):
        batches = [dataset[i] for i in range(len(dataset))]
        dataset.on_epoch_end()  # as model.fit calls it
    else:
        batches = [(bx.numpy(), by.numpy()) for bx, by in dataset]
    xs, ys = zip(*batches)
    return np.concatenate(xs), np.concatenate(ys)


# The course's tf.data pipeline, and the same for other Keras backends (JAX on a GPU machine).
PIPELINES = {"tf.data": augmented_batches, "portable": AugmentedBatches}


@pytest.fixture(params=list(PIPELINES))
def pipeline(request):
    return PIPELINES[request.param]


def test_batches_without_augmentation_hold_every_image_once_with_its_label(pipeline):
    x, y = images_with_ids(10)
    dataset = pipeline(x, y, batch_size=4, flip=False, shift=0, seed=1)
    assert [len(bx) for bx, _ in dataset] == [4, 4, 2]
    bx, by = collect(dataset)
    assert bx.dtype == np.float32 and by.dtype == np.float32
    ids = by.argmax(axis=1)
    assert sorted(ids) == list(range(10))
    np.testing.assert_array_equal(bx, x[ids].astype(np.float32))


def test_flips_mirror_some_images_left_to_right_and_keep_their_labels(pipeline):
    x, y = images_with_ids(64)
    bx, by = collect(pipeline(x, y, batch_size=16, shift=0, seed=2))
    x32 = x.astype(np.float32)[by.argmax(axis=1)]
    same = np.all(bx == x32, axis=(1, 2, 3))
    mirrored = np.all(bx == x32[:, :, ::-1], axis=(1, 2, 3))
    assert np.all(same | mirrored)
    assert 10 < mirrored.sum() < 54  # about half, chosen image by image


def test_shifts_move_each_image_by_at_most_two_pixels_filled_by_reflection(pipeline):
    x, y = images_with_ids(32, size=12)
    bx, by = collect(pipeline(x, y, batch_size=8, flip=False, shift=2, seed=3))
    padded = np.pad(x.astype(np.float32), ((0, 0), (2, 2), (2, 2), (0, 0)), mode="symmetric")
    offsets = set()
    for image, i in zip(bx, by.argmax(axis=1)):
        matches = [(dy, dx) for dy in range(5) for dx in range(5)
                   if np.array_equal(image, padded[i, dy:dy + 12, dx:dx + 12])]
        assert matches, "an augmented image is not a shift of its own original by up to 2 pixels"
        offsets.add(matches[0])
    assert len(offsets) > 5  # each image gets its own shift


@pytest.mark.parametrize("side", [4, 6])
def test_cutout_paints_one_grey_square_of_its_side_in_each_image_and_nothing_else(pipeline,
                                                                                  side):
    from utils.training import CUTOUT_FILL

    x, y = images_with_ids(24, size=12)  # random pixels: none is exactly the fill value
    bx, by = collect(pipeline(x, y, batch_size=8, flip=False, shift=0, cutout=side, seed=5))
    originals = x.astype(np.float32)[by.argmax(axis=1)]
    painted = np.all(bx == CUTOUT_FILL, axis=-1)
    corners = set()
    for mask in painted:
        rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        assert len(rows) == len(columns) == side, "the painted area is not one square of that side"
        assert mask.sum() == side * side and np.ptp(rows) == np.ptp(columns) == side - 1
        corners.add((rows[0], columns[0]))
    np.testing.assert_array_equal(bx[~painted], originals[~painted])  # the rest is untouched
    assert len(corners) > 5  # each image gets its own place
    assert not np.any(np.all(collect(pipeline(x, y, batch_size=8, seed=5))[0] == CUTOUT_FILL,
                             axis=-1)), "Cutout is off unless asked for"


def test_every_epoch_brings_a_new_order_and_new_variations(pipeline):
    x, y = images_with_ids(32)
    dataset = pipeline(x, y, batch_size=32, seed=4)
    first, second = collect(dataset), collect(dataset)
    assert not np.array_equal(first[1], second[1])  # reshuffled
    order = np.argsort(first[1].argmax(axis=1)), np.argsort(second[1].argmax(axis=1))
    assert not np.array_equal(first[0][order[0]], second[0][order[1]])  # augmented afresh


def test_augmented_batches_is_a_tf_dataset_on_tensorflow_and_portable_elsewhere(monkeypatch):
    x, y = images_with_ids(8)
    assert isinstance(augmented_batches(x, y, 4), tf.data.Dataset)
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    assert isinstance(augmented_batches(x, y, 4), AugmentedBatches)


def test_model_fit_trains_on_portable_batches_with_a_new_order_each_epoch():
    x, y = images_with_ids(24)
    orders = []

    class Recording(AugmentedBatches):
        def on_epoch_end(self):
            orders.append(self._order.copy())
            super().on_epoch_end()

    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(24, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    history = model.fit(Recording(x, y, 8, seed=5), epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3
    assert len(orders) >= 2 and not np.array_equal(orders[0], orders[1])
    with pytest.raises(IndexError):
        Recording(x, y, 8)[3]


# --------------------------------------------------------------------------------------------
# fit without copies
# --------------------------------------------------------------------------------------------

def test_a_shared_tensor_holds_the_values_as_floatx_in_aligned_memory_of_its_own():
    x = np.random.default_rng(0).random((5, 4, 3))  # float64, as x / 255 gives
    tensor = shared_tensor(x)
    assert tensor.dtype == tf.float32 and tensor.shape == x.shape
    np.testing.assert_array_equal(tensor.numpy(), x.astype(np.float32))
    x[0, 0, 0] = 9.0  # a copy: the student's array can change without changing the tensor
    assert tensor.numpy()[0, 0, 0] != 9.0
    labels = shared_tensor(np.arange(6, dtype=np.uint8))
    assert labels.dtype == tf.uint8 and list(labels.numpy()) == list(range(6))


def _fitted(x, y, lean: bool, **fit_arguments):
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    seen = []
    if not lean:
        return model, model.fit(x, y, verbose=0, **fit_arguments), seen
    plain_fit = model.fit

    def spy(*args, **kwargs):
        seen.append((args, kwargs))
        return plain_fit(*args, **kwargs)

    object.__setattr__(model, "fit", spy)
    with fit_without_copies(model):
        history = model.fit(x, y, verbose=0, **fit_arguments)
    object.__delattr__(model, "fit")
    return model, history, seen


@pytest.mark.parametrize("fit_arguments", [
    {"epochs": 3, "batch_size": 8},
    {"epochs": 2, "batch_size": 8, "validation_split": 0.25},
    {"epochs": 2, "batch_size": 16, "shuffle": False},
])
def test_a_fit_without_copies_trains_exactly_as_a_plain_fit(monkeypatch, fit_arguments):
    monkeypatch.setattr(training, "SHARE_FROM_BYTES", 0)  # share even these small arrays
    rng = np.random.default_rng(1)
    x = rng.random((40, 4, 4, 3)).astype(np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 3, 40), 3)
    plain_model, plain, _ = _fitted(x, y, lean=False, **fit_arguments)
    lean_model, lean, seen = _fitted(x, y, lean=True, **fit_arguments)
    assert lean.history == plain.history
    for mine, theirs in zip(lean_model.get_weights(), plain_model.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    args, kwargs = seen[0]
    assert tf.is_tensor(args[0]) and tf.is_tensor(args[1])  # what Keras was given
    assert "val_loss" in lean.history or "validation_split" not in fit_arguments


def test_the_model_keeps_its_own_fit_afterwards_and_positional_arguments_still_work(monkeypatch):
    monkeypatch.setattr(training, "SHARE_FROM_BYTES", 0)
    x = np.zeros((8, 4, 4, 3), np.float32)
    y = keras.utils.to_categorical(np.arange(8) % 3, 3)
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    with fit_without_copies(model):
        history = model.fit(x, y, 4, 2, 0)  # batch_size, epochs, verbose: the older spelling
    assert history.params["epochs"] == 2 and history.params["steps"] == 2
    assert "fit" not in vars(model)


MEMORY_SCRIPT = """
import gc, json, sys
import numpy as np, keras
from utils.training import fit_without_copies

def peak():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) * 1024

x = np.full((8000, 32, 32, 3), 0.5, np.float32)  # 98 MB
y = keras.utils.to_categorical(np.arange(8000) % 10, 10)
model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(),
                          keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="sgd", loss="categorical_crossentropy")
model.fit(x[:1000], y[:1000], batch_size=32, verbose=0)  # traces the step: not the data's memory
gc.collect()
open("/proc/self/clear_refs", "w").write("5")
before = int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1]) * 1024
if sys.argv[1] == "lean":
    with fit_without_copies(model):
        model.fit(x, y, epochs=1, batch_size=32, verbose=0)
else:
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
print(json.dumps({"added": peak() - before, "data": x.nbytes}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_fit_without_copies_holds_one_copy_of_the_data_where_a_plain_fit_holds_two():
    import json

    added = {}
    for how in ("plain", "lean"):
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(MEMORY_SCRIPT), how],
                              capture_output=True, text=True, timeout=300, check=True)
        added[how] = json.loads(done.stdout.strip().splitlines()[-1])
    data = added["plain"]["data"]
    assert added["plain"]["added"] > 1.8 * data, added  # what the fix is for: two copies
    assert added["lean"]["added"] < 1.4 * data, added  # one copy, and a few batches
    assert added["plain"]["added"] - added["lean"]["added"] > 0.7 * data, added
