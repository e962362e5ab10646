"""Dataset loaders: native files in torchvision's layout, integrity checks, offline failures."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from torchvision import datasets as tvd

from image_fixtures import (
    FakeWeb,
    md5_of,
    mnist_arrays,
    mnist_blobs,
    patch_attrs,
    write_cifar,
    write_mnist,
)
from impreg.data import images
from impreg.data.images import (
    ChecksumMismatchError,
    CorruptDatasetError,
    DatasetMissingError,
    ensure_downloaded,
    load_images,
)
from impreg.io import DataFileError


@pytest.fixture
def no_network(monkeypatch):
    """Any download attempt fails at once (and is recorded)."""
    return FakeWeb().install(monkeypatch)


def _check_mnist(ds, arrays):
    assert ds.train_images.dtype == np.uint8 and ds.train_labels.dtype == np.int64
    np.testing.assert_array_equal(ds.train_images, arrays["train_images"])
    np.testing.assert_array_equal(ds.train_labels, arrays["train_labels"])
    np.testing.assert_array_equal(ds.test_images, arrays["test_images"])
    np.testing.assert_array_equal(ds.test_labels, arrays["test_labels"])
    assert ds.image_shape == (28, 28)


@pytest.mark.parametrize("name,cls", [("mnist", tvd.MNIST), ("fmnist", tvd.FashionMNIST)])
@pytest.mark.parametrize("gz,plain", [(True, True), (True, False), (False, True)])
def test_mnist_like_loads_native_files_offline(
    tmp_path, monkeypatch, no_network, name, cls, gz, plain
):
    arrays, resources = write_mnist(tmp_path, cls, gz=gz, plain=plain)
    monkeypatch.setattr(cls, "resources", resources)
    ds = load_images(name, tmp_path, download=True)  # download allowed, but nothing is missing
    _check_mnist(ds, arrays)
    assert no_network.requests == []
    assert len(ds.classes) == 10
    # a .gz alone is decompressed once, in place, for torchvision's reader
    assert (tmp_path / cls.__name__ / "raw" / "t10k-labels-idx1-ubyte").is_file()


def test_data_dir_defaults_to_env_var(tmp_path, monkeypatch):
    arrays, resources = write_mnist(tmp_path)
    monkeypatch.setattr(tvd.MNIST, "resources", resources)
    monkeypatch.setenv(images.DATA_DIR_ENV, str(tmp_path))
    _check_mnist(load_images("mnist"), arrays)


def test_missing_files_fail_at_once_naming_file_folder_url(tmp_path, no_network):
    with pytest.raises(DatasetMissingError) as info:
        load_images("mnist", tmp_path, download=False)
    msg = str(info.value)
    raw = tmp_path / "MNIST" / "raw"
    assert str(raw) in msg
    for name, _ in tvd.MNIST.resources:
        assert name in msg
        assert tvd.MNIST.mirrors[0] + name in msg
    assert no_network.requests == []
    assert isinstance(info.value, DataFileError)


def test_missing_files_without_network_report_the_failed_download(
    tmp_path, monkeypatch, no_network
):
    arrays, resources = write_mnist(tmp_path, tvd.FashionMNIST)
    monkeypatch.setattr(tvd.FashionMNIST, "resources", resources)
    (tmp_path / "FashionMNIST" / "raw" / "train-images-idx3-ubyte.gz").unlink()
    (tmp_path / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").unlink()
    with pytest.raises(DatasetMissingError) as info:
        load_images("fmnist", tmp_path, download=True)
    msg = str(info.value)
    assert "train-images-idx3-ubyte.gz" in msg and "t10k-images" not in msg  # only what is missing
    assert "download failed" in msg and "network disabled" in msg
    assert no_network.requests  # it tried, and failed at once
    assert not list((tmp_path / "FashionMNIST" / "raw").glob(".partial-*"))  # no leftovers


def test_download_fetches_only_missing_files_once(tmp_path, monkeypatch):
    arrays = mnist_arrays(seed=3)
    blobs = mnist_blobs(arrays)
    monkeypatch.setattr(tvd.MNIST, "resources", [(n, md5_of(b)) for n, b in blobs.items()])
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(blobs["t10k-labels-idx1-ubyte.gz"])
    mirror = tvd.MNIST.mirrors[0]
    web = FakeWeb({mirror + n: b for n, b in blobs.items()}).install(monkeypatch)
    _check_mnist(load_images("mnist", tmp_path, download=True), arrays)
    fetched = {u.rsplit("/", 1)[1] for u in web.requests}
    assert fetched == {
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
    }
    web.requests.clear()
    ensure_downloaded("mnist", tmp_path)
    _check_mnist(load_images("mnist", tmp_path, download=True), arrays)
    assert web.requests == []


def test_corrupted_gz_is_a_checksum_mismatch(tmp_path, monkeypatch, no_network):
    _, resources = write_mnist(tmp_path)
    monkeypatch.setattr(tvd.MNIST, "resources", resources)
    gz = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:-100])  # truncated download
    with pytest.raises(ChecksumMismatchError) as info:
        load_images("mnist", tmp_path, download=True)
    msg = str(info.value)
    assert "checksum mismatch" in msg and str(gz) in msg
    assert dict(resources)["train-images-idx3-ubyte.gz"] in msg and md5_of(gz) in msg
    assert no_network.requests == []  # a bad file is reported, never silently replaced


def test_truncated_plain_idx_without_gz_is_reported(tmp_path, monkeypatch):
    _, resources = write_mnist(tmp_path, gz=False)
    monkeypatch.setattr(tvd.MNIST, "resources", resources)
    plain = tmp_path / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    plain.write_bytes(plain.read_bytes()[:-3])
    with pytest.raises(CorruptDatasetError, match="truncated"):
        load_images("mnist", tmp_path)


def test_damaged_plain_copy_is_rebuilt_from_verified_gz(tmp_path, monkeypatch):
    arrays, resources = write_mnist(tmp_path)
    monkeypatch.setattr(tvd.MNIST, "resources", resources)
    plain = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    plain.write_bytes(plain.read_bytes()[:50])
    _check_mnist(load_images("mnist", tmp_path), arrays)
    gz = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    assert plain.read_bytes() == gzip.decompress(gz.read_bytes())


def _check_cifar(ds, arrays):
    train = np.concatenate([arrays[f"data_batch_{i}/data"] for i in range(1, 6)])
    expected = train.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(ds.train_images, expected)
    np.testing.assert_array_equal(
        ds.train_labels, np.concatenate([arrays[f"data_batch_{i}/labels"] for i in range(1, 6)])
    )
    np.testing.assert_array_equal(
        ds.test_images, arrays["test_batch/data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    )
    assert ds.train_images.dtype == np.uint8 and ds.test_labels.dtype == np.int64
    assert ds.image_shape == (32, 32, 3) and ds.classes[0] == "airplane"


@pytest.mark.parametrize("archive", [True, False])
def test_cifar10_loads_pickled_batches(tmp_path, monkeypatch, no_network, archive):
    arrays, attrs = write_cifar(tmp_path, archive=archive)
    patch_attrs(monkeypatch, tvd.CIFAR10, attrs)
    _check_cifar(load_images("cifar10", tmp_path, download=True), arrays)
    assert no_network.requests == []


def test_cifar10_missing_batches_come_from_the_archive_offline(tmp_path, monkeypatch, no_network):
    arrays, attrs = write_cifar(tmp_path, extracted=False, archive=True)
    patch_attrs(monkeypatch, tvd.CIFAR10, attrs)
    _check_cifar(load_images("cifar10", tmp_path), arrays)
    assert no_network.requests == []


def test_cifar10_download_then_never_again(tmp_path, monkeypatch):
    src = tmp_path / "src"
    arrays, attrs = write_cifar(src, extracted=False, archive=True)
    patch_attrs(monkeypatch, tvd.CIFAR10, attrs)
    web = FakeWeb({tvd.CIFAR10.url: (src / tvd.CIFAR10.filename).read_bytes()}).install(monkeypatch)
    root = tmp_path / "data"
    _check_cifar(load_images("cifar10", root, download=True), arrays)
    assert web.requests == [tvd.CIFAR10.url] * 2  # torchvision resolves redirects, then fetches
    web.requests.clear()
    _check_cifar(load_images("cifar10", root, download=True), arrays)
    assert web.requests == []


def test_cifar10_corrupted_batch_is_a_checksum_mismatch(tmp_path, monkeypatch, no_network):
    _, attrs = write_cifar(tmp_path)
    patch_attrs(monkeypatch, tvd.CIFAR10, attrs)
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(batch.read_bytes()[:-10])
    with pytest.raises(ChecksumMismatchError) as info:
        load_images("cifar10", tmp_path, download=True)
    msg = str(info.value)
    assert str(batch) in msg and attrs["train_list"][2][1] in msg and md5_of(batch) in msg


def test_cifar10_missing_names_files_folder_and_url(tmp_path, no_network):
    with pytest.raises(DatasetMissingError) as info:
        load_images("cifar10", tmp_path)
    msg = str(info.value)
    for name in ["data_batch_1", "data_batch_5", "test_batch", "batches.meta"]:
        assert name in msg
    assert str(tmp_path / "cifar-10-batches-py") in msg and tvd.CIFAR10.url in msg
    assert no_network.requests == []


def test_digits_fixed_split():
    ds = load_images("digits")
    assert ds.train_images.shape == (1347, 8, 8) and ds.test_images.shape == (450, 8, 8)
    assert ds.train_images.dtype == np.uint8 and ds.train_labels.dtype == np.int64
    assert ds.train_images.max() == 255 and set(np.unique(ds.test_labels)) == set(range(10))
    again = load_images("digits")
    np.testing.assert_array_equal(ds.test_labels, again.test_labels)
    np.testing.assert_array_equal(ds.train_images, again.train_images)


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="unknown image dataset"):
        load_images("svhn")


# --- bad files: each reported naming the file, with the expected and found MD5 where one is published


def test_wrong_format_gz_is_a_checksum_mismatch_with_both_md5s(tmp_path, monkeypatch, no_network):
    """An error page saved under a dataset's name (a failed download behind a proxy, say)."""
    _, resources = write_mnist(tmp_path, gz=True, plain=False)
    monkeypatch.setattr(tvd.MNIST, "resources", resources)
    gz = tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    gz.write_bytes(b"<html><body>403 Forbidden</body></html>")
    with pytest.raises(ChecksumMismatchError) as info:
        load_images("mnist", tmp_path)
    msg = str(info.value)
    assert f"{gz}: expected MD5 {dict(resources)[gz.name]}, found {md5_of(gz)}" in msg
    assert "another format" in msg and "fetch them again" in msg


def test_wrong_format_plain_idx_is_reported_as_such(tmp_path, monkeypatch):
    """A decompressed file without its .gz has no published MD5: its structure is checked, and the message says so."""
    _, resources = write_mnist(tmp_path, gz=False)
    monkeypatch.setattr(tvd.MNIST, "resources", resources)
    plain = tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    plain.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(CorruptDatasetError) as info:
        load_images("mnist", tmp_path)
    msg = str(info.value)
    assert str(plain) in msg and "not an unsigned-byte" in msg and "MD5s only for the .gz" in msg


def test_cifar10_corrupt_pickle_of_the_right_size_is_a_checksum_mismatch(
    tmp_path, monkeypatch, no_network
):
    _, attrs = write_cifar(tmp_path)
    patch_attrs(monkeypatch, tvd.CIFAR10, attrs)
    meta = tmp_path / "cifar-10-batches-py" / "batches.meta"
    blob = bytearray(meta.read_bytes())
    blob[10:20] = bytes(10)  # bit rot: same size, different bytes
    meta.write_bytes(bytes(blob))
    with pytest.raises(ChecksumMismatchError) as info:
        load_images("cifar10", tmp_path)
    assert f"{meta}: expected MD5 {attrs['meta']['md5']}, found {md5_of(meta)}" in str(info.value)


def test_cifar10_truncated_archive_is_a_checksum_mismatch(tmp_path, monkeypatch, no_network):
    _, attrs = write_cifar(tmp_path, extracted=False, archive=True)
    patch_attrs(monkeypatch, tvd.CIFAR10, attrs)
    archive = tmp_path / tvd.CIFAR10.filename
    archive.write_bytes(archive.read_bytes()[:200])
    with pytest.raises(ChecksumMismatchError) as info:
        load_images("cifar10", tmp_path, download=True)
    assert f"{archive}: expected MD5 {attrs['tgz_md5']}, found {md5_of(archive)}" in str(info.value)
    assert no_network.requests == []  # a bad file is reported, never silently replaced
