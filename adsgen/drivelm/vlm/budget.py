"""The prompt budget: which images a question is shown with, so that its prompt fits the model's context.

A LLaVA's context (``text_config.max_position_embeddings``: 4,096 for LLaVA-1.5) holds the chat template,
the question, the depth words, every image's tokens (576 per image for LLaVA-1.5, 1,000-2,900 per camera
for LLaVA-NeXT's anyres tiling) and the answer. Six cameras and two object crops make 4,600 tokens for
LLaVA-1.5, so the layout is chosen per question, from the first of these that fits:

1. every camera as its own image, then every object crop (the layout asked for);
2. the six-camera mosaic (one image: front-left, front, front-right over back-left, back, back-right, as
   the 2024 DriveLM champion showed the rig) with every crop, then with one crop fewer, down to none;
3. only the cameras the question's tags name (the front camera when it names none), each its own image,
   with every crop, then fewer;
4. nothing: :class:`~adsgen.errors.InputError` (exit 2) naming the question, the context and the smallest
   layout's length. A prompt longer than the context is never sent.

``ANSWER_RESERVE_TOKENS`` are kept free for the answer. The same function chooses the layout at training and
at prediction time (it depends only on the question, its images and the processor), so a model is asked in
the layout it was trained on. Image-token counts come from the processor's own count
(``_get_num_multimodal_tokens``, exact for LLaVA-1.5 and LLaVA-NeXT); text tokens from its tokenizer.

Full field of view (:func:`prepare_images`): a processor that centre-crops (the real CLIP processor of
LLaVA-1.5: shortest edge to 336 px, then the middle 336 x 336, i.e. the middle 56 % of a 16:9 camera's
width) is given each image padded to a square with the processor's mean colour first, which is
LLaVA-1.5's own ``image_aspect_ratio="pad"`` preprocessing: the whole camera reaches the model, at a lower
vertical resolution. Processors that resize without cropping (adsgen's tiny LLaVA) or tile the whole image
(LLaVA-NeXT's anyres: the full image resized plus tiles of the padded image; recognised by its
``image_grid_pinpoints``) get the image as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from adsgen.errors import InputError

ANSWER_RESERVE_TOKENS = 64  # context kept free for the answer when the layout is chosen
# the six-camera mosaic's grid, top row then bottom row (as the cameras sit on the car)
MOSAIC_GRID = (("CAM_FRONT_LEFT", "CAM_FRONT", "CAM_FRONT_RIGHT"),
               ("CAM_BACK_LEFT", "CAM_BACK", "CAM_BACK_RIGHT"))
MOSAIC_CELL_MAX_W_PX = 800  # [px] a mosaic cell is at most this wide (the model sees ~112 px of it anyway)
FRONT_CAMERA = "CAM_FRONT"


@dataclass(frozen=True)
class Layout:
    """How one question's images are laid out."""

    cameras: tuple[str, ...]
    """Cameras shown, each as its own image (empty when ``mosaic``)."""
    mosaic: bool
    """Every camera in one six-camera mosaic image."""
    crops: int
    """Object crops shown after the cameras."""
    dropped: str
    """What was given up to fit, in words ('' for the layout asked for)."""


def context_length(model: Any) -> int:
    """The text model's context [tokens] from its config."""
    config = getattr(model, "config", model)
    text = getattr(config, "text_config", config)
    return int(text.max_position_embeddings)


def candidate_layouts(cameras: Sequence[str], n_crops: int, tagged: Sequence[str]) -> list[Layout]:
    """The layouts to try, in order of preference (see the module doc)."""
    cams = tuple(cameras)
    out = [Layout(cams, False, n_crops, "")]
    if len(cams) > 1:
        for k in range(n_crops, -1, -1):
            out.append(Layout((), True, k, _words(f"{len(cams)} cameras in one mosaic", n_crops - k)))
    few = tuple(c for c in cams if c in tagged) or tuple(c for c in cams if c == FRONT_CAMERA) or cams[:1]
    if few != cams:
        gone = ", ".join(c for c in cams if c not in few)
        for k in range(n_crops, -1, -1):
            out.append(Layout(few, False, k, _words(f"cameras {gone} left out", n_crops - k)))
    return out


def _words(what: str, crops_dropped: int) -> str:
    return what + (f", {crops_dropped} object crop(s) left out" if crops_dropped else "")


def mosaic(images: dict[str, Any]) -> Any:
    """One PIL image: the cameras on MOSAIC_GRID (a black cell for a camera not given)."""
    first = next(iter(images.values()))
    scale = min(1.0, MOSAIC_CELL_MAX_W_PX / first.width)
    w, h = round(first.width * scale), round(first.height * scale)  # [px] one cell
    out = Image.new("RGB", (w * len(MOSAIC_GRID[0]), h * len(MOSAIC_GRID)))
    for r, row in enumerate(MOSAIC_GRID):
        for c, cam in enumerate(row):
            if cam in images:
                out.paste(images[cam].resize((w, h)), (c * w, r * h))
    return out


def pads_to_square(processor: Any) -> bool:
    """True when the processor would centre-crop each image (then :func:`prepare_images` pads first)."""
    image_processor = getattr(processor, "image_processor", processor)
    if getattr(image_processor, "image_grid_pinpoints", None):  # anyres (LLaVA-NeXT): the whole image is
        return False  # resized and tiled (its do_center_crop only touches the already square tiles)
    return bool(getattr(image_processor, "do_center_crop", False))


def prepare_images(processor: Any, images: Sequence[Any]) -> list[Any]:
    """Images as the processor should get them: padded to a square with its mean colour when it centre-crops."""
    if not pads_to_square(processor):
        return list(images)

    image_processor = getattr(processor, "image_processor", processor)
    fill = tuple(round(255 * m) for m in (image_processor.image_mean or (0.0, 0.0, 0.0)))
    out = []
    for img in images:
        if img.width == img.height:
            out.append(img)
            continue
        side = max(img.width, img.height)
        square = Image.new("RGB", (side, side), fill)
        square.paste(img, ((side - img.width) // 2, (side - img.height) // 2))
        out.append(square)
    return out


def prompt_tokens(processor: Any, prompt: str, images: Sequence[Any]) -> int:
    """Tokens of a chat-templated prompt with its ``<image>`` markers expanded for these (prepared) images."""
    tokenizer = processor.tokenizer
    ids = tokenizer(prompt)["input_ids"]
    if not images:
        return len(ids)
    count = getattr(processor, "_get_num_multimodal_tokens", None)
    if count is None:  # a processor without the count: encode for real (slower, as exact)
        return int(processor(text=[prompt], images=list(images), return_tensors="pt")["input_ids"].shape[1])
    per_image = count(image_sizes=[(img.height, img.width) for img in images]).num_image_tokens
    return len(ids) - len(images) + int(sum(per_image))


@dataclass
class PromptBudget:
    """Fits questions into a model's context (bound to its processor)."""

    processor: Any
    context: int
    """The model's context [tokens]."""
    reserve: int = ANSWER_RESERVE_TOKENS
    """Tokens kept free for the answer."""
    @property
    def limit(self) -> int:
        return self.context - self.reserve

    def fit(self, question_id: str, prompt_for: Callable[[int], str], cameras: Sequence[str],
            camera_images: Sequence[Any], crops: Sequence[Any], tagged: Sequence[str]) -> tuple[Layout, list[Any]]:
        """The first layout whose prompt fits ``limit``, and its images; InputError when none does.

        ``prompt_for(n)``: the chat-templated prompt for n images.
        """
        by_cam = dict(zip(cameras, camera_images, strict=True))
        shortest = None
        for layout in candidate_layouts(cameras, len(crops), tagged):
            images = self.images_of(layout, by_cam, crops)
            n = prompt_tokens(self.processor, prompt_for(len(images)), prepare_images(self.processor, images))
            if n <= self.limit:
                return layout, images
            shortest = n if shortest is None else min(shortest, n)
        raise InputError(f"question {question_id}: no image layout fits the model's context of {self.context} "
                         f"tokens ({self.reserve} kept for the answer); the smallest prompt is {shortest} tokens")

    @staticmethod
    def images_of(layout: Layout, by_cam: dict[str, Any], crops: Sequence[Any]) -> list[Any]:
        shown = [mosaic(by_cam)] if layout.mosaic else [by_cam[c] for c in layout.cameras]
        return shown + list(crops[:layout.crops])
