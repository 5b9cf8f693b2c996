"""The simulation seam: RunResult, TerminationReason, and the Backend and Agent protocols.

Every backend (the builtin batched engine, the CARLA bridge) returns the same RunResult, so a scenario
found in the engine can be confirmed in CARLA field by field. Every agent under test (the rule-based
IDM+AEB agent, the VLM agent) implements the same Agent protocol.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # the seam names them; importing them here would make a cycle with the agents
    from adsgen.scenario.model import Scenario
    from adsgen.sim.agents.observation import Action, Observation

DT_S = 0.05  # [s] fixed simulation step shared by every backend (20 Hz)
HIGH_RISK_TTC_S = 1.0  # [s] default min-TTC threshold below which a run counts as a near miss


class TerminationReason(str, enum.Enum):
    """Why a run ended."""

    COLLISION = "collision"        # the ego collided with an actor
    TIMEOUT = "timeout"            # the horizon was reached without a collision
    OFF_ROAD = "off_road"          # the ego left the drivable area
    COMPLETED = "completed"        # the ego reached the end of its route
    BACKEND_FAULT = "backend_fault"  # the simulator failed (lost server); campaigns retry these


@dataclass
class RunResult:
    """The outcome of one scenario run. Times in s, distances in m, speeds in m/s."""

    scenario: str
    """Scenario name."""
    termination: TerminationReason
    duration_s: float
    """Simulated time until termination."""
    collision_partner: str | None = None
    """Actor id the ego collided with (None without a collision)."""
    impact_speed_mps: float | None = None
    """Relative speed at impact (None without a collision)."""
    collision_time_s: float | None = None
    min_ttc_s: float = math.inf
    """Minimum time-to-collision between the ego and any actor over the run (inf if never closing)."""
    min_distance_m: float = math.inf
    """Minimum gap (box to box) between the ego and any actor."""
    pet_s: float | None = None
    """Post-encroachment time at the conflict point (None when paths never cross)."""
    at_fault: bool | None = None
    """Whether the ego is to blame for its collision or near miss under the at-fault rules; None when the
    run is not high-risk or was not judged."""
    fault_rule: str | None = None
    """Name of the at-fault rule that decided ``at_fault`` (documented in docs/simulation.md)."""
    reference_outcome: str | None = None
    """'collision' / 'near_miss' / 'safe': the same scenario and seed driven by the careful-driver
    reference (UN R157 Annex 4 App. 3); None when not judged (only high-risk runs are)."""
    omniscient_outcome: str | None = None
    """'collision' / 'near_miss' / 'safe' for the omniscient solvability check; None when not judged."""
    verdict: str | None = None
    """The run's test verdict (valid_failure, unavoidable, not_at_fault, ...; see docs/search.md);
    None when not judged."""
    backend: str = "builtin"
    seed: int = 0
    trajectories: dict[str, list[list[float]]] | None = None
    """On request: actor id ('ego' for the ego) -> [[t, x, y, yaw, v], ...] in the engine's frame."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Backend- or agent-specific figures (e.g. the VLM agent's unparsed-answer count)."""

    @property
    def collided(self) -> bool:
        return self.termination is TerminationReason.COLLISION

    def high_risk(self, ttc_threshold_s: float = HIGH_RISK_TTC_S) -> bool:
        """A collision, or a minimum TTC below the threshold."""
        return self.collided or self.min_ttc_s < ttc_threshold_s

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict with the field names above (inf written as null)."""
        d = asdict(self)
        d["termination"] = self.termination.value
        for k in ("min_ttc_s", "min_distance_m"):
            if d[k] is not None and math.isinf(d[k]):
                d[k] = None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunResult:
        d = dict(d)
        d["termination"] = TerminationReason(d["termination"])
        for k in ("min_ttc_s", "min_distance_m"):
            if d.get(k) is None:
                d[k] = math.inf
        return cls(**d)


@runtime_checkable
class Agent(Protocol):
    """A driving agent under test, acting for a whole batch of ego vehicles at once."""

    name: str
    needs_images: bool
    """True when act() reads rendered camera images (obs.render); backends then provide them."""

    def reset(self, scenarios: Sequence[Scenario], seed: int) -> None:
        """Start a new batch (one ego per scenario)."""

    def act(self, obs: Observation) -> Action:
        """Observations of the batch at one step -> controls for the batch (see adsgen.sim.agents)."""

    # Optional: ``renderer(snapshot, camera, scale) -> frame`` (e.g. ``adsgen.render.render``) for an agent that
    # reads images; backends put it into the Observation, whose ``render`` calls it.
    # Optional: ``run_extra(row) -> dict`` gives the agent's own figures for batch row ``row`` of its last
    # reset (e.g. the VLM agent's unparsed-answer count); backends merge them into RunResult.extra.


def agent_extra(agent: Any, row: int) -> dict[str, Any]:
    """The agent's own figures for batch row ``row`` of its last reset (Agent.run_extra, optional)."""
    fn = getattr(agent, "run_extra", None)
    return dict(fn(row)) if callable(fn) else {}


@runtime_checkable
class Backend(Protocol):
    """A simulator. Long-lived: owns its resources until close()."""

    name: str

    def run(self, scenarios: Sequence[Scenario], agent: Agent, seed: int = 0, *,
            record_trajectories: bool = False) -> list[RunResult]:
        """Run each scenario against the agent; one RunResult per scenario, in order."""

    def close(self) -> None:
        """Release the backend's resources; safe to call twice."""
