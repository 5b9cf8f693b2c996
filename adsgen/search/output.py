"""What `adsgen generate` writes: every distinct high-risk scenario as YAML and OpenSCENARIO, a summary
table (CSV) and a JSON record of the run."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from adsgen.provenance import utc_now, versions
from adsgen.search.evaluator import RUNS_TO_SEED_PAPER, SEED_PAPER_DISTINCT
from adsgen.search.run import SearchResult, mean_log_plausibility
from adsgen.sim.vocabulary import verdict_counts_words
from adsgen.variables import FACTORS

SUMMARY_COLUMNS = ("name", "seed", "verdict", "reference_outcome", "omniscient_outcome", "at_fault", "fault_rule",
                   *FACTORS,
                   "manoeuvres", "collision", "collision_partner",
                   "impact_speed_mps", "min_ttc_s", "min_distance_m", "pet_s", "cbn_risk",
                   "log_plausibility", "found_at_run")


def _num(x):
    if x is None or (isinstance(x, float) and math.isinf(x)):
        return ""
    return round(float(x), 4)


VERDICT_ORDER = ("valid_failure", "reference_fails", "unavoidable", "not_at_fault", None)
"""Order of the summary: valid failures first."""


def summary_rows(result: SearchResult) -> list[dict]:
    """One row per distinct high-risk world, valid failures first (then by when they were found)."""
    rows = []
    found = sorted(result.found, key=lambda f: (VERDICT_ORDER.index(f.outcome.result.verdict)
                                                if f.outcome.result.verdict in VERDICT_ORDER else 4,
                                                f.outcome.run_index))
    for f in found:
        o = f.outcome
        r = o.result
        rows.append({
            "name": o.scenario.name, "seed": o.candidate.space.name, "verdict": r.verdict or "",
            "reference_outcome": r.reference_outcome or "", "omniscient_outcome": r.omniscient_outcome or "",
            "at_fault": "" if r.at_fault is None else int(r.at_fault), "fault_rule": r.fault_rule or "",
            **o.candidate.factors,
            "manoeuvres": ";".join(f"{a.id}:{a.manoeuvre.type}" for a in o.scenario.actors),
            "collision": int(r.collided), "collision_partner": r.collision_partner or "",
            "impact_speed_mps": _num(r.impact_speed_mps), "min_ttc_s": _num(r.min_ttc_s),
            "min_distance_m": _num(r.min_distance_m), "pet_s": _num(r.pet_s),
            "cbn_risk": _num(f.risk), "log_plausibility": _num(f.log_plausibility),
            "found_at_run": o.run_index,
        })
    return rows


def run_record(result: SearchResult, *, cbn_dir: str | None, seeds_dir: str | None) -> dict:
    ev = result.evaluator
    return {
        "method": result.config.method,
        "config": asdict(result.config),
        "method_options": result.extra.get("method_options", {}),
        "budget": result.config.budget,
        "runs": ev.runs,
        "iterations": ev.iteration,
        "seeds": result.seeds,
        "seeds_dir": seeds_dir,
        "cbn": cbn_dir,
        "valid_failures": len(ev.valid),
        "crash_weighted_coverage": result.coverage.to_dict()["crash_weighted_coverage"] if result.coverage else None,
        "coverage_per_seed": result.coverage.to_dict()["per_seed"] if result.coverage else None,
        "mean_log_plausibility": _num(mean_log_plausibility(result)),
        "verdicts": ev.verdicts(),
        "distinct_high_risk": len(ev.archive),
        "label_distinct_high_risk": len(ev.label_keys),
        "reference_runs": ev.reference_runs,
        RUNS_TO_SEED_PAPER: ev.runs_to(SEED_PAPER_DISTINCT),
        "high_risk_runs": sum(o.high_risk for o in ev.outcomes),
        "collisions": sum(o.result.collided for o in ev.outcomes),
        "wall_s": round(result.wall_s, 3),
        "curve": [{**asdict(p), "crash_weighted_coverage": round(c, 5)} if result.coverage_curve else asdict(p)
                  for p, c in zip(ev.curve, result.coverage_curve or [0.0] * len(ev.curve), strict=True)],
        "created": utc_now(),
        "versions": versions(),
    }


def search_summary(result) -> str:
    """One line: distinct valid failures, crash-weighted coverage, mean log plausibility, then the rest."""
    ev = result.evaluator
    cov = f"crash-weighted coverage [bold]{result.coverage.mean:.3f}[/]" if result.coverage else \
        "crash-weighted coverage - (no --cbn)"
    lp = mean_log_plausibility(result)
    return (f"[bold]{len(ev.valid)}[/] distinct valid failures; {cov}; mean log plausibility "
            f"{'-' if lp is None else f'{lp:.2f}'}; {len(ev.archive)} distinct high-risk worlds ({verdict_counts_words(ev.verdicts())}) "
            f"in {ev.runs} runs ({ev.reference_runs} of them reference runs), {ev.iteration} iterations, "
            f"{result.wall_s:.1f} s")


RUNS_DB = "runs.sqlite"


def check_output_dir(out_dir: str | Path) -> None:
    """Refuse an output folder that already holds a search's runs (nothing is overwritten)."""
    from adsgen.errors import InputError
    from adsgen.outputs import check_output

    check_output(out_dir, folder=True, make_parents=True)
    if (Path(out_dir) / RUNS_DB).exists():
        raise InputError(f"{Path(out_dir) / RUNS_DB}: this folder already holds a search's results; "
                         "choose a new --out")


def write_runs_db(result: SearchResult, path: Path) -> Path:
    """Every simulated run and the search curve, as a campaign database (`adsgen report` reads it)."""
    from adsgen.campaign.store import CampaignStore, CurvePoint

    ev = result.evaluator
    cfg = asdict(result.config)
    with CampaignStore.create(path, config={"search": cfg, "seeds": result.seeds}, source="adsgen generate") as db:
        db.record_results([(o.scenario, result.config.seed, o.result) for o in ev.outcomes],
                          result.config.agent, result.config.backend,
                          high_risk_ttc_s=result.config.ttc_threshold_s)
        db.add_curve_points([CurvePoint(method=result.config.method, iteration=p.iteration, sim_runs=p.runs,
                                        value=float(p.distinct_high_risk), wall_s=p.wall_s) for p in ev.curve])
    return path


def output_steps(result: SearchResult, xosc: bool = True) -> int:
    """The steps write_outputs reports: one per scenario YAML, plus one per .xosc export."""
    return len(result.found) * (2 if xosc else 1)


def write_outputs(result: SearchResult, out_dir: str | Path, *, cbn_dir: str | None = None,
                  seeds_dir: str | None = None, xosc: bool = True,
                  progress: Callable[[int], None] | None = None) -> dict[str, Path]:
    """Write scenarios/ (YAML), xosc/ (OpenSCENARIO + OpenDRIVE), summary.csv, run.json and runs.sqlite;
    ``progress(n)`` is called as files are written: one step per scenario YAML, one per .xosc export (so
    ``output_steps(result, xosc)`` in all)."""
    from adsgen.scenario.io import save_scenario

    tick = progress or (lambda n: None)
    out = Path(out_dir)
    (out / "scenarios").mkdir(parents=True, exist_ok=True)
    for f in result.found:
        save_scenario(f.outcome.scenario, out / "scenarios" / f"{f.outcome.scenario.name}.yaml")
        tick(1)
    if xosc and result.found:
        from adsgen.export import export_scenarios

        export_scenarios([f.outcome.scenario for f in result.found], out / "xosc", progress=lambda: tick(1))
    with open(out / "summary.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=SUMMARY_COLUMNS)
        w.writeheader()
        w.writerows(summary_rows(result))
    record = run_record(result, cbn_dir=cbn_dir, seeds_dir=seeds_dir)
    (out / "run.json").write_text(json.dumps(record, indent=2))
    write_runs_db(result, out / RUNS_DB)
    return {"scenarios": out / "scenarios", "xosc": out / "xosc", "summary": out / "summary.csv",
            "record": out / "run.json", "runs": out / RUNS_DB}
