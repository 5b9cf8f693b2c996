"""QA generated from simulated scenes: files in DriveLM format, tags on the objects' pixels, scoring."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from adsgen.drivelm.challenge import formats as F
from adsgen.drivelm.challenge.choices import answer_form
from adsgen.drivelm.challenge.formats import SubmissionHeader
from adsgen.drivelm.challenge.scoring import evaluate
from adsgen.drivelm.challenge.submission import build_submission
from adsgen.drivelm.qa.dataset import generate_dataset
from adsgen.drivelm.qa.generation import TEMPLATES, QAConfig, cameras_option, split_scenes
from adsgen.errors import ConfigError
from adsgen.paths import SEEDS_DIR
from adsgen.render import paint_of


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    out = tmp_path_factory.mktemp("qa_front")
    return generate_dataset([SEEDS_DIR], out, QAConfig(frames=2, scale=0.25), test_share=0.4, split_seed=1)


@pytest.fixture(scope="module")
def all_cams(tmp_path_factory):
    out = tmp_path_factory.mktemp("qa_all")
    return generate_dataset([SEEDS_DIR], out, QAConfig(cameras=cameras_option("all"), frames=2, scale=0.2),
                            test_share=0.4, split_seed=3)


def _check_tags_on_pixels(result) -> int:
    """Every tag of every question and key object names a rendered camera, lies inside its 1600x900 image
    and on a pixel of the object it names. Returns how many tags were checked."""
    checked = 0
    for sid, frames in result.frames.items():
        data = result.train if result.train and sid in result.train.scenes else result.test
        for ft in frames:
            kf = data.scenes[sid].key_frames[ft.token]
            by_tag = {o.tag: o for o in ft.objects}
            assert set(kf.key_object_infos) == set(by_tag)
            texts = [q.question + " " + q.answer for q in kf.questions()]
            tags = {str(t) for text in texts for t in F.find_object_tags(text)} | set(kf.key_object_infos)
            for tag_text in tags:
                tag = F.parse_object_tag(tag_text)
                assert tag.camera in kf.image_paths, tag_text
                assert 0 <= tag.x_px < 1600 and 0 <= tag.y_px < 900, tag_text
                frame = ft.frames[tag.camera]
                col, row = math.floor(tag.x_px * frame.scale), math.floor(tag.y_px * frame.scale)
                obj = by_tag[tag_text]
                assert frame.mask_of(obj.object_id)[row, col], f"{tag_text} is not on {obj.object_id}'s pixels"
                info = kf.key_object_infos[tag_text]
                x1, y1, x2, y2 = info.bbox_2d
                assert x1 <= tag.x_px <= x2 and y1 <= tag.y_px <= y2
                assert 0 < info.extra["depth_m"] < 500
                checked += 1
    return checked


def test_front_dataset_files_read_back_and_score(front):
    out = front.out_dir
    train = F.load_nested(out / "train.json")
    test = F.load_nested(out / "test.json")
    F.check_eval_file(test, "test.json")
    questions = F.load_nested(out / "test_questions.json")
    F.check_question_file(questions, "test_questions.json")
    assert questions.kind() == "questions"
    assert set(train.scenes).isdisjoint(test.scenes)
    assert len(train.scenes) + len(test.scenes) == 5 and len(test.scenes) == 2
    conv = F.load_conversations(out / "test_conversations.json")
    assert [c.id for c in conv] == test.question_ids()
    # an oracle scores full marks with the challenge's rules; the submission checks pass
    oracle = [F.Prediction(id=r.id, answer=r.qa.answer, question=F.IMAGE_TOKEN + r.qa.question)
              for r in test.iter_questions()]
    res = evaluate(oracle, test)
    assert res["accuracy"] == 1.0 and res["skipped"] == 0
    assert res["match_f1"] == pytest.approx(100.0, abs=1e-5)
    assert res["language"]["ROUGE_L"] == 1.0
    build_submission(oracle, questions, SubmissionHeader("oracle", "t"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["frames"] == 2 and len(manifest["inputs"]) == 5


def test_front_tags_on_object_pixels_and_images_written(front):
    assert _check_tags_on_pixels(front) >= 8
    for data in (front.train, front.test):
        for ref in data.iter_questions():
            path = front.out_dir / ref.frame.image_paths["CAM_FRONT"]
            assert path.is_file()
        img = Image.open(path)
        assert img.size == (400, 225)


def test_templates_are_few_fixed_and_answers_closed_form(front):
    templates = Counter()
    for data in (front.train, front.test):
        for ref in data.iter_questions():
            name = ref.qa.extra["template"]
            templates[name] += 1
            cat, text, tag = TEMPLATES[name]
            assert ref.category == cat and ref.qa.tags == [tag]
            if "{tag}" not in text and "Please select" not in ref.qa.question:
                assert ref.qa.question == text
            form = answer_form(ref.qa.question, ref.qa.tags)
            if tag == 0:
                assert form.kind in ("multiple_choice", "yes_no")
                assert ref.qa.answer in (form.letters if form.kind == "multiple_choice" else ("Yes.", "No."))
    assert set(templates) <= set(TEMPLATES) and len(templates) >= 7
    # the first question of every frame is the important-objects question (the scorer's gate needs it)
    for data in (front.train, front.test):
        for sid, scene in data.scenes.items():
            for fid in scene.key_frames:
                assert next(data.iter_questions_of(sid, fid)).qa.extra["template"] == "important_objects"


def test_answers_follow_the_engine(front):
    """Ground truth comes from the simulated states: the lead car that braked to a stop in the ego lane is
    'Stopped.' and in the ego's moving direction; statuses agree with speeds; signals are traffic signs."""
    seen_sign = seen_lead = False
    for data in (front.train, front.test):
        for sid, scene in data.scenes.items():
            frames = front.frames[sid]
            for ft in frames:
                for o in ft.objects:
                    if o.is_traffic_element:
                        seen_sign = True
                        assert o.status is None and o.signal_state in ("red", "yellow", "green")
                    elif o.status == "Stopped.":
                        assert o.speed_mps < 0.5
                    elif o.speed_mps > 1.0:
                        assert o.status != "Stopped."
            if scene.extra["adsgen"]["scenario"] == "lead_vehicle_braking_nominal":
                last = frames[-1]
                lead = last.objects[0]
                assert lead.object_id == "lead" and lead.status == "Stopped." and lead.in_path
                qa = data.scenes[sid].key_frames[last.token].qa
                direction = [q for q in qa["prediction"] if q.extra["template"] == "moving_direction"]
                assert direction[0].answer == "Yes."
                seen_lead = True
    assert seen_sign and seen_lead


def test_visual_descriptions_name_the_rendered_paint(front):
    """Every road user's description names the colour the renderer painted it in (adsgen.render.paint_of)."""
    described = 0
    for data in (front.train, front.test):
        for sid in data.scenes:
            for ft in front.frames[sid]:
                infos = data.scenes[sid].key_frames[ft.token].key_object_infos
                for o in ft.objects:
                    if o.is_traffic_element:
                        continue
                    words = infos[o.tag].visual_description.lower()
                    assert paint_of(o.object_id, o.kind).name in words.split(), (o.object_id, words)
                    assert ("shirt" in words) == (o.kind == "pedestrian")
                    described += 1
    assert described >= 5


def test_all_cameras_tags_valid_and_files_score(all_cams):
    assert _check_tags_on_pixels(all_cams) >= 10
    cams = Counter(F.parse_object_tag(t).camera for data in (all_cams.train, all_cams.test)
                   for s in data.scenes.values() for f in s.key_frames.values() for t in f.key_object_infos)
    assert set(cams) <= set(F.CAMERAS) and len(cams) >= 2   # objects beside or behind the ego too
    frame = next(iter(next(iter(all_cams.train.scenes.values())).key_frames.values()))
    assert list(frame.image_paths) == list(F.CAMERAS)
    test = F.load_nested(all_cams.out_dir / "test.json")
    res = evaluate({r.id: r.qa.answer for r in test.iter_questions()}, test)
    assert res["accuracy"] == 1.0 and res["skipped"] == 0


def test_split_is_by_scene_seeded_and_bounded():
    ids = [f"s{i}" for i in range(10)]
    a = split_scenes(ids, 0.3, 5)
    assert a == split_scenes(ids, 0.3, 5) and len(a) == 3
    assert split_scenes(ids, 0.0, 5) == set()
    assert len(split_scenes(["a", "b"], 0.1, 0)) == 1
    with pytest.raises(ConfigError):
        split_scenes(ids, 1.0, 0)


def test_config_and_cli_errors(cli, tmp_path):
    with pytest.raises(ConfigError):
        cameras_option("CAM_TOP")
    with pytest.raises(ConfigError):
        QAConfig(frames=0)
    code, _, err = cli(["drivelm", "qa", SEEDS_DIR / "cut_in.yaml", "--out", tmp_path, "--cameras", "side"])
    assert code == 2 and "--cameras" in err
    code, _, err = cli(["drivelm", "qa", tmp_path / "none.yaml", "--out", tmp_path])
    assert code == 2 and "no such scenario file" in err


def test_cli_qa_one_seed(cli, tmp_path):
    code, out, err = cli(["drivelm", "qa", SEEDS_DIR / "lead_vehicle_braking.yaml", "--out", tmp_path / "d",
                          "--frames", "2", "--scale", "0.2"])
    assert code == 0, err
    assert "train: 1 scenes" in out
    data = F.load_nested(tmp_path / "d" / "train.json")
    depth = [o.extra["depth_m"] for f in next(iter(data.scenes.values())).key_frames.values()
             for o in f.key_object_infos.values()]
    assert all(np.isfinite(depth))


def test_variants_split_by_source_keeps_seed_families_together(tmp_path):
    res = generate_dataset([SEEDS_DIR / "cut_in.yaml", SEEDS_DIR / "lead_vehicle_braking.yaml"], tmp_path,
                           QAConfig(frames=1, scale=0.2), variants=2, test_share=0.5, split_seed=0,
                           split_by="source")
    sides: dict[str, set[str]] = {}
    for item in res.manifest["scenes"]:
        sides.setdefault(item["source"], set()).add(item["split"])
    assert all(len(s) == 1 for s in sides.values()) and len(sides) == 2
    variants = {item["variant"] for item in res.manifest["scenes"]}
    assert variants <= {0, 1, 2} and len(res.manifest["scenes"]) >= 4
    factors = {json.dumps(s.extra["adsgen"]["factors"], sort_keys=True)
               for d in (res.train, res.test) for s in d.scenes.values()}
    assert len(factors) >= 2   # variants draw other light / weather / surface


# ---------------------------------------------------------------------------------------------- image questions

IMAGE_TEMPLATES = ("signal_state", "pedestrian_ahead", "night", "poor_visibility")


def _scene_answers(scenario, config=QAConfig(frames=3, scale=0.25)) -> list[dict[str, tuple[str, str]]]:
    """Per key frame: template -> (question, answer) of the image questions."""
    import random

    from adsgen.drivelm.qa.generation import frame_qa, render_keyframes

    out = []
    for ft in render_keyframes(scenario, config, "t", None):
        items = [q for qs in frame_qa(ft, random.Random(0)).values() for q in qs]
        out.append({q.extra["template"]: (q.question, q.answer) for q in items
                    if q.extra["template"] in IMAGE_TEMPLATES})
    return out


def _seed_scenario(name: str):
    from adsgen.scenario.io import load_seed

    return load_seed(SEEDS_DIR / f"{name}.yaml").scenario


def test_image_question_answers_follow_the_scene():
    from adsgen.drivelm.qa.generation import SIGNAL_OPTIONS

    letters = {state: "ABCD"[k] for k, state in enumerate(SIGNAL_OPTIONS)}
    green = _seed_scenario("straight_crossing_path")            # the ego goes through on green
    assert green.factors.traffic_control == "signal"
    cycle_s = 2 * (green.road.signal.green_s + green.road.signal.yellow_s + green.road.signal.all_red_s)
    red_signal = green.road.signal.model_copy(update={"offset_s": 0.5 * cycle_s + 1.0})  # ego's group red
    red = green.model_copy(update={"road": green.road.model_copy(update={"signal": red_signal})})
    night_fog = green.model_copy(update={"factors": green.factors.model_copy(
        update={"light": "dark_unlighted", "weather": "fog"})})
    by_case = {"green": _scene_answers(green), "red": _scene_answers(red), "night_fog": _scene_answers(night_fog)}
    for case, frames in by_case.items():
        assert frames, case
        signal = {f["signal_state"][1] for f in frames}
        expected = "red" if case == "red" else "green"
        assert letters[expected] in signal and signal <= {letters[expected], letters[None]}, (case, signal)
    assert all(f["night"][1] == "No." and f["poor_visibility"][1] == "No." for f in by_case["green"])
    assert all(f["night"][1] == "Yes." and f["poor_visibility"][1] == "Yes." for f in by_case["night_fog"])
    # no traffic light on a plain road; a pedestrian crossing shows its pedestrian, a lead car none
    lead = _scene_answers(_seed_scenario("lead_vehicle_braking"))
    assert {f["signal_state"][1] for f in lead} == {letters[None]}
    assert {f["pedestrian_ahead"][1] for f in lead} == {"No."}
    assert "Yes." in {f["pedestrian_ahead"][1] for f in _scene_answers(_seed_scenario("pedestrian_crossing"))}
    # the question text never depends on the scene, so it cannot give the answer away
    every = [f for frames in [*by_case.values(), lead] for f in frames]
    for template in IMAGE_TEMPLATES:
        questions = {f[template][0] for f in every}
        assert len(questions) == 1, template
        text = questions.pop()
        assert not F.find_object_tags(text) and not any(ch.isdigit() for ch in text)
    assert len({f["signal_state"][1] for f in every}) >= 3   # red, green and none all occur


def test_signalised_variants_start_anywhere_in_the_signal_cycle():
    from adsgen.drivelm.qa.dataset import load_sources

    sources = load_sources([SEEDS_DIR / "straight_crossing_path.yaml", SEEDS_DIR / "cut_in.yaml"], variants=12)
    signalised = [s.scenario for s in sources if s.variant and s.scenario.factors.traffic_control == "signal"]
    assert len(signalised) >= 4
    plan = signalised[0].road.signal
    cycle_s = 2 * (plan.green_s + plan.yellow_s + plan.all_red_s)
    offsets = [s.road.signal.offset_s for s in signalised]
    assert all(0 <= o < cycle_s for o in offsets)
    assert any(o > cycle_s / 2 for o in offsets) and any(o < cycle_s / 2 for o in offsets)  # red and green
    nominal = [s.scenario for s in sources if s.variant == 0]
    assert all(s.road.signal.offset_s == 0.0 for s in nominal)  # the seed itself is unchanged


def test_a_lead_that_brakes_hard_is_urgent_before_the_gap_shrinks():
    """The safe-actions label looks future_s ahead: a lead 25 m ahead at the ego's speed that brakes at
    8 m/s^2 asks for braking now (URGENT_TTC_S); the same lead holding its speed asks for nothing."""
    from adsgen.drivelm.qa.generation import _path_metrics, closing_speed_mps, safe_actions_answer
    from adsgen.sim.snapshot import ObjectState

    def car(x: float, speed: float, braking: bool = False) -> ObjectState:
        return ObjectState("lead", "car", x, 0.0, 0.0, speed, 4.6, 1.9, 1.5, braking)

    ego, ego_later = car(0.0, 15.6), car(23.4, 15.6)
    gap_m = 25.0 + 4.6
    for later, answer in ((car(gap_m + 15.6 * 1.5, 15.6), "Keep going"),
                          (car(gap_m + 15.6 * 1.5 - 9.0, 3.6, True), "Brake suddenly")):
        now = car(gap_m, 15.6, braking=later.braking)
        in_path, ttc, gap = _path_metrics(ego, now, later, ego_later)
        assert in_path and gap == pytest.approx(25.0) and closing_speed_mps(ego, now) == pytest.approx(0.0)
        truth_answer = safe_actions_answer([_truth(now, in_path, ttc, gap)])
        assert truth_answer.startswith(answer), (later.speed_mps, ttc)


def _truth(state, in_path, ttc, gap):
    from adsgen.drivelm.qa.generation import KeyObjectTruth

    return KeyObjectTruth(state.id, state.kind, "CAM_FRONT", "<c1,CAM_FRONT,800.0,480.0>", (200, 120),
                          [780.0, 450.0, 820.0, 510.0], gap, gap, 0.0, state.speed_mps, "Going ahead.", in_path,
                          ttc, gap, closing_mps=0.0, braking=state.braking)


def test_road_users_carry_closing_speed_and_brake_lights_into_the_depth_words(front):
    """key_object_infos hold closing_mps and braking for road users; --depth sim words say them; the lead of
    lead_vehicle_braking is seen braking with its brake lights on at some key frame."""
    braking_seen = False
    for data in (front.train, front.test):
        for scene in data.scenes.values():
            for kf in scene.key_frames.values():
                for obj in (kf.key_object_infos or {}).values():
                    if obj.category == "Traffic element":
                        assert obj.closing_mps is None
                        continue
                    assert obj.closing_mps is not None
                    braking_seen |= obj.braking
    assert braking_seen
