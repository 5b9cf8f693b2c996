"""Confirm engine findings in CARLA: the same scenarios, agent and seed on both backends, field by field.

``compare(scenarios, agent_spec, seed, carla_backend)`` runs the builtin engine and the CARLA backend and
returns one row per scenario with both RunResults' comparable fields and whether the verdict (collision /
near miss / safe) agrees. ``adsgen carla compare`` prints the table and writes it as JSON with provenance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from adsgen.sim.agents import get_agent
from adsgen.sim.engine import BuiltinBackend
from adsgen.sim.types import HIGH_RISK_TTC_S, RunResult, TerminationReason

FIELDS = ("termination", "duration_s", "collision_partner", "impact_speed_mps", "min_ttc_s", "min_distance_m",
          "pet_s")


def verdict(r: RunResult, ttc_threshold_s: float = HIGH_RISK_TTC_S) -> str:
    """'collision', 'near_miss', 'safe' or 'fault'."""
    if r.termination is TerminationReason.BACKEND_FAULT:
        return "fault"
    if r.collided:
        return "collision"
    return "near_miss" if r.high_risk(ttc_threshold_s) else "safe"


@dataclass(frozen=True)
class Comparison:
    scenario: str
    builtin: dict[str, Any]
    carla: dict[str, Any]
    builtin_verdict: str
    carla_verdict: str

    @property
    def confirmed(self) -> bool:
        """The CARLA verdict agrees with the engine's (a fault never confirms)."""
        return self.carla_verdict == self.builtin_verdict and self.carla_verdict != "fault"

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "builtin": self.builtin, "carla": self.carla,
                "builtin_verdict": self.builtin_verdict, "carla_verdict": self.carla_verdict,
                "confirmed": self.confirmed}


def _fields(r: RunResult) -> dict[str, Any]:
    d = r.to_dict()
    out = {k: d[k] for k in FIELDS}
    for k, v in out.items():
        if isinstance(v, float) and not math.isfinite(v):
            out[k] = None
    return out


def compare(scenarios: list, agent_spec: str, seed: int, carla_backend: Any,
            ttc_threshold_s: float = HIGH_RISK_TTC_S) -> list[Comparison]:
    """Run both backends (fresh agents from the same spec) and pair the results."""

    ref = BuiltinBackend().run(scenarios, get_agent(agent_spec), seed)
    got = carla_backend.run(scenarios, get_agent(agent_spec), seed)
    return [Comparison(sc.name, _fields(a), _fields(b), verdict(a, ttc_threshold_s), verdict(b, ttc_threshold_s))
            for sc, a, b in zip(scenarios, ref, got, strict=True)]
