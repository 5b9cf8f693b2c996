"""The CARLA bridge without a server: frames, connection probe and version rules, weather table, blueprints.
Uses the real carla wheel's offline types."""

from __future__ import annotations

import math
import socket
import time

import pytest

from adsgen.errors import BackendError, ConfigError
from adsgen.scenario.model import Factors

carla = pytest.importorskip("carla")

from carla_bridge import connection, frames, weather  # noqa: E402
from carla_bridge.testing import FakeServer  # noqa: E402


def _factors(**kw) -> Factors:
    base = dict(light="daylight", weather="clear", surface="dry", road_layout="straight", traffic_control="none",
                speed_limit="mid", other_movement="straight", driver_impaired="no", collision_type="rear_end")
    base.update(kw)
    return Factors(**base)


# --- frames ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("yaw", [0.0, 0.3, math.pi / 2, -2.5, 3.1])
def test_pose_round_trips_through_carla_transform(yaw):
    tf = frames.transform(12.5, -4.0, yaw, z_m=0.5)
    assert isinstance(tf, carla.Transform)
    assert tf.location.y == pytest.approx(4.0)  # left-handed: y flipped
    x, y, back = frames.pose_from_carla(tf)
    assert (x, y) == pytest.approx((12.5, -4.0), abs=1e-5)
    assert math.cos(back - yaw) == pytest.approx(1.0, abs=1e-9)


def test_heading_north_points_along_negative_carla_y():
    # engine yaw +90 deg (north, +y) is CARLA yaw -90 deg, whose forward vector is -y in CARLA
    fwd = frames.transform(0.0, 0.0, math.pi / 2).get_forward_vector()
    assert (fwd.x, fwd.y) == pytest.approx((0.0, -1.0), abs=1e-6)
    vx, vy = frames.velocity_from_carla(frames.velocity(3.0, 4.0))
    assert (vx, vy) == pytest.approx((3.0, 4.0))


# --- connection -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("localhost", ("localhost", 2000)), ("10.0.0.7:2010", ("10.0.0.7", 2010)),
    ("[::1]:3000", ("::1", 3000)), (" carla-3 ", ("carla-3", 2000))])
def test_parse_host_port(text, expected):
    assert connection.parse_host_port(text) == expected


@pytest.mark.parametrize("text", ["a:b", "host:0", "host:70000", "", "a b"])
def test_parse_host_port_rejects(text):
    with pytest.raises(ConfigError, match="--carla-host"):
        connection.parse_host_port(text)


def test_probe_fails_fast_and_names_host_port_when_nothing_listens():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # a port nothing listens on
    t0 = time.perf_counter()
    with pytest.raises(BackendError, match=f"127.0.0.1:{port}"):
        connection.connect("127.0.0.1", port, timeout_s=30.0)
    assert time.perf_counter() - t0 < 3.0  # not the client's 30 s timeout


@pytest.mark.parametrize("client,server,status", [
    ("0.9.16", "0.9.16", "ok"), ("0.9.16", "0.9.16-dirty", "ok"), ("0.9.16", "0.9.15", "warn"),
    ("0.9.16", "0.9.15.2", "warn"), ("0.9.16", "0.9.14", "error"), ("0.9.16", "0.10.0", "error"),
    ("0.9.16", "garbage", "error")])
def test_version_rules(client, server, status):
    assert connection.check_versions(client, server).status == status


def test_connect_checks_versions_against_the_server():
    server = FakeServer(version="0.9.15")
    host, port = server.listen()
    try:
        with pytest.warns(connection.VersionMismatchWarning, match="0.9.15"):
            client, check = connection.connect(host, port, 5.0, client_factory=server.client_factory)
        assert check.status == "warn" and client.timeout_s == 5.0
        with pytest.raises(BackendError, match="0.9.15"):
            connection.connect(host, port, 5.0, client_factory=server.client_factory, strict_version=True)
        server.version = "0.9.13"
        with pytest.raises(BackendError, match="not supported"):
            connection.connect(host, port, 5.0, client_factory=server.client_factory)
    finally:
        server.shutdown()


# --- weather --------------------------------------------------------------------------------------

def test_weather_table_covers_every_state_and_builds_carla_weather():
    from adsgen.variables import STATES

    for factor in weather.WEATHER_FACTORS:
        for state in STATES[factor]:
            assert (factor, state) in weather.CARLA_WEATHER_TABLE, (factor, state)
    w = weather.weather_parameters(_factors(light="dark_unlighted", weather="fog", surface="wet"))
    assert isinstance(w, carla.WeatherParameters)
    assert w.sun_altitude_angle < 0 and w.fog_density >= 50 and w.wetness > 50
    clear = weather.weather_parameters(_factors())
    assert clear.sun_altitude_angle > 30 and clear.fog_density == 0 and clear.precipitation == 0
    rain = weather.weather_parameters(_factors(weather="rain"))
    assert rain.precipitation > 50 and rain.cloudiness > clear.cloudiness


def test_exported_environment_and_carla_weather_come_from_the_same_numbers():
    """Read the way ScenarioRunner reads an .xosc Environment, the export sets the bridge's sun, clouds and
    rain, for every light x weather x surface; the friction scale is the bridge's tyre scale."""
    import itertools

    from adsgen.export import environment_settings
    from adsgen.scenario.mapping import FRICTION_MU, friction_mu
    from adsgen.variables import STATES

    for light, wx, surface in itertools.product(STATES["light"], STATES["weather"], STATES["surface"]):
        f = _factors(light=light, weather=wx, surface=surface)
        env, w = environment_settings(f), weather.weather_parameters(f)
        assert math.degrees(env.sun_elevation_rad) == pytest.approx(w.sun_altitude_angle, abs=0.01)
        assert math.degrees(env.sun_azimuth_rad) == pytest.approx(w.sun_azimuth_angle, abs=0.01)
        assert 100 - 100 * env.sun_intensity == pytest.approx(w.cloudiness, abs=0.1)
        rain = 100 * env.precipitation_intensity if env.precipitation == "rain" else 0.0
        assert rain == pytest.approx(w.precipitation, abs=0.1)
        assert env.friction_scale == pytest.approx(friction_mu(f) / FRICTION_MU["dry"], abs=1e-3)


def test_exported_blueprints_are_the_ones_the_bridge_spawns():
    from adsgen.export import actor_model
    from carla_bridge import actors

    lib = FakeServer().world.get_blueprint_library()
    for kind in ("ego", "car", "truck", "pedestrian"):
        assert actors.pick_blueprint(lib, kind, "scenario").id == actor_model(kind).blueprint, kind


def test_street_lights_follow_the_light_factor():
    server = FakeServer(street_lights=3)
    assert weather.apply_street_lights(server.world, _factors(light="dark_lighted")) == 3
    assert server.world.light_manager.on is True
    weather.apply_street_lights(server.world, _factors(light="dark_unlighted"))
    assert server.world.light_manager.on is False


# --- blueprints and friction ----------------------------------------------------------------------

def test_blueprints_by_kind_and_friction_scaling():
    from carla_bridge import actors

    server = FakeServer()
    lib = server.world.get_blueprint_library()
    ego = actors.pick_blueprint(lib, "ego", actors.EGO_ROLE_NAME)
    assert ego.id == "vehicle.lincoln.mkz_2020" and ego.attributes["role_name"] == "hero"
    assert actors.pick_blueprint(lib, "truck", "scenario").id == "vehicle.carlamotors.european_hgv"
    assert actors.pick_blueprint(lib, "pedestrian", "scenario").id.startswith("walker.pedestrian.")
    with pytest.raises(ConfigError, match="bicycle"):
        actors.pick_blueprint(lib, "bicycle", "scenario")
    car = server.world.spawn_actor(ego, frames.transform(0, 0, 0))
    before = car.get_physics_control().wheels[0].tire_friction
    after = actors.apply_surface_friction(car, 0.5)
    assert after == pytest.approx([before * 0.5] * 4)
