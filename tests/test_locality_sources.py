"""Stored inputs of the CNN locality runs: Is Same Class source images and the Pathfinder data command."""

from __future__ import annotations

import numpy as np
import pytest

from impreg.cli import main
from impreg.commands.locality import load_locality_data
from impreg.data.images import StandInDataError
from impreg.data.is_same_class import CIFAR10_MEAN, CIFAR10_STD
from impreg.data.locality_sources import (
    IsSameClassImages,
    make_is_same_class_images,
    upsample_nearest,
)
from impreg.data.pathfinder import PathfinderData
from impreg.data.stand_in import write_stand_in
from impreg.io import DataFileError


@pytest.fixture(scope="module")
def digits() -> IsSameClassImages:
    return make_is_same_class_images("digits", upsample=2)


def test_digits_source(digits):
    assert digits.train_images.shape == (1347, 16, 16, 1) and digits.test_images.shape == (
        450,
        16,
        16,
        1,
    )
    assert digits.train_images.dtype == np.uint8 and digits.train_images.max() == 255
    assert (
        set(np.unique(digits.train_labels)) == set(range(10))
        and digits.test_labels.dtype == np.int64
    )
    plain = make_is_same_class_images("digits")
    assert plain.train_images.shape[1:] == (8, 8, 1)
    # nearest neighbour: every 2x2 block is one original pixel
    assert np.array_equal(digits.train_images[:, ::2, ::2], plain.train_images)
    assert np.array_equal(digits.train_images[:, 1::2, 1::2], plain.train_images)
    m = digits.meta
    assert (m["source"], m["channels"], m["image_size"], m["upsample"], m["stand_in"]) == (
        "digits",
        1,
        16,
        2,
        False,
    )
    scaled = plain.train_images / 255.0
    assert digits.mean == pytest.approx((scaled.mean(),)) and digits.std == pytest.approx(
        (scaled.std(),)
    )
    assert np.array_equal(upsample_nearest(plain.test_images, 1), plain.test_images)


def test_round_trip(digits, tmp_path):
    path = tmp_path / "d.npz"
    digits.save(path)
    back = IsSameClassImages.load(path)
    for key in ("train_images", "train_labels", "test_images", "test_labels"):
        assert (
            np.array_equal(getattr(back, key), getattr(digits, key))
            and getattr(back, key).dtype == getattr(digits, key).dtype
        )
    assert back.meta == digits.meta and back.mean == digits.mean
    assert not list(tmp_path.glob(".*.tmp"))


def test_cifar10_from_a_stand_in_folder(tmp_path):
    write_stand_in(tmp_path / "img", ["cifar10"], num_train=50, num_test=20)
    with pytest.raises(StandInDataError):
        make_is_same_class_images("cifar10", tmp_path / "img")
    data = make_is_same_class_images("cifar10", tmp_path / "img", allow_stand_in=True)
    assert data.train_images.shape == (50, 32, 32, 3) and data.test_images.shape == (20, 32, 32, 3)
    assert data.meta["stand_in"] is True and data.meta["channels"] == 3
    # the original's constants, not refitted
    assert data.mean == CIFAR10_MEAN and data.std == CIFAR10_STD
    assert (
        main(
            [
                "make-data",
                "is-same-class-images",
                "--source",
                "cifar10",
                "--data-dir",
                str(tmp_path / "img"),
                "--allow-stand-in",
                "--out",
                str(tmp_path / "c.npz"),
            ]
        )
        == 0
    )
    assert IsSameClassImages.load(tmp_path / "c.npz").meta["stand_in"] is True


def test_bad_arguments():
    with pytest.raises(ValueError, match="source"):
        make_is_same_class_images("mnist")
    with pytest.raises(ValueError, match="upsample"):
        make_is_same_class_images("digits", upsample=0)


def test_unreadable_files_name_the_file(digits, tmp_path):
    good = tmp_path / "good.npz"
    digits.save(good)
    truncated, garbage = tmp_path / "truncated.npz", tmp_path / "garbage.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage.write_bytes(b"\x00" * 100)
    for path in (truncated, garbage, tmp_path / "missing.npz"):
        with pytest.raises(DataFileError, match=str(path)):
            IsSameClassImages.load(path)
    bad = IsSameClassImages(
        digits.train_images,
        digits.train_labels[:-1],
        digits.test_images,
        digits.test_labels,
        digits.meta,
    )
    bad.save(tmp_path / "bad.npz")
    with pytest.raises(DataFileError, match="labels.*delete it and rebuild it"):
        IsSameClassImages.load(tmp_path / "bad.npz")


def test_make_data_pathfinder_cli_is_the_same_for_any_worker_count(tmp_path, capsys):
    args = [
        "make-data",
        "pathfinder",
        "--path-length",
        "3",
        "--num-samples",
        "8",
        "--window",
        "64",
        "--geometry-scale",
        "0.5",
        "--output-size",
        "32",
        "--seed",
        "3",
    ]
    assert main([*args, "--workers", "1", "--out", str(tmp_path / "w1.npz")]) == 0
    assert "8 Pathfinder images" in capsys.readouterr().out
    assert (
        main([*args, "--workers", "2", "--chunk-size", "3", "--out", str(tmp_path / "w2.npz")]) == 0
    )
    one, two = PathfinderData.load(tmp_path / "w1.npz"), PathfinderData.load(tmp_path / "w2.npz")
    assert one.images.shape == (8, 32, 32) and one.meta["path_length"] == 3
    assert np.array_equal(one.images, two.images) and np.array_equal(one.labels, two.labels)
    assert np.array_equal(one.markers, two.markers)
    # a truncated file is a DataFileError naming it
    cut = tmp_path / "cut.npz"
    cut.write_bytes((tmp_path / "w1.npz").read_bytes()[:200])
    with pytest.raises(DataFileError, match=str(cut)):
        load_locality_data("pathfinder", str(cut))


def test_make_data_pathfinder_cli_draws_the_paddle_thickness_it_is_given(tmp_path, capsys):
    args = [
        "make-data",
        "pathfinder",
        "--path-length",
        "3",
        "--num-samples",
        "4",
        "--window",
        "96",
        "--geometry-scale",
        "0.5",
        "--output-size",
        "96",
        "--seed",
        "3",
    ]
    assert main([*args, "--out", str(tmp_path / "thin.npz")]) == 0
    assert main([*args, "--paddle-thickness", "4", "--out", str(tmp_path / "thick.npz")]) == 0
    thin, thick = (
        PathfinderData.load(tmp_path / "thin.npz"),
        PathfinderData.load(tmp_path / "thick.npz"),
    )
    assert thin.meta["paddle_thickness"] == 2.0 and thick.meta["paddle_thickness"] == 4.0
    # 2 px strokes against 1 px ones: far more lit pixels per image
    assert (thick.images > 127).sum() > 1.5 * (thin.images > 127).sum()
    capsys.readouterr()
    assert main([*args, "--paddle-thickness", "0", "--out", str(tmp_path / "none.npz")]) == 2
    assert "paddle_thickness" in capsys.readouterr().err and not (tmp_path / "none.npz").exists()
