"""Graph comparisons: structural Hamming distances (skeleton and CPDAG) and d-separation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import networkx as nx

Edge = tuple[str, str]


def skeleton(edges: Iterable[Edge]) -> set[frozenset[str]]:
    return {frozenset(e) for e in edges}


def skeleton_shd(a: Iterable[Edge], b: Iterable[Edge]) -> int:
    """Pairs of variables adjacent in one graph and not in the other."""
    return len(skeleton(a) ^ skeleton(b))


def _pair_status(directed: set[Edge], undirected: set[frozenset[str]]) -> dict[frozenset[str], object]:
    status: dict[frozenset[str], object] = {e: "-" for e in undirected}
    for x, y in directed:
        status[frozenset((x, y))] = (x, y)
    return status


def cpdag(nodes: Sequence[str], edges: Iterable[Edge]) -> tuple[set[Edge], set[frozenset[str]]]:
    """The CPDAG (Markov equivalence class) of a DAG: (directed edges, undirected edges).

    The DAG's v-structures oriented, then Meek's rules 1-3 to a fixed point (Meek 1995: complete for a
    pattern that comes from a DAG). Written here so that labelling arcs does not import pgmpy (and torch);
    the tests check it against pgmpy's ``DAG.to_pdag``."""
    edges = list(edges)
    parents: dict[str, set[str]] = {v: set() for v in nodes}
    for a, b in edges:
        parents[b].add(a)
    adjacent = {frozenset(e) for e in edges}
    directed: set[Edge] = set()
    for c, ps in parents.items():
        for a in ps:
            for b in ps:
                if a < b and frozenset((a, b)) not in adjacent:
                    directed |= {(a, c), (b, c)}
    undirected = {frozenset(e) for e in edges if e not in directed}

    def adj(x: str, y: str) -> bool:
        return frozenset((x, y)) in adjacent

    changed = True
    while changed:
        changed = False
        for pair in sorted(undirected, key=sorted):
            x, y = sorted(pair)
            for a, b in ((x, y), (y, x)):  # try to orient a -> b
                into_a = {p for p, q in directed if q == a}
                r1 = any(not adj(c, b) and c != b for c in into_a)
                r2 = any((a, c) in directed and (c, b) in directed for c in nodes)
                neighbours = [c for c in nodes if frozenset((a, c)) in undirected and c != b]
                r3 = any((c, b) in directed and (d, b) in directed and not adj(c, d)
                         for i, c in enumerate(neighbours) for d in neighbours[i + 1:])
                if r1 or r2 or r3:
                    undirected.discard(pair)
                    directed.add((a, b))
                    changed = True
                    break
    return directed, undirected


def cpdag_shd(nodes: Sequence[str], a: Iterable[Edge], b: Iterable[Edge]) -> int:
    """Pairs whose mark differs between the two CPDAGs (absent / undirected / one direction / other)."""
    sa = _pair_status(*cpdag(nodes, list(a)))
    sb = _pair_status(*cpdag(nodes, list(b)))
    return sum(1 for pair in set(sa) | set(sb) if sa.get(pair) != sb.get(pair))


def compare(nodes: Sequence[str], learned: Iterable[Edge], truth: Iterable[Edge]) -> dict:
    """Distances of a learned DAG to a known one, with the arcs missed, extra and reversed."""
    learned, truth = list(learned), list(truth)
    ls, ts = set(learned), set(truth)
    return {
        "skeleton_shd": skeleton_shd(learned, truth),
        "cpdag_shd": cpdag_shd(nodes, learned, truth),
        "missed": sorted([list(e) for e in ts if frozenset(e) not in skeleton(ls)]),
        "extra": sorted([list(e) for e in ls if frozenset(e) not in skeleton(ts)]),
        "reversed": sorted([list(e) for e in ls if e not in ts and (e[1], e[0]) in ts]),
    }


def digraph(nodes: Sequence[str], edges: Iterable[Edge]) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from(edges)
    return g


def implied_independences(nodes: Sequence[str], edges: Iterable[Edge]
                          ) -> list[tuple[str, str, tuple[str, ...]]]:
    """Local Markov statements X _||_ Y | parents(X) for each non-descendant Y of X that is not a parent,
    each checked by d-separation in the graph; one statement per unordered pair (the first found)."""
    g = digraph(nodes, edges)
    out: list[tuple[str, str, tuple[str, ...]]] = []
    seen: set[frozenset[str]] = set()
    order = list(nx.topological_sort(g))
    for x in order:
        pa = tuple(p for p in order if g.has_edge(p, x))
        nondesc = [y for y in order if y != x and y not in nx.descendants(g, x) and y not in pa]
        for y in nondesc:
            pair = frozenset((x, y))
            if pair in seen:
                continue
            if nx.is_d_separator(g, {x}, {y}, set(pa)):
                seen.add(pair)
                out.append((x, y, pa))
    return out


ORIENTATIONS = ("compelled", "tiers", "reversible")
"""How an arc's direction is known: "compelled" (every graph of the learned graph's Markov equivalence
class points it this way: the data decide), "tiers" (the class has it both ways, but the tiers forbid the
other), "reversible" (neither: a graph scoring exactly the same points it the other way)."""


def arc_orientations(nodes: Sequence[str], edges: Iterable[Edge], tiers: Mapping[str, int] | None = None
                     ) -> dict[Edge, str]:
    """``ORIENTATIONS`` label of each arc of a DAG (its CPDAG, then the tiers)."""
    edges = list(edges)
    directed, _undirected = cpdag(nodes, edges)
    tiers = tiers or {}
    out: dict[Edge, str] = {}
    for a, b in edges:
        if (a, b) in directed:
            out[(a, b)] = "compelled"
        elif a in tiers and b in tiers and tiers[a] < tiers[b]:
            out[(a, b)] = "tiers"
        else:
            out[(a, b)] = "reversible"
    return out
