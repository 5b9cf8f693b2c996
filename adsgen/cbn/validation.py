"""The validation report of a learned CBN: what each figure is is documented in docs/cbn.md.

All figures are computed on held-out rows (never used for learning) unless said otherwise:

- held-out log-likelihood per row of the learned network against the empty graph (independent
  variables), with missing cells marginalised out;
- prediction of the outcome (severity) from the other variables: log-loss and accuracy against the
  marginal / majority baseline, Brier score of P(risky), and a calibration table;
- the conditional independences the graph implies (local Markov, checked by d-separation), each
  tested with a G-test, p-values adjusted by Benjamini-Hochberg;
- arc strengths: score loss when the arc is removed, and (with ``--bootstrap``) how often each arc
  appears and in which direction;
- agreement with pgmpy's PC; and, when the true graph is known, structural Hamming distances.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.special import chdtrc

from adsgen.cbn.compiled import CompiledCBN
from adsgen.cbn.encoding import CodedData
from adsgen.cbn.graphs import implied_independences


def heldout_loglik(model: CompiledCBN, empty: CompiledCBN, heldout: CodedData) -> dict:
    """Mean log-likelihood per held-out row (nats) of the model and of the empty graph."""
    codes = model.reorder_codes(heldout.codes.astype(np.int64), heldout.names)
    w = heldout.weights
    lp = model.log_prob_codes(codes)  # (distinct rows,)
    lp0 = empty.log_prob_codes(empty.reorder_codes(heldout.codes.astype(np.int64), heldout.names))
    n = float(w.sum())
    m, m0 = float((w * lp).sum() / n), float((w * lp0).sum() / n)
    return {"rows": int(round(n)), "model_nats_per_row": m, "empty_graph_nats_per_row": m0,
            "gain_nats_per_row": m - m0, "model_total_nats": float((w * lp).sum())}


def outcome_prediction(model: CompiledCBN, empty: CompiledCBN, heldout: CodedData, target: str,
                       risky_states: Sequence[str], bins: int = 10) -> dict:
    """Predict ``target`` from every other variable of each held-out row."""
    j = heldout.index(target)
    keep = heldout.codes[:, j] >= 0
    codes = model.reorder_codes(heldout.codes[keep].astype(np.int64), heldout.names)
    truth = heldout.codes[keep, j].astype(np.int64)
    w = heldout.weights[keep]
    n = float(w.sum())
    probs = model.query_codes(target, codes)  # (distinct rows, r)
    prior = empty.query(target)  # (r,) marginal from the training rows
    p_true = probs[np.arange(len(truth)), truth]
    states = list(model.states[target])
    risky = [states.index(s) for s in risky_states]
    risk = probs[:, risky].sum(axis=1)
    is_risky = np.isin(truth, risky).astype(np.float64)
    base_risk = float(prior[risky].sum())
    majority = int(np.argmax(prior))
    out: dict[str, Any] = {
        "target": target, "risky_states": list(risky_states), "rows": int(round(n)),
        "log_loss": float(-(w * np.log(p_true)).sum() / n),
        "baseline_log_loss": float(-(w * np.log(prior[truth])).sum() / n),
        "accuracy": float((w * (np.argmax(probs, axis=1) == truth)).sum() / n),
        "majority_state": states[majority],
        "majority_accuracy": float((w * (truth == majority)).sum() / n),
        "brier_risky": float((w * (risk - is_risky) ** 2).sum() / n),
        "baseline_brier_risky": float((w * (base_risk - is_risky) ** 2).sum() / n),
        "observed_risky_share": float((w * is_risky).sum() / n),
    }
    out["log_loss_gain"] = out["baseline_log_loss"] - out["log_loss"]
    # calibration: weighted quantile bins of the predicted risk
    order = np.argsort(risk, kind="stable")
    cum = np.cumsum(w[order]) / n
    bin_of = np.minimum((cum * bins - 1e-12).astype(np.int64), bins - 1)
    table = []
    ece = 0.0
    for b in range(bins):
        sel = order[bin_of == b]
        if len(sel) == 0:
            continue
        wb = w[sel]
        nb = float(wb.sum())
        pred = float((wb * risk[sel]).sum() / nb)
        obs = float((wb * is_risky[sel]).sum() / nb)
        ece += nb / n * abs(pred - obs)
        table.append({"bin": b + 1, "rows": int(round(nb)), "risk_low": float(risk[sel].min()),
                      "risk_high": float(risk[sel].max()), "mean_predicted": pred, "observed": obs})
    out["calibration"] = table
    out["expected_calibration_error"] = float(ece)
    return out


def g_test(data: CodedData, x: str, y: str, given: Sequence[str]) -> dict:
    """G-test of x _||_ y | given on complete cases: statistic, degrees of freedom, p-value, CMI (nats)."""
    cards = data.cards
    ix, iy = data.index(x), data.index(y)
    iz = [data.index(g) for g in given]
    cols = [ix, iy, *iz]
    mask = (data.codes[:, cols] >= 0).all(axis=1)
    c = data.codes[mask].astype(np.int64)
    w = data.weights[mask]
    qz = 1
    zkey = np.zeros(len(c), dtype=np.int64)
    for j in iz:
        zkey = zkey * cards[j] + c[:, j]
        qz *= cards[j]
    rx, ry = cards[ix], cards[iy]
    key = (zkey * rx + c[:, ix]) * ry + c[:, iy]
    n_xyz = np.bincount(key, weights=w, minlength=qz * rx * ry).reshape(qz, rx, ry)  # (z, x, y)
    n_xz = n_xyz.sum(axis=2, keepdims=True)  # (z, x, 1)
    n_yz = n_xyz.sum(axis=1, keepdims=True)  # (z, 1, y)
    n_z = n_xyz.sum(axis=(1, 2), keepdims=True)  # (z, 1, 1)
    pos = n_xyz > 0
    expected = np.where(pos, n_xz * n_yz / np.where(n_z > 0, n_z, 1), 1.0)
    g = float(2.0 * (n_xyz[pos] * np.log(n_xyz[pos] / expected[pos])).sum())
    dof = int((((n_xz[:, :, 0] > 0).sum(axis=1) - 1).clip(min=0)
               * ((n_yz[:, 0, :] > 0).sum(axis=1) - 1).clip(min=0)).sum())
    n = float(w.sum())
    p = float(chdtrc(dof, g)) if dof > 0 else 1.0  # chi-squared upper tail
    return {"x": x, "y": y, "given": list(given), "rows": int(round(n)), "g": g, "dof": dof, "p": p,
            "cmi_nats": g / (2 * n) if n > 0 else 0.0}


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (as ``scipy.stats.false_discovery_control(p, method="bh")``,
    written here because importing scipy.stats costs about a second of ``cbn learn``)."""
    n = len(p)
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)  # (n,)
    adjusted = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    out = np.empty(n)
    out[order] = adjusted
    return out


def independence_tests(data: CodedData, names: Sequence[str], edges: Sequence[tuple[str, str]],
                       fdr: float = 0.05) -> dict:
    """Test every local-Markov independence the graph implies; Benjamini-Hochberg over all of them."""
    tests = [g_test(data, x, y, z) for x, y, z in implied_independences(names, edges)]
    if tests:
        adj = benjamini_hochberg(np.array([t["p"] for t in tests]))
        for t, a in zip(tests, adj, strict=True):
            t["p_bh"] = float(a)
            t["rejected"] = bool(a < fdr)
    tests.sort(key=lambda t: -t["cmi_nats"])
    rejected = [t for t in tests if t["rejected"]]
    return {"method": "G-test per local Markov statement, Benjamini-Hochberg", "fdr": fdr,
            "tested": len(tests), "rejected": len(rejected),
            "max_cmi_nats": max((t["cmi_nats"] for t in tests), default=0.0), "tests": tests}


def pc_agreement(hc_edges: Sequence[tuple[str, str]], pc_directed: Sequence[tuple[str, str]],
                 pc_undirected: Sequence[tuple[str, str]]) -> dict:
    """How the hill-climbing graph and PC's pattern agree: shared adjacencies and orientations."""
    hc_sk = {frozenset(e) for e in hc_edges}
    pc_sk = {frozenset(e) for e in pc_directed} | {frozenset(e) for e in pc_undirected}
    same_dir = sum(1 for e in pc_directed if tuple(e) in set(map(tuple, hc_edges)))
    opposite = sum(1 for e in pc_directed if (e[1], e[0]) in set(map(tuple, hc_edges)))
    return {
        "pc_adjacencies": len(pc_sk), "hc_adjacencies": len(hc_sk), "shared": len(hc_sk & pc_sk),
        "only_hc": sorted(sorted(e) for e in hc_sk - pc_sk), "only_pc": sorted(sorted(e) for e in pc_sk - hc_sk),
        "skeleton_shd": len(hc_sk ^ pc_sk), "pc_directed": len(pc_directed),
        "pc_directed_same_as_hc": same_dir, "pc_directed_opposite_to_hc": opposite,
        "pc_edges_directed": [list(e) for e in pc_directed], "pc_edges_undirected": [list(e) for e in pc_undirected],
    }


def summary_figures(report: Mapping) -> dict:
    """The headline numbers copied into card.json."""
    out: dict = {}
    ll = report.get("heldout_loglik")
    if ll:
        out["heldout_nats_per_row"] = ll["model_nats_per_row"]
        out["heldout_gain_vs_empty_nats_per_row"] = ll["gain_nats_per_row"]
    pred = report.get("outcome_prediction")
    if pred:
        out["outcome_log_loss"] = pred["log_loss"]
        out["outcome_baseline_log_loss"] = pred["baseline_log_loss"]
        out["outcome_calibration_error"] = pred["expected_calibration_error"]
    ci = report.get("independence_tests")
    if ci:
        out["implied_independences_tested"] = ci["tested"]
        out["implied_independences_rejected"] = ci["rejected"]
    if report.get("pc"):
        out["pc_skeleton_shd"] = report["pc"].get("skeleton_shd")
    if report.get("known_graph"):
        out["skeleton_shd"] = report["known_graph"]["skeleton_shd"]
        out["cpdag_shd"] = report["known_graph"]["cpdag_shd"]
    return out


LOST_DEPENDENCE_P = 1e-6
"""Significance below which a marginal association the graph rules out is reported (``lost_dependences``)."""


def lost_dependences(data: CodedData, names: Sequence[str], edges: Sequence[tuple[str, str]],
                     p_max: float = LOST_DEPENDENCE_P) -> list[dict]:
    """Pairs the graph makes marginally independent (d-separated given nothing) whose marginal G-test on
    ``data`` has p < ``p_max``: a strong dependence the learned graph dropped (typically on a small sample,
    where the score's penalty outweighs it). Strongest first."""
    import networkx as nx

    from adsgen.cbn.graphs import digraph

    g = digraph(names, edges)
    out = []
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            if nx.is_d_separator(g, {x}, {y}, set()):
                t = g_test(data, x, y, ())
                if t["p"] < p_max:
                    out.append(t)
    out.sort(key=lambda t: t["p"])
    return out
