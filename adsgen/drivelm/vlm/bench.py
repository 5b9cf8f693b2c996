"""``adsgen bench vlm``: training and inference throughput and peak memory of the VLM.

CPU: the tiny LLaVA (six 64 px cameras, the default tiny config) with a LoRA adapter, measured against its
baselines in the same run: the same step with no adapter (every weight trained), DoRA against LoRA, and one
thread against all cores.
CUDA (when present): also a LLaVA-1.5-7B-sized configuration (CLIP ViT-L/14 at 336 px + a 7B Llama) with
random bf16 weights, LoRA on the language model, gradient checkpointing, one camera.

Tokens counted are every position of the sequence (image tokens included) for training, and generated
tokens for inference. Peak memory: torch's CUDA allocator peak on GPU; the process's peak RSS on CPU
(which includes Python and libraries, so it is an upper bound).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image
from rich.table import Table

from adsgen.drivelm.vlm.adapters import AdapterMethod, AdapterOptions, wrap
from adsgen.drivelm.vlm.model import encode_prompts, load_base, require_vlm
from adsgen.drivelm.vlm.tiny import ensure_tiny
from adsgen.provenance import utc_now, versions

LLAVA_7B_VISION = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                       image_size=336, patch_size=14, projection_dim=768)
LLAVA_7B_TEXT = dict(vocab_size=32064, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                     num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096)
_BENCH_CORPUS = [f"Is there a {c} car to the {s} of the ego car? Yes. No. Answer: A. B. C. D."
                 for c in ("red", "blue", "white", "black") for s in ("front", "back", "front left", "back right")]


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _time_training(torch: Any, model: Any, batch: dict[str, Any], steps: int, cuda: bool) -> dict[str, float]:
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=1e-4)
    model.train()
    tokens = batch["input_ids"].numel()
    loss = model(**batch).loss  # warm-up step (allocations, kernels)
    loss.backward()
    optim.step()
    optim.zero_grad(set_to_none=True)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(steps):
        loss = model(**batch).loss
        loss.backward()
        optim.step()
        optim.zero_grad(set_to_none=True)
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    out = {"train_tokens_per_s": steps * tokens / seconds, "train_step_s": seconds / steps,
           "train_tokens_per_step": tokens}
    out["train_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20 if cuda else _peak_rss_mib()
    return out


def _time_inference(torch: Any, model: Any, batch: dict[str, Any], new_tokens: int, pad_id: int,
                    cuda: bool) -> dict[str, float]:
    model.eval()
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                             pad_token_id=pad_id)
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    generated = (out.shape[1] - inputs["input_ids"].shape[1]) * out.shape[0]
    res = {"infer_tokens_per_s": generated / seconds, "infer_s": seconds, "infer_generated_tokens": generated}
    res["infer_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20 if cuda else _peak_rss_mib()
    return res


def bench_tiny(steps: int, batch_size: int, device: str = "cpu", *, adapter: AdapterMethod | None = "lora",
               threads: int | None = None) -> dict[str, Any]:
    """Train/infer figures of the tiny LLaVA with six cameras and a LoRA (or DoRA) adapter, or with no
    adapter (``adapter=None``: every weight trained, the baseline of the adapter's cost); ``threads`` sets
    torch's CPU threads for this run (None: as loading chose, from the free cores)."""
    torch, _ = require_vlm("bench vlm")
    with tempfile.TemporaryDirectory() as tmp:
        path = ensure_tiny(_BENCH_CORPUS, root=Path(tmp))
        vlm = load_base(path, device=device)
    if threads is not None:
        torch.set_num_threads(threads)
    if adapter is None:
        model = vlm.model
        for param in model.parameters():
            param.requires_grad_(True)
        total = sum(param.numel() for param in model.parameters())
        trainable = total
    else:
        model, report = wrap(vlm.model, AdapterOptions(method=adapter))
        total, trainable = report.total_params, report.trainable_params
    vlm.model = model
    gen = torch.Generator().manual_seed(0)
    images = [[Image.fromarray(torch.randint(0, 255, (90, 160, 3), generator=gen, dtype=torch.uint8).numpy())
               for _ in range(6)] for _ in range(batch_size)]
    enc = encode_prompts(vlm, [_BENCH_CORPUS[i % len(_BENCH_CORPUS)] for i in range(batch_size)], images,
                         padding_side="left")
    batch = dict(enc, labels=enc["input_ids"].clone())
    pad_id = vlm.processor.tokenizer.pad_token_id
    out = {"model": "tiny LLaVA", "device": device, "dtype": str(vlm.dtype), "cameras": 6, "batch_size": batch_size,
           "adapter": adapter or "none (full fine-tune)", "threads": torch.get_num_threads(),
           "parameters": total, "trainable_parameters": trainable}
    out.update(_time_training(torch, model, batch, steps, device == "cuda"))
    out.update(_time_inference(torch, model, batch, 16, pad_id, device == "cuda"))
    return out


def bench_llava_sized(steps: int, batch_size: int = 1) -> dict[str, Any]:
    """Train/infer figures of a LLaVA-1.5-7B-sized model with random bf16 weights on CUDA."""
    torch, transformers = require_vlm("bench vlm")
    vision = transformers.CLIPVisionConfig(**LLAVA_7B_VISION)
    text = transformers.LlamaConfig(**LLAVA_7B_TEXT, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    image_token = 32000
    config = transformers.LlavaConfig(vision_config=vision, text_config=text, image_token_id=image_token,
                                      vision_feature_layer=-2, vision_feature_select_strategy="default")
    torch.manual_seed(0)
    with torch.device("cuda"):
        previous = torch.get_default_dtype()
        torch.set_default_dtype(torch.bfloat16)
        try:
            model = transformers.LlavaForConditionalGeneration(config)
        finally:
            torch.set_default_dtype(previous)
    model.gradient_checkpointing_enable()
    wrapped, report = wrap(model, AdapterOptions())
    wrapped.enable_input_require_grads()
    image_tokens = (336 // 14) ** 2  # 576 per image ('default' strategy drops CLS)
    text_len = 128
    ids = torch.randint(3, 32000, (batch_size, image_tokens + text_len), device="cuda")  # (B, L)
    ids[:, 1:1 + image_tokens] = image_token
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids),
             "pixel_values": torch.randn(batch_size, 3, 336, 336, device="cuda", dtype=torch.bfloat16),
             "labels": ids.clone()}
    out = {"model": "LLaVA-1.5-7B-sized (random weights)", "device": "cuda", "dtype": "torch.bfloat16",
           "cameras": 1, "batch_size": batch_size, "parameters": report.total_params,
           "trainable_parameters": report.trainable_params, "gpu": torch.cuda.get_device_name(0)}
    out.update(_time_training(torch, wrapped, batch, steps, True))
    out.update(_time_inference(torch, wrapped, batch, 32, 0, True))
    return out


def run_bench(json_out: Path | None, *, steps: int, batch_size: int, gpu_config: bool, console: Any) -> dict:
    torch, _ = require_vlm("bench vlm")
    cores = os.cpu_count() or 1
    # each run with the run it is measured against, in the same process and minute
    results = {"tiny_cpu_no_adapter": bench_tiny(steps, batch_size, "cpu", adapter=None, threads=cores),
               "tiny_cpu_lora": bench_tiny(steps, batch_size, "cpu", threads=cores),
               "tiny_cpu_dora": bench_tiny(steps, batch_size, "cpu", adapter="dora", threads=cores),
               "tiny_cpu_lora_1_thread": bench_tiny(steps, batch_size, "cpu", threads=1)}
    baselines = {"tiny_cpu_lora": "tiny_cpu_no_adapter", "tiny_cpu_dora": "tiny_cpu_lora",
                 "tiny_cpu_lora_1_thread": "tiny_cpu_lora"}
    if torch.cuda.is_available():
        results["tiny_cuda"] = bench_tiny(steps, batch_size, "cuda")
        baselines["tiny_cuda"] = "tiny_cpu_lora"
        if gpu_config:
            results["llava7b_cuda"] = bench_llava_sized(max(2, steps // 2))
    table = Table(title=f"bench vlm ({cores} cores; each ratio against the baseline named beside it, same run)")
    table.add_column("run")
    for col in ("threads", "train tok/s", "train peak MiB", "infer tok/s", "infer peak MiB", "baseline",
                "train tok/s ratio", "infer tok/s ratio"):
        table.add_column(col, justify="right")
    for name, r in results.items():
        base = results.get(baselines.get(name, ""))
        table.add_row(name, str(r.get("threads", "-")), f"{r['train_tokens_per_s']:.0f}", f"{r['train_peak_mib']:.0f}",
                      f"{r['infer_tokens_per_s']:.1f}", f"{r['infer_peak_mib']:.0f}", baselines.get(name, "-"),
                      f"{r['train_tokens_per_s'] / base['train_tokens_per_s']:.2f}x" if base else "-",
                      f"{r['infer_tokens_per_s'] / base['infer_tokens_per_s']:.2f}x" if base else "-")
    console.print(table)
    console.print("CPU peak memory is the process's peak RSS (an upper bound); CUDA peak is torch's allocator peak.")
    doc = {"bench": "vlm", "created": utc_now(), "machine": platform.machine(), "cores": cores,
           "load_average_1min": os.getloadavg()[0], "versions": versions(), "results": results,
           "baselines": baselines}
    if json_out is not None:
        Path(json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(json_out).write_text(json.dumps(doc, indent=2))
        console.print(f"wrote {json_out}")
    return doc
