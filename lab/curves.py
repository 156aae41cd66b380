"""The benchmark's pictures: learning curves per model, and test accuracy against training time."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_curves(history: dict, path: Path, title: str) -> None:
    """Draw the learning curves (loss and accuracy per epoch) into *path* with utils.plot_history."""
    plt = _pyplot()
    from utils import plot_history

    labels = {"loss": "train loss", "val_loss": "test loss",
              "accuracy": "train accuracy", "val_accuracy": "test accuracy"}
    figure = plot_history({labels.get(key, key): values for key, values in history.items()
                           if values}, title)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def save_accuracy_vs_time(models: dict, path: Path) -> bool:
    """Test accuracy after each epoch against minutes of training so far, one line per model.

    The curve that says what an extra minute of training buys, and where the optimised model
    overtakes the assignment's CNN at equal cost. Smoke-test (``--limit``) runs are left out.
    False when no model has a test curve.
    """
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 4.2))
    drawn = False
    for name, entry in models.items():
        accuracy = entry.get("history", {}).get("val_accuracy") or []
        seconds = entry.get("epoch_seconds") or []
        if not accuracy or len(accuracy) != len(seconds) or entry.get("limit"):
            continue
        minutes = np.cumsum(seconds) / 60
        axis.plot(minutes, accuracy, marker=".", label=f"{name} ({entry.get('epochs')} epochs)")
        drawn = True
    if drawn:
        axis.set(xlabel="training time (minutes, this machine)", ylabel="test accuracy",
                 title="Test accuracy after each epoch against training time")
        axis.grid(alpha=0.3)
        axis.legend()
        figure.tight_layout()
        figure.savefig(path, dpi=100)
    plt.close(figure)
    return drawn
