"""Which files of a downloadable dataset (MNIST, Fashion-MNIST, CIFAR-10) are absent from the data folder.

A cheap check by file name only, in the loaders' layout (``impreg.data.images``): the loaders
still verify checksums when they read. Used to tell a user which files a figure waits for when a
download failed (no network) and where to put them.
"""

from __future__ import annotations

from pathlib import Path

from impreg.data.images import (
    _cifar10_class,
    _cifar_files,
    _mnist_class,
    _raw_folder,
    canonical_name,
    resolve_data_dir,
)

DOWNLOADABLE = ("mnist", "fmnist", "cifar10")
LABELS = {"mnist": "MNIST", "fmnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}


def missing_files(name: str, data_dir: str | Path | None = None) -> list[Path]:
    """The files to put in the data folder before ``name`` can be read (empty: all there, or not downloadable).

    An MNIST-like file counts as present as its .gz or decompressed; CIFAR-10's batches count as
    present when all are extracted or the archive is there, and otherwise the archive is what is missing.
    """
    name = canonical_name(name)
    if name not in DOWNLOADABLE:
        return []
    root = resolve_data_dir(data_dir)
    if name == "cifar10":
        cls = _cifar10_class()
        base = root / cls.base_folder
        if all((base / f).is_file() for f, _ in _cifar_files(cls)) or (root / cls.filename).is_file():
            return []
        return [root / cls.filename]
    cls = _mnist_class(name)
    raw = _raw_folder(cls, root)
    return [raw / gz for gz, _ in cls.resources
            if not (raw / gz).is_file() and not (raw / gz.removesuffix(".gz")).is_file()]


def source(name: str) -> str:
    """Where the files of ``name`` are downloaded from (the first of torchvision's mirrors)."""
    name = canonical_name(name)
    return _cifar10_class().url if name == "cifar10" else _mnist_class(name).mirrors[0]
