"""The prompt budget and the full field of view, on a stand-in with LLaVA-1.5's real shapes (576 tokens per
336 px image, a 4,096-token context, the real CLIP processor with its centre crop) and tiny widths."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from PIL import Image, ImageDraw  # noqa: E402

from adsgen.drivelm.vlm.budget import ANSWER_RESERVE_TOKENS, context_length, prepare_images, prompt_tokens  # noqa: E402
from adsgen.drivelm.vlm.data import read_samples  # noqa: E402
from adsgen.drivelm.vlm.inputs import InputBuilder  # noqa: E402
from adsgen.drivelm.vlm.model import encode_prompts, load_base, prompt_text  # noqa: E402
from adsgen.drivelm.vlm.tiny import LLAVA15_LAYOUT, build_tiny  # noqa: E402
from adsgen.drivelm.vlm.zoom import parse_zoom, serve  # noqa: E402
from adsgen.errors import InputError  # noqa: E402

_spec = importlib.util.spec_from_file_location("vlm_synthetic", Path(__file__).parent / "fixtures/vlm/synthetic.py")
synthetic = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(synthetic)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return synthetic.make(tmp_path_factory.mktemp("six"), scenes=1, frames=2, six_cameras=True)


@pytest.fixture(scope="module")
def llava15(tmp_path_factory, data):
    corpus = [InputBuilder(depth="sim").text(s) for s in read_samples(data)] + ["A", "Yes.", "No."]
    return load_base(build_tiny(tmp_path_factory.mktemp("llava15") / "base", corpus, LLAVA15_LAYOUT))


def test_six_cameras_and_crops_never_exceed_the_context(llava15, data):
    assert context_length(llava15.model) == 4096
    builder = InputBuilder(depth="sim", object_crops=True)
    builder.bind(llava15)
    unfitted = InputBuilder(depth="sim", object_crops=True)
    samples = read_samples(data)
    tagged = [s for s in samples if "<c1," in s.question]
    assert len(samples[0].cameras) == 6 and tagged
    for s in samples:
        images = builder.load_images(s)
        enc = encode_prompts(llava15, [builder.text(s)], [images])
        n = enc["input_ids"].shape[1]
        assert n <= 4096 - ANSWER_RESERVE_TOKENS
        assert n == prompt_tokens(llava15.processor, prompt_text(llava15.processor, builder.text(s), len(images)),
                                  prepare_images(llava15.processor, images))  # the budget counts exactly
    # six cameras and one crop are 7 x 576 image tokens: over the limit, so the tagged questions get the mosaic
    # (and keep their crop); untagged ones fit with six separate cameras
    assert builder.layouts == {"6 cameras in one mosaic": len(tagged)}
    assert len(builder.load_images(tagged[0])) == 2 and len(builder.load_images(samples[1])) == 6
    with pytest.raises(InputError, match="exceeds the model's context of 4096"):  # never sent over-long
        encode_prompts(llava15, [unfitted.text(tagged[0])], [unfitted.load_images(tagged[0])])
    out = llava15.model.generate(**encode_prompts(llava15, [builder.text(tagged[0])], [builder.load_images(tagged[0])]),
                                 max_new_tokens=2, do_sample=False)
    assert out.shape[1] <= 4096


def test_nothing_fits_is_exit_2_naming_the_question(cli, llava15, data, tmp_path):
    image = json.loads(data.read_text())["scene0"]["key_frames"]["frame0"]["image_paths"]["CAM_FRONT"]
    rows = [{"id": "scene0_frame0_0", "image": [str(data.parent / image)],
             "conversations": [{"from": "human", "value": "<image>\n" + "Is it far? " * 1400}]}]
    questions = tmp_path / "q.json"
    questions.write_text(json.dumps(rows))
    code, _, err = cli(["drivelm", "predict", questions, "--base", llava15.info.path, "--out", tmp_path / "p.json"])
    assert code == 2
    assert "question scene0_frame0_0: no image layout fits the model's context of 4096 tokens" in err
    assert not (tmp_path / "p.json").exists()


def _edge_object() -> Image.Image:
    img = Image.new("RGB", (1600, 900), (0, 0, 0))
    ImageDraw.Draw(img).rectangle((0, 400, 90, 500), fill=(255, 255, 255))  # at the left edge
    return img


def test_the_real_clip_processor_crops_the_sides_and_padding_keeps_them():
    transformers = pytest.importorskip("transformers")
    # llava-hf/llava-1.5-7b-hf's preprocessor_config.json (built locally, nothing downloaded)
    proc = transformers.CLIPImageProcessor(
        do_resize=True, size={"shortest_edge": 336}, do_center_crop=True, crop_size={"height": 336, "width": 336},
        do_normalize=True, image_mean=[0.48145466, 0.4578275, 0.40821073],
        image_std=[0.26862954, 0.26130258, 0.27577711])
    white = (1.0 - 0.48145466) / 0.26862954  # channel 0 of a white pixel after normalisation
    cropped = proc(_edge_object(), return_tensors="np")["pixel_values"][0]  # (3, 336, 336)
    assert cropped[0].max() < 0.5 * white  # the control: centre-cropped, the object is gone
    padded = proc(prepare_images(proc, [_edge_object()]), return_tensors="np")["pixel_values"][0]
    assert (np.abs(padded[0] - white) < 0.05).sum() > 50  # padded to a square first, the object is there


def test_an_image_edge_object_reaches_the_model(llava15):
    enc = encode_prompts(llava15, ["What is at the left edge?"], [[_edge_object()]])
    pixels = enc["pixel_values"].float().numpy()[0]  # (3, 336, 336) what the vision tower gets
    white = (1.0 - 0.48145466) / 0.26862954
    assert (np.abs(pixels[0] - white) < 0.05).sum() > 50


def _llava_next_processor():
    """LLaVA-NeXT's processor layout (anyres tiles of 336 px, llava-v1.6's grid pinpoints), tiny tokenizer."""
    transformers = pytest.importorskip("transformers")
    from adsgen.drivelm.vlm.tiny import CHAT_TEMPLATE, _train_tokenizer

    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=_train_tokenizer(["What is at the left edge? Yes. No.", "USER ASSISTANT"], 300),
        bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>",
        extra_special_tokens={"image_token": "<image>"})
    image_processor = transformers.LlavaNextImageProcessorPil(
        size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336},
        image_grid_pinpoints=[[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]])
    return transformers.LlavaNextProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=14,
                                           vision_feature_select_strategy="default", num_additional_image_tokens=1,
                                           chat_template=CHAT_TEMPLATE)


def test_llava_next_six_cameras_are_fitted_and_keep_the_whole_view():
    from adsgen.drivelm.vlm.budget import PromptBudget

    proc = _llava_next_processor()
    cams = [_edge_object()] + [Image.new("RGB", (1600, 900), (90, 90, 90)) for _ in range(5)]
    names = ["CAM_FRONT", "CAM_FRONT_LEFT", "CAM_FRONT_RIGHT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_BACK_RIGHT"]
    text = "What is at the left edge?"
    six = prompt_tokens(proc, prompt_text(proc, text, 6), prepare_images(proc, cams))
    assert six == proc(text=[prompt_text(proc, text, 6)], images=cams, return_tensors="pt")["input_ids"].shape[1]
    assert six > 4096  # anyres tiles: far over LLaVA's context
    layout, images = PromptBudget(proc, 4096).fit("q", lambda n: prompt_text(proc, text, n), names, cams, [], [])
    assert layout.mosaic and prompt_tokens(proc, prompt_text(proc, text, 1), images) <= 4096 - ANSWER_RESERVE_TOKENS
    assert prepare_images(proc, cams)[0] is cams[0]  # anyres keeps the whole image: no padding
    base = proc.image_processor(cams[0], return_tensors="np")["pixel_values"][0][0]  # (3, 336, 336) whole image
    white = (1.0 - 0.48145466) / 0.26862954
    assert (np.abs(base[0] - white) < 0.05).sum() > 50


def test_the_second_turn_with_the_crop_stays_in_the_budget(llava15, data):
    builder = InputBuilder(depth="sim", object_crops=True, zoom=True)
    builder.bind(llava15)
    s = next(s for s in read_samples(data) if "<c1," in s.question)
    call = parse_zoom("<zoom c1>", s)
    text, images = builder.second_turn(s, call)
    assert "You asked <zoom c1>" in text
    # six cameras + object crop + zoom crop would be 8 x 576 tokens: the mosaic, the object crop, the zoom last
    assert len(images) == 3 and images[-1].size == serve(call, builder.camera_images(s)[0]).size
    n = prompt_tokens(llava15.processor, prompt_text(llava15.processor, text, len(images)),
                      prepare_images(llava15.processor, images))
    assert n <= 4096 - ANSWER_RESERVE_TOKENS
    assert encode_prompts(llava15, [text], [images])["input_ids"].shape[1] == n
    # a second turn that cannot fit is refused, never sent
    s.question += " Is it far?" * 1300
    with pytest.raises(InputError, match="no image layout with the zoomed crop fits"):
        builder.second_turn(s, call)
