"""Is Same Class (spec 2.2): two small images on a blank canvas, d pixels apart; label 1 iff same class.

Pairs are drawn once from a seed; canvases are composed a batch at a time on the images' device
(one indexed gather and two slice writes), so a GPU never waits on per-item Python work.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from impreg.regularizers import Box

CIFAR10_MEAN = (0.491, 0.482, 0.446)  # the original's per-channel constants
CIFAR10_STD = (0.247, 0.243, 0.261)


@dataclass
class PairIndices:
    """Which two images form each pair, and whether they share a class (1) or not (0)."""

    first: np.ndarray  # (n,) int64 image indices
    second: np.ndarray  # (n,) int64
    labels: np.ndarray  # (n,) uint8


def draw_pairs(class_labels: np.ndarray, num_pairs: int, seed: int) -> PairIndices:
    """Positive with probability 1/2: a uniform class, two of its images with replacement. Negative:
    a uniform class for image 1, image 2's class uniform over the others."""
    class_labels = np.asarray(class_labels)
    classes, counts = np.unique(class_labels, return_counts=True)
    k = len(classes)
    if k < 2 or num_pairs < 1:
        raise ValueError(
            f"need >= 2 classes and num_pairs >= 1, got {k} classes, {num_pairs} pairs"
        )
    rng = np.random.default_rng(seed)
    positive = rng.random(num_pairs) < 0.5
    c1 = rng.integers(k, size=num_pairs)
    c2 = np.where(positive, c1, (c1 + rng.integers(1, k, size=num_pairs)) % k)
    # Images grouped by class: class c owns order[start[c] : start[c] + counts[c]].
    order = np.argsort(np.searchsorted(classes, class_labels), kind="stable")
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])

    def pick(c: np.ndarray) -> np.ndarray:
        return order[start[c] + (rng.random(len(c)) * counts[c]).astype(np.int64)]

    return PairIndices(first=pick(c1), second=pick(c2), labels=positive.astype(np.uint8))


def pair_boxes(
    distance: int, image_size: int = 32, canvas_width: int = 224, canvas_height: int = 224
) -> tuple[Box, Box]:
    """Where the two images go: vertically centred, exactly ``distance`` px apart, the pair centred
    horizontally (image 1 at column w/2 - s - d/2 and image 2 at w/2 + d/2 for even w - d)."""
    s, d, w, h = int(image_size), int(distance), int(canvas_width), int(canvas_height)
    if d < 0 or 2 * s + d > w or s > h:
        raise ValueError(
            f"two {s} px images {d} px apart do not fit a {h} x {w} px canvas (height x width)"
        )
    top, left = (h - s) // 2, (w - 2 * s - d) // 2
    return Box(top, left, s, s), Box(top, left + s + d, s, s)


def normalize(
    images: torch.Tensor,
    mean: tuple[float, ...] = CIFAR10_MEAN,
    std: tuple[float, ...] = CIFAR10_STD,
) -> torch.Tensor:
    """uint8 (B, H, W, C) -> float32 (B, C, H, W), per-channel standardized."""
    x = images.permute(0, 3, 1, 2).float().div_(255)
    m = torch.tensor(mean, device=x.device).view(1, -1, 1, 1)
    sd = torch.tensor(std, device=x.device).view(1, -1, 1, 1)
    return (x - m) / sd


def compose_canvases(
    images: torch.Tensor,
    first: torch.Tensor,
    second: torch.Tensor,
    distance: int,
    canvas_width: int = 224,
    canvas_height: int = 224,
    mean: tuple[float, ...] = CIFAR10_MEAN,
    std: tuple[float, ...] = CIFAR10_STD,
) -> torch.Tensor:
    """(B, C, h, w) float32 canvases on ``images.device``: zeros (the mean colour after normalization)
    with the normalized ``images[first]`` and ``images[second]`` at ``pair_boxes``."""
    n, s, s2, channels = images.shape
    if s != s2:
        raise ValueError(f"images must be square (N, s, s, C), got {tuple(images.shape)}")
    box1, box2 = pair_boxes(distance, s, canvas_width, canvas_height)
    canvas = images.new_zeros(
        (len(first), channels, canvas_height, canvas_width), dtype=torch.float32
    )
    canvas[(..., *box1.slices)] = normalize(images[first], mean, std)
    canvas[(..., *box2.slices)] = normalize(images[second], mean, std)
    return canvas


class IsSameClassPairs:
    """A seeded set of pairs over ``images`` kept on ``device``; canvases are built per batch and
    normalized with ``mean``/``std`` (CIFAR-10's by default)."""

    def __init__(
        self,
        images: np.ndarray | torch.Tensor,
        class_labels: np.ndarray,
        num_pairs: int,
        distance: int,
        seed: int,
        canvas_width: int = 224,
        canvas_height: int = 224,
        device: str | torch.device = "cpu",
        mean: tuple[float, ...] = CIFAR10_MEAN,
        std: tuple[float, ...] = CIFAR10_STD,
    ) -> None:
        images = torch.as_tensor(images)
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError(
                f"images must be uint8 (N, s, s, C), got {images.dtype} {tuple(images.shape)}"
            )
        self.device = torch.device(device)
        self.images = images.to(self.device)
        self.distance, self.canvas_width, self.canvas_height = (
            int(distance),
            int(canvas_width),
            int(canvas_height),
        )
        self.mean, self.std = tuple(mean), tuple(std)
        self.boxes = pair_boxes(distance, images.shape[1], canvas_width, canvas_height)
        self.pairs = draw_pairs(np.asarray(class_labels), num_pairs, seed)
        self._first = torch.as_tensor(self.pairs.first, device=self.device)
        self._second = torch.as_tensor(self.pairs.second, device=self.device)
        self.labels = torch.as_tensor(self.pairs.labels, device=self.device).float()

    def __len__(self) -> int:
        return len(self.labels)

    def canvases(self, index: torch.Tensor) -> torch.Tensor:
        index = index.to(self.device)
        return compose_canvases(
            self.images,
            self._first[index],
            self._second[index],
            self.distance,
            self.canvas_width,
            self.canvas_height,
            self.mean,
            self.std,
        )

    def batches(
        self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(canvases, float labels) batches; ``generator`` (a CPU one) fixes the shuffle order."""
        order = (
            torch.randperm(len(self), generator=generator) if shuffle else torch.arange(len(self))
        )
        for start in range(0, len(self), batch_size):
            index = order[start : start + batch_size].to(self.device)
            yield self.canvases(index), self.labels[index]
