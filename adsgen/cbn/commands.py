"""``adsgen cbn learn|query|reference`` and ``adsgen bench cbn``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from adsgen.crashdata.sources import INCIDENTS_HELP, NON_MOTORISTS_HELP
from adsgen.errors import ConfigError, InputError
from adsgen.jsonout import check_json_target, json_option, tables_to_stderr, to_stdout, write_json

cbn_app = typer.Typer(help="Causal Bayesian networks: learn from a crash table, validate, query.",
                      no_args_is_help=True)


def _pairs(items: list[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise InputError(f"{option} '{item}': expected var=state")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _ess_option(text: str) -> float | Literal["auto"]:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise ConfigError(f"--ess '{text}': expected a positive number or auto")
    return value


@cbn_app.command("learn")
def learn_cmd(
    data: Path = typer.Argument(..., help="Crash table: Maryland statewide, Montgomery County or canonical CSV."),
    out: Path = typer.Option(..., "--out", help="Model folder to write (model.bif, card.json, validation.*)."),
    tiers: Path | None = typer.Option(None, "--tiers", help="YAML/JSON tiers file (default: canonical tiers)."),
    score: str = typer.Option("bdeu", "--score", help="Structure score: bdeu or bic."),
    bootstrap: int = typer.Option(0, "--bootstrap", help="Bootstrap resamples for arc strength (0: none)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the hold-out split, bootstrap and PC subsample."),
    holdout: float = typer.Option(0.2, "--holdout", help="Share of rows held out for validation."),
    missing: str = typer.Option("paired", "--missing",
                                help="Missing values in structure scores: paired (same rows on both sides of "
                                     "a move) or pgmpy (each family on its own complete rows)."),
    algorithm: str = typer.Option("auto", "--algorithm",
                                  help="Structure search: exact (score-optimal), tabu (tabu climbs with perturbed "
                                       "restarts), hc (pgmpy's hill climbing) or auto (exact when small "
                                       "enough, e.g. the 10 canonical variables, else tabu)."),
    ess: str = typer.Option("10", "--ess",
                            help="BDeu equivalent sample size of the structure score: a positive number, or "
                                 "auto (chosen by the data: the size whose learned graph has the largest BDeu "
                                 "marginal likelihood; for small samples)."),
    pc: bool = typer.Option(True, "--pc/--no-pc", help="Cross-check with pgmpy's PC."),
    pc_rows: int = typer.Option(20_000, "--pc-rows", help="Rows PC runs on (it is slow)."),
    known_graph: Path | None = typer.Option(None, "--known-graph",
                                            help="JSON of the true graph's edges, for SHD (synthetic data)."),
    vehicle_table: Path | None = typer.Option(None, "--vehicle-table",
                                              help="Maryland statewide vehicle table to join on REPORT_NO."),
    incidents: Path | None = typer.Option(None, "--incidents", help=INCIDENTS_HELP),
    non_motorists: Path | None = typer.Option(None, "--non-motorists", help=NON_MOTORISTS_HELP),
    json_out: str | None = json_option("the validation figures and arcs"),
) -> None:
    """Learn a CBN from DATA, validate it on held-out rows and write the model folder."""
    from rich.console import Console

    from adsgen.cbn.pipeline import learn_to_dir
    from adsgen.cbn.report import print_learn_summary

    if not isinstance(missing, str):  # called as a Python function (not through typer): the option default
        missing = "paired"
    incidents = incidents if isinstance(incidents, (str, Path)) else None
    non_motorists = non_motorists if isinstance(non_motorists, (str, Path)) else None
    if not isinstance(algorithm, str):
        algorithm = "auto"
    structure_ess = _ess_option(ess if isinstance(ess, str) else "10")
    json_out = json_out if isinstance(json_out, str) else None
    check_json_target(json_out, (data,))
    console = Console(stderr=True)
    with console.status(f"reading {data}") as status:
        result = learn_to_dir(data, out, tiers=tiers, known_graph=known_graph, vehicle_table=vehicle_table,
                              incidents=incidents, non_motorists=non_motorists,
                              score=score, bootstrap=bootstrap, seed=seed, holdout=holdout, missing=missing,
                              pc=pc, pc_rows=pc_rows, algorithm=algorithm, structure_ess=structure_ess,
                              progress=lambda msg: status.update(msg))
    folder = Path(out)
    with tables_to_stderr(json_out):
        print_learn_summary(result, folder)
    write_json(json_out, {"model_dir": str(folder), "arcs": [list(e) for e in result.model.edges],
                          "validation": result.report})


@cbn_app.command("query")
def query_cmd(
    model_dir: Path = typer.Argument(..., help="Model folder written by 'adsgen cbn learn'."),
    target: str = typer.Option("severity", "--target", help="Variable whose distribution is printed."),
    given: list[str] = typer.Option(None, "--given", help="Evidence var=state (repeatable)."),
    do: list[str] = typer.Option(None, "--do", help="Intervention var=state (repeatable): graph surgery."),
    json_out: str | None = json_option("the distribution"),
) -> None:
    """Print P(target | given, do(...)) from a learned model; an intervention with no directed path to the
    target is explained (the answer is then the plain conditional)."""
    from rich.console import Console
    from rich.table import Table

    from adsgen.cbn.model import load_model

    json_out = json_out if isinstance(json_out, str) else None
    check_json_target(json_out, (model_dir,))
    console = Console(stderr=to_stdout(json_out))
    model = load_model(model_dir)
    cbn = model.compiled()
    evidence, interventions = _pairs(given, "--given"), _pairs(do, "--do")
    probs = cbn.query(target, evidence, interventions)
    prior = cbn.query(target)
    cond = ", ".join([f"{k}={v}" for k, v in evidence.items()] + [f"do({k}={v})" for k, v in interventions.items()])
    t = Table(title=f"P({target}{' | ' + cond if cond else ''})")
    t.add_column("state")
    t.add_column("probability", justify="right")
    t.add_column("marginal", justify="right")
    t.add_column("ratio", justify="right")
    span = None
    if interventions:
        from adsgen.cbn.equivalence import do_range

        span = do_range(model, target, evidence, interventions, model.tiers)
        if span is not None and float((span["high"] - span["low"]).max()) > 1e-9:
            t.add_column("range over equivalent graphs", justify="right")
        else:
            span = None
    for k, (s, p, q) in enumerate(zip(cbn.states[target], probs, prior, strict=True)):
        row = [s, f"{p:.4f}", f"{q:.4f}", f"{p / q:.2f}x" if q > 0 else "-"]
        if span is not None:
            row.append(f"{span['low'][k]:.4f} - {span['high'][k]:.4f}")
        t.add_row(*row)
    console.print(t)
    _explain_null_effects(console, model, target, interventions)
    write_json(json_out, {"target": target, "given": evidence, "do": interventions,
                          "states": list(cbn.states[target]), "probability": [float(p) for p in probs],
                          "marginal": [float(q) for q in prior]})
    if span is not None:
        console.print(f"The answer depends on the direction of arcs the data cannot orient: over the "
                        f"{span['graphs']} graphs equivalent to the learned one (same fit, tiers respected) "
                        "it spans the range shown; the 'probability' column is the learned graph's.")


def _explain_null_effects(console, model, target: str, interventions: dict[str, str]) -> None:
    """Say which interventions cannot reach the target (adsgen.cbn.causal_paths)."""
    from rich.text import Text

    from adsgen.cbn.causal_paths import missing_paths

    for gap in missing_paths(model.edges, target, list(interventions), model.tiers):
        console.print(Text(gap.sentence()))


@cbn_app.command("reference")
def reference_cmd(
    out: Path = typer.Option(..., "--out", help="JSON file for the reference graph (arcs, reasons, tables)."),
    bif: Path = typer.Option(None, "--bif", help="Also write the reference network as a BIF file (via pgmpy)."),
) -> None:
    """Write adsgen's SYNTHETIC reference network (the one `adsgen data synth` samples) as JSON and BIF."""
    from adsgen.groundtruth.reference import reference_edges, write_reference_graph

    for target in (out, bif):
        if target is not None and not target.parent.exists():
            raise InputError(f"{target}: the folder {target.parent} does not exist")
    write_reference_graph(out)
    msg = f"wrote the synthetic reference graph ({len(reference_edges())} arcs) to {out}"
    if bif is not None:
        from adsgen.cbn.networks import reference_model
        from adsgen.cbn.pgmpy_adapter import write_bif

        write_bif(reference_model(), bif)
        msg += f" and {bif}"
    typer.echo(msg)


NETWORKS_DEFAULT = ("asia", "sachs", "child", "insurance", "alarm")
"""Default networks of ``bench cbn-networks`` (kept here so the CLI imports no numpy-heavy module)."""


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.add_typer(cbn_app, name="cbn")

    @bench_app.command("cbn")
    def bench_cbn(
        rows: int = typer.Option(200_000, "--rows", help="Rows sampled from the synthetic reference network."),
        json_path: str = json_option("the figures", required=True),
        seed: int = typer.Option(0, "--seed", help="Sampling seed."),
        score: str = typer.Option("bdeu", "--score", help="Structure score for both learners."),
        pgmpy_queries: int = typer.Option(200, "--pgmpy-queries",
                                          help="Queries timed on pgmpy (the compiled model answers all)."),
        bnlearn: bool = typer.Option(True, "--bnlearn/--no-bnlearn",
                                     help="Also time R bnlearn's hc on the same CSV (when R and bnlearn are "
                                          "installed)."),
    ) -> None:
        """Learn the reference network with adsgen, stock pgmpy and R bnlearn; time risk queries."""
        from adsgen.cbn.bench import print_bench, run_bench
        from adsgen.cbn.scores import check_score

        check_json_target(json_path)
        with tables_to_stderr(json_path):
            figures = run_bench(rows, seed, check_score(score.lower(), "--score"), pgmpy_queries, bnlearn)
            print_bench(figures)
        write_json(json_path, figures)

    @bench_app.command("cbn-networks")
    def bench_cbn_networks(
        json_path: str = json_option("the figures", required=True),
        networks: str = typer.Option(",".join(NETWORKS_DEFAULT), "--networks",
                                     help="Comma-separated pgmpy example networks."),
        sizes: str = typer.Option("5000,20000,100000", "--sizes", help="Comma-separated sample sizes."),
        seeds: int = typer.Option(3, "--seeds", help="Samples per network and size (seeds 0..N-1)."),
        score: str = typer.Option("bic", "--score", help="Structure score: bic or bdeu."),
        pgmpy: bool = typer.Option(True, "--pgmpy/--no-pgmpy", help="Also run stock pgmpy HillClimbSearch."),
        bnlearn: bool = typer.Option(True, "--bnlearn/--no-bnlearn",
                                     help="Also run R bnlearn's hc and tabu (tabu = 100) on the same CSV (when R "
                                          "and bnlearn are installed)."),
        quick: bool = typer.Option(False, "--quick", help="asia and sachs, 5,000 rows, one seed."),
    ) -> None:
        """Structure learning on samples of known networks: SHD and score vs the true graph, vs stock pgmpy."""
        from rich.console import Console
        from rich.progress import Progress

        from adsgen.cbn.bench import (
            QUICK_NETWORKS,
            QUICK_SEEDS,
            QUICK_SIZES,
            print_network_bench,
            run_network_bench,
        )
        from adsgen.cbn.scores import check_score

        try:
            nets = tuple(n.strip() for n in networks.split(",") if n.strip())
            size_list = tuple(int(x) for x in sizes.split(",") if x.strip())
        except ValueError:
            raise ConfigError(f"--sizes '{sizes}': expected comma-separated integers") from None
        seed_list = tuple(range(seeds))
        if quick:
            nets, size_list, seed_list = QUICK_NETWORKS, QUICK_SIZES, QUICK_SEEDS
        score = check_score(score.lower(), "--score")
        total = len(nets) * len(size_list) * len(seed_list)
        check_json_target(json_path)
        with Progress(transient=True, console=Console(stderr=True)) as progress:
            task = progress.add_task("learning", total=total)
            figures = run_network_bench(nets, size_list, seed_list, score, pgmpy,
                                        on_case=lambda c: progress.advance(task), bnlearn=bnlearn)
        with tables_to_stderr(json_path):
            print_network_bench(figures)
        write_json(json_path, figures)

