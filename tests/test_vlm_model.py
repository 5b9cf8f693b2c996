"""The tiny LLaVA, base-model checks, and LoRA/DoRA adapters (wrapping, counting, saving, reloading)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")

import torch  # noqa: E402
from PIL import Image  # noqa: E402

from adsgen.drivelm.vlm.adapters import (  # noqa: E402
    AdapterOptions,
    load_adapter,
    make_card,
    read_card,
    save_adapter,
    wrap,
)
from adsgen.drivelm.vlm.model import encode_prompts, inspect_base, load_base  # noqa: E402
from adsgen.drivelm.vlm.tiny import TinyConfig, build_tiny, ensure_tiny  # noqa: E402
from adsgen.errors import ConfigError, InputError  # noqa: E402

CORPUS = ["Is there a red car to the front left of the ego car?", "Yes.", "No.",
          "What is the colour of the object <c1,CAM_FRONT,40.0,50.0>? A. Red. B. Green.", "A", "B"]
SMALL = TinyConfig(image_size_px=32, patch_size_px=8, vocab_size=400)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("tiny") / "base", CORPUS, SMALL, seed=0)


def _images(n):
    return [Image.new("RGB", (80, 45), (200, 30 * i, 10)) for i in range(n)]


def _batch(vlm):
    return encode_prompts(vlm, ["Is there a red car to the front left of the ego car?", "A or B?"],
                          [_images(2), _images(1)])


def test_tiny_builds_and_answers_a_multi_image_prompt(tiny_dir):
    info = inspect_base(tiny_dir)
    assert info.tiny and info.model_type == "llava" and info.fingerprint.startswith("sha256:")
    vlm = load_base(tiny_dir)
    enc = _batch(vlm)
    per_image = (32 // 8) ** 2  # image tokens per camera
    n_image_tokens = (enc["input_ids"] == vlm.model.config.image_token_id).sum(dim=1)
    assert n_image_tokens.tolist() == [2 * per_image, per_image]
    assert enc["pixel_values"].shape == (3, 3, 32, 32)
    out = vlm.model.generate(**enc, max_new_tokens=4, do_sample=False)
    assert out.shape[1] > enc["input_ids"].shape[1]


def test_ensure_tiny_caches_by_corpus(tmp_path):
    a = ensure_tiny(CORPUS, SMALL, root=tmp_path)
    assert ensure_tiny(CORPUS, SMALL, root=tmp_path) == a
    assert ensure_tiny([*CORPUS, "Another question?"], SMALL, root=tmp_path) != a


@pytest.mark.parametrize(("config", "expected"), [
    ({"model_type": "bert", "architectures": ["BertModel"]}, "model_type is 'bert'"),
    ({"model_type": "llava", "architectures": ["LlamaForCausalLM"]}, "do not include LlavaForConditionalGeneration"),
])
def test_a_base_that_is_not_llava_is_refused_before_loading(tmp_path, config, expected):
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "model.safetensors").write_bytes(b"not read")
    with pytest.raises(InputError, match=expected):
        inspect_base(tmp_path)


def test_missing_base_folder_and_config(tmp_path):
    with pytest.raises(InputError, match="not a folder"):
        inspect_base(tmp_path / "nope")
    with pytest.raises(InputError, match="no config.json"):
        inspect_base(tmp_path)


def _expected_trainable(model, options):
    total = 0
    for name, module in model.named_modules():
        if ".language_model." in name and name.rsplit(".", 1)[-1] in options.target_modules:
            total += options.rank * (module.in_features + module.out_features)
            if options.method == "dora":
                total += module.out_features  # the magnitude vector
    for name in options.full_modules:
        total += sum(p.numel() for p in model.get_submodule(f"model.{name}").parameters())
    return total


@pytest.mark.parametrize("method", ["lora", "dora"])
def test_adapters_touch_only_the_language_model_and_count_right(tiny_dir, method):
    vlm = load_base(tiny_dir)
    options = AdapterOptions(method=method, rank=4, alpha=8)
    expected = _expected_trainable(vlm.model, options)
    wrapped, report = wrap(vlm.model, options)
    assert report.adapted and all(".language_model." in n for n in report.adapted)
    assert len(report.adapted) == 7 * 2  # 7 linear kinds x 2 layers; the vision tower's q/k/v are left alone
    assert report.trainable_params == expected
    assert f"{expected:,}" in "\n".join(report.lines())
    dora = [n for n, _ in wrapped.named_parameters() if "lora_magnitude_vector" in n]
    assert bool(dora) == (method == "dora")


def test_adapter_options_are_validated():
    with pytest.raises(ConfigError, match="method"):
        AdapterOptions(method="ia3")
    with pytest.raises(ConfigError, match="target module"):
        AdapterOptions(target_modules=("q_proj|.*",))


def _trained(tiny_dir, method="dora"):
    vlm = load_base(tiny_dir)
    wrapped, _ = wrap(vlm.model, AdapterOptions(method=method, rank=4, alpha=8))
    torch.manual_seed(1)
    with torch.no_grad():  # stand-in for training: make the adapter and projector non-trivial
        for p in wrapped.parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn_like(p))
    vlm.model = wrapped
    return vlm


def test_saved_adapter_reloads_to_the_same_logits(tiny_dir, tmp_path):
    vlm = _trained(tiny_dir)
    batch = _batch(vlm)
    wrapped = vlm.model
    wrapped.eval()
    with torch.no_grad():
        trained = wrapped(**batch).logits
    trainable_before = {n for n, p in wrapped.named_parameters() if p.requires_grad}
    save_adapter(wrapped, tmp_path / "ad", make_card(vlm.info, AdapterOptions(method="dora", rank=4, alpha=8),
                                                      "sha256:data"), batch)
    assert {n for n, p in wrapped.named_parameters() if p.requires_grad} == trainable_before  # training can go on
    card = read_card(tmp_path / "ad")
    assert card.base_fingerprint == vlm.info.fingerprint and card.versions["peft"]
    assert (tmp_path / "ad" / "adapter_model.safetensors").is_file()
    fresh = load_base(tiny_dir)
    with torch.no_grad():
        plain = fresh.model(**batch).logits
        reloaded = load_adapter(fresh.model, tmp_path / "ad", fresh.info)(**batch).logits
    assert not torch.allclose(plain, trained, atol=1e-3)
    assert torch.allclose(reloaded, trained, atol=1e-5)


def test_a_lost_fine_tune_fails_loudly(tiny_dir, tmp_path, monkeypatch):
    from safetensors.torch import load_file, save_file

    vlm = _trained(tiny_dir, "lora")
    wrapped = vlm.model
    original = wrapped.save_pretrained

    def lossy_save(folder, **kwargs):  # a save that loses the LoRA updates (B matrices written as zeros)
        original(folder, **kwargs)
        path = f"{folder}/adapter_model.safetensors"
        save_file({k: (v * 0 if "lora_B" in k else v) for k, v in load_file(path).items()}, path)

    monkeypatch.setattr(wrapped, "save_pretrained", lossy_save)
    with pytest.raises(RuntimeError, match="does not reproduce the trained model"):
        save_adapter(wrapped, tmp_path / "ad", make_card(vlm.info, AdapterOptions()), _batch(vlm))


def test_an_adapter_from_another_base_is_refused(tiny_dir, tmp_path):
    vlm = _trained(tiny_dir, "lora")
    save_adapter(vlm.model, tmp_path / "ad", make_card(vlm.info, AdapterOptions(rank=4, alpha=8)), _batch(vlm))
    other = load_base(build_tiny(tmp_path / "other", CORPUS, SMALL, seed=1))
    with pytest.raises(InputError, match="was trained on base"):
        load_adapter(other.model, tmp_path / "ad", other.info)


def test_option_scoring_in_one_batch_matches_scoring_each_alone(tiny_dir):
    from adsgen.drivelm.vlm.predict import candidate_scores, most_likely

    vlm = _trained(tiny_dir, "lora")
    vlm.model.eval()  # as predict and the evaluation run it (no adapter dropout)
    text, images = "What is the colour of the object <c1,CAM_FRONT,40.0,50.0>? A. Red. B. Green.", _images(1)
    candidates = ["Red.", "Green.", "Is there a red car to the front left of the ego car?", "B"]
    tok = vlm.processor.tokenizer
    enc = encode_prompts(vlm, [text], [images])
    alone = []
    for cand in candidates:  # the probability of saying exactly the candidate, one unpadded pass each
        tail = tok(" " + cand, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        ids = torch.cat([enc["input_ids"][0], torch.tensor(tail)])[None]
        with torch.no_grad():
            logits = vlm.model(**dict(enc, input_ids=ids, attention_mask=torch.ones_like(ids))).logits[0]
        logp = torch.log_softmax(logits, -1)[-len(tail) - 1:-1]
        alone.append(float(logp[torch.arange(len(tail)), torch.tensor(tail)].sum()))
    assert candidate_scores(vlm, text, images, "", candidates) == pytest.approx(alone, abs=1e-4)
    assert most_likely(vlm, text, images, "", candidates) == candidates[max(range(4), key=alone.__getitem__)]


@pytest.mark.slow
def test_bench_vlm_measures_each_run_against_its_baseline_in_the_same_run(tmp_path):
    import io

    from rich.console import Console

    from adsgen.drivelm.vlm.bench import run_bench

    out = io.StringIO()
    doc = run_bench(tmp_path / "b.json", steps=1, batch_size=1, gpu_config=False, console=Console(file=out, width=200))
    results, baselines = doc["results"], doc["baselines"]
    assert baselines["tiny_cpu_lora"] == "tiny_cpu_no_adapter" and baselines["tiny_cpu_lora_1_thread"] == "tiny_cpu_lora"
    assert results["tiny_cpu_lora_1_thread"]["threads"] == 1
    assert results["tiny_cpu_no_adapter"]["trainable_parameters"] == results["tiny_cpu_no_adapter"]["parameters"]
    assert results["tiny_cpu_lora"]["trainable_parameters"] < results["tiny_cpu_lora"]["parameters"]
    assert all(r["train_tokens_per_s"] > 0 for r in results.values())
    assert "tiny_cpu_no_adapter" in out.getvalue() and json.loads((tmp_path / "b.json").read_text())["baselines"]
