"""`adsgen bench search`: the three methods on the same budget, seeds, simulator and agent, R repeats."""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from adsgen.search.evaluator import RUNS_TO_SEED_PAPER, SEED_PAPER_DISTINCT
from adsgen.search.methods import method_names

METHODS = ("cbn", "random", "ga")
ABLATION = "cbn_random_risk"
"""The CBN-guided search with the CBN's risk replaced by random numbers (adsgen.search.risk.ShuffledRisk)."""
VERDICT_KEYS = ("unavoidable", "not_at_fault", "reference_fails")


def _over_limit(scenario) -> bool:
    from adsgen.scenario.mapping import speed_limit_mps

    return scenario.ego.speed_mps > speed_limit_mps(scenario.factors) + 1e-9


def _resimulate_valid(ev, backend, agent) -> tuple[int, int]:
    """Re-run every distinct valid failure (its scenario and seed, outside the budget) and judge it again:
    (how many, how many gave the same verdict)."""
    from adsgen.sim.judge import judge

    found = list(ev.valid.values())
    if not found:
        return 0, 0
    scs = [f.outcome.scenario for f in found]
    res = backend.run(scs, agent, ev.sim_seed)
    judge(res, scs, backend, ev.sim_seed, ev.ttc_threshold_s)
    same = sum(r.verdict == f.outcome.result.verdict for r, f in zip(res, found, strict=True))
    return len(found), same


def default_cbn_dir(work: Path, console: Console | None = None) -> Path:
    """Learn a CBN from the shipped synthetic crash table (the demo's model) into work/cbn."""
    from adsgen.cbn import learn_to_dir
    from adsgen.paths import CRASH_DIR

    out = work / "cbn"
    if console:
        console.print(f"learning a CBN from {CRASH_DIR / 'montgomery_synthetic.csv.gz'} ...")
    learn_to_dir(CRASH_DIR / "montgomery_synthetic.csv.gz", out, bootstrap=0, seed=0)
    return out


# long: the benchmark's loop over methods and repeats with its per-method tallies (issue 19: split after the
# search work of the day lands)
def run_bench(*, cbn_dir: Path | None, seeds_dir: Path, budget: int, repeats: int, agent: str = "idm",
              console: Console | None = None, faithfulness_check: bool = True) -> dict:
    from adsgen.scenario.io import load_seeds
    from adsgen.search.faithfulness import faithfulness
    from adsgen.search.risk import ShuffledRisk
    from adsgen.search.run import SearchConfig, load_risk_model, run_search, seed_spaces
    from adsgen.sim.agents import get_agent
    from adsgen.sim.backends import get_backend

    assert set(METHODS) <= set(method_names())
    seeds = load_seeds(seeds_dir)
    with tempfile.TemporaryDirectory() as tmp:
        cbn_dir = cbn_dir or default_cbn_dir(Path(tmp), console)
        risk = load_risk_model(cbn_dir)
    backend = get_backend("builtin")
    methods = (*METHODS, ABLATION)
    per: dict[str, dict] = {m: {"distinct_high_risk": [], "runs": [], "iterations": [], "wall_s": [],
                                RUNS_TO_SEED_PAPER: [], "mean_log_plausibility": [], "valid_failures": [],
                                "label_distinct_high_risk": [], "reference_runs": [], "over_limit": [],
                                "resimulated": [], "resimulated_same": [], **{k: [] for k in VERDICT_KEYS}}
                            for m in methods}
    try:
        for rep in range(repeats):
            for m in methods:
                model = ShuffledRisk(risk, seed=rep) if m == ABLATION else risk if m == "cbn" else None
                ag = get_agent(agent)
                res = run_search(SearchConfig(method="cbn" if m == ABLATION else m, budget=budget, seed=rep,
                                              agent=agent), seeds, model, backend=backend, agent=ag)
                ev = res.evaluator
                d = per[m]
                d["valid_failures"].append(len(ev.valid))
                counts = ev.verdicts()
                for k in VERDICT_KEYS:
                    d[k].append(counts.get(k, 0))
                d["label_distinct_high_risk"].append(len(ev.label_keys))
                d["reference_runs"].append(ev.reference_runs)
                found = [f.outcome.scenario for f in ev.archive.values()]
                d["over_limit"].append(sum(map(_over_limit, found)) / len(found) if found else 0.0)
                n, same = _resimulate_valid(ev, backend, ag)
                d["resimulated"].append(n)
                d["resimulated_same"].append(same)
                _, logp = risk.score([f.outcome.candidate.factors for f in res.found])
                d["distinct_high_risk"].append(len(ev.archive))
                d["runs"].append(ev.runs)
                d["iterations"].append(ev.iteration)
                d["wall_s"].append(round(res.wall_s, 3))
                d[RUNS_TO_SEED_PAPER].append(ev.runs_to(SEED_PAPER_DISTINCT))
                d["mean_log_plausibility"].append(round(float(np.mean(logp)), 4) if len(logp) else None)
                if console:
                    console.print(f"repeat {rep} {m:>6}: {len(ev.valid)} distinct valid failures, "
                                  f"{len(ev.archive)} distinct high-risk in {ev.runs} runs ({ev.reference_runs} "
                                  f"reference runs, {res.wall_s:.1f} s)")
        faith = (faithfulness(risk, seed_spaces(seeds), backend, get_agent(agent)).to_dict()
                 if faithfulness_check else None)
    finally:
        backend.close()
    out: dict = {"budget": budget, "repeats": repeats, "agent": agent, "seeds": [s.name for s in seeds],
                 "methods": {}}
    for m, d in per.items():
        per_run = [h / r for h, r in zip(d["distinct_high_risk"], d["runs"], strict=True)]
        lp = [x for x in d["mean_log_plausibility"] if x is not None]
        out["methods"][m] = {
            "distinct_high_risk": {"mean": statistics.fmean(d["distinct_high_risk"]),
                                   "each": d["distinct_high_risk"]},
            "distinct_per_run": round(statistics.fmean(per_run), 5),
            "runs": statistics.fmean(d["runs"]),
            "iterations": statistics.fmean(d["iterations"]),
            "wall_s": round(statistics.fmean(d["wall_s"]), 3),
            RUNS_TO_SEED_PAPER: d[RUNS_TO_SEED_PAPER] if repeats > 1 else d[RUNS_TO_SEED_PAPER][0],
            "mean_log_plausibility": round(statistics.fmean(lp), 4) if lp else None,
            "valid_failures": {"mean": statistics.fmean(d["valid_failures"]), "each": d["valid_failures"]},
            **{k: statistics.fmean(d[k]) for k in VERDICT_KEYS},
            "high_risk_distinct": statistics.fmean(d["distinct_high_risk"]),
            "label_distinct_high_risk": statistics.fmean(d["label_distinct_high_risk"]),
            "reference_runs": statistics.fmean(d["reference_runs"]),
            "ego_over_limit_share": max(d["over_limit"]),
            "valid_resimulated": sum(d["resimulated"]),
            "valid_resimulated_same_verdict": sum(d["resimulated_same"]),
        }
    cbn_rate = out["methods"]["cbn"]["distinct_per_run"]
    out["ratios"] = {f"cbn/{m}": (round(cbn_rate / out["methods"][m]["distinct_per_run"], 3)
                                  if out["methods"][m]["distinct_per_run"] else None)
                     for m in ("random", "ga")}
    valid = {m: out["methods"][m]["valid_failures"]["mean"] for m in methods}
    for m in ("random", "ga"):
        out[f"cbn_over_{m}_valid"] = round(valid["cbn"] / valid[m], 3) if valid[m] else None
    out["cbn_over_ablation_valid"] = round(valid["cbn"] / valid[ABLATION], 3) if valid[ABLATION] else None
    out["faithfulness"] = faith
    return out


def print_bench(result: dict, console: Console) -> None:
    t = Table(title=f"search benchmark: budget {result['budget']}, {result['repeats']} repeats, "
                    f"agent {result['agent']}")
    for col in ("method", "valid failures (mean)", "each", "unavoidable", "not at fault", "reference runs",
                "distinct high-risk (mean)", "each", "per run", "runs", "iterations", "wall s",
                f"runs to {SEED_PAPER_DISTINCT}", "mean log plausibility"):
        t.add_column(col)
    for m, d in result["methods"].items():
        t.add_row(m, f"{d['valid_failures']['mean']:.1f}", str(d["valid_failures"]["each"]),
                  f"{d['unavoidable']:.1f}", f"{d['not_at_fault']:.1f}", f"{d['reference_runs']:.0f}",
                  f"{d['distinct_high_risk']['mean']:.1f}", str(d["distinct_high_risk"]["each"]),
                  f"{d['distinct_per_run']:.4f}", f"{d['runs']:.0f}", f"{d['iterations']:.0f}",
                  f"{d['wall_s']:.2f}", str(d[RUNS_TO_SEED_PAPER]), str(d["mean_log_plausibility"]))
    console.print(t)
    for k in ("cbn_over_random_valid", "cbn_over_ga_valid", "cbn_over_ablation_valid"):
        console.print(f"{k} (distinct valid failures, mean of {result['repeats']}): [bold]{result[k]}[/]")
    share = {m: d["ego_over_limit_share"] for m, d in result["methods"].items()}
    console.print(f"ego_over_limit_share (found scenarios): {share}")
    same = {m: f"{d['valid_resimulated_same_verdict']}/{d['valid_resimulated']}" for m, d in result["methods"].items()}
    console.print(f"valid failures re-simulated to the same verdict: {same}")
    for k, v in result["ratios"].items():
        console.print(f"{k} (distinct high-risk per run): [bold]{v}[/]")
    f = result.get("faithfulness")
    if f:
        console.print(f"faithfulness: Spearman rho(CBN risk, simulated failure rate) = {f['spearman_rho']} "
                      f"(p={f['p_value']}); per seed {f['per_seed']}")
