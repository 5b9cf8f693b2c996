"""Why an intervention shows no effect: directed paths in a learned graph.

do(X = x) can change P(Y) only along a directed path X -> ... -> Y. When the learned graph has none, the
interventional answer equals the plain conditional one, and ``adsgen cbn query`` says so, naming the arcs
the graph would need (from X or what X reaches, to Y or what reaches Y, allowed by the tiers, creating no
cycle) for an effect to exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from adsgen.cbn.tiers import forbidden_edges


def _reach(start: str, step: Mapping[str, Sequence[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in step.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@dataclass(frozen=True)
class NoPath:
    """An intervened variable with no directed path to the target."""

    variable: str
    target: str
    out_arcs: list[tuple[str, str]]
    """The variable's learned arcs (where its influence goes instead)."""
    carriers: list[tuple[str, str]] = field(default_factory=list)
    """Arcs that, added to the graph, would open a directed path to the target (shortest first)."""

    def sentence(self, limit: int = 6) -> str:
        went = ", ".join(f"{a} -> {b}" for a, b in self.out_arcs) or "none"
        shown = ", ".join(f"{a} -> {b}" for a, b in self.carriers[:limit])
        more = f" (and {len(self.carriers) - limit} more)" if len(self.carriers) > limit else ""
        carry = (f" An effect would need an arc such as {shown}{more}, which the data did not support."
                 if shown else " The tiers allow no arc that would carry one.")
        return (f"do({self.variable}) cannot change {self.target}: the learned graph has no directed path "
                f"from {self.variable} to {self.target} (arcs out of {self.variable}: {went}), so the answer "
                f"is the plain conditional.{carry}")


def missing_paths(edges: Sequence[tuple[str, str]], target: str, interventions: Sequence[str],
                  tiers: Mapping[str, int] | None = None) -> list[NoPath]:
    """For each intervened variable with no directed path to ``target``, a NoPath; [] when all have one."""
    children: dict[str, list[str]] = {}
    parents: dict[str, list[str]] = {}
    for a, b in edges:
        children.setdefault(a, []).append(b)
        parents.setdefault(b, []).append(a)
    upstream = _reach(target, parents)  # the target and its ancestors
    forbidden = forbidden_edges(tiers or {})
    out = []
    for x in interventions:
        downstream = _reach(x, children)  # x and its descendants
        if target in downstream:
            continue
        carriers = [(a, b) for a in sorted(downstream) for b in sorted(upstream)
                    if (a, b) not in edges and (a, b) not in forbidden
                    and a not in _reach(b, children) - {b}  # no cycle: b must not reach a already
                    and a != b]
        carriers.sort(key=lambda e: (e[0] != x, e[1] != target, e))
        out.append(NoPath(x, target, [(a, b) for a, b in edges if a == x], carriers))
    return out
