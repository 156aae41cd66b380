"""Tests for utils.data: the synthetic writer, the on-disk format, the loader and its errors."""

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import utils
from utils import data

REPO = Path(__file__).resolve().parents[1]
#: CIFAR10_DIR as the test run found it; only the realdata test uses it, the others unset it.
REAL_DATA_DIR = os.environ.get(data.DATA_DIR_ENV)
BATCH_FILES = {*data.TRAIN_BATCHES, data.TEST_BATCH}
TRAIN_PER_CLASS, TEST_PER_CLASS = 10, 4


@pytest.fixture(autouse=True)
def no_data_dir(monkeypatch):
    """Start every test without CIFAR10_DIR, whatever the shell running pytest exports."""
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    """A small synthetic CIFAR-10 written once for the module: 10 training, 4 test images per class."""
    root = tmp_path_factory.mktemp("synthetic")
    assert data.write_synthetic_cifar10(root, TRAIN_PER_CLASS, TEST_PER_CLASS, seed=5) == root
    return root


def unpickle(path):
    """Read a batch file the way the official CIFAR-10 page tells Python 3 users to."""
    with open(path, "rb") as f:
        return pickle.load(f, encoding="bytes")


def failing_download(*args, **kwargs):
    """Stand-in for keras.datasets.cifar10.load_data without network access."""
    raise OSError("URL fetch failure: no network")


# --------------------------------------------------------------------------------------------
# The on-disk format
# --------------------------------------------------------------------------------------------

def test_writer_creates_the_official_files(synthetic_root):
    """The writer makes cifar-10-batches-py with data_batch_1..5, test_batch and batches.meta."""
    folder = synthetic_root / "cifar-10-batches-py"
    names = {path.name for path in folder.iterdir()}
    assert names == {"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                     "data_batch_5", "test_batch", "batches.meta"}


def test_batches_have_the_official_keys_and_types(synthetic_root):
    """Each batch is a dict with bytes keys: uint8 data (N, 3072), int labels, bytes names."""
    folder = synthetic_root / data.BATCHES_FOLDER
    sizes = {}
    for name in sorted(BATCH_FILES):
        batch = unpickle(folder / name)
        assert set(batch) == {b"data", b"labels", b"batch_label", b"filenames"}, name
        images, labels = batch[b"data"], batch[b"labels"]
        assert isinstance(images, np.ndarray) and images.dtype == np.uint8, name
        assert images.ndim == 2 and images.shape[1] == 3072, name
        assert isinstance(labels, list) and all(type(v) is int for v in labels), name
        assert all(0 <= v <= 9 for v in labels), name
        assert isinstance(batch[b"batch_label"], bytes), name
        assert isinstance(batch[b"filenames"], list), name
        assert all(isinstance(v, bytes) for v in batch[b"filenames"]), name
        assert len(labels) == len(batch[b"filenames"]) == len(images), name
        sizes[name] = len(images)
    assert unpickle(folder / "data_batch_3")[b"batch_label"] == b"training batch 3 of 5"
    assert unpickle(folder / "test_batch")[b"batch_label"] == b"testing batch 1 of 1"
    assert sum(sizes[name] for name in data.TRAIN_BATCHES) == 10 * TRAIN_PER_CLASS
    assert sizes["test_batch"] == 10 * TEST_PER_CLASS
    train_sizes = [sizes[name] for name in data.TRAIN_BATCHES]
    assert max(train_sizes) - min(train_sizes) <= 1  # split evenly, like the real 5 x 10000


def test_meta_lists_the_class_names(synthetic_root):
    """batches.meta holds the ten class names as bytes, in class-id order."""
    meta = unpickle(synthetic_root / data.BATCHES_FOLDER / "batches.meta")
    assert meta[b"label_names"] == [
        b"airplane", b"automobile", b"bird", b"cat", b"deer",
        b"dog", b"frog", b"horse", b"ship", b"truck"]
    assert meta[b"num_vis"] == 3072


def test_rows_are_channel_first_in_row_major_order(tmp_path):
    """A row holds the 1024 red values, then green, then blue, each image row by row."""
    image = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    image[0, 0, 0] = (1, 2, 3)      # top-left pixel
    image[0, 0, 1] = (4, 5, 6)      # its right neighbour
    image[0, 1, 0] = (7, 8, 9)      # the pixel below it
    image[0, 31, 31] = (10, 11, 12)  # bottom-right pixel
    data.write_batch(tmp_path / "batch", image, np.array([3]), "training batch 1 of 5")
    row = unpickle(tmp_path / "batch")[b"data"][0]
    assert (row[0], row[1024], row[2048]) == (1, 2, 3)
    assert (row[1], row[1025], row[2049]) == (4, 5, 6)
    assert (row[32], row[1056], row[2080]) == (7, 8, 9)
    assert (row[1023], row[2047], row[3071]) == (10, 11, 12)
    images, labels = data.read_batch(tmp_path / "batch")
    np.testing.assert_array_equal(images, image)
    assert labels.tolist() == [3]


def test_keras_own_reader_reads_the_synthetic_batches(synthetic_root):
    """keras.src.datasets.cifar.load_batch reads every file and agrees with utils.load_data."""
    from keras.src.datasets.cifar import load_batch

    folder = synthetic_root / data.BATCHES_FOLDER
    (x_train, y_train), (x_test, y_test) = data.load_data(synthetic_root)
    parts = [load_batch(str(folder / name)) for name in data.TRAIN_BATCHES]
    keras_x_train = np.concatenate([images for images, _ in parts]).transpose(0, 2, 3, 1)
    keras_y_train = np.concatenate([labels for _, labels in parts]).reshape(-1, 1)
    np.testing.assert_array_equal(keras_x_train, x_train)
    np.testing.assert_array_equal(keras_y_train, y_train)
    images, labels = load_batch(str(folder / data.TEST_BATCH))
    np.testing.assert_array_equal(images.transpose(0, 2, 3, 1), x_test)
    np.testing.assert_array_equal(np.reshape(labels, (-1, 1)), y_test)


# --------------------------------------------------------------------------------------------
# load_data
# --------------------------------------------------------------------------------------------

def test_load_data_returns_the_keras_layout(synthetic_root):
    """Images are uint8 (N, 32, 32, 3), labels uint8 class ids (N, 1), as Keras returns them."""
    (x_train, y_train), (x_test, y_test) = data.load_data(synthetic_root)
    n_train, n_test = 10 * TRAIN_PER_CLASS, 10 * TEST_PER_CLASS
    assert x_train.shape == (n_train, 32, 32, 3) and x_train.dtype == np.uint8
    assert x_test.shape == (n_test, 32, 32, 3) and x_test.dtype == np.uint8
    assert y_train.shape == (n_train, 1) and y_train.dtype == np.uint8
    assert y_test.shape == (n_test, 1) and y_test.dtype == np.uint8
    assert set(np.unique(y_train)) == set(range(10))
    assert x_train.std() > 10  # real pictures, not a blank array


@pytest.mark.parametrize("point_at", ["parent", "batches folder"])
def test_cifar10_dir_is_honoured(synthetic_root, monkeypatch, point_at):
    """CIFAR10_DIR may name the folder holding cifar-10-batches-py or that folder itself."""
    monkeypatch.setattr("keras.datasets.cifar10.load_data", failing_download)
    target = synthetic_root if point_at == "parent" else synthetic_root / data.BATCHES_FOLDER
    monkeypatch.setenv("CIFAR10_DIR", str(target))
    (x_train, y_train), (x_test, y_test) = utils.load_data()
    (x_ref, y_ref), (xt_ref, yt_ref) = data.load_data(synthetic_root)
    for got, want in ((x_train, x_ref), (y_train, y_ref), (x_test, xt_ref), (y_test, yt_ref)):
        np.testing.assert_array_equal(got, want)


def test_explicit_folder_wins_over_cifar10_dir(synthetic_root, tmp_path, monkeypatch):
    """load_data(folder) reads that folder even when CIFAR10_DIR names another one."""
    monkeypatch.setenv("CIFAR10_DIR", str(tmp_path))  # empty: would raise if it were used
    (x_train, _), _ = data.load_data(synthetic_root)
    assert len(x_train) == 10 * TRAIN_PER_CLASS


def test_wrong_cifar10_dir_names_the_folder(tmp_path, monkeypatch):
    """A CIFAR10_DIR without the batches raises DataNotFoundError naming the folder it tried."""
    wrong = tmp_path / "not-cifar"
    wrong.mkdir()
    (wrong / "data_batch_1").write_bytes(b"")  # something there, but no test_batch
    monkeypatch.setenv("CIFAR10_DIR", str(wrong))
    monkeypatch.setattr("keras.datasets.cifar10.load_data", failing_download)
    with pytest.raises(utils.DataNotFoundError) as error:
        utils.load_data()
    message = str(error.value)
    assert str(wrong) in message
    assert "cifar-10-batches-py" in message and "CIFAR10_DIR" in message


@pytest.mark.parametrize("setting", [None, ""], ids=["unset", "empty"])
def test_failed_download_explains_the_ways_out(monkeypatch, setting):
    """Without CIFAR10_DIR and without network the error tells about CIFAR10_DIR and synthetic data."""
    if setting is not None:
        monkeypatch.setenv("CIFAR10_DIR", setting)
    monkeypatch.setattr("keras.datasets.cifar10.load_data", failing_download)
    with pytest.raises(utils.DataNotFoundError) as error:
        utils.load_data()
    message = str(error.value)
    assert "export CIFAR10_DIR=" in message
    assert "python -m utils synthetic" in message
    assert "OSError" in message and "no network" in message
    assert isinstance(error.value.__cause__, OSError)


def test_without_cifar10_dir_keras_is_used(monkeypatch):
    """With CIFAR10_DIR unset, load_data returns what keras.datasets.cifar10.load_data returns."""
    sentinel = ((np.zeros((1, 32, 32, 3), np.uint8), np.zeros((1, 1), np.uint8)),) * 2
    monkeypatch.setattr("keras.datasets.cifar10.load_data", lambda: sentinel)
    assert utils.load_data() is sentinel


# --------------------------------------------------------------------------------------------
# The synthetic data set
# --------------------------------------------------------------------------------------------

def test_synthetic_data_is_learnable(tmp_path):
    """A nearest-class-mean classifier trained on 100 images per class beats chance by far."""
    data.write_synthetic_cifar10(tmp_path, train_per_class=100, test_per_class=20, seed=0)
    (x_train, y_train), (x_test, y_test) = data.load_data(tmp_path)
    x_train = x_train.reshape(len(x_train), -1).astype(np.float64)
    x_test = x_test.reshape(len(x_test), -1).astype(np.float64)
    means = np.stack([x_train[y_train[:, 0] == k].mean(axis=0) for k in range(10)])
    distances = ((x_test[:, None, :] - means[None]) ** 2).sum(axis=2)
    accuracy = (distances.argmin(axis=1) == y_test[:, 0]).mean()
    assert accuracy > 0.5, f"nearest-class-mean accuracy {accuracy:.2f}; chance is 0.10"


def test_synthetic_data_is_deterministic_per_seed(tmp_path):
    """The same seed writes the same data; another seed writes other images."""
    first = data.load_data(data.write_synthetic_cifar10(tmp_path / "a", 3, 2, seed=4))
    again = data.load_data(data.write_synthetic_cifar10(tmp_path / "b", 3, 2, seed=4))
    other = data.load_data(data.write_synthetic_cifar10(tmp_path / "c", 3, 2, seed=5))
    for split in (0, 1):
        for part in (0, 1):
            np.testing.assert_array_equal(first[split][part], again[split][part])
    assert not np.array_equal(first[0][0], other[0][0])


def test_synthetic_classes_are_balanced_and_shuffled(tmp_path):
    """Each class has exactly train_per_class / test_per_class images, not sorted by class."""
    (_, y_train), (_, y_test) = data.load_data(data.write_synthetic_cifar10(tmp_path, 7, 3, seed=1))
    assert np.bincount(y_train[:, 0], minlength=10).tolist() == [7] * 10
    assert np.bincount(y_test[:, 0], minlength=10).tolist() == [3] * 10
    assert (np.diff(y_train[:, 0].astype(int)) < 0).any()  # shuffled, like the real batches


def test_synthetic_writer_refuses_empty_splits(tmp_path):
    """Asking for zero images per class is an error, not an empty data set."""
    with pytest.raises(ValueError, match="at least one image"):
        data.write_synthetic_cifar10(tmp_path, train_per_class=0)


def test_command_line_writes_a_loadable_set(tmp_path):
    """`python -m utils synthetic DIR` writes the data and prints the export line to use it."""
    out = tmp_path / "cifar-offline"
    result = subprocess.run(
        [sys.executable, "-m", "utils", "synthetic", str(out),
         "--train-per-class", "3", "--test-per-class", "2"],
        cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"export CIFAR10_DIR={out}" in result.stdout
    (x_train, y_train), (x_test, _) = data.load_data(out)
    assert x_train.shape == (30, 32, 32, 3) and x_test.shape == (20, 32, 32, 3)
    assert np.bincount(y_train[:, 0], minlength=10).tolist() == [3] * 10


# --------------------------------------------------------------------------------------------
# The real data set, where a copy is available
# --------------------------------------------------------------------------------------------

@pytest.mark.realdata
@pytest.mark.skipif(not REAL_DATA_DIR, reason="CIFAR10_DIR does not point at a real CIFAR-10 copy")
def test_real_cifar10_from_cifar10_dir(monkeypatch):
    """The real copy in CIFAR10_DIR loads with the official sizes and balanced classes."""
    monkeypatch.setenv("CIFAR10_DIR", REAL_DATA_DIR)
    if len(unpickle(data.find_batches_dir() / "data_batch_1")[b"labels"]) != 10000:
        pytest.skip("CIFAR10_DIR holds a synthetic stand-in, not the real data set")
    (x_train, y_train), (x_test, y_test) = utils.load_data()
    assert x_train.shape == (50000, 32, 32, 3) and x_test.shape == (10000, 32, 32, 3)
    assert x_train.dtype == np.uint8 and y_train.shape == (50000, 1) and y_test.shape == (10000, 1)
    assert y_train.min() == 0 and y_train.max() == 9 and y_test.min() == 0 and y_test.max() == 9
    assert np.bincount(y_train[:, 0], minlength=10).tolist() == [5000] * 10


def test_while_graded_only_the_first_images_are_served(tmp_path, monkeypatch):
    """Validate and autograde see the first GRADING_IMAGES of each split (the tests bring their
    own data), read from as few batch files as that needs; students see the whole set."""
    data.write_synthetic_cifar10(tmp_path, train_per_class=30, test_per_class=12, seed=4)
    monkeypatch.setenv("CIFAR10_DIR", str(tmp_path))
    (x_full, y_full), (xt_full, yt_full) = utils.load_data()
    monkeypatch.setattr(data, "GRADING_IMAGES", 70)
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    (x, y), (xt, yt) = utils.load_data()
    assert x.shape == (70, 32, 32, 3) and y.shape == (70, 1) and xt.shape == (70, 32, 32, 3)
    np.testing.assert_array_equal(x, x_full[:70])
    np.testing.assert_array_equal(yt, yt_full[:70])
    read = []
    real_read = data.read_batch
    monkeypatch.setattr(data, "read_batch", lambda path: read.append(path.name) or real_read(path))
    utils.load_data()
    assert read == ["data_batch_1", "data_batch_2", "test_batch"]  # 60 images per training file
