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
