"""Is Same Class pairs and canvases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from impreg.data.is_same_class import (
    IsSameClassPairs,
    compose_canvases,
    draw_pairs,
    normalize,
    pair_boxes,
)


def fake_cifar(n: int = 60, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8), rng.integers(0, 10, n)


@pytest.mark.parametrize("distance", [0, 40, 80, 120, 160, 41])
def test_gap_is_exactly_distance(distance: int) -> None:
    b1, b2 = pair_boxes(distance)
    assert b2.col - (b1.col + b1.width) == distance == b1.gap(b2)
    assert (b1.row, b1.height, b2.row) == (96, 32, 96)  # vertically centred: rows 96..127
    if distance % 2 == 0:
        assert (b1.col, b2.col) == (112 - 32 - distance // 2, 112 + distance // 2)
    assert all(isinstance(v, int) for v in (*b1, *b2))


def test_distance_160_fills_the_width() -> None:
    b1, b2 = pair_boxes(160)
    assert b1.col == 0 and b2.col + b2.width == 224
    with pytest.raises(ValueError):
        pair_boxes(161)


def test_canvas_content_and_placement() -> None:
    images, _ = fake_cifar()
    imgs = torch.as_tensor(images)
    first, second = torch.tensor([3, 7]), torch.tensor([5, 3])
    canvas = compose_canvases(imgs, first, second, distance=40, canvas_width=224)
    assert canvas.shape == (2, 3, 224, 224) and canvas.dtype == torch.float32
    b1, b2 = pair_boxes(40)
    assert torch.allclose(canvas[(..., *b1.slices)], normalize(imgs[first]))
    assert torch.allclose(canvas[(..., *b2.slices)], normalize(imgs[second]))
    outside = canvas.clone()
    outside[(..., *b1.slices)] = 0
    outside[(..., *b2.slices)] = 0
    assert outside.abs().max() == 0
    # The CIFAR mean colour normalizes to about zero, the blank canvas's value.
    mean_pixel = torch.tensor([[[[0.491 * 255, 0.482 * 255, 0.446 * 255]]]]).round().to(torch.uint8)
    assert normalize(mean_pixel).abs().max() < 0.01


def test_smaller_canvas_and_image_size() -> None:
    images, _ = fake_cifar(size=16)
    canvas = compose_canvases(
        torch.as_tensor(images), torch.tensor([0]), torch.tensor([1]), 80, 112, 112
    )
    b1, b2 = pair_boxes(80, 16, 112, 112)
    assert canvas.shape == (1, 3, 112, 112) and b1.col == 0 and b2.col + 16 == 112


def test_canvas_one_image_high() -> None:
    """The paper's horizontal layout on a strip: the images fill its height and keep their gap."""
    images, _ = fake_cifar(size=16)
    canvas = compose_canvases(
        torch.as_tensor(images),
        torch.tensor([0]),
        torch.tensor([1]),
        40,
        canvas_width=112,
        canvas_height=16,
    )
    b1, b2 = pair_boxes(40, 16, 112, 16)
    assert canvas.shape == (1, 3, 16, 112)
    assert (
        (b1.row, b2.row) == (0, 0)
        and b2.col - (b1.col + 16) == 40
        and b1.col == 112 - (b2.col + 16)
    )
    assert torch.equal(canvas[(..., *b2.slices)], normalize(torch.as_tensor(images[[1]])))
    with pytest.raises(ValueError, match="do not fit a 8 x 112 px canvas"):
        pair_boxes(40, 16, 112, 8)


def test_pairs_follow_their_labels() -> None:
    _, classes = fake_cifar(n=500)
    pairs = draw_pairs(classes, 2000, seed=1)
    same = classes[pairs.first] == classes[pairs.second]
    assert np.array_equal(same, pairs.labels == 1)
    assert abs(pairs.labels.mean() - 0.5) < 0.05
    # Negatives: the second class ranges over all the others.
    neg = pairs.labels == 0
    diffs = (classes[pairs.second[neg]] - classes[pairs.first[neg]]) % 10
    assert set(diffs) == set(range(1, 10))


def test_pairs_seeded() -> None:
    _, classes = fake_cifar(n=200)
    a, b, c = draw_pairs(classes, 300, 5), draw_pairs(classes, 300, 5), draw_pairs(classes, 300, 6)
    assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("first", "second", "labels"))
    assert not np.array_equal(a.first, c.first)


def test_dataset_batches() -> None:
    images, classes = fake_cifar(n=40)
    data = IsSameClassPairs(images, classes, num_pairs=10, distance=80, seed=0, canvas_width=224)
    batches = list(data.batches(4, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    x, y = batches[0]
    assert x.shape == (4, 3, 224, 224) and y.dtype == torch.float32 and x.device == data.device
    assert data.boxes == pair_boxes(80)
    again = next(iter(data.batches(4, shuffle=True, generator=torch.Generator().manual_seed(0))))
    assert torch.equal(again[0], x)
