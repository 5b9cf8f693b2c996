"""How much an interventional answer depends on arcs the data cannot orient.

Markov-equivalent DAGs fit the data equally well but can give different P(Y | do(X = x)). The effect of
a single intervention depends only on the parents X has (back-door adjustment on them), and the
possible parent sets of X are its compelled (or tier-oriented) parents plus any set S of its neighbours
over reversible arcs that is a clique, so that pointing S into X makes no new v-structure (the local
rule of IDA, Maathuis, Kalisch & Buehlmann 2009). For each such S this module computes
sum_z P(Y | X = x, Z = z) P(Z = z) with Z = the compelled parents and S, from the model's own joint
distribution (observational queries on the compiled model), and reports the range over the S.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np

from adsgen.cbn.compiled import CompiledCBN


def possible_parent_sets(x: str, edges: list[tuple[str, str]], marks: Mapping[str, str]) -> list[tuple[str, ...]]:
    """Parent sets X has in some DAG equivalent to the learned one (given the tiers)."""
    fixed = [a for a, b in edges if b == x and marks.get(f"{a}->{b}") != "reversible"]
    loose = sorted({a if b == x else b for a, b in edges if x in (a, b) and marks.get(f"{a}->{b}") == "reversible"})
    adjacent = {frozenset(e) for e in edges}
    out = []
    for k in range(len(loose) + 1):
        for s in itertools.combinations(loose, k):
            if all(frozenset((u, w)) in adjacent for u, w in itertools.combinations(s, 2)):
                out.append(tuple(fixed) + s)
    return out


def adjusted_effect(cbn: CompiledCBN, target: str, x: str, state: str, parents: tuple[str, ...]) -> np.ndarray:
    """sum_z P(target | x = state, parents = z) P(parents = z): P(target | do(x = state)) in a DAG where
    ``parents`` are the parents of x."""
    if target in parents:  # the target causes x there: intervening on x leaves it alone
        return cbn.query(target)
    total = np.zeros(len(cbn.states[target]))
    for z in itertools.product(*(cbn.states[p] for p in parents)):
        weight, evidence = 1.0, {}
        for p, s in zip(parents, z, strict=True):  # chain rule: P(z) = prod P(z_i | z_<i)
            weight *= float(cbn.query(p, evidence)[cbn.states[p].index(s)])
            evidence[p] = s
            if weight == 0.0:
                break
        if weight > 0.0:
            total += weight * cbn.query(target, {**evidence, x: state})
    return total


def effect_range(cbn: CompiledCBN, edges: list[tuple[str, str]], marks: Mapping[str, str], target: str,
                 x: str, state: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(lowest, highest) P(target | do(x = state)) per state over the equivalent orientations, and how
    many distinct parent sets of x they allow."""
    sets = possible_parent_sets(x, edges, marks)
    answers = np.array([adjusted_effect(cbn, target, x, state, ps) for ps in sets])
    return answers.min(axis=0), answers.max(axis=0), len(sets)
