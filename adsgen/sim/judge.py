"""The judge: who could have avoided a high-risk run.

For each high-risk run (a collision, or min TTC under the threshold) the judge re-runs the same scenario
and seed with the reference drivers (``adsgen.sim.agents.reference``) and sets the RunResult's
``reference_outcome``, ``omniscient_outcome`` and ``verdict``. The omniscient check runs braking only
(``omniscient:brake``) first; where that is not safe and the caller allows it (``evasive_runs``), it runs
again with the evasive lane change (``omniscient``) and keeps the better outcome (a third reference run,
counted). ``adsgen simulate`` and campaigns allow it always; a budgeted search allows what its budget
leaves (the default, 0, keeps the braking-only check). A budgeted search also runs the omniscient check
only where the careful driver is not safe (``solvability="when_needed"``): a careful driver that avoids the
collision already proves it avoidable, so the omniscient check cannot change the verdict (its outcome stays
None; a judged run costs one reference run, or two where the careful driver fails too). Runs that are not
high-risk are not judged (their fields stay None). The verdicts, checked in this order:

* ``not_at_fault``   - the referee's at-fault rules clear the ego (``RunResult.at_fault`` is False);
* ``valid_failure``  - the careful-driver reference (UN R157) is safe: the system under test is to blame;
* ``unavoidable``    - the careful driver fails and the omniscient solvability check is not safe either:
  nobody could have avoided it;
* ``reference_fails`` - avoidable with privileged knowledge, but the careful driver fails too.

While the referee does not fill ``at_fault`` (None), the run counts as at fault (the reference runs still
decide between unavoidable, valid_failure and reference_fails).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any, Literal

from adsgen.errors import ConfigError
from adsgen.sim.types import HIGH_RISK_TTC_S, RunResult


class Outcome(str, enum.Enum):
    """A reference run's outcome."""

    COLLISION = "collision"
    NEAR_MISS = "near_miss"   # no collision, min TTC under the threshold
    SAFE = "safe"


class Verdict(str, enum.Enum):
    """A high-risk run's verdict (see the module docstring); the one list of names."""

    VALID_FAILURE = "valid_failure"
    REFERENCE_FAILS = "reference_fails"
    UNAVOIDABLE = "unavoidable"
    NOT_AT_FAULT = "not_at_fault"


OMNISCIENT_BRAKE = "omniscient:brake"
"""The omniscient check's first try: braking only (the evasive lane change runs only where it is not safe)."""
REFERENCE_AGENTS = ("reference", "omniscient", OMNISCIENT_BRAKE)
"""Agent specs that are references (judging their own runs makes no sense)."""
_RANK = {Outcome.SAFE: 0, Outcome.NEAR_MISS: 1, Outcome.COLLISION: 2}  # better first


def outcome(result: RunResult, ttc_threshold_s: float = HIGH_RISK_TTC_S) -> Outcome:
    if result.collided:
        return Outcome.COLLISION
    return Outcome.NEAR_MISS if result.min_ttc_s < ttc_threshold_s else Outcome.SAFE


def verdict(result: RunResult) -> Verdict:
    """The verdict of a run whose reference outcomes are set."""
    if result.at_fault is False:
        return Verdict.NOT_AT_FAULT
    if result.reference_outcome == Outcome.SAFE.value:  # the careful driver avoids it: avoidable, by example
        return Verdict.VALID_FAILURE
    if result.omniscient_outcome != Outcome.SAFE.value:
        return Verdict.UNAVOIDABLE
    return Verdict.REFERENCE_FAILS


def check_can_judge(backend: Any) -> None:
    """ConfigError (exit 2) when the backend cannot re-run a scenario (``can_rerun = False``)."""
    if not getattr(backend, "can_rerun", True):
        raise ConfigError(f"backend {getattr(backend, 'name', backend)!r} cannot re-run a scenario, so the "
                          "reference drivers cannot judge its runs; use another backend (or simulate --no-judge)")


def judge(results: Sequence[RunResult], scenarios: Sequence[Any], backend: Any, seed: int = 0,
          ttc_threshold_s: float = HIGH_RISK_TTC_S, evasive_runs: int | None = 0,
          solvability: Literal["always", "when_needed"] = "always") -> int:
    """Judge the high-risk runs in place (results[i] is scenarios[i] run with ``seed``); returns the number
    of reference runs made: the careful driver's for each judged run; the braking-only omniscient check's for
    each (``solvability="always"``) or only where the careful driver is not safe (``"when_needed"``: it cannot
    change the verdict elsewhere); plus one evasive omniscient run for each whose braking-only check is not
    safe, at most ``evasive_runs`` of them (None: no limit; 0: braking-only check)."""
    from adsgen.sim.agents import get_agent

    todo = [i for i, r in enumerate(results) if r.high_risk(ttc_threshold_s)]
    if not todo:
        return 0
    check_can_judge(backend)
    batch = [scenarios[i] for i in todo]
    ref = [outcome(r, ttc_threshold_s) for r in backend.run(batch, get_agent("reference"), seed)]
    check = [k for k, o in enumerate(ref) if solvability == "always" or o is not Outcome.SAFE]
    omni: dict[int, Outcome] = {}
    if check:
        braking = backend.run([batch[k] for k in check], get_agent(OMNISCIENT_BRAKE), seed)
        omni = {k: outcome(r, ttc_threshold_s) for k, r in zip(check, braking, strict=True)}
    retry = [k for k, o in omni.items() if o is not Outcome.SAFE]
    if evasive_runs is not None:
        retry = retry[: max(evasive_runs, 0)]
    if retry:
        evasive = backend.run([batch[k] for k in retry], get_agent("omniscient"), seed)
        for k, r in zip(retry, evasive, strict=True):
            omni[k] = min(omni[k], outcome(r, ttc_threshold_s), key=_RANK.__getitem__)
    for k, i in enumerate(todo):
        r = results[i]
        r.reference_outcome = ref[k].value
        r.omniscient_outcome = omni[k].value if k in omni else None
        r.verdict = verdict(r).value
    return len(todo) + len(check) + len(retry)


__all__ = ["Outcome", "Verdict", "REFERENCE_AGENTS", "OMNISCIENT_BRAKE", "outcome", "verdict", "judge", "check_can_judge"]
