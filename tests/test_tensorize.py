"""Images -> binary completion data: binarization, one-vs-rest targets, both controls."""

from __future__ import annotations

import numpy as np
import pytest

from impreg.data.images import ImageDataset, load_images
from impreg.data.tensorize import (
    BinaryImageData,
    TensorizeConfig,
    binarize,
    one_vs_rest,
    tensorize,
    to_unit_gray,
    variance_line,
)
from impreg.io import DataFileError


def _toy(n_train: int = 300, n_test: int = 100, rgb: bool = False, seed: int = 0) -> ImageDataset:
    rng = np.random.default_rng(seed)
    shape = (5, 4, 3) if rgb else (5, 4)
    return ImageDataset(
        "toy",
        rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        rng.integers(0, 10, n_train),
        rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
        rng.integers(0, 10, n_test),
        classes=tuple(map(str, range(10))),
    )


def test_binarize_threshold_and_row_major_flattening():
    img = np.array([[[0, 127], [128, 255]]], dtype=np.uint8)
    np.testing.assert_array_equal(binarize(img), [[0, 0, 1, 1]])
    assert binarize(img).dtype == np.uint8


def test_rgb_uses_bt601_luma():
    rgb = np.array([[[[255, 0, 0], [0, 255, 0], [0, 0, 255], [200, 100, 50]]]], dtype=np.uint8)
    expected = np.array([0.299, 0.587, 0.114, (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255])
    np.testing.assert_allclose(to_unit_gray(rgb)[0, 0], expected, rtol=1e-6)
    # green alone is brighter than half, red and blue alone are not
    np.testing.assert_array_equal(binarize(rgb), [[0, 1, 0, 0]])


def test_one_vs_rest_and_variance_line():
    labels = np.array([6, 1, 6, 0])
    np.testing.assert_array_equal(one_vs_rest(labels, 6), [2, 0, 2, 0])
    assert one_vs_rest(labels, 6).dtype == np.float32
    mnist_like = one_vs_rest(np.r_[np.full(5918, 6), np.zeros(60000 - 5918, int)], 6)
    assert variance_line(mnist_like) == pytest.approx(5918 / 60000 * (1 - 5918 / 60000))
    assert variance_line(mnist_like) == pytest.approx(0.0889, abs=5e-4)


def test_natural_keeps_images_and_labels():
    ds = _toy()
    data = tensorize(ds, TensorizeConfig(positive_class=3))
    np.testing.assert_array_equal(data.train_bits, binarize(ds.train_images))
    np.testing.assert_array_equal(data.test_targets, one_vs_rest(ds.test_labels, 3))
    assert data.num_pixels == 20 and data.image_shape == (5, 4)
    assert data.meta["train_positives"] == int((ds.train_labels == 3).sum())


def test_random_image_replaces_every_image_keeps_labels_and_is_seeded():
    ds = _toy(n_train=2000)
    natural = tensorize(ds)
    a = tensorize(ds, TensorizeConfig(control="random_image", seed=1))
    b = tensorize(ds, TensorizeConfig(control="random_image", seed=1))
    c = tensorize(ds, TensorizeConfig(control="random_image", seed=2))
    np.testing.assert_array_equal(a.train_bits, b.train_bits)
    np.testing.assert_array_equal(a.test_bits, b.test_bits)
    assert not np.array_equal(a.train_bits, c.train_bits)
    assert not np.array_equal(a.test_bits, natural.test_bits)
    np.testing.assert_array_equal(a.train_targets, natural.train_targets)
    np.testing.assert_array_equal(a.test_targets, natural.test_targets)
    assert set(np.unique(a.train_bits)) == {0, 1} and abs(a.train_bits.mean() - 0.5) < 0.01


def test_random_label_permutes_within_each_split_and_is_seeded():
    ds = _toy(n_train=1000, n_test=400)
    natural = tensorize(ds)
    a = tensorize(ds, TensorizeConfig(control="random_label", seed=5))
    b = tensorize(ds, TensorizeConfig(control="random_label", seed=5))
    np.testing.assert_array_equal(a.train_targets, b.train_targets)
    np.testing.assert_array_equal(a.train_bits, natural.train_bits)
    for split in ("train", "test"):
        got, orig = getattr(a, f"{split}_targets"), getattr(natural, f"{split}_targets")
        np.testing.assert_array_equal(np.sort(got), np.sort(orig))  # counts kept within the split
        assert not np.array_equal(got, orig)
    assert not np.array_equal(
        a.train_targets,
        tensorize(ds, TensorizeConfig(control="random_label", seed=6)).train_targets,
    )


def test_cifar_like_rgb_is_tensorized_in_gray():
    ds = _toy(rgb=True)
    data = tensorize(ds)
    assert data.train_bits.shape == (300, 20) and data.image_shape == (5, 4)


def test_digits_end_to_end():
    data = tensorize(load_images("digits"))
    assert data.train_bits.shape == (1347, 64)
    assert 0.05 < variance_line(data.train_targets) < 0.1


def test_save_load_roundtrip(tmp_path):
    data = tensorize(_toy(), TensorizeConfig(control="random_label", seed=3))
    data.save(tmp_path / "d.npz")
    back = BinaryImageData.load(tmp_path / "d.npz")
    for name in ("train_bits", "test_bits", "train_targets", "test_targets"):
        np.testing.assert_array_equal(getattr(back, name), getattr(data, name))
    assert back.image_shape == data.image_shape and back.meta == data.meta
    with pytest.raises(DataFileError, match="does not exist"):
        BinaryImageData.load(tmp_path / "nope.npz")


def test_bad_config():
    with pytest.raises(ValueError, match="control"):
        TensorizeConfig(control="shuffled")
    with pytest.raises(ValueError, match="never occurs"):
        tensorize(_toy(), TensorizeConfig(positive_class=11))


def test_truncated_corrupt_or_foreign_files_raise_data_file_error_naming_them(tmp_path):
    from impreg.data.synthetic import make_cp_completion

    data = tensorize(_toy(), TensorizeConfig())
    data.save(tmp_path / "d.npz")
    blob = (tmp_path / "d.npz").read_bytes()
    middle = len(blob) // 2
    for damaged, expected in (
        (blob[:-20], "truncated or corrupted"),
        (blob[:middle] + bytes(16) + blob[middle + 16 :], "truncated or corrupted"),
        (b"train_bits,test_bits\n1,0\n", "not an .npz archive"),
    ):
        (tmp_path / "bad.npz").write_bytes(damaged)
        with pytest.raises(DataFileError, match="truncated or corrupted|not an .npz") as info:
            BinaryImageData.load(tmp_path / "bad.npz")
        assert str(tmp_path / "bad.npz") in str(info.value) and expected in str(info.value)
    # a valid npz of another kind
    make_cp_completion(3, 4, 2, 1.0, 20, seed=0).save(tmp_path / "other.npz")
    with pytest.raises(DataFileError, match="not a binary image data file"):
        BinaryImageData.load(tmp_path / "other.npz")
