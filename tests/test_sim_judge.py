"""The judge: verdicts from the reference re-runs, stored with the run, and its one-line errors."""

from __future__ import annotations

import json
import math

import pytest

from adsgen.campaign.store import CampaignStore
from adsgen.errors import ConfigError
from adsgen.paths import SEEDS_DIR
from adsgen.scenario.io import load_scenario
from adsgen.sim.backends import BACKENDS, register_backend
from adsgen.sim.engine import BuiltinBackend
from adsgen.sim.judge import Verdict, judge, verdict
from adsgen.sim.types import RunResult, TerminationReason


def _run(collided=True, at_fault=None, ref="safe", omni="safe", ttc=0.0):
    r = RunResult("s", TerminationReason.COLLISION if collided else TerminationReason.TIMEOUT, 5.0, min_ttc_s=ttc)
    r.at_fault, r.reference_outcome, r.omniscient_outcome = at_fault, ref, omni
    return r


@pytest.mark.parametrize("kw, expected", [
    ({"at_fault": True}, Verdict.VALID_FAILURE),
    ({"at_fault": None}, Verdict.VALID_FAILURE),  # not judged by the referee: counts as at fault
    ({"at_fault": False}, Verdict.NOT_AT_FAULT),
    ({"at_fault": True, "ref": "collision"}, Verdict.REFERENCE_FAILS),
    ({"at_fault": True, "ref": "collision", "omni": "collision"}, Verdict.UNAVOIDABLE),
    # the careful driver avoided it: avoidable by example, whatever the braking-only check did
    ({"at_fault": True, "ref": "safe", "omni": "near_miss"}, Verdict.VALID_FAILURE),
    ({"at_fault": True, "ref": "safe", "omni": None}, Verdict.VALID_FAILURE),
    ({"at_fault": False, "ref": "collision", "omni": "collision"}, Verdict.NOT_AT_FAULT),
])
def test_verdict_order(kw, expected):
    assert verdict(_run(**kw)) is expected


class _NoRerun(BuiltinBackend):
    name = "norerun"
    can_rerun = False


def test_judge_only_high_risk_runs_and_counts_reference_runs():
    sc = load_scenario(SEEDS_DIR / "cut_in.yaml")
    be = BuiltinBackend()
    safe = RunResult("s", TerminationReason.TIMEOUT, 10.0, min_ttc_s=math.inf)
    risky = RunResult("s", TerminationReason.COLLISION, 3.0, min_ttc_s=0.0)
    assert judge([safe, risky], [sc, sc], be, 0) == 2  # one judged run, two reference runs
    assert safe.verdict is None and safe.reference_outcome is None
    assert risky.verdict in {v.value for v in Verdict}
    assert risky.reference_outcome in ("collision", "near_miss", "safe")
    with pytest.raises(ConfigError, match="cannot re-run"):
        judge([risky], [sc], _NoRerun(), 0)


def test_simulate_json_has_labels_and_no_rerun_backend_exits_2(cli, tmp_path):
    out = tmp_path / "r.json"
    code, stdout, _ = cli(["simulate", SEEDS_DIR / "cut_in.yaml", "--json", out])
    d = json.loads(out.read_text())
    assert code == 0 and d["verdict"] in {v.value for v in Verdict} and "verdict" in stdout
    register_backend("norerun", lambda **_: _NoRerun())
    try:
        code, _, err = cli(["simulate", SEEDS_DIR / "cut_in.yaml", "--backend", "norerun"])
    finally:
        BACKENDS.unregister("norerun")
    assert code == 2 and "cannot re-run" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_store_keeps_labels_and_migrates_an_older_database(tmp_path):
    sc = load_scenario(SEEDS_DIR / "cut_in.yaml")
    db = tmp_path / "c.db"
    with CampaignStore.create(db, config={}) as store:
        store.add_runs([(sc, None)], "idm", "builtin", [0, 1])
        for col in ("at_fault", "fault_rule", "reference_outcome", "omniscient_outcome", "verdict"):
            store.conn.execute(f"ALTER TABLE runs DROP COLUMN {col}")  # as written before the judge existed
    with CampaignStore.open(db, readonly=True) as store:
        cols, rows = store.runs_table()
        assert "verdict" in cols and rows[0][cols.index("verdict")] is None
    with CampaignStore.open(db) as store:  # opening for writing adds the columns
        run_id = store.runs_to_do("idm", "builtin")[0][0][0]
        result = _run(at_fault=True).to_dict() | {"verdict": "valid_failure"}
        store.finish_done(run_id, result, worker="w", started_at=0.0, finished_at=1.0, wall_s=1.0)
        cols, rows = store.runs_table()
        row = next(r for r in rows if r[cols.index("id")] == run_id)
        assert row[cols.index("verdict")] == "valid_failure" and row[cols.index("at_fault")] == 1


def test_nominal_seeds_are_solvable_and_three_fail_the_default_agent():
    """Each nominal seed is a test the careful driver passes; the default agent fails at least three
    (valid failure or near miss), and its collisions there are labelled by the judge."""
    from adsgen.scenario.io import load_seeds
    from adsgen.sim.agents import get_agent

    seeds = load_seeds(SEEDS_DIR)
    scs = [s.scenario for s in seeds]
    be = BuiltinBackend()
    refs = be.run(scs, get_agent("reference"), 0)
    for s, r in zip(seeds, refs, strict=True):
        assert not r.high_risk(), (s.name, r.termination, r.min_ttc_s)
    runs = be.run(scs, get_agent("idm"), 0)
    judge(runs, scs, be, 0)
    failing = [s.name for s, r in zip(seeds, runs, strict=True)
               if r.verdict == Verdict.VALID_FAILURE.value or (r.high_risk() and not r.collided)]
    assert len(failing) >= 3, failing
    for s, r in zip(seeds, runs, strict=True):
        assert r.collided == s.expect_collision, s.name


def test_a_seed_searching_the_ego_speed_is_one_line_exit_2(cli, tmp_path):
    import yaml

    data = yaml.safe_load((SEEDS_DIR / "cut_in.yaml").read_text())
    data["parameters"].append({"path": "ego.speed_mps", "low": 15.0, "high": 30.0, "bins": 4})
    bad = tmp_path / "speeding.yaml"
    bad.write_text(yaml.safe_dump(data))
    code, _, err = cli(["simulate", bad])
    assert code == 2 and "ego.speed_mps" in err and "posted limit" in err and "Traceback" not in err


def test_every_verdict_and_outcome_has_its_words():
    from adsgen.sim.judge import Outcome, Verdict
    from adsgen.sim.vocabulary import FINDING_LABELS, VERDICT_LABELS, verdict_label

    assert set(VERDICT_LABELS) == set(Verdict) and set(FINDING_LABELS) == set(Outcome)
    assert verdict_label(Verdict.REFERENCE_FAILS.value) == "reference fails too"
    assert verdict_label(None) == "-"


def _ego_x_span(sc, agent: str) -> float:
    from adsgen.sim.agents import get_agent

    res = BuiltinBackend().run([sc], get_agent(agent), 0, record_trajectories=True)[0]
    xs = [row[1] for row in res.trajectories["ego"]]  # the seeds' egos drive north: x is lateral
    return max(xs) - min(xs)


def test_omniscient_changes_into_a_free_adjacent_lane_only():
    from adsgen.scenario.io import load_seed
    from adsgen.scenario.mapping import instantiate

    lead = instantiate(load_seed(SEEDS_DIR / "lead_vehicle_braking.yaml"), {"surface": "dry"})  # lane 1 is free
    assert 3.0 < _ego_x_span(lead, "omniscient") < 4.5  # about one lane width, little overshoot on a dry road
    assert _ego_x_span(lead, "omniscient:brake") < 0.01
    cut = load_scenario(SEEDS_DIR / "cut_in.yaml")  # the cutter fills lane 1; left of lane 0 is oncoming
    assert _ego_x_span(cut, "omniscient") < 0.01


def test_judge_keeps_the_better_omniscient_try_and_counts_it():
    """A dart-out on ice that braking alone cannot avoid but a lane change can: omniscient safe, three
    reference runs; without room for the evasive run (the default), the braking-only outcome stands."""
    from adsgen.scenario.io import load_seed
    from adsgen.scenario.mapping import instantiate

    seed = load_seed(SEEDS_DIR / "pedestrian_crossing.yaml")
    sc = instantiate(seed, {"surface": "snow_ice"}, {"actors.walker.manoeuvre.trigger.value": 1.7})
    be = BuiltinBackend()
    r = _run(at_fault=True, ref=None, omni=None)
    assert judge([r], [sc], be, 0, evasive_runs=None) == 3 and r.omniscient_outcome == "safe"
    r = _run(at_fault=True, ref=None, omni=None)
    assert judge([r], [sc], be, 0, evasive_runs=1) == 3 and r.omniscient_outcome == "safe"
    r = _run(at_fault=True, ref=None, omni=None)
    assert judge([r], [sc], be, 0) == 2 and r.omniscient_outcome == "collision"


def test_search_pays_for_the_solvability_check_only_where_it_can_change_the_verdict():
    """solvability="when_needed" (a budgeted search): the nominal cut_in, a valid failure, costs one reference
    run and leaves the omniscient outcome empty; the same verdict as the complete judge's two runs."""
    from adsgen.scenario.io import load_seed
    from adsgen.scenario.mapping import instantiate
    from adsgen.sim.agents import get_agent

    sc = instantiate(load_seed(SEEDS_DIR / "cut_in.yaml"), {})
    be = BuiltinBackend()
    full, lean = (be.run([sc], get_agent("idm"), 0)[0] for _ in range(2))
    assert judge([full], [sc], be, 0) == 2 and full.omniscient_outcome is not None
    assert judge([lean], [sc], be, 0, solvability="when_needed") == 1 and lean.omniscient_outcome is None
    assert lean.verdict == full.verdict == "valid_failure"


def test_omniscient_agent_spec():
    from adsgen.sim.agents import get_agent

    assert get_agent("omniscient").evade and not get_agent("omniscient:brake").evade
    with pytest.raises(ConfigError, match="omniscient"):
        get_agent("omniscient:swerve")


NOMINAL = {  # seed: (default agent's finding, its verdict) at the nominal parameters, run seed 0 (docs/simulation.md)
    "cut_in": ("collision", "valid_failure"),
    "lead_vehicle_braking": ("near_miss", "valid_failure"),
    "left_turn_across_path": ("safe", None),
    "pedestrian_crossing": ("safe", None),
    "straight_crossing_path": ("collision", "valid_failure"),
}


@pytest.mark.parametrize("name", sorted(NOMINAL))
def test_simulate_nominal_seed_reference_safe_and_default_agent_as_documented(cli, tmp_path, name):
    """The CLI bars per seed: `simulate SEED --agent reference --json F` is safe (no collision, min TTC at or
    above the threshold); the default agent's run and verdict are the documented ones."""
    from adsgen.sim.judge import outcome
    from adsgen.sim.types import HIGH_RISK_TTC_S

    out = tmp_path / "ref.json"
    code, _, err = cli(["simulate", SEEDS_DIR / f"{name}.yaml", "--agent", "reference", "--json", out])
    d = json.loads(out.read_text())
    assert code == 0, err
    assert d["termination"] != "collision" and d["min_ttc_s"] >= HIGH_RISK_TTC_S, d
    out = tmp_path / "idm.json"
    code, _, err = cli(["simulate", SEEDS_DIR / f"{name}.yaml", "--json", out])
    d = json.loads(out.read_text())
    assert code == 0, err
    d.pop("provenance")
    assert (outcome(RunResult.from_dict(d)).value, d["verdict"]) == NOMINAL[name]


def test_reference_runs_are_not_judged_whatever_the_spec(cli, tmp_path):
    """A collision of `--agent omniscient:brake` (the judge's own braking-only check) is shown as it is,
    without re-running references on it."""
    from adsgen.scenario.io import load_seed, save_scenario
    from adsgen.scenario.mapping import instantiate

    seed = load_seed(SEEDS_DIR / "pedestrian_crossing.yaml")
    sc = instantiate(seed, {"surface": "snow_ice"}, {"actors.walker.manoeuvre.trigger.value": 1.7})
    save_scenario(sc, tmp_path / "ice.yaml")
    code, _, err = cli(["simulate", tmp_path / "ice.yaml", "--agent", "omniscient:brake", "--json", tmp_path / "r.json"])
    d = json.loads((tmp_path / "r.json").read_text())
    assert code == 0, err
    assert d["termination"] == "collision" and d["verdict"] is None and d["reference_outcome"] is None


def test_verdict_counts_read_in_the_judges_order_with_the_shared_words():
    from adsgen.sim.vocabulary import verdict_counts_words

    text = verdict_counts_words({"unjudged": 2, "not_at_fault": 3, "valid_failure": 5})
    assert text == "valid failure 5, not at fault 3, unjudged 2"
    assert verdict_counts_words({}) == "none"
