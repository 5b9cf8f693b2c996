"""adsgen drivelm train / predict end to end on the tiny LLaVA, and their input errors."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")

_spec = importlib.util.spec_from_file_location("vlm_synthetic", Path(__file__).parent / "fixtures/vlm/synthetic.py")
synthetic = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(synthetic)


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("ADSGEN_CACHE", str(tmp_path / "cache"))
    return synthetic.make(tmp_path / "data", scenes=3, frames=2)


def _flat_questions(nested: Path, out: Path) -> list[str]:
    """The challenge's flattened question list for the nested file's frames (answers left out)."""
    rows = []
    for scene, sd in json.loads(nested.read_text()).items():
        for frame, fd in sd["key_frames"].items():
            qs = [q for sec in ("perception", "prediction", "planning", "behavior") for q in fd["QA"][sec]]
            for i, q in enumerate(qs):
                rows.append({"id": f"{scene}_{frame}_{i}", "image": [fd["image_paths"]["CAM_FRONT"]],
                             "conversations": [{"from": "human", "value": "<image>\n" + q["Q"]}]})
    out.write_text(json.dumps(rows))
    return [r["id"] for r in rows]


@pytest.mark.slow
def test_train_then_predict_writes_answers_for_every_question(cli, data, tmp_path):
    out = tmp_path / "adapter"
    code, stdout, err = cli(["drivelm", "train", data, "--base", "tiny", "--adapter", "dora", "--epochs", "1",
                             "--rank", "4", "--alpha", "8", "--depth", "sim", "--checkpoint-every", "1",
                             "--out", out])
    assert code == 0, err
    assert "adapted 14 language-model modules" in stdout and "trainable parameters:" in stdout
    assert "reload check passed" in stdout and "image-blind majority-per-template baseline" in stdout
    card = json.loads((out / "adapter_card.json").read_text())
    assert card["options"]["method"] == "dora" and card["data_fingerprint"].startswith("sha256:")
    assert card["training"]["depth"] == "sim" and card["training"]["steps"] >= 1
    evaluation = json.loads((out / "eval.json").read_text())
    assert evaluation["model"]["count"] == evaluation["baseline"]["count"] > 0
    assert (out / "checkpoint" / "trainer_state.pt").is_file() and (out / "base" / "config.json").is_file()

    # resume: a second epoch continues from the checkpoint's step count
    code, stdout, err = cli(["drivelm", "train", data, "--base", "tiny", "--adapter", "dora", "--epochs", "2",
                             "--rank", "4", "--alpha", "8", "--depth", "sim", "--resume", "--out", out])
    assert code == 0, err
    assert f"resumed from {out / 'checkpoint'} at step {card['training']['steps']}" in stdout.replace("\n", "")
    assert json.loads((out / "adapter_card.json").read_text())["training"]["steps"] == 2 * card["training"]["steps"]

    ids = _flat_questions(data, data.parent / "questions.json")
    pred = tmp_path / "pred.json"
    code, stdout, err = cli(["drivelm", "predict", data.parent / "questions.json", "--base", "tiny", "--adapter",
                             out, "--cot", "--cot-new-tokens", "12", "--max-new-tokens", "12", "--out", pred])
    assert code == 0, err
    rows = json.loads(pred.read_text())
    assert [r["id"] for r in rows] == ids
    assert all(set(r) == {"id", "question", "answer"} and isinstance(r["answer"], str) for r in rows)
    for r in rows:  # accuracy questions are answered in the metric's exact form, even by a barely trained model
        if "options:" in r["question"]:
            assert r["answer"] in ("A", "B", "C", "D"), r
        elif r["question"].startswith("<image>\nIs there"):
            assert r["answer"] in ("Yes.", "No."), r


def test_an_adapter_trained_on_option_texts_answers_multiple_choice_by_scoring_them(cli, data, tmp_path):
    out = tmp_path / "adapter"
    code, stdout, err = cli(["drivelm", "train", data, "--base", "tiny", "--adapter", "lora", "--epochs", "1",
                             "--rank", "4", "--alpha", "8", "--kinds", "multiple_choice,yes_no",
                             "--mc-answers", "text", "--out", out])
    assert code == 0, err
    assert json.loads((out / "adapter_card.json").read_text())["training"]["mc_answers"] == "text"
    # each phase over a few seconds on a real model has its bar: loading, encoding, the held-out evaluation
    assert "load model" in stdout and re.search(r"encode training questions\W+\s*8/8", stdout)
    assert "held-out: answer" in stdout and "held-out: score options" in stdout
    evaluation = json.loads((out / "eval.json").read_text())
    assert evaluation["model"]["mc_answers"] == "text" and evaluation["model"]["by_kind"]["multiple_choice"]["count"]
    ids = _flat_questions(data, data.parent / "questions.json")
    pred = tmp_path / "pred.json"
    code, stdout, err = cli(["drivelm", "predict", data.parent / "questions.json", "--base", "tiny", "--adapter",
                             out, "--max-new-tokens", "6", "--out", pred])
    assert code == 0, err
    for phase in ("load model", "answer", "score options"):  # loading, generation, rescoring the options
        assert phase in stdout
    assert "the letter of the listed option whose text the model finds most likely" in stdout.replace("\n", " ")
    rows = json.loads(pred.read_text())
    assert [r["id"] for r in rows] == ids
    mc = [r for r in rows if "options:" in r["question"]]
    assert mc and all(r["answer"] in ("A", "B", "C", "D") for r in mc)
    code, _, err = cli(["drivelm", "train", data, "--base", "tiny", "--mc-answers", "words", "--out", tmp_path / "o"])
    assert code == 2 and "--mc-answers 'words': expected one of letter, text" in err


def test_predict_with_missing_images_fails_before_loading(cli, data, tmp_path):
    _flat_questions(data, data.parent / "questions.json")
    (data.parent / "images" / "s0_f1_CAM_FRONT.png").unlink()
    code, _, err = cli(["drivelm", "predict", data.parent / "questions.json", "--base", tmp_path / "no-model",
                        "--out", tmp_path / "p.json"])
    assert code == 2 and "image file(s) missing" in err and "s0_f1_CAM_FRONT.png" in err


def test_bad_base_and_bad_adapter_are_clear_errors(cli, data, tmp_path):
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (tmp_path / "bert" / "model.safetensors").write_bytes(b"")
    code, _, err = cli(["drivelm", "train", data, "--base", tmp_path / "bert", "--out", tmp_path / "o"])
    assert code == 2 and "expected a LLaVA model" in err
    _flat_questions(data, data.parent / "questions.json")
    code, _, err = cli(["drivelm", "predict", data.parent / "questions.json", "--base", "tiny", "--adapter",
                        tmp_path, "--out", tmp_path / "p.json"])
    assert code == 2 and "adapter_card.json" in err
    code, _, err = cli(["drivelm", "train", data, "--base", "tiny", "--adapter", "ia3", "--out", tmp_path / "o"])
    assert code == 2 and "--adapter 'ia3': expected one of lora, dora" in err
    code, _, err = cli(["drivelm", "train", data, "--base", "tiny", "--cameras", "CAM_SIDE", "--out", tmp_path / "o"])
    assert code == 2 and "--cameras 'CAM_SIDE'" in err


def test_truncated_training_file_is_a_clear_error(cli, tmp_path):
    bad = tmp_path / "train.json"
    bad.write_text('{"scene": {"key_frames": ')
    code, _, err = cli(["drivelm", "train", bad, "--base", "tiny", "--out", tmp_path / "o"])
    assert code == 2 and "not valid JSON" in err
