"""The tiny LLaVA: a random-initialised LLaVA built from config, for tests and CPU experiments.

It is a real ``LlavaForConditionalGeneration`` (a small CLIP vision tower, a two-layer MLP projector and a
small Llama text model), with a byte-level BPE tokenizer trained on the QA text it will see, an image
processor that resizes each camera to a small square (no centre crop, so nothing at the image's sides is
lost) and a LLaVA-1.5 style chat template. Saved as an ordinary model folder, so everything downstream
(adapters, training, prediction) goes through the same code path as a real LLaVA.

``ensure_tiny`` caches built models by a hash of (config, corpus, seed) under ``$ADSGEN_CACHE/vlm`` (default
``~/.cache/adsgen/vlm``): building the same tiny model twice gives the same folder and weights.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from adsgen.drivelm.vlm.model import TINY_MARKER, require_vlm
from adsgen.provenance import text_fingerprint, utc_now, versions

TINY = "tiny"  # what --base, vlm:SPEC and the adapter card say for the tiny LLaVA

SPECIAL_TOKENS = ("<pad>", "<s>", "</s>", "<unk>", "<image>")

# LLaVA-1.5's conversation format ("USER: <image>\n... ASSISTANT: ...</s>"), for list or string content.
CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'user' %}USER: "
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}"
    "{% for c in m['content'] %}{% if c['type'] == 'image' %}<image>{% elif c['type'] == 'text' %}"
    "{{ c['text'] }}{% endif %}{% endfor %}{% endif %} "
    "{% else %}ASSISTANT: "
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}"
    "{% for c in m['content'] %}{% if c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}"
    "{% endif %}</s>"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


@dataclass(frozen=True)
class TinyConfig:
    """Sizes of the tiny LLaVA (chosen so that training on 2 CPU cores takes minutes)."""

    image_size_px: int = 64
    """Each camera image is resized to image_size_px x image_size_px."""
    patch_size_px: int = 8
    """CLIP patch size; (image_size_px / patch_size_px)^2 image tokens per camera."""
    vision_hidden: int = 64
    """Width of the CLIP vision tower."""
    vision_layers: int = 2
    """Transformer layers in the vision tower."""
    text_hidden: int = 128
    """Width of the Llama text model."""
    text_layers: int = 2
    """Transformer layers in the text model."""
    text_heads: int = 4
    """Attention heads in the text model."""
    vocab_size: int = 1024
    """Target BPE vocabulary (the trained tokenizer may end up smaller on a small corpus)."""
    max_positions: int = 1024
    """Longest sequence (image tokens + text) the text model accepts."""
    clip_processor: bool = False
    """Use the real LLaVA-1.5 image processor's configuration (shortest edge to image_size_px, then a
    centre crop of image_size_px x image_size_px) instead of a resize-only square (the real-layout stand-in)."""
    text_init_std: float = 0.1
    """Std of the text model's random weights. Larger than Llama's 0.02: with a frozen random lm_head
    and final norm, 0.02 caps the logits near +-2.6, so no adapter could make an answer confident."""


# A stand-in with LLaVA-1.5's real shapes where they set prompt lengths and what the model sees (CLIP at
# 336 px with 14 px patches: 576 tokens per image; a 4,096-token context; the real CLIP processor with its
# centre crop), and tiny widths and depths so it builds and runs in seconds on a CPU.
LLAVA15_LAYOUT = TinyConfig(image_size_px=336, patch_size_px=14, vision_hidden=32, vision_layers=1,
                            text_hidden=64, text_layers=1, max_positions=4096, clip_processor=True)


def cache_root() -> Path:
    """Where tiny models are cached: $ADSGEN_CACHE/vlm, default ~/.cache/adsgen/vlm."""
    root = os.environ.get("ADSGEN_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "adsgen") / "vlm"


def ensure_tiny(corpus: Iterable[str], config: TinyConfig = TinyConfig(), seed: int = 0,
                root: Path | None = None) -> Path:
    """The folder of the tiny LLaVA for this corpus/config/seed, built on first use."""
    texts = sorted(set(corpus))
    key = text_fingerprint(json.dumps({"config": asdict(config), "corpus": texts, "seed": seed}))
    folder = (root or cache_root()) / f"tiny-{key.split(':')[1][:16]}"
    if (folder / TINY_MARKER).is_file():
        return folder
    build_tiny(folder, texts, config, seed)
    return folder


def _train_tokenizer(texts: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    # the chat template's words are part of every sequence
    tok.train_from_iterator(texts + ["USER: ASSISTANT: Answer:"], trainer)
    return tok


def build_tiny(folder: Path, corpus: list[str], config: TinyConfig = TinyConfig(), seed: int = 0) -> Path:
    """Build the tiny LLaVA (tokenizer trained on ``corpus``, random weights from ``seed``) into ``folder``."""
    torch, transformers = require_vlm("building the tiny LLaVA")
    tok = _train_tokenizer(list(corpus), config.vocab_size)
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>",
        extra_special_tokens={"image_token": "<image>"})
    side = config.image_size_px
    if config.clip_processor:  # llava-hf/llava-1.5-7b-hf's preprocessor_config.json, at this side
        image_processor = transformers.CLIPImageProcessorPil(
            size={"shortest_edge": side}, do_center_crop=True, crop_size={"height": side, "width": side})
    else:  # PIL backend: no torchvision needed
        image_processor = transformers.CLIPImageProcessorPil(
            size={"height": side, "width": side}, do_center_crop=False, crop_size={"height": side, "width": side})
    processor = transformers.LlavaProcessor(
        image_processor=image_processor, tokenizer=tokenizer, patch_size=config.patch_size_px,
        vision_feature_select_strategy="default", num_additional_image_tokens=1, chat_template=CHAT_TEMPLATE)
    vision = transformers.CLIPVisionConfig(
        hidden_size=config.vision_hidden, intermediate_size=2 * config.vision_hidden,
        num_hidden_layers=config.vision_layers, num_attention_heads=2, image_size=side,
        patch_size=config.patch_size_px)
    text = transformers.LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=config.text_hidden, intermediate_size=2 * config.text_hidden,
        num_hidden_layers=config.text_layers, num_attention_heads=config.text_heads,
        num_key_value_heads=config.text_heads, max_position_embeddings=config.max_positions,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, initializer_range=config.text_init_std)
    llava_config = transformers.LlavaConfig(
        vision_config=vision, text_config=text, image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-1, vision_feature_select_strategy="default", projector_hidden_act="gelu")
    torch.manual_seed(seed)
    model = transformers.LlavaForConditionalGeneration(llava_config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    marker = {"kind": "adsgen tiny LLaVA", "config": asdict(config), "seed": seed,
              "corpus_fingerprint": text_fingerprint("\n".join(corpus)), "n_corpus_texts": len(corpus),
              "vocab": len(tokenizer), "parameters": sum(p.numel() for p in model.parameters()),
              "created": utc_now(), "versions": versions()}
    (folder / TINY_MARKER).write_text(json.dumps(marker, indent=2))  # written last: marks a complete build
    return folder
