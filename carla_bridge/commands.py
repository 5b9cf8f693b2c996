"""``adsgen carla ...``: commands of the CARLA bridge (``carla`` is imported inside the commands only)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from adsgen.errors import BackendError
from adsgen.jsonout import check_json_target, json_option, tables_to_stderr, write_json
from adsgen.provenance import file_fingerprint, utc_now, versions
from carla_bridge._carla import import_carla

carla_app = typer.Typer(help="CARLA server tools (needs the carla extra: pip install 'adsgen[carla]').",
                        no_args_is_help=True)

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


@carla_app.command("check")
def check(
    host: str = typer.Option("localhost:2000", "--host", help="CARLA server as HOST or HOST:PORT."),
    timeout_s: float = typer.Option(10.0, "--timeout", help="Client timeout for each call [s]."),
    run: bool = typer.Option(True, "--run/--no-run", help="Run a tiny 3 s scenario on the server."),
    town: str = typer.Option(None, "--town", help="Run the tiny scenario in this Town instead of a generated road."),
    json_out: str | None = json_option("the report"),
) -> None:
    """Reachability, client/server versions, the loaded map, and whether a tiny scenario runs."""

    from carla_bridge.check import run_check
    from carla_bridge.connection import parse_host_port

    check_json_target(json_out)
    import_carla("adsgen carla check")
    h, p = parse_host_port(host)
    rep = run_check(h, p, timeout_s=timeout_s, run=run, town=town)
    table = Table(title=f"CARLA server {h}:{p}")
    for col in ("check", "status", "detail"):
        table.add_column(col)
    for row in rep.rows:
        table.add_row(row.name, f"[{_STYLE[row.status]}]{row.status}[/]", row.detail)
    with tables_to_stderr(json_out):
        Console().print(table)
    write_json(json_out, rep.to_dict())
    if not rep.ok:
        failed = next(r for r in rep.rows if r.status == "fail")
        raise BackendError(f"carla check {h}:{p}: {failed.name} failed: {failed.detail}")


@carla_app.command("compare")
def compare_cmd(
    scenarios: list[Path] = typer.Argument(..., help="Scenario or seed YAML files (a seed runs its nominal scenario)."),
    host: str = typer.Option("localhost:2000", "--host", help="CARLA server as HOST or HOST:PORT."),
    agent: str = typer.Option("idm", help="Agent under test (same spec on both backends)."),
    seed: int = typer.Option(0, help="Run seed."),
    town: str = typer.Option(None, "--town", help="Run in this Town at a matching site instead of the generated road."),
    timeout_s: float = typer.Option(10.0, "--timeout", help="Client timeout for each call [s]."),
    json_out: str | None = json_option("the comparison with provenance"),
) -> None:
    """Run scenarios on the builtin engine and on CARLA; print both results and whether CARLA confirms."""

    from adsgen.scenario.io import load_scenario
    from carla_bridge.backend import CarlaBackend
    from carla_bridge.compare import compare

    check_json_target(json_out, scenarios)
    loaded = [load_scenario(p) for p in scenarios]
    with CarlaBackend(host, timeout_s=timeout_s, town=town) as backend:
        rows = compare(loaded, agent, seed, backend)
        server = backend.versions.server if backend.versions else None
    table = Table(title=f"builtin vs CARLA {host} (agent {agent}, seed {seed})")
    for col in ("scenario", "builtin", "carla", "min TTC [s]", "min gap [m]", "confirmed"):
        table.add_column(col)

    def num(v):
        return "inf" if v is None else f"{v:.2f}"

    for r in rows:
        table.add_row(r.scenario, r.builtin_verdict, r.carla_verdict,
                      f"{num(r.builtin['min_ttc_s'])} / {num(r.carla['min_ttc_s'])}",
                      f"{num(r.builtin['min_distance_m'])} / {num(r.carla['min_distance_m'])}",
                      "yes" if r.confirmed else "[bold red]no[/]")
    with tables_to_stderr(json_out):
        console = Console()
        console.print(table)
        console.print(f"confirmed {sum(r.confirmed for r in rows)} of {len(rows)}")
    if json_out is not None:
        doc = {"rows": [r.to_dict() for r in rows],
               "provenance": {"created": utc_now(), "host": host, "town": town, "agent": agent, "seed": seed,
                              "server_version": server, "versions": versions(),
                              "scenarios": {str(p): file_fingerprint(p) for p in scenarios}}}
        write_json(json_out, doc)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.add_typer(carla_app, name="carla")
