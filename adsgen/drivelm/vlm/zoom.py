"""Thinking with images (DeepEyes, arXiv 2505.14362): the model may ask for a zoomed crop before it answers.

The tool call is the whole first answer, in one of two forms (coordinates in the 1600x900 tag frame, as in
DriveLM's object tags, whatever the stored image's size):

- ``<zoom c1>``: the ZOOM_SIDE_PX square around the object the question (or its frame) tags ``<c1,...>``;
- ``<zoom CAM_FRONT,x0,y0,x1,y1>``: that box of that camera (x0 < x1, y0 < y1, inside the frame).

The call is served with the crop of that region from the camera image (:func:`serve`), and the model is
asked a second time: the same question and images, the call it made, and the crop as the last image
(:func:`second_turn_text`; the images are laid out to fit the model's context with the crop always kept,
:func:`fit_second_turn`). Training (``adsgen drivelm train --zoom``) teaches the call for questions that tag
a far object (depth_m from key_object_infos at or beyond FAR_FROM_M, where the depth words start saying
"far") and the answer in the second turn; questions about near objects are answered directly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adsgen.drivelm.vlm.budget import Layout, PromptBudget, candidate_layouts, prepare_images, prompt_tokens
from adsgen.drivelm.vlm.data import Sample
from adsgen.drivelm.vlm.depth import METRIC_WORDS, TAG_FRAME_PX, parse_tag, tags_in
from adsgen.drivelm.vlm.model import prompt_text
from adsgen.errors import InputError

# [m] where the depth words start saying "far" (the upper bound of the word before it): from here on an object
# is asked about with a zoom
FAR_FROM_M = METRIC_WORDS[[w for _, w in METRIC_WORDS].index("far") - 1][0]
ZOOM_SIDE_PX = 160.0  # [px] side of the square a `<zoom cN>` call is served with, in the 1600x900 tag frame
# (half an object crop's side, adsgen.drivelm.vlm.inputs.CROP_SIDE_PX: twice the magnification)
ZOOM_CALL_NEW_TOKENS = 16  # generation budget of the first turn for short answers (room for the call)
_CALL = re.compile(r"^\s*<zoom\s+([^>]*)>\s*$")
_OBJECT = re.compile(r"c\d+")
_NUMBER = r"\s*(-?\d+(?:\.\d+)?)\s*"
_BOX = re.compile(r"(CAM_[A-Z_]+)," + ",".join([_NUMBER] * 4))


@dataclass(frozen=True)
class ZoomCall:
    """A parsed zoom request."""

    text: str
    """The call as written, e.g. '<zoom c1>'."""
    camera: str
    box: tuple[float, float, float, float]
    """(x0, y0, x1, y1) [px] in the 1600x900 tag frame."""


def object_box(x_px: float, y_px: float, side_px: float = ZOOM_SIDE_PX) -> tuple[float, float, float, float]:
    """The side_px square around a tag point, shifted to lie inside the tag frame."""
    half = 0.5 * side_px
    cx = min(max(x_px, half), TAG_FRAME_PX[0] - half)
    cy = min(max(y_px, half), TAG_FRAME_PX[1] - half)
    return (cx - half, cy - half, cx + half, cy + half)


def parse_zoom(text: str, sample: Sample) -> ZoomCall | None:
    """The zoom call that ``text`` is, or None (an answer, or a call naming no tagged object / no camera of
    the sample / a box outside the frame)."""
    m = _CALL.match(text or "")
    if not m:
        return None
    arg = m.group(1).strip()
    return _object_call(arg, sample) if _OBJECT.fullmatch(arg) else _box_call(arg, sample)


def _object_call(arg: str, sample: Sample) -> ZoomCall | None:
    """'<zoom cN>': the square around the first tag of object cN in the question or its frame."""
    tag = next((t for t in tags_in(sample.question) + list(sample.frame_tags) if t.strip("<>").split(",")[0] == arg),
               None)
    if tag is None:
        return None
    camera, x, y = parse_tag(tag)
    return ZoomCall(f"<zoom {arg}>", camera, object_box(x, y)) if camera in sample.cameras else None


def _box_call(arg: str, sample: Sample) -> ZoomCall | None:
    """'<zoom CAM,x0,y0,x1,y1>': that box of one of the sample's cameras, inside the tag frame."""
    b = _BOX.fullmatch(arg)
    if not b or b.group(1) not in sample.cameras:
        return None
    x0, y0, x1, y1 = (float(b.group(k)) for k in range(2, 6))
    if not (0 <= x0 < x1 <= TAG_FRAME_PX[0] and 0 <= y0 < y1 <= TAG_FRAME_PX[1]):
        return None
    return ZoomCall(f"<zoom {b.group(1)},{x0:g},{y0:g},{x1:g},{y1:g}>", b.group(1), (x0, y0, x1, y1))


def serve(call: ZoomCall, camera_image: Any) -> Any:
    """The crop of the camera image that covers the call's region (the box scaled from the tag frame to the
    image; whole pixels, rounded outwards)."""
    sx, sy = camera_image.width / TAG_FRAME_PX[0], camera_image.height / TAG_FRAME_PX[1]
    x0, y0, x1, y1 = call.box
    box = (max(0, math.floor(x0 * sx)), max(0, math.floor(y0 * sy)),
           min(camera_image.width, math.ceil(x1 * sx)), min(camera_image.height, math.ceil(y1 * sy)))
    return camera_image.crop(box)


def far_tag(sample: Sample) -> str | None:
    """The first object the question tags whose depth_m (key_object_infos) is at least FAR_FROM_M; None when
    it tags none (or the file has no depths)."""
    depth = {tag: o.depth_m for tag, o in sample.objects.items()}
    for tag in tags_in(sample.question):
        d = depth.get(tag)
        if d is not None and d >= FAR_FROM_M:
            return tag
    return None


def zoom_target(sample: Sample) -> str | None:
    """What the model is trained to say first: '<zoom cN>' for a question about a far object, else None
    (answer directly)."""
    tag = far_tag(sample)
    return None if tag is None else f"<zoom {tag.strip('<>').split(',')[0]}>"


def second_turn_text(text: str, call: ZoomCall) -> str:
    """The user text of the second turn: the first turn's text, the call, and where its crop is."""
    return f"{text}\nYou asked {call.text}; the last image is that region, zoomed in. Now answer."


def fit_second_turn(budget: PromptBudget | None, sample: Sample, text: str, camera_images: Sequence[Any],
                    crops: Sequence[Any], zoom_crop: Any) -> tuple[Layout | None, list[Any]]:
    """The second turn's images: the first layout (adsgen.drivelm.vlm.budget order) whose prompt fits the
    context with the zoom crop as the last image; InputError when none fits (never an over-long prompt)."""
    if budget is None:
        return None, list(camera_images) + list(crops) + [zoom_crop]

    by_cam = dict(zip(sample.cameras, camera_images, strict=True))
    tagged = [parse_tag(t)[0] for t in tags_in(sample.question)]
    shortest = None
    for layout in candidate_layouts(sample.cameras, len(crops), tagged):
        images = budget.images_of(layout, by_cam, crops) + [zoom_crop]
        n = prompt_tokens(budget.processor, prompt_text(budget.processor, text, len(images)),
                          prepare_images(budget.processor, images))
        if n <= budget.limit:
            return layout, images
        shortest = n if shortest is None else min(shortest, n)
    raise InputError(f"question {sample.id}: no image layout with the zoomed crop fits the model's context of "
                     f"{budget.context} tokens ({budget.reserve} kept for the answer); the smallest prompt is "
                     f"{shortest} tokens")
