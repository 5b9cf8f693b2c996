"""The builtin backend: a batched numpy engine.

State arrays are shaped (batch, slots) with slot 0 the ego and slots 1.. the scenario's actors (padded).
Every step (DT_S = 0.05 s): poses from route coordinates -> collisions, metrics and triggers -> agent
-> actor controls -> friction-limited kinematic bicycle update in route (Frenet) coordinates. The step's
pieces (compiling a batch, the physics, the actors' scripts, the metrics) are the public per-step API in
``adsgen.sim.stepper``, shared with the CARLA bridge; this module is the loop around them, the agent's
observation and the results.

Deterministic: the engine draws no random numbers; agents draw theirs from per-scenario streams
(adsgen.sim.rng), so a scenario gives the same result in a batch of 1 and a batch of 1000.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from adsgen.scenario.geometry import ROUTE_DS_M
from adsgen.scenario.model import Scenario
from adsgen.sim import metrics, stepper
from adsgen.sim.agents.observation import SIGNAL_NAMES, SIGNAL_NONE, Action, Observation
from adsgen.sim.snapshot import ObjectState, WorldSnapshot
from adsgen.sim.stepper import (  # noqa: F401  (re-exported: the engine's constants and compiled batch)
    ACTOR_ACCEL_MPS2,
    ACTOR_DECEL_MPS2,
    ACTOR_GAIN_PER_S,
    COMPLETED_MARGIN_M,
    CURVATURE_AHEAD_M,
    HEAD_GAIN_PER_S,
    LAT_GAIN_PER_M,
    MANOEUVRES,
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
from adsgen.sim.types import DT_S, RunResult, TerminationReason, agent_extra


def _row_min(x: np.ndarray) -> np.ndarray:
    """Minimum over axis 1 of (B, n) -> (B,) (inf for n = 0); explicit for small n (numpy's reductions over
    short axes are slow)."""
    n = x.shape[1]
    if n == 0:
        return np.full(x.shape[0], np.inf)
    out = x[:, 0]
    for j in range(1, n):
        out = np.minimum(out, x[:, j])
    return out


REASONS = (TerminationReason.COLLISION, TerminationReason.OFF_ROAD, TerminationReason.COMPLETED,
           TerminationReason.TIMEOUT)


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
            st = self._simulate(bt, agent, seed, record=record_trajectories)
            for i, res in zip(idx, self._results(bt, st, seed, record_trajectories, agent), strict=True):
                out[i] = res
        return out  # type: ignore[return-value]

    def snapshots(self, scenario: Scenario, agent, seed: int, times_s: Sequence[float]) -> list[WorldSnapshot]:
        """The world at the given times of one run (nearest step; the last step for times past the end)."""
        bt = compile_batch([scenario])
        st = self._simulate(bt, agent, seed, record=True)
        traj = np.stack(st.traj, axis=2)[0]  # (A, T, 7)
        sigs = np.stack(st.signals, axis=1)[0]  # (T,)
        out = []
        for t in times_s:
            k = int(np.clip(round(t / DT_S), 0, traj.shape[1] - 1))
            out.append(self._snapshot(bt, 0, traj[:, k], int(sigs[k]), k * DT_S))
        return out

    # --------------------------------------------------------------------------------------------
    @staticmethod
    def _snapshot(bt: CompiledBatch, i: int, rows: np.ndarray, signal: int, t_s: float) -> WorldSnapshot:
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


    def _simulate(self, bt: CompiledBatch, agent, seed: int, record: bool) -> EngineState:
        b, a = bt.off.shape
        st = EngineState(bt, record)
        t_max = int(bt.n_steps.max())
        agent.reset(bt.scenarios, seed)
        rows = np.arange(b)
        for k in range(t_max + 1):
            t = k * DT_S
            x, y, yaw, cy, sy, kappa, cpsi, spsi, ch, sh = stepper.poses(bt, st)
            vx, vy = st.v * cy, st.v * sy
            live = st.present[:, 1:]
            # ---- collisions, distance, TTC (ego vs each actor) -------------------------------------
            dist, hit, ttc = stepper.contact_metrics(bt, live, x, y, cy, sy, vx, vy)
            run = st.running
            st.min_dist = np.where(run, np.minimum(st.min_dist, _row_min(dist)), st.min_dist)
            st.min_ttc = np.where(run, np.minimum(st.min_ttc, _row_min(ttc)), st.min_ttc)
            stepper.pet_update(bt, st, t)  # conflict-zone occupancy for PET
            if record:
                braking = (st.acc < -1.0).astype(float)
                st.traj.append(np.stack([x, y, yaw, st.v, braking, np.full_like(x, t), st.present],
                                        axis=-1))  # (B, A, 7): x, y, yaw, v, braking, t, present
            # ---- termination -------------------------------------------------------------------------
            collided = run & (hit[:, 0] if a == 2 else hit.any(axis=1))
            e_d = st.d[:, 0]
            off_road = run & ~collided & ((e_d > bt.d_left) | (e_d < -bt.d_right))
            done_route = run & ~collided & ~off_road & (st.s[:, 0] >= bt.rlen[:, 0] - COMPLETED_MARGIN_M)
            timeout = run & ~collided & ~off_road & ~done_route & (k >= bt.n_steps)
            if collided.any():
                j = np.argmax(hit, axis=1)  # first colliding actor
                st.partner = np.where(collided, j + 1, st.partner)
                rel = np.hypot(vx[rows, j + 1] - vx[:, 0], vy[rows, j + 1] - vy[:, 0])
                st.impact = np.where(collided, rel, st.impact)
            st.min_ttc = np.where(collided, 0.0, st.min_ttc)
            for code, m in enumerate((collided, off_road, done_route, timeout)):
                st.reason = np.where(m, code, st.reason)
            ended = collided | off_road | done_route | timeout
            st.t_end = np.where(ended, t, st.t_end)
            st.running = run & ~ended
            if record:
                sigs = np.where(bt.has_signal, stepper.signal_plan_state(t, *bt.sig.T, bt.group[:, 0]), SIGNAL_NONE)
                st.signals.append(sigs)
            if not st.running.any() or k == t_max:
                break
            # ---- triggers, traffic control -----------------------------------------------------------
            if a > 1 and bt.any_distance_trigger:
                cdist = np.hypot(x[:, 1:] - x[:, :1], y[:, 1:] - y[:, :1])  # (B, A-1) [m]
            else:
                cdist = None
            stepper.fire_triggers(bt, st, t, cdist, ttc)
            sig_state = stepper.signal_states(bt, t)  # (B, A)
            stop_gap = stepper.stop_gaps(bt, st)  # (B, A) [m]
            # ---- agent ---------------------------------------------------------------------------------
            obs = self._observe(bt, st, k, t, x, y, yaw, cy, sy, ch, sh, stop_gap, sig_state, ttc)
            action: Action = agent.act(obs)
            acc = np.zeros((b, a))
            acc[:, 0] = action.accel_mps2
            if action.lateral_offset_m is not None:
                st.d_ref[:, 0] = action.lateral_offset_m
            # ---- actors, dynamics ----------------------------------------------------------------------
            stepper.actor_controls(bt, st, t, acc, stop_gap, sig_state)
            stepper.advance(bt, st, acc, kappa, cpsi, spsi, st.present & st.running[:, None])
        return st

    def _observe(self, bt: CompiledBatch, st: EngineState, k: int, t: float, x, y, yaw, cy, sy, ch, sh, stop_gap,
                 sig_state, ttc) -> Observation:
        a = bt.off.shape[1]
        ps, lat, rel_yaw = stepper.path_projection(bt, st, yaw, ch, sh)  # each (B, A-1)
        present = st.present[:, 1:]
        occluded = stepper.occlusion(bt, st, x, y, cy, sy)  # (B, A-1)

        def snap(i: int) -> WorldSnapshot:
            rows = np.stack([x[i], y[i], yaw[i], st.v[i], (st.acc[i] < -1.0).astype(float), np.full(a, t),
                             st.present[i]], axis=-1)
            return self._snapshot(bt, i, rows, int(sig_state[i, 0]), t)

        return Observation(
            step=k, t_s=t, dt_s=DT_S, scenarios=bt.scenarios, active=st.running,
            ego_x_m=x[:, 0], ego_y_m=y[:, 0], ego_yaw_rad=yaw[:, 0], ego_speed_mps=st.v[:, 0],
            ego_length_m=bt.length[:, 0], ego_width_m=bt.width[:, 0], ego_route_s_m=st.s[:, 0],
            ego_lateral_m=st.d[:, 0], ego_desired_speed_mps=bt.v_des[:, 0],
            ego_curvature_ahead_1pm=self._curvature_ahead(bt, st), curvature_ahead_at_m=CURVATURE_AHEAD_M,
            actor_active=present, actor_is_pedestrian=bt.is_ped[:, 1:], actor_x_m=x[:, 1:], actor_y_m=y[:, 1:],
            actor_yaw_rad=yaw[:, 1:], actor_speed_mps=st.v[:, 1:], actor_length_m=bt.length[:, 1:],
            actor_width_m=bt.width[:, 1:], actor_path_s_m=ps, actor_path_lat_m=lat, actor_path_rel_yaw_rad=rel_yaw,
            actor_occluded=occluded, actor_ttc_s=ttc, stop_gap_m=stop_gap[:, 0], signal=sig_state[:, 0].astype(np.int8),
            stop_sign=bt.has_stop_sign & np.isfinite(stop_gap[:, 0]), snapshot=snap)

    @staticmethod
    def _curvature_ahead(bt: CompiledBatch, st: EngineState) -> np.ndarray:
        """|curvature| [1/m] of the ego's route at CURVATURE_AHEAD_M ahead of the ego -> (B, K)."""
        f = (st.s[None, :, 0] + CURVATURE_AHEAD_M[:, None]) * (1.0 / ROUTE_DS_M)  # (K, B)
        idx = bt.off[None, :, 0] + np.minimum(f.astype(np.int64), bt.npts[None, :, 0] - 1)
        return np.abs(bt.K[idx]).T  # (B, K), a view of a (K, B) array: reductions over K stay fast


    def _results(self, bt: CompiledBatch, st: EngineState, seed: int, record: bool,
                 agent=None) -> list[RunResult]:
        pet_all = metrics.pet(st.te_in[:, 1:], st.te_out[:, 1:], st.ta_in[:, 1:], st.ta_out[:, 1:])  # (B, A-1)
        traj = np.stack(st.traj, axis=2) if record else None  # (B, A, T, 7)
        out = []
        for i, sc in enumerate(bt.scenarios):
            reason = REASONS[st.reason[i]] if st.reason[i] >= 0 else TerminationReason.TIMEOUT
            coll = reason is TerminationReason.COLLISION
            p = pet_all[i][~np.isnan(pet_all[i])] if pet_all.size else np.array([])
            if coll and np.isfinite(bt.sc_e[i, st.partner[i]]):
                p = np.array([0.0])  # collided in the conflict zone
            res = RunResult(
                scenario=sc.name, termination=reason,
                duration_s=round(float(st.t_end[i]), 6) if not np.isnan(st.t_end[i]) else sc.horizon_s,
                collision_partner=bt.ids[i][st.partner[i]] if coll else None,
                impact_speed_mps=float(st.impact[i]) if coll else None,
                collision_time_s=round(float(st.t_end[i]), 6) if coll else None,
                min_ttc_s=float(st.min_ttc[i]), min_distance_m=float(st.min_dist[i]),
                pet_s=float(p.min()) if len(p) else None, backend=self.name, seed=seed,
                extra={"friction_mu": float(bt.mu[i]), "content_hash": sc.content_hash(),
                       **agent_extra(agent, i)},
            )
            if traj is not None:
                n = int(round(res.duration_s / DT_S)) + 1
                res.trajectories = {
                    aid: [[round(float(v), 4) for v in (r[5], r[0], r[1], r[2], r[3])] for r in traj[i, j, :n]]
                    for j, aid in enumerate(bt.ids[i])}
            out.append(res)
        return out


__all__ = ["BuiltinBackend", "compile_batch", "SIZES", "MANOEUVRES"]
