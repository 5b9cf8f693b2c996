"""Reference drivers: the careful driver of UN Regulation 157 and an omniscient solvability check.

They are agents like any other (``--agent reference``, ``--agent omniscient``) so every backend runs them
through the same loop; the judge (``adsgen.sim.judge``) re-runs high-risk scenarios with them.

``reference`` - the "competent and careful" (CC) driver model of UN R157 (ALKS), Annex 4, Appendix 3:

* it follows traffic like the IDM agent (``adsgen.sim.agents.idm``, no AEB, no detection misses) and stops
  for signals and stop signs;
* it only sees what light and weather let it see: the same detection range and line-of-sight occlusion
  as the agent under test (``adsgen.scenario.mapping.sensing``);
* it perceives a risk by the rule for the other road user's manoeuvre (``RISK_RULES``, documented in
  docs/simulation.md), then reacts after ``CC_REACTION_S`` = 0.75 s (R157 App. 3: risk perception time +
  0.75 s reaction time), then brakes with the jerk of R157 (deceleration reaching ``CC_DECEL_G`` = 0.774 g
  in ``CC_DECEL_RISE_S`` = 0.6 s), capped by the road's friction (the engine limits every request to mu*g);
* it keeps braking until the hazard is resolved (moving out of the ego's path and clear of it, behind the
  ego, or followed at a matched speed) and follows again after.

``omniscient`` - not a driver but a solvability check (as the CARS and KING/STRIVE "a privileged expert can
avoid it" tests): it sees the ground truth (no range, occlusion, misses or latency), knows the scenario and
brakes with the full friction of the road, without reaction time, from the step the adversary's manoeuvre
starts (a lateral move, a deceleration, a heading change, a pedestrian stepping out, or t = 0 for an
adversary whose manoeuvre has no trigger) until the adversary is resolved (as for the reference). From the
same step, where the road allows it -- an adjacent lane in the ego's direction exists and is free (no road user
in it from EVADE_FREE_BEHIND_M behind to EVADE_FREE_AHEAD_M ahead) -- it also changes into that lane (the side
away from the adversary first), an evasive manoeuvre the engine's friction circle shares with the braking.
``omniscient:brake`` is the same check without the lane change. The judge takes the better of the two
(braking alone first, the lane change only where braking alone is not safe), so a swerve that costs braking
grip never makes a scenario look unavoidable.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from adsgen.scenario.mapping import G_MPS2, adversary_index, friction_mu, sensing
from adsgen.scenario.model import Scenario
from adsgen.scenario.roads import build_road
from adsgen.sim.agents.idm import IDMAgent, IDMParams
from adsgen.sim.agents.observation import Action, Observation
from adsgen.sim.fault import REACTION_TIME_S

# UN R157 Annex 4 Appendix 3, "competent and careful human driver" performance model
CC_REACTION_S = REACTION_TIME_S  # [s] 0.75 s reaction time after the risk perception point (one source: the referee)
CC_DECEL_G = 0.774          # [g] full braking deceleration
CC_DECEL_RISE_S = 0.6       # [s] time for the deceleration to rise from 0 to 0.774 g (the regulation's jerk)
CC_JERK_MPS3 = CC_DECEL_G * G_MPS2 / CC_DECEL_RISE_S  # [m/s3] ~12.7
CC_LATERAL_PERCEPTION_M = 0.375  # [m] a cut-in (or drift) is perceived once it moved this far beyond the
#                                   lane-wander band towards the ego's lane (R157 App. 3, cut-in scenario)
# the lane-wander band: a sober simulated driver holds its lane centre exactly (a band of zero width); an
# impaired one weaves +-weave_amp_m about it (Manoeuvre.weave_amp_m, from adsgen.scenario.mapping.ADVERSARY), a
# band 2 x weave_amp_m wide. Its near edge is taken 2 x weave_amp_m in from the farthest point of the vehicle
# seen from the ego's lane: exact once a whole weave has been watched, later (never earlier) before, so a weave
# inside the band never counts as the start of a cut-in.
# our perception rules for the manoeuvres R157 does not cover (documented in docs/simulation.md)
LEAD_DECEL_PERCEPTION_MPS2 = 2.0  # [m/s2] a leader braking harder than this is a perceived risk
CROSSING_YAW_RAD = 0.35     # [rad] a road user heading this far off the ego's route is crossing / turning
TURN_ONSET_RAD = 0.1        # [rad] a vehicle whose heading turned this much since first seen is turning
RISK_TTC_S = 6.0            # [s] a perceived manoeuvre is a risk only while its constant-velocity TTC is below
CLEAR_M = 0.5               # [m] a hazard moving out of the ego's path is resolved once this far clear of it
OMNI_DECEL_MPS2 = 12.0      # [m/s2] request above any friction limit: the engine caps it at mu*g
ONSET_LATERAL_M = 0.05      # [m] ground-truth onset of a lateral manoeuvre
ONSET_YAW_RAD = 0.02        # [rad] onset of a heading change
ONSET_DECEL_MPS2 = 0.5      # [m/s2] onset of braking
ONSET_PED_SPEED_MPS = 0.1   # [m/s] a pedestrian stepping out
EVADE_FREE_BEHIND_M = 15.0  # [m] omniscient lane change: the target lane is free of road users from this far
EVADE_FREE_AHEAD_M = 60.0   # [m] behind the ego's centre to this far ahead (along the ego's route)
EVADE_DURATION_S = 1.5      # [s] the evasive lane change follows a cosine profile over this time (a brisk
#                             lane change; the engine's steering and friction limits apply)

RISK_RULES = {
    "cut_in / head_on_drift": f"a vehicle moved {CC_LATERAL_PERCEPTION_M} m laterally towards the ego's lane "
                              "beyond its lane-wander band (R157 App. 3)",
    "brake_hard (leader)": f"the leader in the ego's path decelerates harder than {LEAD_DECEL_PERCEPTION_MPS2} m/s2",
    "crossing, turning, red-light runner": f"a vehicle heading more than {CROSSING_YAW_RAD} rad off the ego's "
                                           f"route, or turned by {TURN_ONSET_RAD} rad since first seen, is moving "
                                           "on a collision course",
    "pedestrian": "a pedestrian is walking on a collision course",
}
"""The CC driver's risk perception per manoeuvre; each also needs the road user visible (range, occlusion)
and its constant-velocity TTC with the ego below RISK_TTC_S."""


class _Hazards:
    """Per-row state shared by both references: what each actor did since the start (B, A arrays)."""

    def reset(self, scenarios: Sequence[Scenario]) -> None:
        self.b = len(scenarios)
        self.weave = [[a.manoeuvre.weave_amp_m for a in s.actors] for s in scenarios]  # [m] per row, per actor
        self.lat0 = np.empty((0, 0))  # (B, A) lateral offset at first sight; made at the first update
        self.far = np.empty((0, 0))   # (B, A) [m] farthest distance from the ego's lane centre seen
        self.band = np.empty((0, 0))  # (B, A) [m] lane-wander band width (2 x weave amplitude)
        self.prev_v = np.empty((0, 0))
        self.yaw0 = np.empty((0, 0))

    def update(self, obs: Observation, seen: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(lateral move towards the ego's lane beyond the vehicle's lane-wander band [m], lateral move either way
        beyond the band since first seen [m], deceleration [m/s2], heading change [rad]), each (B, A)."""
        lat, v, rel = obs.actor_path_lat_m, obs.actor_speed_mps, obs.actor_path_rel_yaw_rad
        if self.lat0.shape != lat.shape:
            self.lat0, self.prev_v, self.yaw0 = np.full(lat.shape, np.nan), v.copy(), np.full(lat.shape, np.nan)
            self.far = np.full(lat.shape, -np.inf)
            self.band = np.zeros(lat.shape)
            for i, amps in enumerate(self.weave):
                self.band[i, :len(amps)] = 2.0 * np.asarray(amps)
        first = seen & np.isnan(self.lat0)
        self.lat0 = np.where(first, lat, self.lat0)
        self.yaw0 = np.where(first, rel, self.yaw0)
        dist = np.abs(lat - obs.ego_lateral_m[:, None])  # (B, A) [m] from the ego's lane centre
        self.far = np.where(seen, np.maximum(self.far, dist), self.far)
        towards = np.where(np.isfinite(self.far), self.far - self.band - dist, 0.0)  # > 0: beyond the band's near edge
        moved = np.abs(lat - self.lat0) - self.band
        moved = np.where(np.isnan(moved), 0.0, moved)
        dyaw = np.where(np.isnan(self.yaw0), 0.0, np.abs(np.angle(np.exp(1j * (rel - self.yaw0)))))
        decel = (self.prev_v - v) / obs.dt_s
        self.prev_v = v.copy()
        return towards, moved, decel, dyaw


def _resolved(obs: Observation, h: np.ndarray, prev_gap: np.ndarray) -> np.ndarray:
    """(B,) whether each row's hazard actor h is resolved: moving out of the ego's path and clear of it by
    CLEAR_M, behind the ego, followed in the ego's path at a matched speed, or gone. Updates prev_gap
    (the lateral clearance [m] of the last step) in place."""
    if obs.actor_active.shape[1] == 0:
        return np.ones(len(h), dtype=bool)
    rows = np.arange(len(h))
    half = obs.ego_width_m / 2 + obs.actor_width_m[rows, h] / 2
    gap = np.abs(obs.actor_path_lat_m[rows, h] - obs.ego_lateral_m) - half  # [m] lateral clearance
    clearing = (gap > CLEAR_M) & (gap > prev_gap)
    behind = obs.actor_path_s_m[rows, h] < obs.ego_route_s_m - obs.ego_length_m
    v_along = obs.actor_speed_mps[rows, h] * np.cos(obs.actor_path_rel_yaw_rad[rows, h])
    matched = (gap < 0) & (obs.ego_speed_mps <= v_along + 0.1)
    gone = ~obs.actor_active[rows, h]
    prev_gap[:] = gap
    return clearing | behind | matched | gone


def _ttc(obs: Observation) -> np.ndarray:
    if obs.actor_ttc_s is not None:
        return np.where(obs.actor_active, obs.actor_ttc_s, np.inf)
    from adsgen.sim.agents.idm import _ttc_now

    return _ttc_now(obs)


def _no_misses_no_latency(agent: IDMAgent, b: int) -> None:
    """Switch the IDM agent's sensing model to every frame detected, without latency (after its reset)."""
    agent._miss = np.zeros(b)
    agent._lag = np.zeros(b, dtype=int)
    agent._buf_len = 1
    agent._lag_groups = [(0, np.arange(b))]


class ReferenceAgent(IDMAgent):
    """The R157 careful-driver reference (see the module docstring)."""

    name = "reference"

    def __init__(self) -> None:
        super().__init__(IDMParams(aeb_ttc_s=0.0, confirm_hits=1, parallel_rad=0.0))  # following only (a road user is
        # a leader once its footprint nears the ego's, whatever its heading): braking is the CC model's

    def reset(self, scenarios: Sequence[Scenario], seed: int, n_steps: int | None = None,
              n_actors: int | None = None) -> None:
        super().reset(scenarios, seed, n_steps, n_actors)
        b = len(scenarios)
        # R157's CC driver: perception by range and line of sight only (no misses, its 0.75 s reaction time
        # stands for perception latency)
        _no_misses_no_latency(self, b)
        self._range = np.array([sensing(s.factors).detection_range_m for s in scenarios])
        self._mu_g = np.array([friction_mu(s.factors) * G_MPS2 for s in scenarios])  # [m/s2] friction limit
        self._t_perceived = np.full(b, np.inf)  # [s] risk perception point of the current hazard
        self._hazard = np.full(b, -1)  # actor index of the current hazard (-1: none)
        self._prev_gap = np.full(b, np.inf)
        self._haz = _Hazards()
        self._haz.reset(scenarios)

    def act(self, obs: Observation) -> Action:
        a_follow = super().act(obs).accel_mps2
        dist = np.hypot(obs.actor_x_m - obs.ego_x_m[:, None], obs.actor_y_m - obs.ego_y_m[:, None])
        seen = obs.actor_active & ~obs.actor_occluded & (dist <= self._range[:, None])
        towards, _, decel, dyaw = self._haz.update(obs, seen)
        ttc = np.where(seen, _ttc(obs), np.inf)
        closing = ttc < RISK_TTC_S
        ego_lat = obs.ego_lateral_m[:, None]
        half = obs.ego_width_m[:, None] / 2 + obs.actor_width_m / 2
        in_path = np.abs(obs.actor_path_lat_m - ego_lat) < half
        ahead = obs.actor_path_s_m > obs.ego_route_s_m[:, None]
        crossing = (np.abs(np.sin(obs.actor_path_rel_yaw_rad)) > np.sin(CROSSING_YAW_RAD)) | (dyaw > TURN_ONSET_RAD)
        moving = obs.actor_speed_mps > ONSET_PED_SPEED_MPS
        risk = closing & (
            (towards > CC_LATERAL_PERCEPTION_M)                                      # cut-in, drift
            | (in_path & ahead & (decel > LEAD_DECEL_PERCEPTION_MPS2))                # leader brakes
            | (crossing & moving & ~obs.actor_is_pedestrian)                          # crossing, turning
            | (obs.actor_is_pedestrian & moving))                                     # pedestrian
        t = obs.t_s
        # the hazard: the first perceived risk; it holds until it is resolved (see _resolved)
        new = (self._hazard < 0) & risk.any(axis=1)
        self._hazard = np.where(new, np.argmax(risk, axis=1) if risk.shape[1] else -1, self._hazard)
        self._t_perceived = np.where(new, t, self._t_perceived)
        h = np.clip(self._hazard, 0, max(risk.shape[1] - 1, 0))
        resolved = (self._hazard >= 0) & _resolved(obs, h, self._prev_gap)
        self._hazard = np.where(resolved, -1, self._hazard)
        self._t_perceived = np.where(resolved, np.inf, self._t_perceived)
        t_brake = t - (self._t_perceived + CC_REACTION_S)  # [s] since braking began (< 0: not yet)
        decel_cc = np.minimum(CC_JERK_MPS3 * np.maximum(t_brake, 0.0), CC_DECEL_G * G_MPS2)
        decel_cc = np.minimum(decel_cc, self._mu_g)  # friction cap (the engine applies it too)
        a = np.where(t_brake > 0.0, np.minimum(a_follow, -decel_cc), a_follow)
        return Action(accel_mps2=a)


def _adjacent_lanes(sc: Scenario) -> tuple[bool, bool]:
    """(left, right): whether the ego's road has a lane in the ego's direction on that side of its lane."""
    lane = build_road(sc.road).route(sc.ego.route).lane
    if lane is None:
        return False, False
    return lane >= 1, lane + 1 < sc.road.lanes  # lane 0 is next to the centre line (docs/simulation.md)


class OmniscientAgent(IDMAgent):
    """The omniscient solvability check (see the module docstring); ``evade=False``: braking only."""

    name = "omniscient"

    def __init__(self, evade: bool = True) -> None:
        super().__init__(IDMParams(aeb_ttc_s=0.0, confirm_hits=1, parallel_rad=0.0))
        self.evade = evade

    def reset(self, scenarios: Sequence[Scenario], seed: int, n_steps: int | None = None,
              n_actors: int | None = None) -> None:
        super().reset(scenarios, seed, n_steps, n_actors)
        b = len(scenarios)
        _no_misses_no_latency(self, b)
        self._range = np.full(b, np.inf)
        self._adv = np.array([(-1 if (k := adversary_index(s)) is None else k) for s in scenarios])
        # an adversary whose manoeuvre has no trigger manoeuvres from t = 0
        self._started = np.array([k >= 0 and s.actors[k].manoeuvre.trigger is None
                                  for k, s in zip(self._adv, scenarios, strict=True)])
        self._haz = _Hazards()
        self._haz.reset(scenarios)
        self._prev_gap = np.full(b, np.inf)
        sides = np.array([_adjacent_lanes(s) if self.evade else (False, False) for s in scenarios], dtype=bool)
        self._sides = sides.reshape(b, 2)  # (B, 2) lane to the left, to the right
        self._lane_w = np.array([s.road.lane_width_m for s in scenarios])  # (B,) [m]
        self._d_target = np.zeros(b)  # [m] the ego's lateral goal (0: its lane; +-lane width: evading)
        self._t_evade = np.full(b, np.inf)  # [s] when the evasive lane change began
        self._decided = np.zeros(b, dtype=bool)  # the evasive choice is made once, at the onset

    def _evade(self, obs: Observation, col: np.ndarray) -> None:
        """At the onset (rows started but not yet decided): pick a free adjacent lane, away from the adversary
        first, and set it as the ego's lateral target."""
        rows = np.flatnonzero(self._started & ~self._decided)
        if not len(rows):
            return
        self._decided[rows] = True
        if not self._sides[rows].any() or obs.actor_active.shape[1] == 0:
            return
        ego_lat = obs.ego_lateral_m[rows, None]
        w = self._lane_w[rows, None]
        ds = obs.actor_path_s_m[rows] - obs.ego_route_s_m[rows, None]  # (R, A) [m] along the ego's route
        near = obs.actor_active[rows] & (ds > -EVADE_FREE_BEHIND_M) & (ds < EVADE_FREE_AHEAD_M)
        adv_left = obs.actor_path_lat_m[rows, col[rows]] > obs.ego_lateral_m[rows]
        free = []
        for k, sign in enumerate((1.0, -1.0)):  # left, right
            target = ego_lat + sign * w
            occupied = near & (np.abs(obs.actor_path_lat_m[rows] - target) < w / 2 + obs.actor_width_m[rows] / 2)
            free.append(self._sides[rows, k] & ~occupied.any(axis=1))
        left_ok, right_ok = free
        go_left = np.where(adv_left, left_ok & ~right_ok, left_ok)  # away from the adversary first
        go_right = ~go_left & right_ok
        self._d_target[rows] = np.where(go_left, self._lane_w[rows], np.where(go_right, -self._lane_w[rows], 0.0))
        self._t_evade[rows] = obs.t_s

    def act(self, obs: Observation) -> Action:
        a_follow = super().act(obs).accel_mps2
        _, moved, decel, dyaw = self._haz.update(obs, obs.actor_active)
        onset = ((moved > ONSET_LATERAL_M) | (decel > ONSET_DECEL_MPS2) | (dyaw > ONSET_YAW_RAD)
                 | (obs.actor_is_pedestrian & (obs.actor_speed_mps > ONSET_PED_SPEED_MPS)))
        rows = np.arange(len(self._adv))
        has_adv = self._adv >= 0
        col = np.clip(self._adv, 0, max(onset.shape[1] - 1, 0))
        if onset.shape[1]:
            self._started |= has_adv & onset[rows, col]
        if self.evade:
            self._evade(obs, col)
        self._started &= ~(self._started & _resolved(obs, col, self._prev_gap))
        a = np.where(self._started, -OMNI_DECEL_MPS2, a_follow)
        if not self.evade:
            return Action(accel_mps2=a)
        frac = np.clip((obs.t_s - self._t_evade) / EVADE_DURATION_S, 0.0, 1.0)
        return Action(accel_mps2=a, lateral_offset_m=self._d_target * (1.0 - np.cos(np.pi * frac)) / 2.0)


__all__ = ["ReferenceAgent", "OmniscientAgent", "EVADE_FREE_AHEAD_M", "EVADE_FREE_BEHIND_M", "RISK_RULES", "CC_REACTION_S", "CC_DECEL_G", "CC_DECEL_RISE_S",
           "CC_JERK_MPS3", "CC_LATERAL_PERCEPTION_M"]
