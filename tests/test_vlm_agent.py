"""The VLM driving agent: answer parsing, the oracle answerer on the five seeds, the tiny VLM in the loop."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from adsgen.drivelm.vlm.agent import (
    BEHAVIOUR_QUESTION,
    VLMAgent,
    drive,
    parse_behaviour,
    parse_plan,
)
from adsgen.errors import ConfigError, InputError
from adsgen.paths import SEEDS_DIR
from adsgen.scenario.io import load_scenario
from adsgen.sim.agents import get_agent

SEEDS = ("cut_in", "lead_vehicle_braking", "left_turn_across_path", "pedestrian_crossing", "straight_crossing_path")


@pytest.mark.parametrize(("answer", "manoeuvre"), [
    ("Brake suddenly, decelerate gradually without braking.", "brake"),
    ("Decelerate gradually without braking, stop before the stop line.", "stop_line"),
    ("Decelerate gradually without braking, keep a safe distance.", "slow"),
    ("Keep going at the same speed, decelerate gradually without braking.", "cruise"),
    ("keep going at the same speed", "cruise"),
    ("The ego vehicle should stop.", "stop_line"),
])
def test_safe_action_answers_become_manoeuvres(answer, manoeuvre):
    assert parse_plan(answer).name == manoeuvre


@pytest.mark.parametrize("answer", ["", "There is a black sedan.", "stopwatch"])
def test_unparsable_plans_are_none(answer):
    assert parse_plan(answer) is None


def test_behaviour_answers():
    assert "A. The ego vehicle is going straight. The ego vehicle is driving fast." in BEHAVIOUR_QUESTION
    assert parse_behaviour("D") == "stop" and parse_behaviour("C.") == "slow" and parse_behaviour("A") == "free"
    assert parse_behaviour("The ego vehicle is going straight. The ego vehicle is driving slowly.") == "slow"
    assert parse_behaviour("sedan") is None


def test_oracle_drives_the_five_seeds_and_avoids_the_crossing_and_braking_collisions():
    scenarios = [load_scenario(SEEDS_DIR / f"{name}.yaml") for name in SEEDS]
    results = {r.scenario.removesuffix("_nominal"): r for r in drive(scenarios, get_agent("oracle"))}
    assert set(results) == set(SEEDS)
    for r in results.values():
        assert r.extra["vlm_questions"] > 0 and r.extra["vlm_unparsed"] == 0
    for name in ("lead_vehicle_braking", "pedestrian_crossing", "straight_crossing_path"):
        assert not results[name].collided, name
    assert results["lead_vehicle_braking"].extra["vlm_manoeuvres"].get("brake", 0) > 0


def test_agent_specs():
    assert isinstance(get_agent("oracle"), VLMAgent) and not get_agent("oracle").needs_images
    with pytest.raises(ConfigError, match="vlm:ADAPTER_DIR"):
        get_agent("vlm")
    with pytest.raises(InputError, match="adapter_card.json"):
        get_agent("vlm:/nonexistent/adapter")


@pytest.mark.slow
def test_tiny_vlm_drives_a_seed_and_counts_unparsable_answers(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    from adsgen.drivelm.vlm.agent import VLMAnswerer

    monkeypatch.setenv("ADSGEN_CACHE", str(tmp_path))
    agent = VLMAgent(VLMAnswerer("tiny", max_new_tokens=6), name="vlm:tiny", decision_period_s=2.5)
    assert agent.needs_images
    result = drive([load_scenario(SEEDS_DIR / "lead_vehicle_braking.yaml")], agent)[0]
    extra = result.extra
    assert extra["vlm_questions"] >= 4 and 0 <= extra["vlm_unparsed"] <= extra["vlm_questions"]
    assert extra["vlm_unparsed_share"] == pytest.approx(extra["vlm_unparsed"] / extra["vlm_questions"])


def test_an_adapter_trained_on_option_texts_answers_the_behaviour_question_with_a_letter(tmp_path, monkeypatch,
                                                                                        capsys):
    pytest.importorskip("torch")
    from PIL import Image

    from adsgen.drivelm.vlm import agent as agent_module
    from adsgen.drivelm.vlm.agent import Q_SAFE, Question, VLMAnswerer, parse_behaviour

    monkeypatch.setenv("ADSGEN_CACHE", str(tmp_path))
    monkeypatch.setattr(agent_module, "stderr_is_terminal", lambda: True)  # as in a terminal
    answerer = VLMAnswerer("tiny", max_new_tokens=4)
    assert "load model" in capsys.readouterr().err  # loading (about a minute for a real LLaVA) shows its bar
    answerer.mc_answers = "text"  # as read from such an adapter's card
    image = [Image.new("RGB", (64, 36), (90, 90, 90))]
    asked = [Question(0, BEHAVIOUR_QUESTION, BEHAVIOUR_QUESTION, image, None),
             Question(0, Q_SAFE, Q_SAFE, image, None)]
    behaviour, safe = answerer.answer(asked)
    assert behaviour in ("A", "B", "C", "D") and parse_behaviour(behaviour) is not None
    assert isinstance(safe, str)


def test_simulate_reports_the_vlm_agents_answer_figures(cli, tmp_path):
    """The agent's own figures (questions asked, unparsed answers) reach the RunResult the user sees."""
    import json

    from adsgen.paths import SEEDS_DIR

    out = tmp_path / "r.json"
    code, _, err = cli(["simulate", SEEDS_DIR / "lead_vehicle_braking.yaml", "--agent", "oracle", "--json", out])
    assert code == 0, err
    extra = json.loads(out.read_text())["extra"]
    assert extra["vlm_questions"] > 0 and extra["vlm_unparsed"] == 0 and "content_hash" in extra


def test_oracle_predicts_a_turning_road_user_on_its_arc():
    """A car turning across the ego's path: constant velocity says it misses, its turn rate says it hits."""
    import math
    from types import SimpleNamespace

    import numpy as np

    from adsgen.drivelm.vlm.agent import OracleAnswerer, _overlap_time

    # ego at the origin heading +x at 10 m/s; an oncoming car 25 m ahead in the next lane (3.5 m to the
    # left) at 8 m/s, turning left at 0.5 rad/s: on its arc it crosses the ego's lane about 15 m ahead
    obs = SimpleNamespace(t_s=1.0, ego_x_m=np.array([0.0]), ego_y_m=np.array([0.0]), ego_yaw_rad=np.array([0.0]),
                          ego_speed_mps=np.array([10.0]), ego_length_m=np.array([4.6]), ego_width_m=np.array([1.9]),
                          actor_x_m=np.array([[25.0]]), actor_y_m=np.array([[3.5]]),
                          actor_yaw_rad=np.array([[math.pi]]), actor_speed_mps=np.array([[8.0]]),
                          actor_length_m=np.array([[4.6]]), actor_width_m=np.array([[1.9]]))
    t = np.arange(0.0, 4.0 + 1e-9, 0.05)
    assert _overlap_time(obs, 0, 0, t) == math.inf
    assert 1.0 < _overlap_time(obs, 0, 0, t, yaw_rate=0.5) < 2.0
    oracle = OracleAnswerer()
    first = oracle.yaw_rates(obs, 0)
    later = SimpleNamespace(**{**vars(obs), "t_s": 1.5, "actor_yaw_rad": np.array([[0.25 - math.pi]])})
    assert first.tolist() == [0.0] and oracle.yaw_rates(later, 0) == pytest.approx([0.5])  # across +-pi
    restart = SimpleNamespace(**{**vars(obs), "t_s": 0.0})  # a new run on the same row
    assert oracle.yaw_rates(restart, 0).tolist() == [0.0]


class _Mumbler:
    """An answerer whose answers never parse (until told otherwise)."""

    needs_images = False

    def __init__(self, answers=()):
        self.answers = list(answers)

    def answer(self, questions):
        return [self.answers.pop(0) if self.answers else "mmm" for _ in questions]


def test_unparsed_answers_fall_back_to_the_last_decision_else_to_slowing_down():
    from adsgen.drivelm.vlm.agent import FALLBACK_MANOEUVRE

    scenario = load_scenario(SEEDS_DIR / "lead_vehicle_braking.yaml")
    blind = drive([scenario], VLMAgent(_Mumbler(), name="mumbler", ask_behaviour=False))[0]
    assert blind.extra["vlm_unparsed"] == blind.extra["vlm_questions"] == blind.extra["vlm_fallback_default"] > 0
    assert blind.termination.value != "collision" and FALLBACK_MANOEUVRE == "caution"
    # one "keep going" understood first: later unparsed answers keep it (and this agent then collides)
    keeps = drive([scenario], VLMAgent(_Mumbler(["Keep going at the same speed."]), name="mumbler",
                                       ask_behaviour=False))[0]
    assert keeps.extra["vlm_fallback_last"] == keeps.extra["vlm_questions"] - 1
    assert keeps.extra["vlm_fallback_default"] == 0 and keeps.termination.value == "collision"


def test_vlm_tiny_counts_its_unparsed_answers_and_falls_back_safely(cli, tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("ADSGEN_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "r.json"
    code, _, err = cli(["simulate", SEEDS_DIR / "lead_vehicle_braking.yaml", "--agent", "vlm:tiny", "--json", out])
    assert code == 0, err
    result = json.loads(out.read_text())
    assert result["termination"] != "collision"
    extra = result["extra"]
    assert extra["vlm_unparsed"] > 0 and extra["vlm_fallback_default"] + extra["vlm_fallback_last"] > 0


def test_agent_settings_come_from_the_adapter_card(tmp_path):
    from adsgen.drivelm.vlm.adapters import AdapterCard, AdapterOptions, read_card
    from adsgen.drivelm.vlm.agent import check_recipe, parse_vlm_spec, settings_from_card

    (tmp_path / "depth").mkdir()
    card = AdapterCard(base_path="base", base_family="tiny LLaVA", base_fingerprint="sha256:0", options=asdict(AdapterOptions()),
                       training={"trained_cameras": ["CAM_FRONT", "CAM_BACK"], "image_size_px": [800, 450],
                                 "depth": "depth", "answer_kinds": None, "templates": None})
    (tmp_path / "adapter_card.json").write_text(json.dumps(card.__dict__))
    read = read_card(tmp_path)
    assert read.base_path == str(tmp_path / "base")  # relative to the card's folder, not the working directory
    settings = settings_from_card(read)
    assert settings.cameras == ("CAM_FRONT", "CAM_BACK") and settings.render_scale == 0.5
    assert settings.depth == str(tmp_path / "depth")
    assert parse_vlm_spec("runs/a,base=/models/llava") == ("runs/a", "/models/llava")
    with pytest.raises(ConfigError, match="vlm:ADAPTER_DIR,base=PATH"):
        parse_vlm_spec("runs/a,bsae=/x")
    read.training["answer_kinds"] = ["multiple_choice", "yes_no"]
    with pytest.raises(ConfigError, match="not trained on the agent's question"):
        check_recipe(read, "runs/a")


def test_predict_finds_the_base_the_card_names_relative_to_the_adapter(tmp_path):
    from adsgen.drivelm.vlm.adapters import AdapterCard, AdapterOptions, stored_path
    from adsgen.drivelm.vlm.predict import resolve_base

    adapter = tmp_path / "runs" / "a"
    (adapter / "base").mkdir(parents=True)
    assert stored_path(adapter / "base", adapter) == "base"
    assert stored_path(tmp_path / "models" / "llava", adapter) == str(tmp_path / "models" / "llava")
    card = AdapterCard(base_path="base", base_family="tiny LLaVA", base_fingerprint="sha256:0", options=asdict(AdapterOptions()))
    (adapter / "adapter_card.json").write_text(json.dumps(card.__dict__))
    assert resolve_base(None, adapter, lambda: []) == str(adapter / "base")
    assert resolve_base("tiny", adapter, lambda: []) == str(adapter / "base")
    with pytest.raises(InputError, match="--base"):
        resolve_base(None, None, lambda: [])


class _Listener(_Mumbler):
    """Needs images, so the agent renders and writes its depth words; keeps every prompt."""

    needs_images = True

    def __init__(self):
        super().__init__()
        self.texts = []

    def answer(self, questions):
        self.texts += [q.text for q in questions]
        return super().answer(questions)


def test_the_agent_tells_the_model_the_leads_brake_lights_and_closing_speed():
    """The agent's depth words carry what the safe-actions label depends on, in the QA's words: the lead of
    lead_vehicle_braking is first 'not closing in', then 'braking, closing in at ... s to contact'."""
    listener = _Listener()
    drive([load_scenario(SEEDS_DIR / "lead_vehicle_braking.yaml")],
          VLMAgent(listener, name="listener", ask_behaviour=False, render_scale=0.1))
    assert "not closing in" in listener.texts[0]
    assert any("braking, closing in at about" in t and "s to contact" in t for t in listener.texts)
