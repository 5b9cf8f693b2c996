"""The words every command, report and export uses: run status apart from test verdicts.

A run's *status* says whether the infrastructure finished it (done / errored / timed out); its *verdict*
says what the test found (valid failure, collision not at fault, unavoidable, near miss, safe). "Failed" is
never used for either: an errored run is not a failing test, and a collision is not always a failure.

``--fail-on`` (``adsgen simulate``, ``adsgen campaign run``) names the finding that makes the command exit 1,
the CI convention: ``valid-failure`` (the judge blames the system under test), ``collision`` (any collision)
or ``near-miss`` (a collision or a near miss: min TTC under the threshold).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from adsgen.sim.judge import Outcome, Verdict
from adsgen.sim.types import HIGH_RISK_TTC_S, RunResult

RUN_STATUS_LABELS = {"pending": "pending", "running": "running", "done": "done", "failed": "errored",
                     "timed_out": "timed out"}
"""Store status (column value) -> the word shown to a user. The store keeps 'failed' for compatibility."""

VERDICT_LABELS: dict[str, str] = {Verdict.VALID_FAILURE: "valid failure", Verdict.REFERENCE_FAILS: "reference fails too",
                                  Verdict.UNAVOIDABLE: "unavoidable", Verdict.NOT_AT_FAULT: "not at fault"}
"""Judge verdict (keyed by adsgen.sim.judge.Verdict, looked up by its stored value) -> the words shown."""

FINDING_LABELS: dict[str, str] = {Outcome.COLLISION: "collision", Outcome.NEAR_MISS: "near miss", Outcome.SAFE: "safe"}
"""What a run found before judging (keyed by adsgen.sim.judge.Outcome) -> words."""


class FailOn(str, enum.Enum):
    """The finding that makes ``--fail-on`` exit 1."""

    VALID_FAILURE = "valid-failure"
    COLLISION = "collision"
    NEAR_MISS = "near-miss"


def status_label(status: str) -> str:
    return RUN_STATUS_LABELS.get(status, status.replace("_", " "))


def verdict_label(verdict: str | None) -> str:
    """Words for a verdict; '-' for none (None, or a table's missing value such as NaN)."""
    if not isinstance(verdict, str) or not verdict:
        return "-"
    return VERDICT_LABELS.get(verdict, verdict.replace("_", " "))


def verdict_counts_words(counts: Mapping[str, int]) -> str:
    """'valid failure 74, reference fails too 311, ...': counts per verdict in the judge's order (other keys,
    such as 'unjudged', after them), in the shared words."""
    order = [v.value for v in Verdict]
    ranked = sorted(counts.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
    return ", ".join(f"{verdict_label(v)} {n}" for v, n in ranked) or "none"


def finding_words(verdict: str | None, collided: bool, high_risk: bool) -> str:
    """One phrase for a finished run: its verdict when judged, with what it found, else collision / near
    miss / safe. ``verdict`` may be a table's missing value (None, NaN)."""
    found = FINDING_LABELS[Outcome.COLLISION if collided else Outcome.NEAR_MISS if high_risk else Outcome.SAFE]
    if isinstance(verdict, str) and verdict:
        return f"{verdict_label(verdict)} ({found})"
    return found


def run_finding(result: RunResult, ttc_threshold_s: float = HIGH_RISK_TTC_S) -> str:
    """finding_words of a RunResult."""
    return finding_words(result.verdict, result.collided, result.high_risk(ttc_threshold_s))


def run_meets(result: RunResult, fail_on: FailOn, ttc_threshold_s: float = HIGH_RISK_TTC_S) -> bool:
    """Whether one finished run meets the ``--fail-on`` condition."""
    if fail_on is FailOn.VALID_FAILURE:
        return result.verdict == "valid_failure"
    if fail_on is FailOn.COLLISION:
        return result.collided
    return result.high_risk(ttc_threshold_s)


def runs_meeting(fail_on: FailOn, *, valid_failures: int, collisions: int, near_misses: int) -> int:
    """How many done runs of a campaign meet ``--fail-on`` (near misses exclude collisions)."""
    if fail_on is FailOn.VALID_FAILURE:
        return valid_failures
    if fail_on is FailOn.COLLISION:
        return collisions
    return collisions + near_misses
