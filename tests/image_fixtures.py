"""Tiny dataset files in the native formats torchvision reads (written by ``impreg.data.formats``),
and a fake web for download tests.

The published MD5s torchvision holds belong to the real files, so tests that use these
fixtures patch the expected checksums on the dataset class (``monkeypatch``, test-only).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from torchvision import datasets as tvd

from impreg.data.formats import (
    CIFAR_CLASSES,
    cifar_batch_bytes,
    cifar_meta_bytes,
    gz_bytes,
    idx_bytes,
)

MNIST_FILES = {  # torchvision resource name -> (split, kind)
    "train-images-idx3-ubyte.gz": ("train", "images"),
    "train-labels-idx1-ubyte.gz": ("train", "labels"),
    "t10k-images-idx3-ubyte.gz": ("test", "images"),
    "t10k-labels-idx1-ubyte.gz": ("test", "labels"),
}


def md5_of(path: Path | bytes) -> str:
    data = path if isinstance(path, bytes) else Path(path).read_bytes()
    return hashlib.md5(data).hexdigest()


def mnist_arrays(n_train: int = 12, n_test: int = 6, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test).astype(np.uint8),
    }


def mnist_blobs(arrays: dict[str, np.ndarray]) -> dict[str, bytes]:
    """The four .gz files as torchvision downloads them, by resource name."""
    return {
        name: gz_bytes(idx_bytes(arrays[f"{split}_{kind}"]))
        for name, (split, kind) in MNIST_FILES.items()
    }


def write_mnist(
    root: Path,
    cls: type[tvd.MNIST] = tvd.MNIST,
    arrays: dict[str, np.ndarray] | None = None,
    gz: bool = True,
    plain: bool = True,
) -> tuple[dict[str, np.ndarray], list[tuple[str, str]]]:
    """Write <root>/<cls>/raw/* (.gz and/or decompressed); returns the arrays and the patched resources."""
    arrays = arrays if arrays is not None else mnist_arrays()
    raw = Path(root) / cls.__name__ / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    blobs = mnist_blobs(arrays)
    for name, blob in blobs.items():
        if gz:
            (raw / name).write_bytes(blob)
        if plain:
            (raw / name.removesuffix(".gz")).write_bytes(gzip.decompress(blob))
    return arrays, [(name, md5_of(blob)) for name, blob in blobs.items()]


def cifar_arrays(n_per_batch: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    """Six batches (5 train, 1 test) of rows laid out as CIFAR stores them: 1024 R, 1024 G, 1024 B."""
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    out: dict[str, np.ndarray] = {}
    for name in names:
        out[f"{name}/data"] = rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
        out[f"{name}/labels"] = rng.integers(0, 10, n_per_batch)
    return out


def cifar_blobs(arrays: dict[str, np.ndarray]) -> dict[str, bytes]:
    blobs = {}
    for key in arrays:
        name, field = key.split("/")
        if field == "data":
            blobs[name] = cifar_batch_bytes(
                name,
                arrays[key],
                arrays[f"{name}/labels"],
                [f"{name}_{i}.png" for i in range(len(arrays[key]))],
            )
    blobs["batches.meta"] = cifar_meta_bytes(CIFAR_CLASSES)
    return blobs


def cifar_tar_gz(blobs: dict[str, bytes], base_folder: str = "cifar-10-batches-py") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, blob in sorted(blobs.items()):
            info = tarfile.TarInfo(f"{base_folder}/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return buf.getvalue()


def write_cifar(
    root: Path,
    arrays: dict[str, np.ndarray] | None = None,
    extracted: bool = True,
    archive: bool = True,
) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """Write cifar-10-batches-py/* and/or cifar-10-python.tar.gz; returns the arrays and class attributes to patch."""
    arrays = arrays if arrays is not None else cifar_arrays()
    root = Path(root)
    blobs = cifar_blobs(arrays)
    tgz = cifar_tar_gz(blobs)
    if extracted:
        base = root / tvd.CIFAR10.base_folder
        base.mkdir(parents=True, exist_ok=True)
        for name, blob in blobs.items():
            (base / name).write_bytes(blob)
    if archive:
        root.mkdir(parents=True, exist_ok=True)
        (root / tvd.CIFAR10.filename).write_bytes(tgz)
    attrs = {
        "train_list": [[f"data_batch_{i}", md5_of(blobs[f"data_batch_{i}"])] for i in range(1, 6)],
        "test_list": [["test_batch", md5_of(blobs["test_batch"])]],
        "meta": {
            "filename": "batches.meta",
            "key": "label_names",
            "md5": md5_of(blobs["batches.meta"]),
        },
        "tgz_md5": md5_of(tgz),
    }
    return arrays, attrs


def patch_attrs(monkeypatch, cls: type, attrs: dict[str, object]) -> None:
    for name, value in attrs.items():
        monkeypatch.setattr(cls, name, value)


class _Response(io.BytesIO):
    def __init__(self, url: str, data: bytes) -> None:
        super().__init__(data)
        self.url = url
        self.length = len(data)


class FakeWeb:
    """Stands in for urllib.request.urlopen: serves registered URLs, refuses the rest, logs requests."""

    def __init__(self, pages: dict[str, bytes] | None = None) -> None:
        self.pages = dict(pages or {})
        self.requests: list[str] = []

    def urlopen(self, request, *args, **kwargs):
        url = request.full_url if isinstance(request, urllib.request.Request) else str(request)
        self.requests.append(url)
        if url not in self.pages:
            raise urllib.error.URLError("network disabled in tests")
        return _Response(url, self.pages[url])

    def install(self, monkeypatch) -> FakeWeb:
        monkeypatch.setattr(urllib.request, "urlopen", self.urlopen)
        return self
