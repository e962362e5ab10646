import numpy as np

from impreg.analysis import (
    count_above,
    first_crossing,
    intermediate_plateaus,
    one_at_a_time,
    plateaus,
)


def _sigmoid(t, center, width=20.0):
    return 1 / (1 + np.exp(-(t - center) / width))


def test_first_crossing_and_count():
    assert first_crossing([0, 25, 50, 75], [0.0, 0.1, 0.5, 0.9], 0.5) == 50
    assert first_crossing([0, 25], [0.0, 0.1], 0.5) is None
    assert count_above([0.5, 0.02, 0.009, 0.0], 0.01) == 2


def test_one_at_a_time_tells_sequential_from_simultaneous():
    t = np.arange(0, 5000, 25)
    sequential = np.stack(
        [
            0.6 * _sigmoid(t, 1000),
            0.4 * _sigmoid(t, 2500),
            0.2 * _sigmoid(t, 4000),
            np.full_like(t, 1e-4, dtype=float),
        ],
        axis=1,
    )
    assert one_at_a_time(t, sequential, negligible=0.01, count=3, learned_fraction=0.5) == [
        True,
        True,
    ]
    together = sequential.copy()
    together[:, 1] = 0.4 * _sigmoid(t, 1000)  # second learned with the first
    assert one_at_a_time(t, together, negligible=0.01, count=3, learned_fraction=0.5) == [
        False,
        True,
    ]
    # a component that never grows is not "learned"
    stalled = sequential.copy()
    stalled[:, 1:] = 1e-4
    assert one_at_a_time(t, stalled, negligible=0.01, count=3, learned_fraction=0.5) == [
        True,
        False,
    ]
    # learned means having reached the stated fraction of the final norm: a second component close behind
    # is still negligible when the first is at half its final norm, but no longer when it is at 90%
    close = sequential.copy()
    close[:, 1] = 0.4 * _sigmoid(t, 1080)
    assert one_at_a_time(t, close, negligible=0.01, count=3, learned_fraction=0.5) == [True, True]
    assert one_at_a_time(t, close, negligible=0.01, count=3, learned_fraction=0.9) == [False, True]


def test_staircase_has_intermediate_plateaus_and_smooth_decay_has_none():
    t = np.arange(0, 10000, 25)
    stairs = 1.0 - 0.3 * _sigmoid(t, 2000) - 0.3 * _sigmoid(t, 5000) - 0.35 * _sigmoid(t, 8000)
    levels = intermediate_plateaus(t, stairs, window=250, tol=0.01, step=0.05)
    assert np.allclose(levels, [0.7, 0.4], atol=0.02)
    smooth = 0.92 * np.exp(-t / 600) + 0.08
    assert intermediate_plateaus(t, smooth, window=250, tol=0.01, step=0.05) == []
    # the end of the smooth curve is one plateau at its final level
    assert plateaus(t, smooth, window=250, tol=0.01)[-1][2] < 0.09
