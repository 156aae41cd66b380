"""CIFAR-10 on disk: find it, load it, and write small synthetic copies for tests.

The loader reads the standard ``cifar-10-batches-py`` folder (the unpacked official
``cifar-10-python.tar.gz``) from the directory named by the ``CIFAR10_DIR`` environment
variable, and otherwise falls back to ``keras.datasets.cifar10.load_data()`` (its cache, or a
download). Both routes return exactly what Keras returns, so notebooks never need to know which
one was used.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

DATA_DIR_ENV = "CIFAR10_DIR"
BATCHES_FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"

CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
#: 1 for the six animal classes, 0 for the four vehicles, indexed by class id.
ANIMAL_MASK = np.array([0, 0, 1, 1, 1, 1, 1, 1, 0, 0], dtype=np.uint8)


#: While nbgrader validates or grades a notebook, ``load_data`` serves only the first this many
#: training and test images. The tests build their own inputs, so the full set would only cost
#: memory (Validate runs beside the student's own kernel) and time.
GRADING_IMAGES = 1000


class DataNotFoundError(RuntimeError):
    """CIFAR-10 is neither in a local folder nor downloadable."""


def find_batches_dir(data_dir: str | os.PathLike | None = None) -> Path | None:
    """Return the ``cifar-10-batches-py`` folder under *data_dir* (or $CIFAR10_DIR), if any."""
    if data_dir is None:
        data_dir = os.environ.get(DATA_DIR_ENV) or None
    if data_dir is None:
        return None
    root = Path(data_dir).expanduser()
    for candidate in (root / BATCHES_FOLDER, root):
        if (candidate / TEST_BATCH).is_file():
            return candidate
    raise DataNotFoundError(
        f"{DATA_DIR_ENV} points to {root}, but there is no '{BATCHES_FOLDER}/{TEST_BATCH}' there.\n"
        f"Unpack the official cifar-10-python.tar.gz into that folder, so that it holds "
        f"'{BATCHES_FOLDER}/data_batch_1' ... '{TEST_BATCH}', or unset {DATA_DIR_ENV} to let Keras "
        f"download the data."
    )


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 pickle batch as (images NHWC uint8, labels int64)."""
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    return images, labels


def load_from_dir(batches_dir: Path, limit: int | None = None):
    """Load a ``cifar-10-batches-py`` folder in the layout of ``keras.datasets.cifar10``.

    With *limit*, only the first *limit* images of each split, reading no more batches than that needs.
    """
    parts = []
    for name in TRAIN_BATCHES:
        parts.append(read_batch(batches_dir / name))
        if limit is not None and sum(len(labels) for _, labels in parts) >= limit:
            break
    x_train = np.concatenate([images for images, _ in parts])[:limit]
    y_train = np.concatenate([labels for _, labels in parts])[:limit].reshape(-1, 1).astype(np.uint8)
    x_test, y_test = read_batch(batches_dir / TEST_BATCH)
    return (x_train, y_train), (x_test[:limit], y_test[:limit].reshape(-1, 1).astype(np.uint8))


def grading_limit() -> int | None:
    """How many images per split load_data serves now: GRADING_IMAGES while graded, else all."""
    return GRADING_IMAGES if os.environ.get("NBGRADER_EXECUTION") else None


def load_data(data_dir: str | os.PathLike | None = None):
    """Return ``(xtrain, ytrain), (xtest, ytest)`` exactly as ``keras.datasets.cifar10.load_data()``.

    Images are uint8 arrays of shape (N, 32, 32, 3); labels are uint8 class ids of shape (N, 1).
    The data come from *data_dir*, else from $CIFAR10_DIR, else from Keras (cache or download).
    While nbgrader validates or grades the notebook, only the first GRADING_IMAGES of each split.
    """
    limit = grading_limit()
    batches_dir = find_batches_dir(data_dir)
    if batches_dir is not None:
        return load_from_dir(batches_dir, limit)
    try:
        from keras.datasets import cifar10

        loaded = cifar10.load_data()
    except Exception as error:  # no network, a broken cache, a proxy ...
        raise DataNotFoundError(
            "CIFAR-10 could not be loaded: Keras could not download it "
            f"({type(error).__name__}: {error}).\n"
            "Do one of these, then run the cell again:\n"
            f"  * point {DATA_DIR_ENV} at a folder holding '{BATCHES_FOLDER}' (the unpacked official "
            "cifar-10-python.tar.gz), e.g. in a terminal: export CIFAR10_DIR=~/data/cifar10\n"
            "  * or connect to the internet so that Keras can download it (about 170 MB, once)\n"
            "  * or, offline and only to practise, make a small synthetic stand-in:\n"
            "      python -m utils synthetic ~/data/cifar10-synthetic\n"
            "      export CIFAR10_DIR=~/data/cifar10-synthetic"
        ) from error
    if limit is None:
        return loaded
    (x_train, y_train), (x_test, y_test) = loaded
    return (x_train[:limit], y_train[:limit]), (x_test[:limit], y_test[:limit])


def synthetic_images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw 32x32 RGB images whose colour and stripe pattern depend on the class, plus noise.

    Every class has its own mean colour and stripe direction and frequency, so a small network
    learns the task in a few epochs. It is meant to be easy: a good score on it shows that code
    runs and learns, not how good a model is.
    """
    class_rng = np.random.default_rng(1234)  # the same class "look" in every synthetic set
    colours = class_rng.uniform(40, 215, size=(10, 3))
    angles = np.linspace(0, np.pi, 10, endpoint=False)
    frequencies = 0.25 + 0.15 * (np.arange(10) % 4)
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float64)
    n = len(labels)
    images = np.empty((n, 32, 32, 3), dtype=np.float64)
    for k in range(10):
        idx = np.flatnonzero(labels == k)
        if idx.size == 0:
            continue
        phase = rng.uniform(0, 2 * np.pi, size=(idx.size, 1, 1))
        direction = np.cos(angles[k]) * xx + np.sin(angles[k]) * yy
        stripes = np.sin(frequencies[k] * direction[None] + phase)
        images[idx] = colours[k] + 35.0 * stripes[..., None]
    images += rng.normal(0, 25.0, size=images.shape)
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def write_batch(path: Path, images: np.ndarray, labels: np.ndarray, batch_label: str) -> None:
    """Write one batch in the pickle format of the official CIFAR-10 python release."""
    batch = {
        b"batch_label": batch_label.encode(),
        b"labels": [int(v) for v in labels],
        b"data": images.transpose(0, 3, 1, 2).reshape(len(images), -1).copy(),
        b"filenames": [f"synthetic_{batch_label.split()[-1]}_{i:05d}.png".encode()
                       for i in range(len(images))],
    }
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=4)  # Keras's safe unpickler refuses protocols 2 and 5


def write_synthetic_cifar10(root: str | os.PathLike, train_per_class: int = 100,
                            test_per_class: int = 20, seed: int = 0) -> Path:
    """Write a small learnable stand-in for CIFAR-10 in its exact on-disk format; return *root*.

    The result (``root/cifar-10-batches-py``) loads with ``load_data(root)`` and with Keras's own
    batch reader, so tests and offline demos exercise the real loading code.
    """
    if train_per_class < 1 or test_per_class < 1:
        raise ValueError("need at least one image per class in each split")
    rng = np.random.default_rng(seed)
    out = Path(root).expanduser() / BATCHES_FOLDER
    out.mkdir(parents=True, exist_ok=True)

    y_train = rng.permutation(np.repeat(np.arange(10), train_per_class))
    x_train = synthetic_images(y_train, rng)
    for i, chunk in enumerate(np.array_split(np.arange(len(y_train)), len(TRAIN_BATCHES)), 1):
        write_batch(out / f"data_batch_{i}", x_train[chunk], y_train[chunk],
                    f"training batch {i} of 5")

    y_test = rng.permutation(np.repeat(np.arange(10), test_per_class))
    write_batch(out / TEST_BATCH, synthetic_images(y_test, rng), y_test, "testing batch 1 of 1")

    meta = {
        b"label_names": [name.encode() for name in CLASS_NAMES],
        b"num_cases_per_batch": int(np.ceil(len(y_train) / len(TRAIN_BATCHES))),
        b"num_vis": 32 * 32 * 3,
    }
    with open(out / "batches.meta", "wb") as f:
        pickle.dump(meta, f, protocol=4)
    return Path(root).expanduser()
