"""Depth words, question kinds, answer reduction and the image-blind baseline key (no torch needed)."""

from __future__ import annotations

import numpy as np
import pytest

from adsgen.drivelm.depth import ObjectDepth, box_percentile, depth_sentence, tags_in
from adsgen.drivelm.prompts import (
    MC,
    OPEN,
    YES_NO,
    options_of,
    question_kind,
    reduce_answer,
    template_of,
    user_text,
)

MCQ = ("What is the moving status of object <c1,CAM_BACK,1088.3,497.5>? Please select the correct answer from "
       "the following options: A. Going ahead. B. Stopped. C. Back up. D. Turn left.")
YNQ = "Would <c1,CAM_BACK,1088.3,497.5> be in the moving direction of the ego vehicle?"


def test_box_percentile_is_the_75th_inside_the_box():
    depth = np.full((90, 160), 50.0)  # (H, W) background 50 m
    depth[40:60, 20:40] = np.linspace(4.0, 12.0, 20)[:, None]  # the object: 4..12 m top to bottom
    value = box_percentile(depth, (20, 40, 40, 60))
    assert value == pytest.approx(np.percentile(np.linspace(4.0, 12.0, 20), 75))
    assert box_percentile(depth, (0, 0, 5, 5)) == 50.0


def test_box_percentile_ignores_non_finite_and_clips_to_the_image():
    depth = np.full((10, 10), np.inf)
    depth[8:, 8:] = 3.0
    assert box_percentile(depth, (7, 7, 30, 30)) == 3.0
    assert np.isnan(box_percentile(np.full((10, 10), np.inf), (0, 0, 4, 4)))


@pytest.mark.parametrize(("metres", "word"), [(3.0, "very close"), (8.0, "close"), (22.0, "medium distance"),
                                              (45.0, "far"), (90.0, "very far")])
def test_metric_depth_words(metres, word):
    text = ObjectDepth("<c1,CAM_FRONT,10.0,20.0>", "car", metres, metric=True).words()
    assert word in text and f"about {metres:.0f} m away" in text and "<c1,CAM_FRONT,10.0,20.0>" in text


def test_relative_depth_says_so_and_gives_no_metres():
    text = ObjectDepth("<c2,CAM_BACK,1.0,2.0>", "truck", 0.9, metric=False).words()
    assert "relative inverse depth 0.90" in text and " m away" not in text and "near" in text
    assert depth_sentence([]) == ""
    assert depth_sentence([ObjectDepth("<c1,CAM_FRONT,1.0,2.0>", "car", 8.0, True)]).startswith("Depth: the car")


def test_question_kinds_and_options():
    assert question_kind(MCQ) == MC and question_kind("<image>\n" + YNQ) == YES_NO
    assert question_kind("What are the important objects in the current scene?") == OPEN
    assert question_kind("Is it safe? What should the ego vehicle do?") == OPEN
    assert options_of(MCQ) == {"A": "Going ahead.", "B": "Stopped.", "C": "Back up.", "D": "Turn left."}
    assert tags_in(MCQ + " " + MCQ) == ["<c1,CAM_BACK,1088.3,497.5>"]


@pytest.mark.parametrize(("text", "question", "expected"), [
    ("D", MCQ, "D"),
    ("D.", MCQ, "D"),
    ("(B) Stopped.", MCQ, "B"),
    ("The object is reversing, so it backs up. Answer: C", MCQ, "C"),
    ("The car ahead will turn left.", MCQ, "D"),
    ("Yes.", YNQ, "Yes."),
    ("no", YNQ, "No."),
    ("It is behind us and moving away, yes it was near before. Answer: No.", YNQ, "No."),
    ("Thinking... it is ahead. Answer: yes", YNQ, "Yes."),
    ("There is a car. Answer: a car", "What is ahead?", "a car"),
])
def test_answer_reduction_gives_the_exact_form(text, question, expected):
    assert reduce_answer(text, question) == expected


def test_unreducible_answers_are_left_as_they_are():
    assert reduce_answer("I cannot tell", YNQ) == "I cannot tell"


def test_user_text_and_template():
    text = user_text("<image>\n" + YNQ, "Depth: the car <c1,CAM_BACK,1088.3,497.5> is close, about 8 m away.",
                     cot=True)
    assert text.startswith("Depth: the car") and "Answer: " in text and "<image>" not in text
    assert "Answer: " not in user_text("What is ahead?", cot=True)
    assert template_of(YNQ) == template_of(YNQ.replace("1088.3", "20.5").replace("c1", "c7"))


def test_image_blind_baseline_follows_option_text_not_letters():
    from adsgen.drivelm.train import accuracy, majority_baseline
    from adsgen.drivelm.vlm_data import Sample

    def q(i, order, answer_text, yes_no=None):
        if yes_no is not None:
            return Sample(f"s_f_{i}", YNQ.replace("1088.3", str(i)), yes_no, [], [], "s", "f")
        opts = " ".join(f"{letter}. {t}" for letter, t in zip("ABCD", order, strict=True))
        question = f"What is the moving status of object <c1,CAM_BACK,{i}.0,2.0>? Please select the correct answer from the following options: {opts}"
        return Sample(f"s_f_{i}", question, "ABCD"[order.index(answer_text)], [], [], "s", "f")

    statuses = ["Going ahead.", "Stopped.", "Back up.", "Turn left."]
    train = [q(i, statuses[i % 4:] + statuses[:i % 4], "Going ahead.") for i in range(8)]
    train += [q(100 + i, [], "", "No." if i < 3 else "Yes.") for i in range(4)]
    held = [q(50, ["Stopped.", "Back up.", "Going ahead.", "Turn left."], "Going ahead."), q(60, [], "", "No.")]
    rows = majority_baseline(train, held)["predictions"]
    assert [r["answer"] for r in rows] == ["C", "No."]
    assert accuracy(held, rows)["accuracy"] == 1.0


def test_templates_filter_and_per_template_accuracy():
    from adsgen.drivelm.train import _select_templates, accuracy
    from adsgen.drivelm.vlm_data import Sample

    night = "Is it night in the current scene?"
    samples = [Sample(f"s_f_{i}", night, "Yes." if i % 2 else "No.", [], [], "s", "f", template="night")
               for i in range(4)] + [Sample("s_f_9", YNQ, "No.", [], [], "s", "f", template="moving_direction")]
    assert [s.id for s in _select_templates(samples, ("night",))] == ["s_f_0", "s_f_1", "s_f_2", "s_f_3"]
    assert _select_templates(samples, None) == samples
    rows = [{"id": s.id, "answer": "Yes."} for s in samples]
    acc = accuracy(samples, rows)
    assert acc["by_template"] == {"moving_direction": {"accuracy": 0.0, "count": 1},
                                  "night": {"accuracy": 0.5, "count": 4}}
    assert acc["accuracy"] == 2 / 5


def test_unknown_template_is_a_clear_error(cli, tmp_path):
    code, _, err = cli(["drivelm", "train", tmp_path / "x.json", "--base", "tiny", "--templates", "nightt",
                        "--out", tmp_path / "o"])
    assert code == 2 and "--templates 'nightt'" in err
