"""``adsgen carla check``: is a CARLA server usable by adsgen? Reachability, versions, map, a tiny run.

Each step is a row (name, status 'ok' / 'warn' / 'fail' / 'skip', detail); a failed step skips the steps
that need it. The tiny run also measures map parity on the server: the world the server generated from
the template's OpenDRIVE is compared with the engine's routes, as the offline test does with the client.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

from adsgen.errors import AdsgenError, BackendError
from adsgen.scenario.model import Scenario
from adsgen.scenario.roads import build_road
from adsgen.sim.agents import get_agent
from carla_bridge import connection
from carla_bridge.backend import CarlaBackend
from carla_bridge.parity import map_parity, template_exclusions


@dataclass
class CheckRow:
    name: str
    status: str
    detail: str


@dataclass
class CheckReport:
    host: str
    port: int
    rows: list[CheckRow] = field(default_factory=list)

    def add(self, name: str, status: str, detail: str) -> None:
        self.rows.append(CheckRow(name, status, detail))

    @property
    def ok(self) -> bool:
        return all(r.status in ("ok", "warn", "skip") for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "ok": self.ok, "rows": [asdict(r) for r in self.rows]}


def tiny_scenario() -> Any:
    """A 3 s scenario on the straight template: the ego behind a slower car (no collision expected)."""

    return Scenario.model_validate({
        "name": "carla_check_tiny",
        "factors": {"light": "daylight", "weather": "clear", "surface": "dry", "road_layout": "straight",
                    "traffic_control": "none", "speed_limit": "mid", "other_movement": "straight",
                    "driver_impaired": "no", "collision_type": "rear_end"},
        "road": {"template": "straight", "lanes": 2, "lane_width_m": 3.5},
        "ego": {"route": "S_straight_0", "start_s_m": 20.0, "speed_mps": 10.0},
        "actors": [{"id": "lead", "kind": "car", "route": "S_straight_0", "start_s_m": 60.0, "speed_mps": 8.0}],
        "horizon_s": 3.0,
    })


def run_check(host: str, port: int, *, timeout_s: float = 10.0, run: bool = True, town: str | None = None,
              client_factory: connection.ClientFactory | None = None) -> CheckReport:
    """Run the checks; never raises for server problems (they become 'fail' rows)."""
    rep = CheckReport(host, port)
    try:
        rtt = connection.probe_tcp(host, port)
        rep.add("reachable", "ok", f"TCP {host}:{port} answered in {rtt * 1000:.1f} ms")
    except BackendError as exc:
        rep.add("reachable", "fail", str(exc))
        return rep
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", connection.VersionMismatchWarning)
            client, check = connection.connect(host, port, timeout_s, client_factory=client_factory)
        rep.add("versions", check.status, check.message)
    except BackendError as exc:
        rep.add("versions", "fail", str(exc))
        return rep
    try:
        world = client.get_world()
        settings = world.get_settings()
        rep.add("map", "ok", f"{world.get_map().name} (synchronous_mode={settings.synchronous_mode}, "
                             f"fixed_delta_seconds={settings.fixed_delta_seconds})")
    except RuntimeError as exc:
        rep.add("map", "fail", f"reading the world failed: {exc}")
        return rep
    if not run:
        rep.add("tiny run", "skip", "--no-run")
        return rep
    _tiny_run(rep, host, port, timeout_s, town, client_factory)
    return rep


def _tiny_run(rep: CheckReport, host: str, port: int, timeout_s: float, town: str | None,
              client_factory: connection.ClientFactory | None) -> None:
    sc = tiny_scenario()
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", connection.VersionMismatchWarning)
            with CarlaBackend(f"{host}:{port}", timeout_s=timeout_s, town=town,
                              client_factory=client_factory) as backend:
                (res,) = backend.run([sc], get_agent("idm"))
                cmap = None
                if res.termination.value != "backend_fault" and backend.worlds and backend.worlds.world:
                    cmap = backend.worlds.world.get_map()
    except (AdsgenError, RuntimeError) as exc:
        rep.add("tiny run", "fail", str(exc))
        return
    wall = time.perf_counter() - t0
    status = "fail" if res.termination.value == "backend_fault" else "ok"
    rep.add("tiny run", status, f"{res.termination.value} after {res.duration_s:.2f} s simulated "
                                f"({wall:.1f} s wall, {res.duration_s / max(wall, 1e-9):.2f}x real time); "
                                f"min gap {res.min_distance_m:.2f} m" + (f"; {res.extra.get('error')}"
                                                                         if status == "fail" else ""))
    if status == "ok" and town is None and cmap is not None:
        net = build_road(sc.road)
        par = map_parity(cmap, net, template_exclusions(net))
        rep.add("map parity", "ok" if par.max_m < 0.1 and par.unmatched_waypoints == 0 else "fail",
                f"server's lanes vs engine routes: worst {par.max_m:.3f} m over {par.waypoints} waypoints "
                f"and {par.route_points} route points")
