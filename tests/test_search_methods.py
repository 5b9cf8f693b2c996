"""The search methods on a small analytic stand-in for the simulator (the real engine is tested elsewhere).

The stand-in backend makes a run high-risk when the "slippery, dark, fast" factors and the parameters
say so, like the physics would; the stand-in CBN ranks combinations by the same factors. The tests check
the search's mechanics: budget accounting, the distinct-key archive, CEM narrowing, and that feedback from
a risk model finds more distinct high-risk scenarios per run than uniform random search.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from adsgen.scenario.model import Scenario, Seed
from adsgen.search.cem import CrossEntropySampler
from adsgen.search.evaluator import BudgetExhausted, Candidate, Evaluator
from adsgen.search.methods import MethodContext, build_method
from adsgen.search.risk import CBNRisk
from adsgen.search.space import SeedSpace
from adsgen.sim.types import RunResult, TerminationReason
from adsgen.variables import SPEED_LIMIT_MPS

RISKY = {"light": {"dark_unlighted": 1.0, "dark_lighted": 0.6, "dawn_dusk": 0.3, "daylight": 0.0},
         "surface": {"snow_ice": 1.0, "wet": 0.5, "dry": 0.0},
         "speed_limit": {"high": 1.0, "mid": 0.5, "low": 0.0}}


def _seed() -> Seed:
    scn = {
        "name": "lvb", "factors": {"light": "daylight", "weather": "clear", "surface": "dry",
                                   "road_layout": "straight", "traffic_control": "none", "speed_limit": "mid",
                                   "other_movement": "slowing_stopped", "driver_impaired": "no",
                                   "collision_type": "rear_end"},
        "road": {"template": "straight"}, "ego": {"route": "r0", "speed_mps": 15.0},
        "actors": [{"id": "lead", "route": "r0", "start_s_m": 30.0, "speed_mps": 15.0,
                    "manoeuvre": {"type": "brake_hard", "trigger": {"kind": "time", "value": 1.0}}}],
    }
    return Seed(name="lead_brake", description="d", nhtsa_precrash_type="lead vehicle decelerating",
                contract={"road_layout": ["straight"], "collision_type": ["rear_end"],
                          "other_movement": ["slowing_stopped"]},
                scenario=Scenario.model_validate(scn),
                parameters=[{"path": "actors.lead.manoeuvre.decel_mps2", "low": 2.0, "high": 10.0, "bins": 4},
                            {"path": "actors.lead.start_s_m", "low": 10.0, "high": 60.0, "bins": 4}],
                expect_collision=False)


REFERENCE_MARGIN = {"reference": 0.3, "omniscient": 0.6}


def _hazard(factors: dict, unit: np.ndarray) -> float:
    f = sum(RISKY[k][factors[k]] for k in RISKY) / 3.0
    return f + 0.6 * unit[0] - 0.6 * unit[1]


class FakeBackend:
    name = "fake"

    def __init__(self):
        self.calls = 0

    def run(self, scenarios, agent, seed=0, *, record_trajectories=False):
        self.calls += 1
        out = []
        for s in scenarios:
            unit = np.array([(s.actors[0].manoeuvre.decel_mps2 - 2.0) / 8.0, (s.actors[0].start_s_m - 10.0) / 50.0])
            # the careful-driver reference and the omniscient check avoid the milder hazards
            h = _hazard(s.factors.model_dump(), unit) - REFERENCE_MARGIN.get(getattr(agent, "name", None), 0.0)
            ttc = max(0.05, 3.0 - 3.0 * h)
            coll = h > 0.75
            out.append(RunResult(s.name, TerminationReason.COLLISION if coll else TerminationReason.TIMEOUT,
                                 10.0, min_ttc_s=0.0 if coll else ttc, impact_speed_mps=5.0 if coll else None))
        return out

    def close(self):
        pass


class FakeCompiled:
    """risk rises with the same factors; plausibility falls a little with them."""

    def batch_risk(self, frame: pd.DataFrame, target, risky_states, do=False):
        return np.array([0.05 + 0.5 * sum(RISKY[k][r[k]] for k in RISKY) / 3.0 for _, r in frame.iterrows()])

    def log_prob(self, frame: pd.DataFrame):
        return np.array([-8.0 - 0.5 * sum(RISKY[k][r[k]] for k in RISKY) for _, r in frame.iterrows()])


def _instantiate(space, factors, params, name):
    data = space.seed.scenario.spec()
    data["factors"] = dict(factors)
    data["name"] = name
    data["actors"][0]["manoeuvre"]["decel_mps2"] = params["actors.lead.manoeuvre.decel_mps2"]
    data["ego"]["speed_mps"] = SPEED_LIMIT_MPS[factors["speed_limit"]]  # the limit acts on the world
    data["actors"][0]["start_s_m"] = params["actors.lead.start_s_m"]
    return Scenario.model_validate(data)


def _evaluator(budget: int) -> Evaluator:
    return Evaluator(FakeBackend(), agent=None, budget=budget, instantiate=_instantiate)


def test_space_respects_contract_and_parameter_ranges():
    sp = SeedSpace.of(_seed())
    assert sp.choices["road_layout"] == ("straight",)
    assert sp.n_combinations == 4 * 5 * 3 * 3 * 3 * 3  # light weather surface control limit impaired
    assert len(sp.combinations()) == sp.n_combinations
    assert sp.to_params(np.array([0.0, 1.0])) == {"actors.lead.manoeuvre.decel_mps2": 2.0, "actors.lead.start_s_m": 60.0}
    np.testing.assert_allclose(sp.nominal_unit(), [0.75, 0.4])
    assert sp.bin_index(np.array([0.0, 0.999])) == (0, 3)
    assert sp.bin_index(np.array([1.0, 0.26])) == (3, 1)


def test_evaluator_counts_budget_and_distinct_keys():
    sp = SeedSpace.of(_seed())
    ev = _evaluator(3)
    bad = {**sp.seed.scenario.factors.model_dump(), "light": "dark_unlighted", "surface": "snow_ice",
           "speed_limit": "high"}
    c = Candidate(sp, bad, np.array([0.9, 0.1]))
    outs = ev.evaluate([c, c, Candidate(sp, bad, np.array([0.9, 0.3]))])
    assert [o.high_risk for o in outs] == [True, True, True]
    assert [o.new for o in outs] == [True, False, True]  # same bins -> same distinct key
    assert len(ev.archive) == 2 and ev.remaining == 0 and ev.runs_to(2) == 3 and ev.runs_to(3) is None
    with pytest.raises(BudgetExhausted):
        ev.evaluate([c])


def test_cem_moves_towards_low_scores():
    rng = np.random.default_rng(0)
    cem = CrossEntropySampler.start(np.array([0.5, 0.5]), std=0.3, min_std=0.02)
    for _ in range(15):
        x = cem.sample(40, rng)
        assert x.min() >= 0.0 and x.max() <= 1.0
        cem.update(x, np.linalg.norm(x - np.array([0.9, 0.1]), axis=1))
    assert np.linalg.norm(cem.mean - np.array([0.9, 0.1])) < 0.1


def _build(method: str, seed: int = 0):
    return build_method(method, MethodContext(CBNRisk(FakeCompiled()), seed))


@pytest.mark.parametrize("method", ["random", "ga", "cbn"])
def test_methods_spend_exactly_the_budget(method):
    ev = _evaluator(157)
    m = _build(method)
    m.search(ev, [SeedSpace.of(_seed())], np.random.default_rng(1))
    assert ev.runs == 157
    assert ev.iteration >= 1 and ev.curve[-1].runs == 157
    assert len(ev.archive) == sum(o.new for o in ev.outcomes)


def test_cbn_guided_finds_more_distinct_valid_failures_than_random():
    found = {}
    for method in ("cbn", "random"):
        counts = []
        for rep in range(2):
            ev = _evaluator(400)
            m = _build(method, rep)
            m.search(ev, [SeedSpace.of(_seed())], np.random.default_rng(rep))
            counts.append(len(ev.valid))
            assert ev.reference_runs == sum((o.result.reference_outcome is not None) + (o.result.omniscient_outcome is not None)
                                           for o in ev.outcomes)
        found[method] = np.mean(counts)
    assert found["cbn"] > 1.3 * found["random"], found  # measured: 78 vs 52.5 distinct valid failures
    assert not math.isnan(found["random"])


def test_a_method_may_judge_only_some_high_risk_runs_and_saves_their_reference_runs():
    sp = SeedSpace.of(_seed())
    bad = {**sp.seed.scenario.factors.model_dump(), "light": "dark_unlighted", "surface": "snow_ice",
           "speed_limit": "high"}
    batch = [Candidate(sp, bad, np.array([0.9, u])) for u in (0.05, 0.3, 0.55, 0.8)]
    ev = _evaluator(100)
    ev.judge_filter = lambda cands: [c.unit[1] < 0.5 for c in cands]
    outs = ev.evaluate(batch)
    assert all(o.high_risk for o in outs)
    assert [o.verdict is not None for o in outs] == [True, True, False, False]
    assert ev.reference_runs == 4 and ev.runs == 8  # two judged runs, two references each


def test_cbn_frontier_holds_the_untried_one_step_neighbours_of_a_valid_failure():
    """After a valid failure the CBN-guided search queues its neighbour worlds (each acting factor in each of
    its other states, each parameter one bin up and down, nothing outside the contract, no world twice),
    proposes them, and learns per move kind how often a neighbour is a valid failure too."""
    sp = SeedSpace.of(_seed())
    m = _build("cbn")
    st = m._init_seed(sp)
    ev = _evaluator(400)
    bad = {**sp.seed.scenario.factors.model_dump(), "light": "dark_unlighted", "surface": "snow_ice",
           "speed_limit": "high"}
    base = Candidate(sp, bad, np.array([0.4, 0.6]))  # bins (1, 2); the careful driver avoids it
    [o] = ev.evaluate([base])
    assert o.verdict == "valid_failure"
    m._feedback(ev, [st], [o])
    moves = {}
    for world, (c, move) in st.frontier.items():
        assert world == ev.key(c) and world != o.key
        changed = [f for f in bad if c.factors[f] != bad[f]]
        bins = np.array(sp.bin_index(c.unit)) - np.array(sp.bin_index(base.unit))
        if move == "parameter":
            assert not changed and sorted(np.abs(bins)) == [0, 1]
        else:
            assert changed == [move] and not bins.any()
        assert c.factors["road_layout"] == "straight"  # the contract's only state
        moves[move] = moves.get(move, 0) + 1
    assert moves.pop("parameter") == 4  # each of the two parameters one bin down and one up
    # the stand-in's instantiate ignores driver_impaired: its other states are the base's own world, not queued
    assert moves == {f: len(sp.choices[f]) - 1 for f in sp.choices if len(sp.choices[f]) > 1
                     and f != "driver_impaired"}
    assert len(set(st.frontier)) == len(st.frontier)

    chosen = m._propose(ev, st, 5, np.random.default_rng(0))
    assert len({ev.key(c) for c in chosen}) == 5 and all(ev.key(c) not in ev.archive for c in chosen)
    from_frontier = [c for c in chosen if ev.key(c) in st.moved]
    assert from_frontier and all(ev.key(c) not in st.frontier for c in from_frontier)
    m._feedback(ev, [st] * len(chosen), ev.evaluate(chosen))
    assert sum(st.move_trials.values()) == len(from_frontier) and not st.moved
