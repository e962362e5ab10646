"""Reading learning dynamics off logged curves: when components escape, whether they do so one
at a time, and whether an error curve falls in steps. Used by the notebooks' claims.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def first_crossing(
    iterations: Sequence[int], values: Sequence[float], threshold: float
) -> int | None:
    """First logged iteration at which ``values`` reaches ``threshold`` (None if never)."""
    values = np.asarray(values)
    hits = np.flatnonzero(values >= threshold)
    return int(np.asarray(iterations)[hits[0]]) if hits.size else None


def count_above(values: Sequence[float], threshold: float) -> int:
    return int(np.sum(np.asarray(values) > threshold))


def one_at_a_time(
    iterations: Sequence[int],
    order_stats: np.ndarray,
    negligible: float,
    count: int,
    learned_fraction: float,
) -> list[bool]:
    """For each of the first ``count - 1`` learned components: is the next one still negligible
    when this one is learned, i.e. reaches ``learned_fraction`` of its final norm?

    ``order_stats`` is (time, k): column j holds the (j+1)-th largest norm at each logged step.
    A component learned together with the next would have that next one already grown.
    """
    order_stats = np.asarray(order_stats)
    result = []
    for j in range(min(count, order_stats.shape[1]) - 1):
        final = order_stats[-1, j]
        if final <= negligible:
            result.append(False)
            continue
        t = np.flatnonzero(order_stats[:, j] >= learned_fraction * final)[0]
        result.append(bool(order_stats[t, j + 1] < negligible))
    return result


def plateaus(
    iterations: Sequence[int], values: Sequence[float], window: int, tol: float
) -> list[tuple[int, int, float]]:
    """Stretches of at least ``window`` iterations over which ``values`` moves by less than ``tol``.

    Returns (start iteration, end iteration, level) per plateau, the level being the median value;
    neighbouring plateaus at the same level (within ``tol``) are merged.
    """
    it = np.asarray(iterations)
    v = np.asarray(values, dtype=float)
    flat = np.zeros(len(v), dtype=bool)
    for i in range(len(v)):
        j = np.searchsorted(it, it[i] + window, side="right")
        if it[j - 1] - it[i] < window:  # window runs past the end of the log
            break
        seg = v[i:j]
        if seg.max() - seg.min() < tol:
            flat[i:j] = True
    runs: list[tuple[int, int, float]] = []
    i = 0
    while i < len(v):
        if not flat[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(v) and flat[j + 1]:
            j += 1
        level = float(np.median(v[i : j + 1]))
        if runs and abs(runs[-1][2] - level) < tol:
            runs[-1] = (runs[-1][0], int(it[j]), runs[-1][2])
        else:
            runs.append((int(it[i]), int(it[j]), level))
        i = j + 1
    return runs


def intermediate_plateaus(
    iterations: Sequence[int], values: Sequence[float], window: int, tol: float, step: float
) -> list[float]:
    """Levels of the plateaus strictly between the start and the end of a falling curve
    (more than ``step`` below the first value and above the last)."""
    values = np.asarray(values, dtype=float)
    start, end = values[0], values[-1]
    return [
        level
        for _, _, level in plateaus(iterations, values, window, tol)
        if end + step < level < start - step
    ]
