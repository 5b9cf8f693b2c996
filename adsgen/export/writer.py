"""Write scenarios as OpenSCENARIO 1.0 + OpenDRIVE file pairs, validated, with a provenance manifest."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from adsgen.export.validate import schema_path, xodr_check, xosc_errors
from adsgen.export.xosc import xosc_text
from adsgen.provenance import text_fingerprint, utc_now, versions
from adsgen.scenario.opendrive import write_opendrive
from adsgen.scenario.roads import build_road

FORMATS = ("xosc",)


@dataclass
class ExportedScenario:
    """One written scenario: its files and schema check."""

    name: str
    xosc: Path
    xodr: Path
    content_hash: str
    schema_errors: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.schema_errors


def _stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "scenario"


def export_scenario(scenario, out_dir: str | Path, *, stem: str | None = None, carla_criteria: bool = True,
                    absolute_road_path: bool = False, validate: bool = True) -> ExportedScenario:
    """Write ``<stem>.xosc`` and ``<stem>.xodr`` for one Scenario into ``out_dir``.

    The .xosc names its road by file name (resolved next to the .xosc by esmini; run ScenarioRunner from
    the output folder, or pass ``absolute_road_path``). With ``validate`` the .xosc is checked against the
    OpenSCENARIO 1.0 XSD installed with scenariogeneration and the .xodr is parsed.
    """

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = _stem(stem or scenario.name)
    xodr_path, xosc_path = out / f"{stem}.xodr", out / f"{stem}.xosc"
    xodr_path.write_text(write_opendrive(build_road(scenario.road)), encoding="utf-8")
    road_ref = str(xodr_path.resolve()) if absolute_road_path else xodr_path.name
    text = xosc_text(scenario, road_ref, carla_criteria=carla_criteria)
    digest = scenario.content_hash()
    header, body = text.split("\n", 1)
    note = f"<!-- written by adsgen export: scenario {scenario.name!r}, content sha256 {digest} -->"
    xosc_path.write_text(f"{header}\n{note}\n{body}", encoding="utf-8")
    result = ExportedScenario(scenario.name, xosc_path, xodr_path, digest)
    if validate:
        result.schema_errors = xosc_errors(xosc_path)
        xodr_check(xodr_path)
    return result


def export_scenarios(scenarios, out_dir: str | Path, *, fmt: str = "xosc", carla_criteria: bool = True,
                     absolute_road_path: bool = False, validate: bool = True,
                     progress: Callable[[], None] | None = None) -> list[ExportedScenario]:
    """Export several scenarios into one folder (unique file stems) and write ``export.json`` beside them;
    ``progress`` is called after each scenario."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    out = Path(out_dir)
    results: list[ExportedScenario] = []
    used: set[str] = set()
    for sc in scenarios:
        stem = _stem(sc.name)
        if stem in used:
            stem = f"{stem}_{sc.content_hash()[:8]}"
        used.add(stem)
        results.append(export_scenario(sc, out, stem=stem, carla_criteria=carla_criteria,
                                       absolute_road_path=absolute_road_path, validate=validate))
        if progress is not None:
            progress()
    manifest = {
        "format": "OpenSCENARIO 1.0 + OpenDRIVE 1.4",
        "created": utc_now(),
        "versions": versions(),
        "schema": schema_path(0).name if validate else None,
        "schema_fingerprint": text_fingerprint(schema_path(0).read_bytes()) if validate else None,
        "carla_criteria": carla_criteria,
        "scenarios": [{"name": r.name, "xosc": r.xosc.name, "xodr": r.xodr.name, "content_sha256": r.content_hash,
                       "schema_valid": r.valid if validate else None, "schema_errors": r.schema_errors[:20]}
                      for r in results],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "export.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return results
