"""The bridge's server-side logic against the fake client API (carla_bridge.testing): runs, cleanup on every
exit path, a server lost mid-run, Ctrl-C, spawn failures, images for image agents, the registry."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from adsgen.errors import BackendError
from adsgen.scenario.io import load_scenario
from adsgen.sim.agents import get_agent
from adsgen.sim.types import TerminationReason

pytest.importorskip("carla")

from carla_bridge.backend import CarlaBackend  # noqa: E402
from carla_bridge.testing import FakeServer  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "carla"


def _scenario(name: str):
    return load_scenario(FIXTURES / f"{name}.yaml")


@pytest.fixture
def server():
    srv = FakeServer()
    srv.world.settings.fixed_delta_seconds = 0.1  # the user's own settings, to be restored exactly
    srv.world.settings.synchronous_mode = False
    yield srv
    srv.shutdown()


def _backend(srv: FakeServer, **kw) -> CarlaBackend:
    host, port = srv.listen()
    return CarlaBackend(f"{host}:{port}", client_factory=srv.client_factory, timeout_s=2.0, **kw)


def _assert_clean(srv: FakeServer) -> None:
    assert srv.alive == [], [a.type_id for a in srv.alive]
    assert srv.world.settings.synchronous_mode is False
    assert srv.world.settings.fixed_delta_seconds == pytest.approx(0.1)
    assert srv.tm_sync is False


def test_runs_every_scenario_like_the_engine_and_cleans_up(server):
    from adsgen.sim.engine import BuiltinBackend

    names = ["lead_brake", "cut_in", "pedestrian", "red_light"]
    scenarios = [_scenario(n) for n in names]
    with _backend(server) as backend:
        results = backend.run(scenarios, get_agent("idm"), seed=3, record_trajectories=True)
    ref = BuiltinBackend().run(scenarios, get_agent("idm"), seed=3)
    for got, want in zip(results, ref, strict=True):
        assert got.backend == "carla" and got.seed == 3 and got.scenario == want.scenario
        assert got.termination is want.termination, got.scenario
        assert got.collision_partner == want.collision_partner
        assert abs(got.min_distance_m - want.min_distance_m) < 0.5
        assert set(got.trajectories) == {"ego", *(a.id for a in _scenario_by(scenarios, got.scenario).actors)}
    _assert_clean(server)
    # synchronous at the engine's step during the run, the traffic manager seeded with the run's seed
    assert any(s.synchronous_mode and s.fixed_delta_seconds == pytest.approx(0.05) for s in server.settings_log)
    assert server.tm_seed == 3 and server.world.pedestrians_seed == 3
    heroes = [a for a in server.spawned if a.attributes.get("role_name") == "hero"]
    assert len(heroes) == len(scenarios) and all(h.type_id.startswith("vehicle.") for h in heroes)
    assert any(a.type_id.startswith("walker.") for a in server.spawned)


def _scenario_by(scenarios, name):
    return next(s for s in scenarios if s.name == name)


def test_weather_and_surface_friction_reach_the_world(server):
    sc = _scenario("lead_brake")  # dawn_dusk, rain, wet
    with _backend(server) as backend:
        (res,) = backend.run([sc], get_agent("idm"))
    assert server.world.weather.precipitation > 50 and server.world.weather.wetness > 50
    assert 0 < server.world.weather.sun_altitude_angle < 15
    ego = next(a for a in server.spawned if a.attributes.get("role_name") == "hero")
    assert ego.physics.wheels[0].tire_friction == pytest.approx(3.5 * 0.55 / 0.85)
    assert res.extra["carla"]["tire_friction"] == pytest.approx(3.5 * 0.55 / 0.85)
    assert res.extra["friction_mu"] == pytest.approx(0.55)


def test_generated_world_is_reused_for_the_same_road(server):
    scs = [_scenario("lead_brake"), _scenario("cut_in"), _scenario("red_light")]  # straight, straight, intersection
    with _backend(server) as backend:
        backend.run(scs, get_agent("idm"))
    assert server.calls.count("generate_opendrive_world") == 2


def test_server_lost_mid_run_is_a_backend_fault_and_the_rest_fail_fast(server):
    server.vanish_at_tick = 20
    scs = [_scenario("lead_brake"), _scenario("cut_in")]
    with _backend(server) as backend:
        results = backend.run(scs, get_agent("idm"))
    assert [r.termination for r in results] == [TerminationReason.BACKEND_FAULT] * 2
    assert "time-out" in results[0].extra["error"]
    assert "unreachable" in results[1].extra["error"]
    assert all(not r.high_risk() for r in results)  # a fault is never counted as a finding
    # cleanup was attempted, once, without waiting on a dead server for every actor
    cleanup = [c for c in server.calls if c in ("sensor.stop", "actor.destroy")]
    assert len(cleanup) == 1


def test_transient_fault_cleans_that_run_and_the_next_scenario_runs(server):
    server.fail_tick_once_at = 15
    scs = [_scenario("cut_in"), _scenario("lead_brake")]
    with _backend(server) as backend:
        first, second = backend.run(scs, get_agent("idm"))
    assert first.termination is TerminationReason.BACKEND_FAULT
    assert second.termination is TerminationReason.TIMEOUT
    _assert_clean(server)


def test_ctrl_c_destroys_everything_and_restores_settings(server):
    server.interrupt_at_tick = 25
    with _backend(server) as backend, pytest.raises(KeyboardInterrupt):
        backend.run([_scenario("pedestrian")], get_agent("idm"))
    assert len(server.spawned) >= 4  # ego, truck, walker, collision sensor
    _assert_clean(server)


def test_an_agent_error_propagates_after_cleanup(server):
    class Broken:
        name, needs_images = "broken", False

        def reset(self, scenarios, seed):
            pass

        def act(self, obs):
            raise ValueError("agent bug")

    with _backend(server) as backend, pytest.raises(ValueError, match="agent bug"):
        backend.run([_scenario("cut_in")], Broken())
    _assert_clean(server)


def test_spawn_failure_destroys_what_was_spawned(server):
    server.fail_spawn_types = ("walker.",)
    with _backend(server) as backend:
        (res,) = backend.run([_scenario("pedestrian")], get_agent("idm"))
    assert res.termination is TerminationReason.BACKEND_FAULT and "Spawn failed" in res.extra["error"]
    _assert_clean(server)


def test_unreachable_server_is_a_clear_error_naming_host_and_port():
    srv = FakeServer()
    host, port = srv.listen()
    srv.shutdown()
    backend = CarlaBackend(f"{host}:{port}", client_factory=srv.client_factory)
    with pytest.raises(BackendError, match=f"{host}:{port}"):
        backend.run([_scenario("cut_in")], get_agent("idm"))


def test_image_agents_get_carla_camera_and_depth(server):
    from adsgen.sim.agents.observation import Action

    seen = []

    class Looker:
        name, needs_images = "looker", True

        def reset(self, scenarios, seed):
            pass

        def act(self, obs):
            snap = obs.snapshot(0)
            seen.append((snap.extra["image_rgb"].shape, float(np.median(snap.extra["depth_m"]))))
            return Action(accel_mps2=np.zeros(1))

    with _backend(server) as backend:
        backend.run([_scenario("lead_brake")], Looker())
    assert seen and seen[0][0] == (450, 800, 3)
    assert seen[0][1] == pytest.approx(20.0, abs=0.01)  # the fake depth camera's 20 m, decoded
    assert sum(a.type_id.startswith("sensor.camera.") for a in server.spawned) == 2
    _assert_clean(server)


def test_registered_as_backend_carla(server, monkeypatch):
    from adsgen.sim.backends import get_backend

    host, port = server.listen()
    backend = get_backend("carla", host=f"{host}:{port}", client_factory=server.client_factory)
    assert backend.name == "carla" and backend.options.port == port
    monkeypatch.setenv("CARLA_HOST", "carla-7:2100")
    assert get_backend("carla").address == "carla-7:2100"


def test_min_ttc_and_distance_are_measured_not_copied(server):
    """A run where the ego stops well short: metrics come from the fake world's poses."""
    with _backend(server) as backend:
        (res,) = backend.run([_scenario("lead_brake")], get_agent("idm"), record_trajectories=True)
    ego = np.array(res.trajectories["ego"])  # (T, 5): t, x, y, yaw, v
    lead = np.array(res.trajectories["lead"])
    gap = np.hypot(lead[:, 1] - ego[:, 1], lead[:, 2] - ego[:, 2]).min() - 4.6  # centre gap - a car length
    assert res.min_distance_m == pytest.approx(gap, abs=0.2)
    assert math.isfinite(res.min_ttc_s)


def _with_manoeuvre(sc, actor_id: str, **update):
    actors = [a.model_copy(update={"manoeuvre": a.manoeuvre.model_copy(update=update)}) if a.id == actor_id else a
              for a in sc.actors]
    return sc.model_copy(update={"actors": actors, "name": f"{sc.name}_{'_'.join(update)}"})


def test_time_to_arrival_triggers_and_weaves_run_like_the_engine(server):
    """The bridge against the fake client: a walker and a turner started on the ego's time-to-arrival at
    their conflict point, and an impaired cutter weaving before its cut-in, end as in the engine."""
    from adsgen.scenario.model import Trigger
    from adsgen.sim.engine import BuiltinBackend

    scenarios = [
        _with_manoeuvre(_scenario("pedestrian"), "walker", trigger=Trigger(kind="ego_arrival", value=2.2)),
        _with_manoeuvre(_scenario("left_turn"), "turner", trigger=Trigger(kind="ego_arrival", value=3.5)),
        _with_manoeuvre(_scenario("cut_in"), "cutter", weave_amp_m=0.35, weave_period_s=3.0),
    ]
    with _backend(server) as backend:
        results = backend.run(scenarios, get_agent("idm"), seed=3, record_trajectories=True)
    ref = BuiltinBackend().run(scenarios, get_agent("idm"), seed=3, record_trajectories=True)
    for got, want in zip(results, ref, strict=True):
        assert (got.termination, got.collision_partner) == (want.termination, want.collision_partner), got.scenario
        assert abs(got.min_distance_m - want.min_distance_m) < 0.5
    assert any(r.high_risk() for r in ref[:2])  # the triggers staged a conflict
    cutter = [row[1] for row in results[2].trajectories["cutter"]][:20]  # x is lateral (north-bound road)
    assert max(cutter) - min(cutter) > 0.3  # the bridge's cutter weaves before it cuts in
    _assert_clean(server)
