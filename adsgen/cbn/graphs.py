"""Graph comparisons: structural Hamming distances (skeleton and CPDAG) and d-separation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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


def cpdag_shd(nodes: Sequence[str], a: Iterable[Edge], b: Iterable[Edge]) -> int:
    """Pairs whose mark differs between the two CPDAGs (absent / undirected / one direction / other)."""
    from adsgen.cbn.pgmpy_adapter import cpdag

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


def cpdag_marks(nodes: Sequence[str], edges: Iterable[Edge], oriented: Iterable[Edge] = ()
                ) -> dict[Edge, str]:
    """For each arc of a DAG: "compelled" (every Markov-equivalent DAG has it: v-structures and Meek's
    rules 1-3), "tiers" (reversible in the data's equivalence class, oriented by background knowledge:
    ``oriented`` lists the arcs whose reversal the tiers forbid, then Meek's rules propagate) or
    "reversible" (the data cannot tell its direction). Written here rather than taken from pgmpy so the
    learner does not import pgmpy (and torch) for it."""
    edges = list(edges)
    parents: dict[str, set[str]] = {v: set() for v in nodes}
    for a, b in edges:
        parents[b].add(a)
    adjacent = {frozenset(e) for e in edges}

    def adj(x: str, y: str) -> bool:
        return frozenset((x, y)) in adjacent

    directed: set[Edge] = set()
    for c in nodes:  # v-structures a -> c <- b, a and b not adjacent
        ps = sorted(parents[c])
        for i, a in enumerate(ps):
            for b in ps[i + 1:]:
                if not adj(a, b):
                    directed |= {(a, c), (b, c)}

    def close(directed: set[Edge]) -> set[Edge]:
        directed = set(directed)
        changed = True
        while changed:
            changed = False
            undirected = [e for e in edges if e not in directed]
            for a, b in undirected:  # the DAG's direction a -> b is compelled when a rule yields it
                rule1 = any((c, a) in directed and not adj(c, b) for c in nodes if c != b)
                rule2 = any((a, c) in directed and (c, b) in directed for c in nodes)
                rule3 = any((c, b) in directed and (d, b) in directed and not adj(c, d)
                            and adj(a, c) and adj(a, d) and (a, c) not in directed and (c, a) not in directed
                            and (a, d) not in directed and (d, a) not in directed
                            for c in nodes for d in nodes if c < d)
                if rule1 or rule2 or rule3:
                    directed.add((a, b))
                    changed = True
        return directed

    by_data = close(directed)
    by_tiers = close(by_data | (set(oriented) & set(edges)))
    return {e: "compelled" if e in by_data else "tiers" if e in by_tiers else "reversible" for e in edges}
