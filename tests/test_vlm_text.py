"""Depth words, question kinds, answer reduction and the image-blind baseline key (no torch needed)."""

from __future__ import annotations

import numpy as np
import pytest

from adsgen.drivelm.vlm.depth import ObjectDepth, box_percentile, depth_sentence, tags_in
from adsgen.drivelm.vlm.prompts import (
    MC,
    OPEN,
    YES_NO,
    exact_answer,
    options_of,
    question_kind,
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


def test_motion_words_say_braking_closing_speed_and_time_to_contact():
    tag = "<c1,CAM_FRONT,10.0,20.0>"
    closing = ObjectDepth(tag, "sedan", 24.0, True, closing_mps=8.0, braking=True).words()
    assert closing.endswith("about 24 m away, braking, closing in at about 8 m/s, about 3 s to contact")
    assert ObjectDepth(tag, "sedan", 24.0, True, closing_mps=-1.0).words().endswith("m away, not closing in")
    assert ObjectDepth(tag, "sedan", 24.0, True, closing_mps=0.3).words().endswith("not closing in")
    assert ObjectDepth(tag, "sedan", 24.0, True).words().endswith("about 24 m away")  # closing speed unknown
    assert "closing" not in ObjectDepth(tag, "car", 0.9, False, closing_mps=8.0).words()  # relative: no metres


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
    assert exact_answer(text, question) == expected


def test_unreducible_answers_are_left_as_they_are():
    assert exact_answer("I cannot tell", YNQ) == "I cannot tell"


def test_user_text_and_template():
    text = user_text("<image>\n" + YNQ, "Depth: the car <c1,CAM_BACK,1088.3,497.5> is close, about 8 m away.",
                     cot=True)
    assert text.startswith("Depth: the car") and "Answer: " in text and "<image>" not in text
    assert "Answer: " not in user_text("What is ahead?", cot=True)
    assert template_of(YNQ) == template_of(YNQ.replace("1088.3", "20.5").replace("c1", "c7"))


def test_image_blind_baseline_follows_option_text_not_letters():
    from adsgen.drivelm.vlm.data import Sample
    from adsgen.drivelm.vlm.train import accuracy, majority_baseline

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
    from adsgen.drivelm.vlm.data import Sample
    from adsgen.drivelm.vlm.train import _select_templates, accuracy

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


EGO_Q = ("Predict the behavior of the ego vehicle. Please select the correct answer from the following options: "
         "A. The ego vehicle is going straight. The ego vehicle is driving very fast. "
         "B. The ego vehicle is going straight. The ego vehicle is driving fast. "
         "C. The ego vehicle is slightly steering to the left. The ego vehicle is driving fast. "
         "D. The ego vehicle is going straight. The ego vehicle is not moving.")


@pytest.mark.parametrize(("text", "expected"), [
    ("The ego vehicle is going straight. The ego vehicle is driving fast.", "B"),
    ("The ego vehicle is going straight. The ego vehicle is driving very fast.", "A"),
    ("It sees a clear road. Answer: The ego vehicle is slightly steering to the left. The ego vehicle is "
     "driving fast.", "C"),
])
def test_an_option_text_answer_names_its_own_option_not_a_shorter_one(text, expected):
    assert exact_answer(text, EGO_Q) == expected


def test_text_targets_teach_the_option_text_and_are_checked():
    from adsgen.drivelm.vlm.data import Sample
    from adsgen.drivelm.vlm.train import TrainOptions, target_text
    from adsgen.errors import ConfigError

    mc = Sample("s_f_0", MCQ, "C", [], [], "s", "f")
    yes_no = Sample("s_f_1", YNQ, "Yes.", [], [], "s", "f")
    assert target_text(mc) == "C" and target_text(mc, "text") == "Back up."
    assert target_text(yes_no, "text") == "Yes."
    with pytest.raises(ConfigError, match="mc_answers='words'"):
        TrainOptions(mc_answers="words")


def test_paired_comparison_counts_who_alone_was_right_and_how_likely_by_chance():
    from adsgen.drivelm.vlm.data import Sample
    from adsgen.drivelm.vlm.train import paired_comparison

    samples = [Sample(f"s_f_{i}", YNQ, "Yes.", [], [], "s", "f") for i in range(20)]
    model = [{"id": s.id, "answer": "Yes."} for s in samples]
    baseline = [{"id": s.id, "answer": "Yes." if i < 8 else "No."} for i, s in enumerate(samples)]
    paired = paired_comparison(samples, model, baseline)
    assert paired["model_only_right"] == 12 and paired["baseline_only_right"] == 0
    assert paired["p_value"] == pytest.approx(2 * 0.5 ** 12)  # exact two-sided binomial
    assert paired_comparison(samples, model, model) == {"model_only_right": 0, "baseline_only_right": 0,
                                                        "p_value": 1.0}


def test_cosine_schedule_warms_up_then_decays_to_zero_by_steps_or_time():
    from adsgen.drivelm.vlm.train import TrainOptions, _lr_at, _progress

    cosine = TrainOptions(lr=1e-3, warmup_steps=10, lr_schedule="cosine", max_minutes=5)
    assert _lr_at(0, cosine, 0.0) == pytest.approx(1e-4)  # warm-up
    assert _lr_at(50, cosine, 0.5) == pytest.approx(0.5e-3)
    assert _lr_at(99, cosine, 1.0) == pytest.approx(0.0, abs=1e-12)
    assert _lr_at(50, TrainOptions(lr=1e-3, lr_schedule="constant"), 0.9) == 1e-3  # constant ignores progress
    assert _progress(10, 100, cosine, wall_s=150.0, cpu_s=0.0) == 0.5  # the time budget is further along
    assert _progress(90, 100, cosine, wall_s=30.0, cpu_s=0.0) == 0.9
    assert _progress(10, 100, TrainOptions(), wall_s=1e6, cpu_s=1e6) == 0.1  # no budget: steps alone


def test_position_aware_baseline_reads_where_the_tag_is():
    from adsgen.drivelm.vlm.data import Sample
    from adsgen.drivelm.vlm.train import accuracy, majority_baseline, tag_cells

    def q(i, x, answer):  # objects straight ahead (x near the centre) are in the ego's path
        return Sample(f"s_f_{i}", YNQ.replace("1088.3", f"{x:.1f}").replace("CAM_BACK", "CAM_FRONT"), answer,
                      [], [], "s", "f")

    train = [q(i, 800 + i, "Yes.") for i in range(4)] + [q(10 + i, 100 + i, "No.") for i in range(6)]
    held = [q(50, 810, "Yes."), q(51, 120, "No."), q(52, 1500, "No.")]  # x=1500: a cell not seen in training
    assert tag_cells(held[0].question) == "CAM_FRONT:2:1" and tag_cells("Is it night?") == ""
    template = majority_baseline(train, held)["predictions"]
    position = majority_baseline(train, held, by_position=True)["predictions"]
    assert [r["answer"] for r in template] == ["No.", "No.", "No."]
    assert [r["answer"] for r in position] == ["Yes.", "No.", "No."]  # the unseen cell falls back to the template
    assert accuracy(held, position)["accuracy"] == 1.0


def test_a_model_below_the_baseline_gets_a_hint_naming_what_was_not_used():
    from adsgen.drivelm.vlm.train import TrainOptions, below_baseline_hints

    losing = {"model": {"accuracy": 0.573}, "baseline": {"accuracy": 0.757}}
    (hint,) = below_baseline_hints(losing, TrainOptions(mc_answers="letter", lr_schedule="constant",
                                                        object_crops=False, max_minutes=1))
    assert "57.3%" in hint and "75.7%" in hint
    assert "--mc-answers text" in hint and "--lr-schedule cosine" in hint and "--object-crops" in hint
    assert "above 1)" in hint
    (recipe_hint,) = below_baseline_hints(losing, TrainOptions())  # the defaults are the recipe: only "longer"
    assert "--mc-answers" not in recipe_hint and "longer run" in recipe_hint
    assert below_baseline_hints({"model": {"accuracy": 0.8}, "baseline": {"accuracy": 0.7}}, TrainOptions()) == []


def test_threads_follow_the_free_cores(monkeypatch):
    import os

    from adsgen.drivelm.vlm import model

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.3, 1.0, 1.0))
    assert model.free_cores() == 1  # another job on one of the two cores
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.1, 0.1))
    assert model.free_cores() == 2
    monkeypatch.setattr(os, "getloadavg", lambda: (7.0, 7.0, 7.0))
    assert model.free_cores() == 1  # never none
