"""Test accuracy with test-time augmentation: what a trained model gains from looking twice.

Both kinds cost only passes over the test set, no training, so every benchmark and ablation run
reports them next to the plain test accuracy.
"""

from __future__ import annotations

import numpy as np


def _mean_with_mirror(model, x, batch_size: int):
    return (model.predict(x, batch_size=batch_size, verbose=0)
            + model.predict(x[:, :, ::-1], batch_size=batch_size, verbose=0)) / 2


def _accuracy(probabilities, y) -> float:
    if probabilities.shape[-1] == 1:  # one sigmoid output
        predicted, truth = probabilities[:, 0] > 0.5, np.asarray(y).reshape(-1) > 0.5
    else:
        predicted, truth = probabilities.argmax(-1), np.asarray(y).argmax(-1)
    return float(np.mean(predicted == truth))


def tta_accuracies(model, x, y, batch_size: int = 500) -> tuple[float, float]:
    """Test accuracy with flip and with multi-crop test-time augmentation, as ``(flip, crop)``.

    *Flip*: each image's prediction averaged with that of its mirror image, the one change that
    never alters a CIFAR-10 class. *Multi-crop* (airbench's): half the weight on that pair, half
    on the two copies shifted one pixel up-left and down-right (reflected borders), each also
    mirrored: six views per image. The two share the unshifted pair.
    """
    x = np.asarray(x, dtype=np.float32)
    unshifted = _mean_with_mirror(model, x, batch_size)
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    height, width = x.shape[1:3]
    shifted = [padded[:, :height, :width], padded[:, 2:height + 2, 2:width + 2]]
    six_views = (unshifted / 2 + sum(_mean_with_mirror(model, s, batch_size) for s in shifted)
                 / (2 * len(shifted)))
    return _accuracy(unshifted, y), _accuracy(six_views, y)
