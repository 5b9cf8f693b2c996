"""``adsgen drivelm qa``: scenario files -> a DriveLM-format dataset folder with held-out scenes.

Writes into the output folder:

- ``samples/<CAM>/<frame token>.png``: the rendered images (paths in the JSON files are relative to the folder);
- ``train.json``: nested DriveLM file of the training scenes (tagged questions with answers and key objects);
- ``test.json``: ground truth of the held-out scenes (the challenge's evaluation format), when there are any;
- ``test_questions.json``: the question file of the held-out scenes (answers emptied);
- ``train_conversations.json`` / ``test_conversations.json``: the flattened lists models consume;
- ``manifest.json``: provenance (config, versions, scenario fingerprints), the split and counts.

Scenes are split by scenario (never by frame), so no held-out scene shares a run with a training scene;
``split_by="source"`` keeps all variants of one seed file on the same side.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from adsgen.drivelm.challenge.formats import (
    NestedDataset,
    to_conversations,
    to_question_file,
    write_conversations,
    write_json,
    write_nested,
)
from adsgen.drivelm.qa.generation import QAConfig, render_keyframes, scene_from_frames, split_scenes, token
from adsgen.errors import ConfigError, InputError
from adsgen.provenance import file_fingerprint, utc_now, versions
from adsgen.safeload import load_yaml
from adsgen.scenario.io import load_scenario, load_seed, scenario_files
from adsgen.scenario.mapping import instantiate
from adsgen.scenario.model import Scenario
from adsgen.variables import STATES


@dataclass(frozen=True)
class ScenarioSource:
    """A scenario to render, where it came from, and (seed files) its variant number (0 = nominal)."""

    scenario: Scenario
    path: Path
    variant: int
    description: str


def load_sources(paths: Sequence[str | Path], variants: int = 0, variant_seed: int = 0) -> list[ScenarioSource]:
    """Scenarios of the files: a scenario file gives itself; a seed file gives its nominal scenario plus
    ``variants`` random ones (light, weather and surface drawn from what its contract allows, dynamic
    parameters uniform in their ranges)."""
    out: list[ScenarioSource] = []
    for path in scenario_files(paths):
        head = load_yaml(path, "a scenario or seed YAML file")
        if not (isinstance(head, dict) and "contract" in head):  # a scenario file
            sc = load_scenario(path)
            out.append(ScenarioSource(sc, path, 0, sc.name))
            continue
        seed = load_seed(path)
        out.append(ScenarioSource(seed.scenario, path, 0, seed.description))
        rng = random.Random(f"{variant_seed}|{seed.name}")
        for v in range(1, variants + 1):
            factors = {var: rng.choice(list(seed.contract.get(var, STATES[var])))
                       for var in ("light", "weather", "surface")}
            params = {p.path: rng.uniform(p.low, p.high) for p in seed.parameters}
            sc = instantiate(seed, factors, params, name=f"{seed.name}_v{v}")
            out.append(ScenarioSource(_with_signal_phase(sc, rng), path, v, seed.description))
    return out


def _with_signal_phase(scenario: Any, rng: random.Random) -> Any:
    """A signalised variant starts at a random point of its signal cycle (offset uniform over the cycle),
    so the ego meets red and yellow as well as green; other scenarios are returned unchanged."""
    if scenario.factors.traffic_control != "signal":
        return scenario
    plan = scenario.road.signal
    cycle = 2.0 * (plan.green_s + plan.yellow_s + plan.all_red_s)
    signal = plan.model_copy(update={"offset_s": rng.uniform(0.0, cycle)})
    return scenario.model_copy(update={"road": scenario.road.model_copy(update={"signal": signal})})


@dataclass
class QAResult:
    """What a QA generation run wrote."""

    out_dir: Path
    train: NestedDataset | None
    test: NestedDataset | None
    frames: dict[str, list]          # scene token -> FrameTruth list (rendered frames kept for checks)
    manifest: dict


def generate_dataset(paths: Sequence[str | Path], out_dir: str | Path, config: QAConfig = QAConfig(), *,
                     test_share: float = 0.0, split_seed: int = 0, split_by: str = "scenario",
                     variants: int = 0, variant_seed: int = 0,
                     write_images: bool = True, progress: Callable[[str], None] | None = None) -> QAResult:
    """Render, ask and write the dataset folder (see the module doc)."""
    out = Path(out_dir)
    sources = load_sources(paths, variants, variant_seed)  # every input read before the folder is made
    out.mkdir(parents=True, exist_ok=True)
    scenes = {}
    frames_by_scene: dict[str, list] = {}
    listing = []
    for src in sources:
        sc = src.scenario
        stok = token(sc.content_hash(), config.agent, config.sim_seed)
        if stok in scenes:  # the same scenario twice: one scene
            continue
        frames = render_keyframes(sc, config, stok, out if write_images else None)
        if progress is not None:
            progress(f"{sc.name}: {len(frames)} key frames")
        if not frames:
            continue
        meta = {"scenario": sc.name, "seed": sc.seed, "source": str(src.path), "variant": src.variant,
                "content_hash": sc.content_hash(), "factors": sc.factors.model_dump()}
        scenes[stok] = scene_from_frames(frames, src.description, meta, config.choice_seed)
        frames_by_scene[stok] = frames
        listing.append({"scene": stok, "scenario": sc.name, "source": str(src.path), "variant": src.variant,
                        "frames": len(frames)})
    if not scenes:
        raise InputError("no key frame showed any object: nothing to ask about (check the cameras and scenarios)")
    if split_by not in ("scenario", "source"):
        raise ConfigError(f"--split-by must be 'scenario' or 'source', got {split_by!r}")
    # split units: each scene, or each source file with all its variants (no seed family on both sides)
    unit_of = {str(item["scene"]): str(item["scene"] if split_by == "scenario" else item["source"]) for item in listing}
    held_units = split_scenes(sorted(set(unit_of.values())), test_share, split_seed)
    held_out = {sid for sid, unit in unit_of.items() if unit in held_units}
    train = NestedDataset({k: v for k, v in scenes.items() if k not in held_out}) if len(held_out) < len(scenes) else None
    test = NestedDataset({k: v for k, v in scenes.items() if k in held_out}) if held_out else None
    files = {}
    if train is not None:
        files["train"] = write_nested(train, out / "train.json")
        files["train_conversations"] = write_conversations(to_conversations(train, "", ""),
                                                           out / "train_conversations.json")
    if test is not None:
        files["test"] = write_nested(test, out / "test.json")
        files["test_questions"] = write_nested(to_question_file(test), out / "test_questions.json")
        files["test_conversations"] = write_conversations(to_conversations(test, "", ""),
                                                          out / "test_conversations.json")
    for item in listing:
        item["split"] = "test" if item["scene"] in held_out else "train"
    manifest = {
        "created": utc_now(),
        "versions": versions(("adsgen", "numpy", "pillow")),
        "config": {**asdict(config), "test_share": test_share, "split_seed": split_seed, "split_by": split_by,
                   "variants": variants,
                   "variant_seed": variant_seed},
        "inputs": {str(p): file_fingerprint(p) for p in scenario_files(paths)},
        "scenes": listing,
        "counts": {name: {"scenes": len(d.scenes), "frames": d.n_frames(), "questions": len(d.question_ids())}
                   for name, d in (("train", train), ("test", test)) if d is not None},
        "files": {k: v.name for k, v in files.items()},
    }
    write_json(manifest, out / "manifest.json", indent=2)
    return QAResult(out, train, test, frames_by_scene, manifest)
