"""CLI: `adsgen campaign run|status|export`, `adsgen replay`, `adsgen report`, `adsgen bench campaign`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from adsgen.campaign.config import CampaignConfig
from adsgen.campaign.report import load_campaign_report_data, run_finding_words, write_campaign_report
from adsgen.campaign.stats import campaign_status, findings_line
from adsgen.campaign.store import CampaignStore
from adsgen.errors import AdsgenError, ConfigError
from adsgen.jsonout import check_json_target, json_option, tables_to_stderr, to_stdout, write_json
from adsgen.outputs import check_output
from adsgen.sim.types import HIGH_RISK_TTC_S
from adsgen.sim.vocabulary import FailOn, runs_meeting, status_label, verdict_label


class CampaignInterrupted(AdsgenError):
    """SIGINT stopped a campaign (after committing what finished)."""

    exit_code = 130


class ReplayMismatch(AdsgenError):
    """A replayed run's outcome differs from the stored one."""

    exit_code = 1


campaign_app = typer.Typer(help="Run many scenarios into one SQLite store; resume, inspect and export it.",
                           no_args_is_help=True)


def _console() -> Console:
    return Console(stderr=True)


_OPTION_OF_FIELD = {"high-risk-ttc-s": "near-miss-ttc-s"}  # config fields whose option is named otherwise


@campaign_app.command("run")
def run_cmd(
    scenarios: list[Path] = typer.Argument(..., help="Scenario YAML files or folders (seed files count as "
                                                     "their nominal scenario)."),
    db: Path = typer.Option(..., "--db", help="Campaign database (created when missing, resumed otherwise)."),
    agent: str = typer.Option("idm", help="Agent under test (registry name or module:Factory)."),
    backend: str = typer.Option("builtin", help="builtin, carla, or an import path module:Factory."),
    backend_opt: list[str] = typer.Option(None, "--backend-opt", help="Backend option key=value (repeatable)."),
    executor: str = typer.Option("processes", help="inline, processes or ray."),
    workers: int = typer.Option(2, help="Worker processes / Ray actors (one per CARLA host when hosts are given)."),
    carla_hosts: str = typer.Option(None, "--carla-hosts", help="host:port,host:port: one CARLA server per worker."),
    ray_address: str = typer.Option(None, "--ray-address", help="Join this Ray cluster (else start a local one)."),
    timeout_s: float = typer.Option(120.0, "--timeout-s", help="Wall-time limit per run attempt, seconds; 0 = none."),
    retries: int = typer.Option(3, help="Retries after a backend fault (lost server), with exponential backoff."),
    seeds: int = typer.Option(1, help="Runs per scenario, simulation seeds 0..N-1."),
    batch_size: int = typer.Option(1, "--batch-size", help="Runs of one seed per backend call (the builtin "
                                                           "engine runs a batch at once; keep 1 for CARLA)."),
    rerun_failed: bool = typer.Option(False, "--rerun-failed", help="Also rerun errored and timed-out runs."),
    extend: bool = typer.Option(False, "--extend", help="Resume with other scenarios or --seeds: add their runs "
                                                        "(without it, such a resume is refused)."),
    backoff_s: float = typer.Option(1.0, "--backoff-s", help="First reconnect delay after a backend fault, seconds."),
    near_miss_ttc_s: float = typer.Option(HIGH_RISK_TTC_S, "--near-miss-ttc-s", help="A finished run without a collision whose "
                                          "min time-to-collision is under this [s] is a near miss."),
    no_preflight: bool = typer.Option(False, "--no-preflight",
                                      help="Skip the TCP checks of --carla-hosts and --ray-address."),
    json_out: str | None = json_option("the run summary (statuses and verdict counts)"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    fail_on: FailOn = typer.Option(None, "--fail-on", help=(
        "Exit 1 when a done run in the store meets this: valid-failure (the judge blames the agent), collision, "
        "or near-miss (a collision or a near miss). Errored and timed-out runs never count.")),
) -> None:
    """Run (or resume) a campaign: every scenario x seed against one agent on one backend.

    Prints the verdict counts first, then the run statuses (done / errored / timed out)."""

    from adsgen.campaign.backends import parse_hosts, parse_options
    from adsgen.campaign.runner import run_campaign

    try:
        config = CampaignConfig(
            scenarios=[str(s) for s in scenarios], db=str(db), agent=agent, backend=backend,
            backend_options=parse_options(backend_opt), executor=executor, workers=workers,
            carla_hosts=parse_hosts(carla_hosts), ray_address=ray_address,
            timeout_s=timeout_s if timeout_s > 0 else None, retries=retries, seeds=seeds, batch_size=batch_size,
            rerun_failed=rerun_failed, extend=extend, backoff_s=backoff_s, preflight=not no_preflight,
            high_risk_ttc_s=near_miss_ttc_s)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = "-".join(map(str, err["loc"])).replace("_", "-")
        raise ConfigError(f"--{_OPTION_OF_FIELD.get(field, field)}: {err['msg']}") from None
    check_json_target(json_out, (db, *scenarios))  # checked before the campaign runs, not after
    to_err = to_stdout(json_out)  # --json -: standard output carries the JSON alone

    summary = run_campaign(config, progress=progress, console=_console())
    with CampaignStore.open(db, readonly=True) as store:
        st = campaign_status(store)
    c = summary.counts
    typer.echo(f"{summary.db}: {findings_line(st)}", err=to_err)
    typer.echo(f"  runs: {c['done']} {status_label('done')}, {c['failed']} {status_label('failed')}, "
               f"{c['timed_out']} {status_label('timed_out')}, {c['pending'] + c['running']} unfinished "
               f"({summary.attempted} finished now, {summary.new_runs} new in the store, "
               f"{summary.retried} backend-fault retries); "
               f"{summary.runs_per_s:.1f} runs/s, store {summary.store_ms_per_run:.2f} ms/run", err=to_err)
    if json_out:
        d = summary.to_dict()
        d["verdicts"], d["collisions"], d["near_misses"] = st["verdicts"], st["collisions"], st["near_misses"]
        write_json(json_out, d)
    if summary.interrupted:
        raise CampaignInterrupted("interrupted: finished runs are committed; rerun the same command to resume")
    if fail_on is not None:
        n = runs_meeting(fail_on, valid_failures=st["verdicts"].get("valid_failure", 0),
                         collisions=st["collisions"], near_misses=st["near_misses"])
        if n:
            typer.echo(f"--fail-on {fail_on.value}: {n} run(s) meet it (exit 1)", err=to_err)
            raise typer.Exit(1)


@campaign_app.command("status")
def status_cmd(db: Path = typer.Argument(..., help="Campaign database."),
               json_out: str | None = json_option("the counts and rates by factor")) -> None:
    """Counts by status and collisions / failures by factor."""

    check_json_target(json_out, (db,))
    with CampaignStore.open(db, readonly=True) as store:
        st = campaign_status(store)
    write_json(json_out, st)
    console = Console(stderr=to_stdout(json_out))
    if not console.is_terminal:  # piped / captured: wide enough that the factor table never truncates
        console = Console(width=160, stderr=to_stdout(json_out))
    t = Table(title=f"{db}: {st['total']} runs")
    for col in ("status", "runs"):
        t.add_column(col)
    for k, v in st["counts"].items():
        t.add_row(status_label(k), str(v))
    t.add_row("valid failures", str(st["verdicts"].get("valid_failure", 0)))
    for verdict, n in sorted(st["verdicts"].items()):
        if verdict != "valid_failure":
            t.add_row(f"  {verdict_label(verdict)}", str(n))
    t.add_row("collisions", str(st["collisions"]))
    t.add_row("near misses", str(st["near_misses"]))
    console.print(t)
    f = Table(title="by factor (rates over done runs, 95% Wilson interval)")
    for col in ("factor", "state", "runs", "done", "collision rate", "near-miss rate", "errored", "timed out"):
        f.add_column(col)
    for r in st["by_factor"]:
        cr = f"{r['collision_rate']:.2f} [{r['collision_ci'][0]:.2f}-{r['collision_ci'][1]:.2f}]" if r["done"] else "-"
        nr = f"{r['near_miss_rate']:.2f} [{r['near_miss_ci'][0]:.2f}-{r['near_miss_ci'][1]:.2f}]" if r["done"] else "-"
        f.add_row(r["factor"], r["state"], str(r["runs"]), str(r["done"]), cr, nr, str(r["failed"]),
                  str(r["timed_out"]))
    console.print(f)

    from adsgen.safeload import printable

    for e in st["top_errors"]:  # error texts come from the database: plain text, control characters escaped
        console.print(Text(f"{e['runs']} x ", style="red") + Text(printable(str(e["error"]), 500)), highlight=False)


@campaign_app.command("export")
def export_cmd(db: Path = typer.Argument(..., help="Campaign database."),
               out: Path = typer.Option(..., "--out", help="runs.csv, runs.parquet or results.xml (JUnit)."),
               fail_on: str = typer.Option("collision", "--fail-on", help="JUnit: which finished runs are "
                                           "failures: 'valid-failure' (the judge blames the agent), 'collision', "
                                           "or 'near-miss' (collisions and near misses, min time-to-collision "
                                           "under the campaign's threshold)."),
               json_out: str | None = json_option("what was written (file, runs)")) -> None:
    """Write every run as CSV, Parquet or JUnit XML (one test case per run)."""
    from adsgen.campaign.export import export_runs

    check_output(out, (db,))
    check_json_target(json_out, (db, out))
    with CampaignStore.open(db, readonly=True) as store:
        n = export_runs(store, out, fail_on)
    typer.echo(f"wrote {n} runs to {out}", err=to_stdout(json_out))
    write_json(json_out, {"db": str(db), "out": str(out), "runs": n})


_TRUSTED_BACKEND_HELP = ("Allow this stored backend import path (module:Factory) to run; registry backends "
                         "(builtin, carla, ...) need no permission.")
_TRUSTED_AGENT_HELP = "Allow this stored agent import path (module:Factory) to run; registry agents need none."
_TRUST_HELP = "Run any import path (module:Factory) stored in the database: only for databases you trust."


def _import_trust(backend: str | None, agent: str | None, everything: bool) -> Any:
    """The ImportTrust of a command line: the import paths it names, or all with --trust-imports."""
    from adsgen.campaign.backends import ImportTrust

    return ImportTrust(frozenset((k, n) for k, n in (("backend", backend), ("agent", agent)) if n), everything)


def replay_cmd(db: Path = typer.Argument(..., help="Campaign database."),
               run_id: int = typer.Argument(..., help="Run id (see `adsgen campaign export`)."),
               render: Path = typer.Option(None, "--render", help="Also render keyframes of the replay here."),
               backend_opt: list[str] = typer.Option(None, "--backend-opt",
                                                     help="Override a backend option key=value (e.g. host=...)."),
               json_out: str | None = json_option("the stored and replayed outcomes and their differences"),
               backend: str = typer.Option(None, "--backend", help=_TRUSTED_BACKEND_HELP),
               agent: str = typer.Option(None, "--agent", help=_TRUSTED_AGENT_HELP),
               trust_imports: bool = typer.Option(False, "--trust-imports", help=_TRUST_HELP)) -> None:
    """Rerun one stored run from its recorded spec, seed and versions; say whether the outcome is the same."""
    from adsgen.campaign.backends import parse_options
    from adsgen.campaign.replay import replay_run

    err = _console()
    options = parse_options(backend_opt)
    check_json_target(json_out, (db,))
    if render is not None:
        check_output(render, (db,), folder=True, option="--render", make_parents=True)
    with CampaignStore.open(db, readonly=True) as store:
        trust = _import_trust(backend, agent, trust_imports)
        rep = replay_run(store, run_id, backend_options=options, trust=trust)
        for pkg, (was, now) in rep.version_changes.items():
            err.print(f"[yellow]warning:[/] {pkg} was {was} when the run was recorded, now {now}", highlight=False)
        if render is not None:
            from adsgen.campaign.keyframes import render_keyframes_to_dir

            paths = render_keyframes_to_dir(store, rep, render, options, trust)
            err.print(f"rendered {len(paths)} keyframe(s) to {render}", highlight=False)
    write_json(json_out, rep.to_dict())
    _print_replay(rep, err=to_stdout(json_out))  # on standard error when --json - takes standard output
    if not rep.same:
        raise ReplayMismatch(f"run {rep.run_id}: the replay's outcome differs from the stored one")


def _print_replay(rep: Any, err: bool = False) -> None:
    """The replay's comparison in words (to standard error with ``err``)."""
    from adsgen.safeload import printable

    verdicts = ""
    if rep.stored and rep.replayed:
        stored_verdict = rep.stored.get("verdict")
        verdicts = (f"; verdict stored {verdict_label(stored_verdict) if stored_verdict else '- (not judged)'}, "
                    f"replay {verdict_label(rep.replayed.get('verdict'))}")
    typer.echo(f"run {rep.run_id} ({printable(rep.scenario, 200)}, seed {rep.seed}, {printable(rep.agent, 200)} "
               f"on {printable(rep.backend, 200)}): "
               f"stored {status_label(rep.stored_status)}, replay {status_label(rep.replay_status)}{verdicts}", err=err)
    for d in rep.differences:
        typer.echo(f"  {d['field']}: stored {d['stored']!r}, replay {d['replay']!r}", err=err)
    typer.echo("same outcome" if rep.same else "DIFFERENT outcome", err=err)


def report_cmd(db: Path = typer.Argument(..., help="Campaign database."),
               out: Path = typer.Option(..., "--out", help="Output folder (index.html + PNGs)."),
               curve: Path = typer.Option(None, "--curve", help="Search curve JSON (e.g. run.json of adsgen "
                                                                "generate), added to the one in the database."),
               worst: int = typer.Option(5, help="Worst scenarios to list."),
               keyframes: bool = typer.Option(True, "--keyframes/--no-keyframes",
                                              help="Render keyframes of the worst scenarios (rerun inline)."),
               backend: str = typer.Option(None, "--backend", help=_TRUSTED_BACKEND_HELP),
               agent: str = typer.Option(None, "--agent", help=_TRUSTED_AGENT_HELP),
               trust_imports: bool = typer.Option(False, "--trust-imports", help=_TRUST_HELP),
               json_out: str | None = json_option("the page's path, counts and worst runs with their replay "
                                                  "commands")) -> None:
    """Write a static HTML report of a campaign (readable offline)."""
    from adsgen.campaign.curves import load_curve_json

    if worst < 0:
        raise ConfigError(f"--worst {worst}: expected 0 or more scenarios to list")
    check_output(out, (db, curve), folder=True, make_parents=True)
    check_json_target(json_out, (db, curve))
    points = load_curve_json(curve) if curve else []
    with CampaignStore.open(db, readonly=True) as store, _report_progress() as bar:
        data = load_campaign_report_data(store, curve=points, worst=worst)
        data.db_arg = str(db)
        ids = [int(r["id"]) for r in data.worst]
        if data.worst:
            from adsgen.campaign.reproduce import write_run_files

            task = bar.add_task("scenario files of the worst runs", total=1)
            data.reproduction = write_run_files(store, ids, out)
            bar.advance(task)
        if keyframes and data.worst:
            from adsgen.campaign.keyframes import keyframes_for_runs

            task = bar.add_task("keyframes of the worst runs", total=len(ids))
            data.keyframes, data.keyframe_note = keyframes_for_runs(
                store, ids, _import_trust(backend, agent, trust_imports), progress=lambda: bar.advance(task))
        task = bar.add_task("plots and page", total=1)
        page = write_campaign_report(data, out)
        bar.advance(task)
    typer.echo(f"wrote {page}", err=to_stdout(json_out))
    write_json(json_out, _report_json(data, page))


def _report_progress() -> Any:
    """A progress bar on standard error for the report's phases."""

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=_console(), transient=True)


def _report_json(data: Any, page: Path) -> dict[str, Any]:
    """What ``report --json`` writes: the page, the counts and each worst run with its reproduction."""
    from adsgen.campaign.reproduce import replay_command

    st = data.status
    return {"page": str(page), "db": st["db"], "runs": st["total"], "counts": st["counts"],
            "verdicts": st["verdicts"], "collisions": st["collisions"], "near_misses": st["near_misses"],
            "worst": [{"run": int(r["id"]), "scenario": r["scenario_name"], "seed": int(r["seed"]),
                       "verdict": r["verdict"] if isinstance(r.get("verdict"), str) else None,
                       "finding": run_finding_words(r), "collided": bool(r.get("collided")),
                       "impact_speed_mps": r.get("impact_speed_mps"), "min_ttc_s": r.get("min_ttc_s"),
                       "replay": replay_command(data.db_arg, int(r["id"])),
                       "files": data.reproduction.get(int(r["id"]), {})} for r in data.worst]}


def bench_cmd(json_out: str | None = json_option("the figures"),
              runs: int = typer.Option(200, help="Runs per measurement."),
              max_workers: int = typer.Option(2, "--max-workers", help="Largest worker count measured."),
              batch_size: int = typer.Option(25, "--batch-size", help="Batch size of the batched figures "
                                                                      "(1: skip them)."),
              repeats: int = typer.Option(2, help="Interleaved repeats per configuration; the best is kept.")
              ) -> None:
    """Campaign throughput with 1..N worker processes on the builtin backend, and the store's overhead."""
    from adsgen.campaign.bench import print_bench, run_bench

    check_json_target(json_out)
    res = run_bench(runs=runs, max_workers=max_workers, batch_size=batch_size, repeats=repeats)
    with tables_to_stderr(json_out):
        print_bench(res)
    write_json(json_out, res)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.add_typer(campaign_app, name="campaign")
    app.command("replay")(replay_cmd)
    app.command("report")(report_cmd)
    bench_app.command("campaign")(bench_cmd)
