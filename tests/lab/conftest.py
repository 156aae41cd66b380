"""What the lab's tests share: a tiny synthetic CIFAR-10 (60 training and 20 test images)."""

import pytest


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from utils.data import write_synthetic_cifar10

    return write_synthetic_cifar10(tmp_path_factory.mktemp("cifar10"), train_per_class=6,
                                   test_per_class=2)
