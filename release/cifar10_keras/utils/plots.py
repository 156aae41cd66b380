"""Figures the notebook shows: sample images with their class names, and learning curves."""

from __future__ import annotations

import numpy as np

from .data import CLASS_NAMES


def show_images(images, labels, class_names=CLASS_NAMES, ncols: int = 8, size: float = 1.4):
    """Plot a grid of images titled with their class names; return the matplotlib figure.

    *labels* may be class ids of shape (N,) or (N, 1), or one-hot rows of shape (N, 10).
    """
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] > 1:
        labels = labels.argmax(axis=1)
    labels = labels.reshape(-1).astype(int)
    nrows = int(np.ceil(len(images) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * (size + 0.25)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, label in zip(axes.flat, images, labels):
        ax.imshow(image)
        ax.set_title(class_names[label], fontsize=9)
    fig.tight_layout()
    return fig


def plot_history(history, title: str = ""):
    """Plot training (and validation, if any) loss and accuracy per epoch; return the figure."""
    import matplotlib.pyplot as plt

    logs = getattr(history, "history", history)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5))
    for key, values in logs.items():
        epochs = np.arange(1, len(values) + 1)
        target = ax_acc if "acc" in key else ax_loss
        target.plot(epochs, values, marker=".", label=key)
    for ax, name in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
