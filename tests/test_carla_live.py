"""Against a live CARLA server (0.9.15 / 0.9.16). Skipped unless CARLA_HOST=host[:port] is set:

    CARLA_HOST=localhost:2000 .venv/bin/pytest -m carla tests/test_carla_live.py
    CARLA_TOWN=Town03 ...   # also run the Town-site tests

They load worlds and run scenarios, so they take minutes, and they leave the server as they found it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adsgen.scenario.io import load_scenario
from adsgen.scenario.model import RoadSpec
from adsgen.scenario.opendrive import write_opendrive
from adsgen.scenario.roads import TEMPLATES, build_road
from adsgen.sim.agents import get_agent
from adsgen.sim.types import TerminationReason

HOST = os.environ.get("CARLA_HOST")
pytestmark = [pytest.mark.carla, pytest.mark.slow,
              pytest.mark.skipif(not HOST, reason="needs a live CARLA server: set CARLA_HOST=host:port")]
FIXTURES = Path(__file__).parent / "fixtures" / "carla"
NAMES = ["lead_brake", "cut_in", "left_turn", "pedestrian", "red_light"]


@pytest.fixture(scope="module")
def client():
    from carla_bridge.connection import connect, parse_host_port

    host, port = parse_host_port(HOST)
    c, check = connect(host, port, 20.0)
    assert check.status in ("ok", "warn")
    return c


def _ours(world):
    return [a for a in world.get_actors() if a.attributes.get("role_name") in ("hero", "scenario")
            or a.type_id.startswith("sensor.")]


def test_check_passes():
    from carla_bridge.check import run_check
    from carla_bridge.connection import parse_host_port

    rep = run_check(*parse_host_port(HOST), timeout_s=20.0)
    assert rep.ok, rep.rows


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_server_generated_world_matches_the_engine_routes(client, template):
    from carla_bridge.parity import map_parity, template_exclusions
    from carla_bridge.world import OpenDriveParams

    net = build_road(RoadSpec(template=template))
    world = client.generate_opendrive_world(write_opendrive(net), OpenDriveParams().to_carla())
    rep = map_parity(world.get_map(), net, template_exclusions(net))
    assert rep.max_m < 0.1 and rep.unmatched_waypoints == 0, rep.worst


def test_fixture_scenarios_run_and_leave_the_server_clean(client):
    from carla_bridge.backend import CarlaBackend

    before = client.get_world().get_settings()
    scenarios = [load_scenario(FIXTURES / f"{n}.yaml") for n in NAMES]
    with CarlaBackend(HOST, timeout_s=20.0) as backend:
        results = backend.run(scenarios, get_agent("idm"), seed=0, record_trajectories=True)
    assert all(r.termination is not TerminationReason.BACKEND_FAULT for r in results), [r.extra for r in results]
    world = client.get_world()
    assert _ours(world) == []
    after = world.get_settings()
    assert after.synchronous_mode == before.synchronous_mode
    assert after.fixed_delta_seconds == before.fixed_delta_seconds


@pytest.mark.skipif(not os.environ.get("CARLA_TOWN"), reason="set CARLA_TOWN=Town03 (a Town with 3- and 4-way junctions)")
def test_town_sites_run():
    from carla_bridge.backend import CarlaBackend

    scenarios = [load_scenario(FIXTURES / f"{n}.yaml") for n in ("left_turn", "cut_in")]
    with CarlaBackend(HOST, timeout_s=30.0, town=os.environ["CARLA_TOWN"]) as backend:
        results = backend.run(scenarios, get_agent("idm"))
    assert all(r.termination is not TerminationReason.BACKEND_FAULT for r in results)
    assert all(r.extra["carla"]["site"]["fit_m"] < 2.0 for r in results)
