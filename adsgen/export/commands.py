"""``adsgen export``: scenarios -> OpenSCENARIO 1.0 + OpenDRIVE files."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from adsgen.errors import ConfigError
from adsgen.export.writer import FORMATS, export_scenarios
from adsgen.jsonout import check_json_target, json_option, to_stdout, write_json


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.command("export")(export_command)


def export_command(
    scenarios: list[Path] = typer.Argument(..., help="Scenario (or seed) YAML files; a folder exports every *.yaml in it."),
    fmt: str = typer.Option("xosc", "--format", help="Output format: xosc (OpenSCENARIO 1.0 + OpenDRIVE .xodr)."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    carla_criteria: bool = typer.Option(True, "--carla-criteria/--no-carla-criteria",
                                        help="Add ScenarioRunner's criteria_* stop conditions (off for esmini)."),
    absolute_road_path: bool = typer.Option(False, help="Write the .xodr path as absolute in each .xosc."),
    validate: bool = typer.Option(True, "--validate/--no-validate",
                                  help="Check each .xosc against the OpenSCENARIO 1.0 XSD (scenariogeneration's)."),
    json_out: str | None = json_option("each scenario's written files and schema check"),
) -> None:
    """Write each scenario as an OpenSCENARIO 1.0 .xosc and its road as an OpenDRIVE .xodr (ScenarioRunner style)."""

    from adsgen.scenario.io import load_scenario, scenario_files

    if fmt not in FORMATS:
        raise ConfigError(f"--format: unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    files = scenario_files(scenarios)
    check_json_target(json_out, files)
    loaded = [load_scenario(f) for f in files]
    console = Console(stderr=to_stdout(json_out))
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("exporting", total=len(loaded))
        results = export_scenarios(loaded, out, fmt=fmt, carla_criteria=carla_criteria,
                                   absolute_road_path=absolute_road_path, validate=validate,
                                   progress=lambda: bar.advance(task))
    bad = 0
    for src, r in zip(files, results, strict=True):
        status = "[green]valid[/]" if r.valid else f"[red]{len(r.schema_errors)} schema errors[/]"
        console.print(f"{src} -> {r.xosc} + {r.xodr.name}  ({status if validate else 'not validated'})",
                      highlight=False)
        for e in r.schema_errors[:5]:
            console.print(f"    {e}", highlight=False)
        bad += not r.valid
    console.print(f"wrote {len(results)} scenario(s) to {out} (manifest: {out / 'export.json'})", highlight=False)
    write_json(json_out, [{"scenario_file": str(src), "xosc": str(r.xosc), "xodr": str(r.xodr),
                           "schema_valid": r.valid if validate else None, "schema_errors": r.schema_errors[:20]}
                          for src, r in zip(files, results, strict=True)])
    if bad:
        raise typer.Exit(1)
