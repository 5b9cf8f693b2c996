"""Reading DriveLM files into the VLM's samples (one question with its camera images and key objects).

Two inputs: the nested DriveLM-nuScenes JSON (training data and ground truth; ids ``<scene>_<frame>_<i>``
with i counting over perception, prediction, planning, behavior) and the flattened question list
(``{id, image: [paths], conversations: [{from: human, value}, ...]}``) the challenge gives to models.
Image paths are resolved against ``image_root`` (default: the JSON file's folder). Every path is checked
before any model is loaded.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adsgen.drivelm.challenge import formats
from adsgen.drivelm.challenge.formats import CAMERAS, KeyObject
from adsgen.drivelm.vlm.depth import tags_in
from adsgen.errors import InputError

_CAMERA_IN_PATH = re.compile(r"CAM_(?:FRONT|BACK)(?:_LEFT|_RIGHT)?")


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
    objects: dict[str, KeyObject] = field(default_factory=dict)
    """The frame's key objects by tag (key_object_infos; empty for the flattened format)."""
    section: str | None = None
    """perception / prediction / planning / behavior (None for the flattened format)."""
    template: str | None = None
    """The generator's question template (``adsgen drivelm qa`` output; None elsewhere)."""
    frame_tags: list[str] = field(default_factory=list)
    """The object tags of every question of this frame, in order of first appearance (the same from a nested
    file and from the challenge's question file, which has no key_object_infos)."""
    @property
    def frame_key(self) -> str:
        return f"{self.scene}_{self.frame}"


def read_json(path: str | Path) -> Any:
    """A DriveLM JSON file (InputError for a missing or truncated file)."""
    return formats.read_json(path, "DriveLM file")


def _choose(cams: Sequence[str], cameras: Sequence[str] | None) -> list[str]:
    return [c for c in cams if cameras is None or c in cameras]


def read_nested(path: str | Path, *, cameras: Sequence[str] | None = None,
                image_root: str | Path | None = None) -> list[Sample]:
    """Samples from a nested DriveLM-nuScenes file (read and validated by adsgen.drivelm.challenge.formats)."""
    data = formats.parse_nested(read_json(path), str(path))
    root = Path(image_root) if image_root else Path(path).resolve().parent
    samples: list[Sample] = []
    frame_cache: dict[int, tuple[list[str], list[Path], dict[str, KeyObject]]] = {}
    for ref in data.iter_questions():
        if id(ref.frame) not in frame_cache:
            cams = _choose([c for c in CAMERAS if c in ref.frame.image_paths], cameras)
            frame_cache[id(ref.frame)] = (cams, [root / ref.frame.image_paths[c] for c in cams],
                                          dict(ref.frame.key_object_infos or {}))
        cams, images, objects = frame_cache[id(ref.frame)]
        samples.append(Sample(id=ref.id, question=ref.qa.question, answer=ref.qa.answer or None, images=images,
                              cameras=cams, scene=ref.scene_id, frame=ref.frame_id, objects=objects,
                              section=ref.category, template=ref.qa.extra.get("template")))
    _set_frame_tags(samples)
    return samples


def _set_frame_tags(samples: Sequence[Sample]) -> None:
    """Fill each sample's frame_tags from the questions of its frame, in file order."""
    by_frame: dict[str, list[str]] = {}
    for s in samples:
        tags = by_frame.setdefault(s.frame_key, [])
        tags.extend(t for t in tags_in(s.question) if t not in tags)
    for s in samples:
        s.frame_tags = by_frame[s.frame_key]


def read_flat(path: str | Path, *, cameras: Sequence[str] | None = None,
              image_root: str | Path | None = None) -> list[Sample]:
    """Samples from the flattened ``{id, image, conversations}`` list (read by adsgen.drivelm.challenge.formats)."""
    items = formats.parse_conversations(read_json(path), str(path))
    root = Path(image_root) if image_root else Path(path).resolve().parent
    samples = []
    for item in items:
        cams = [camera_of(p, k) for k, p in enumerate(item.image)]
        keep = [k for k, c in enumerate(cams) if cameras is None or c in cameras]
        scene, frame = item.id.rsplit("_", 2)[:2] if item.id.count("_") >= 2 else (item.id, "")
        samples.append(Sample(id=item.id, question=formats.IMAGE_TOKEN + item.question, answer=item.answer or None,
                              images=[root / item.image[k] for k in keep], cameras=[cams[k] for k in keep],
                              scene=scene, frame=frame))
    _set_frame_tags(samples)
    return samples


def camera_of(path: str, k: int) -> str:
    """The camera an image path names (the last CAM_... in it: nuScenes' 'samples/CAM_FRONT/...__CAM_FRONT__'
    or a file name like 's0_f0_CAM_FRONT.png'); 'CAM_<k>' when it names none."""
    found = _CAMERA_IN_PATH.findall(path)
    return found[-1] if found else f"CAM_{k}"


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
