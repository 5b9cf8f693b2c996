"""CLI: `adsgen generate`, `adsgen bench search`, `adsgen demo`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from adsgen.jsonout import check_json_target, json_option, tables_to_stderr, to_stdout, write_json
from adsgen.paths import SEEDS_DIR
from adsgen.search.compare import METHODS as BENCH_METHODS
from adsgen.search.demo import DEMO_BUDGET
from adsgen.search.methods import method_names

console = Console()


def progress_bar(to: Console | None = None) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=to or console, transient=False)


def generate(
    cbn: Path = typer.Option(None, "--cbn", help="Model folder from `adsgen cbn learn` (needed by --method cbn)."),
    seeds: Path = typer.Option(SEEDS_DIR, "--seeds", help="Folder of seed YAML files."),
    budget: int = typer.Option(2000, "--budget", help="Simulated runs, all seeds together."),
    method: str = typer.Option("cbn", "--method", help=f"One of {', '.join(method_names())}."),
    agent: str = typer.Option("idm", "--agent", help="Agent under test."),
    backend: str = typer.Option("builtin", "--backend", help="Simulator backend: builtin or carla."),
    carla_host: str = typer.Option(None, "--carla-host",
                                   help="CARLA server HOST[:PORT] for --backend carla (default: $CARLA_HOST, "
                                        "else localhost:2000)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (method and simulator)."),
    do: bool = typer.Option(False, "--do", help="Rank by interventional risk P(severity | do(factors))."),
    ttc_threshold: float = typer.Option(1.0, "--ttc-threshold", help="High-risk min-TTC threshold (s)."),
    ego_over_limit: float = typer.Option(1.0, "--ego-over-limit", help=(
        "Optional speeding setting, off by default: the ego's set speed as a multiple of the posted limit "
        "(1.0 to 1.5).")),
    xosc: bool = typer.Option(True, "--xosc/--no-xosc", help="Also write OpenSCENARIO files."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    json_out: str | None = json_option("the search record (figures, verdict counts, curve) and output paths"),
) -> None:
    """Search for distinct high-risk scenarios from seed scenes and write them out."""
    from adsgen.scenario.io import load_seeds
    from adsgen.search.output import check_output_dir, output_steps, run_record, search_summary, write_outputs
    from adsgen.search.run import SearchConfig, load_risk_model, run_search
    from adsgen.sim.backends import backend_options, get_backend

    config = SearchConfig(method=method, budget=budget, seed=seed, agent=agent, backend=backend, do=do,
                          ttc_threshold_s=ttc_threshold, ego_over_limit=ego_over_limit)
    options = backend_options(backend, carla_host)
    check_output_dir(out)
    check_json_target(json_out, (seeds, cbn))
    con = Console(stderr=True) if to_stdout(json_out) else console
    seed_list = load_seeds(seeds)
    risk = load_risk_model(cbn, do=do) if cbn is not None else None
    sim = get_backend(backend, **options) if options else None  # else run_search makes (and closes) its own
    try:
        with progress_bar(con) as bar:
            task = bar.add_task(f"{method} search", total=budget)
            result = run_search(config, seed_list, risk, backend=sim, progress=lambda n: bar.advance(task, n))
    finally:
        if sim is not None:
            sim.close()
    with progress_bar(con) as bar:
        task = bar.add_task("writing scenario files", total=output_steps(result, xosc))
        paths = write_outputs(result, out, cbn_dir=str(cbn) if cbn else None, seeds_dir=str(seeds), xosc=xosc,
                              progress=lambda n: bar.advance(task, n))
    con.print(search_summary(result))
    for what, p in paths.items():
        con.print(f"  {what}: {p}")
    con.print(f"report: adsgen report {paths['runs']} --out REPORT_DIR")
    write_json(json_out, {"outputs": {k: str(v) for k, v in paths.items()},
                          **run_record(result, cbn_dir=str(cbn) if cbn else None, seeds_dir=str(seeds))})


def bench_search(
    cbn: Path = typer.Option(None, "--cbn", help="Model folder; default: learn one from the shipped data."),
    seeds: Path = typer.Option(SEEDS_DIR, "--seeds"),
    budget: int = typer.Option(2000, "--budget"),
    repeats: int = typer.Option(3, "--repeats"),
    agent: str = typer.Option("idm", "--agent"),
    json_out: str | None = json_option("the figures"),
    methods: str = typer.Option(",".join(BENCH_METHODS), "--methods",
                                help=f"Comma-separated methods, cbn among them (registered: {', '.join(method_names())})."),
    faithfulness: bool = typer.Option(True, "--faithfulness/--no-faithfulness",
                                      help="Also compute the old CBN-risk vs failure-rate correlation."),
) -> None:
    """CBN-guided search vs the baselines and ablations on the same budget, seeds, simulator, agent, referee."""
    from adsgen.search.bench import print_bench, run_bench

    check_json_target(json_out, (seeds, cbn))
    with tables_to_stderr(json_out):
        result = run_bench(cbn_dir=cbn, seeds_dir=seeds, budget=budget, repeats=repeats, agent=agent,
                           console=console, methods=tuple(x.strip() for x in methods.split(",") if x.strip()),
                           faithfulness_check=faithfulness)
        print_bench(result, console)
    if write_json(json_out, result) not in (None, "-"):
        console.print(f"wrote {json_out}")


def demo(
    out: Path = typer.Option(Path("demo_out"), "--out", help="Report folder."),
    budget: int = typer.Option(DEMO_BUDGET, "--budget", help="Simulated runs per method."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """The main job on the embedded defaults: crash data -> CBN -> search from the five seeds -> report."""
    from adsgen.search.demo import run_demo

    run_demo(out, budget=budget, seed=seed, console=console)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.command("generate")(generate)
    app.command("demo")(demo)
    bench_app.command("search")(bench_search)
