"""Pathfinder generator: labels checked against pixel connectivity, not against the generator's own state."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from impreg.data.pathfinder import (
    PathfinderConfig,
    PathfinderData,
    generate_pathfinder,
    render_sample,
)

EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def small(path_length: int, **kw) -> PathfinderConfig:
    kw = dict(window=64, output_size=32, geometry_scale=0.5) | kw
    return PathfinderConfig(path_length=path_length, **kw)


def marker_components(image: np.ndarray, markers: np.ndarray) -> tuple[int, int]:
    """Connected-component ids (8-connectivity, any lit pixel) under the two marker centres."""
    components, _ = ndimage.label(image > 0, structure=EIGHT_CONNECTED)
    (r0, c0), (r1, c1) = np.rint(markers).astype(int)
    return int(components[r0, c0]), int(components[r1, c1])


@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("path_length", [3, 9])
def test_label_matches_pixel_connectivity(path_length: int, antialias: bool) -> None:
    cfg = small(path_length, antialias=antialias)
    for index in range(24):
        sample = render_sample(cfg, seed=3, index=index)
        a, b = marker_components(sample.image, sample.markers)
        assert a > 0 and b > 0, "a marker centre is not on a lit pixel"
        assert (a == b) == bool(sample.label), f"image {index}: label {sample.label}, components {a}, {b}"


def test_label_matches_connectivity_at_paper_geometry() -> None:
    cfg = PathfinderConfig(path_length=5)  # 300 px window, the paper's sizes
    for index in range(4):
        sample = render_sample(cfg, seed=0, index=index)
        a, b = marker_components(sample.image, sample.markers)
        assert a > 0 and (a == b) == bool(sample.label)


def test_snakes_are_separate_components_and_id_map_agrees() -> None:
    sample = render_sample(small(5), seed=1, index=0)
    components, count = ndimage.label(sample.image > 0, structure=EIGHT_CONNECTED)
    assert count == len(sample.snakes)  # no two snakes touch, no snake is broken
    assert np.array_equal(sample.image > 0, sample.snake_ids > 0)
    for k in range(len(sample.snakes)):
        assert len(np.unique(components[sample.snake_ids == k + 1])) == 1


@pytest.mark.parametrize("path_length", [3, 5, 7, 9])
def test_path_length_and_turning_respected(path_length: int) -> None:
    cfg = small(path_length)
    sample = render_sample(cfg, seed=2, index=5)
    steps = [np.diff(s, axis=0) for s in sample.snakes]
    assert [len(s) for s in steps[:2]] == [path_length, path_length]
    assert all(len(s) == max(1, path_length // 3) for s in steps[2:])
    assert len(sample.snakes) == 2 + cfg.distractor_count
    lengths = np.concatenate([np.linalg.norm(s, axis=1) for s in steps])
    assert np.allclose(lengths, lengths[0])
    for s in steps:
        heading = np.arctan2(s[:, 0], s[:, 1])
        turn = np.angle(np.exp(1j * np.diff(heading)))
        assert np.all(np.abs(turn) <= math.radians(cfg.max_turn_deg) + 1e-9)


def test_markers_at_snake_ends() -> None:
    for index in range(6):
        s = render_sample(small(7), seed=4, index=index)
        first, second = s.snakes[0], s.snakes[1]
        expected = first[-1] if s.label else second[0]
        assert np.allclose(s.markers[0], first[0]) and np.allclose(s.markers[1], expected)


def test_distractor_count_follows_paper_at_full_scale() -> None:
    assert [PathfinderConfig(path_length=L).distractor_count for L in (3, 5, 7, 9)] == [30, 18, 13, 10]
    assert [PathfinderConfig(path_length=L).distractor_paddles for L in (3, 5, 7, 9)] == [1, 1, 2, 3]


def test_too_small_geometry_is_refused() -> None:
    with pytest.raises(ValueError, match="too short"):
        render_sample(PathfinderConfig(path_length=3, window=64), seed=0, index=0)


def test_determinism_serial_equals_parallel_and_shapes(tmp_path) -> None:
    cfg = small(5)
    serial = generate_pathfinder(cfg, num_samples=12, seed=7, workers=1, chunk_size=5)
    again = generate_pathfinder(cfg, num_samples=12, seed=7, workers=1, chunk_size=12)
    parallel = generate_pathfinder(cfg, num_samples=12, seed=7, workers=2, chunk_size=5)
    other = generate_pathfinder(cfg, num_samples=12, seed=8, workers=1)
    assert serial.images.shape == (12, 32, 32) and serial.images.dtype == np.uint8
    assert serial.labels.shape == (12,) and serial.labels.dtype == np.uint8
    for data in (again, parallel):
        assert data.images.tobytes() == serial.images.tobytes()
        assert np.array_equal(data.labels, serial.labels) and np.array_equal(data.markers, serial.markers)
    assert other.images.tobytes() != serial.images.tobytes()
    path = tmp_path / "pf.npz"
    serial.save(path)
    loaded = PathfinderData.load(path)
    assert loaded.images.tobytes() == serial.images.tobytes() and loaded.meta["path_length"] == 5
    assert not list(tmp_path.glob(".*.tmp"))


def test_label_balance() -> None:
    labels = [render_sample(small(3), seed=11, index=i).label for i in range(200)]
    assert abs(np.mean(labels) - 0.5) < 0.1  # 200 fair coins: sd 0.035
