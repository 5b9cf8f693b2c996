"""Keyframes of stored runs: rerun a run on a backend that can give world snapshots (the builtin engine's
``snapshots``), render a front-camera image and a bird's-eye view at a few moments, return PNGs.

Moments (``adsgen.render.moments``): the hazard first visible on the ego's camera (front, else front-left or front-right), the agent's reaction, and
the impact or closest approach, each with a bird's-eye view. A run on a backend without snapshots (CARLA) is re-simulated on the builtin engine, and
the caption says so.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image as PILImage

from adsgen.campaign.backends import BackendSpec, ImportTrust
from adsgen.campaign.replay import run_spec
from adsgen.campaign.report import Image
from adsgen.campaign.worker import WorkerSpec, make_agent
from adsgen.render.moments import moment_frames, moment_images
from adsgen.scenario.model import Scenario

CAMERA_SCALE = 0.4  # image = 0.4 x 1600x900 = 640x360 px


def _png(array: Any) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(array).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def run_keyframes(spec: WorkerSpec, scenario_spec: dict[str, Any], seed: int, result: dict[str, Any] | None,
                  label: str) -> list[Image]:
    """Re-simulate one run and render its keyframes (builtin engine when its backend has no snapshots)."""

    scenario = Scenario.model_validate(scenario_spec)
    agent = make_agent(spec.agent)
    note = ""
    try:
        backend = spec.backend.build()
    except Exception:  # e.g. a CARLA server that is gone: render from the builtin engine instead
        backend = None
    if backend is None or not hasattr(backend, "snapshots"):
        if backend is not None:
            backend.close()
        backend, note = BackendSpec("builtin").build(), " (re-simulated on the builtin engine)"

    try:
        moments = moment_frames(backend, scenario, agent, seed, result, CAMERA_SCALE)
    finally:
        backend.close()
    return [Image(stem, caption, png=_png(image)) for stem, caption, image in moment_images(moments, label, note)]


def keyframes_for_runs(store: Any, run_ids: list[int], trust: Any = None,
                       progress: Callable[[], None] | None = None) -> tuple[dict[int, list[Image]], str]:
    """Keyframes of stored runs; (run id -> images, a note naming runs that could not be rendered). A run whose
    stored backend or agent is an import path TRUST (adsgen.campaign.backends.ImportTrust) does not allow is
    not rerun; the note says why. ``progress`` is called after each run."""

    out: dict[int, list[Image]] = {}
    problems = []
    for rid in run_ids:
        run = store.run(rid)
        result = json.loads(run["result_json"]) if run["result_json"] else None
        try:
            spec, _ = run_spec(store, run, trust=trust or ImportTrust())
            out[rid] = run_keyframes(spec, json.loads(run["spec_json"]), int(run["seed"]), result,
                                     f"run {rid} {run['scenario_name']}")
        except Exception as exc:  # keyframes are an illustration; the report still stands without them
            problems.append(f"run {rid}: {type(exc).__name__}: {exc}")
        if progress is not None:
            progress()
    note = ("Keyframes could not be rendered for " + "; ".join(problems)) if problems else ""
    return out, note


def render_keyframes_to_dir(store: Any, report: Any, out_dir: str | Path,
                            backend_options: dict[str, Any] | None = None, trust: Any = None) -> list[Path]:
    """Keyframes of a replayed run (adsgen.campaign.replay.ReplayReport) written as PNG files."""

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run = store.run(report.run_id)
    spec, _ = run_spec(store, run, backend_options, trust or ImportTrust())
    images = run_keyframes(spec, json.loads(run["spec_json"]), int(run["seed"]), report.replayed or report.stored,
                           f"run {report.run_id} {run['scenario_name']}")
    paths = []
    for img in images:
        p = out / f"{img.name}.png"
        p.write_bytes(img.png or b"")
        paths.append(p)
    return paths
