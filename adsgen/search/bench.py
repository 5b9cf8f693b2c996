"""`adsgen bench search`: the three methods on the same budget, seeds, simulator and agent, R repeats."""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from adsgen.search.methods import method_names

METHODS = ("cbn", "random", "ga")


def default_cbn_dir(work: Path, console: Console | None = None) -> Path:
    """Learn a CBN from the shipped synthetic crash table (the demo's model) into work/cbn."""
    from adsgen.cbn import learn_to_dir
    from adsgen.paths import CRASH_DIR

    out = work / "cbn"
    if console:
        console.print(f"learning a CBN from {CRASH_DIR / 'montgomery_synthetic.csv.gz'} ...")
    learn_to_dir(CRASH_DIR / "montgomery_synthetic.csv.gz", out, bootstrap=0, seed=0)
    return out


def run_bench(*, cbn_dir: Path | None, seeds_dir: Path, budget: int, repeats: int, agent: str = "idm",
              console: Console | None = None, faithfulness_check: bool = True) -> dict:
    from adsgen.scenario.io import load_seeds
    from adsgen.search.faithfulness import faithfulness
    from adsgen.search.run import SearchConfig, load_risk_model, run_search, seed_spaces
    from adsgen.sim.agents import get_agent
    from adsgen.sim.backends import get_backend

    assert set(METHODS) <= set(method_names())
    seeds = load_seeds(seeds_dir)
    with tempfile.TemporaryDirectory() as tmp:
        cbn_dir = cbn_dir or default_cbn_dir(Path(tmp), console)
        risk = load_risk_model(cbn_dir)
    backend = get_backend("builtin")
    per: dict[str, dict] = {m: {"distinct_high_risk": [], "runs": [], "iterations": [], "wall_s": [],
                                "runs_to_89": [], "mean_log_plausibility": []} for m in METHODS}
    try:
        for rep in range(repeats):
            for m in METHODS:
                res = run_search(SearchConfig(method=m, budget=budget, seed=rep, agent=agent), seeds,
                                 risk if m == "cbn" else None, backend=backend, agent=get_agent(agent))
                ev = res.evaluator
                _, logp = risk.score([f.outcome.candidate.factors for f in res.found])
                d = per[m]
                d["distinct_high_risk"].append(len(ev.archive))
                d["runs"].append(ev.runs)
                d["iterations"].append(ev.iteration)
                d["wall_s"].append(round(res.wall_s, 3))
                d["runs_to_89"].append(ev.runs_to(89))
                d["mean_log_plausibility"].append(round(float(np.mean(logp)), 4) if len(logp) else None)
                if console:
                    console.print(f"repeat {rep} {m:>6}: {len(ev.archive)} distinct high-risk in {ev.runs} runs "
                                  f"({res.wall_s:.1f} s)")
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
            "runs_to_89": d["runs_to_89"] if repeats > 1 else d["runs_to_89"][0],
            "mean_log_plausibility": round(statistics.fmean(lp), 4) if lp else None,
        }
    cbn_rate = out["methods"]["cbn"]["distinct_per_run"]
    out["ratios"] = {f"cbn/{m}": (round(cbn_rate / out["methods"][m]["distinct_per_run"], 3)
                                  if out["methods"][m]["distinct_per_run"] else None)
                     for m in ("random", "ga")}
    out["faithfulness"] = faith
    return out


def print_bench(result: dict, console: Console) -> None:
    t = Table(title=f"search benchmark: budget {result['budget']}, {result['repeats']} repeats, "
                    f"agent {result['agent']}")
    for col in ("method", "distinct high-risk (mean)", "each", "per run", "runs", "iterations", "wall s",
                "runs to 89", "mean log plausibility"):
        t.add_column(col)
    for m, d in result["methods"].items():
        t.add_row(m, f"{d['distinct_high_risk']['mean']:.1f}", str(d["distinct_high_risk"]["each"]),
                  f"{d['distinct_per_run']:.4f}", f"{d['runs']:.0f}", f"{d['iterations']:.0f}",
                  f"{d['wall_s']:.2f}", str(d["runs_to_89"]), str(d["mean_log_plausibility"]))
    console.print(t)
    for k, v in result["ratios"].items():
        console.print(f"{k} (distinct high-risk per run): [bold]{v}[/]")
    f = result.get("faithfulness")
    if f:
        console.print(f"faithfulness: Spearman rho(CBN risk, simulated failure rate) = {f['spearman_rho']} "
                      f"(p={f['p_value']}); per seed {f['per_seed']}")
