"""Depth per key object, turned into words for the prompt.

The figure for an object is the 75th percentile of the depth inside its 2D box (a robust "far part of the
object" that ignores the background bleeding into a loose box less than the max would). Two sources:

- the simulator's metric depth map (or a depth already written into the QA file's key_object_infos);
- a depth-estimation model from a local folder (transformers' ``depth-estimation`` pipeline). Relative
  models (Depth Anything's default) return *relative inverse depth* (larger = nearer, no unit); we then
  say so in the words ("relatively near, relative inverse depth 0.82") and never invent metres. Metric
  models (config ``depth_estimation_type == "metric"``) give metres.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from adsgen.drivelm.challenge.formats import OBJECT_TAG_RE, TAG_FRAME_PX, parse_object_tag
from adsgen.drivelm.vlm.model import require_vlm
from adsgen.errors import InputError

DEPTH_NONE = "none"  # depth setting: no depth words
DEPTH_SIM = "sim"  # depth setting: the simulator's metric depth (depth_m of adsgen drivelm qa)
DEPTHS_WITHOUT_MODEL = (DEPTH_NONE, DEPTH_SIM)  # every other depth setting is a depth-model folder
DEPTH_PERCENTILE = 75.0  # [%] percentile of the depth inside an object's box
# (upper bound [m], word) for metric depth
METRIC_WORDS: tuple[tuple[float, str], ...] = ((5.0, "very close"), (15.0, "close"), (30.0, "at a medium distance"),
                                               (60.0, "far"), (float("inf"), "very far"))
# (lower bound of normalised inverse depth in [0, 1], word) for relative models; 1 = nearest in the image
RELATIVE_WORDS: tuple[tuple[float, str], ...] = ((0.75, "relatively near"), (0.45, "at a middling distance"),
                                                 (0.0, "relatively far"))
TAG_WINDOW_PX = 48.0  # [px] side of the square around a tag's point, in the 1600x900 tag frame, whose depth
# stands for the object (question files carry tags, not boxes; boxed files use the same window, so a model is
# trained and asked with the same words)
CLOSING_MIN_MPS = 0.5  # [m/s] below this closing speed an object is "not closing in" (no time to contact)


@dataclass(frozen=True)
class ObjectDepth:
    """Depth figure of one key object."""

    tag: str
    """The object's DriveLM tag, e.g. '<c1,CAM_FRONT,812.5,470.0>'."""
    category: str
    """The object's category in words ('car', 'pedestrian'), lower case."""
    value: float
    """Metres (metric) or normalised relative inverse depth in [0, 1] (relative)."""
    metric: bool
    """True when value is in metres."""
    closing_mps: float | None = None
    """How fast the gap to the object shrinks along the ego's heading [m/s] (None: unknown, said nothing)."""
    braking: bool = False
    """Its brake lights are on."""
    def words(self) -> str:
        """'the car <c1,...> is close, about 8 m away' (metric) or the relative-inverse-depth phrasing."""
        if self.metric:
            word = next(w for bound, w in METRIC_WORDS if self.value < bound)
            return f"the {self.category} {self.tag} is {word}, about {self.value:.0f} m away{self.motion_words()}"
        word = next(w for bound, w in RELATIVE_WORDS if self.value >= bound)
        return f"the {self.category} {self.tag} is {word} (relative inverse depth {self.value:.2f}, 1 = nearest)"

    def motion_words(self) -> str:
        """', braking, closing in at about 6 m/s, about 4 s to contact' (metric depth with a closing speed;
        the same words at training time, from key_object_infos, and in the driving agent)."""
        if not self.metric or self.closing_mps is None or not np.isfinite(self.closing_mps):
            return ""
        out = ", braking" if self.braking else ""
        if self.closing_mps < CLOSING_MIN_MPS:
            return out + ", not closing in"
        return out + (f", closing in at about {self.closing_mps:.0f} m/s, about "
                      f"{self.value / self.closing_mps:.0f} s to contact")


def box_percentile(depth_map: np.ndarray, box: tuple[float, float, float, float],
                   percentile: float = DEPTH_PERCENTILE) -> float:
    """Percentile of ``depth_map`` (H, W) inside the pixel box (x1, y1, x2, y2); NaN/inf pixels ignored."""
    height, width = depth_map.shape
    x1, y1, x2, y2 = box
    c1, c2 = int(np.clip(np.floor(min(x1, x2)), 0, width - 1)), int(np.clip(np.ceil(max(x1, x2)), 1, width))
    r1, r2 = int(np.clip(np.floor(min(y1, y2)), 0, height - 1)), int(np.clip(np.ceil(max(y1, y2)), 1, height))
    patch = depth_map[r1:max(r2, r1 + 1), c1:max(c2, c1 + 1)]  # (h, w)
    finite = patch[np.isfinite(patch)]
    if finite.size == 0:
        return float("nan")
    return float(np.percentile(finite, percentile))


def category_words(category: str | None, description: str | None = None) -> str:
    """A short noun for the object: the last word of its visual description before any 'in'/'with' phrase
    ('Black sedan.' -> 'sedan', 'Pedestrian in a blue shirt.' -> 'pedestrian'), else its category."""
    if description:
        words = re.findall(r"[A-Za-z]+", re.split(r"\b(?:in|with|wearing)\b", description, maxsplit=1)[0])
        if words:
            return words[-1].lower()
    return (category or "object").lower()


def tags_in(text: str) -> list[str]:
    """DriveLM object tags in a text, in order of appearance, without repeats."""
    seen: list[str] = []
    for tag in (m.group(0) for m in OBJECT_TAG_RE.finditer(text)):
        if tag not in seen:
            seen.append(tag)
    return seen


def parse_tag(tag: str) -> tuple[str, float, float]:
    """(camera, x [px], y [px]) of a tag '<c1,CAM_FRONT,812.5,470.0>' (position in the 1600x900 frame)."""
    parsed = parse_object_tag(tag)
    return parsed.camera, parsed.x_px, parsed.y_px


def tag_window(tag: str, width_px: int, height_px: int) -> tuple[float, float, float, float]:
    """The box (x1, y1, x2, y2) [px of a width x height image] of side TAG_WINDOW_PX around the tag's point:
    where the depth of a tagged object is read, at training and prediction time alike."""
    _, x, y = parse_tag(tag)
    sx, sy = width_px / TAG_FRAME_PX[0], height_px / TAG_FRAME_PX[1]
    half = 0.5 * TAG_WINDOW_PX
    return ((x - half) * sx, (y - half) * sy, (x + half) * sx, (y + half) * sy)


def depth_sentence(depths: list[ObjectDepth]) -> str:
    """'Depth: the car <c1,...> is close, about 8 m away; ...' (empty string for no objects)."""
    usable = [d for d in depths if np.isfinite(d.value)]
    if not usable:
        return ""
    return "Depth: " + "; ".join(d.words() for d in usable) + "."


class DepthEstimator:
    """A depth-estimation model from a local folder, through transformers' pipeline."""

    def __init__(self, path: str | Path, device: str | None = None):
        folder = Path(path).expanduser()
        if not (folder / "config.json").is_file():
            raise InputError(f"depth model {path}: not a local model folder (no config.json)")
        _, transformers = require_vlm("depth estimation")
        try:
            config = transformers.AutoConfig.from_pretrained(str(folder), local_files_only=True)
            # a local folder: transformers reads it from disk, no hub access
            self.pipe = transformers.pipeline("depth-estimation", model=str(folder), device=device)
        except (OSError, ValueError) as exc:
            raise InputError(f"depth model {path}: could not be loaded as a depth-estimation model ({exc})") from exc
        self.metric = getattr(config, "depth_estimation_type", "relative") == "metric"
        self.path = str(folder)

    def depth_map(self, image: Any) -> np.ndarray:
        """(H, W) map at the image's size: metres (metric) or inverse depth normalised to [0, 1]."""
        out = self.pipe(image)
        pred = out["predicted_depth"]
        arr = pred.squeeze().float().cpu().numpy()  # (h, w) at the model's resolution
        if arr.shape != (image.height, image.width):

            arr = np.asarray(Image.fromarray(arr).resize((image.width, image.height), Image.Resampling.BILINEAR))
        if self.metric:
            return arr
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        return (arr - lo) / max(hi - lo, 1e-6)  # (H, W) 1 = nearest

    def object_value(self, depth_map: np.ndarray, box: tuple[float, float, float, float]) -> float:
        """The figure for a box: 75th percentile of depth, i.e. the 25th of inverse depth for relative maps."""
        if self.metric:
            return box_percentile(depth_map, box)
        return box_percentile(depth_map, box, 100.0 - DEPTH_PERCENTILE)
