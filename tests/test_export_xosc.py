"""OpenSCENARIO / OpenDRIVE export: schema-valid 1.0 files in ScenarioRunner's conventions."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import pytest

from adsgen.export import environment_settings, export_scenario, export_scenarios, schema_path, xosc_errors
from adsgen.paths import SEEDS_DIR
from adsgen.scenario.io import load_seeds


@pytest.fixture(scope="module")
def seeds():
    return load_seeds(SEEDS_DIR)


@pytest.fixture(scope="module")
def exported(seeds, tmp_path_factory):
    out = tmp_path_factory.mktemp("xosc")
    return out, export_scenarios([s.scenario for s in seeds], out)


def _root(path) -> ET.Element:
    return ET.parse(path).getroot()


def test_schema_is_the_one_scenariogeneration_installs():
    p = schema_path(0)
    assert p.name == "OpenSCENARIO_1_0.xsd" and p.parent.name == "schemas" and p.is_file()


def test_five_seeds_export_valid_openscenario_1_0(exported, seeds):
    out, results = exported
    assert len(results) == len(seeds) == 5
    for r in results:
        assert r.schema_errors == [], (r.name, r.schema_errors[:3])
        assert xosc_errors(r.xosc) == []
        root = _root(r.xosc)
        header = root.find("FileHeader")
        assert (header.get("revMajor"), header.get("revMinor")) == ("1", "0")
        assert not header.get("description").startswith("CARLA:")  # positions are in the OpenDRIVE frame
        assert root.find("RoadNetwork/LogicFile").get("filepath") == r.xodr.name


def test_scenario_runner_conventions(exported, seeds):
    out, results = exported
    for r, seed in zip(results, seeds, strict=True):
        root = _root(r.xosc)
        objs = {o.get("name"): o for o in root.iter("ScenarioObject")}
        assert set(objs) == {"hero"} | {a.id for a in seed.scenario.actors}
        hero = objs["hero"].find("Vehicle")
        assert hero.get("name").startswith("vehicle.")
        assert {p.get("name"): p.get("value") for p in hero.iter("Property")}["type"] == "ego_vehicle"
        for a in seed.scenario.actors:
            ent = objs[a.id][0]
            want = "walker.pedestrian." if a.kind == "pedestrian" else "vehicle."
            assert ent.get("name").startswith(want)
            assert {p.get("name"): p.get("value") for p in ent.iter("Property")}["type"] == "simulation"
        controllers = [c for c in root.iter("Controller")]
        assert any(p.get("value") == "external_control" for c in controllers for p in c.iter("Property"))
        env = root.find("Storyboard/Init/Actions/GlobalAction/EnvironmentAction/Environment")
        for part in ("TimeOfDay", "Weather/Sun", "Weather/Fog", "Weather/Precipitation", "RoadCondition"):
            assert env.find(part) is not None, part
        stop = root.find("Storyboard/StopTrigger")
        names = {c.get("name") for c in stop.iter("Condition")}
        assert "horizon_reached" in names and "criteria_CollisionTest" in names
        horizon = next(c for c in stop.iter("Condition") if c.get("name") == "horizon_reached")
        assert float(horizon.find(".//SimulationTimeCondition").get("value")) == seed.scenario.horizon_s
        assert not list(root.iter("AbsoluteTargetLane"))  # lane changes are relative


def test_manoeuvres_become_triggered_events(exported):
    out, results = exported
    by = {r.name.split("_nominal")[0]: _root(r.xosc) for r in results}
    cut = by["cut_in"]
    lane = cut.find(".//RelativeTargetLane")
    assert lane is not None and lane.get("entityRef") == "cutter"
    assert lane.get("value") == "1"  # the cutter starts right of the ego and moves one lane left
    assert cut.find(".//RelativeDistanceCondition").get("entityRef") == "cutter"
    brake = by["lead_vehicle_braking"]
    dyn = brake.find(".//Event//SpeedActionDynamics")
    assert dyn.get("dynamicsDimension") == "rate" and float(brake.find(".//Event//AbsoluteTargetSpeed").get("value")) == 0
    assert brake.find(".//Event//SimulationTimeCondition") is not None
    ped = by["pedestrian_crossing"]
    assert ped.find(".//Pedestrian") is not None and ped.find(".//TraveledDistanceCondition") is not None
    turn = by["left_turn_across_path"]
    assert len(turn.findall(".//Route/Waypoint")) >= 3


def test_xodr_is_written_and_parses(exported):
    out, results = exported
    for r in results:
        root = _root(r.xodr)
        assert root.tag == "OpenDRIVE" and root.findall("road")
    manifest = json.loads((out / "export.json").read_text())
    assert [s["schema_valid"] for s in manifest["scenarios"]] == [True] * 5
    assert manifest["versions"]["scenariogeneration"] and manifest["schema"] == "OpenSCENARIO_1_0.xsd"


@pytest.mark.parametrize("light,weather,surface,check", [
    ("daylight", "clear", "dry", lambda e: e.fog_visual_range_m >= 1e4 and e.friction_scale == 1.0
     and e.precipitation == "dry" and e.sun_elevation_rad > 0.5),
    ("daylight", "fog", "dry", lambda e: e.fog_visual_range_m < 200 and e.cloud_state == "overcast"),
    ("dawn_dusk", "rain", "wet", lambda e: e.precipitation == "rain" and 0 < e.friction_scale < 0.8
     and e.cloud_state == "rainy"),
    ("dark_unlighted", "snow", "snow_ice", lambda e: e.precipitation == "snow" and e.friction_scale < 0.3
     and e.sun_elevation_rad < 0 and e.hour >= 21),
])
def test_environment_follows_factors(seeds, tmp_path, light, weather, surface, check):
    base = seeds[0].scenario
    sc = base.model_copy(update={"factors": base.factors.model_copy(
        update={"light": light, "weather": weather, "surface": surface})})
    env = environment_settings(sc.factors)
    assert check(env), env
    r = export_scenario(sc, tmp_path)
    assert r.valid, r.schema_errors[:3]
    fog = _root(r.xosc).find(".//Weather/Fog")
    assert float(fog.get("visualRange")) == pytest.approx(env.fog_visual_range_m)


def test_every_manoeuvre_and_trigger_kind_validates(seeds, tmp_path):
    from adsgen.scenario.model import ActorSpec, Manoeuvre, Trigger

    base = next(s.scenario for s in seeds if s.name == "cut_in")
    kinds = ["keep", "brake_hard", "stopped", "cut_in", "run_red_light", "head_on_drift", "turn_left_across",
             "cut_in_brake"]
    triggers = [Trigger(kind="time", value=1.0), Trigger(kind="ego_distance", value=20.0),
                Trigger(kind="ego_ttc", value=3.0), None]
    actors = [ActorSpec(id=f"a{i}", route="S_straight_1", start_s_m=20.0 + 10 * i, speed_mps=10.0,
                        manoeuvre=Manoeuvre(type=k, trigger=triggers[i % len(triggers)]))
              for i, k in enumerate(kinds)]
    sc = base.model_copy(update={"actors": actors, "name": "all manoeuvres"})
    r = export_scenario(sc, tmp_path, carla_criteria=False)
    assert r.valid, r.schema_errors[:3]
    assert r.xosc.name == "all_manoeuvres.xosc"
    root = _root(r.xosc)
    assert root.find(".//TimeToCollisionCondition") is not None
    # cut_in_brake: the lane change, then braking once the move is complete (its trigger, duration_s later)
    brake = next(e for e in root.iter("Event") if e.get("name", "").endswith("brakes_after_cut_in"))
    cond = brake.find(".//Condition")
    assert float(cond.get("delay")) == pytest.approx(Manoeuvre().duration_s)
    from adsgen.export.xosc import MANOEUVRE_WRITERS
    from adsgen.scenario.model import ManoeuvreType

    assert set(MANOEUVRE_WRITERS) == set(ManoeuvreType.__args__)  # every manoeuvre has its OpenSCENARIO writer
    # the left-turner approaches and holds at its stop line until triggered (as in the engine)
    assert root.find(".//ReachPositionCondition") is not None
    holds = [c for c in root.iter("Condition") if c.get("name", "").endswith("_not_yet_triggered")]
    assert holds and holds[0].get("conditionEdge") == "none"
    assert not [c for c in root.iter("Condition") if c.get("name", "").startswith("criteria_")]


def test_scenariogeneration_version_is_restored(seeds, tmp_path):
    from scenariogeneration import xosc

    before = xosc.VersionBase.version_minor
    export_scenario(seeds[0].scenario, tmp_path)
    assert xosc.VersionBase.version_minor == before


def test_cli_export(cli, tmp_path):
    code, out, err = cli(["export", str(SEEDS_DIR / "cut_in.yaml"), "--format", "xosc", "--out", str(tmp_path)])
    assert code == 0, err
    assert (tmp_path / "cut_in_nominal.xosc").exists() and (tmp_path / "cut_in_nominal.xodr").exists()
    assert "valid" in out
    code, out, err = cli(["export", str(tmp_path / "missing.yaml"), "--out", str(tmp_path)])
    assert code == 2 and "missing.yaml" in err
    code, out, err = cli(["export", str(SEEDS_DIR / "cut_in.yaml"), "--format", "sdl", "--out", str(tmp_path)])
    assert code == 2 and "xosc" in err


@pytest.mark.parametrize("light", ["daylight", "dawn_dusk", "dark_lighted", "dark_unlighted"])
def test_the_rendered_sun_is_the_exported_and_carla_sun(light):
    """One sun elevation per light: what the built-in camera draws is what esmini / CARLA are told."""
    from types import SimpleNamespace

    from adsgen.export.environment import carla_weather_fields
    from adsgen.render import appearance_for

    factors = SimpleNamespace(light=light, weather="clear", surface="dry")
    rendered = appearance_for(light, "clear", "dry").sun_elevation_rad
    assert environment_settings(factors).sun_elevation_rad == pytest.approx(rendered, abs=1e-4)
    assert carla_weather_fields(factors)["sun_altitude_angle"] == pytest.approx(math.degrees(rendered))


@pytest.mark.parametrize("name", ["pedestrian_crossing", "left_turn_across_path"])
def test_arrival_trigger_is_a_time_to_collision_towards_the_conflict_point(seeds, tmp_path, name):
    """ego_arrival: the hero's TimeToCollisionCondition to the conflict point's position (freespace: from its
    bounding box, as the engine measures from the front bumper)."""
    from adsgen.scenario.roads import conflict_point

    sc = next(s.scenario for s in seeds if s.name == name)
    adv = sc.actors[-1]
    cp = conflict_point(sc.road, sc.ego.route, adv.route)
    r = export_scenario(sc, tmp_path)
    assert r.valid, r.schema_errors[:3]
    conds = [c for c in _root(r.xosc).iter("Condition") if c.get("name", "").startswith(adv.id)
             and c.find(".//TimeToCollisionCondition") is not None]
    assert conds
    for c in conds:
        ttc = c.find(".//TimeToCollisionCondition")
        pos = ttc.find("./TimeToCollisionConditionTarget/Position/WorldPosition")
        assert float(ttc.get("value")) == pytest.approx(adv.manoeuvre.trigger.value)
        assert ttc.get("freespace") == "true" and c.find(".//TriggeringEntities/EntityRef").get("entityRef") == "hero"
        assert (float(pos.get("x")), float(pos.get("y"))) == pytest.approx((cp.x_m, cp.y_m), abs=1e-3)
    assert [c.find(".//TimeToCollisionCondition").get("rule") for c in conds] == ["lessThan"]


def test_a_turner_holding_for_its_arrival_trigger_holds_while_the_ego_is_further_out(seeds, tmp_path):
    """With room to approach its line, the turner holds there while the hero's time to the conflict point is
    still above the trigger's (the complement, greaterThan, level-evaluated) and turns once it falls below."""
    sc = next(s.scenario for s in seeds if s.name == "left_turn_across_path")
    turner = sc.actors[0].model_copy(update={"start_s_m": 100.0})
    r = export_scenario(sc.model_copy(update={"actors": [turner]}), tmp_path)
    assert r.valid, r.schema_errors[:3]
    hold = next(c for c in _root(r.xosc).iter("Condition") if c.get("name", "").endswith("_not_yet_triggered"))
    ttc = hold.find(".//TimeToCollisionCondition")
    assert hold.get("conditionEdge") == "none" and ttc.get("rule") == "greaterThan"
    assert float(ttc.get("value")) == pytest.approx(turner.manoeuvre.trigger.value)
    assert ttc.find("./TimeToCollisionConditionTarget/Position/WorldPosition") is not None
