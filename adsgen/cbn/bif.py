"""Writing a model as BIF (Bayesian Interchange Format) without pgmpy.

pgmpy's ``BIFWriter`` would do, but importing pgmpy pulls in torch (about 4 s and 400 MB before any
work), and writing BIF is a few lines of text: one ``variable`` block per variable with its states, one
``probability`` block per CPT, a row per parent configuration (first parent most significant) listing the
child's probabilities in state order, at full float precision (``repr``). The layout is the one pgmpy's
writer produces; pgmpy's ``BIFReader`` reads it back to the same states, parents and tables (tested), and
so do R bnlearn's ``read.bif`` and GeNIe.

``read_bif`` reads that layout back (what ``adsgen cbn learn`` writes, and pgmpy's writer wrote before), so
loading a model for queries and search does not import pgmpy either; anything else (another tool's
extras: properties, ``default`` rows, comments) makes it return None and the caller falls back to pgmpy's
reader (``pgmpy_adapter.read_bif``). Tested against pgmpy's reader on the same files.
"""

from __future__ import annotations

import itertools
import re
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


_VARIABLE = re.compile(r"variable\s+(\S+)\s*\{\s*type\s+discrete\s*\[\s*(\d+)\s*\]\s*\{([^{}]*)\}\s*;\s*\}")
_PROBABILITY = re.compile(r"probability\s*\(\s*([^|()\s]+)\s*(?:\|([^()]*))?\)\s*\{([^{}]*)\}")
_ROW = re.compile(r"\(([^()]*)\)([^;()]*);")
_TABLE = re.compile(r"^\s*table\s+([^;]*);\s*$")
BifModel = tuple[list[str], dict[str, tuple[str, ...]], dict[str, tuple[str, ...]], dict[str, np.ndarray]]
"""(variables, states, parents, CPTs ``cpt[parent_1, ..., parent_k, state]``), as ``pgmpy_adapter.read_bif``."""


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",")]


def read_bif(text: str) -> BifModel | None:
    """The network in BIF ``text`` written in ``bif_text``'s layout, or None for anything else."""
    names: list[str] = []
    states: dict[str, tuple[str, ...]] = {}
    for name, card, body in _VARIABLE.findall(text):
        states[name] = tuple(_names(body))
        if len(states[name]) != int(card):
            return None
        names.append(name)
    parents: dict[str, tuple[str, ...]] = {}
    cpts: dict[str, np.ndarray] = {}
    for child, given, body in _PROBABILITY.findall(text):
        if child not in states or child in cpts:
            return None
        ps = tuple(_names(given)) if given and given.strip() else ()
        if any(p not in states for p in ps):
            return None
        table = _table(body, child, ps, states)
        if table is None:
            return None
        parents[child], cpts[child] = ps, table
    blocks = len(re.findall(r"\b(?:variable|probability)\b", text))
    if not names or set(cpts) != set(names) or blocks != 2 * len(names):
        return None
    return names, states, parents, cpts


def _table(body: str, child: str, ps: tuple[str, ...], states: Mapping[str, tuple[str, ...]]) -> np.ndarray | None:
    """One CPT from a probability block's body, or None when the block is not in the written layout."""
    card = len(states[child])
    shape = tuple(len(states[p]) for p in ps)
    if not ps:
        m = _TABLE.match(body)
        values = [float(x) for x in _names(m.group(1))] if m else []
        return np.array(values) if len(values) == card and abs(sum(values) - 1.0) <= 1e-6 else None
    table = np.full((*shape, card), np.nan)  # (*parent cards, card)
    rows = _ROW.findall(body)
    if len(rows) != int(np.prod(shape)) or _ROW.sub("", body).strip():
        return None
    index = [{s: k for k, s in enumerate(states[p])} for p in ps]
    for label, values in rows:
        config = _names(label)
        row = [float(x) for x in _names(values)]
        if len(config) != len(ps) or len(row) != card or any(c not in ix for c, ix in zip(config, index, strict=True)):
            return None
        table[tuple(ix[c] for c, ix in zip(config, index, strict=True))] = row
    if np.isnan(table).any() or not np.allclose(table.sum(axis=-1), 1.0, atol=1e-6):
        return None
    return table
