"""Every factor acts: for every seed and factor, changing the factor's state changes the simulated world,
or the seed declares the factor descriptive (and then it must not change it)."""

from __future__ import annotations

import pytest
import yaml

from adsgen.paths import SEEDS_DIR
from adsgen.scenario.io import load_seeds
from adsgen.scenario.mapping import acting_states, instantiate, world_key
from adsgen.variables import FACTORS

SEEDS = load_seeds(SEEDS_DIR)


@pytest.mark.parametrize("seed", SEEDS, ids=[s.name for s in SEEDS])
@pytest.mark.parametrize("factor", FACTORS)
def test_every_factor_acts_or_is_declared_descriptive(seed, factor):
    keys = acting_states(seed, factor)
    assert keys, (seed.name, factor, "no state of the contract can be instantiated")
    if len(keys) == 1:
        return  # the contract fixes the factor: nothing to compare
    distinct = len(set(keys.values()))
    if factor in seed.descriptive:
        assert distinct == 1, (seed.name, factor)
    else:
        assert distinct == len(keys), (seed.name, factor, {s: k[1][:8] for s, k in keys.items()})


def test_impairment_never_moves_a_pedestrian():
    seed = next(s for s in SEEDS if s.name == "pedestrian_crossing")
    base = instantiate(seed, {"driver_impaired": "no"})
    drunk = instantiate(seed, {"driver_impaired": "substance"})
    walker = {a.id: a for a in drunk.actors}["walker"]
    assert walker == {a.id: a for a in base.actors}["walker"]
    assert world_key(base, seed.scenario.factors) == world_key(drunk, seed.scenario.factors)


def test_a_descriptive_factor_that_acts_is_one_line_exit_2(cli, tmp_path):
    data = yaml.safe_load((SEEDS_DIR / "lead_vehicle_braking.yaml").read_text())
    data["descriptive"] = ["surface"]  # surface sets the friction: it acts
    bad = tmp_path / "bad_seed.yaml"
    bad.write_text(yaml.safe_dump(data))
    code, _, err = cli(["simulate", bad])
    assert code == 2 and "'surface' is declared descriptive" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_ego_at_the_limit_and_distance_triggers_at_the_same_time_to_arrival():
    from adsgen.variables import SPEED_LIMIT_MPS

    seed = next(s for s in SEEDS if s.name == "cut_in")
    tta = set()
    for limit in ("low", "mid", "high"):  # the contract allows every limit
        sc = instantiate(seed, {"speed_limit": limit}, {"actors.cutter.manoeuvre.trigger.value": 20.0})
        assert sc.ego.speed_mps == SPEED_LIMIT_MPS[limit]
        tta.add(round(sc.actors[0].manoeuvre.trigger.value / sc.ego.speed_mps, 3))
    assert len(tta) == 1


def test_speeding_is_an_explicit_setting_off_by_default(cli, tmp_path):
    from adsgen.errors import InputError
    from adsgen.variables import SPEED_LIMIT_MPS

    seed = next(s for s in SEEDS if s.name == "cut_in")
    limit = SPEED_LIMIT_MPS[seed.scenario.factors.speed_limit]
    assert instantiate(seed, {}).ego.speed_mps == limit
    assert instantiate(seed, {}, ego_over_limit=1.2).ego.speed_mps == round(1.2 * limit, 3)
    with pytest.raises(InputError, match="ego_over_limit"):
        instantiate(seed, {}, ego_over_limit=0.8)
    code, _, err = cli(["generate", "--method", "random", "--budget", "5", "--ego-over-limit", "2",
                        "--out", tmp_path / "o"])
    assert code == 2 and "--ego-over-limit" in err and "Traceback" not in err


def _speeds(sc, actor: str, agent: str = "omniscient") -> list[tuple[float, float]]:
    from adsgen.sim.agents import get_agent
    from adsgen.sim.engine import BuiltinBackend

    res = BuiltinBackend().run([sc], get_agent(agent), 0, record_trajectories=True)[0]
    return [(row[0], row[4]) for row in res.trajectories[actor]]  # (t, speed)


def test_collision_type_picks_the_cut_in_conflict():
    """sideswipe: the lane change itself is the conflict (the cutter keeps its speed); rear_end: it cuts in
    ahead, then brakes to a stop once its lateral move is complete."""
    seed = next(s for s in SEEDS if s.name == "cut_in")
    side = instantiate(seed, {"collision_type": "sideswipe"})
    rear = instantiate(seed, {"collision_type": "rear_end"})
    assert [a.manoeuvre.type for a in (side.actors[0], rear.actors[0])] == ["cut_in", "cut_in_brake"]
    v0 = side.actors[0].speed_mps
    assert min(v for _, v in _speeds(side, "cutter")) > v0 - 0.5
    rear_v = _speeds(rear, "cutter")
    assert rear_v[-1][1] < 0.1  # stopped by the end
    # it keeps its speed through the lateral move (the trigger fires within the first seconds)
    assert min(v for t, v in rear_v if t < rear.actors[0].manoeuvre.duration_s) > v0 - 0.5


def test_impairment_decides_whether_a_red_light_runner_brakes():
    """straight_crossing_path: a distracted runner notices the ego late and brakes (at TTC 1 s), a runner under
    the influence never brakes; the loop oracle runs both like the engine."""
    from adsgen.sim.agents import get_agent
    from adsgen.sim.engine import BuiltinBackend
    from adsgen.sim.reference import run_loop

    seed = next(s for s in SEEDS if s.name == "straight_crossing_path")
    distracted = instantiate(seed, {"driver_impaired": "distracted"})
    drunk = instantiate(seed, {"driver_impaired": "substance"})
    assert distracted.actors[0].manoeuvre.trigger is not None and drunk.actors[0].manoeuvre.trigger is None
    v0 = drunk.actors[0].speed_mps
    assert min(v for _, v in _speeds(drunk, "crosser", "idm")) > v0 - 0.5
    assert min(v for _, v in _speeds(distracted, "crosser", "idm")) < v0 - 3.0
    be = BuiltinBackend()
    for sc in (distracted, drunk, instantiate(next(s for s in SEEDS if s.name == "cut_in"),
                                              {"collision_type": "rear_end"})):
        r, loop = be.run([sc], get_agent("idm"), 2)[0], run_loop(sc, seed=2)
        assert (r.termination, r.duration_s, r.fault_rule) == (loop.termination, loop.duration_s, loop.fault_rule)
        assert abs(r.min_distance_m - loop.min_distance_m) < 1e-6
