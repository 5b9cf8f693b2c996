"""Interventional answers over the graphs the data cannot tell apart.

A learned DAG stands for its Markov equivalence class: every DAG with the same CPDAG fits the data
exactly as well, but ``do()`` answers can differ between them when the effect runs through an arc whose
direction is not learned. ``do_range`` enumerates the class members that respect the tiers, gives each the
CPTs implied by the model's joint distribution (so all of them agree on every observational question), and
returns the range of the interventional answer over them.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import product

import networkx as nx
import numpy as np

from adsgen.cbn.graphs import cpdag

MAX_JOINT_CELLS = 20_000_000
"""Largest joint table ``do_range`` builds (the 10 canonical variables: 8.5M cells)."""
MAX_UNDIRECTED = 12
"""Most reversible arcs whose orientations are enumerated (2^12 candidate graphs)."""


def equivalent_dags(names, edges, tiers: Mapping[str, int] | None = None) -> list[list[tuple[str, str]]]:
    """Every DAG with the same CPDAG as ``edges`` and no arc against the tiers (``edges`` itself included)."""
    tiers = tiers or {}
    directed, undirected = cpdag(names, edges)
    target = (directed, undirected)
    pairs = [tuple(sorted(p)) for p in sorted(undirected, key=sorted)]
    if len(pairs) > MAX_UNDIRECTED:
        return [list(edges)]
    out = []
    for flips in product((False, True), repeat=len(pairs)):
        cand = sorted(directed) + [(b, a) if f else (a, b) for (a, b), f in zip(pairs, flips, strict=True)]
        if any(a in tiers and b in tiers and tiers[a] > tiers[b] for a, b in cand):
            continue
        g = nx.DiGraph(cand)
        g.add_nodes_from(names)
        if nx.is_directed_acyclic_graph(g) and cpdag(names, cand) == target:
            out.append(cand)
    return out


def _joint(model) -> np.ndarray:
    names = list(model.names)
    axes = {v: i for i, v in enumerate(names)}
    joint = np.ones([len(model.states[v]) for v in names])
    for v in names:
        cpt = np.asarray(model.cpts[v], dtype=np.float64)
        fam = [axes[p] for p in model.parents[v]] + [axes[v]]
        order = np.argsort(fam)
        shape = [1] * len(names)
        for k, ax in enumerate(sorted(fam)):
            shape[ax] = cpt.shape[order[k]]
        joint = joint * np.transpose(cpt, order).reshape(shape)
    return joint


def do_range(model, target: str, evidence: Mapping[str, str], interventions: Mapping[str, str],
             tiers: Mapping[str, int] | None = None) -> dict | None:
    """{"graphs", "low", "high"}: the answer's range per state of ``target`` over the equivalent DAGs, or
    None when the joint table would be too large."""
    from adsgen.cbn.compiled import CompiledCBN

    names = list(model.names)
    if np.prod([len(model.states[v]) for v in names], dtype=float) > MAX_JOINT_CELLS:
        return None
    dags = equivalent_dags(names, model.edges, tiers)
    joint = _joint(model)
    answers = []
    for edges in dags:
        parents = {v: tuple(a for a, b in edges if b == v) for v in names}
        cpts = {}
        for v in names:
            fam = list(parents[v]) + [v]
            keep = [names.index(u) for u in fam]
            marg = joint.sum(axis=tuple(i for i in range(len(names)) if i not in keep))
            marg = np.transpose(marg, np.argsort(np.argsort(keep)))  # axes in family order
            tot = marg.sum(axis=-1, keepdims=True)
            r = marg.shape[-1]
            cpts[v] = np.where(tot > 0, marg / np.where(tot > 0, tot, 1.0), 1.0 / r)
        cbn = CompiledCBN.build(names, model.states, parents, cpts)
        answers.append(cbn.query(target, evidence, interventions))
    a = np.array(answers)
    return {"graphs": len(dags), "low": a.min(axis=0), "high": a.max(axis=0)}
