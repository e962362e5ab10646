"""STAND-IN image datasets: small generated files in the native formats of MNIST, Fashion-MNIST
and CIFAR-10, for tests and the smoke scale on machines without the real data.

They are *not* the datasets. The files are written in torchvision's folder layout (idx ubyte
files, .gz and decompressed; CIFAR-10's pickled batches) together with a manifest,

    <folder>/STAND_IN.json   {"stand_in": true, "warning": ..., "files": {relative path: md5}}

that records the stand-in files' own MD5s. torchvision's published checksums belong to the
real files, which stand-ins cannot match; instead ``impreg.data.images.load_images`` checks a
stand-in folder against its manifest, and only when called with ``allow_stand_in=True``. What
it returns is marked ``stand_in=True``, and so is every data file, run and claim made from it.

The images are drawn from ten blocky class templates plus noise, so that a class is
recognizable after binarization (the pipeline has something to fit), from a seeded generator.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from impreg.data.errors import ChecksumMismatchError, DatasetMissingError
from impreg.data.formats import (
    CIFAR_BASE,
    CIFAR_CLASSES,
    CIFAR_META,
    CIFAR_TEST_BATCH,
    CIFAR_TRAIN_BATCHES,
    FMNIST_CLASSES,
    MNIST_CLASSES,
    MNIST_FILES,
    MNIST_FOLDERS,
    STAND_IN_MANIFEST,
    ImageDataset,
    canonical_name,
    cifar_batch_bytes,
    cifar_meta_bytes,
    cifar_rows,
    gz_bytes,
    idx_bytes,
    read_cifar_batches,
    read_cifar_classes,
    read_idx,
)
from impreg.io import DataFileError, atomic_path

STAND_IN_DATASETS = ("mnist", "fmnist", "cifar10")
WARNING = (
    "GENERATED STAND-IN DATA, NOT THE REAL DATASETS: for tests and the smoke scale only. "
    "Results made from these files say nothing about the papers."
)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _images(rng: np.random.Generator, labels: np.ndarray, templates: np.ndarray) -> np.ndarray:
    """uint8 images: the label's template (values in [0, 1]) * 255 plus N(0, 50^2) noise."""
    base = templates[labels] * 255.0
    return np.clip(base + rng.normal(0.0, 50.0, base.shape), 0, 255).astype(np.uint8)


def _templates(rng: np.random.Generator, side: int, block: int, channels: int = 0) -> np.ndarray:
    """Ten blocky templates (10, side, side[, channels]) in [0, 1]."""
    coarse = rng.random((10, side // block, side // block))
    full = np.kron(coarse, np.ones((block, block)))
    if channels:  # colour: the same shape per channel, each channel scaled a little differently
        full = np.clip(full[..., None] * rng.uniform(0.8, 1.2, (10, 1, 1, channels)), 0, 1)
    return full


def _labels(rng: np.random.Generator, n: int) -> np.ndarray:
    labels = rng.integers(0, 10, n)
    # every class present (class 6 is the positive one)
    labels[: min(n, 10)] = np.arange(min(n, 10))
    return rng.permutation(labels).astype(np.uint8)


def _mnist_like_files(rng: np.random.Generator, num_train: int, num_test: int) -> dict[str, bytes]:
    templates = _templates(rng, 28, 4)
    files = {}
    for split, n in (("train", num_train), ("test", num_test)):
        labels = _labels(rng, n)
        for kind, array in (("images", _images(rng, labels, templates)), ("labels", labels)):
            raw = idx_bytes(array)
            gz_name = MNIST_FILES[(split, kind)]
            files[gz_name] = gz_bytes(raw)
            files[gz_name.removesuffix(".gz")] = raw
    return files


def _cifar_files(rng: np.random.Generator, num_train: int, num_test: int) -> dict[str, bytes]:
    templates = _templates(rng, 32, 4, channels=3)
    files = {}
    per_batch = -(-num_train // len(CIFAR_TRAIN_BATCHES))
    sizes = {name: per_batch for name in CIFAR_TRAIN_BATCHES} | {CIFAR_TEST_BATCH: num_test}
    for name, n in sizes.items():
        labels = _labels(rng, n)
        images = _images(rng, labels, templates)  # (n, 32, 32, 3)
        files[name] = cifar_batch_bytes(
            f"STAND-IN {name}",
            cifar_rows(images),
            labels,
            [f"stand_in_{name}_{i}.png" for i in range(n)],
        )
    files[CIFAR_META] = cifar_meta_bytes(CIFAR_CLASSES)
    return files


def write_stand_in(
    folder: str | Path,
    datasets: tuple[str, ...] | list[str] = STAND_IN_DATASETS,
    seed: int = 0,
    num_train: int = 600,
    num_test: int = 200,
) -> Path:
    """Write stand-in files for ``datasets`` into ``folder`` and the manifest last; returns the manifest path.

    Dataset d's files come from ``np.random.default_rng([seed, index of d])``, so they do not
    depend on which other datasets are written.
    """
    folder = Path(folder)
    entries: dict[str, str] = {}
    for name in datasets:
        name = canonical_name(name)
        if name not in STAND_IN_DATASETS:
            raise ValueError(
                f"no stand-in for '{name}' (choose from {', '.join(STAND_IN_DATASETS)}; digits is offline)"
            )
        rng = np.random.default_rng([seed, STAND_IN_DATASETS.index(name)])
        if name == "cifar10":
            sub, files = CIFAR_BASE, _cifar_files(rng, num_train, num_test)
        else:
            sub, files = f"{MNIST_FOLDERS[name]}/raw", _mnist_like_files(rng, num_train, num_test)
        for fname, blob in files.items():
            path = folder / sub / fname
            with atomic_path(path) as tmp:
                tmp.write_bytes(blob)
            entries[f"{sub}/{fname}"] = _md5(blob)
    manifest = {
        "stand_in": True,
        "warning": WARNING,
        "generator": "impreg.data.stand_in.write_stand_in",
        "seed": seed,
        "num_train": num_train,
        "num_test": num_test,
        "datasets": list(datasets),
        "files": entries,
    }
    path = folder / STAND_IN_MANIFEST
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def _prefix(name: str) -> str:
    return CIFAR_BASE + "/" if name == "cifar10" else f"{MNIST_FOLDERS[name]}/raw/"


def load_stand_in(name: str, folder: str | Path) -> ImageDataset:
    """Read a stand-in dataset after checking every one of its files against the manifest's MD5s.

    Called by ``load_images(..., allow_stand_in=True)``; use that instead.
    """
    name = canonical_name(name)
    folder = Path(folder)
    manifest_path = folder / STAND_IN_MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
        files = dict(manifest["files"])
        if manifest.get("stand_in") is not True:
            raise KeyError("stand_in")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataFileError(
            f"stand-in manifest {manifest_path} is unreadable or malformed ({err}); regenerate the "
            f"folder with `python -m impreg make-data stand-in-images`"
        ) from err
    if name not in STAND_IN_DATASETS:
        raise DatasetMissingError(f"no stand-in exists for {name}")
    mine = {rel: md5 for rel, md5 in files.items() if rel.startswith(_prefix(name))}
    missing = [rel for rel in mine if not (folder / rel).is_file()]
    if not mine or missing:
        raise DatasetMissingError(
            f"stand-in {name} files missing from {folder}: "
            f"{', '.join(missing) or 'none listed in ' + str(manifest_path)}; regenerate the "
            f"folder with `python -m impreg make-data stand-in-images`"
        )
    mismatches = []
    for rel, md5 in mine.items():
        found = _md5((folder / rel).read_bytes())
        if found != md5:
            mismatches.append(f"  {folder / rel}: manifest MD5 {md5}, found {found}")
    if mismatches:
        raise ChecksumMismatchError(
            "stand-in file(s) differ from their manifest:\n"
            + "\n".join(mismatches)
            + "\nregenerate the folder with `python -m impreg make-data stand-in-images`"
        )
    if name == "cifar10":
        return _read_cifar(folder / CIFAR_BASE)
    return _read_mnist_like(name, folder / MNIST_FOLDERS[name] / "raw")


def _read_mnist_like(name: str, raw: Path) -> ImageDataset:
    arrays = {key: read_idx(raw / gz.removesuffix(".gz")) for key, gz in MNIST_FILES.items()}
    classes = FMNIST_CLASSES if name == "fmnist" else MNIST_CLASSES
    return ImageDataset(
        name,
        arrays[("train", "images")].copy(),
        arrays[("train", "labels")].astype(np.int64),
        arrays[("test", "images")].copy(),
        arrays[("test", "labels")].astype(np.int64),
        classes=classes,
        stand_in=True,
    )


def _read_cifar(base: Path) -> ImageDataset:
    # the files were verified against the manifest by load_stand_in
    train, test = (
        read_cifar_batches(base, CIFAR_TRAIN_BATCHES),
        read_cifar_batches(base, [CIFAR_TEST_BATCH]),
    )
    return ImageDataset("cifar10", *train, *test, classes=read_cifar_classes(base), stand_in=True)
