"""Tests of ``utils.training``: the fast forms of pooling and augmentation learn exactly the same,
and the patch-whitening layer's weights do what they promise."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from utils.training import (AugmentedBatches, MaxPooling2x2, augmented_batches,  # noqa: E402
                            patch_whitening)


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
