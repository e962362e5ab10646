"""The stored inputs of the CNN locality runs (P2 Fig. C): Is Same Class source images.

Is Same Class (spec 2.2) pastes two small images onto a blank canvas; what has to be stored is
only the source images, split into train and test, with the per-channel mean/std to normalize
them with. Canvases and pairs are made by the training job (``impreg.train.locality``).

- ``cifar10``: CIFAR-10 through ``impreg.data.images.load_images`` (the real files, or a STAND-IN
  folder with ``allow_stand_in``), normalized with the original's CIFAR constants.
- ``digits``: scikit-learn's bundled 8x8 digits ("Is Same Digit"), the offline CPU substitute;
  one channel, normalized with the train split's own mean/std.

Either may be upsampled by an integer factor (nearest neighbour), e.g. 8 px digits to 16 px.

Pathfinder files need nothing here: they are ``impreg.data.pathfinder.PathfinderData``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from impreg.data.is_same_class import CIFAR10_MEAN, CIFAR10_STD
from impreg.data.synthetic import read_npz
from impreg.io import DataFileError, atomic_path

SOURCES = ("cifar10", "digits")
_ARRAYS = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass
class IsSameClassImages:
    """Source images of Is Same Class: uint8 (N, s, s, C) per split, int64 class labels, and meta
    (source, stand_in, channels, image_size, upsample, mean, std)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def mean(self) -> tuple[float, ...]:
        return tuple(float(v) for v in self.meta["mean"])

    @property
    def std(self) -> tuple[float, ...]:
        return tuple(float(v) for v in self.meta["std"])

    def save(self, path: str | Path) -> None:
        """Atomically: a killed job never leaves a half-written file under ``path``."""
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(
                fh, **{k: getattr(self, k) for k in _ARRAYS}, meta=np.array(json.dumps(self.meta))
            )

    @classmethod
    def load(cls, path: str | Path) -> IsSameClassImages:
        data = read_npz(
            path,
            "Is Same Class image",
            lambda z: cls(**{k: z[k] for k in _ARRAYS}, meta=json.loads(str(z["meta"]))),
        )
        problem = data.problem()
        if problem:
            raise DataFileError(f"{path} is inconsistent ({problem}); delete it and rebuild it")
        return data

    def problem(self) -> str | None:
        """Why the arrays and meta do not fit together (None when they do)."""
        for split in ("train", "test"):
            images, labels = getattr(self, f"{split}_images"), getattr(self, f"{split}_labels")
            if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] != images.shape[2]:
                return (
                    f"{split} images must be uint8 (N, s, s, C), got {images.dtype} {images.shape}"
                )
            if len(images) != len(labels):
                return f"{len(images)} {split} images but {len(labels)} labels"
        if self.train_images.shape[1:] != self.test_images.shape[1:]:
            return f"train images {self.train_images.shape[1:]} vs test images {self.test_images.shape[1:]}"
        channels = self.train_images.shape[3]
        if len(self.meta.get("mean", ())) != channels or len(self.meta.get("std", ())) != channels:
            return f"meta mean/std must have one value per channel ({channels})"
        return None


def upsample_nearest(images: np.ndarray, factor: int) -> np.ndarray:
    """(N, s, s, C) -> (N, k s, k s, C), each pixel repeated k x k times."""
    if factor == 1:
        return images
    return np.repeat(np.repeat(images, factor, axis=1), factor, axis=2)


def make_is_same_class_images(
    source: str,
    data_dir: str | Path | None = None,
    download: bool = False,
    allow_stand_in: bool = False,
    upsample: int = 1,
) -> IsSameClassImages:
    """Load ``source`` (cifar10 or digits) as Is Same Class source images.

    cifar10 goes through ``load_images`` exactly as the rank-complexity data does, so a STAND-IN
    folder is refused unless ``allow_stand_in`` (and then marked ``stand_in`` in the meta).
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    if int(upsample) != upsample or upsample < 1:
        raise ValueError(f"upsample must be an integer >= 1, got {upsample}")
    upsample = int(upsample)
    # imported here: torchvision is loaded only by the job that makes the images
    from impreg.data.images import load_digits, load_images

    dataset = (
        load_digits()
        if source == "digits"
        else load_images(source, data_dir, download=download, allow_stand_in=allow_stand_in)
    )
    splits = []
    for images in (dataset.train_images, dataset.test_images):
        if images.ndim == 3:  # grayscale: an explicit channel axis
            images = images[..., None]
        splits.append(
            np.ascontiguousarray(upsample_nearest(images.astype(np.uint8, copy=False), upsample))
        )
    train, test = splits
    if source == "cifar10":
        mean, std = CIFAR10_MEAN, CIFAR10_STD  # the original's constants, not refitted
    else:  # per channel over the train split, in [0, 1] units as normalize() expects
        scaled = train.astype(np.float64) / 255
        mean, std = tuple(scaled.mean(axis=(0, 1, 2))), tuple(scaled.std(axis=(0, 1, 2)))
    meta = dict(
        kind="is_same_class_images",
        source=source,
        stand_in=bool(dataset.stand_in),
        channels=int(train.shape[3]),
        image_size=int(train.shape[1]),
        upsample=upsample,
        num_train=len(train),
        num_test=len(test),
        num_classes=int(len(np.unique(dataset.train_labels))),
        mean=[float(v) for v in mean],
        std=[float(v) for v in std],
    )
    return IsSameClassImages(
        train,
        dataset.train_labels.astype(np.int64),
        test,
        dataset.test_labels.astype(np.int64),
        meta,
    )
