"""Metrics: exact box distance, SAT overlap, TTC, PET, against brute force and hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest

from adsgen.scenario.geometry import path_crossing
from adsgen.sim import metrics as m


def _brute_distance(a, b) -> float:
    def outline(c):
        t = np.linspace(0.0, 1.0, 300)[:, None]
        return np.concatenate([c[i] + (c[(i + 1) % 4] - c[i]) * t for i in range(4)])

    pa, pb = outline(m.box_corners(*a)), outline(m.box_corners(*b))
    return float(np.sqrt(((pa[:, None] - pb[None]) ** 2).sum(-1)).min())


def test_box_distance_matches_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(40):
        a = (rng.uniform(-6, 6), rng.uniform(-6, 6), rng.uniform(-3, 3), rng.uniform(1, 5), rng.uniform(0.5, 2))
        b = (rng.uniform(-6, 6), rng.uniform(-6, 6), rng.uniform(-3, 3), rng.uniform(1, 5), rng.uniform(0.5, 2))
        d = float(m.box_distance(*a, *b))
        overlap = bool(m.boxes_overlap(*a, *b))
        brute = _brute_distance(a, b)
        if overlap:
            assert d == 0.0
        else:
            assert d == pytest.approx(brute, abs=0.03)
        gap = float(m.separating_gap_cs(a[0], a[1], np.cos(a[2]), np.sin(a[2]), a[3], a[4],
                                        b[0], b[1], np.cos(b[2]), np.sin(b[2]), b[3], b[4]))
        assert (gap <= 0) == overlap and gap <= d + 1e-9  # a lower bound that detects overlap exactly


def test_ttc_rear_end_crossing_and_miss():
    ego = (0.0, 0.0, 0.0, 10.0, 0.0, 4.6, 1.9)
    # stopped car 30 m ahead: bumper gap 25.4 m at 10 m/s
    assert m.ttc_constant_velocity(*ego, [30.0], [0.0], [0.0], [0.0], [0.0], [4.6], [1.9])[0] == pytest.approx(2.54)
    # crossing car from the right reaches the ego's path as the ego arrives
    t = m.ttc_constant_velocity(*ego, [30.0], [-30.0], [np.pi / 2], [0.0], [10.0], [4.6], [1.9])[0]
    assert 2.3 < t < 3.0
    # parallel car in the next lane: never
    assert np.isinf(m.ttc_constant_velocity(*ego, [30.0], [3.5], [0.0], [0.0], [0.0], [4.6], [1.9])[0])
    assert m.ttc_along_path(20.0, 15.0, 5.0) == pytest.approx(2.0)
    assert np.isinf(m.ttc_along_path(20.0, 5.0, 15.0))


def test_pet_and_path_crossing():
    assert m.pet([1.0], [2.0], [3.5], [4.0])[0] == pytest.approx(1.5)  # a leaves at 2, b enters at 3.5
    assert m.pet([3.0], [4.0], [0.0], [1.0])[0] == pytest.approx(2.0)
    assert m.pet([1.0], [3.0], [2.0], [4.0])[0] == 0.0  # both in the zone together
    assert np.isnan(m.pet([1.0], [2.0], [np.nan], [np.nan])[0])
    sa, sb = path_crossing(np.array([[0.0, -5.0], [0.0, 5.0]]), np.array([[-5.0, 1.0], [5.0, 1.0]]))
    assert (sa, sb) == pytest.approx((6.0, 5.0))
    assert path_crossing(np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[0.0, 1.0], [1.0, 1.0]])) is None
