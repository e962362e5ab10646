"""Pathfinder images (Linsley et al. 2018), following their generator as P2's code adapts it (spec 2.3).

Each image holds two *target* snakes of ``path_length`` paddles, ``90 / L`` distractor snakes of
``int(L / 3)`` paddles and two circle markers at target-snake ends. Label 1: both markers sit on the
two ends of one target snake; label 0: one marker on each target snake.

A snake is a chain of separate paddles (short bars) with gaps. Past a paddle's far end the path runs on
``paddle_margin`` to a pivot, turns there, and the next paddle starts ``paddle_margin`` beyond it, so
pivots lie ``paddle_length + 2 * paddle_margin`` apart and consecutive paddles about ``2 * paddle_margin``
apart. The turn is drawn among a grid of headings, one per pixel of arc at the paddle's reach, with
weight cos^2(min(continuity * |turn|, pi / 2)), restricted to headings whose paddle keeps clear of
everything drawn before. Geometry is given in the original's 300 px units and scaled to ``window``;
sizes a pixel grid could not show are clamped.

Departures, made so that the label is exactly checkable from the pixels:

- different snakes keep an edge gap of at least ``snake_gap``, strictly more than the gap inside a snake
  (the original lets them come about as close as a snake's own gaps), so joining lit pixels across gaps
  up to the in-snake gap joins each snake's paddles and never two snakes;
- both target snakes and all four of their ends are placed identically for both labels (the second
  snake starts as far from the first's start as the first's other end), so only which end is marked
  carries the label and the marker distance is no shortcut;
- a pixel's value is the share of its ``antialias`` x ``antialias`` sub-samples inside a shape (box
  filtering, where the original downsamples with Lanczos, whose ringing leaves faint specks), so every
  lit pixel lies within a known distance of a drawn shape.
"""

from __future__ import annotations

import json
import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from impreg.data.synthetic import read_npz
from impreg.io import DataFileError, atomic_path

REFERENCE_WINDOW = 300  # the pixel units of the geometry defaults below
PATH_LENGTHS = (3, 5, 7, 9)
# Extra px beyond the least distance at which two shapes' lit pixels could be 8-adjacent.
_ADJACENCY_SLACK = 0.25
# Extra px between the farthest in-snake pixel gap and the nearest pixels of two snakes.
_SNAKE_GAP_SLACK = 0.5
_START_TRIES = 16  # candidate starts drawn at once per snake


@dataclass
class PathfinderConfig:
    """Generator settings; lengths in 300 px units (the original's geometry) unless noted."""

    path_length: int = 9  # paddles per target snake (L)
    window: int = 300  # raw canvas side, px
    output_size: int = 150  # side after resizing, px
    padding: float = 22.0  # no paddle end or marker centre closer than this to the border
    start_border: float = (
        54.0  # the first target snake starts this far inside (the original: 2 x seed distance)
    )
    paddle_length: float = 5.0
    paddle_thickness: float = 2.0
    paddle_margin: float = (
        3.0  # path from a paddle's end to the next pivot: in-snake gaps are about twice this
    )
    snake_gap: float = 9.5  # least edge gap between different snakes (> 2 x paddle_margin)
    continuity: float = 1.8  # turn weight cos^2(min(continuity * |turn|, pi / 2))
    marker_radius: float = 3.0
    antialias: int = 2  # sub-samples per pixel side (1: none)
    contrast: float = 1.0  # paddle intensity; markers are drawn at 1
    num_distractors: int | None = None  # None: 90 / L, scaled by the canvas area in paddle units
    geometry_scale: float | None = (
        None  # px per 300 px unit; None: window / 300 (the original's look)
    )
    max_attempts: int = 200  # whole-layout resamples before giving up

    def __post_init__(self) -> None:
        if self.path_length < 1:
            raise ValueError(f"path_length must be >= 1, got {self.path_length}")
        if self.window < 16 or self.output_size < 1:
            raise ValueError(
                f"window ({self.window}) must be >= 16 and output_size ({self.output_size}) >= 1"
            )
        if (
            isinstance(self.antialias, bool)
            or int(self.antialias) != self.antialias
            or self.antialias < 1
        ):
            raise ValueError(
                f"antialias must be an integer >= 1 (sub-samples per pixel side), got {self.antialias!r}"
            )
        if self.paddle_length <= 0 or self.paddle_thickness <= 0:
            raise ValueError(
                f"paddle_length ({self.paddle_length}) and paddle_thickness ({self.paddle_thickness}) "
                "must be > 0"
            )
        if not 0 < self.contrast <= 1 or self.continuity <= 0:
            raise ValueError(
                f"contrast ({self.contrast}) must be in (0, 1] and continuity ({self.continuity}) > 0"
            )

    @property
    def scale(self) -> float:
        return (
            self.geometry_scale
            if self.geometry_scale is not None
            else self.window / REFERENCE_WINDOW
        )

    @property
    def distractor_paddles(self) -> int:
        return max(1, self.path_length // 3)

    @property
    def distractor_count(self) -> int:
        if self.num_distractors is not None:
            return self.num_distractors
        # 90 / L on the original's canvas; a canvas that holds more (or fewer) paddles gets more (fewer).
        area = (self.window / (REFERENCE_WINDOW * self.scale)) ** 2
        return max(1, round(90 / self.path_length * area))


def _segment_distances(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Distances between segments ``a``-``b`` and ``c``-``d`` (broadcast over leading axes; 0 where they cross)."""
    dist = np.minimum.reduce(
        [
            _point_segment_distance(a, c, d),
            _point_segment_distance(b, c, d),
            _point_segment_distance(c, a, b),
            _point_segment_distance(d, a, b),
        ]
    )

    def cross(o: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
        return (p[..., 0] - o[..., 0]) * (q[..., 1] - o[..., 1]) - (p[..., 1] - o[..., 1]) * (
            q[..., 0] - o[..., 0]
        )

    crosses = (cross(a, b, c) * cross(a, b, d) < 0) & (cross(c, d, a) * cross(c, d, b) < 0)
    return np.where(crosses, 0.0, dist)


def _point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from points ``p`` to segments ``a``-``b`` (broadcast over leading axes, last axis 2)."""
    ab_r, ab_c = b[..., 0] - a[..., 0], b[..., 1] - a[..., 1]
    ap_r, ap_c = p[..., 0] - a[..., 0], p[..., 1] - a[..., 1]
    t = np.clip(
        (ap_r * ab_r + ap_c * ab_c) / np.maximum(ab_r * ab_r + ab_c * ab_c, 1e-12), 0.0, 1.0
    )
    return np.hypot(ap_r - t * ab_r, ap_c - t * ab_c)


def _unit(theta: np.ndarray | float) -> np.ndarray:
    """Unit vectors (row, col) of headings ``theta`` (0: along +col, pi / 2: along +row)."""
    return np.stack([np.sin(theta), np.cos(theta)], axis=-1)


def _rectangle_gap(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, half: float
) -> float:
    """Least distance between two disjoint bars of half-width ``half`` on centre lines a-b and c-d."""

    def corners(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        n = (q - p)[::-1] * np.array([-1.0, 1.0]) / np.linalg.norm(q - p) * half
        return np.array([p + n, q + n, q - n, p - n])

    e, f = corners(a, b), corners(c, d)
    return float(
        np.min(
            _segment_distances(
                e[:, None], np.roll(e, -1, 0)[:, None], f[None], np.roll(f, -1, 0)[None]
            )
        )
    )


@dataclass(frozen=True)
class PixelGeometry:
    """The generator's sizes in window pixels, after the clamps that keep gaps visible and snakes apart."""

    length: float  # paddle length
    thickness: float
    margin: float  # in-snake gaps are 2 * margin straight on, a little less at a turn
    snake_gap: float  # least edge gap between different snakes
    marker_radius: float
    antialias: int  # sub-samples per pixel side
    spill: float  # farthest a lit pixel's centre lies from a drawn shape
    low: float  # allowed paddle-end and marker coordinates: [low, high]
    high: float
    start_low: float  # where the first target snake may start: [start_low, start_high]
    start_high: float
    continuity: float
    turn_step: float  # radians between candidate headings
    max_turn: float  # turns of at least this much have weight 0

    @classmethod
    def from_config(cls, cfg: PathfinderConfig) -> PixelGeometry:
        s = cfg.scale
        if cfg.paddle_length * s < 2.0:
            raise ValueError(
                f"paddles of {cfg.paddle_length * s:.2f} px are too short to show apart from their gaps "
                f"(scale {s:.3f}); raise geometry_scale or the window"
            )
        thickness = max(cfg.paddle_thickness * s, 1.0)
        length = max(cfg.paddle_length * s, thickness)
        radius = max(cfg.marker_radius * s, 1.5 * thickness)
        a = cfg.antialias
        # a sub-sample is at most (a - 1) / 2a px per axis from its pixel centre
        spill = math.sqrt(2) * (a - 1) / (2 * a)
        # Two shapes whose lit pixels could be 8-adjacent are within sqrt(2) + 2 * spill of each other.
        apart = math.sqrt(2) + 2 * spill + _ADJACENCY_SLACK
        max_turn = math.pi / (2 * cfg.continuity)
        margin = cfg.paddle_margin * s

        def shows(m: float) -> bool:
            return _least_in_snake_gap(length, thickness, m, radius, max_turn) >= apart

        if not shows(
            margin
        ):  # widen the margin (to 0.01 px) until every in-snake gap is a real pixel gap
            lo, hi = margin, margin + apart + thickness
            while hi - lo > 0.01:
                lo, hi = (lo, (lo + hi) / 2) if shows((lo + hi) / 2) else ((lo + hi) / 2, hi)
            margin = hi
        low = max(cfg.padding * s, radius + spill + 1.0)
        high = cfg.window - 1 - low
        if high - low < 4 * (length + 2 * margin):
            raise ValueError(
                f"window {cfg.window} leaves no room for snakes (padding {low:.1f} px)"
            )
        start_low = min(max(cfg.start_border * s, low), 0.4 * (cfg.window - 1))
        # Lit pixels of two snakes are at least snake_gap - 2 * spill apart; keep that above the farthest
        # in-snake pixel gap, so that some gap length separates every snake from every other.
        least_gap = _bridge(margin, a, spill) + 2 * spill + _SNAKE_GAP_SLACK
        return cls(
            length=length,
            thickness=thickness,
            margin=margin,
            snake_gap=max(cfg.snake_gap * s, least_gap),
            marker_radius=radius,
            antialias=a,
            spill=spill,
            low=low,
            high=high,
            start_low=start_low,
            start_high=cfg.window - 1 - start_low,
            # one candidate per pixel of arc at the paddle's reach, in the original's units at any scale
            continuity=cfg.continuity,
            turn_step=1.0 / (cfg.paddle_length + cfg.paddle_margin),
            max_turn=max_turn,
        )

    @property
    def bridge(self) -> float:
        """Lit pixels of consecutive paddles of a snake are at most this far apart (centre to centre); lit
        pixels of different snakes are farther apart."""
        return _bridge(self.margin, self.antialias, self.spill)

    @property
    def own_clearance(self) -> float:
        """Least centre-line distance between non-consecutive paddles of one snake (its own gap)."""
        return self.thickness + 2 * self.margin

    @property
    def clearance(self) -> float:
        """Least centre-line distance between paddles of different snakes."""
        return self.thickness + self.snake_gap


def _bridge(margin: float, antialias: int, spill: float) -> float:
    """Farthest apart the nearest lit pixels of two consecutive paddles can be: their end faces are at most
    2 * margin apart, a sub-sample lies within sqrt(2) / antialias of any point of a bar at least a pixel
    thick, and a lit pixel's centre within ``spill`` of its sub-samples."""
    return 2 * margin + 2 * (math.sqrt(2) / antialias + spill)


def _least_in_snake_gap(
    length: float, thickness: float, margin: float, radius: float, max_turn: float
) -> float:
    """Least edge gap between consecutive paddles, and between an end marker and the next paddle, over turns."""
    gaps = []
    for turn in np.linspace(0.0, max_turn, 7):
        pivot = np.array([0.0, length + margin])
        v = _unit(turn)
        c, d = pivot + margin * v, pivot + (length + margin) * v
        gaps.append(_rectangle_gap(np.zeros(2), np.array([0.0, length]), c, d, thickness / 2))
        gaps.append(float(_point_segment_distance(np.zeros(2), c, d)) - thickness / 2 - radius)
    return min(gaps)


def geometry(cfg: PathfinderConfig) -> PixelGeometry:
    """The pixel sizes ``cfg`` draws with (raises ValueError when they cannot show on its window)."""
    return PixelGeometry.from_config(cfg)


@dataclass
class PathfinderSample:
    """One raw (window-size, unresized) image with the ground truth used to test it."""

    image: np.ndarray  # (window, window) uint8
    label: int  # 1: both markers on one snake
    markers: np.ndarray  # (2, 2) float marker centres, (row, col) px
    # per snake, its paddles' end points (paddles, 2, 2); 0 and 1 are the targets
    snakes: list[np.ndarray]
    # (window, window) int16: 0 background, k + 1 for snakes[k] (markers included)
    snake_ids: np.ndarray


class _Layout:
    """Paddles and target end discs placed so far, as obstacles for the next ones."""

    def __init__(self, geo: PixelGeometry, capacity: int) -> None:
        self.geo = geo
        self.snakes: list[np.ndarray] = []
        self.seg = np.empty((capacity, 2, 2))  # paddle centre lines
        self.seg_lo = np.empty((capacity, 2))  # their bounding boxes
        self.seg_hi = np.empty((capacity, 2))
        self.count = 0
        self.discs: list[np.ndarray] = []  # end discs of finished target snakes

    def _clear_of_others(self, a: np.ndarray, b: np.ndarray, disc: bool) -> np.ndarray:
        """Which candidate segments ``a``-``b`` (shape (K, 2)) keep ``snake_gap`` from every placed snake;
        ``disc``: the candidates are points carrying a marker disc (a = b)."""
        geo = self.geo
        reach = geo.marker_radius - geo.thickness / 2 if disc else 0.0  # a disc is wider than a bar
        ok = np.all((a >= geo.low) & (a <= geo.high) & (b >= geo.low) & (b <= geo.high), axis=-1)
        if self.count:
            # Only paddles whose boxes come within the clearance of the candidates' box can be too near.
            need = geo.clearance + reach
            lo, hi = np.minimum(a, b).min(axis=0) - need, np.maximum(a, b).max(axis=0) + need
            near = np.all(
                (self.seg_hi[: self.count] >= lo) & (self.seg_lo[: self.count] <= hi), axis=1
            )
            if near.any():
                seg = self.seg[: self.count][near]
                d = _segment_distances(a[:, None], b[:, None], seg[None, :, 0], seg[None, :, 1])
                ok &= np.all(d >= need, axis=1)
        if self.discs:
            discs = np.array(self.discs)
            d = _point_segment_distance(discs[None], a[:, None], b[:, None])
            ok &= np.all(d >= geo.clearance + reach + geo.marker_radius - geo.thickness / 2, axis=1)
        return ok

    def _clear_of_own(
        self, a: np.ndarray, b: np.ndarray, own: list[np.ndarray], start_disc: bool
    ) -> np.ndarray:
        """Which candidates keep the snake's own gap from its paddles before the previous one (and its start disc)."""
        geo = self.geo
        ok = np.ones(len(a), bool)
        if len(own) > 1:
            seg = np.array(own[:-1])
            d = _segment_distances(a[:, None], b[:, None], seg[None, :, 0], seg[None, :, 1])
            ok &= np.all(d >= geo.own_clearance, axis=1)
            if start_disc:
                d = _point_segment_distance(own[0][0], a, b)
                ok &= d >= geo.own_clearance + geo.marker_radius - geo.thickness / 2
        return ok

    def _extend(
        self,
        own: list[np.ndarray],
        heading: float,
        num_paddles: int,
        rng: np.random.Generator,
        start_disc: bool,
    ) -> bool:
        """Add paddles to ``own`` until it has ``num_paddles``; False at a dead end."""
        geo = self.geo
        while len(own) < num_paddles:
            pivot = own[-1][1] + geo.margin * _unit(heading)
            j = math.ceil(geo.max_turn / geo.turn_step) + 1
            turns = (
                np.arange(-j, j + 1) + rng.random()
            ) * geo.turn_step  # a random phase: no preferred heading
            weight = np.cos(np.minimum(geo.continuity * np.abs(turns), math.pi / 2)) ** 2
            keep = weight > 1e-9
            turns, weight = turns[keep], weight[keep]
            v = _unit(heading + turns)
            a, b = pivot + geo.margin * v, pivot + (geo.margin + geo.length) * v
            weight = weight * (
                self._clear_of_others(a, b, disc=False) & self._clear_of_own(a, b, own, start_disc)
            )
            total = weight.sum()
            if total <= 0:
                return False
            k = min(
                int(np.searchsorted(np.cumsum(weight), rng.random() * total, side="right")),
                len(weight) - 1,
            )
            own.append(np.stack([a[k], b[k]]))
            heading += float(turns[k])
        return True

    def grow(
        self,
        starts: np.ndarray,
        headings: np.ndarray,
        num_paddles: int,
        rng: np.random.Generator,
        target: bool,
    ) -> np.ndarray | None:
        """The first of the candidate starts that grows into a snake clear of everything placed; None if none.
        A target snake carries marker discs at both ends, which must keep clear too."""
        geo = self.geo
        firsts = starts + geo.length * _unit(headings)
        ok = self._clear_of_others(starts, firsts, disc=False)
        if target:
            ok &= self._clear_of_others(starts, starts, disc=True)
        for i in np.flatnonzero(ok):
            own = [np.stack([starts[i], firsts[i]])]
            if not self._extend(own, float(headings[i]), num_paddles, rng, start_disc=target):
                continue
            snake = np.array(own)
            if target:
                end = snake[-1, 1][None]
                if not self._clear_of_others(end, end, disc=True)[
                    0
                ] or not self._end_disc_clear_of_own(snake):
                    continue
            self._add(snake, target)
            return snake
        return None

    def _end_disc_clear_of_own(self, snake: np.ndarray) -> bool:
        if len(snake) < 3:
            return True
        geo = self.geo
        d = _point_segment_distance(snake[-1, 1], snake[:-2, 0], snake[:-2, 1])
        return bool(np.all(d >= geo.own_clearance + geo.marker_radius - geo.thickness / 2))

    def _add(self, snake: np.ndarray, target: bool) -> None:
        n = len(snake)
        self.seg[self.count : self.count + n] = snake
        self.seg_lo[self.count : self.count + n] = snake.min(axis=1)
        self.seg_hi[self.count : self.count + n] = snake.max(axis=1)
        self.count += n
        self.snakes.append(snake)
        if target:
            self.discs.extend([snake[0, 0], snake[-1, 1]])


def _place(cfg: PathfinderConfig, geo: PixelGeometry, rng: np.random.Generator) -> _Layout | None:
    """One layout attempt: two target snakes, then the distractors; None if anything fails to fit."""
    L, n = cfg.path_length, _START_TRIES
    layout = _Layout(geo, 2 * L + cfg.distractor_count * cfg.distractor_paddles)
    first = layout.grow(
        rng.uniform(geo.start_low, geo.start_high, (n, 2)),
        rng.uniform(-math.pi, math.pi, n),
        L,
        rng,
        target=True,
    )
    if first is None:
        return None
    # The second target snake starts at the first's end-to-end distance from the first's start, so
    # both labels see the same marker distance.
    reach = float(np.linalg.norm(first[-1, 1] - first[0, 0]))
    starts = first[0, 0] + reach * _unit(rng.uniform(-math.pi, math.pi, 4 * n))
    if layout.grow(starts, rng.uniform(-math.pi, math.pi, 4 * n), L, rng, target=True) is None:
        return None
    for _ in range(cfg.distractor_count):
        for _ in range(4):
            snake = layout.grow(
                rng.uniform(geo.low, geo.high, (n, 2)),
                rng.uniform(-math.pi, math.pi, n),
                cfg.distractor_paddles,
                rng,
                target=False,
            )
            if snake is not None:
                break
        else:
            return None
    return layout


def _render(
    layout: _Layout,
    markers: np.ndarray,
    marker_owner: tuple[int, int],
    cfg: PathfinderConfig,
    geo: PixelGeometry,
) -> tuple[np.ndarray, np.ndarray]:
    """Intensity (float in [0, 1]) and snake-id maps: each pixel is the share of its sub-samples in a shape."""
    a, w = cfg.antialias, cfg.window
    fine = w * a
    strokes = np.zeros((fine, fine), bool)
    dots = np.zeros((fine, fine), bool)
    owners = np.zeros((fine, fine), np.int16)
    half = geo.thickness / 2

    def window_of(lo: np.ndarray, hi: np.ndarray) -> tuple[slice, slice, np.ndarray]:
        """Sub-sample index box around [lo, hi] and the sub-samples' window coordinates."""
        j0 = np.maximum(np.floor((lo + 0.5) * a - 0.5).astype(int), 0)
        j1 = np.minimum(np.ceil((hi + 0.5) * a - 0.5).astype(int) + 1, fine)
        rows, cols = np.mgrid[j0[0] : j1[0], j0[1] : j1[1]]
        pts = (np.stack([rows, cols], axis=-1) + 0.5) / a - 0.5
        return slice(j0[0], j1[0]), slice(j0[1], j1[1]), pts

    for k, snake in enumerate(layout.snakes):
        for p, q in snake:  # a bar with square ends, as the original's line drawing gives
            rs, cs, pts = window_of(np.minimum(p, q) - half, np.maximum(p, q) + half)
            u = (q - p) / np.linalg.norm(q - p)
            rel = pts - p
            along = rel @ u
            inside = (
                (along >= 0)
                & (along <= geo.length)
                & (np.abs(rel @ np.array([-u[1], u[0]])) <= half)
            )
            strokes[rs, cs] |= inside
            owners[rs, cs][inside] = k + 1
    for centre, owner in zip(markers, marker_owner, strict=True):
        rs, cs, pts = window_of(centre - geo.marker_radius, centre + geo.marker_radius)
        inside = np.sum((pts - centre) ** 2, axis=-1) <= geo.marker_radius**2
        dots[rs, cs] |= inside
        owners[rs, cs][inside] = owner + 1

    def pool(x: np.ndarray) -> np.ndarray:
        return x.reshape(w, a, w, a).mean(axis=(1, 3), dtype=np.float32)

    canvas = np.maximum(pool(strokes) * cfg.contrast, pool(dots))
    # snakes never share a pixel: the max is the owner
    ids = owners.reshape(w, a, w, a).max(axis=(1, 3))
    return canvas, ids


def image_rng(seed: int, index: int) -> np.random.Generator:
    """Each image's own stream, so any split of the indices across workers gives the same images."""
    return np.random.default_rng(np.random.SeedSequence([seed, index]))


def render_sample(
    cfg: PathfinderConfig, seed: int, index: int, geo: PixelGeometry | None = None
) -> PathfinderSample:
    """Image ``index`` of the set drawn with ``seed``, at window resolution, with its ground truth
    (``geo``: ``geometry(cfg)``, when the caller has it)."""
    geo = geometry(cfg) if geo is None else geo
    rng = image_rng(seed, index)
    label = int(rng.random() < 0.5)
    for _ in range(cfg.max_attempts):
        layout = _place(cfg, geo, rng)
        if layout is not None:
            break
    else:
        raise RuntimeError(
            f"no Pathfinder layout fitted in {cfg.max_attempts} attempts (image {index}, "
            f"L={cfg.path_length}, window {cfg.window}); lower num_distractors or enlarge the window"
        )
    first, second = layout.snakes[0], layout.snakes[1]
    # Markers on the outer ends of the end paddles: one target's two ends, or the two targets' starts.
    markers, owners = (
        ((first[0, 0], first[-1, 1]), (0, 0)) if label else ((first[0, 0], second[0, 0]), (0, 1))
    )
    markers = np.array(markers)
    canvas, ids = _render(layout, markers, owners, cfg, geo)
    image = np.clip(np.rint(canvas * 255), 0, 255).astype(np.uint8)
    return PathfinderSample(
        image=image, label=label, markers=markers, snakes=layout.snakes, snake_ids=ids
    )


def resize(image: np.ndarray, size: int) -> np.ndarray:
    """Bilinear, area-aware downscale (PIL's, which torchvision's ``Resize`` uses on PIL images)."""
    if image.shape[0] == size:
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR))


def _generate_range(
    cfg: PathfinderConfig, seed: int, start: int, stop: int
) -> tuple[np.ndarray, ...]:
    n = stop - start
    images = np.empty((n, cfg.output_size, cfg.output_size), np.uint8)
    labels = np.empty(n, np.uint8)
    markers = np.empty((n, 2, 2), np.float32)
    geo = geometry(cfg)
    for i in range(n):
        sample = render_sample(cfg, seed, start + i, geo)
        images[i] = resize(sample.image, cfg.output_size)
        labels[i] = sample.label
        markers[i] = sample.markers
    return images, labels, markers


@dataclass
class PathfinderData:
    """Resized images, labels and the marker centres (in raw window pixels) of one generated set."""

    images: np.ndarray  # (N, S, S) uint8
    labels: np.ndarray  # (N,) uint8
    markers: np.ndarray  # (N, 2, 2) float32, (row, col) in the raw window
    meta: dict[str, Any] = field(default_factory=dict)

    def save(self, path: str | Path) -> None:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(
                    fh,
                    images=self.images,
                    labels=self.labels,
                    markers=self.markers,
                    meta=np.array(json.dumps(self.meta)),
                )

    @classmethod
    def load(cls, path: str | Path) -> PathfinderData:
        data = read_npz(
            path,
            "Pathfinder",
            lambda z: cls(
                images=z["images"],
                labels=z["labels"],
                markers=z["markers"],
                meta=json.loads(str(z["meta"])),
            ),
        )
        if (
            data.images.ndim != 3
            or len(data.images) != len(data.labels)
            or data.images.dtype != np.uint8
        ):
            raise DataFileError(
                f"{path} is inconsistent: images {data.images.shape} {data.images.dtype}, "
                f"{len(data.labels)} labels"
            )
        return data


def generate_pathfinder(
    cfg: PathfinderConfig, num_samples: int, seed: int, workers: int = 1, chunk_size: int = 256
) -> PathfinderData:
    """``num_samples`` images, split into chunks over ``workers`` processes (same result for any split)."""
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    geometry(cfg)  # refuse a geometry the window cannot show before starting any worker
    bounds = [(i, min(i + chunk_size, num_samples)) for i in range(0, num_samples, chunk_size)]
    if workers <= 1 or len(bounds) == 1:
        parts = [_generate_range(cfg, seed, a, b) for a, b in bounds]
    else:
        # spawn: workers must not inherit a parent's threads (torch, a CUDA context) through fork.
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            parts = list(
                pool.map(
                    _generate_range,
                    [cfg] * len(bounds),
                    [seed] * len(bounds),
                    *zip(*bounds, strict=True),
                )
            )
    images, labels, markers = (np.concatenate(x) for x in zip(*parts, strict=True))
    meta = dict(kind="pathfinder", seed=seed, num_samples=num_samples, **asdict(cfg))
    return PathfinderData(images=images, labels=labels, markers=markers, meta=meta)
