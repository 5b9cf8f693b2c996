"""CLI: ``adsgen data synth|inspect|convert``."""

from __future__ import annotations

import json
from contextlib import ExitStack, contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from adsgen.crashdata.reader import read_crash_table
from adsgen.crashdata.sources import INCIDENTS_HELP, NON_MOTORISTS_HELP, REPORT_NO
from adsgen.crashdata.synth import synthesize
from adsgen.crashdata.writers import write_canonical
from adsgen.errors import InputError
from adsgen.jsonout import check_json_target, json_option, to_stdout, write_json
from adsgen.outputs import atomic_path, check_output
from adsgen.provenance import utc_now, versions
from adsgen.variables import NAMES

data_app = typer.Typer(help="Crash tables: synthesise, inspect and convert to canonical variables.",
                       no_args_is_help=True)


def _console() -> Console:
    return Console(stderr=True)


@contextmanager
def _byte_progress(label: str, enabled: bool):
    """A rich progress bar fed by read_crash_table's (bytes read, total bytes) callback."""
    if not enabled:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                  console=_console(), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _read(path: Path, vehicles: Path | None, progress: bool, incidents: Path | None = None,
          non_motorists: Path | None = None):
    with _byte_progress(f"reading {path.name}", progress) as cb:
        return read_crash_table(path, vehicle_table=vehicles, incidents=incidents, non_motorists=non_motorists,
                                progress=cb)


@data_app.command("synth")
def synth_cmd(
    rows: int = typer.Option(20_000, "--rows", help="Crashes to sample from the synthetic reference network."),
    fmt: str = typer.Option("montgomery", "--format", help="montgomery, statewide or canonical."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed (same seed and rows, same file)."),
    out: Path = typer.Option(..., "--out", help="CSV file to write (gzip-compressed when it ends in .gz)."),
    vehicles: Path = typer.Option(None, "--vehicles", help="Statewide only: also write the vehicle table here."),
    unknown_share: float = typer.Option(None, "--unknown-share",
                                        help="Share of unknown values per variable (raw default 0.07, "
                                             "canonical 0)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Write a SYNTHETIC crash table sampled from adsgen's reference network."""

    check_output(out)
    if vehicles is not None:
        check_output(vehicles, (out,), option="--vehicles")
    with ExitStack() as stack:  # both files appear complete, or neither changes
        tmp = stack.enter_context(atomic_path(out))
        vtmp = stack.enter_context(atomic_path(vehicles)) if vehicles is not None else None
        if progress:
            with Progress(TextColumn("{task.description}"), BarColumn(),
                          TextColumn("{task.completed:,}/{task.total:,}"), TimeElapsedColumn(), console=_console(),
                          transient=True) as bar:
                task = bar.add_task(f"writing {out.name}", total=rows)
                result = synthesize(rows, fmt, seed, tmp, vehicles=vtmp, unknown_share=unknown_share,
                                    progress=lambda done, total: bar.update(task, completed=done))
        else:
            result = synthesize(rows, fmt, seed, tmp, vehicles=vtmp, unknown_share=unknown_share)
    extra = f" and vehicle table {vehicles}" if result.vehicle_path else ""
    typer.echo(f"wrote {result.crashes:,} synthetic crashes ({result.format}, seed {result.seed}) to "
               f"{out}{extra}")


@data_app.command("inspect")
def inspect_cmd(
    path: Path = typer.Argument(..., help="Crash table (statewide, Montgomery County or canonical CSV; plain or gzip)."),
    vehicles: Path = typer.Option(None, "--vehicles", help="Statewide vehicle table to join on REPORT_NO."),
    incidents: Path = typer.Option(None, "--incidents", help=INCIDENTS_HELP),
    non_motorists: Path = typer.Option(None, "--non-motorists", help=NON_MOTORISTS_HELP),
    top: int = typer.Option(8, "--top", help="Unmapped spellings to list per variable."),
    top_states: int = typer.Option(12, "--top-states", help="States to list per variable (other columns of "
                                                            "a canonical table may have many)."),
    json_out: str | None = json_option("the summary"),
    by_year: bool = typer.Option(False, "--by-year", help="Drift report: state shares per year, flagging a share "
                                                          "that changes by more than half from one year to the "
                                                          "next and unmapped spellings by year."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Show the detected source, rows, and per variable: states, missing share, unmapped spellings."""
    check_json_target(json_out, (path, vehicles, incidents, non_motorists))
    table = _read(path, vehicles, progress, incidents, non_motorists)
    summary = _summary(table)
    console = Console(stderr=to_stdout(json_out))
    if by_year:
        from adsgen.crashdata.drift import drift_report

        summary["by_year"] = drift_report(table)
        _print_drift(summary["by_year"], console)
        write_json(json_out, summary)
        return
    console.print(f"[bold]{table.path}[/]  source: [cyan]{table.source}[/]  raw rows: {table.rows_raw:,}  "
                  f"rows: {table.rows:,}" + ("  (one per crash)" if table.source != "canonical" else ""),
                  highlight=False)
    if table.vehicle_path:
        console.print(f"vehicle table: {table.vehicle_path} ({table.vehicle_rows_raw:,} rows)", highlight=False)
    grid = Table(show_lines=True)
    grid.add_column("variable", style="bold")
    grid.add_column("states (count, share of known)")
    grid.add_column("missing", justify="right")
    grid.add_column("unmapped raw spellings (raw rows)")
    for name, info in summary["variables"].items():
        known = sum(info["states"].values()) or 1
        shown = list(info["states"].items())
        states = "\n".join(f"{escape(s)} {c:,} ({c / known:.1%})" for s, c in shown[:top_states])
        if len(shown) > top_states:
            states += f"\n... {len(shown) - top_states} more states"
        unm = info["unmapped"]
        unm_text = "\n".join(f"{escape(repr(r))} x{c:,}" for r, c in list(unm.items())[:top])
        if len(unm) > top:
            unm_text += f"\n... {len(unm) - top} more"
        label = escape(name) + "".join(f"\n[dim]<- {escape(c)}[/]" for c in info["columns"])
        grid.add_row(label, states, f"{info['missing_share']:.1%}", unm_text or "-")
    console.print(grid)
    for note in table.notes:
        console.print(f"note: {note}", highlight=False)
    for warning in table.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    write_json(json_out, summary)


@data_app.command("convert")
def convert_cmd(
    path: Path = typer.Argument(..., help="Crash table (statewide, Montgomery County or canonical CSV; plain or gzip)."),
    out: Path = typer.Option(..., "--out", help="Canonical CSV to write (empty cell = missing; gzip when it "
                                                 "ends in .gz)."),
    vehicles: Path = typer.Option(None, "--vehicles", help="Statewide vehicle table to join on REPORT_NO."),
    incidents: Path = typer.Option(None, "--incidents", help=INCIDENTS_HELP),
    non_motorists: Path = typer.Option(None, "--non-motorists", help=NON_MOTORISTS_HELP),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Write the canonical table: one column per canonical variable, exact state names.

    A provenance file ``<out>.provenance.json`` records the source, fingerprints, unmapped spellings
    and versions."""

    provenance_out = Path(str(out) + ".provenance.json")
    for target in (out, provenance_out):
        check_output(target, (path, vehicles, incidents, non_motorists))
    table = _read(path, vehicles, progress, incidents, non_motorists)
    canonical = table.data[[c for c in table.data.columns if c in NAMES]]
    if canonical.shape[1] == 0:
        raise InputError(f"{path}: has no canonical variable columns to convert (columns: "
                         f"{', '.join(map(str, table.data.columns[:8]))})")
    if table.crash_keys is not None:  # traceability: the source's report number first
        keys = [("" if str(k).startswith("<blank ") else str(k)) for k in table.crash_keys]
        canonical = canonical.assign(**{REPORT_NO: keys})
    with atomic_path(out) as tmp:
        write_canonical(canonical, tmp)
    prov = {"written": utc_now(), "output": str(out), "input": table.provenance(),
            "columns": list(canonical.columns), "unmapped": table.unmapped, "notes": table.notes,
            "warnings": table.warnings,
            "versions": versions(("adsgen", "numpy", "pandas"))}
    with atomic_path(provenance_out) as tmp:
        tmp.write_text(json.dumps(prov, indent=1) + "\n")
    for warning in table.warnings:
        typer.echo(f"warning: {warning}", err=True)
    n_vars = sum(c in NAMES for c in canonical.columns)
    typer.echo(f"wrote {len(canonical):,} rows x {n_vars} variables ({table.source}) to {out}")


def _print_drift(report: dict, console: Console) -> None:
    grid = Table(title="state shares of known values per year", show_lines=False)
    grid.add_column("variable = state", style="bold")
    for y in report["years"]:
        grid.add_column(y, justify="right")
    for v, per_year in report["shares"].items():
        states: dict[str, float] = next(iter(per_year.values()), {})
        for s in states:
            grid.add_row(escape(f"{v} = {s}"), *(f"{per_year[y][s]:.1%}" for y in report["years"]))
    console.print(grid)
    for flag in report["flags"]:
        console.print(f"[yellow]drift:[/] {escape(flag)}", highlight=False)
    if not report["flags"]:
        console.print("no drift flagged", highlight=False)


def _summary(table) -> dict:
    """JSON-ready per-variable summary of a CrashTable."""
    missing = table.missing_share()
    out = {"path": str(table.path), "source": table.source, "rows_raw": table.rows_raw, "rows": table.rows,
           "fingerprint": table.fingerprint, "notes": table.notes,
           "warnings": table.warnings, "variables": {}}
    for col in table.data.columns:
        counts = table.data[col].value_counts(sort=False, dropna=True)
        out["variables"][str(col)] = {
            "states": {str(k): int(v) for k, v in counts.items()},
            "missing_share": missing[col],
            "unmapped": table.unmapped.get(col, {}),
            "columns": table.columns.get(col, []),
        }
    return out


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add ``adsgen data ...``."""
    app.add_typer(data_app, name="data")
