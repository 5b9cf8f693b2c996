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

import numpy as np
import pandas as pd

QUERY_FACTORS = ("light", "weather", "surface", "road_layout", "speed_limit", "other_movement")


def run_bench(rows: int, seed: int, score: str = "bdeu", pgmpy_queries: int = 200) -> dict:
    from adsgen.cbn import pgmpy_adapter as A
    from adsgen.cbn.compiled import CompiledCBN
    from adsgen.cbn.encoding import encode
    from adsgen.cbn.graphs import compare, cpdag_shd
    from adsgen.cbn.hillclimb import HillClimbConfig, hill_climb
    from adsgen.cbn.parameters import fit_bdeu
    from adsgen.cbn.tiers import default_tiers, forbidden_edges, temporal_order
    from adsgen.crashdata.reference import reference_edges, sample_canonical
    from adsgen.errors import ConfigError
    from adsgen.provenance import versions
    from adsgen.variables import NAMES, STATES

    if score not in ("bdeu", "bic"):
        raise ConfigError(f"--score must be bdeu or bic, got '{score}'")
    if rows < 100:
        raise ConfigError(f"--rows must be at least 100, got {rows}")
    frame = sample_canonical(rows, seed)
    tiers = default_tiers(NAMES)

    t = time.perf_counter()
    data = encode(frame, STATES, NAMES)
    result = hill_climb(data, forbidden_edges(tiers), HillClimbConfig(score=score, ties="pgmpy"))
    adsgen_s = time.perf_counter() - t

    t = time.perf_counter()
    pg_edges = A.hill_climb(A.frame_for_pgmpy(frame, STATES), STATES, temporal_order(tiers), score=score)
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


NETWORKS = ("asia", "sachs", "child", "insurance", "alarm")
"""Networks ``bench cbn-networks`` samples by default (pgmpy's bundled examples)."""


def run_networks_bench(networks: list[str], sizes: list[int], seeds: int, score: str, algorithms: list[str],
                       pgmpy_hc: bool = True, on_run=None) -> dict:
    """For each network x size x sampling seed: each adsgen search and stock pgmpy hill climbing on the
    same sample; CPDAG and skeleton SHD to the true graph, learned score minus the true graph's score
    (nats), search wall time."""
    from adsgen.cbn import pgmpy_adapter as A
    from adsgen.cbn.encoding import encode
    from adsgen.cbn.exact import MAX_VARIABLES, exact_search
    from adsgen.cbn.graphs import cpdag_shd, skeleton_shd
    from adsgen.cbn.hillclimb import HillClimbConfig, hill_climb
    from adsgen.cbn.scores import CountScorer

    runs = []
    for net in networks:
        for rows in sizes:
            for seed in range(seeds):
                frame, states, truth = A.example_network(net, rows, seed)
                names = tuple(states)
                data = encode(frame, states, names)
                scorer = CountScorer(data, score)
                idx = {v: i for i, v in enumerate(names)}
                true_score = scorer.total({idx[b]: tuple(sorted((idx[a] for a, c in truth if c == b)))
                                           for b in names})
                learners = [a for a in algorithms if not (a == "exact" and len(names) > MAX_VARIABLES)]
                for alg in learners + (["pgmpy_hc"] if pgmpy_hc else []):
                    t = time.perf_counter()
                    if alg == "exact":
                        edges = list(exact_search(data, score=score).edges)
                    elif alg == "hc":
                        edges = list(hill_climb(data, config=HillClimbConfig(score=score)).edges)
                    else:
                        edges = A.hill_climb(A.frame_for_pgmpy(frame, states), states, [], score=score)
                    wall = time.perf_counter() - t
                    parents = {idx[b]: tuple(sorted(idx[a] for a, c in edges if c == b)) for b in names}
                    runs.append({"network": net, "rows": rows, "seed": seed, "learner": alg,
                                 "variables": len(names), "cpdag_shd": cpdag_shd(names, edges, truth),
                                 "skeleton_shd": skeleton_shd(edges, truth),
                                 "score_minus_true": scorer.total(parents) - true_score, "search_s": wall})
                    if on_run:
                        on_run(runs[-1])
    return {"format": "adsgen-bench-cbn-networks/1", "score": score, "networks": networks, "sizes": sizes,
            "seeds": seeds, "runs": runs,
            "r_bnlearn": "not run: R bnlearn comparison not built (issue 14)"}


def print_networks_bench(f: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"bench cbn-networks: score {f['score']}, means over {f['seeds']} sampling seeds")
    for col in ("network", "rows", "learner", "CPDAG SHD", "skeleton SHD", "score - true (nats)", "search (s)"):
        t.add_column(col, justify="left" if col in ("network", "learner") else "right")
    groups: dict[tuple, list[dict]] = {}
    for r in f["runs"]:
        groups.setdefault((r["network"], r["rows"], r["learner"]), []).append(r)
    for (net, rows, alg), rs in groups.items():
        t.add_row(net, str(rows), alg, f"{np.mean([r['cpdag_shd'] for r in rs]):.1f}",
                  f"{np.mean([r['skeleton_shd'] for r in rs]):.1f}",
                  f"{np.mean([r['score_minus_true'] for r in rs]):+.1f}", f"{np.mean([r['search_s'] for r in rs]):.2f}")
    Console().print(t)
    Console().print(f["r_bnlearn"])
