"""Render timing: ``render_ms`` (used by ``adsgen bench sim``) on a fixed, representative street scene."""

from __future__ import annotations

import statistics
import time

from adsgen.render.camera import FULL_HEIGHT_PX, FULL_WIDTH_PX
from adsgen.render.renderer import render
from adsgen.scenario.model import Scenario
from adsgen.scenario.roads import build_road
from adsgen.sim.snapshot import ObjectKind, ObjectState, WorldSnapshot

# conditions cycled through by the benchmark (light, weather, surface): plain, the heaviest, and fog
BENCH_CONDITIONS = (("daylight", "clear", "dry"), ("dark_lighted", "rain", "wet"), ("dawn_dusk", "fog", "dry"))


def bench_snapshots() -> list[WorldSnapshot]:
    """A straight signalised road with a braking lead car, a truck, oncoming traffic and a pedestrian,
    one snapshot per condition in BENCH_CONDITIONS."""

    out = []
    for light, weather, surface in BENCH_CONDITIONS:
        sc = Scenario.model_validate(dict(
            name="render_bench",
            factors=dict(light=light, weather=weather, surface=surface, road_layout="straight",
                         traffic_control="signal", speed_limit="mid", other_movement="slowing_stopped",
                         driver_impaired="no", collision_type="rear_end"),
            road=dict(template="straight", lanes=2), ego=dict(route="S_straight_0", start_s_m=150.0, speed_mps=12.0),
            actors=[dict(id="lead", route="S_straight_0", start_s_m=170.0, speed_mps=8.0),
                    dict(id="truck", kind="truck", route="S_straight_1", start_s_m=185.0, speed_mps=8.0),
                    dict(id="oncoming", route="N_straight_0", start_s_m=200.0, speed_mps=12.0),
                    dict(id="walker", kind="pedestrian", route="X_mid_west", start_s_m=3.0, speed_mps=1.4)]))
        net = build_road(sc.road)

        def place(oid: str, kind: ObjectKind, route: str, s: float, size: tuple[float, float, float], net=net,
                  braking: bool = False) -> ObjectState:
            (x, y), h = net.route(route).at(s)
            return ObjectState(oid, kind, float(x), float(y), float(h), 8.0, *size, braking=braking)

        ego = place("ego", "ego", "S_straight_0", 150.0, (4.6, 1.9, 1.5))
        actors = (place("lead", "car", "S_straight_0", 170.0, (4.6, 1.9, 1.5), braking=True),
                  place("truck", "truck", "S_straight_1", 185.0, (9.0, 2.5, 3.5)),
                  place("oncoming", "car", "N_straight_0", 200.0, (4.6, 1.9, 1.5)),
                  place("walker", "pedestrian", "X_mid_west", 3.0, (0.5, 0.6, 1.75)))
        out.append(WorldSnapshot(0.0, sc, ego, actors, signal_state="red"))
    return out


def render_ms(width: int = 800, height: int = 450, repeats: int = 10, camera: str = "CAM_FRONT") -> float:
    """Median wall time [ms] of one render of ``camera`` at width x height (a scale of 1600x900), over
    ``repeats`` renders of each BENCH_CONDITIONS snapshot (after one warm-up render each)."""

    scale = width / FULL_WIDTH_PX
    if abs(height - FULL_HEIGHT_PX * scale) > 1.0:
        raise ValueError(f"{width}x{height} is not a scale of {FULL_WIDTH_PX}x{FULL_HEIGHT_PX}")
    snaps = bench_snapshots()
    for snap in snaps:
        render(snap, camera, scale)
    times = []
    for _ in range(max(1, repeats)):
        for snap in snaps:
            t0 = time.perf_counter()
            render(snap, camera, scale)
            times.append(time.perf_counter() - t0)
    return 1000.0 * statistics.median(times)
