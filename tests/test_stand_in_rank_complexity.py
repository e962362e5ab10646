"""Stand-in image data: native formats, its own manifest of MD5s, honoured only when allowed, and marked."""

from __future__ import annotations

import json

import numpy as np
import pytest

from image_fixtures import FakeWeb
from impreg.cli import main
from impreg.data.images import (
    STAND_IN_MANIFEST,
    ChecksumMismatchError,
    DatasetMissingError,
    StandInDataError,
    ensure_downloaded,
    load_images,
)
from impreg.data.stand_in import write_stand_in
from impreg.data.tensorize import BinaryImageData, make_rank_complexity_data


@pytest.fixture
def no_network(monkeypatch):
    return FakeWeb().install(monkeypatch)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("stand_in")
    write_stand_in(root, seed=3, num_train=40, num_test=20)
    return root


@pytest.mark.parametrize(
    "name,shape", [("mnist", (28, 28)), ("fmnist", (28, 28)), ("cifar10", (32, 32, 3))]
)
def test_stand_in_loads_only_when_allowed_and_is_marked(folder, no_network, name, shape):
    with pytest.raises(StandInDataError, match="STAND-IN"):
        load_images(name, folder, download=True)
    ds = load_images(name, folder, allow_stand_in=True)
    assert ds.stand_in is True and ds.name == name
    assert ds.train_images.shape == (40, *shape) and ds.test_images.shape == (20, *shape)
    assert ds.train_images.dtype == np.uint8 and ds.train_labels.dtype == np.int64
    assert 6 in set(ds.train_labels.tolist()) and len(ds.classes) == 10
    assert no_network.requests == []


def test_files_are_in_torchvision_layout_with_their_own_md5s(folder):
    manifest = json.loads((folder / STAND_IN_MANIFEST).read_text())
    assert manifest["stand_in"] is True and "NOT THE REAL" in manifest["warning"]
    for rel in [
        "MNIST/raw/train-images-idx3-ubyte.gz",
        "MNIST/raw/train-images-idx3-ubyte",
        "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz",
        "cifar-10-batches-py/data_batch_5",
        "cifar-10-batches-py/test_batch",
        "cifar-10-batches-py/batches.meta",
    ]:
        assert rel in manifest["files"] and (folder / rel).is_file()


def test_torchvisions_published_md5s_reject_stand_in_files(tmp_path, no_network):
    # the same files without the manifest are checked as real data, and fail torchvision's checksums
    write_stand_in(tmp_path, ["mnist"], num_train=20, num_test=10)
    (tmp_path / STAND_IN_MANIFEST).unlink()
    with pytest.raises(ChecksumMismatchError, match="train-images-idx3-ubyte.gz"):
        load_images("mnist", tmp_path)


def test_a_changed_or_missing_stand_in_file_is_caught(tmp_path):
    write_stand_in(tmp_path, ["mnist", "cifar10"], num_train=20, num_test=10)
    path = tmp_path / "cifar-10-batches-py" / "data_batch_2"
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    with pytest.raises(ChecksumMismatchError, match="data_batch_2"):
        load_images("cifar10", tmp_path, allow_stand_in=True)
    (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetMissingError, match="t10k-labels-idx1-ubyte"):
        load_images("mnist", tmp_path, allow_stand_in=True)
    with pytest.raises(DatasetMissingError, match="fmnist"):  # not written into this folder
        load_images("fmnist", tmp_path, allow_stand_in=True)


def test_stand_in_is_seeded(tmp_path):
    a = write_stand_in(tmp_path / "a", ["fmnist"], seed=1, num_train=20, num_test=10)
    b = write_stand_in(tmp_path / "b", ["fmnist"], seed=1, num_train=20, num_test=10)
    c = write_stand_in(tmp_path / "c", ["fmnist"], seed=2, num_train=20, num_test=10)
    files = [json.loads(p.read_text())["files"] for p in (a, b, c)]
    assert files[0] == files[1] != files[2]


def test_nothing_is_downloaded_into_a_stand_in_folder(folder, no_network):
    with pytest.raises(StandInDataError):
        ensure_downloaded("mnist", folder)
    assert no_network.requests == []


def test_digits_ignore_the_stand_in_switch(folder):
    assert load_images("digits", folder, allow_stand_in=True).stand_in is False


def test_tensorized_data_and_cli_carry_the_mark(folder, tmp_path, capsys):
    data = make_rank_complexity_data(
        "mnist", "random_label", seed=0, data_dir=folder, allow_stand_in=True
    )
    assert data.meta["stand_in"] is True and data.num_pixels == 784
    out = tmp_path / "d.npz"
    assert (
        main(
            [
                "make-data",
                "rank-complexity",
                "--dataset",
                "cifar10",
                "--data-dir",
                str(folder),
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "STAND-IN" in capsys.readouterr().err and not out.exists()
    assert (
        main(
            [
                "make-data",
                "rank-complexity",
                "--dataset",
                "cifar10",
                "--data-dir",
                str(folder),
                "--allow-stand-in",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "STAND-IN" in capsys.readouterr().out
    loaded = BinaryImageData.load(out)
    assert loaded.meta["stand_in"] is True and loaded.num_pixels == 1024


def test_cli_writes_a_stand_in_folder(tmp_path):
    assert (
        main(
            [
                "make-data",
                "stand-in-images",
                "--out-dir",
                str(tmp_path),
                "--datasets",
                "mnist",
                "--num-train",
                "12",
                "--num-test",
                "10",
            ]
        )
        == 0
    )
    assert load_images("mnist", tmp_path, allow_stand_in=True).train_images.shape == (12, 28, 28)


def test_real_data_missing_offline_names_files_and_folder(tmp_path, no_network, capsys):
    # the data rule's command on a machine without network: fails at once, naming files and folder
    code = main(
        [
            "make-data",
            "rank-complexity",
            "--dataset",
            "fmnist",
            "--data-dir",
            str(tmp_path),
            "--download",
            "--out",
            str(tmp_path / "x.npz"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert str(tmp_path / "FashionMNIST" / "raw") in err and "train-images-idx3-ubyte.gz" in err
    assert "download failed" in err


def test_fetch_data_offline_fails_at_once_with_what_to_do(tmp_path, no_network, capsys):
    assert main(["fetch-data", "--datasets", "cifar10", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "cifar-10-python.tar.gz" in err and str(tmp_path) in err and "download failed" in err
    assert len(no_network.requests) == 1  # one attempt, no retries
