"""Time-to-arrival triggers (``ego_arrival``): the adversary starts when the ego is T s from the conflict point,
whatever the speed limit; impairment's reaction delay comes off T; the loop oracle agrees; a route that never
crosses the ego's is one line, exit 2."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from adsgen.paths import SEEDS_DIR
from adsgen.scenario.io import load_seed
from adsgen.scenario.mapping import ADVERSARY, instantiate
from adsgen.sim.agents import Action, get_agent
from adsgen.sim.engine import BuiltinBackend, BuiltinWorld, compile_batch
from adsgen.sim.episode import Referee, run_episode
from adsgen.sim.reference import run_loop
from adsgen.sim.types import DT_S


class _Blind:
    """Holds its speed whatever happens: where its path and the adversary's meet, they meet."""

    def reset(self, scenarios, seed: int) -> None:
        pass

    def act(self, obs) -> Action:
        return Action(accel_mps2=np.zeros(len(obs.scenarios)))


class _Watch(BuiltinWorld):
    """The engine, noting when each actor's trigger fires: (time [s], the ego's time-to-arrival at that actor's
    conflict point [s], front bumper first, from the engine state at that step)."""

    fired: dict

    def observe(self, k, poses, referee):
        before = self.st.triggered.copy()
        obs = super().observe(k, poses, referee)
        bt, st = self.bt, self.st
        for i, j in zip(*np.nonzero(st.triggered & ~before), strict=True):
            gap = bt.sc_e[i, j] - (st.s[i, 0] + bt.length[i, 0] / 2)
            self.fired.setdefault(i, (poses.t_s, gap / st.v[i, 0]))
        return obs


def _start_times(scenarios) -> list[tuple[float, float]]:
    """Per scenario: (time [s] the adversary's trigger fires, the ego's time-to-arrival then [s]) against the
    default agent."""
    bt = compile_batch(scenarios)
    world = _Watch(bt)
    world.fired = {}
    run_episode(world, get_agent("idm"), 0, Referee(bt))
    return [world.fired[i] for i in range(len(scenarios))]


# the walker at its nominal 3.7 s; the turner at 4 s (at its nominal 5.25 s a blind ego at the high limit is past
# the conflict point 2.15 s before the turner reaches it: the faster ego occupies the point for less time)
@pytest.mark.parametrize(("name", "value"), [("pedestrian_crossing", 3.7), ("left_turn_across_path", 4.0)])
def test_the_adversary_starts_at_the_same_time_to_arrival_at_every_limit_and_the_conflict_happens(name, value):
    seed = load_seed(SEEDS_DIR / f"{name}.yaml")
    adv = seed.scenario.actors[-1].id
    scs = [instantiate(seed, {"speed_limit": lim}, {f"actors.{adv}.manoeuvre.trigger.value": value})
           for lim in ("low", "mid", "high")]
    times = _start_times(scs)
    for lim, (t, tta) in zip(("low", "mid", "high"), times, strict=True):
        assert value - DT_S - 1e-6 < tta <= value + 1e-6, (lim, t, tta)
        assert t > 0.0, lim  # the ego starts outside the trigger's window at every limit
    # about the same world in time (the start gap scales from the ego's centre, the trigger reads its front
    # bumper: a tenth of a second apart), and the adversary's path and the ego's meet
    assert max(t for t, _ in times) - min(t for t, _ in times) <= 0.15
    for sc, r in zip(scs, BuiltinBackend().run(scs, _Blind(), 0), strict=True):  # a driver that never reacts
        assert r.collided or (r.pet_s is not None and r.pet_s < 1.0), (sc.factors.speed_limit, r.pet_s)


def test_impairment_delay_comes_off_the_time_to_arrival():
    seed = load_seed(SEEDS_DIR / "left_turn_across_path.yaml")
    value = seed.scenario.actors[0].manoeuvre.trigger.value
    states = ("no", "distracted", "substance")
    scs = [instantiate(seed, {"driver_impaired": imp, "speed_limit": "high"}) for imp in states]
    for imp, sc, (_, tta) in zip(states, scs, _start_times(scs), strict=True):
        want = value - ADVERSARY[imp].extra_reaction_s
        assert sc.actors[0].manoeuvre.trigger.value == pytest.approx(want)
        assert want - DT_S - 1e-6 < tta <= want + 1e-6, (imp, tta)


def test_the_pedestrians_trigger_ignores_driver_impairment():
    seed = load_seed(SEEDS_DIR / "pedestrian_crossing.yaml")
    values = {instantiate(seed, {"driver_impaired": s}).actors[1].manoeuvre.trigger.value for s in ADVERSARY}
    assert values == {seed.scenario.actors[1].manoeuvre.trigger.value}


@pytest.mark.parametrize("name", ["pedestrian_crossing", "left_turn_across_path"])
def test_loop_oracle_fires_arrival_triggers_as_the_engine(name):
    seed = load_seed(SEEDS_DIR / f"{name}.yaml")
    path = next(p.path for p in seed.parameters if p.path.endswith("trigger.value"))
    scs = [instantiate(seed, {"speed_limit": lim, "surface": surf}, {path: v})
           for lim, surf, v in (("low", "dry", 1.0), ("mid", "wet", 2.5), ("high", "snow_ice", 4.0))]
    for sc, r in zip(scs, BuiltinBackend().run(scs, get_agent("idm"), 3), strict=True):
        loop = run_loop(sc, seed=3)
        assert (loop.termination, loop.collision_partner, loop.duration_s) == (
            r.termination, r.collision_partner, r.duration_s), sc.name
        for key in ("min_ttc_s", "pet_s"):
            a, b = getattr(loop, key), getattr(r, key)
            assert (a is None and b is None) or a == pytest.approx(b, abs=1e-6), (sc.name, key, a, b)


def test_arrival_trigger_without_a_conflict_point_is_one_line_exit_2(cli, tmp_path):
    data = yaml.safe_load((SEEDS_DIR / "cut_in.yaml").read_text())  # the cutter's lane runs beside the ego's
    data["scenario"]["actors"][0]["manoeuvre"]["trigger"] = {"kind": "ego_arrival", "value": 2.0}
    bad = tmp_path / "parallel.yaml"
    bad.write_text(yaml.safe_dump(data))
    code, _, err = cli(["simulate", bad])
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "actors[0].manoeuvre.trigger" in err and "ego_arrival" in err and "never crosses" in err
