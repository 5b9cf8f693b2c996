"""The way back from a finding: the replay command and the scenario files of a stored run."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from adsgen.export.writer import export_scenario
from adsgen.scenario.io import save_scenario
from adsgen.scenario.model import Scenario


def replay_command(db: str | Path, run_id: int) -> str:
    """The shell command that reruns a stored run and checks its outcome and verdict."""
    return f"adsgen replay {shlex.quote(str(db))} {int(run_id)}"


def write_run_files(store: Any, run_ids: list[int], out_dir: str | Path, *, sub: str = "runs"
                    ) -> dict[int, dict[str, str]]:
    """Write each run's scenario as ``<sub>/run-<id>.yaml`` and its OpenSCENARIO export ``run-<id>.xosc``
    (+ ``.xodr``) under out_dir; returns run id -> {"YAML": path, ".xosc": path}, relative to out_dir."""

    folder = Path(out_dir) / sub
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[int, dict[str, str]] = {}
    for rid in run_ids:
        run = store.run(rid)
        if run is None:
            continue
        scenario = Scenario.model_validate(json.loads(run["spec_json"]))
        stem = f"run-{int(rid)}"
        save_scenario(scenario, folder / f"{stem}.yaml")
        export_scenario(scenario, folder, stem=stem, validate=False)
        files[int(rid)] = {"YAML": f"{sub}/{stem}.yaml", ".xosc": f"{sub}/{stem}.xosc"}
    return files
