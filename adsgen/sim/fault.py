"""At-fault rules for a collision or a near miss (nuPlan-style), written once for every backend.

The episode owner (``adsgen.sim.episode.Referee``) calls ``classify`` at the event -- the tick of the
collision, or for a run without collision the tick of its minimum time-to-collision -- with the ego and
the other road user involved, and fills ``RunResult.at_fault`` / ``RunResult.fault_rule`` from the code
it returns. Rules, in order of precedence (docs/simulation.md, "Who is at fault"):

1. ``ego_stopped`` -- the ego stands (speed <= EGO_STOPPED_MPS): not at fault. nuPlan's
   ``STOPPED_EGO_COLLISION`` (nuplan-devkit, ``no_ego_at_fault_collisions``), same 0.05 m/s threshold.
2. ``rear_ended`` -- the other road user's centre is behind the ego's rear bumper (a follower ran into
   it): not at fault. nuPlan's ``ACTIVE_REAR_COLLISION``.
3. ``front`` -- the other road user's centre is ahead of the ego's front bumper: the ego drove into it,
   at fault. nuPlan's ``ACTIVE_FRONT_COLLISION``.
4. ``side_cut_in`` -- alongside (neither ahead nor behind), by a vehicle that left its lane (its body
   crossed its lane marking) at most REACTION_TIME_S before the event: not at fault. The reaction time
   is UN R157 Annex 4 Appendix 3's competent and careful driver's 0.75 s.
5. ``side`` -- alongside otherwise (the other stays in its lane, or left it earlier than the reaction
   time): at fault.
"""

from __future__ import annotations

import numpy as np

EGO_STOPPED_MPS = 0.05
"""[m/s] at or below this ego speed the ego counts as stopped (nuPlan's stopped-speed threshold)."""
REACTION_TIME_S = 0.75
"""[s] reaction time of the competent and careful driver, UN R157 Annex 4 Appendix 3 (risk perception to
the start of braking)."""

RULES = ("ego_stopped", "rear_ended", "front", "side_cut_in", "side")
"""Rule names by code (the value stored in RunResult.fault_rule)."""
NOT_AT_FAULT = frozenset({"ego_stopped", "rear_ended", "side_cut_in"})
EGO_STOPPED, REAR_ENDED, FRONT, SIDE_CUT_IN, SIDE = range(len(RULES))


def classify(ego_x, ego_y, ego_c, ego_s, ego_speed_mps, ego_length_m, other_x, other_y, other_left_lane_s,
             t_s) -> np.ndarray:
    """Rule codes (indices into RULES) for events, every argument broadcast to the events' shape.

    ego_c / ego_s: cos / sin of the ego's yaw; other_left_lane_s: when the other road user last left its
    lane [s] (inf: in its lane, and for pedestrians); t_s: the event's time [s].
    """
    dx, dy = np.asarray(other_x) - ego_x, np.asarray(other_y) - ego_y
    along = dx * ego_c + dy * ego_s  # the other's centre along the ego's heading, from the ego's centre
    half = np.asarray(ego_length_m) / 2
    since = np.asarray(t_s) - other_left_lane_s  # -inf: it never left its lane
    recent = (since >= 0.0) & (since <= REACTION_TIME_S + 1e-9)
    code = np.where(along > half, FRONT, np.where(recent, SIDE_CUT_IN, SIDE))
    code = np.where(along < -half, REAR_ENDED, code)
    return np.where(np.asarray(ego_speed_mps) <= EGO_STOPPED_MPS, EGO_STOPPED, code)


def label(code: int) -> tuple[bool, str]:
    """(at_fault, rule name) of a rule code."""
    rule = RULES[int(code)]
    return rule not in NOT_AT_FAULT, rule


def left_lane(lateral_m, width_m, lane_width_m) -> np.ndarray:
    """Whether a vehicle's body crosses its lane's markings: |offset from its route's centre-line| + half
    its width beyond half the lane width."""
    return np.abs(lateral_m) + np.asarray(width_m) / 2 > np.asarray(lane_width_m) / 2


__all__ = ["EGO_STOPPED_MPS", "REACTION_TIME_S", "RULES", "NOT_AT_FAULT", "classify", "label", "left_lane"]
