"""Pathfinder images (Linsley et al. 2018), written from the paper's description (spec 2.3).

Each image holds two *target* snakes of ``path_length`` paddles, short distractor snakes and two
circle markers at snake ends. Label 1: both markers sit on the two ends of one target snake;
label 0: one marker on each target snake. Geometry is given in the paper's 300 px units and
scaled to ``window``; sizes that would fall below what a pixel grid can show are clamped.

Departures from the original generator, made so that the label is exactly checkable from pixels:
paddles of one snake are drawn joined (a polyline, no dashes), and ``paddle_margin`` is the least
gap between *different* snakes, enforced with enough slack that their rendered pixels are never
8-adjacent. Both target snakes and all four of their end discs are placed identically for both
labels (the second snake starts as far from the first marker as the first snake's other end), so
only the choice of the marked end carries the label: the marker distance is no shortcut.
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
# Two pixel sets whose centres are more than sqrt(2) apart are never 8-adjacent.
_SEPARATION_SLACK = 1.5


@dataclass
class PathfinderConfig:
    """Generator settings; lengths in 300 px units (the paper's geometry) unless noted."""

    path_length: int = 9  # paddles per target snake (L)
    window: int = 300  # raw canvas side, px
    output_size: int = 150  # side after resizing, px
    padding: float = 22.0  # no snake vertex closer than this to the border
    paddle_length: float = 5.0
    paddle_thickness: float = 2.0
    paddle_margin: float = 3.0  # least gap between the strokes of different snakes
    marker_radius: float = 3.0
    max_turn_deg: float = 45.0  # bound on the heading change between consecutive paddles
    antialias: bool = True
    contrast: float = 1.0  # stroke intensity, 1 = white on black
    num_distractors: int | None = None  # None: 90 / L, scaled by the canvas area in paddle units
    geometry_scale: float | None = None  # px per 300 px unit; None: window / 300 (the paper's look)
    max_attempts: int = 500  # whole-layout resamples before giving up

    def __post_init__(self) -> None:
        if self.path_length < 1:
            raise ValueError(f"path_length must be >= 1, got {self.path_length}")
        if self.window < 16 or self.output_size < 1:
            raise ValueError(f"window ({self.window}) must be >= 16 and output_size ({self.output_size}) >= 1")

    @property
    def scale(self) -> float:
        return self.geometry_scale if self.geometry_scale is not None else self.window / REFERENCE_WINDOW

    @property
    def distractor_paddles(self) -> int:
        return max(1, self.path_length // 3)

    @property
    def distractor_count(self) -> int:
        if self.num_distractors is not None:
            return self.num_distractors
        # 90 / L on the paper's canvas; a canvas that holds more (or fewer) paddles gets more (fewer).
        area = (self.window / (REFERENCE_WINDOW * self.scale)) ** 2
        return max(1, round(90 / self.path_length * area))


@dataclass(frozen=True)
class _Geometry:
    """Pixel sizes for one window, with the clamps that keep strokes visible and separable."""

    step: float  # paddle length
    thickness: float
    marker_radius: float
    low: float  # allowed vertex coordinates: [low, high]
    high: float
    seg_seg: float  # least centre-line distance between paddles of different snakes
    seg_disc: float  # ... between a paddle and another snake's end disc
    disc_disc: float
    stroke_reach: float  # farthest a lit pixel centre lies from a centre line
    disc_reach: float
    self_skip: int  # own paddles this close along the snake are not checked for contact
    max_turn: float  # radians

    @classmethod
    def from_config(cls, cfg: PathfinderConfig) -> _Geometry:
        s = cfg.scale
        thickness = max(cfg.paddle_thickness * s, 1.0)
        step = max(cfg.paddle_length * s, thickness)
        radius = max(cfg.marker_radius * s, 1.5 * thickness)
        margin = cfg.paddle_margin * s
        # Lit iff distance < reach. With anti-aliasing the coverage ramp adds half a pixel; without
        # it, a half-width below sqrt(2)/2 could leave a thin stroke 8-disconnected.
        if cfg.antialias:
            stroke_reach, disc_reach = thickness / 2 + 0.5, radius + 0.5
        else:
            stroke_reach, disc_reach = max(thickness / 2, 0.75), max(radius, 0.75)
        seg_seg = max(thickness + margin, 2 * stroke_reach + _SEPARATION_SLACK)
        low = max(cfg.padding * s, disc_reach + 1.0)
        high = cfg.window - 1 - low
        disc_disc = max(2 * radius + margin, 2 * disc_reach + _SEPARATION_SLACK)
        if high - low < 4 * step:
            raise ValueError(f"window {cfg.window} leaves no room for snakes (padding {low:.1f} px)")
        if cfg.path_length * step < 1.2 * disc_disc:
            # A target snake's two marker discs must fit apart (with room to bend) at its two ends.
            raise ValueError(f"snakes of {cfg.path_length} paddles of {step:.2f} px are too short for markers "
                             f"{disc_disc:.2f} px apart at scale {s:.3f}; raise geometry_scale or the window")
        return cls(
            step=step, thickness=thickness, marker_radius=radius, low=low, high=high, seg_seg=seg_seg,
            seg_disc=max(thickness / 2 + radius + margin, stroke_reach + disc_reach + _SEPARATION_SLACK),
            disc_disc=disc_disc,
            stroke_reach=stroke_reach, disc_reach=disc_reach,
            self_skip=int(math.ceil(seg_seg / step)) + 1, max_turn=math.radians(cfg.max_turn_deg),
        )


@dataclass
class PathfinderSample:
    """One raw (window-size, unresized) image with the ground truth used to test it."""

    image: np.ndarray  # (window, window) uint8
    label: int  # 1: both markers on one snake
    markers: np.ndarray  # (2, 2) float marker centres, (row, col) px
    snakes: list[np.ndarray]  # vertices (paddles + 1, 2) per snake; 0 and 1 are the targets
    snake_ids: np.ndarray  # (window, window) int16: 0 background, k + 1 for snakes[k] (markers included)


def _point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from points ``p`` to segments ``a``-``b`` (all broadcast over leading axes, last axis 2)."""
    ab = b - a
    denom = np.maximum(np.sum(ab * ab, axis=-1), 1e-12)
    t = np.clip(np.sum((p - a) * ab, axis=-1) / denom, 0.0, 1.0)
    closest = a + t[..., None] * ab
    return np.sqrt(np.sum((p - closest) ** 2, axis=-1))


def _segment_distances(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Distances from segment ``a``-``b`` to each segment ``c[i]``-``d[i]`` (0 where they cross)."""
    dist = np.minimum.reduce([
        _point_segment_distance(a, c, d), _point_segment_distance(b, c, d),
        _point_segment_distance(c, a, b), _point_segment_distance(d, a, b),
    ])

    def cross(o: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
        return (p[..., 0] - o[..., 0]) * (q[..., 1] - o[..., 1]) - (p[..., 1] - o[..., 1]) * (q[..., 0] - o[..., 0])

    crosses = (cross(a, b, c) * cross(a, b, d) < 0) & (cross(c, d, a) * cross(c, d, b) < 0)
    return np.where(crosses, 0.0, dist)


class _Layout:
    """Snakes placed so far, as obstacles for the next ones."""

    def __init__(self, geo: _Geometry) -> None:
        self.geo = geo
        self.snakes: list[np.ndarray] = []
        self._seg_a: list[np.ndarray] = []
        self._seg_b: list[np.ndarray] = []
        self._discs: list[np.ndarray] = []

    def inside(self, p: np.ndarray) -> bool:
        return bool(np.all(p >= self.geo.low) and np.all(p <= self.geo.high))

    def segment_clear(self, a: np.ndarray, b: np.ndarray) -> bool:
        if self._seg_a and np.min(_segment_distances(a, b, np.array(self._seg_a), np.array(self._seg_b))) < self.geo.seg_seg:
            return False
        return not self._discs or np.min(_point_segment_distance(np.array(self._discs), a, b)) >= self.geo.seg_disc

    def disc_clear(self, c: np.ndarray) -> bool:
        if self._seg_a and np.min(_point_segment_distance(c, np.array(self._seg_a), np.array(self._seg_b))) < self.geo.seg_disc:
            return False
        return not self._discs or np.min(np.linalg.norm(np.array(self._discs) - c, axis=1)) >= self.geo.disc_disc

    def add(self, vertices: np.ndarray, end_discs: bool) -> None:
        self.snakes.append(vertices)
        self._seg_a.extend(vertices[:-1])
        self._seg_b.extend(vertices[1:])
        if end_discs:
            self._discs.extend([vertices[0], vertices[-1]])

    def grow(self, start: np.ndarray, num_paddles: int, rng: np.random.Generator, tries: int = 20) -> np.ndarray | None:
        """A snake from ``start`` with bounded turning that clears every placed snake and itself."""
        geo = self.geo
        pts = [start]
        heading = 0.0
        for k in range(num_paddles):
            for _ in range(tries):
                h = rng.uniform(0, 2 * math.pi) if k == 0 else heading + rng.uniform(-geo.max_turn, geo.max_turn)
                p = pts[-1] + geo.step * np.array([math.sin(h), math.cos(h)])
                if not self.inside(p) or not self.segment_clear(pts[-1], p):
                    continue
                # A snake must not curl back onto itself either (it would read as a loop or a fork).
                far = len(pts) - 1 - geo.self_skip
                if far > 0:
                    own = np.array(pts)
                    if np.min(_segment_distances(pts[-1], p, own[:far], own[1:far + 1])) < geo.seg_seg:
                        continue
                heading = h
                pts.append(p)
                break
            else:
                return None
        return np.array(pts)


def _random_point(geo: _Geometry, rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(geo.low, geo.high, size=2)


def _place(cfg: PathfinderConfig, geo: _Geometry, rng: np.random.Generator) -> _Layout | None:
    """One layout attempt: two target snakes, then the distractors; None if anything fails to fit."""
    layout = _Layout(geo)
    L = cfg.path_length
    start = _random_point(geo, rng)
    if (first := layout.grow(start, L, rng)) is None:
        return None
    reach = float(np.linalg.norm(first[-1] - first[0]))
    layout.add(first, end_discs=True)  # the layout was empty: its end discs are clear
    # The second target snake starts at the first's end-to-end distance from the first marker, so
    # both labels see the same marker distance.
    for _ in range(20):
        phi = rng.uniform(0, 2 * math.pi)
        b0 = first[0] + reach * np.array([math.sin(phi), math.cos(phi)])
        if layout.inside(b0) and layout.disc_clear(b0):
            break
    else:
        return None
    if (second := layout.grow(b0, L, rng)) is None or not layout.disc_clear(second[-1]):
        return None
    layout.add(second, end_discs=True)
    for _ in range(cfg.distractor_count):
        for _ in range(50):
            snake = layout.grow(_random_point(geo, rng), cfg.distractor_paddles, rng, tries=5)
            if snake is not None:
                layout.add(snake, end_discs=False)
                break
        else:
            return None
    return layout


def _render(layout: _Layout, markers: np.ndarray, marker_owner: tuple[int, int], cfg: PathfinderConfig,
            geo: _Geometry) -> tuple[np.ndarray, np.ndarray]:
    """Intensity (float in [0, 1]) and snake-id maps; a pixel is lit iff its centre is within reach."""
    w = cfg.window
    canvas = np.zeros((w, w), np.float32)
    ids = np.zeros((w, w), np.int16)

    def stamp(coverage: np.ndarray, r0: int, c0: int, owner: int) -> None:
        h, wd = coverage.shape
        view = canvas[r0:r0 + h, c0:c0 + wd]
        np.maximum(view, coverage, out=view)
        ids[r0:r0 + h, c0:c0 + wd][coverage > 0] = owner + 1

    def box(lo: np.ndarray, hi: np.ndarray, reach: float) -> tuple[int, int, np.ndarray]:
        r0, c0 = (max(int(math.floor(v - reach)), 0) for v in lo)
        r1, c1 = (min(int(math.ceil(v + reach)) + 1, w) for v in hi)
        rows, cols = np.mgrid[r0:r1, c0:c1]
        return r0, c0, np.stack([rows, cols], axis=-1).astype(np.float64)

    def coverage(dist: np.ndarray, half: float, reach: float) -> np.ndarray:
        if cfg.antialias:  # approximate pixel coverage of a shape of half-width ``half``
            return np.clip(half + 0.5 - dist, 0.0, 1.0).astype(np.float32)
        return (dist <= reach).astype(np.float32)

    for k, snake in enumerate(layout.snakes):
        for a, b in zip(snake[:-1], snake[1:], strict=True):
            r0, c0, pix = box(np.minimum(a, b), np.maximum(a, b), geo.stroke_reach)
            stamp(coverage(_point_segment_distance(pix, a, b), geo.thickness / 2, geo.stroke_reach), r0, c0, k)
    for centre, owner in zip(markers, marker_owner, strict=True):
        r0, c0, pix = box(centre, centre, geo.disc_reach)
        stamp(coverage(np.linalg.norm(pix - centre, axis=-1), geo.marker_radius, geo.disc_reach), r0, c0, owner)
    return canvas * cfg.contrast, ids


def image_rng(seed: int, index: int) -> np.random.Generator:
    """Each image's own stream, so any split of the indices across workers gives the same images."""
    return np.random.default_rng(np.random.SeedSequence([seed, index]))


def render_sample(cfg: PathfinderConfig, seed: int, index: int) -> PathfinderSample:
    """Image ``index`` of the set drawn with ``seed``, at window resolution, with its ground truth."""
    geo = _Geometry.from_config(cfg)
    rng = image_rng(seed, index)
    label = int(rng.random() < 0.5)
    for _ in range(cfg.max_attempts):
        layout = _place(cfg, geo, rng)
        if layout is not None:
            break
    else:
        raise RuntimeError(f"no Pathfinder layout fitted in {cfg.max_attempts} attempts (image {index}, "
                           f"L={cfg.path_length}, window {cfg.window}); lower num_distractors or enlarge the window")
    first, second = layout.snakes[0], layout.snakes[1]
    markers, owners = ((first[0], first[-1]), (0, 0)) if label else ((first[0], second[0]), (0, 1))
    markers = np.array(markers)
    canvas, ids = _render(layout, markers, owners, cfg, geo)
    image = np.clip(np.rint(canvas * 255), 0, 255).astype(np.uint8)
    return PathfinderSample(image=image, label=label, markers=markers, snakes=layout.snakes, snake_ids=ids)


def resize(image: np.ndarray, size: int) -> np.ndarray:
    """Bilinear, area-aware downscale (PIL's, which torchvision's ``Resize`` uses on PIL images)."""
    if image.shape[0] == size:
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR))


def _generate_range(cfg: PathfinderConfig, seed: int, start: int, stop: int) -> tuple[np.ndarray, ...]:
    n = stop - start
    images = np.empty((n, cfg.output_size, cfg.output_size), np.uint8)
    labels = np.empty(n, np.uint8)
    markers = np.empty((n, 2, 2), np.float32)
    for i in range(n):
        sample = render_sample(cfg, seed, start + i)
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
                np.savez_compressed(fh, images=self.images, labels=self.labels, markers=self.markers,
                                    meta=np.array(json.dumps(self.meta)))

    @classmethod
    def load(cls, path: str | Path) -> PathfinderData:
        data = read_npz(path, "Pathfinder", lambda z: cls(images=z["images"], labels=z["labels"],
                                                          markers=z["markers"], meta=json.loads(str(z["meta"]))))
        if data.images.ndim != 3 or len(data.images) != len(data.labels) or data.images.dtype != np.uint8:
            raise DataFileError(f"{path} is inconsistent: images {data.images.shape} {data.images.dtype}, "
                                f"{len(data.labels)} labels")
        return data


def generate_pathfinder(cfg: PathfinderConfig, num_samples: int, seed: int, workers: int = 1,
                        chunk_size: int = 256) -> PathfinderData:
    """``num_samples`` images, split into chunks over ``workers`` processes (same result for any split)."""
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    bounds = [(i, min(i + chunk_size, num_samples)) for i in range(0, num_samples, chunk_size)]
    if workers <= 1 or len(bounds) == 1:
        parts = [_generate_range(cfg, seed, a, b) for a, b in bounds]
    else:
        # spawn: workers must not inherit a parent's threads (torch, a CUDA context) through fork.
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            parts = list(pool.map(_generate_range, [cfg] * len(bounds), [seed] * len(bounds),
                                  *zip(*bounds, strict=True)))
    images, labels, markers = (np.concatenate(x) for x in zip(*parts, strict=True))
    meta = dict(kind="pathfinder", seed=seed, num_samples=num_samples, **asdict(cfg))
    return PathfinderData(images=images, labels=labels, markers=markers, meta=meta)
