"""``adsgen bench cbn``: adsgen vs stock pgmpy on data of the synthetic reference network.

Both learners get the same sampled table, the same score (BDeu, ess 10, or BIC), the same tier
constraints and pgmpy's defaults (tabu 100, epsilon 1e-4), in the same process; adsgen tries moves in
pgmpy's order (``ties="pgmpy"``), which decides exact ties the way that pgmpy process does. Query speed: the risk
of injury-or-fatal for every combination of light, weather, surface, road layout, speed limit and the
other party's movement (4500 partial assignments), answered by CompiledCBN in one batch (cold cache)
and by pgmpy's VariableElimination one query at a time (a random subset, timed, then scaled to per
second); both on the same fitted model.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from adsgen.cbn.encoding import CodedData
from adsgen.cbn.rbnlearn import RLearner
from adsgen.cbn.scores import ScoreName, check_score

QUERY_FACTORS = ("light", "weather", "surface", "road_layout", "speed_limit", "other_movement")


def bnlearn_vs_adsgen(frame: pd.DataFrame, names: Sequence[str], states: dict[str, tuple[str, ...]],
                      forbidden: set[tuple[str, str]], score: ScoreName) -> dict:
    """Read + encode + search from one CSV of ``frame``: adsgen (exact search, as ``cbn learn`` picks for the
    canonical variables, and hill climbing) against R bnlearn's hc with the same forbidden arcs."""
    import tempfile

    from adsgen.cbn.exact import exact_search
    from adsgen.cbn.hillclimb import HillClimbConfig, hill_climb
    from adsgen.cbn.rbnlearn import availability_note, bnlearn_version, run_bnlearn

    if bnlearn_version() is None:
        return {"note": availability_note()}
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "table.csv"
        frame[list(names)].to_csv(csv, index=False)
        out: dict = {"note": availability_note()}
        for name in ("exact", "hc"):
            t = time.perf_counter()
            data = read_csv_coded(csv)
            read_s = time.perf_counter() - t
            t = time.perf_counter()
            if name == "exact":
                exact_search(data, forbidden, score=score)
            else:
                hill_climb(data, forbidden, HillClimbConfig(score=score))
            out[f"adsgen_{name}"] = {"read_encode_s": read_s, "search_s": time.perf_counter() - t}
        r = run_bnlearn(csv, ("hc",), score, forbidden)["hc"]
    out["bnlearn_hc"] = {"read_s": r.read_s, "search_s": r.search_s}
    for f in out.values():
        if isinstance(f, dict) and "search_s" in f:
            f["total_s"] = f.get("read_encode_s", f.get("read_s", 0.0)) + f["search_s"]
    for name in ("adsgen_exact", "adsgen_hc"):
        out[name]["speedup_vs_bnlearn_hc"] = out["bnlearn_hc"]["total_s"] / out[name]["total_s"]
    return out


def run_bench(rows: int, seed: int, score: ScoreName = "bdeu", pgmpy_queries: int = 200,
              bnlearn: bool = True) -> dict:
    from adsgen.cbn import pgmpy_adapter as A
    from adsgen.cbn.compiled import CompiledCBN
    from adsgen.cbn.encoding import encode
    from adsgen.cbn.graphs import compare, cpdag_shd
    from adsgen.cbn.hillclimb import HillClimbConfig, hill_climb
    from adsgen.cbn.parameters import fit_bdeu
    from adsgen.cbn.tiers import default_tiers, forbidden_edges, temporal_order
    from adsgen.errors import ConfigError
    from adsgen.groundtruth.reference import reference_edges, sample_canonical
    from adsgen.provenance import versions
    from adsgen.variables import NAMES, STATES

    score = check_score(score, "--score")
    if rows < 100:
        raise ConfigError(f"--rows must be at least 100, got {rows}")
    frame = sample_canonical(rows, seed)
    tiers = default_tiers(NAMES)

    t = time.perf_counter()
    data = encode(frame, STATES, NAMES)
    result = hill_climb(data, forbidden_edges(tiers), HillClimbConfig(score=score, ties="pgmpy"))
    adsgen_s = time.perf_counter() - t

    t = time.perf_counter()
    pg_edges = A.pgmpy_hill_climb(A.frame_for_pgmpy(frame, STATES), STATES, temporal_order(tiers), score=score)
    pgmpy_s = time.perf_counter() - t

    truth = reference_edges()
    cmp_ = compare(NAMES, result.edges, truth)

    parents = {v: tuple(a for a, b in result.edges if b == v) for v in NAMES}
    cpts = fit_bdeu(data, parents)
    combos_list = list(itertools.product(*[STATES[v] for v in QUERY_FACTORS]))
    combos = pd.DataFrame(combos_list, columns=list(QUERY_FACTORS))
    best = float("inf")
    for _ in range(3):
        cbn = CompiledCBN.build(NAMES, STATES, parents, cpts)  # cold cache each time
        t = time.perf_counter()
        risk = cbn.batch_risk(combos)
        best = min(best, time.perf_counter() - t)
    compiled_qps = len(combos) / best

    ve = A.VariableElimination(A.network(NAMES, STATES, parents, cpts))
    pick = np.random.default_rng(seed).choice(len(combos_list), size=min(pgmpy_queries, len(combos_list)),
                                              replace=False)
    worst = 0.0
    t = time.perf_counter()
    got = []
    for i in pick:
        p = ve.query("severity", dict(zip(QUERY_FACTORS, combos_list[i], strict=True)))
        got.append(p[1] + p[2])
    pgmpy_q_s = time.perf_counter() - t
    worst = float(np.max(np.abs(np.array(got) - risk[pick])))
    pgmpy_qps = len(pick) / pgmpy_q_s

    return {
        "bnlearn": bnlearn_vs_adsgen(frame, NAMES, STATES, forbidden_edges(tiers), score) if bnlearn else
        {"note": "bnlearn not run (--no-bnlearn)"},
        "rows": rows, "seed": seed, "score": score,
        "adsgen_learn_s": adsgen_s, "pgmpy_learn_s": pgmpy_s, "speedup": pgmpy_s / adsgen_s,
        "same_graph": sorted(result.edges) == sorted(pg_edges),
        "same_cpdag": cpdag_shd(NAMES, result.edges, pg_edges) == 0,
        "tie_order": "pgmpy (same process)",
        "adsgen_edges": [list(e) for e in result.edges], "pgmpy_edges": [list(e) for e in pg_edges],
        "skeleton_shd": cmp_["skeleton_shd"], "cpdag_shd": cmp_["cpdag_shd"],
        "missed_arcs": cmp_["missed"], "extra_arcs": cmp_["extra"], "reversed_arcs": cmp_["reversed"],
        "queries": len(combos), "pgmpy_queries_timed": len(pick),
        "compiled_queries_per_s": compiled_qps, "pgmpy_queries_per_s": pgmpy_qps,
        "query_speedup": compiled_qps / pgmpy_qps, "max_abs_risk_diff_vs_pgmpy": worst,
        "versions": versions(("adsgen", "numpy", "pandas", "pgmpy", "scipy")),
        "note": "timings on a shared machine are noisy",
    }


def print_bench(f: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"bench cbn: {f['rows']} rows, score {f['score']}")
    t.add_column("figure")
    t.add_column("adsgen", justify="right")
    t.add_column("pgmpy", justify="right")
    t.add_column("ratio", justify="right")
    t.add_row("structure learning (s)", f"{f['adsgen_learn_s']:.3f}", f"{f['pgmpy_learn_s']:.2f}",
              f"{f['speedup']:.0f}x faster")
    t.add_row("risk queries per s", f"{f['compiled_queries_per_s']:.0f}", f"{f['pgmpy_queries_per_s']:.1f}",
              f"{f['query_speedup']:.0f}x faster")
    t.add_row("same graph", str(f["same_graph"]), "", "")
    t.add_row("SHD to reference (skeleton | CPDAG)", f"{f['skeleton_shd']} | {f['cpdag_shd']}", "", "")
    t.add_row("max |risk difference|", f"{f['max_abs_risk_diff_vs_pgmpy']:.1e}", "", "")
    Console().print(t)
    r = f["bnlearn"]
    if "bnlearn_hc" in r:
        t = Table(title="read + encode + search from one CSV, against R bnlearn hc")
        for col in ("learner", "read (+ encode) s", "search s", "total s", "bnlearn hc total / this"):
            t.add_column(col, justify="left" if col == "learner" else "right")
        for name, g in r.items():
            if isinstance(g, dict):
                ratio = g.get("speedup_vs_bnlearn_hc")
                t.add_row(name, f"{g.get('read_encode_s', g.get('read_s', 0.0)):.3f}", f"{g['search_s']:.3f}",
                          f"{g['total_s']:.3f}", "" if ratio is None else f"{ratio:.2f}")
        Console().print(t)
    Console().print(r["note"])


NETWORKS = ("asia", "sachs", "child", "insurance", "alarm")
"""Networks of ``adsgen bench cbn-networks`` (pgmpy's bundled copies of the bnlearn repository's)."""
QUICK_NETWORKS: tuple[str, ...] = ("asia", "sachs")
QUICK_SIZES: tuple[int, ...] = (5000,)
QUICK_SEEDS: tuple[int, ...] = (0,)
"""The subset ``--quick`` runs: networks, row counts, seeds."""
R_LEARNERS: tuple[RLearner, ...] = ("hc", "tabu")
"""bnlearn learners run beside adsgen's when R and bnlearn are installed (``adsgen.cbn.rbnlearn``)."""


def read_csv_coded(path: Path) -> CodedData:
    """A CSV of categorical columns as adsgen reads it: pandas (every column a category), then encoded."""
    from adsgen.cbn.encoding import encode
    from adsgen.cbn.learner import infer_states

    frame = pd.read_csv(path, dtype="category")
    return encode(frame, infer_states(frame))


def _adsgen_learners(data: CodedData, score: ScoreName, seed: int, pgmpy: bool
                     ) -> dict[str, tuple[Sequence[tuple[str, str]], float]]:
    """Edges and search wall time of adsgen's default search, its hill climbing and stock pgmpy."""
    from adsgen.cbn import pgmpy_adapter as A
    from adsgen.cbn.hillclimb import HillClimbConfig, hill_climb
    from adsgen.cbn.learner import choose_algorithm
    from adsgen.cbn.networks import decode_frame

    algorithm = choose_algorithm("auto", data.names, (), None)
    found: dict[str, tuple[Sequence[tuple[str, str]], float]] = {}
    t = time.perf_counter()
    if algorithm == "exact":
        from adsgen.cbn.exact import exact_search

        edges: Sequence[tuple[str, str]] = exact_search(data, (), score=score).edges
    else:
        from adsgen.cbn.tabu import tabu_search

        edges = tabu_search(data, (), HillClimbConfig(score=score), seed=seed).edges
    found[f"adsgen_{algorithm}"] = (edges, time.perf_counter() - t)
    t = time.perf_counter()
    edges = hill_climb(data, (), HillClimbConfig(score=score)).edges
    found["adsgen_hc"] = (edges, time.perf_counter() - t)
    if pgmpy:
        frame = A.frame_for_pgmpy(decode_frame(data), data.states)
        t = time.perf_counter()
        edges = A.pgmpy_hill_climb(frame, data.states, [], score=score)
        found["pgmpy_hc"] = (edges, time.perf_counter() - t)
    return found


def _network_case(net: str, model, rows: int, seed: int, score: ScoreName, pgmpy: bool,
                  bnlearn: bool, tmp: Path) -> dict:
    """One sample of one network: every learner's SHD, score gap and times."""
    from adsgen.cbn.graphs import cpdag_shd, skeleton_shd
    from adsgen.cbn.networks import decode_frame, network_edges, sample_network
    from adsgen.cbn.scores import CountScorer

    truth = network_edges(model)
    data = sample_network(model, rows, seed)
    scorer = CountScorer(data, score)
    true_score = scorer.total({data.index(v): tuple(data.index(str(p)) for p in model.get_parents(v))
                               for v in data.names})
    found = _adsgen_learners(data, score, seed, pgmpy)
    case: dict = {"network": net, "variables": len(data.names), "arcs": len(truth), "rows": rows, "seed": seed,
                  "true_score": true_score, "learners": {}}
    read: dict[str, float] = {}
    if bnlearn:
        from adsgen.cbn.rbnlearn import run_bnlearn
        from adsgen.errors import ConfigError

        csv = tmp / f"{net}_{rows}_{seed}.csv"
        decode_frame(data).to_csv(csv, index=False)
        t = time.perf_counter()
        read_csv_coded(csv)
        read["adsgen"] = time.perf_counter() - t
        try:
            for name, r in run_bnlearn(csv, R_LEARNERS, score).items():
                found[f"bnlearn_{name}"] = (r.edges, r.search_s)
                read["bnlearn"] = r.read_s
        except ConfigError as exc:  # R failed on this sample: say so in the case, go on with the others
            case["bnlearn_error"] = str(exc)
        csv.unlink()
    for name, (edges, wall) in found.items():
        parents = {data.index(v): tuple(data.index(a) for a, b in edges if b == v) for v in data.names}
        figures = {"cpdag_shd": cpdag_shd(data.names, edges, truth), "skeleton_shd": skeleton_shd(edges, truth),
                   "score_minus_true": scorer.total(parents) - true_score, "wall_s": wall}
        reader = "bnlearn" if name.startswith("bnlearn") else "adsgen" if name.startswith("adsgen") else None
        if reader in read:
            figures["read_encode_search_s"] = read[reader] + wall
        case["learners"][name] = figures
    return case


def run_network_bench(networks: Sequence[str] = NETWORKS, sizes: Sequence[int] = (5000, 20000, 100_000),
                      seeds: Sequence[int] = (0, 1, 2), score: ScoreName = "bic",
                      pgmpy: bool = True, on_case: Callable[[dict], None] | None = None,
                      bnlearn: bool = True) -> dict:
    """Structure learning on samples of known networks: adsgen's default search, its hill climbing, stock
    pgmpy HillClimbSearch and (``bnlearn`` and installed) R bnlearn's hc and tabu on the same rows. Per
    case: CPDAG and skeleton SHD to the true graph, learned score minus the true graph's score (nats, on
    the same rows), wall time of the search and, with bnlearn, of read + encode + search from one CSV."""
    import tempfile

    from adsgen.cbn.networks import load_network
    from adsgen.cbn.rbnlearn import availability_note, bnlearn_version
    from adsgen.provenance import versions

    use_r = bnlearn and bnlearn_version() is not None
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for net in networks:
            model = load_network(net)
            for rows in sizes:
                for seed in seeds:
                    case = _network_case(net, model, rows, seed, score, pgmpy, use_r, Path(tmp))
                    cases.append(case)
                    if on_case is not None:
                        on_case(case)
    r_note = availability_note() if bnlearn else "bnlearn not run (--no-bnlearn)"
    return {"format": "adsgen-bench-cbn-networks/2", "score": score,
            "note": "score_minus_true: learned graph's score minus the true graph's, same rows (nats); "
                    "wall_s: the structure search alone (sampling and encoding not counted); "
                    "read_encode_search_s (with bnlearn): reading the same CSV (adsgen: pandas + encode; "
                    "bnlearn: read.csv as factors) plus the search, in one process, start-up not counted",
            "r_bnlearn": r_note, "versions": versions(), "cases": cases}


def print_network_bench(figures: dict) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"structure learning on known networks ({figures['score']})", box=box.SIMPLE, padding=(0, 1), pad_edge=False, collapse_padding=True)
    for col in ("network", "rows", "seed", "learner", "CPDAG", "skel.", "score-true", "search s", "+read s"):
        t.add_column(col, justify="right" if col not in ("network", "learner") else "left",
                     min_width={"learner": 12, "score-true": 10}.get(col))
    for c in figures["cases"]:
        for name, f in c["learners"].items():
            e2e = f.get("read_encode_search_s")
            t.add_row(c["network"], str(c["rows"]), str(c["seed"]), name, str(f["cpdag_shd"]),
                      str(f["skeleton_shd"]), f"{f['score_minus_true']:.1f}", f"{f['wall_s']:.2f}",
                      "" if e2e is None else f"{e2e:.2f}")
    Console().print(t)
    Console().print("CPDAG / skel.: SHD to the true graph's CPDAG / skeleton; score-true: learned graph's score minus "
                    "the true graph's (nats); +read s: read + encode + search from one CSV")
    for c in figures["cases"]:
        if "bnlearn_error" in c:
            Console().print(f"{c['network']} {c['rows']} seed {c['seed']}: {c['bnlearn_error']}")
    Console().print(figures["r_bnlearn"])
