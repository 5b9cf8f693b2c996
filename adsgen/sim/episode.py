"""The episode owner: one tick order, one termination rule, one set of metrics, one RunResult assembly.

Every backend runs its scenarios through ``run_episode``; a backend only implements the small ``World``
protocol below (reset, measure poses, observe, apply controls, tick), as Scenic's ``Simulation`` owns the
loop and its simulators override stepping, reading properties and executing actions. The ``Referee``
judges what a world measured, the same way for the builtin batched engine (a batch of B scenarios),
the CARLA bridge (a batch of one) and the scalar test oracle (``adsgen.sim.reference``, which computes its
own metrics in plain Python and hands them to ``assemble_result``).

Tick order, at t = k * DT_S:

1. ``world.measure(k)`` -> ``Poses``: where everything is.
2. ``Referee.measure(k, poses)``: collisions, box distance, TTC, PET, the at-fault evidence
   (``adsgen.sim.fault``), then termination in this precedence: collision, off road, route completed,
   horizon reached. The run of a row that ends here takes no further steps.
3. Unless every row has ended: ``world.observe(k, poses, referee)`` (the world fires its triggers and
   builds the agent's Observation), ``agent.act(obs)``, ``world.apply(action, running)`` (the agent's and
   the actors' controls), ``world.tick(running)`` (one DT_S of physics).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from adsgen.scenario.model import Scenario
from adsgen.sim import fault, metrics
from adsgen.sim.stepper import COMPLETED_MARGIN_M, CompiledBatch, contact_metrics
from adsgen.sim.types import DT_S, RunResult, TerminationReason

REASONS = (TerminationReason.COLLISION, TerminationReason.OFF_ROAD, TerminationReason.COMPLETED,
           TerminationReason.TIMEOUT)
"""Termination reasons by code, in order of precedence."""


@dataclass
class Poses:
    """One tick's measured world in the template's engine frame; arrays (B, A), slot 0 the ego."""

    t_s: float
    x: np.ndarray
    y: np.ndarray
    yaw: np.ndarray
    cos_yaw: np.ndarray
    sin_yaw: np.ndarray
    speed: np.ndarray
    route_s: np.ndarray
    """[m] arc length along each slot's own route (the ego's projected on its route)."""
    lateral: np.ndarray
    """[m] offset from each slot's own route centre-line, left positive."""
    present: np.ndarray
    """bool: the slot is on the map (actors leave it at their route's end)."""
    braking: np.ndarray | None = None
    """(B, A) 1.0 where a slot brakes harder than 1 m/s2 (recorded for snapshots), else 0.0."""
    sensor_partner: np.ndarray | None = None
    """(B,) actor index (0-based, scenario order) a collision sensor reported this tick, -1 none; None when
    the world has no such sensor (then the geometric overlap test alone decides)."""


class World(Protocol):
    """What a backend implements for ``run_episode``: a batch of scenarios it can measure and step."""

    bt: CompiledBatch
    """The compiled batch (sizes, routes, conflict points the referee reads)."""

    def reset(self, agent: Any, seed: int) -> None:
        """Put every scenario at t = 0 and reset the agent."""

    def measure(self, k: int) -> Poses:
        """The world at step k."""

    def observe(self, k: int, poses: Poses, referee: Referee) -> Any:
        """Fire triggers, settle traffic control; the agent's Observation of step k."""

    def apply(self, action: Any, running: np.ndarray) -> None:
        """The agent's controls and the actors' script for the rows still running."""

    def tick(self, running: np.ndarray) -> None:
        """Advance the rows still running by DT_S."""


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


class Referee:
    """Metrics, termination, at-fault evidence and results of a batch of runs (B rows, A slots)."""

    def __init__(self, bt: CompiledBatch, record: bool = False):
        b, a = bt.off.shape
        self.bt = bt
        self.record = record
        self.running = np.ones(b, bool)
        self.reason = np.full(b, -1, int)            # index into REASONS
        self.partner = np.full(b, -1, int)           # colliding slot (1..)
        self.impact = np.full(b, np.nan)
        self.t_end = np.full(b, np.nan)
        self.min_ttc = np.full(b, np.inf)
        self.min_dist = np.full(b, np.inf)
        self.te_in, self.te_out = np.full((b, a), np.nan), np.full((b, a), np.nan)
        self.ta_in, self.ta_out = np.full((b, a), np.nan), np.full((b, a), np.nan)
        self.left_lane_s = np.full((b, a - 1), np.inf)  # when each actor last left its lane (inf: in lane)
        self.fault_code = np.full(b, -1, int)        # adsgen.sim.fault rule at the event (-1: none yet)
        self.sensor_hit = np.zeros(b, bool)          # the collision came from a collision sensor
        self.has_sensor = False                      # the world reports a collision sensor
        self.lane_w = np.array([sc.road.lane_width_m for sc in bt.scenarios])[:, None]  # (B, 1) [m]
        self.ttc = np.full((b, a - 1), np.inf)       # this tick's TTC per actor (worlds fire TTC triggers on it)
        self.traj: list[np.ndarray] = []             # per step (B, A, 7): x, y, yaw, v, braking, t, present

    def measure(self, k: int, p: Poses) -> None:
        """Judge step k: metrics, at-fault evidence and termination of the rows still running."""
        bt, t = self.bt, p.t_s
        a = bt.off.shape[1]
        vx, vy = p.speed * p.cos_yaw, p.speed * p.sin_yaw
        live = p.present[:, 1:]
        dist, hit, ttc = contact_metrics(bt, live, p.x, p.y, p.cos_yaw, p.sin_yaw, vx, vy)
        self.ttc = ttc
        run = self.running
        self.min_dist = np.where(run, np.minimum(self.min_dist, _row_min(dist)), self.min_dist)
        tick_ttc = _row_min(ttc)
        improved = run & (tick_ttc < self.min_ttc)
        self.min_ttc = np.where(improved, tick_ttc, self.min_ttc)
        self._pet(p.route_s, t)
        if a > 1:  # lane departures of the actors (vehicles only: pedestrians keep their path's centre)
            out = fault.left_lane(p.lateral[:, 1:], bt.width[:, 1:], self.lane_w) & bt.veh[:, 1:]
            self.left_lane_s = np.where(out, np.minimum(self.left_lane_s, t), np.inf)
        if self.record:
            braking = p.braking if p.braking is not None else np.zeros_like(p.x)
            self.traj.append(np.stack([p.x, p.y, p.yaw, p.speed, braking, np.full_like(p.x, t), p.present],
                                      axis=-1))
        # ---- termination, in order of precedence --------------------------------------------------
        any_hit = hit[:, 0] if a == 2 else hit.any(axis=1)
        sensor = p.sensor_partner
        if sensor is not None:
            self.has_sensor = True
            any_hit = any_hit | (sensor >= 0)
        collided = run & any_hit
        e_d = p.lateral[:, 0]
        off_road = run & ~collided & ((e_d > bt.d_left) | (e_d < -bt.d_right))
        done_route = run & ~collided & ~off_road & (p.route_s[:, 0] >= bt.rlen[:, 0] - COMPLETED_MARGIN_M)
        timeout = run & ~collided & ~off_road & ~done_route & (k >= bt.n_steps)
        if collided.any():
            j = np.argmax(hit, axis=1)  # first colliding actor by the overlap test
            if sensor is not None:
                self.sensor_hit = np.where(collided & (sensor >= 0), True, self.sensor_hit)
                j = np.where(sensor >= 0, sensor, j)
            rows = np.arange(len(j))
            self.partner = np.where(collided, j + 1, self.partner)
            rel = np.hypot(vx[rows, j + 1] - vx[:, 0], vy[rows, j + 1] - vy[:, 0])
            self.impact = np.where(collided, rel, self.impact)
            self.min_ttc = np.where(collided, 0.0, self.min_ttc)
        # ---- who is at fault: at the collision, else at the closest encounter so far ---------------
        judge = improved | collided
        if judge.any():
            r = np.flatnonzero(judge)
            j = np.where(collided[r], self.partner[r] - 1, np.argmin(ttc[r], axis=1))
            self.fault_code[r] = fault.classify(
                p.x[r, 0], p.y[r, 0], p.cos_yaw[r, 0], p.sin_yaw[r, 0], p.speed[r, 0], bt.length[r, 0],
                p.x[r, j + 1], p.y[r, j + 1], self.left_lane_s[r, j], t)
        for code, m in enumerate((collided, off_road, done_route, timeout)):
            self.reason = np.where(m, code, self.reason)
        ended = collided | off_road | done_route | timeout
        self.t_end = np.where(ended, t, self.t_end)
        self.running = run & ~ended

    def _pet(self, route_s: np.ndarray, t: float) -> None:
        """Entry/exit times of the ego and each actor into the conflict zone of their crossing paths
        (rows with a conflict point only)."""
        bt = self.bt
        if not bt.any_conflict:
            return
        r = bt.pet_rows
        half_e, half_a = bt.length[r, :1] / 2, bt.length[r, 1:] / 2
        zone_e = bt.width[r, 1:] / 2 + 0.5  # [m] half-extent of the zone along the ego route
        zone_a = bt.width[r, :1] / 2 + 0.5
        se, sa = route_s[r, :1], route_s[r, 1:]
        run = self.running[r, None]
        sc_e, sc_a = bt.sc_e[r, 1:], bt.sc_a[r, 1:]
        for arr, cond in ((self.te_in, se + half_e >= sc_e - zone_e), (self.te_out, se - half_e > sc_e + zone_e),
                          (self.ta_in, sa + half_a >= sc_a - zone_a), (self.ta_out, sa - half_a > sc_a + zone_a)):
            view = arr[r, 1:]
            arr[r, 1:] = np.where(np.isnan(view) & cond & run, t, view)

    def results(self, seed: int, backend: str, extras: Sequence[dict[str, Any]] | None = None) -> list[RunResult]:
        """One RunResult per row (``extras[i]`` merged into row i's extra)."""
        bt = self.bt
        pet_all = metrics.pet(self.te_in[:, 1:], self.te_out[:, 1:], self.ta_in[:, 1:], self.ta_out[:, 1:])
        traj = np.stack(self.traj, axis=2) if self.record else None  # (B, A, T, 7)
        out = []
        for i, sc in enumerate(bt.scenarios):
            reason = REASONS[self.reason[i]] if self.reason[i] >= 0 else TerminationReason.TIMEOUT
            coll = reason is TerminationReason.COLLISION
            p = pet_all[i][~np.isnan(pet_all[i])] if pet_all.size else np.array([])
            if coll and np.isfinite(bt.sc_e[i, self.partner[i]]):
                p = np.array([0.0])  # collided in the conflict zone
            extra = {}
            if coll and self.has_sensor:  # which detector fired first: the world's sensor or the overlap test
                extra["collision_source"] = "sensor" if self.sensor_hit[i] else "geometry"
            extra.update(extras[i] if extras is not None else {})
            res = assemble_result(
                sc, reason, None if np.isnan(self.t_end[i]) else float(self.t_end[i]),
                partner=bt.ids[i][self.partner[i]] if coll else None,
                impact_speed_mps=float(self.impact[i]) if coll else None, min_ttc_s=float(self.min_ttc[i]),
                min_distance_m=float(self.min_dist[i]), pet_s=float(p.min()) if len(p) else None,
                fault_code=int(self.fault_code[i]), mu=float(bt.mu[i]), backend=backend, seed=seed, extra=extra)
            if traj is not None:
                n = int(round(res.duration_s / DT_S)) + 1
                res.trajectories = {
                    aid: [[round(float(v), 4) for v in (r[5], r[0], r[1], r[2], r[3])] for r in traj[i, j, :n]]
                    for j, aid in enumerate(bt.ids[i])}
            out.append(res)
        return out


def assemble_result(scenario: Scenario, reason: TerminationReason, t_end_s: float | None, *, partner: str | None,  # noqa: PLR0913 -- every RunResult field the referee measured, by name
                    impact_speed_mps: float | None, min_ttc_s: float, min_distance_m: float, pet_s: float | None,
                    fault_code: int, mu: float, backend: str, seed: int,
                    extra: dict[str, Any] | None = None) -> RunResult:
    """The RunResult of one run from its figures: the one place a result is put together, at-fault
    labels included (set for high-risk runs only, None otherwise)."""
    coll = reason is TerminationReason.COLLISION
    duration = round(float(t_end_s), 6) if t_end_s is not None else scenario.horizon_s
    res = RunResult(
        scenario=scenario.name, termination=reason, duration_s=duration, collision_partner=partner if coll else None,
        impact_speed_mps=impact_speed_mps if coll else None, collision_time_s=duration if coll else None,
        min_ttc_s=min_ttc_s, min_distance_m=min_distance_m, pet_s=pet_s, backend=backend, seed=seed,
        extra={"friction_mu": mu, "content_hash": scenario.content_hash(), **(extra or {})})
    if res.high_risk() and fault_code >= 0:
        res.at_fault, res.fault_rule = fault.label(fault_code)
    return res


def run_episode(world: World, agent: Any, seed: int, referee: Referee) -> Referee:
    """Run every row of ``world`` against ``agent`` until each has ended (the tick order above)."""
    bt = world.bt
    t_max = int(bt.n_steps.max())
    world.reset(agent, seed)
    for k in range(t_max + 1):
        poses = world.measure(k)
        referee.measure(k, poses)
        if not referee.running.any() or k == t_max:
            break
        obs = world.observe(k, poses, referee)
        world.apply(agent.act(obs), referee.running)
        world.tick(referee.running)
    return referee


__all__ = ["Poses", "Referee", "World", "REASONS", "assemble_result", "run_episode"]
