"""Thinking with images: the zoom call, the crop that serves it, the far-object targets, a zoom-trained adapter
answering far-object questions in two turns, and comparing two runs (the second turn's budget: test_vlm_budget.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("torch")

from PIL import Image  # noqa: E402

from adsgen.drivelm.vlm.data import Sample, read_samples  # noqa: E402
from adsgen.drivelm.vlm.zoom import FAR_FROM_M, ZOOM_SIDE_PX, far_tag, parse_zoom, serve, zoom_target  # noqa: E402

_spec = importlib.util.spec_from_file_location("vlm_synthetic", Path(__file__).parent / "fixtures/vlm/synthetic.py")
synthetic = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(synthetic)

TAG = "<c1,CAM_FRONT,1018.0,502.0>"


def _sample(question: str = f"Is {TAG} moving?", cameras: tuple[str, ...] = ("CAM_FRONT", "CAM_BACK")) -> Sample:
    return Sample(id="s_f_0", question=question, answer="Yes.", images=[Path("x.png")] * len(cameras),
                  cameras=list(cameras), scene="s", frame="f")


def test_the_zoom_call_parses_in_both_forms_and_nothing_else_does():
    s = _sample()
    call = parse_zoom(" <zoom c1> ", s)
    assert call is not None and call.text == "<zoom c1>" and call.camera == "CAM_FRONT"
    x0, y0, x1, y1 = call.box
    assert (x1 - x0, y1 - y0) == (ZOOM_SIDE_PX, ZOOM_SIDE_PX) and (x0 + x1) / 2 == 1018.0 and (y0 + y1) / 2 == 502.0
    box = parse_zoom("<zoom CAM_BACK,100,50.5,300,200>", s)
    assert box is not None and box.camera == "CAM_BACK" and box.box == (100.0, 50.5, 300.0, 200.0)
    assert box.text == "<zoom CAM_BACK,100,50.5,300,200>"
    for text in ("The car is moving.", "<zoom c2>", "<zoom c1> Yes.", "<zoom CAM_FRONT_LEFT,0,0,10,10>",
                 "<zoom CAM_FRONT,300,0,100,10>", "<zoom CAM_FRONT,0,0,1700,10>", "<zoom>", ""):
        assert parse_zoom(text, s) is None, text
    # near the image's edge the square is shifted inside the frame, keeping its size
    edge = parse_zoom("<zoom c1>", _sample("Is <c1,CAM_FRONT,5.0,895.0> moving?"))
    assert edge.box == (0.0, 900.0 - ZOOM_SIDE_PX, ZOOM_SIDE_PX, 900.0)


def test_the_served_crop_covers_the_requested_region():
    # every pixel holds its own coordinates: the crop's corners say which region of the image it is
    w, h = 400, 225  # a camera stored at 0.25 scale; the call's box is in the 1600x900 tag frame
    img = Image.new("RGB", (w, h))
    img.putdata([(x % 256, y % 256, x // 256) for y in range(h) for x in range(w)])
    call = parse_zoom("<zoom CAM_FRONT,400,200,1200,600>", _sample())
    crop = serve(call, img)
    assert crop.size == (200, 100)  # (1200 - 400) / 4 x (600 - 200) / 4
    assert crop.getpixel((0, 0)) == (100, 50, 0) and crop.getpixel((199, 99)) == (299 % 256, 149, 1)
    # a box that does not fall on whole pixels is rounded outwards: the crop covers all of it, one pixel more
    obj = serve(parse_zoom("<zoom c1>", _sample()), img)  # x 938-1098, y 422-582 -> 234.5-274.5, 105.5-145.5 px
    assert obj.size == (41, 41) and obj.getpixel((0, 0))[:2] == (234, 105)
    assert obj.getpixel((40, 40))[:2] == (274 % 256, 145)


def test_far_questions_are_trained_to_zoom_and_near_ones_to_answer(tmp_path):
    samples = read_samples(synthetic.make(tmp_path, scenes=3, frames=2))
    tagged = [s for s in samples if "<c1," in s.question]
    def first(s):  # (tag, key object) of the frame's first key object
        return next(iter(s.objects.items()))

    far = [s for s in tagged if first(s)[1].depth_m >= FAR_FROM_M]
    near = [s for s in tagged if first(s)[1].depth_m < FAR_FROM_M]
    assert far and near
    assert all(zoom_target(s) == "<zoom c1>" and far_tag(s) == first(s)[0] for s in far)
    assert all(zoom_target(s) is None for s in near + [s for s in samples if s not in tagged])


@pytest.mark.slow
def test_predict_with_a_zoom_trained_adapter_answers_far_questions_in_two_turns(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("ADSGEN_CACHE", str(tmp_path / "cache"))
    data = synthetic.make(tmp_path / "data", scenes=3, frames=2)
    out = tmp_path / "adapter"
    code, stdout, err = cli(["drivelm", "train", data, "--base", "tiny", "--adapter", "lora", "--epochs", "40",
                             "--lr", "3e-3", "--kinds", "multiple_choice,yes_no", "--depth", "sim", "--zoom",
                             "--eval", data, "--out", out])
    assert code == 0, err
    assert json.loads((out / "adapter_card.json").read_text())["training"]["zoom"] is True
    far = {s.id for s in read_samples(data) if far_tag(s) is not None}
    evaluation = json.loads((out / "eval.json").read_text())["model"]
    assert set(evaluation["far_objects"]["ids"]) == far and evaluation["far_objects"]["count"] == len(far)
    pred = tmp_path / "pred.json"
    code, stdout, err = cli(["drivelm", "predict", data, "--adapter", out, "--out", pred])
    assert code == 0, err
    # the adapter learned (on these very questions) to ask for the zoom on far objects only, and answered after it
    assert f"{len(far)} question(s) answered in two turns after a zoom call" in stdout
    rows = json.loads(pred.read_text())
    assert len(rows) == len(read_samples(data))
    assert all(r["answer"] in ("A", "B", "C", "D") for r in rows if "options:" in r["question"])
    assert all("<zoom" not in r["answer"] for r in rows)


def test_compare_two_runs_on_far_object_questions(cli, tmp_path):
    data = synthetic.make(tmp_path / "data", scenes=3, frames=2)
    samples = [s for s in read_samples(data) if "options:" in s.question or s.question.startswith("Is there")]
    far = [s for s in samples if far_tag(s) is not None]
    assert far
    right = [{"id": s.id, "answer": s.answer} for s in samples]
    wrong_far = [{"id": s.id, "answer": "wrong" if s in far else s.answer} for s in samples]
    (tmp_path / "a.json").write_text(json.dumps({"predictions": right}))
    (tmp_path / "b.json").write_text(json.dumps({"predictions": wrong_far}))
    code, stdout, err = cli(["drivelm", "compare", tmp_path / "a.json", tmp_path / "b.json", "--gt", data,
                             "--json", tmp_path / "c.json"])
    assert code == 0, err
    result = json.loads((tmp_path / "c.json").read_text())
    assert result["far_objects"] == {"count": len(far), "first": 1.0, "second": 0.0,
                                     "first_only_right": len(far), "second_only_right": 0,
                                     "p_value": pytest.approx(2 * 0.5 ** len(far))}
    assert result["all"]["count"] == len(samples) and result["all"]["first_only_right"] == len(far)
    (tmp_path / "b.json").write_text(json.dumps({"predictions": [{"id": 1}]}))
    code, _, err = cli(["drivelm", "compare", tmp_path / "a.json", tmp_path / "b.json", "--gt", data])
    assert code == 2 and "b.json: not an eval.json of adsgen drivelm train nor predictions" in err
    (tmp_path / "b.json").write_text(json.dumps(wrong_far))  # predict's output: a list
    code, stdout, err = cli(["drivelm", "compare", tmp_path / "a.json", tmp_path / "b.json", "--gt", data])
    assert code == 0 and f"right only by the first {len(far)}, only by the second 0" in stdout
