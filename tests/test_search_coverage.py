"""Crash-weighted coverage and the ablations, on a small crash network and the analytic stand-in simulator
of test_search_methods (the real engine is in the bench and the CLI tests).

The network says crashes happen mostly in the dark, on wet or icy roads and at high limits, and that those
crashes injure; the stand-in simulator makes the agent fail in the same conditions. The CBN-guided search
must then cover more of the crash mass than search without the data (random), than sampling the data
without feedback (natural), and than its own machinery fed uniform or shuffled tables.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_search_methods import _evaluator, _seed

from adsgen.cbn.compiled import CompiledCBN
from adsgen.search.coverage import CrashCoverage, acting_factors
from adsgen.search.methods import MethodContext, build_method, method_names
from adsgen.search.risk import CBNRisk, blind_cbn, shuffled_cbn
from adsgen.search.space import SeedSpace
from adsgen.variables import FACTORS, STATES

LEANING = {"light": [0.1, 0.1, 0.3, 0.5], "surface": [0.2, 0.3, 0.5], "speed_limit": [0.1, 0.3, 0.6]}
"""P(state) in crash records of the factors that also make the stand-in simulator dangerous."""


def crash_cbn() -> CompiledCBN:
    cpts: dict[str, np.ndarray] = {}
    for f in FACTORS:
        k = len(STATES[f])
        cpts[f] = np.array(LEANING.get(f, np.linspace(2.0, 1.0, k) / np.linspace(2.0, 1.0, k).sum()))
    parents = {f: () for f in FACTORS}
    parents["severity"] = ("light", "surface", "speed_limit")
    sev = np.empty((4, 3, 3, 3))
    for i in range(4):
        for j in range(3):
            for k in range(3):
                hurt = 0.1 + 0.7 * (i + j + k) / 7.0
                sev[i, j, k] = [1.0 - hurt, 0.9 * hurt, 0.1 * hurt]
    cpts["severity"] = sev
    names = [*FACTORS, "severity"]
    return CompiledCBN.build(names, {n: STATES[n] for n in names}, parents, cpts)


def test_coverage_is_the_crash_mass_of_the_cells_with_a_valid_failure():
    seed = _seed().model_copy(update={"descriptive": ["driver_impaired"]})
    sp = SeedSpace.of(seed)
    cov = CrashCoverage(CBNRisk(crash_cbn()), [sp])
    cells = cov.cells[sp.name]
    assert "driver_impaired" not in cells.acting == acting_factors(sp)
    assert len(cells.mass) == sp.n_combinations // 3 and sum(cells.mass.values()) == pytest.approx(1.0)
    dark = {**seed.scenario.factors.model_dump(), "light": "dark_unlighted", "surface": "snow_ice",
            "speed_limit": "high", "weather": "clear"}
    day = {**dark, "light": "daylight", "surface": "dry", "speed_limit": "low"}
    # independent roots: P(cell | contract) is the product of the acting factors' (normalised) probabilities
    expect_dark = 0.5 * 0.5 * 0.6 * cells.mass[cells.cell(dark)] / (0.5 * 0.5 * 0.6)
    assert cov.of([(sp.name, dark)]).mean == pytest.approx(expect_dark)
    assert cells.mass[cells.cell(dark)] / cells.mass[cells.cell(day)] == pytest.approx(0.5 * 0.5 * 0.6 / (0.1 * 0.2 * 0.1))
    same_world = {**dark, "driver_impaired": "substance"}  # a descriptive factor: the same cell
    assert cov.of([(sp.name, dark), (sp.name, same_world)]).mean == pytest.approx(expect_dark)
    both = cov.of([(sp.name, dark), (sp.name, day)])
    assert both.mean == pytest.approx(cells.mass[cells.cell(dark)] + cells.mass[cells.cell(day)])
    assert both.cells_covered == {sp.name: 2}
    assert cov.of([]).mean == 0.0


def test_ablation_networks_keep_the_graph_and_lose_the_data():
    cbn = crash_cbn()
    blind = blind_cbn(cbn)
    shuffled = shuffled_cbn(cbn, seed=3)
    assert blind.parents == cbn.parents == shuffled.parents
    for v, a in cbn.cpts.items():
        assert np.allclose(blind.cpts[v], 1.0 / a.shape[-1])
        assert sorted(shuffled.cpts[v].ravel()) == pytest.approx(sorted(a.ravel()))  # same numbers
    assert not np.allclose(shuffled.cpts["severity"], cbn.cpts["severity"])
    assert not np.allclose(shuffled.cpts["light"], cbn.cpts["light"])  # a root's single row: states permuted


def _coverage(method: str, rep: int, budget: int = 300) -> float:
    risk = CBNRisk(crash_cbn())
    sp = SeedSpace.of(_seed())
    ev = _evaluator(budget)
    build_method(method, MethodContext(risk, rep)).search(ev, [sp], np.random.default_rng(rep))
    assert ev.runs == budget
    return CrashCoverage(risk, [sp]).of_found(ev.valid.values()).mean


@pytest.mark.slow
def test_cbn_guided_covers_more_crash_mass_than_every_baseline_and_ablation():
    others = [m for m in method_names() if m not in ("cbn", "cbn_random_risk")]
    assert {"random", "ga", "natural", "cbn_blind", "cbn_shuffled"} <= set(others)
    cov = {m: [_coverage(m, rep) for rep in range(2)] for m in ["cbn", *others]}
    for m in others:
        assert np.mean(cov["cbn"]) > 1.3 * np.mean(cov[m]), cov
    for m in ("cbn_blind", "cbn_shuffled"):
        assert all(a < c for a, c in zip(cov[m], cov["cbn"], strict=True)), cov


def test_injury_risk_curves_follow_the_cited_thresholds():
    from adsgen.search.severity import INJURY_CURVES, injury_risk

    for ctype, (v10, source) in INJURY_CURVES.items():
        assert injury_risk(v10 / 3.6, ctype) == pytest.approx(0.10) and source
    # Tefft (2013): 10 % to 90 % over 17.1 to 48.1 mph, the slope every curve takes
    assert injury_risk((20 + 31.0 * 1.609344) / 3.6, "pedestrian") == pytest.approx(0.9)
    assert injury_risk(10.0, "pedestrian") > injury_risk(10.0, "angle") > injury_risk(10.0, "rear_end")
    assert set(INJURY_CURVES) == set(STATES["collision_type"])


def test_severity_agreement_ranks_collisions_per_seed_and_pooled():
    from adsgen.search.severity import Collision, severity_agreement

    risk = CBNRisk(crash_cbn())
    base = {**_seed().scenario.factors.model_dump(), "collision_type": "rear_end"}
    limits = ("low", "mid", "high")
    agree = [Collision("a", {**base, "speed_limit": lim}, 5.0 + 5.0 * i) for i, lim in enumerate(limits)]
    against = [Collision("b", {**base, "speed_limit": lim}, 20.0 - 5.0 * i) for i, lim in enumerate(limits)]
    got = severity_agreement(risk, agree + against)
    assert got.per_seed == {"a": 1.0, "b": -1.0} and got.collisions == 6
    assert severity_agreement(risk, []).pooled is None
