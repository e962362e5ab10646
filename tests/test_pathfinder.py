"""Pathfinder generator: labels checked against the pixels, not against the generator's own state."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from impreg.data.pathfinder import (
    PathfinderConfig,
    PathfinderData,
    generate_pathfinder,
    geometry,
    render_sample,
)

EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def small(path_length: int, **kw) -> PathfinderConfig:
    kw = dict(window=64 if path_length < 5 else 96, output_size=32, geometry_scale=0.5) | kw
    return PathfinderConfig(path_length=path_length, **kw)


def pieces(image: np.ndarray) -> np.ndarray:
    """8-connected components of the lit pixels (0: background)."""
    return ndimage.label(image > 0, structure=EIGHT_CONNECTED)[0]


def bridged(image: np.ndarray, max_gap: float) -> np.ndarray:
    """Components of the lit pixels after joining every two whose centres are at most ``max_gap`` apart."""
    pts = np.argwhere(image > 0)
    pairs = cKDTree(pts).query_pairs(max_gap, output_type="ndarray")
    graph = coo_matrix(
        (np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(pts), len(pts))
    )
    labels = connected_components(graph, directed=False)[1]
    out = np.zeros(image.shape, np.int64)
    out[pts[:, 0], pts[:, 1]] = labels + 1
    return out


def at_markers(components: np.ndarray, markers: np.ndarray) -> tuple[int, int]:
    (r0, c0), (r1, c1) = np.rint(markers).astype(int)
    return int(components[r0, c0]), int(components[r1, c1])


def check_pixels(cfg: PathfinderConfig, seed: int, count: int) -> None:
    """Bridging the in-snake gaps gives one component per snake, and the label is whether the markers share
    one; the gaps between snakes are wider still; raw 8-connectivity gives one piece per paddle."""
    geo = geometry(cfg)
    snakes = 2 + cfg.distractor_count
    paddles = 2 * cfg.path_length + cfg.distractor_count * cfg.distractor_paddles
    for index in range(count):
        s = render_sample(cfg, seed=seed, index=index)
        joined = bridged(s.image, geo.bridge)
        a, b = at_markers(joined, s.markers)
        assert a > 0 and b > 0, "a marker centre is not on a lit pixel"
        assert joined.max() == snakes, (
            f"image {index}: {joined.max()} bridged components for {snakes} snakes"
        )
        assert (a == b) == bool(s.label), (
            f"image {index}: label {s.label}, bridged components {a}, {b}"
        )
        # No two snakes come within the gap they keep (less what sub-sampling may spill).
        assert bridged(s.image, geo.snake_gap - 2 * geo.spill - 1e-6).max() == snakes
        raw = pieces(s.image)
        assert raw.max() == paddles, (
            f"image {index}: {raw.max()} 8-connected pieces for {paddles} paddles"
        )
        if s.label and cfg.path_length > 1:
            p, q = at_markers(raw, s.markers)
            assert p != q, f"image {index}: plain 8-connectivity joins a positive's markers"


@pytest.mark.parametrize("antialias", [1, 2])
@pytest.mark.parametrize("path_length", [3, 9])
def test_label_matches_bridged_connectivity(path_length: int, antialias: int) -> None:
    check_pixels(small(path_length, antialias=antialias), seed=3, count=12)


def test_label_matches_connectivity_at_paper_geometry() -> None:
    # 300 px window, the original's sizes
    check_pixels(PathfinderConfig(path_length=9), seed=0, count=3)


def test_label_matches_connectivity_at_128_px() -> None:
    check_pixels(PathfinderConfig(path_length=9, window=128, output_size=64), seed=5, count=4)


def test_in_snake_gap_is_narrower_than_the_gap_between_snakes() -> None:
    for cfg in (PathfinderConfig(), small(3), small(9, antialias=1), PathfinderConfig(window=128)):
        geo = geometry(cfg)
        assert geo.bridge < geo.snake_gap - 2 * geo.spill
    assert (
        geometry(PathfinderConfig()).margin == 3.0 and geometry(PathfinderConfig()).snake_gap == 9.5
    )


def test_id_map_agrees_with_pixels() -> None:
    cfg = small(5)
    s = render_sample(cfg, seed=1, index=0)
    joined = bridged(s.image, geometry(cfg).bridge)
    assert np.array_equal(s.image > 0, s.snake_ids > 0)
    for k in range(len(s.snakes)):
        assert len(np.unique(joined[s.snake_ids == k + 1])) == 1


@pytest.mark.parametrize("path_length", [3, 5, 7, 9])
def test_paddles_chain_with_gaps_and_bounded_turns(path_length: int) -> None:
    cfg = small(path_length)
    geo = geometry(cfg)
    s = render_sample(cfg, seed=2, index=5)
    assert [len(p) for p in s.snakes[:2]] == [path_length, path_length]
    assert all(len(p) == cfg.distractor_paddles for p in s.snakes[2:])
    assert len(s.snakes) == 2 + cfg.distractor_count
    for paddles in s.snakes:
        heading = np.arctan2(*(paddles[:, 1] - paddles[:, 0]).T)
        assert np.allclose(np.linalg.norm(paddles[:, 1] - paddles[:, 0], axis=1), geo.length)
        turn = np.angle(np.exp(1j * np.diff(heading)))
        assert np.all(np.abs(turn) < geo.max_turn)
        # The next paddle starts a margin past the pivot, which lies a margin past the last paddle's end.
        pivots = paddles[:-1, 1] + geo.margin * np.stack(
            [np.sin(heading[:-1]), np.cos(heading[:-1])], axis=1
        )
        assert np.allclose(np.linalg.norm(paddles[1:, 0] - pivots, axis=1), geo.margin)


def test_markers_at_snake_ends_at_the_same_distance_for_both_labels() -> None:
    for index in range(6):
        s = render_sample(small(7), seed=4, index=index)
        first, second = s.snakes[0], s.snakes[1]
        expected = first[-1, 1] if s.label else second[0, 0]
        assert np.allclose(s.markers[0], first[0, 0]) and np.allclose(s.markers[1], expected)
        reach = np.linalg.norm(first[-1, 1] - first[0, 0])
        assert math.isclose(np.linalg.norm(second[0, 0] - first[0, 0]), reach)


def test_distractor_count_follows_original_at_full_scale() -> None:
    assert [PathfinderConfig(path_length=L).distractor_count for L in (3, 5, 7, 9)] == [
        30,
        18,
        13,
        10,
    ]
    assert [PathfinderConfig(path_length=L).distractor_paddles for L in (3, 5, 7, 9)] == [
        1,
        1,
        2,
        3,
    ]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="too short"):
        render_sample(PathfinderConfig(path_length=3, window=64), seed=0, index=0)
    with pytest.raises(ValueError, match="antialias"):
        PathfinderConfig(antialias=True)


def test_determinism_serial_equals_parallel_and_shapes(tmp_path) -> None:
    cfg = small(3)
    serial = generate_pathfinder(cfg, num_samples=12, seed=7, workers=1, chunk_size=5)
    again = generate_pathfinder(cfg, num_samples=12, seed=7, workers=1, chunk_size=12)
    parallel = generate_pathfinder(cfg, num_samples=12, seed=7, workers=2, chunk_size=5)
    other = generate_pathfinder(cfg, num_samples=12, seed=8, workers=1)
    assert serial.images.shape == (12, 32, 32) and serial.images.dtype == np.uint8
    assert serial.labels.shape == (12,) and serial.labels.dtype == np.uint8
    for data in (again, parallel):
        assert data.images.tobytes() == serial.images.tobytes()
        assert np.array_equal(data.labels, serial.labels) and np.array_equal(
            data.markers, serial.markers
        )
    assert other.images.tobytes() != serial.images.tobytes()
    path = tmp_path / "pf.npz"
    serial.save(path)
    loaded = PathfinderData.load(path)
    assert loaded.images.tobytes() == serial.images.tobytes() and loaded.meta["path_length"] == 3
    assert not list(tmp_path.glob(".*.tmp"))


def test_label_balance() -> None:
    labels = [
        render_sample(small(3, num_distractors=0), seed=11, index=i).label for i in range(200)
    ]
    assert abs(np.mean(labels) - 0.5) < 0.1  # 200 fair coins: sd 0.035
