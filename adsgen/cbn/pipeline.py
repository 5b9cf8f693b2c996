"""Crash file -> learned, validated model folder: what `adsgen cbn learn` and `adsgen demo` both run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from adsgen.cbn.climb import MISSING_ROWS
from adsgen.cbn.learner import ALGORITHMS, LearnConfig, LearnResult
from adsgen.cbn.scores import check_score
from adsgen.errors import InputError, one_of


def learn_from_file(data: str | Path, out: str | Path, config: LearnConfig = LearnConfig(), *,
                    tiers_file: str | Path | None = None, known_graph: str | Path | None = None,
                    vehicle_table: str | Path | None = None, incidents: str | Path | None = None,
                    non_motorists: str | Path | None = None,
                    progress: Callable[[str], None] | None = None) -> tuple[LearnResult, Path]:
    """Read a crash table (any supported source), learn + validate a CBN, write the model folder.

    ``tiers_file``: YAML/JSON tiers (default: canonical tiers). ``known_graph``: JSON of the true graph's
    edges (adds structural Hamming distances to the report). Returns (result, folder).
    """
    from adsgen.cbn.learner import learn
    from adsgen.cbn.model import save_model
    from adsgen.cbn.report import render
    from adsgen.cbn.tiers import load_tiers
    from adsgen.crashdata import read_crash_table
    from adsgen.provenance import file_fingerprint

    say = progress or (lambda _msg: None)
    known = load_known_edges(Path(known_graph)) if known_graph else None
    say(f"reading {data}")
    table = read_crash_table(data, vehicle_table=vehicle_table, incidents=incidents, non_motorists=non_motorists)
    complete = int(table.data.notna().all(axis=1).sum())
    if complete == 0:
        raise InputError(f"{data}: no row has every variable known (0 complete rows of {table.rows:,}); "
                         "a model learned from it would be empty: adsgen data inspect shows what is missing")
    names = [str(c) for c in table.data.columns]
    tier_map = load_tiers(Path(tiers_file), names) if tiers_file else None
    if known is not None:
        unknown = sorted({v for e in known for v in e} - set(names))
        if unknown:
            raise InputError(f"{known_graph}: unknown variable(s) {', '.join(unknown)} "
                             f"(the data has: {', '.join(names)})")
    source = {"path": str(data), "kind": table.source, "fingerprint": table.fingerprint,
              "rows_raw": table.rows_raw, "rows": table.rows}
    if table.warnings:  # variables missing on more than 20 % of rows, shown by the validation report
        source["warnings"] = list(table.warnings)
    if table.vehicle_path is not None:
        source["vehicle_path"] = str(table.vehicle_path)
        source["vehicle_fingerprint"] = table.vehicle_fingerprint
    if tiers_file:
        source["tiers_file"] = str(tiers_file)
        source["tiers_fingerprint"] = file_fingerprint(tiers_file)
    if known_graph:
        source["known_graph"] = str(known_graph)
    result = learn(table.data, config, tiers=tier_map, source=source, known_edges=known, progress=say)
    say("writing model folder")
    folder = save_model(result.model, out, result.report, render(result.report, result.model.card),
                        result.strengths, result.directions)
    return result, folder


def learn_to_dir(data: str | Path, out: str | Path, *, tiers: str | Path | None = None,  # noqa: PLR0913 -- `adsgen cbn learn` as a function: one keyword per command-line option
                 known_graph: str | Path | None = None, vehicle_table: str | Path | None = None,
                 incidents: str | Path | None = None, non_motorists: str | Path | None = None,
                 score: str = "bdeu", bootstrap: int = 0, seed: int = 0, holdout: float = 0.2,
                 missing: str = "paired", pc: bool = True, pc_rows: int = 20_000, algorithm: str = "auto",
                 structure_ess: float | Literal["auto"] = 10.0,
                 progress: Callable[[str], None] | None = None) -> LearnResult:
    """``adsgen cbn learn`` as a function, options as keywords (see LearnConfig); returns the result."""
    config = LearnConfig(score=check_score(score.lower(), "--score"), bootstrap=bootstrap, seed=seed, holdout=holdout, pc=pc,
                         pc_rows=pc_rows, missing=one_of(missing.lower(), MISSING_ROWS, "--missing"),
                         algorithm=one_of(algorithm.lower(), ALGORITHMS, "--algorithm"), structure_ess=structure_ess)
    result, _ = learn_from_file(data, out, config, tiers_file=tiers, known_graph=known_graph,
                                vehicle_table=vehicle_table, incidents=incidents,
                                non_motorists=non_motorists, progress=progress)
    return result


def load_known_edges(path: Path) -> list[tuple[str, str]]:
    """Edges of a known graph from JSON: {"edges": [{"from": a, "to": b}, ...]} or [[a, b], ...]."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read known graph JSON ({exc.__class__.__name__})") from None
    edges = raw.get("edges") if isinstance(raw, dict) else raw
    if not isinstance(edges, list):
        raise InputError(f"{path}: expected {{\"edges\": [{{\"from\": a, \"to\": b}}, ...]}} or [[a, b], ...], "
                         f"got {type(edges).__name__}")
    out = []
    for e in edges:
        if isinstance(e, dict) and "from" in e and "to" in e:
            out.append((str(e["from"]), str(e["to"])))
        elif isinstance(e, list | tuple) and len(e) == 2:
            out.append((str(e[0]), str(e[1])))
        else:
            raise InputError(f"{path}: an edge must be {{'from': a, 'to': b}} or [a, b], got {e!r}")
    if not out:
        raise InputError(f"{path}: no edges found (expected a list under 'edges')")
    import networkx as nx

    graph = nx.DiGraph(out)
    if not nx.is_directed_acyclic_graph(graph):
        loop = [a for a, _ in nx.find_cycle(graph)]
        cycle = " -> ".join([*loop, loop[0]])
        raise InputError(f"{path}: the known graph has a cycle ({cycle}); a Bayesian network's graph is acyclic")
    return out
