"""Which files of a downloadable dataset (MNIST, Fashion-MNIST, CIFAR-10) are absent from the data folder.

A cheap check by file name only, in the loaders' layout (``impreg.data.images``): the loaders
still verify checksums when they read. Used to tell a user which files a figure waits for when a
download failed (no network) and where to put them.
"""

from __future__ import annotations

from pathlib import Path

from impreg.data.images import missing_raw_files, source_url

LABELS = {"mnist": "MNIST", "fmnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}


def missing_files(name: str, data_dir: str | Path | None = None) -> list[Path]:
    """The files to put in the data folder before ``name`` can be read (empty: all there, or not downloadable)."""
    return missing_raw_files(name, data_dir)


def source(name: str) -> str:
    """Where the files of ``name`` are downloaded from (the first of torchvision's mirrors)."""
    return source_url(name)
