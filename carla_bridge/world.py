"""The CARLA world a scenario runs in: the template's own OpenDRIVE road, or a matching site in a Town.

Generated roads (default): ``client.generate_opendrive_world(xodr, OpendriveGenerationParameters(...))``
with the xodr of the scenario's road template, so the lanes are the engine's routes (map parity < 0.1 m,
tests/test_carla_map_parity.py) and the placement is the identity. The world is regenerated only when the
road changes (same xodr text -> same world), and a (re)load resets settings, so synchronous mode is
applied again after every load.

Town (``town='Town03'``): the Town is loaded once, and each template is placed at a site of the Town that
matches it (``carla_bridge.towns``); the scenario's routes are moved there rigidly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adsgen.provenance import text_fingerprint
from adsgen.scenario.model import Scenario
from adsgen.scenario.opendrive import write_opendrive
from adsgen.scenario.roads import build_road
from carla_bridge._carla import import_carla
from carla_bridge.frames import Placement
from carla_bridge.session import SyncMode
from carla_bridge.towns import find_site


@dataclass(frozen=True)
class OpenDriveParams:
    """carla.OpendriveGenerationParameters for generated roads."""

    vertex_distance_m: float = 2.0
    """Mesh vertex spacing [m]."""
    max_road_length_m: float = 50.0
    """Longest mesh piece [m]."""
    wall_height_m: float = 0.0
    """Walls along the road edge [m]; 0 so the ego can leave the road (the engine's off_road)."""
    additional_width_m: float = 0.6
    """Extra drivable width beyond the outermost lane [m]."""
    smooth_junctions: bool = True
    """Smooth the junction meshes."""
    enable_mesh_visibility: bool = True
    """Render the road mesh (cameras need it)."""
    enable_pedestrian_navigation: bool = True
    """Build the walkers' navigation mesh."""

    def to_carla(self) -> Any:
        carla = import_carla()
        return carla.OpendriveGenerationParameters(
            vertex_distance=self.vertex_distance_m, max_road_length=self.max_road_length_m,
            wall_height=self.wall_height_m, additional_width=self.additional_width_m,
            smooth_junctions=self.smooth_junctions, enable_mesh_visibility=self.enable_mesh_visibility,
            enable_pedestrian_navigation=self.enable_pedestrian_navigation)


@dataclass
class WorldManager:
    """Loads the world each scenario needs, keeping synchronous mode on across loads."""

    client: Any
    sync: SyncMode
    town: str | None = None
    opendrive: OpenDriveParams = field(default_factory=OpenDriveParams)
    world: Any = None
    loaded_key: str | None = None
    _sites: dict = field(default_factory=dict)

    def invalidate(self) -> None:
        """Forget what is loaded (after a backend fault: the next scenario loads afresh)."""
        self.loaded_key = None
        self._sites.clear()

    def world_for(self, scenario: Scenario) -> tuple[Any, Placement, dict]:
        """(world, placement of the template in it, info for RunResult.extra)."""
        if self.town is None:
            xodr = write_opendrive(build_road(scenario.road))
            key = text_fingerprint(xodr)
            if key != self.loaded_key:
                self.world = self.client.generate_opendrive_world(xodr, self.opendrive.to_carla())
                self.loaded_key = key
                self.sync.apply(self.world)
            return self.world, Placement(), {"map": "generated", "xodr": key}
        key = f"town:{self.town}"
        if key != self.loaded_key:
            self.world = self.client.load_world(self.town)
            self.loaded_key = key
            self._sites.clear()
            self.sync.apply(self.world)

        site_key = (scenario.road.template, scenario.road.lanes, scenario.road.lane_width_m,
                    scenario.road.curve_radius_m)
        if site_key not in self._sites:
            self._sites[site_key] = find_site(self.world.get_map(), build_road(scenario.road), scenario)
        site = self._sites[site_key]
        return self.world, site.placement, {"map": self.town, "site": site.describe()}
