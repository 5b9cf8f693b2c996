"""DriveLM formats: reading, validation, conversions, submission checks, CLI errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adsgen.drivelm.challenge import formats as F
from adsgen.drivelm.challenge.choices import AnswerForm, answer_form, make_multiple_choice, reduce_answer
from adsgen.drivelm.challenge.formats import SubmissionHeader
from adsgen.drivelm.challenge.submission import build_submission
from adsgen.drivelm.challenge.testset import make_eval_file
from adsgen.errors import InputError

FIX = Path(__file__).parent / "fixtures" / "drivelm"
SCENE = "5ce7e1000000000000000000000000a1"
F1 = "f0000000000000000000000000000001"
F2 = "f0000000000000000000000000000002"


def test_nested_files_round_trip_unchanged():
    for name in ("mini_eval.json", "mini_train.json"):
        raw = json.loads((FIX / name).read_text())
        assert F.load_nested(FIX / name).to_json() == raw


def test_kind_of_nested_files():
    assert F.load_nested(FIX / "mini_train.json").kind() == "train"
    ev = F.load_nested(FIX / "mini_eval.json")
    assert ev.kind() == "eval"
    assert F.to_question_file(ev).kind() == "questions"


def test_question_ids_follow_challenge_order():
    ids = F.load_nested(FIX / "mini_eval.json").question_ids()
    assert ids[:7] == [f"{SCENE}_{F1}_{i}" for i in range(7)]
    assert ids[7:] == [f"{SCENE}_{F2}_{i}" for i in range(4)]


def test_conversations_ids_images_and_turns():
    items = F.to_conversations(F.load_nested(FIX / "mini_eval.json"))
    assert len(items) == 11
    first = items[0].to_json()
    assert first["id"] == f"{SCENE}_{F1}_0"
    assert first["image"] == ["data/sim/samples/CAM_FRONT/run1_0001.png",
                              "data/sim/samples/CAM_FRONT_RIGHT/run1_0001.png"]
    assert first["conversations"][0] == {"from": "human", "value": "<image>\nWhat are the important objects in "
                                         "the current scene? Those objects will be considered for the future "
                                         "reasoning and driving decision."}
    assert first["conversations"][1]["from"] == "gpt"
    # the 7th question of frame 1 is its behaviour question (perception 2 + prediction 2 + planning 2)
    assert items[6].question.startswith("Predict the behavior") and items[6].answer == "C"
    back = F.parse_conversations([it.to_json() for it in items])
    assert [b.id for b in back] == [it.id for it in items] and back[6].question == items[6].question


def test_question_file_blanks_answers_and_drops_objects(tmp_path):
    q = F.to_question_file(F.load_nested(FIX / "mini_train.json"))
    assert all(r.qa.answer == "" for r in q.iter_questions())
    assert all(f.key_object_infos is None for s in q.scenes.values() for f in s.key_frames.values())
    F.write_nested(q, tmp_path / "q.json")
    assert F.load_nested(tmp_path / "q.json").to_json() == q.to_json()


def test_object_tags_parse_and_format():
    tag = F.parse_object_tag("<c2,CAM_FRONT_LEFT,402.0,512.9>")
    assert (tag.index, tag.camera, tag.x_px, tag.y_px) == (2, "CAM_FRONT_LEFT", 402.0, 512.9)
    assert str(tag) == "<c2,CAM_FRONT_LEFT,402.0,512.9>"
    assert F.format_object_tag(1, "CAM_BACK", 12, 7.25) == "<c1,CAM_BACK,12.0,7.2>"
    assert [t.index for t in F.find_object_tags("a <c1,CAM_BACK,1.0,2.0> b <c3,CAM_FRONT,3.5,4.5>")] == [1, 3]
    with pytest.raises(ValueError):
        F.parse_object_tag("<c1,FRONT,1,2>")


def test_validation_error_names_scene_frame_and_question():
    raw = json.loads((FIX / "mini_eval.json").read_text())
    raw[SCENE]["key_frames"][F1]["QA"]["prediction"][1]["A"] = 5
    with pytest.raises(InputError) as exc:
        F.parse_nested(raw, "bad.json")
    msg = str(exc.value)
    assert f"scene {SCENE}" in msg and f"frame {F1}" in msg and "prediction[1] (question 3)" in msg
    assert "'A' must be a string" in msg


def test_bad_tag_and_bad_bbox_rejected():
    raw = json.loads((FIX / "mini_eval.json").read_text())
    raw[SCENE]["key_frames"][F2]["QA"]["behavior"][0]["tag"] = [7]
    with pytest.raises(InputError, match="behavior\\[0\\] \\(question 3\\).*'tag'"):
        F.parse_nested(raw, "bad.json")
    raw = json.loads((FIX / "mini_train.json").read_text())
    frame = next(iter(next(iter(raw.values()))["key_frames"].values()))
    frame["key_object_infos"]["<c1,CAM_FRONT,812.4,470.2>"]["2d_bbox"] = [1, 2, 3]
    with pytest.raises(InputError, match="object <c1,CAM_FRONT,812.4,470.2>.*2d_bbox"):
        F.parse_nested(raw, "bad.json")


def test_predictions_duplicates_rejected():
    with pytest.raises(InputError, match="1 duplicated prediction ids: x_y_0 \\(entries 0 and 2\\)"):
        F.parse_predictions([{"id": "x_y_0", "answer": "A"}, {"id": "x_y_1", "answer": "B"},
                             {"id": "x_y_0", "answer": "C"}], "p.json")


def test_detect_format():
    assert F.detect_format(json.loads((FIX / "mini_eval.json").read_text())) == "nested"
    assert F.detect_format([{"id": "a", "answer": "b"}]) == "predictions"
    assert F.detect_format([{"id": "a", "image": [], "conversations": []}]) == "conversations"
    assert F.detect_format({"team": "t", "results": []}) == "submission"


# --- multiple choice and the test-set selection


def test_multiple_choice_is_seeded_and_holds_the_answer():
    import random

    pool = ("Going ahead.", "Turn right.", "Turn left.", "Stopped.", "Back up.")
    q1, a1 = make_multiple_choice("Q?", "Stopped.", pool, random.Random(3))
    q2, a2 = make_multiple_choice("Q?", "Stopped.", pool, random.Random(3))
    assert (q1, a1) == (q2, a2)
    form = answer_form(q1, [0])
    assert form.kind == "multiple_choice" and form.letters == ("A", "B", "C", "D")
    assert form.options[form.letters.index(a1)] == "Stopped."


@pytest.mark.parametrize("answer,expected", [
    ("B", "B"), ("B.", "B"), ("(C)", "C"), ("D. Back up.", "D"), ("The answer is A.", "A"),
    ("stopped", "B"), ("Going ahead", "A"), ("I am not sure", None), ("E", None),
])
def test_reduce_choice_answers(answer, expected):
    form = AnswerForm("multiple_choice", ("A", "B", "C", "D"), ("Going ahead.", "Stopped.", "Turn left.", "Back up."))
    assert reduce_answer(answer, form) == expected


@pytest.mark.parametrize("answer,expected", [("Yes.", "Yes."), ("yes", "Yes."), ("No, it is not.", "No."),
                                             ("Maybe", None)])
def test_reduce_yes_no_answers(answer, expected):
    assert reduce_answer(answer, AnswerForm("yes_no")) == expected


def test_make_eval_file_selects_and_tags_as_the_challenge():
    ev = make_eval_file(F.load_nested(FIX / "mini_train.json"), seed=0)
    refs = list(ev.iter_questions())
    got = [(r.category, r.qa.tags, r.qa.question.split(" Please select")[0][:40]) for r in refs]
    assert got == [
        ("perception", [2], "What are the important objects in the cu"),
        ("perception", [0], "What is the moving status of object <c1,"),
        ("prediction", [3], "What object should the ego vehicle notic"),
        ("prediction", [0], "Would <c1,CAM_FRONT,812.4,470.2> be in t"),
        ("planning", [1], "In this scenario, what are safe actions "),
        ("planning", [1], "What actions could the ego vehicle take "),
        ("planning", [1], "What actions taken by the ego vehicle ca"),
        ("behavior", [0], "Predict the behavior of the ego vehicle."),
    ]
    status = refs[1]
    form = answer_form(status.qa.question, status.qa.tags)
    assert form.options[form.letters.index(status.qa.answer)] == "Going ahead."
    behaviour = refs[7]
    form = answer_form(behaviour.qa.question, behaviour.qa.tags)
    assert form.options[form.letters.index(behaviour.qa.answer)] == (
        "The ego vehicle is going straight. The ego vehicle is driving slowly.")
    assert ev.kind() == "eval"


# --- submission


def _oracle(data: F.NestedDataset) -> list[F.Prediction]:
    return [F.Prediction(id=r.id, answer=r.qa.answer, question=F.IMAGE_TOKEN + r.qa.question)
            for r in data.iter_questions()]


def test_submission_of_exact_answers():
    ev = F.load_nested(FIX / "mini_eval.json")
    q = F.to_question_file(ev)
    sub, report = build_submission(_oracle(ev), q, SubmissionHeader("m", "t", ("A. B.",)))
    out = sub.to_json()
    assert list(out) == ["method", "team", "authors", "email", "institution", "country", "results"]
    assert [r["id"] for r in out["results"]] == ev.question_ids()
    assert report.by_form == {"multiple_choice": 4, "yes_no": 2, "open": 5}


def test_submission_rejects_and_normalises_loose_forms():
    ev = F.load_nested(FIX / "mini_eval.json")
    preds = _oracle(ev)
    preds[1].answer = "B. Stopped."
    preds[3].answer = "no"
    with pytest.raises(InputError, match="2 answers are not in the form.*expected one of"):
        build_submission(preds, ev, SubmissionHeader("m", "t"))
    sub, report = build_submission(preds, ev, SubmissionHeader("m", "t"), normalise=True)
    assert sub.results[1].answer == "B" and sub.results[3].answer == "No."
    assert len(report.normalised) == 2


def test_submission_rejects_missing_unknown_and_other_version():
    ev = F.load_nested(FIX / "mini_eval.json")
    preds = _oracle(ev)
    with pytest.raises(InputError, match=f"1 of 11 questions .* not answered: {SCENE}_{F2}_3"):
        build_submission(preds[:-1], ev, SubmissionHeader("m", "t"))
    extra = preds + [F.Prediction(id="zz_yy_0", answer="A")]
    with pytest.raises(InputError, match="answer no question.*zz_yy_0"):
        build_submission(extra, ev, SubmissionHeader("m", "t"))
    preds[2].question = "<image>\nWhat object should the ego vehicle notice first?"
    with pytest.raises(InputError, match="question differs.*another version"):
        build_submission(preds, ev, SubmissionHeader("m", "t"))


# --- CLI


def test_cli_convert_chain(cli, tmp_path):
    code, out, _ = cli(["drivelm", "convert", "nested-to-eval", FIX / "mini_train.json", "--out",
                        tmp_path / "eval.json", "--seed", "1"])
    assert code == 0 and "8 tagged questions" in out
    code, _, _ = cli(["drivelm", "convert", "nested-to-questions", tmp_path / "eval.json", "--out",
                      tmp_path / "q.json"])
    assert code == 0
    code, _, _ = cli(["drivelm", "convert", "nested-to-conversations", tmp_path / "eval.json", "--out",
                      tmp_path / "conv.json"])
    assert code == 0
    conv = json.loads((tmp_path / "conv.json").read_text())
    assert [c["id"][-2:] for c in conv] == [f"_{i}" for i in range(8)]
    code, _, _ = cli(["drivelm", "convert", "conversations-to-predictions", tmp_path / "conv.json", "--out",
                      tmp_path / "pred.json"])
    assert code == 0
    code, out, err = cli(["drivelm", "submit", tmp_path / "pred.json", "--questions", tmp_path / "q.json",
                          "--team", "adsgen", "--method", "oracle", "--author", "X", "--out", tmp_path / "sub.json"])
    assert code == 0, err
    sub = json.loads((tmp_path / "sub.json").read_text())
    assert sub["team"] == "adsgen" and sub["authors"] == ["X"] and len(sub["results"]) == 8
    code, _, _ = cli(["drivelm", "convert", "submission-to-predictions", tmp_path / "sub.json", "--out",
                      tmp_path / "back.json"])
    assert code == 0
    assert [p["answer"] for p in json.loads((tmp_path / "back.json").read_text())] == \
        [c["conversations"][1]["value"] for c in conv]
    code, out, _ = cli(["drivelm", "validate", tmp_path / "eval.json", tmp_path / "sub.json", tmp_path / "conv.json"])
    assert code == 0 and "nested (eval)" in out and "submission of team 'adsgen'" in out


def test_cli_bad_inputs_exit_2_with_clear_lines(cli, tmp_path):
    preds = json.loads((FIX / "mini_pred_partial.json").read_text())
    (tmp_path / "missing.json").write_text(json.dumps(preds[:-2]))
    code, _, err = cli(["drivelm", "evaluate", tmp_path / "missing.json", "--gt", FIX / "mini_eval.json"])
    assert code == 2 and "lack 2 question ids" in err and f"{SCENE}_{F2}_2" in err and "Traceback" not in err

    (tmp_path / "dup.json").write_text(json.dumps(preds + [preds[3]]))
    code, _, err = cli(["drivelm", "evaluate", tmp_path / "dup.json", "--gt", FIX / "mini_eval.json"])
    assert code == 2 and "duplicated prediction ids" in err and f"{SCENE}_{F1}_3" in err

    text = (FIX / "mini_pred_partial.json").read_text()
    (tmp_path / "trunc.json").write_text(text[: len(text) // 2])
    code, _, err = cli(["drivelm", "evaluate", tmp_path / "trunc.json", "--gt", FIX / "mini_eval.json"])
    assert code == 2 and "not valid JSON" in err and "truncated" in err

    # a training-format file (no tags: DriveLM v1.0 / training) given as the question file
    code, _, err = cli(["drivelm", "submit", FIX / "mini_pred_partial.json", "--questions", FIX / "mini_train.json",
                        "--team", "t", "--method", "m", "--out", tmp_path / "s.json"])
    assert code == 2 and "not a DriveLM v1.1 question file" in err and "question 0" in err

    # a question file whose ids do not match the predictions (another version of the questions)
    code, _, err = cli(["drivelm", "convert", "nested-to-eval", FIX / "mini_train.json", "--out", tmp_path / "e.json"])
    code, _, err = cli(["drivelm", "submit", FIX / "mini_pred_partial.json", "--questions", tmp_path / "e.json",
                        "--team", "t", "--method", "m", "--out", tmp_path / "s.json"])
    assert code == 2 and "not answered" in err

    code, _, err = cli(["drivelm", "evaluate", FIX / "mini_pred_partial.json", "--gt", tmp_path / "nope.json"])
    assert code == 2 and "not found" in err


def test_shipped_sim_example_is_valid(cli):
    from adsgen.paths import DRIVELM_DIR

    ex = DRIVELM_DIR / "sim_example"
    code, out, err = cli(["drivelm", "validate", ex / "train.json", ex / "test.json", ex / "test_questions.json",
                          ex / "example_predictions.json", ex / "example_submission.json"])
    assert code == 0, err
    code, out, err = cli(["drivelm", "evaluate", ex / "example_predictions.json", "--gt", ex / "test.json"])
    assert code == 0 and "accuracy  0.7500" in out
    data = F.load_nested(ex / "train.json")
    for ref in data.iter_questions():
        assert all((ex / p).is_file() for p in ref.frame.image_paths.values())
