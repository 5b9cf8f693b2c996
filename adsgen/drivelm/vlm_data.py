"""Reading DriveLM files into the VLM's samples (one question with its camera images and key objects).

Two inputs: the nested DriveLM-nuScenes JSON (training data and ground truth; ids ``<scene>_<frame>_<i>``
with i counting over perception, prediction, planning, behavior) and the flattened question list
(``{id, image: [paths], conversations: [{from: human, value}, ...]}``) the challenge gives to models.
Image paths are resolved against ``image_root`` (default: the JSON file's folder). Every path is checked
before any model is loaded.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adsgen.errors import InputError

CAMERAS = ("CAM_FRONT", "CAM_FRONT_LEFT", "CAM_FRONT_RIGHT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_BACK_RIGHT")
QA_SECTIONS = ("perception", "prediction", "planning", "behavior")
DEPTH_KEYS = ("depth_m", "Depth_m", "depth")  # key_object_infos fields read as metric depth [m]


@dataclass(frozen=True)
class KeyObject:
    """A key object of a frame (from key_object_infos)."""

    tag: str
    category: str | None
    description: str | None
    box: tuple[float, float, float, float] | None
    """2D box (x1, y1, x2, y2) [px] in its camera's image."""
    depth_m: float | None = None
    """Metric depth [m] written by the QA generator from the simulator's depth map, when present."""

    @property
    def camera(self) -> str:
        return self.tag.strip("<>").split(",")[1]


@dataclass
class Sample:
    """One question of one key frame."""

    id: str
    question: str
    answer: str | None
    images: list[Path]
    """Camera images in CAMERAS order (a subset when cameras were chosen)."""
    cameras: list[str]
    scene: str
    frame: str
    objects: list[KeyObject] = field(default_factory=list)
    section: str | None = None
    """perception / prediction / planning / behavior (None for the flattened format)."""

    @property
    def frame_key(self) -> str:
        return f"{self.scene}_{self.frame}"


def read_json(path: str | Path) -> Any:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from exc


def _objects(infos: dict[str, Any] | None, where: str) -> list[KeyObject]:
    out = []
    for tag, info in (infos or {}).items():
        if not isinstance(info, dict):
            raise InputError(f"{where}: key_object_infos[{tag!r}] is not an object")
        box = info.get("2d_bbox")
        depth = next((info[k] for k in DEPTH_KEYS if info.get(k) is not None), None)
        out.append(KeyObject(tag=tag, category=info.get("Category"), description=info.get("Visual_description"),
                             box=tuple(float(v) for v in box) if box else None,
                             depth_m=float(depth) if depth is not None else None))
    return out


def _choose(cams: Sequence[str], cameras: Sequence[str] | None) -> list[str]:
    return [c for c in cams if cameras is None or c in cameras]


def read_nested(path: str | Path, *, cameras: Sequence[str] | None = None,
                image_root: str | Path | None = None) -> list[Sample]:
    """Samples from a nested DriveLM-nuScenes JSON file (answers included when present)."""
    data = read_json(path)
    root = Path(image_root) if image_root else Path(path).resolve().parent
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected the nested DriveLM format (scene -> key_frames), got a list")
    samples: list[Sample] = []
    for scene, scene_data in data.items():
        frames = scene_data.get("key_frames") if isinstance(scene_data, dict) else None
        if not isinstance(frames, dict):
            raise InputError(f"{path}: scene {scene}: no key_frames object")
        for frame, fd in frames.items():
            where = f"{path}: scene {scene}, frame {frame}"
            image_paths = fd.get("image_paths") or {}
            if not isinstance(image_paths, dict) or not image_paths:
                raise InputError(f"{where}: image_paths must map camera names to image files")
            cams = _choose([c for c in CAMERAS if c in image_paths], cameras)
            images = [root / image_paths[c] for c in cams]
            objects = _objects(fd.get("key_object_infos"), where)
            qa = fd.get("QA") or {}
            i = 0
            for section in QA_SECTIONS:
                for item in qa.get(section) or []:
                    if "Q" not in item:
                        raise InputError(f"{where}: {section} question {i} has no 'Q'")
                    samples.append(Sample(id=f"{scene}_{frame}_{i}", question=item["Q"], answer=item.get("A"),
                                          images=images, cameras=cams, scene=scene, frame=frame,
                                          objects=objects, section=section))
                    i += 1
    return samples


def read_flat(path: str | Path, *, cameras: Sequence[str] | None = None,
              image_root: str | Path | None = None) -> list[Sample]:
    """Samples from the flattened ``{id, image, conversations}`` question list."""
    data = read_json(path)
    root = Path(image_root) if image_root else Path(path).resolve().parent
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a list of {{id, image, conversations}}")
    samples = []
    for n, item in enumerate(data):
        try:
            sid, paths, conv = item["id"], item["image"], item["conversations"]
            question = next(c["value"] for c in conv if c["from"] == "human")
        except (KeyError, TypeError, StopIteration) as exc:
            raise InputError(f"{path}: item {n}: expected id, image and a human turn in conversations") from exc
        answer = next((c["value"] for c in conv if c["from"] == "gpt"), None)
        paths = [paths] if isinstance(paths, str) else list(paths)
        cams = [next((c for c in CAMERAS if f"/{c}/" in p or f"__{c}__" in p), f"CAM_{k}") for k, p in enumerate(paths)]
        keep = [k for k, c in enumerate(cams) if cameras is None or c in cameras]
        scene, frame = (sid.rsplit("_", 2) + ["", ""])[:2] if sid.count("_") >= 2 else (sid, "")
        samples.append(Sample(id=sid, question=question, answer=answer, images=[root / paths[k] for k in keep],
                              cameras=[cams[k] for k in keep], scene=scene, frame=frame))
    return samples


def read_samples(path: str | Path, **kwargs: Any) -> list[Sample]:
    """Nested or flattened DriveLM file -> samples (format detected from the top-level JSON type)."""
    data = read_json(path)
    return read_flat(path, **kwargs) if isinstance(data, list) else read_nested(path, **kwargs)


def check_images(samples: Sequence[Sample], source: str | Path) -> None:
    """InputError naming the first missing image (and how many are missing), before any model loads."""
    missing = sorted({str(p) for s in samples for p in s.images if not p.is_file()})
    if missing:
        first = next(s for s in samples for p in s.images if str(p) == missing[0])
        raise InputError(f"{source}: {len(missing)} image file(s) missing, first {missing[0]} "
                         f"(question {first.id}); use --image-root to say where the images are")
    empty = [s.id for s in samples if not s.images]
    if empty:
        raise InputError(f"{source}: question {empty[0]} has no camera images (check --cameras)")


def split_by_scene(samples: Sequence[Sample], held_out_fraction: float, seed: int) -> tuple[list[Sample],
                                                                                           list[Sample]]:
    """(train, held-out): whole scenes go to one side, so no frame is seen in both."""
    scenes = sorted({s.scene for s in samples})
    if len(scenes) < 2:
        raise InputError(f"only {len(scenes)} scene(s) in the data: a held-out split needs at least 2 "
                         "(give --eval FILE)")
    rng = random.Random(seed)
    rng.shuffle(scenes)
    n_held = min(max(1, round(held_out_fraction * len(scenes))), len(scenes) - 1)
    held = set(scenes[:n_held])
    return [s for s in samples if s.scene not in held], [s for s in samples if s.scene in held]
