"""Image classification as tensor completion (the paper's Fig. 4 data).

Each image is binarized and flattened, so it is one entry index in {0,1}^(H*W) of an order
H*W tensor with mode dimension 2; its one-vs-rest label (2 for the positive class, 0 otherwise)
is the observed value there. Two controls replace the images by uniform random bits ("random
image") or permute the labels within each split ("random label").
``make_rank_complexity_data`` loads a dataset and makes such data of it (``make-data rank-complexity``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from impreg.data.formats import ImageDataset, canonical_name
from impreg.data.images import load_images
from impreg.data.synthetic import read_npz
from impreg.io import atomic_path

CONTROLS = ("natural", "random_image", "random_label")
# np.random.default_rng entropy prefix of the train-subset draw (kept apart from the controls' seed use)
SUBSET_STREAM = 7919
# Labels are {0, 2}: errors divided by 4 read as if labels were {0, 1} (the paper's "mean error").
ERROR_SCALE = 4.0
# ITU-R BT.601 luma weights (those of PIL's "L" conversion), applied in floating point.
GRAY_WEIGHTS = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class TensorizeConfig:
    """How a labelled image dataset becomes completion data; ``seed`` drives both controls."""

    positive_class: int = 6
    control: str = "natural"
    seed: int = 0
    positive_value: float = 2.0
    negative_value: float = 0.0
    threshold: float = 0.5

    def __post_init__(self) -> None:
        if self.control not in CONTROLS:
            raise ValueError(f"control '{self.control}' must be one of {', '.join(CONTROLS)}")


@dataclass
class BinaryImageData:
    """Binary images (N, P) uint8 in {0, 1} with float32 targets (N,), for train and test."""

    train_bits: np.ndarray
    train_targets: np.ndarray
    test_bits: np.ndarray
    test_targets: np.ndarray
    image_shape: tuple[int, int]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_pixels(self) -> int:
        return int(self.train_bits.shape[1])

    def save(self, path: str | Path) -> None:
        """An .npz with bits packed 8 per byte (MNIST: 6 MB instead of 55 MB)."""
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh,
                train_bits=np.packbits(self.train_bits, axis=1),
                test_bits=np.packbits(self.test_bits, axis=1),
                train_targets=self.train_targets,
                test_targets=self.test_targets,
                image_shape=np.array(self.image_shape),
                meta=np.array(json.dumps(self.meta)),
            )

    @classmethod
    def load(cls, path: str | Path) -> BinaryImageData:
        """Read a file written by ``save``; a missing, wrong-format, truncated or corrupted file raises
        DataFileError naming it (``impreg.data.synthetic.read_npz``)."""

        def read(z) -> BinaryImageData:
            shape = tuple(int(v) for v in z["image_shape"])
            num_pixels = int(np.prod(shape))
            return cls(
                train_bits=np.unpackbits(z["train_bits"], axis=1, count=num_pixels),
                train_targets=z["train_targets"],
                test_bits=np.unpackbits(z["test_bits"], axis=1, count=num_pixels),
                test_targets=z["test_targets"],
                image_shape=shape,
                meta=json.loads(str(z["meta"])),
            )

        return read_npz(path, "binary image", read)


def to_unit_gray(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, H, W) or RGB (N, H, W, 3) -> float32 (N, H, W) in [0, 1].

    RGB is converted as gray = (0.299 R + 0.587 G + 0.114 B) / 255.
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 3:
        weights = np.asarray(GRAY_WEIGHTS, dtype=np.float32) / np.float32(255)
        out = np.empty(images.shape[:3], dtype=np.float32)
        for start in range(0, len(images), 4096):  # chunks: CIFAR-10 whole in float32 is 600 MB
            out[start : start + 4096] = images[start : start + 4096].astype(np.float32) @ weights
        return out
    if images.ndim != 3:
        raise ValueError(f"expected images (N, H, W) or (N, H, W, 3), got shape {images.shape}")
    return images.astype(np.float32) / np.float32(255)


def binarize(images: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Images -> (N, H*W) uint8 bits, 1 where the [0, 1] intensity is > threshold (row-major flattening).

    Strictly greater matches the original's torch.round (half to even) at 0.5: a uint8 pixel v
    gives 1 iff v >= 128.
    """
    gray = to_unit_gray(images)
    return (gray > threshold).reshape(len(gray), -1).astype(np.uint8)


def one_vs_rest(
    labels: np.ndarray,
    positive_class: int,
    positive_value: float = 2.0,
    negative_value: float = 0.0,
) -> np.ndarray:
    """float32 targets: ``positive_value`` where label == positive_class, else ``negative_value``."""
    return np.where(np.asarray(labels) == positive_class, positive_value, negative_value).astype(
        np.float32
    )


def random_bits(num_images: int, num_pixels: int, rng: np.random.Generator) -> np.ndarray:
    """i.i.d. uniform {0, 1} pixels, (num_images, num_pixels) uint8."""
    return rng.integers(0, 2, size=(num_images, num_pixels), dtype=np.uint8)


def variance_line(targets: np.ndarray, scale: float = ERROR_SCALE) -> float:
    """Error of the best constant predictor (the mean) = population variance of ``targets`` / ``scale``.

    For MNIST train with digit 6 positive (5918 of 60000) and labels {0, 2}: 4 p (1 - p) / 4 ~= 0.089.
    """
    return float(np.var(np.asarray(targets, dtype=np.float64)) / scale)


def tensorize(
    dataset: ImageDataset, config: TensorizeConfig = TensorizeConfig()
) -> BinaryImageData:
    """Binarize, flatten and relabel ``dataset``; apply ``config.control`` with ``config.seed``.

    random_image: every train and test image is replaced by uniform random bits (train drawn
    first); the labels are untouched, so label counts are kept. random_label: targets are
    permuted within train, then within test, so each split keeps its positive count.
    """
    if config.positive_class not in set(np.unique(dataset.train_labels).tolist()):
        raise ValueError(
            f"positive_class {config.positive_class} never occurs in {dataset.name}'s train labels"
        )
    train_bits = binarize(dataset.train_images, config.threshold)
    test_bits = binarize(dataset.test_images, config.threshold)
    train_y = one_vs_rest(
        dataset.train_labels, config.positive_class, config.positive_value, config.negative_value
    )
    test_y = one_vs_rest(
        dataset.test_labels, config.positive_class, config.positive_value, config.negative_value
    )
    rng = np.random.default_rng(config.seed)
    if config.control == "random_image":
        train_bits = random_bits(*train_bits.shape, rng)
        test_bits = random_bits(*test_bits.shape, rng)
    elif config.control == "random_label":
        train_y = rng.permutation(train_y)
        test_y = rng.permutation(test_y)
    image_shape = tuple(int(v) for v in dataset.image_shape[:2])
    meta = dict(
        dataset=dataset.name,
        **asdict(config),
        num_train=len(train_y),
        num_test=len(test_y),
        num_pixels=int(train_bits.shape[1]),
        train_positives=int((train_y == config.positive_value).sum()),
        test_positives=int((test_y == config.positive_value).sum()),
        variance_line=variance_line(train_y),
    )
    return BinaryImageData(train_bits, train_y, test_bits, test_y, image_shape, meta)


def make_rank_complexity_data(
    dataset: str,
    control: str = "natural",
    positive_class: int = 6,
    seed: int = 0,
    train_subset: int = 0,
    data_dir: str | Path | None = None,
    download: bool = False,
    allow_stand_in: bool = False,
) -> BinaryImageData:
    """Load ``dataset``, optionally keep a random ``train_subset`` of its train split, and tensorize it.

    The subset (``train_subset`` > 0) is drawn from ``default_rng([SUBSET_STREAM, seed])`` before
    the control, so every control of a dataset uses the same images; the controls themselves are
    drawn from ``seed`` (``tensorize``). The test split is always whole.
    """
    images = load_images(
        canonical_name(dataset), data_dir, download=download, allow_stand_in=allow_stand_in
    )
    source_train = len(images.train_labels)
    if train_subset:
        if train_subset > source_train:
            raise ValueError(
                f"train_subset {train_subset} exceeds the {source_train} train images of {images.name}"
            )
        keep = np.sort(
            np.random.default_rng([SUBSET_STREAM, seed]).choice(
                source_train, train_subset, replace=False
            )
        )
        images.train_images, images.train_labels = (
            images.train_images[keep],
            images.train_labels[keep],
        )
    data = tensorize(
        images, TensorizeConfig(positive_class=positive_class, control=control, seed=seed)
    )
    data.meta.update(
        stand_in=bool(images.stand_in),
        train_subset=int(train_subset),
        source_num_train=source_train,
        positive_class_name=str(images.classes[positive_class])
        if positive_class < len(images.classes)
        else str(positive_class),
    )
    return data
