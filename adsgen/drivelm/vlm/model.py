"""Loading a LLaVA vision-language model (LLaVA-1.5, LLaVA-NeXT or adsgen's tiny LLaVA) from a local path.

No hub downloads: every load passes ``local_files_only=True``. A path is checked (config.json's
``model_type`` / ``architectures``) before any weights are read, so a wrong path fails in milliseconds.
This module (with the rest of ``adsgen.drivelm``'s VLM files) is the only place that imports torch,
transformers and peft; they are imported lazily through :func:`require_vlm`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adsgen.drivelm.vlm.budget import context_length, prepare_images
from adsgen.errors import InputError, MissingExtraError

# model_type in config.json -> (transformers class name, family name shown to users)
LLAVA_FAMILIES: dict[str, tuple[str, str]] = {
    "llava": ("LlavaForConditionalGeneration", "LLaVA-1.5"),
    "llava_next": ("LlavaNextForConditionalGeneration", "LLaVA-NeXT"),
}
TINY_MARKER = "adsgen_tiny.json"  # written next to a tiny LLaVA's config.json
_FINGERPRINT_EDGE_BYTES = 1 << 20  # [B] bytes hashed at each end of a weight file


def require_vlm(what: str = "the VLM") -> tuple[Any, Any]:
    """Import torch and transformers, or raise MissingExtraError naming the missing package."""
    try:
        import torch
    except ModuleNotFoundError as exc:
        raise MissingExtraError("vlm", "torch", what) from exc
    try:
        import transformers
    except ModuleNotFoundError as exc:
        raise MissingExtraError("vlm", "transformers", what) from exc
    _quiet(transformers)
    return torch, transformers


def _quiet(transformers: Any) -> None:
    """No per-shard progress bars or info chatter from transformers (our commands show their own)."""
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def require_peft(what: str = "LoRA/DoRA adapters") -> Any:
    """Import peft, or raise MissingExtraError."""
    try:
        import peft
    except ModuleNotFoundError as exc:
        raise MissingExtraError("vlm", "peft", what) from exc
    return peft


@dataclass(frozen=True)
class BaseInfo:
    """What a base model is, read from its folder without loading weights."""

    path: str
    """Absolute path of the model folder."""
    model_type: str
    """config.json's model_type ('llava' or 'llava_next')."""
    family: str
    """Readable family: 'LLaVA-1.5', 'LLaVA-NeXT' or 'tiny LLaVA'."""
    fingerprint: str
    """sha256 over config.json and each weight file's name, size and first/last MiB."""
    tiny: bool
    """True for adsgen's tiny random-initialised LLaVA."""


def inspect_base(path: str | Path) -> BaseInfo:
    """Check that ``path`` is a local LLaVA model folder; raise InputError otherwise (no weights loaded)."""
    folder = Path(path).expanduser().resolve()
    config_file = folder / "config.json"
    if not folder.is_dir():
        raise InputError(f"base model {path}: not a folder (give a local LLaVA model folder or 'tiny')")
    if not config_file.is_file():
        raise InputError(f"base model {path}: no config.json, so this is not a transformers model folder")
    try:
        config = json.loads(config_file.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"base model {config_file}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    model_type = config.get("model_type")
    architectures = config.get("architectures") or []
    if model_type not in LLAVA_FAMILIES:
        raise InputError(
            f"base model {config_file}: model_type is {model_type!r} (architectures {architectures}); "
            f"expected a LLaVA model, one of {sorted(LLAVA_FAMILIES)}")
    expected_class = LLAVA_FAMILIES[model_type][0]
    if architectures and expected_class not in architectures:
        raise InputError(f"base model {config_file}: architectures {architectures} do not include "
                         f"{expected_class}")
    weights = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin"))
    if not weights:
        raise InputError(f"base model {path}: no weight files (*.safetensors or *.bin) next to config.json")
    tiny = (folder / TINY_MARKER).is_file()
    family = "tiny LLaVA" if tiny else LLAVA_FAMILIES[model_type][1]
    return BaseInfo(path=str(folder), model_type=model_type, family=family,
                    fingerprint=base_fingerprint(folder, weights), tiny=tiny)


def base_fingerprint(folder: Path, weights: Sequence[Path]) -> str:
    """``sha256:<hex>`` of config.json plus each weight file's name, size and first and last MiB.

    Hashing a 14 GB model fully would take minutes; the ends of each shard and the sizes change with any
    re-training or re-quantisation, which is what an adapter must not silently be applied across.
    """
    h = hashlib.sha256((folder / "config.json").read_bytes())
    for w in weights:
        size = w.stat().st_size
        h.update(f"{w.name}:{size}".encode())
        with open(w, "rb") as fh:
            h.update(fh.read(_FINGERPRINT_EDGE_BYTES))
            if size > 2 * _FINGERPRINT_EDGE_BYTES:
                fh.seek(size - _FINGERPRINT_EDGE_BYTES)
                h.update(fh.read(_FINGERPRINT_EDGE_BYTES))
    return "sha256:" + h.hexdigest()


@dataclass
class VLM:
    """A loaded base model with its processor."""

    model: Any
    """transformers Llava(Next)ForConditionalGeneration (or a peft wrapper around it after adapters)."""
    processor: Any
    """The model's processor: image processor + tokenizer + chat template."""
    info: BaseInfo
    device: str
    """'cpu' or 'cuda'."""
    dtype: Any
    """torch dtype of the weights (float32 on CPU, bfloat16 on CUDA)."""


def default_device() -> tuple[str, Any]:
    """('cuda', bfloat16) when CUDA is available, else ('cpu', float32)."""
    torch, _ = require_vlm()
    if torch.cuda.is_available():
        return "cuda", torch.bfloat16
    return "cpu", torch.float32


THREADS_ENV = ("OMP_NUM_THREADS", "ADSGEN_THREADS")  # set by the user: torch's thread count is left alone


def free_cores() -> int:
    """Cores not busy with other work: the machine's cores less the 1-minute load average, at least 1
    (on 2 shared cores, 2 threads next to another job ran 2-16x slower than 1, docs/vlm.md)."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        return cores
    return max(1, min(cores, int(cores - load + 0.5)))


def set_threads() -> int:
    """Set torch's CPU threads from the free cores (unless OMP_NUM_THREADS or ADSGEN_THREADS is set; the
    latter is then used); returns the count."""
    torch, _ = require_vlm()
    if os.environ.get("ADSGEN_THREADS"):
        torch.set_num_threads(max(1, int(os.environ["ADSGEN_THREADS"])))
    elif not os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(free_cores())
    return torch.get_num_threads()


def load_base(path: str | Path, *, device: str | None = None) -> VLM:
    """Load a LLaVA model and its processor from a local folder (checked first with :func:`inspect_base`)."""
    info = inspect_base(path)
    torch, transformers = require_vlm("loading a LLaVA model")
    dev, dtype = default_device()
    if device is not None:
        dev = device
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    model_cls = getattr(transformers, LLAVA_FAMILIES[info.model_type][0])
    try:
        processor = transformers.AutoProcessor.from_pretrained(info.path, local_files_only=True)
        model = model_cls.from_pretrained(info.path, local_files_only=True, dtype=dtype)
    except (OSError, ValueError) as exc:
        raise InputError(f"base model {path}: could not be loaded ({exc})") from exc
    if getattr(processor, "chat_template", None) is None:
        raise InputError(f"base model {path}: its processor has no chat template (chat_template.jinja)")
    if dev == "cpu":
        set_threads()
    model.to(dev)
    model.eval()
    return VLM(model=model, processor=processor, info=info, device=dev, dtype=dtype)


def user_message(text: str, n_images: int) -> list[dict[str, Any]]:
    """A one-turn chat with ``n_images`` images (one per camera) followed by ``text``."""
    content: list[dict[str, Any]] = [{"type": "image"} for _ in range(n_images)]
    content.append({"type": "text", "text": text})
    return [{"role": "user", "content": content}]


def prompt_text(processor: Any, text: str, n_images: int) -> str:
    """The chat-templated prompt (ending with the assistant's turn marker) for one question."""
    return processor.apply_chat_template(user_message(text, n_images), add_generation_prompt=True)


def encode_prompts(vlm: VLM, texts: Sequence[str], images: Sequence[Sequence[Any]], *,
                   padding_side: str = "left") -> dict[str, Any]:
    """Tokenise a batch of prompts with their images (PIL) -> tensors on the model's device.

    Each prompt may have its own number of images (the six cameras or a subset); the processor
    expands each ``<image>`` into the model's image tokens. Images are padded to a square first when the
    processor would centre-crop them (adsgen.drivelm.vlm.budget.prepare_images); a prompt longer than the
    model's context is refused (InputError).
    """
    prompts = [prompt_text(vlm.processor, t, len(imgs)) for t, imgs in zip(texts, images, strict=True)]
    flat = prepare_images(vlm.processor, [img for imgs in images for img in imgs])
    tokenizer = vlm.processor.tokenizer
    old_side = tokenizer.padding_side
    tokenizer.padding_side = padding_side
    try:
        enc = vlm.processor(text=prompts, images=flat or None, return_tensors="pt", padding=True)
    finally:
        tokenizer.padding_side = old_side
    longest, context = int(enc["attention_mask"].sum(dim=1).max()), context_length(vlm.model)
    if longest > context:  # never sent: the model would silently attend past its trained positions
        raise InputError(f"a prompt of {longest} tokens exceeds the model's context of {context} tokens "
                         "(lay its images out with adsgen.drivelm.vlm.budget)")
    out = {k: v.to(vlm.device) for k, v in enc.items()}
    if "pixel_values" in out:
        out["pixel_values"] = out["pixel_values"].to(vlm.dtype)
    return out
