"""The VLM driving agent: answer parsing, the oracle answerer on the five seeds, the tiny VLM in the loop."""

from __future__ import annotations

import pytest

from adsgen.drivelm.agent import (
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
    from adsgen.drivelm.agent import VLMAnswerer

    monkeypatch.setenv("ADSGEN_CACHE", str(tmp_path))
    agent = VLMAgent(VLMAnswerer("tiny", max_new_tokens=6), name="vlm:tiny", decision_period_s=2.5)
    assert agent.needs_images
    result = drive([load_scenario(SEEDS_DIR / "lead_vehicle_braking.yaml")], agent)[0]
    extra = result.extra
    assert extra["vlm_questions"] >= 4 and 0 <= extra["vlm_unparsed"] <= extra["vlm_questions"]
    assert extra["vlm_unparsed_share"] == pytest.approx(extra["vlm_unparsed"] / extra["vlm_questions"])



def test_simulate_reports_the_vlm_agents_answer_figures(cli, tmp_path):
    """The agent's own figures (questions asked, unparsed answers) reach the RunResult the user sees."""
    import json

    from adsgen.paths import SEEDS_DIR

    out = tmp_path / "r.json"
    code, _, err = cli(["simulate", SEEDS_DIR / "lead_vehicle_braking.yaml", "--agent", "oracle", "--json", out])
    assert code == 0, err
    extra = json.loads(out.read_text())["extra"]
    assert extra["vlm_questions"] > 0 and extra["vlm_unparsed"] == 0 and "content_hash" in extra
