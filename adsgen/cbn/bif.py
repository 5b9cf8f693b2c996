"""Writing a model as BIF (Bayesian Interchange Format) without pgmpy.

pgmpy's ``BIFWriter`` would do, but importing pgmpy pulls in torch (about 4 s and 400 MB before any
work), and writing BIF is a few lines of text: one ``variable`` block per variable with its states, one
``probability`` block per CPT, a row per parent configuration (first parent most significant) listing the
child's probabilities in state order, at full float precision (``repr``). The layout is the one pgmpy's
writer produces; pgmpy's ``BIFReader`` reads it back to the same states, parents and tables (tested), and
so do R bnlearn's ``read.bif`` and GeNIe. Reading stays with pgmpy (``pgmpy_adapter.read_bif``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np


def bif_text(network: str, names: Sequence[str], states: Mapping[str, Sequence[str]],
             parents: Mapping[str, Sequence[str]], cpts: Mapping[str, np.ndarray]) -> str:
    """The BIF text of a network; ``cpts[v][parent_1, ..., parent_k, state]``."""
    lines = [f"network {network} {{", "}"]
    for v in names:
        lines += [f"variable {v} {{",
                  f"    type discrete [ {len(states[v])} ] {{ {', '.join(states[v])} }};", "}"]
    for v in names:
        ps = list(parents[v])
        table = np.asarray(cpts[v], dtype=np.float64)  # (*parent cards, card)
        if not ps:
            lines += [f"probability ( {v} ) {{", f"    table {', '.join(map(repr, map(float, table)))} ;", "}"]
            continue
        lines.append(f"probability ( {v} | {', '.join(ps)} ) {{")
        for config in itertools.product(*(range(len(states[p])) for p in ps)):  # first parent most significant
            label = ", ".join(states[p][k] for p, k in zip(ps, config, strict=True))
            lines.append(f"    ( {label} ) {', '.join(map(repr, map(float, table[config])))};")
        lines.append("}")
    return "\n".join(lines) + "\n"


def write_bif(path: str | Path, names: Sequence[str], states: Mapping[str, Sequence[str]],
              parents: Mapping[str, Sequence[str]], cpts: Mapping[str, np.ndarray],
              network: str = "adsgen_cbn") -> Path:
    """Write the network to ``path`` as BIF; returns the path."""
    path = Path(path)
    path.write_text(bif_text(network, names, states, parents, cpts), encoding="utf-8")
    return path
