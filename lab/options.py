"""What the lab's training programs share on their command lines: the data, the output folder,
the notebook, and how $CIFAR10_DIR reaches the notebook's loaders."""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path

from grader.assignment import SOURCE_NOTEBOOK
from utils.data import DATA_DIR_ENV


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """--data-dir, --data-note, --out and --notebook."""
    parser.add_argument("--data-dir", help=f"folder holding cifar-10-batches-py "
                        f"(default ${DATA_DIR_ENV}, else Keras's cache or download)")
    parser.add_argument("--data-note", default="CIFAR-10 (JPEG mirror)",
                        help="what the data are, for the report (default: %(default)s)")
    parser.add_argument("--out", default="results", help="results folder (default: %(default)s/)")
    parser.add_argument("--notebook", default=str(SOURCE_NOTEBOOK), help="the teacher notebook")


@contextlib.contextmanager
def data_dir_env(data_dir):
    """Set $CIFAR10_DIR for the notebook's loaders while the block runs (if *data_dir* is given).

    The notebook's ``load_cifar10()`` takes no arguments, as students write it; the environment
    is how it is pointed at a folder.
    """
    if not data_dir:
        yield
        return
    old = os.environ.get(DATA_DIR_ENV)
    os.environ[DATA_DIR_ENV] = str(Path(data_dir).expanduser().resolve())
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(DATA_DIR_ENV, None)
        else:
            os.environ[DATA_DIR_ENV] = old
