"""The comparison of search methods that the benchmark and the demo share: which methods, which of them are
ablations, and the sentence that says from a run's own figures whether the crash data helped."""

from __future__ import annotations

METHODS = ("cbn", "random", "ga", "natural", "cbn_blind", "cbn_shuffled")
"""Methods of the benchmark, in order: the CBN-guided search first, then the baselines and ablations
(adsgen.search.methods registers each)."""
ABLATIONS = ("cbn_blind", "cbn_shuffled")
"""Ablations that must score below the CBN-guided search on coverage in every repeat."""


def crash_data_sentence(coverage: dict[str, float], valid: dict[str, float]) -> str:
    """Whether the crash data helped, stated from a run's own figures (method -> coverage, distinct valid
    failures; 'cbn' among them)."""
    others = [m for m in coverage if m != "cbn"]
    if not others:
        return "Only the CBN-guided search ran: nothing to compare it with."
    best = max(others, key=lambda m: coverage[m])
    ratio = f"{coverage['cbn'] / coverage[best]:.1f}x" if coverage[best] > 0 else "more than"
    beats = all(coverage["cbn"] > coverage[m] for m in others)
    keeps = all(valid["cbn"] >= valid[m] for m in others)
    most_valid = max(others, key=lambda m: valid[m])
    cov = (f"the CBN-guided search covered {coverage['cbn']:.3f} of the crash-weighted mass, {ratio} the best "
           f"other method ({best}, {coverage[best]:.3f})" if beats else
           f"the CBN-guided search covered {coverage['cbn']:.3f} of the crash-weighted mass, not more than "
           f"{best} ({coverage[best]:.3f})")
    val = (f"and found {valid['cbn']:g} distinct valid failures, no fewer than any other method (most among them: "
           f"{most_valid}, {valid[most_valid]:g})" if keeps else
           f"but found {valid['cbn']:g} distinct valid failures, fewer than {most_valid} ({valid[most_valid]:g})")
    if beats and keeps:
        head = "The crash data helped in this run"
    elif beats:
        head = "The crash data helped coverage but not the count of failures in this run"
    else:
        head = "The crash data did not help in this run"
    return f"{head}: {cov}, {val}."
