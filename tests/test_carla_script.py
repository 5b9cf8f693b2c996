"""The bridge's per-tick core reproduces the builtin engine: replaying an engine run's ego through it gives the
same adversary trajectories, triggers, termination and metrics (the guard against drift between the engine's
manoeuvre logic and the script the bridge drives CARLA's actors with)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from adsgen.scenario.io import load_scenario
from adsgen.sim.agents import get_agent
from adsgen.sim.agents.observation import Action
from adsgen.sim.engine import BuiltinBackend
from adsgen.sim.types import DT_S
from carla_bridge.core import EgoCommand, EgoController, Measured, RunCore
from carla_bridge.script import project_on_route

FIXTURES = Path(__file__).parent / "fixtures" / "carla"
NAMES = ["lead_brake", "cut_in", "left_turn", "pedestrian", "red_light", "curve_ice"]


def _replay(sc, ref):
    """Drive RunCore with the engine's recorded ego; actors 'measured' where the script put them."""
    core = RunCore(sc, record=True)
    ego = ref.trajectories["ego"]
    targets = [(x, y, yaw, v, True) for x, y, yaw, v in core.start_poses()[1:]]
    worst = 0.0
    for k in range(len(ego)):
        _, ex, ey, eyaw, ev = ego[k]
        m = Measured(ex, ey, eyaw, ev, *(np.array([p[i] for p in targets]) for i in range(4)))
        for j, actor in enumerate(sc.actors):
            r = ref.trajectories[actor.id][k]
            worst = max(worst, math.hypot(r[1] - targets[j][0], r[2] - targets[j][1]))
        if core.measure(k, m):
            break
        obs = core.observation(k)
        assert obs.ego_route_s_m.shape == (1,) and obs.actor_x_m.shape == (1, len(sc.actors))
        nxt = ego[min(k + 1, len(ego) - 1)]
        core.advance(Action(accel_mps2=np.array([(nxt[4] - ev) / DT_S])))
        targets = core.actor_targets()
    return core.result(ref.seed), worst, core


@pytest.mark.parametrize("name", NAMES)
def test_core_replays_the_engine(name):
    sc = load_scenario(FIXTURES / f"{name}.yaml")
    (ref,) = BuiltinBackend().run([sc], get_agent("idm"), seed=1, record_trajectories=True)
    got, worst_m, _ = _replay(sc, ref)
    assert worst_m < 1e-3  # recorded trajectories are rounded to 1e-4
    assert got.termination is ref.termination
    assert got.duration_s == pytest.approx(ref.duration_s)
    assert got.collision_partner == ref.collision_partner
    assert got.min_ttc_s == pytest.approx(ref.min_ttc_s, abs=1e-2)
    # above NEAR_M the gap is the separating-axis bound, sensitive to the recorded yaw's 1e-4 rad rounding
    assert got.min_distance_m == pytest.approx(ref.min_distance_m, abs=1e-3 if ref.min_distance_m < 10 else 1e-2)
    assert (got.pet_s is None) == (ref.pet_s is None)
    if ref.pet_s is not None:
        assert got.pet_s == pytest.approx(ref.pet_s, abs=DT_S + 1e-9)
    if ref.impact_speed_mps is not None:
        assert got.impact_speed_mps == pytest.approx(ref.impact_speed_mps, abs=0.05)


def test_projection_on_a_curved_route_round_trips():
    from adsgen.scenario.model import RoadSpec
    from adsgen.scenario.roads import build_road

    route = build_road(RoadSpec(template="curve", curve_radius_m=60.0)).route("S_straight_0")
    xy, hd = route.at(130.0)
    nx, ny = -math.sin(hd), math.cos(hd)
    p = project_on_route(route, xy[0] + 0.8 * nx, xy[1] + 0.8 * ny, hd + 0.1, s_hint_m=125.0)
    assert p.s_m == pytest.approx(130.0, abs=0.05) and p.d_m == pytest.approx(0.8, abs=0.01)
    assert p.psi_rad == pytest.approx(0.1, abs=1e-6)


def test_ego_controller_brakes_for_negative_accel_and_steers_towards_the_lateral_target():
    from adsgen.scenario.model import RoadSpec
    from adsgen.scenario.roads import build_road

    route = build_road(RoadSpec(template="straight")).route("S_straight_0")  # heading north
    ctl = EgoController(route, wheelbase_m=2.8, max_steer_deg=70.0)
    x, y = route.xy[40]
    throttle, steer, brake = ctl.control(x, y, math.pi / 2, 20.0, 10.0, EgoCommand(-6.0, 0.0))
    assert brake > 0.5 and throttle == 0.0 and abs(steer) < 1e-6
    throttle, steer, brake = ctl.control(x, y, math.pi / 2, 20.0, 10.0, EgoCommand(1.0, 3.5))
    assert throttle > 0.0 and brake == 0.0
    assert steer < 0.0  # a target to the left is a negative (left) CARLA steer


def test_bridge_uses_only_the_engines_public_api():
    """carla_bridge reaches no private name of adsgen (the engine's per-step API is adsgen.sim.stepper)."""
    import ast

    root = Path(__file__).parent.parent / "carla_bridge"
    private = []
    for path in sorted(root.glob("*.py")):
        tree = ast.parse(path.read_text())
        adsgen_modules = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                          and (n.module or "").startswith("adsgen") for a in n.names}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("adsgen"):
                private += [f"{path.name}: {a.name}" for a in node.names if a.name.startswith("_")]
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                root_node = node.value
                while isinstance(root_node, ast.Attribute):
                    root_node = root_node.value
                if isinstance(root_node, ast.Name) and root_node.id in adsgen_modules:
                    private.append(f"{path.name}: {root_node.id}...{node.attr}")
    assert private == []


@pytest.mark.parametrize(("seed_name", "factors", "params"), [
    ("cut_in", {"collision_type": "rear_end"}, {"actors.cutter.manoeuvre.duration_s": 2.0}),  # cut_in_brake
    ("straight_crossing_path", {"driver_impaired": "distracted"}, {}),  # run_red_light braking late (TTC trigger)
    ("cut_in", {"collision_type": "rear_end", "driver_impaired": "substance"},  # a weaving driver's cut-in
     {"actors.cutter.manoeuvre.trigger.value": 60.0}),
])
def test_core_replays_the_second_phases(seed_name, factors, params):
    from adsgen.paths import SEEDS_DIR
    from adsgen.scenario.io import load_seed
    from adsgen.scenario.mapping import instantiate

    sc = instantiate(load_seed(SEEDS_DIR / f"{seed_name}.yaml"), factors, params)
    (ref,) = BuiltinBackend().run([sc], get_agent("idm"), seed=1, record_trajectories=True)
    adv = ref.trajectories[sc.actors[0].id]
    assert min(r[4] for r in adv) < sc.actors[0].speed_mps - 3.0  # the braking phase happened
    got, worst_m, _ = _replay(sc, ref)
    assert worst_m < 1e-3
    assert (got.termination, got.collision_partner) == (ref.termination, ref.collision_partner)


@pytest.mark.parametrize(("seed_name", "factors"), [
    ("pedestrian_crossing", {"speed_limit": "high"}),  # the walker steps out 3.7 s before the ego's arrival
    ("left_turn_across_path", {"speed_limit": "low", "driver_impaired": "distracted"}),  # the turner at 4.75 s
])
def test_core_fires_time_to_arrival_triggers_as_the_engine(seed_name, factors):
    """ego_arrival triggers read the ego's measured route position and speed: the bridge's script fires them at
    the engine's step, and the actors then move as in the engine."""
    from adsgen.paths import SEEDS_DIR
    from adsgen.scenario.io import load_seed
    from adsgen.scenario.mapping import instantiate
    from adsgen.sim.engine import BuiltinWorld, compile_batch
    from adsgen.sim.episode import Referee, run_episode

    sc = instantiate(load_seed(SEEDS_DIR / f"{seed_name}.yaml"), factors)
    assert sc.actors[-1].manoeuvre.trigger.kind == "ego_arrival"
    (ref,) = BuiltinBackend().run([sc], get_agent("idm"), seed=1, record_trajectories=True)
    bt = compile_batch([sc])
    world = BuiltinWorld(bt)
    run_episode(world, get_agent("idm"), 1, Referee(bt))
    got, worst_m, core = _replay(sc, ref)
    t_engine, t_bridge = world.st.t_trig[0, -1], core.script.st.t_trig[0, -1]
    assert 0.0 < t_engine < ref.duration_s and t_bridge == pytest.approx(t_engine)
    assert worst_m < 1e-3
    assert (got.termination, got.collision_partner) == (ref.termination, ref.collision_partner)
