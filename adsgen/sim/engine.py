"""The builtin backend: a batched numpy engine.

State arrays are shaped (batch, slots) with slot 0 the ego and slots 1.. the scenario's actors (padded).
``BuiltinWorld`` is the engine as a world of the episode owner (``adsgen.sim.episode``), which owns the
tick order, termination, metrics and results: every step (DT_S = 0.05 s) poses from route coordinates
-> the referee's collisions, metrics and termination -> triggers -> agent -> actor controls ->
friction-limited kinematic bicycle update in route (Frenet) coordinates. The step's pieces (compiling a
batch, the physics, the actors' scripts) are the public per-step API in ``adsgen.sim.stepper``, shared with
the CARLA bridge; this module adapts them to the World protocol and builds the agent's observation.

Deterministic: the engine draws no random numbers; agents draw theirs from per-scenario streams
(adsgen.sim.rng), so a scenario gives the same result in a batch of 1 and a batch of 1000.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from adsgen.scenario.geometry import ROUTE_DS_M
from adsgen.scenario.model import Scenario
from adsgen.sim import stepper
from adsgen.sim.agents.observation import SIGNAL_NAMES, SIGNAL_NONE, Action, Observation
from adsgen.sim.episode import Poses, Referee, run_episode
from adsgen.sim.snapshot import ObjectState, WorldSnapshot, brake_lights
from adsgen.sim.stepper import (  # noqa: F401  (re-exported: the engine's constants and compiled batch)
    ACTOR_ACCEL_MPS2,
    ACTOR_DECEL_MPS2,
    ACTOR_GAIN_PER_S,
    COMPLETED_MARGIN_M,
    CURVATURE_AHEAD_M,
    HEAD_GAIN_PER_S,
    LAT_GAIN_PER_M,
    MAX_ACCEL_MPS2,
    MAX_PSI_RAD,
    MAX_STEER_RAD,
    NEAR_M,
    SIZES,
    TAN_MAX_STEER,
    TRIGGER_KINDS,
    WHEELBASE_FRACTION,
    CompiledBatch,
    EngineState,
    M,
    compile_batch,
)
from adsgen.sim.types import DT_S, RunResult, agent_extra


class BuiltinBackend:
    """The embedded batched engine (Backend protocol)."""

    name = "builtin"

    def __init__(self) -> None:
        self._closed = False

    def close(self) -> None:
        self._closed = True

    def run(self, scenarios: Sequence[Scenario], agent, seed: int = 0, *,
            record_trajectories: bool = False) -> list[RunResult]:
        """Run each scenario against the agent; one RunResult per scenario, in order."""
        if self._closed:
            raise RuntimeError("BuiltinBackend.run() after close()")
        # simulate scenarios with the same number of actors together (less padding); results do not
        # depend on the grouping because every scenario's arithmetic is row-independent
        groups: dict[int, list[int]] = {}
        for i, sc in enumerate(scenarios):
            groups.setdefault(len(sc.actors), []).append(i)
        out: list[RunResult | None] = [None] * len(scenarios)
        for _, idx in sorted(groups.items()):
            bt = compile_batch([scenarios[i] for i in idx])
            _, referee = self._simulate(bt, agent, seed, record_trajectories)
            extras = [agent_extra(agent, i) for i in range(len(idx))]
            for i, res in zip(idx, referee.results(seed, self.name, extras), strict=True):
                out[i] = res
        return out  # type: ignore[return-value]

    def snapshots(self, scenario: Scenario, agent, seed: int, times_s: Sequence[float]) -> list[WorldSnapshot]:
        """The world at the given times of one run (nearest step; the last step for times past the end)."""
        bt = compile_batch([scenario])
        world, referee = self._simulate(bt, agent, seed, record=True)
        traj = np.stack(referee.traj, axis=2)[0]  # (A, T, 7)
        sigs = np.stack(world.signals, axis=1)[0]  # (T,)
        out = []
        for t in times_s:
            k = int(np.clip(round(t / DT_S), 0, traj.shape[1] - 1))
            out.append(snapshot_of(bt, 0, traj[:, k], int(sigs[k]), k * DT_S))
        return out

    @staticmethod
    def _simulate(bt: CompiledBatch, agent, seed: int, record: bool) -> tuple[BuiltinWorld, Referee]:
        world = BuiltinWorld(bt, record)
        referee = run_episode(world, agent, seed, Referee(bt, record))
        return world, referee


def snapshot_of(bt: CompiledBatch, i: int, rows: np.ndarray, signal: int, t_s: float) -> WorldSnapshot:
    """Row i's world from per-slot rows (A, 7): x, y, yaw, v, braking, t, present."""
    objs = []
    for j, (aid, kind) in enumerate(zip(bt.ids[i], bt.kinds[i], strict=True)):
        x, y, yaw, v, braking, _, present = rows[j]
        if j > 0 and not present:  # it has left the map at its route's end
            continue
        objs.append(ObjectState(aid, kind, float(x), float(y), float(yaw), float(v), float(bt.length[i, j]),
                                float(bt.width[i, j]), float(bt.height[i, j]), bool(braking)))
    sig = SIGNAL_NAMES[signal] if bt.has_signal[i] else None
    return WorldSnapshot(time_s=t_s, scenario=bt.scenarios[i], ego=objs[0], actors=tuple(objs[1:]),
                         signal_state=sig)


class BuiltinWorld:
    """The batched engine as an ``adsgen.sim.episode.World``: route-coordinate state stepped by
    ``adsgen.sim.stepper``; the referee judges what ``measure`` returns."""

    def __init__(self, bt: CompiledBatch, record: bool = False):
        self.bt = bt
        self.record = record
        self.st = EngineState(bt)
        self.signals: list[np.ndarray] = []  # per step (B,) ego signal state (recorded for snapshots)
        self._agent = None
        self._pose: tuple = ()
        self._acc: np.ndarray | None = None
        self._t = 0.0

    def reset(self, agent, seed: int) -> None:
        self._agent = agent
        agent.reset(self.bt.scenarios, seed)

    def measure(self, k: int) -> Poses:
        bt, st = self.bt, self.st
        t = k * DT_S
        self._pose = stepper.poses(bt, st)
        x, y, yaw, cy, sy = self._pose[:5]
        if self.record:
            self.signals.append(np.where(bt.has_signal, stepper.signal_plan_state(t, bt.sig, bt.group[:, 0]),
                                         SIGNAL_NONE))
        braking = brake_lights(st.acc).astype(float) if self.record else None
        return Poses(t, x, y, yaw, cy, sy, st.v, st.s, st.d, st.present, braking)

    def observe(self, k: int, poses: Poses, referee: Referee) -> Observation:
        bt, st, t = self.bt, self.st, poses.t_s
        self._t = t
        x, y, yaw, cy, sy, _, _, _, ch, sh = self._pose
        if bt.off.shape[1] > 1 and bt.any_distance_trigger:
            cdist = np.hypot(x[:, 1:] - x[:, :1], y[:, 1:] - y[:, :1])  # (B, A-1) [m]
        else:
            cdist = None
        ttc = referee.ttc
        stepper.fire_triggers(bt, st, t, cdist, ttc)
        self._sig_state = sig_state = stepper.signal_states(bt, t)  # (B, A)
        self._stop_gap = stop_gap = stepper.stop_gaps(bt, st)  # (B, A) [m]
        a = bt.off.shape[1]
        ps, lat, rel_yaw = stepper.path_projection(bt, st, yaw, ch, sh)  # each (B, A-1)
        occluded = stepper.occlusion(bt, st, x, y, cy, sy)  # (B, A-1)

        def snap(i: int) -> WorldSnapshot:
            rows = np.stack([x[i], y[i], yaw[i], st.v[i], brake_lights(st.acc[i]).astype(float), np.full(a, t),
                             st.present[i]], axis=-1)
            return snapshot_of(bt, i, rows, int(sig_state[i, 0]), t)

        return Observation(
            step=k, t_s=t, dt_s=DT_S, scenarios=bt.scenarios, active=referee.running,
            ego_x_m=x[:, 0], ego_y_m=y[:, 0], ego_yaw_rad=yaw[:, 0], ego_speed_mps=st.v[:, 0],
            ego_length_m=bt.length[:, 0], ego_width_m=bt.width[:, 0], ego_route_s_m=st.s[:, 0],
            ego_lateral_m=st.d[:, 0], ego_desired_speed_mps=bt.v_des[:, 0],
            ego_curvature_ahead_1pm=self._curvature_ahead(), curvature_ahead_at_m=CURVATURE_AHEAD_M,
            actor_active=st.present[:, 1:], actor_is_pedestrian=bt.is_ped[:, 1:], actor_x_m=x[:, 1:],
            actor_y_m=y[:, 1:], actor_yaw_rad=yaw[:, 1:], actor_speed_mps=st.v[:, 1:],
            actor_length_m=bt.length[:, 1:], actor_width_m=bt.width[:, 1:], actor_path_s_m=ps,
            actor_path_lat_m=lat, actor_path_rel_yaw_rad=rel_yaw, actor_occluded=occluded, actor_ttc_s=ttc,
            stop_gap_m=stop_gap[:, 0], signal=sig_state[:, 0].astype(np.int8),
            stop_sign=bt.has_stop_sign & np.isfinite(stop_gap[:, 0]), snapshot=snap,
            renderer=getattr(self._agent, "renderer", None))

    def apply(self, action: Action, running: np.ndarray) -> None:
        bt, st = self.bt, self.st
        acc = np.zeros(bt.off.shape)
        acc[:, 0] = action.accel_mps2
        if action.lateral_offset_m is not None:
            st.d_ref[:, 0] = action.lateral_offset_m
        stepper.actor_controls(bt, st, self._t, acc, self._stop_gap, self._sig_state)
        self._acc = acc

    def tick(self, running: np.ndarray) -> None:
        bt, st = self.bt, self.st
        kappa, cpsi, spsi = self._pose[5:8]
        assert self._acc is not None  # set by apply(), which the referee calls before tick()
        stepper.advance(bt, st, self._acc, kappa, cpsi, spsi, st.present & running[:, None])

    def _curvature_ahead(self) -> np.ndarray:
        """|curvature| [1/m] of the ego's route at CURVATURE_AHEAD_M ahead of the ego -> (B, K)."""
        bt, st = self.bt, self.st
        f = (st.s[None, :, 0] + CURVATURE_AHEAD_M[:, None]) * (1.0 / ROUTE_DS_M)  # (K, B)
        idx = bt.off[None, :, 0] + np.minimum(f.astype(np.int64), bt.npts[None, :, 0] - 1)
        return np.abs(bt.K[idx]).T  # (B, K), a view of a (K, B) array: reductions over K stay fast


__all__ = ["BuiltinBackend", "BuiltinWorld", "compile_batch", "snapshot_of", "SIZES"]
