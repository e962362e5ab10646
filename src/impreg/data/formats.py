"""What the image datasets are, on disk and in memory: their names, ``ImageDataset``, and the native
file formats in torchvision's folder layout (idx ubyte files, gzip, CIFAR-10's pickled batches).

Shared by the loaders (``impreg.data.images``) and the stand-in writer (``impreg.data.stand_in``),
so that each reads or writes a format in one place; this module imports neither.
"""

from __future__ import annotations

import gzip
import pickle
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from impreg.io import atomic_path

DATASETS = ("mnist", "fmnist", "cifar10", "digits", "mnist5k")
_ALIASES = {
    "fashion_mnist": "fmnist",
    "fashion-mnist": "fmnist",
    "fashionmnist": "fmnist",
    "cifar-10": "cifar10",
    "mnist_5k": "mnist5k",
}
# A folder with this file holds stand-in data (see impreg.data.stand_in), never the real datasets.
STAND_IN_MANIFEST = "STAND_IN.json"

# torchvision's class names
MNIST_CLASSES = tuple(
    f"{i} - {w}"
    for i, w in enumerate(
        ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    )
)
FMNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CIFAR_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

# torchvision's layout: <data_dir>/<folder>/raw/<file> (the .gz names; the decompressed ones drop .gz)
MNIST_FOLDERS = {"mnist": "MNIST", "fmnist": "FashionMNIST"}
MNIST_FILES = {
    ("train", "images"): "train-images-idx3-ubyte.gz",
    ("train", "labels"): "train-labels-idx1-ubyte.gz",
    ("test", "images"): "t10k-images-idx3-ubyte.gz",
    ("test", "labels"): "t10k-labels-idx1-ubyte.gz",
}
# ... and <data_dir>/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}
CIFAR_BASE = "cifar-10-batches-py"
CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST_BATCH = "test_batch"
CIFAR_META = "batches.meta"


@dataclass
class ImageDataset:
    """Train and test splits: uint8 images (N, H, W) or (N, H, W, 3) and int64 labels (N,)."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: tuple[str, ...]
    stand_in: bool = False  # generated stand-in files, not the real dataset

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.train_images.shape[1:])


def canonical_name(name: str) -> str:
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in DATASETS:
        raise ValueError(f"unknown image dataset '{name}'; choose one of {', '.join(DATASETS)}")
    return key


# --- idx ubyte (MNIST, Fashion-MNIST) ------------------------------------------------------------

# idx files start with 0x00 0x00 0x08 (unsigned bytes) and the number of dimensions: 1 for labels, 3 for images.
IDX_NDIMS = (1, 3)


def idx_bytes(array: np.ndarray) -> bytes:
    """idx ubyte encoding: magic 0x0000 08 <ndim>, big-endian uint32 dims, then the raw bytes."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    return header + array.tobytes()


def read_idx(path: Path) -> np.ndarray:
    """The (read-only) uint8 array of an idx ubyte file whose structure is known to be sound."""
    raw = path.read_bytes()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def idx_problem(path: Path) -> str | None:
    """Why ``path`` is not a complete idx ubyte file (None when it is)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(16)
    if len(head) < 8:
        return f"only {size} bytes, shorter than an idx header"
    magic = int.from_bytes(head[:4], "big")
    ndim = magic & 0xFF
    if magic >> 8 != 0x08 or ndim not in IDX_NDIMS:
        return f"idx magic number 0x{magic:08x} is not an unsigned-byte 1-d or 3-d array"
    if len(head) < 4 + 4 * ndim:
        return f"only {size} bytes, shorter than its idx header"
    dims = [int.from_bytes(head[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = 4 + 4 * ndim + int(np.prod(dims))
    if size != expected:
        return f"header says shape {tuple(dims)} = {expected} bytes but the file has {size} (truncated or corrupted)"
    return None


# --- gzip -----------------------------------------------------------------------------------------


def gz_bytes(raw: bytes) -> bytes:
    """gzip with a zero timestamp, so that the same content always gives the same bytes (and MD5)."""
    return gzip.compress(raw, mtime=0)


def gunzip(gz: Path, dest: Path) -> None:
    """Decompress ``gz`` into ``dest``, which appears only once complete."""
    with atomic_path(dest) as tmp, gzip.open(gz, "rb") as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


# --- CIFAR-10 batches -----------------------------------------------------------------------------


def cifar_batch_bytes(
    batch_label: str, rows: np.ndarray, labels: Iterable[int], filenames: list[str]
) -> bytes:
    """One pickled batch; ``rows`` (N, 3072) uint8 as CIFAR stores an image: 1024 R, then G, then B."""
    entry = {
        "batch_label": batch_label,
        "data": rows,
        "labels": [int(v) for v in labels],
        "filenames": filenames,
    }
    return pickle.dumps(entry, protocol=2)


def cifar_meta_bytes(classes: Iterable[str]) -> bytes:
    return pickle.dumps({"label_names": list(classes), "num_vis": 3072}, protocol=2)


def cifar_rows(images: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) images as CIFAR's (N, 3072) rows."""
    return images.transpose(0, 3, 1, 2).reshape(len(images), 3072)


def read_cifar_batches(base: Path, names: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """The images (N, 32, 32, 3) uint8 and int64 labels of the named batches, in order.

    Unpickles the files: read only files whose checksums have been verified.
    """
    data, labels = [], []
    for name in names:
        with open(base / name, "rb") as fh:
            entry = pickle.load(fh, encoding="latin1")
        data.append(
            np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        )
        labels.extend(entry["labels"])
    return np.ascontiguousarray(np.concatenate(data)), np.asarray(labels, dtype=np.int64)


def read_cifar_classes(base: Path) -> tuple[str, ...]:
    """The class names in ``batches.meta`` (a verified file, as for read_cifar_batches)."""
    with open(base / CIFAR_META, "rb") as fh:
        return tuple(pickle.load(fh, encoding="latin1")["label_names"])
