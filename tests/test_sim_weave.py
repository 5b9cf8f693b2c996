"""Impaired lane keeping: an impaired driver weaves about its lane centre (mapping.ADVERSARY), inside its lane,
in the engine and the loop oracle alike; the careful-driver reference does not take a weave inside the
vehicle's lane-wander band for the start of a cut-in."""

from __future__ import annotations

import numpy as np
import pytest

from adsgen.paths import SEEDS_DIR
from adsgen.scenario.io import load_seed
from adsgen.scenario.mapping import ADVERSARY, instantiate
from adsgen.scenario.roads import build_road
from adsgen.sim import fault
from adsgen.sim.agents import get_agent
from adsgen.sim.engine import BuiltinBackend
from adsgen.sim.reference import run_loop

CUT_IN = load_seed(SEEDS_DIR / "cut_in.yaml")


def _never_cuts_in(impaired: str):
    """The cut-in seed with its cutter driving on in its lane (the trigger after the horizon): only its lane
    keeping is left."""
    sc = instantiate(CUT_IN, {"driver_impaired": impaired})
    cutter = sc.actors[0]
    m = cutter.manoeuvre.model_copy(update={"trigger": cutter.manoeuvre.trigger.model_copy(
        update={"kind": "time", "value": 60.0})})
    return sc.model_copy(update={"actors": [cutter.model_copy(update={"manoeuvre": m})]})


def _lateral_offsets(sc, agent: str = "idm") -> np.ndarray:
    """The cutter's offset from its lane centre-line [m] at every step (the road runs north: x is lateral)."""
    res = BuiltinBackend().run([sc], get_agent(agent), 0, record_trajectories=True)[0]
    lane_x = build_road(sc.road).route(sc.actors[0].route).xy[0, 0]
    return np.array([row[1] for row in res.trajectories[sc.actors[0].id]]) - lane_x


@pytest.mark.parametrize("impaired", ["no", "distracted", "substance"])
def test_an_impaired_driver_weaves_inside_its_lane(impaired):
    sc = _never_cuts_in(impaired)
    amp = ADVERSARY[impaired].weave_amp_m
    assert sc.actors[0].manoeuvre.weave_amp_m == amp
    off = _lateral_offsets(sc)
    assert np.abs(off).max() == pytest.approx(amp, abs=0.06)  # the steering tracks the weave closely
    if amp:  # it swings to both sides of its lane centre
        assert off.min() < -0.8 * amp and off.max() > 0.8 * amp
    # never across its lane markings: the at-fault rule's lane departure (side_cut_in) never sees a weave
    assert not fault.left_lane(off, 1.9, sc.road.lane_width_m).any()


def test_the_weave_changes_the_compiled_world_of_every_vehicle_seed_but_not_a_pedestrian():
    for name in ("cut_in", "lead_vehicle_braking", "left_turn_across_path", "straight_crossing_path"):
        seed = load_seed(SEEDS_DIR / f"{name}.yaml")
        states = seed.contract.get("driver_impaired", list(ADVERSARY))
        amps = {instantiate(seed, {"driver_impaired": s}).actors[0].manoeuvre.weave_amp_m for s in states}
        assert amps == {ADVERSARY[s].weave_amp_m for s in states}, name
    walker = load_seed(SEEDS_DIR / "pedestrian_crossing.yaml")
    assert instantiate(walker, {"driver_impaired": "substance"}).actors[1].manoeuvre.weave_amp_m == 0.0


def test_reference_does_not_take_a_weave_for_a_cut_in_but_perceives_the_cut_in(monkeypatch):
    """A weaving car that never leaves its lane never moves beyond its lane-wander band towards the ego's lane
    by R157's 0.375 m (so it is no cut-in, and the careful driver does not brake for it); without the band the
    same weave would. The same weaving car cutting in is perceived and braked for."""
    from adsgen.sim.agents import reference as R

    real = R._Hazards.update
    seen_towards: list[float] = []

    def recording(blind: bool):
        def update(self, obs, seen):
            out = real(self, obs, seen)
            if blind:  # from the next step on (the band is made at the first)
                self.band[:] = 0.0
            seen_towards.append(float(out[0].max(initial=0.0)))
            return out
        return update

    weave_only = _never_cuts_in("substance")
    monkeypatch.setattr(R._Hazards, "update", recording(False))
    speeds = _ego_speeds(weave_only, "reference")
    assert max(seen_towards) < R.CC_LATERAL_PERCEPTION_M
    assert speeds.min() == pytest.approx(weave_only.ego.speed_mps, abs=0.05)  # it never brakes
    seen_towards.clear()
    monkeypatch.setattr(R._Hazards, "update", recording(True))  # the ablation: no band
    _ego_speeds(weave_only, "reference")
    assert max(seen_towards) > R.CC_LATERAL_PERCEPTION_M  # the weave alone would pass for a cut-in
    monkeypatch.setattr(R._Hazards, "update", real)
    cut = instantiate(CUT_IN, {"driver_impaired": "substance"}, {"actors.cutter.manoeuvre.trigger.value": 60.0})
    assert _ego_speeds(cut, "reference").min() < cut.ego.speed_mps - 2.0  # the cut-in itself is perceived


def _ego_speeds(sc, agent: str) -> np.ndarray:
    res = BuiltinBackend().run([sc], get_agent(agent), 0, record_trajectories=True)[0]
    return np.array([row[4] for row in res.trajectories["ego"]])


@pytest.mark.parametrize(("name", "factors"), [
    ("cut_in", {"driver_impaired": "substance"}),
    ("cut_in", {"driver_impaired": "distracted", "collision_type": "rear_end"}),
    ("lead_vehicle_braking", {"driver_impaired": "substance", "road_layout": "curve"}),
    ("straight_crossing_path", {"driver_impaired": "substance"}),
])
def test_loop_oracle_weaves_as_the_engine(name, factors):
    sc = instantiate(load_seed(SEEDS_DIR / f"{name}.yaml"), factors)
    (r,) = BuiltinBackend().run([sc], get_agent("idm"), 2)
    loop = run_loop(sc, seed=2)
    assert (loop.termination, loop.collision_partner, loop.duration_s) == (r.termination, r.collision_partner,
                                                                           r.duration_s)
    assert (loop.at_fault, loop.fault_rule) == (r.at_fault, r.fault_rule)
    for key in ("min_ttc_s", "min_distance_m", "pet_s"):
        a, b = getattr(loop, key), getattr(r, key)
        assert (a is None and b is None) or a == pytest.approx(b, abs=1e-6), (key, a, b)
