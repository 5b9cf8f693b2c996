"""Bootstrap arc strength and direction.

Each resample draws as many rows as the training table, with replacement; on the compressed table
(distinct rows with counts) that is one multinomial draw of the counts, exactly equivalent to resampling
rows and much cheaper. The structure search is rerun on each resample with the same constraints. An arc's
strength is the share of resamples whose graph links its two variables (either direction); its
direction is the share of those in which it points the way the main graph has it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from adsgen.cbn.encoding import CodedData
from adsgen.cbn.hillclimb import HillClimbConfig, StructureResult, hill_climb


def bootstrap_arcs(data: CodedData, forbidden: Iterable[tuple[str, str]], config: HillClimbConfig,
                   resamples: int, seed: int, on_resample: Callable[[int], None] | None = None,
                   search: Callable[[CodedData], StructureResult] | None = None) -> dict[tuple[str, str], dict]:
    """{(a, b): {"strength", "direction"}} for every ordered pair (a, b) seen linked in any resample.

    "direction" is the share of linking resamples with a -> b; each unordered pair is reported once,
    oriented the way it was seen most often. ``search`` (default: hill climbing with ``config`` and
    ``forbidden``) learns each resample's graph."""
    forbidden = set(forbidden)
    rng = np.random.default_rng(seed)
    n = data.n_rows
    p = data.weights / data.weights.sum()
    linked: dict[frozenset[str], int] = {}
    directed: dict[tuple[str, str], int] = {}
    for k in range(resamples):
        w = rng.multinomial(n, p).astype(np.float64)  # (distinct rows,)
        sample = data.reweighted(w)
        edges = (search(sample) if search is not None else hill_climb(sample, forbidden, config)).edges
        for a, b in edges:
            linked[frozenset((a, b))] = linked.get(frozenset((a, b)), 0) + 1
            directed[(a, b)] = directed.get((a, b), 0) + 1
        if on_resample is not None:
            on_resample(k + 1)
    out: dict[tuple[str, str], dict] = {}
    for pair, count in linked.items():
        a, b = sorted(pair)
        ab, ba = directed.get((a, b), 0), directed.get((b, a), 0)
        key = (a, b) if ab >= ba else (b, a)
        out[key] = {"strength": count / resamples, "direction": max(ab, ba) / count}
    return out
