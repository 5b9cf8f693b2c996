"""Turning a Sample into what the model sees: the user text (with depth words) and the camera images."""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from PIL import Image

from adsgen.drivelm.vlm.budget import Layout, PromptBudget, context_length
from adsgen.drivelm.vlm.data import Sample
from adsgen.drivelm.vlm.depth import (
    DEPTH_NONE,
    DEPTH_SIM,
    DEPTHS_WITHOUT_MODEL,
    TAG_FRAME_PX,
    DepthEstimator,
    ObjectDepth,
    category_words,
    depth_sentence,
    parse_tag,
    tag_window,
    tags_in,
)
from adsgen.drivelm.vlm.model import prompt_text
from adsgen.drivelm.vlm.prompts import user_text
from adsgen.drivelm.vlm.zoom import fit_second_turn, second_turn_text, serve
from adsgen.errors import InputError

MAX_DEPTH_OBJECTS = 6  # objects named in a depth sentence when the question names none
ImageMode = Literal["real", "blank"]  # blank: every camera black (the image-blind control)
IMAGE_MODES: tuple[ImageMode, ...] = get_args(ImageMode)
_IMAGE_CACHE_FRAMES = 64
TAG_NOUN = "object"  # how depth-model words name a tagged object (question files carry no categories)
MAX_CROPS = 2  # object crops per question
CROP_SIDE_PX = 320  # [px] side of an object crop in the 1600x900 tag frame


def crop_around(image: Any, x_px: float, y_px: float, side_px: float = CROP_SIDE_PX) -> Any:
    """A square crop of ``image`` centred on the tag position (x_px, y_px) given in the 1600x900 frame,
    shifted to stay inside the image."""
    sx, sy = image.width / TAG_FRAME_PX[0], image.height / TAG_FRAME_PX[1]
    half = 0.5 * side_px * sx  # [px] of this image
    cx = min(max(x_px * sx, half), image.width - half)
    cy = min(max(y_px * sy, half), image.height - half)
    return image.crop((round(cx - half), round(cy - half), round(cx + half), round(cy + half)))


@dataclass
class InputBuilder:
    """Builds the user text and images for samples; caches decoded images and depth maps per frame."""

    depth: str = DEPTH_NONE
    """'none', 'sim' (key_object_infos' metric depth) or a local depth-estimation model folder."""
    cot: bool = False
    """Ask for chain-of-thought on multiple-choice and yes/no questions."""
    images: ImageMode = "real"
    """'real' or 'blank' (every camera replaced by a black image of the same size: the image-blind control)."""
    object_crops: bool = False
    """Add, after the cameras, a crop around each object the question tags (at most MAX_CROPS): a small
    model sees the object at a usable resolution instead of a few pixels of a downscaled camera."""
    zoom: bool = False
    """The model may answer a question with a zoom call first (adsgen.drivelm.vlm.zoom), served by
    :meth:`second_turn`."""
    budget: PromptBudget | None = None
    """The model's prompt budget (set by :meth:`bind`): images are laid out to fit its context."""
    zoom_calls: dict = field(default_factory=dict)
    """Question id -> the zoom call the model made for it (prediction with zoom)."""
    layouts: Counter = field(default_factory=Counter)
    """Questions per reduced layout (what was dropped to fit), counted once per question."""
    _estimator: DepthEstimator | None = None
    _cache: OrderedDict = field(default_factory=OrderedDict)
    _layout_of: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.images not in IMAGE_MODES:
            raise InputError(f"images mode {self.images!r}: expected one of {IMAGE_MODES}")
        if self.depth not in DEPTHS_WITHOUT_MODEL:
            self._estimator = DepthEstimator(self.depth)

    def bind(self, vlm: Any) -> PromptBudget:
        """Fit every question's images into this loaded model's context from now on (adsgen.drivelm.vlm.budget);
        returns that budget."""
        self.budget = PromptBudget(vlm.processor, context_length(vlm.model))
        self._layout_of.clear()
        return self.budget

    def load_images(self, sample: Sample) -> list[Any]:
        """The images the model sees: the cameras, then (object_crops) a crop per tagged object; with a
        budget, the first layout that fits the model's context (what was dropped is counted in ``layouts``)."""
        cameras = self.camera_images(sample)
        crops = self.object_crop_images(sample, cameras)
        if self.budget is None:
            return cameras + crops

        tagged = [parse_tag(t)[0] for t in tags_in(sample.question)]
        layout = self._layout_of.get(sample.id)
        if layout is None:
            text, processor = self.text(sample), self.budget.processor
            layout, images = self.budget.fit(
                sample.id, lambda n: prompt_text(processor, text, n), sample.cameras, cameras, crops, tagged)
            self._layout_of[sample.id] = layout
            if layout.dropped:
                self.layouts[layout.dropped] += 1
            return images
        return self.budget.images_of(layout, dict(zip(sample.cameras, cameras, strict=True)), crops)

    def object_crop_images(self, sample: Sample, cameras: list[Any]) -> list[Any]:
        """A crop around each object the question tags (at most MAX_CROPS; none without object_crops)."""
        crops = []
        if self.object_crops:
            for tag in tags_in(sample.question)[:MAX_CROPS]:
                cam, x, y = parse_tag(tag)
                if cam in sample.cameras:
                    crops.append(crop_around(cameras[sample.cameras.index(cam)], x, y))
        return crops

    def second_turn(self, sample: Sample, call: Any) -> tuple[str, list[Any]]:
        """(user text, images) of the second turn after the zoom call ``call`` (adsgen.drivelm.vlm.zoom.ZoomCall):
        the first turn's text and the call, the images laid out to fit with the served crop last."""
        cameras = self.camera_images(sample)
        crop = serve(call, cameras[sample.cameras.index(call.camera)])
        text = second_turn_text(self.text(sample), call)
        layout, images = fit_second_turn(self.budget, sample, text, cameras, self.object_crop_images(sample, cameras),
                                         crop)
        if layout is not None and layout.dropped:
            self.layouts[layout.dropped + " (zoom turn)"] += 1
        return text, images

    def layout(self, sample: Sample) -> Layout | None:
        """The layout chosen for a sample (None before its images were loaded or without a budget)."""
        return self._layout_of.get(sample.id)

    def camera_images(self, sample: Sample) -> list[Any]:
        """The sample's camera images as RGB PIL images (black ones in 'blank' mode)."""
        key = (sample.frame_key, tuple(sample.cameras))
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        out = []
        for path in sample.images:
            try:
                with Image.open(path) as im:
                    img = im.convert("RGB")
            except OSError as exc:
                raise InputError(f"question {sample.id}: image {path} cannot be read ({exc})") from exc
            out.append(Image.new("RGB", img.size) if self.images == "blank" else img)
        self._cache[key] = out
        if len(self._cache) > _IMAGE_CACHE_FRAMES:
            self._cache.popitem(last=False)
        return out

    def object_depths(self, sample: Sample) -> list[ObjectDepth]:
        """Depth figures of the objects the question tags (when it tags none: the frame's first
        MAX_DEPTH_OBJECTS tagged objects).

        'sim' reads each object's depth_m from key_object_infos. A depth model reads its map in the
        TAG_WINDOW_PX square around each tag's point (:func:`adsgen.drivelm.vlm.depth.tag_window`) and names the
        object by its tag only: the challenge's question files carry tags but no boxes or categories, so a
        boxed training file and a question file give the same words for the same question."""
        if self.depth == DEPTH_NONE:
            return []
        if self.depth == DEPTH_SIM:
            if not sample.objects:
                return []
            named = tags_in(sample.question)
            tags = [t for t in sample.objects if t in named] or list(sample.objects)[:MAX_DEPTH_OBJECTS]
            out = []
            for tag in tags:
                obj = sample.objects[tag]
                if obj.depth_m is None:
                    raise InputError(f"question {sample.id}: --depth sim needs a depth_m for object {tag} "
                                     "in key_object_infos (written by adsgen drivelm qa)")
                out.append(ObjectDepth(tag, category_words(obj.category, obj.visual_description), obj.depth_m,
                                       metric=True, closing_mps=obj.closing_mps, braking=obj.braking))
            return out
        assert self._estimator is not None
        out = []
        for tag in tags_in(sample.question) or sample.frame_tags[:MAX_DEPTH_OBJECTS]:
            camera = parse_tag(tag)[0]
            if camera not in sample.cameras:
                continue
            image = self.camera_images(sample)[sample.cameras.index(camera)]
            depth_map = self._depth_map(sample, camera, image)
            value = self._estimator.object_value(depth_map, tag_window(tag, image.width, image.height))
            out.append(ObjectDepth(tag, TAG_NOUN, value, metric=self._estimator.metric))
        return out

    def _depth_map(self, sample: Sample, camera: str, image: Any) -> Any:
        key = ("depth", sample.frame_key, camera)
        if key not in self._cache:
            assert self._estimator is not None
            self._cache[key] = self._estimator.depth_map(image)
        return self._cache[key]

    def text(self, sample: Sample) -> str:
        return user_text(sample.question, depth_sentence(self.object_depths(sample)), cot=self.cot)

