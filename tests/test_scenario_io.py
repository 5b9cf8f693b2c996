"""Scenario/seed YAML I/O: round trips, seeds, and errors that name the file and the field path."""

from __future__ import annotations

import pytest
import yaml

from adsgen.errors import InputError
from adsgen.paths import SEEDS_DIR
from adsgen.scenario.io import load_scenario, load_seed, load_seeds, save_scenario
from adsgen.scenario.mapping import instantiate

SEED_NAMES = {"lead_vehicle_braking", "left_turn_across_path", "straight_crossing_path", "cut_in",
              "pedestrian_crossing"}


def test_five_seeds_load_with_contracts():
    seeds = load_seeds(SEEDS_DIR)
    assert {s.name for s in seeds} == SEED_NAMES
    for s in seeds:
        assert s.contract and s.parameters
        assert s.scenario.road.template == s.scenario.factors.road_layout


def test_scenario_round_trip(tmp_path):
    sc = load_scenario(SEEDS_DIR / "cut_in.yaml")  # a seed file gives its nominal scenario
    path = save_scenario(sc, tmp_path / "s.yaml")
    again = load_scenario(path)
    assert again == sc
    assert again.content_hash() == sc.content_hash()


def _bad_file(tmp_path, mutate) -> str:
    data = yaml.safe_load((SEEDS_DIR / "pedestrian_crossing.yaml").read_text())["scenario"]
    mutate(data)
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(data))
    return str(p)


@pytest.mark.parametrize("mutate, path, expected", [
    (lambda d: d["actors"][1]["manoeuvre"]["trigger"].update(value=-3), "actors[1].manoeuvre.trigger.value",
     "greater than or equal to 0"),
    (lambda d: d["actors"][1]["manoeuvre"]["trigger"].update(kind="soon"), "actors[1].manoeuvre.trigger.kind",
     "'time', 'ego_distance', 'ego_ttc' or 'ego_arrival'"),
    (lambda d: d["factors"].update(surface="sand"), "factors.surface", "'dry', 'wet' or 'snow_ice'"),
    (lambda d: d["ego"].update(colour="red"), "ego.colour", "unknown key"),
    (lambda d: d["ego"].pop("speed_mps"), "ego.speed_mps", "missing"),
    (lambda d: d["ego"].update(route="S_left_0"), "ego.route", "S_straight_0"),
])
def test_invalid_files_name_file_field_and_expectation(tmp_path, mutate, path, expected):
    bad = _bad_file(tmp_path, mutate)
    with pytest.raises(InputError) as err:
        load_scenario(bad)
    msg = str(err.value)
    assert bad in msg and path in msg and expected in msg, msg


def test_not_yaml_and_missing_file(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text("a: [1, 2\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_scenario(p)
    with pytest.raises(InputError, match="no such file"):
        load_scenario(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match="expected a seed file"):
        save_scenario(load_scenario(SEEDS_DIR / "cut_in.yaml"), p)
        load_seed(p)


def test_instantiate_respects_contract_and_params():
    seed = load_seed(SEEDS_DIR / "lead_vehicle_braking.yaml")
    sc = instantiate(seed, {"surface": "snow_ice", "light": "dark_unlighted"},
                     {"ego.speed_mps": 20.0, "actors.lead.manoeuvre.trigger.value": 1.5})
    assert sc.factors.surface == "snow_ice" and sc.ego.speed_mps == 20.0
    assert sc.actors[0].manoeuvre.trigger.value == 1.5 and sc.seed == seed.name
    with pytest.raises(InputError, match="outside its contract"):
        instantiate(seed, {"road_layout": "intersection"}, {})
    with pytest.raises(InputError, match="parameter path"):
        instantiate(seed, {}, {"actors.nobody.speed_mps": 3.0})


def test_every_contract_state_instantiates_a_valid_scenario():
    from adsgen.scenario.roads import validate_routes
    from adsgen.variables import STATES

    for seed in load_seeds(SEEDS_DIR):
        for var in STATES:
            if var == "severity":
                continue
            for state in seed.contract.get(var, STATES[var]):
                sc = instantiate(seed, {var: state}, {})
                validate_routes(sc, f"{seed.name} with {var}={state}")
                for p in seed.parameters:  # every range end is a valid scenario too
                    instantiate(seed, {var: state}, {p.path: p.low})
                    instantiate(seed, {var: state}, {p.path: p.high})
