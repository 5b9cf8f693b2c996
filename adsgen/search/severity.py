"""Severity judged like for like: the CBN's injury probability against an injury risk from the impact.

Among simulated collisions, each gets two numbers:

* the CBN's P(severity in {injury, fatal} | factors, collision type), what the crash data says about a
  crash in those conditions, and
* an injury risk from the simulated impact: P(serious injury | relative impact speed, collision type) from
  published impact-speed curves.

Their Spearman rank correlation, per seed and pooled, says whether the conditions the crash data calls
injury-prone are the ones where the simulator's impacts are hard. This replaces the old "faithfulness"
figure, which compared severity given a crash with the simulator's crash probability (crash-only data
cannot give crash probability without exposure, so no correlation was to be expected).

The curves: logistic in impact speed v [km/h],  risk(v) = 1 / (1 + exp(-(K * (v - v10) + logit(0.1)))).

* v10, the speed of 10 % risk of MAIS3+ injury per crash type: Jurewicz, Sobhani, Woolley, Dutschke and
  Corben (2016), "Exploration of vehicle impact speed - injury severity relationships for application in
  safer road design", Transportation Research Procedia 14: 4247-4256 (equal masses and speeds assumed):
  pedestrian about 20 km/h, right-angle (side) and head-on about 30 km/h, rear-end about 55 km/h.
* K, the slope: the source gives thresholds, not slopes, so every curve takes the slope of Tefft (2013),
  "Impact speed and a pedestrian's risk of severe injury or death", Accident Analysis & Prevention 50:
  871-878, whose AIS4+ risk goes from 10 % at 17.1 mph to 90 % at 48.1 mph: K = (logit 0.9 - logit 0.1) /
  49.9 km/h = 0.088 per km/h.

Collision types the source does not cover take the nearest one it does (named in INJURY_CURVES). Within one
collision type any increasing curve gives the same ranks, so the per-seed figure depends only on the ordering
by impact speed; the pooled figure depends on the thresholds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from adsgen.search.risk import CBNRisk

LOGIT_10 = math.log(0.1 / 0.9)
SLOPE_PER_KMH = (math.log(0.9 / 0.1) - LOGIT_10) / ((48.1 - 17.1) * 1.609344)
"""Tefft (2013): 10 % to 90 % AIS4+ risk between 17.1 and 48.1 mph."""

INJURY_CURVES: dict[str, tuple[float, str]] = {
    "pedestrian": (20.0, "Jurewicz et al. 2016, pedestrian"),
    "angle": (30.0, "Jurewicz et al. 2016, right-angle"),
    "left_turn": (30.0, "Jurewicz et al. 2016, right-angle (a left-turn crash strikes the side)"),
    "head_on": (30.0, "Jurewicz et al. 2016, head-on"),
    "rear_end": (55.0, "Jurewicz et al. 2016, rear-end"),
    "sideswipe": (55.0, "no curve in the source: the rear-end curve (a glancing, same-direction impact)"),
    "single_vehicle": (30.0, "no curve in the source: the head-on curve (a fixed object struck head-first)"),
}
"""Collision type -> (v10: impact speed of 10 % MAIS3+ risk [km/h], where it comes from)."""


def injury_risk(impact_speed_mps: float, collision_type: str) -> float:
    """P(MAIS3+ injury) of an impact at this relative speed (module docstring for the curves)."""
    v10, _ = INJURY_CURVES[collision_type]
    z = SLOPE_PER_KMH * (impact_speed_mps * 3.6 - v10) + LOGIT_10
    return 1.0 / (1.0 + math.exp(-z))


@dataclass(frozen=True)
class Collision:
    seed: str
    factors: dict[str, str]
    impact_speed_mps: float


@dataclass(frozen=True)
class SeverityAgreement:
    pooled: float | None
    per_seed: dict[str, float | None]
    collisions: int

    def to_dict(self) -> dict:
        return {"spearman_pooled": self.pooled, "spearman_per_seed": self.per_seed, "collisions": self.collisions}


def collisions_of(outcomes: Iterable) -> list[Collision]:
    """The collisions among a search's outcomes (adsgen.search.evaluator.CandidateOutcome)."""
    return [Collision(o.candidate.space.name, o.candidate.factors, float(o.result.impact_speed_mps))
            for o in outcomes if o.result.collided and o.result.impact_speed_mps is not None]


def severity_agreement(risk: CBNRisk, collisions: list[Collision]) -> SeverityAgreement:
    """Spearman's rho of the CBN's P(injury or fatal | factors) and the impact's injury risk."""
    if not collisions:
        return SeverityAgreement(None, {}, 0)
    cbn, _ = risk.score([c.factors for c in collisions])
    impact = np.array([injury_risk(c.impact_speed_mps, c.factors["collision_type"]) for c in collisions])
    seeds = np.array([c.seed for c in collisions])
    per_seed = {s: _rho(cbn[seeds == s], impact[seeds == s]) for s in dict.fromkeys(seeds.tolist())}
    return SeverityAgreement(_rho(cbn, impact), per_seed, len(collisions))


def _rho(a: np.ndarray, b: np.ndarray) -> float | None:
    from scipy.stats import spearmanr

    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return round(float(spearmanr(a, b).statistic), 4)
