"""Tests of test-time augmentation: which views each kind averages, and with what weights."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from lab.evaluation import tta_accuracies  # noqa: E402


def test_flip_tta_averages_each_image_with_its_mirror():
    """A model that reads only the leftmost pixel: averaging with the mirror changes its answers."""
    x = np.zeros((2, 1, 2, 1), "float32")
    x[0, 0, 0, 0] = x[1, 0, 1, 0] = 0.9  # bright left pixel / bright right pixel
    left = keras.layers.Lambda(lambda t: t[:, 0, 0, :])
    two_classes = keras.Sequential([keras.Input((1, 2, 1)), left,
                                    keras.layers.Lambda(lambda p: keras.ops.concatenate([p, 1 - p], -1))])
    # image 0: [0.9, 0.1] alone, [0.45, 0.55] with its mirror; image 1: [0, 1] and [0.45, 0.55]
    assert tta_accuracies(two_classes, x, np.eye(2)[[1, 1]])[0] == 1.0
    assert tta_accuracies(two_classes, x, np.eye(2)[[0, 1]])[0] == 0.5
    one_sigmoid = keras.Sequential([keras.Input((1, 2, 1)), left])  # 0.45 for both: "0"
    assert tta_accuracies(one_sigmoid, x, np.array([0, 0]))[0] == 1.0


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
    assert tta_accuracies(model, images, labels)[1] == 1.0
    assert sorted(model.seen) == ["shifted"] * 4 + ["unshifted"] * 2
