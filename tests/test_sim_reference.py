"""The pure-Python loop (the bench baseline) and the batched engine compute the same runs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adsgen.paths import SEEDS_DIR
from adsgen.scenario.io import load_seeds
from adsgen.scenario.mapping import instantiate
from adsgen.sim.agents import get_agent
from adsgen.sim.backends import get_backend
from adsgen.sim.reference import run_loop


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return (math.isinf(a) and math.isinf(b)) or abs(a - b) < 1e-6


@pytest.mark.slow
def test_loop_reference_matches_batched_engine():
    seeds = load_seeds(SEEDS_DIR)
    rng = np.random.default_rng(11)
    batch = []
    for i in range(25):
        s = seeds[i % len(seeds)]
        factors = {"light": str(rng.choice(["daylight", "dark_unlighted"])),
                   "weather": str(rng.choice(["clear", "rain", "fog"])),
                   "surface": str(rng.choice(["dry", "wet", "snow_ice"]))}
        batch.append(instantiate(s, factors, {p.path: float(rng.uniform(p.low, p.high)) for p in s.parameters}))
    vec = get_backend("builtin").run(batch, get_agent("idm"), seed=5)
    for sc, r in zip(batch, vec, strict=True):
        loop = run_loop(sc, seed=5)
        assert (loop.termination, loop.collision_partner) == (r.termination, r.collision_partner), sc.name
        assert loop.duration_s == r.duration_s
        assert (loop.at_fault, loop.fault_rule) == (r.at_fault, r.fault_rule), sc.name
        for key in ("min_ttc_s", "min_distance_m", "pet_s", "impact_speed_mps"):
            assert _close(getattr(loop, key), getattr(r, key)), (sc.name, key, getattr(loop, key), getattr(r, key))
    assert any(r.collided for r in vec) and not all(r.collided for r in vec)
    assert all(r.at_fault is not None and r.fault_rule for r in vec if r.high_risk())  # every high-risk run judged
