"""``adsgen carla ...``: commands of the CARLA bridge (``carla`` is imported inside the commands only)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

carla_app = typer.Typer(help="CARLA server tools (needs the carla extra: pip install 'adsgen\\[carla]').",
                        no_args_is_help=True)

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


@carla_app.command("check")
def check(
    host: str = typer.Option("localhost:2000", "--host", help="CARLA server as HOST or HOST:PORT."),
    timeout_s: float = typer.Option(10.0, "--timeout", help="Client timeout for each call [s]."),
    run: bool = typer.Option(True, "--run/--no-run", help="Run a tiny 3 s scenario on the server."),
    town: str = typer.Option(None, "--town", help="Run the tiny scenario in this Town instead of a generated road."),
    json_out: Path = typer.Option(None, "--json", help="Also write the report as JSON to this file."),
) -> None:
    """Reachability, client/server versions, the loaded map, and whether a tiny scenario runs."""
    from rich.console import Console
    from rich.table import Table

    from adsgen.errors import BackendError
    from carla_bridge._carla import import_carla
    from carla_bridge.check import run_check
    from carla_bridge.connection import parse_host_port

    import_carla("adsgen carla check")
    h, p = parse_host_port(host)
    rep = run_check(h, p, timeout_s=timeout_s, run=run, town=town)
    table = Table(title=f"CARLA server {h}:{p}")
    for col in ("check", "status", "detail"):
        table.add_column(col)
    for row in rep.rows:
        table.add_row(row.name, f"[{_STYLE[row.status]}]{row.status}[/]", row.detail)
    Console().print(table)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(rep.to_dict(), indent=2))
    if not rep.ok:
        failed = next(r for r in rep.rows if r.status == "fail")
        raise BackendError(f"carla check {h}:{p}: {failed.name} failed: {failed.detail}")


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.add_typer(carla_app, name="carla")
