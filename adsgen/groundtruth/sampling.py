"""Forward sampling and exact marginals of a discrete Bayesian network given as plain numpy tables.

A network here is ``{variable: (parents, table)}`` with ``table`` shaped ``(*parent_cards, card)``: the last
axis is the variable's state, the leading axes its parents in ``parents`` order, each row summing to one.
Both the made-up crash network (adsgen.groundtruth.reference) and the known networks of the structure-learning
benchmark (adsgen.cbn.networks, converted from pgmpy) are sampled here, so the same seed gives the same rows
whatever the network came from. Written here rather than taken from pgmpy: pgmpy's ``simulate`` draws
differently from one process to the next (its order depends on PYTHONHASHSEED) and is slower.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

Family = tuple[tuple[str, ...], np.ndarray]
"""(parents, table shaped (*parent_cards, card))."""


def forward_sample(network: Mapping[str, Family], order: Sequence[str], rows: int, seed: int) -> dict[str, np.ndarray]:
    """Ancestral sample of ``rows`` rows as state codes {variable: int16 array shaped (rows,)}.

    ``order`` lists every variable after its parents; one ``numpy.random.default_rng(seed)`` draws one
    uniform number per row and variable, in that order (so the order is part of the sample's identity).
    """
    rng = np.random.default_rng(seed)
    codes: dict[str, np.ndarray] = {}
    for var in order:
        parents, table = network[var]
        card = table.shape[-1]
        cum = np.cumsum(table.reshape(-1, card), axis=1)  # (configs, card)
        cum[:, -1] = 1.0
        if parents:
            config = np.ravel_multi_index([codes[p] for p in parents], table.shape[:-1])  # (rows,)
        else:
            config = np.zeros(rows, dtype=np.intp)
        u = rng.random(rows)  # (rows,)
        out = np.zeros(rows, dtype=np.int16)
        for k in range(card - 1):  # state = number of cumulative bounds at or below u
            out += u >= cum[config, k]
        codes[var] = out
    return codes


def exact_joint(network: Mapping[str, Family], keep: Sequence[str]) -> np.ndarray:
    """P(keep) by summing the full joint out with one einsum; shaped (card of keep[0], card of keep[1], ...).

    Exact and fast for networks of up to about ten variables with small cardinalities (the crash network's
    joint has 6.3M cells); use a CBN query engine for larger ones.
    """
    names = list(network)
    if len(names) > 52:
        raise ValueError(f"exact_joint: {len(names)} variables, more than einsum has letters for")
    letters = {v: chr(ord("a") + i) if i < 26 else chr(ord("A") + i - 26) for i, v in enumerate(names)}
    operands = [network[v][1] for v in names]
    subs = ["".join(letters[p] for p in network[v][0]) + letters[v] for v in names]
    return np.einsum(",".join(subs) + "->" + "".join(letters[v] for v in keep), *operands, optimize=True)
