"""graph.png: the learned graph, variables laid out by tier, each arc labelled with its strength."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path


def draw_graph(names: Sequence[str], edges: Sequence[tuple[str, str]], tiers: Mapping[str, int],
               strengths: Mapping[tuple[str, str], float], path: str | Path, title: str = "",
               directions: Mapping[tuple[str, str], float] | None = None,
               reversible: set[tuple[str, str]] | None = None) -> Path:
    """Draw with matplotlib (Agg); arcs labelled with ``strengths[(a, b)]``: a bootstrap share in [0, 1]
    (line width grows with it; ``directions`` adds the share pointing as drawn, in brackets) or, without
    bootstrap, the score loss if the arc is removed. Arcs in ``reversible`` (direction not learned) are
    dashed."""
    from matplotlib.figure import Figure  # not pyplot: no GUI backend, no global figure state, faster import

    levels = sorted({tiers.get(n, max(tiers.values(), default=0) + 1) for n in names})
    by_level: dict[int, list[str]] = {lv: [] for lv in levels}
    for n in names:
        by_level[tiers.get(n, levels[-1])].append(n)
    pos: dict[str, tuple[float, float]] = {}
    for i, lv in enumerate(levels):
        group = by_level[lv]
        for k, n in enumerate(group):
            pos[n] = (k - (len(group) - 1) / 2.0, -float(i))  # (x, y) in axis units
    fig = Figure(figsize=(11, 1.9 * len(levels) + 1))
    ax = fig.subplots()
    for a, b in edges:
        (x0, y0), (x1, y1) = pos[a], pos[b]
        s = strengths.get((a, b))
        same_tier = y0 == y1
        rad = -0.45 if same_tier else 0.08  # arcs within a tier bow upwards, clear of the boxes between
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "-|>", "color": "0.25",
                                "lw": 1.0 + 2.5 * min(1.0, s if s is not None and s <= 1 else 0.5),
                                "shrinkA": 22, "shrinkB": 22, "connectionstyle": f"arc3,rad={rad}",
                                "linestyle": "--" if reversible and (a, b) in reversible else "-"})
        if s is not None:
            mx, my = 0.55 * x0 + 0.45 * x1, 0.55 * y0 + 0.45 * y1
            if same_tier:  # arc3 bends to the left of travel: up when going right, down when going left
                my += 0.45 * abs(x1 - x0) / 2.0 * (1.0 if x1 > x0 else -1.0)
                mx = 0.5 * (x0 + x1)
            label = f"{s:.2f}" if s <= 1 else f"{s:.0f}"
            if directions and (a, b) in directions:
                label += f" ({directions[(a, b)]:.2f})"
            ax.text(mx, my, label, fontsize=8, color="tab:red",
                    ha="center", va="center", bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 0.5})
    for n, (x, y) in pos.items():
        ax.text(x, y, n, ha="center", va="center", fontsize=9,
                bbox={"boxstyle": "round,pad=0.4", "fc": "#dbe9f6", "ec": "#4a7bb7"})
    xs = [p[0] for p in pos.values()]
    ax.set_xlim(min(xs) - 1, max(xs) + 1)
    ax.set_ylim(-len(levels) + 0.4, 0.6)
    ax.axis("off")
    ax.set_title(f"learned CBN: {title}" if title else "learned CBN", fontsize=10)
    fig.text(0.01, 0.01, edge_legend(strengths, directions, reversible), fontsize=8, color="0.2", va="bottom",
             ha="left", wrap=True)
    height = fig.get_figheight()  # inches; fixed margins instead of tight_layout, which draws the figure once
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.45 / height, top=1.0 - 0.35 / height)  # more to measure
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path


def edge_legend(strengths: Mapping[tuple[str, str], float],
                directions: Mapping[tuple[str, str], float] | None = None,
                reversible: set[tuple[str, str]] | None = None) -> str:
    """What the red arc labels, line widths and dashes of graph.png mean (printed under the graph)."""
    bootstrap = all(s <= 1 for s in strengths.values())
    if bootstrap:
        text = ("Red label on each arc: its bootstrap strength, the share of resampled data sets whose learned "
                "graph has the arc (either way); thicker lines are stronger.")
        if directions:
            text += " In brackets: the share of those in which it points as drawn."
    else:
        text = "Red label on each arc: the score lost if the arc is removed (no bootstrap was run)."
    if reversible:
        text += " Dashed: the data cannot tell the arc's direction (Markov-equivalent graphs differ)."
    return text
