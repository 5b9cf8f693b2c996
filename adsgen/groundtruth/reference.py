"""The SYNTHETIC reference network: a documented, made-up causal Bayesian network over the canonical
crash variables, used to generate synthetic crash tables and to test structure learning against a
known graph.

It is NOT learned from real data. Its structure and tables are chosen to be plausible and to match a
few published shares (Maryland / Montgomery County open data, see docs/crashdata.md): about a third
of crashes are rear-end; severity is about 70 % property damage, 29 % injury, under 1 % fatal; the
risk of an injury or fatal crash rises with darkness, bad weather, slippery surfaces and speed.
Every arc's effect is strong enough for score-based structure learning to find it from 200k rows.

Representation (plain data, no pgmpy objects):

- ``reference_edges()`` -> list of (parent, child) arcs, respecting ``adsgen.variables.TIERS``.
- ``reference_cpds()`` -> {variable: Cpd}; ``Cpd.table`` is a numpy array shaped
  ``(*parent_cards, card)``: the last axis is the child's state (in ``STATES`` order), the leading
  axes are the parents in ``Cpd.parents`` order; each row sums to one.
  Multi-parent tables are built from a base table and additive log-odds offsets per parent state
  (a log-linear model), written below as plain numbers.
- ``sample_canonical(rows, seed)`` -> canonical DataFrame, vectorised ancestral sampling
  (adsgen.groundtruth.sampling).

The pgmpy form of the network (for BIF files) is built on the cbn floor: ``adsgen cbn reference``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from adsgen.groundtruth.sampling import Family, exact_joint, forward_sample
from adsgen.variables import NAMES, STATES, TIERS

SYNTHETIC_NOTE = (
    "SYNTHETIC: sampled from adsgen's made-up reference network (adsgen.groundtruth.reference), "
    "not real crash records."
)


@dataclass(frozen=True)
class Cpd:
    """One conditional probability table of the reference network."""

    variable: str
    """Child variable (a canonical variable name)."""
    parents: tuple[str, ...]
    """Parent variables, in the order of the table's leading axes."""
    table: np.ndarray
    """P(variable | parents), shape (*parent_cards, card); the last axis sums to 1."""


# ---------------------------------------------------------------------------------------------
# Structure. Each arc with the reason it is there.
# ---------------------------------------------------------------------------------------------
_EDGES: tuple[tuple[str, str, str], ...] = (
    ("weather", "surface", "rain makes roads wet, snow makes them icy"),
    ("light", "surface", "at night dew and black ice are more common under the same weather"),
    ("light", "speed_limit", "unlighted crash sites are mostly rural high-speed roads"),
    ("light", "driver_impaired", "alcohol and drugs are far more common in night-time crashes"),
    ("road_layout", "traffic_control", "signals and stop signs sit at junctions"),
    ("road_layout", "speed_limit", "ramps are high-speed, T-junctions mostly low-speed streets"),
    ("road_layout", "other_movement", "turning happens at junctions, lane changes on ramps"),
    ("traffic_control", "other_movement", "signals and stop signs make traffic stop and turn"),
    ("driver_impaired", "other_movement", "impaired drivers keep going or weave instead of slowing"),
    ("road_layout", "collision_type", "curves give head-on and run-off crashes, junctions angle"),
    ("surface", "collision_type", "slippery roads give run-off (single-vehicle) and head-on crashes"),
    ("other_movement", "collision_type", "stopping gives rear-ends, turning left gives left-turn crashes"),
    ("collision_type", "severity", "head-on and pedestrian crashes injure; sideswipes rarely do"),
    ("speed_limit", "severity", "impact energy grows with speed"),
    ("driver_impaired", "severity", "impaired drivers crash harder (no braking, no belt)"),
)


def reference_edges() -> list[tuple[str, str]]:
    """The reference network's arcs as (parent, child) pairs (15 arcs)."""
    return [(a, b) for a, b, _ in _EDGES]


def edge_reasons() -> dict[tuple[str, str], str]:
    """Why each arc is in the reference network (for docs and reports)."""
    return {(a, b): why for a, b, why in _EDGES}


# ---------------------------------------------------------------------------------------------
# Tables. Probabilities in STATES order; offsets are natural-log odds multipliers.
# ---------------------------------------------------------------------------------------------
def _norm(p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return p / p.sum(axis=-1, keepdims=True)


def _loglinear(base: np.ndarray, *offsets: np.ndarray) -> np.ndarray:
    """Combine a base table with per-parent log-odds offsets.

    ``base`` is shaped (k0, card) (the first parent's rows) or (card,); each offset is shaped
    (k_i, card) for one further parent. Result: (k0, k1, ..., card), rows normalised.
    """
    logits = np.log(base)
    for off in offsets:
        logits = logits[..., None, :] + off  # append one parent axis before the state axis
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _tables() -> dict[str, Cpd]:
    """Every table, tier by tier."""
    return {**_environment_tables(), **_road_tables(), **_behaviour_tables(), **_crash_tables()}


def _environment_tables() -> dict[str, Cpd]:
    t: dict[str, Cpd] = {}
    # light: daylight, dawn_dusk, dark_lighted, dark_unlighted
    t["light"] = Cpd("light", (), _norm([0.64, 0.05, 0.21, 0.10]))
    # weather: clear, cloudy, rain, snow, fog
    t["weather"] = Cpd("weather", (), _norm([0.70, 0.14, 0.12, 0.025, 0.015]))
    # road_layout: straight, curve, intersection, t_junction, ramp
    t["road_layout"] = Cpd("road_layout", (), _norm([0.42, 0.08, 0.32, 0.10, 0.08]))
    return t


def _road_tables() -> dict[str, Cpd]:
    t: dict[str, Cpd] = {}
    # surface | weather, light: dry, wet, snow_ice
    surface_by_weather = _norm([
        [0.95, 0.04, 0.01],   # clear
        [0.86, 0.12, 0.02],   # cloudy
        [0.10, 0.88, 0.02],   # rain
        [0.08, 0.22, 0.70],   # snow
        [0.55, 0.42, 0.03],   # fog
    ])
    surface_light_offset = np.array([
        [0.0, 0.0, 0.0],      # daylight
        [0.0, 0.5, 0.5],      # dawn_dusk
        [0.0, 1.0, 1.0],      # dark_lighted
        [0.0, 1.3, 1.6],      # dark_unlighted
    ])
    t["surface"] = Cpd("surface", ("weather", "light"), _loglinear(surface_by_weather, surface_light_offset))

    # traffic_control | road_layout: none, signal, stop_sign
    t["traffic_control"] = Cpd("traffic_control", ("road_layout",), _norm([
        [0.92, 0.06, 0.02],   # straight
        [0.95, 0.03, 0.02],   # curve
        [0.22, 0.58, 0.20],   # intersection
        [0.35, 0.20, 0.45],   # t_junction
        [0.80, 0.17, 0.03],   # ramp
    ]))

    # speed_limit | road_layout, light: low, mid, high
    speed_by_road = _norm([
        [0.20, 0.52, 0.28],   # straight
        [0.15, 0.45, 0.40],   # curve
        [0.22, 0.60, 0.18],   # intersection
        [0.40, 0.50, 0.10],   # t_junction
        [0.03, 0.25, 0.72],   # ramp
    ])
    speed_light_offset = np.array([
        [0.0, 0.0, 0.0],      # daylight
        [0.0, 0.0, 0.3],      # dawn_dusk
        [0.2, 0.1, 0.0],      # dark_lighted: urban lit streets
        [-0.6, 0.0, 1.2],     # dark_unlighted: rural highways
    ])
    t["speed_limit"] = Cpd("speed_limit", ("road_layout", "light"), _loglinear(speed_by_road, speed_light_offset))
    return t


def _behaviour_tables() -> dict[str, Cpd]:
    t: dict[str, Cpd] = {}
    # driver_impaired | light: no, distracted, substance
    t["driver_impaired"] = Cpd("driver_impaired", ("light",), _norm([
        [0.75, 0.235, 0.015],  # daylight
        [0.73, 0.24, 0.03],    # dawn_dusk
        [0.70, 0.19, 0.11],    # dark_lighted
        [0.63, 0.17, 0.20],    # dark_unlighted
    ]))

    # other_movement | road_layout, traffic_control, driver_impaired:
    # straight, slowing_stopped, turning_left, turning_right, changing_lanes
    move_by_road = _norm([
        [0.34, 0.42, 0.05, 0.04, 0.15],  # straight
        [0.60, 0.22, 0.05, 0.05, 0.08],  # curve
        [0.22, 0.32, 0.28, 0.14, 0.04],  # intersection
        [0.20, 0.28, 0.26, 0.22, 0.04],  # t_junction
        [0.30, 0.30, 0.03, 0.05, 0.32],  # ramp
    ])
    move_control_offset = np.array([
        [0.0, 0.0, 0.0, 0.0, 0.0],       # none
        [-0.4, 0.8, 0.7, 0.0, -0.6],     # signal
        [0.4, 0.8, 0.1, 0.7, -1.0],      # stop_sign
    ])
    move_impaired_offset = np.array([
        [0.0, 0.0, 0.0, 0.0, 0.0],       # no
        [0.7, -0.4, 0.0, 0.0, 0.2],      # distracted: keeps going
        [0.8, -0.6, 0.2, -0.2, 0.9],     # substance: keeps going, weaves
    ])
    t["other_movement"] = Cpd("other_movement", ("road_layout", "traffic_control", "driver_impaired"),
                              _loglinear(move_by_road, move_control_offset, move_impaired_offset))
    return t


def _crash_tables() -> dict[str, Cpd]:
    t: dict[str, Cpd] = {}
    # collision_type | road_layout, surface, other_movement:
    # rear_end, angle, left_turn, head_on, sideswipe, pedestrian, single_vehicle
    coll_by_road = np.array([
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],        # straight
        [-0.4, -1.0, -1.2, 1.1, 0.0, -0.8, 1.2],    # curve
        [-0.2, 0.8, 0.5, -0.3, -0.3, 0.3, -0.7],    # intersection
        [-0.1, 0.9, 0.3, -0.3, -0.3, 0.1, -0.4],    # t_junction
        [0.3, -0.6, -1.6, -1.2, 0.6, -2.0, 0.3],    # ramp
    ])
    coll_by_surface = np.array([
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],        # dry
        [0.2, 0.3, 0.0, 1.0, 0.0, 0.0, 1.2],        # wet
        [0.3, 0.4, 0.0, 1.6, 0.0, 0.0, 2.1],        # snow_ice
    ])
    coll_by_movement = np.array([
        [0.30, 0.20, 0.03, 0.06, 0.10, 0.09, 0.22],  # straight
        [0.80, 0.06, 0.02, 0.01, 0.05, 0.02, 0.04],  # slowing_stopped
        [0.05, 0.20, 0.58, 0.04, 0.05, 0.05, 0.03],  # turning_left
        [0.10, 0.42, 0.03, 0.02, 0.22, 0.12, 0.09],  # turning_right
        [0.14, 0.08, 0.01, 0.05, 0.62, 0.01, 0.09],  # changing_lanes
    ])
    # build (road, surface, movement, card) from log base of road x surface plus movement base
    logits = (coll_by_road[:, None, None, :] + coll_by_surface[None, :, None, :]
              + np.log(coll_by_movement)[None, None, :, :])  # (5, 3, 5, 7)
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    t["collision_type"] = Cpd("collision_type", ("road_layout", "surface", "other_movement"),
                              z / z.sum(axis=-1, keepdims=True))

    # severity | collision_type, speed_limit, driver_impaired: property_damage, injury, fatal
    # log-odds of (injury, fatal) against property damage
    sev_collision = np.array([
        [-1.58, -6.8],   # rear_end
        [-1.03, -5.6],   # angle
        [-0.83, -5.2],   # left_turn
        [-0.08, -3.6],   # head_on
        [-2.28, -7.4],   # sideswipe
        [1.62, -2.4],    # pedestrian
        [-0.68, -4.4],   # single_vehicle
    ])
    sev_speed = np.array([[-0.50, -1.2], [0.0, 0.0], [0.55, 1.2]])        # low, mid, high
    sev_impaired = np.array([[0.0, 0.0], [0.40, 0.5], [1.25, 1.8]])      # no, distracted, substance
    lo = (sev_collision[:, None, None, :] + sev_speed[None, :, None, :]
          + sev_impaired[None, None, :, :])                                 # (7, 3, 3, 2)
    full = np.concatenate([np.zeros(lo.shape[:-1] + (1,)), lo], axis=-1)  # (7, 3, 3, 3)
    z = np.exp(full - full.max(axis=-1, keepdims=True))
    t["severity"] = Cpd("severity", ("collision_type", "speed_limit", "driver_impaired"),
                        z / z.sum(axis=-1, keepdims=True))
    return t


@lru_cache(maxsize=1)
def _cached() -> dict[str, Cpd]:
    cpds = _tables()
    edges = set(reference_edges())
    for var, cpd in cpds.items():
        expected = tuple(len(STATES[p]) for p in cpd.parents) + (len(STATES[var]),)
        assert cpd.table.shape == expected, (var, cpd.table.shape, expected)
        assert np.allclose(cpd.table.sum(axis=-1), 1.0)
        assert all((p, var) in edges for p in cpd.parents)
        assert all(TIERS[p] <= TIERS[var] for p in cpd.parents)
        cpd.table.setflags(write=False)
    assert sum(len(c.parents) for c in cpds.values()) == len(edges)
    return cpds


def reference_cpds() -> dict[str, Cpd]:
    """{variable: Cpd} for all ten canonical variables (tables are read-only numpy arrays)."""
    return dict(_cached())


def topological_order() -> list[str]:
    """Canonical variables ordered so every parent comes before its children."""
    cpds = _cached()
    done: list[str] = []
    while len(done) < len(NAMES):
        for v in NAMES:
            if v not in done and all(p in done for p in cpds[v].parents):
                done.append(v)
    return done


def network() -> dict[str, Family]:
    """The network as plain tables: {variable: (parents, table)} (adsgen.groundtruth.sampling's form)."""
    return {v: (c.parents, c.table) for v, c in _cached().items()}


def sample_codes(rows: int, seed: int) -> dict[str, np.ndarray]:
    """Ancestral sample as integer state codes: {variable: int16 array shaped (rows,)}."""
    return forward_sample(network(), topological_order(), rows, seed)


def codes_to_frame(codes: dict[str, np.ndarray]) -> pd.DataFrame:
    """Integer codes (-1 = missing) to a canonical DataFrame of pandas Categoricals."""
    return pd.DataFrame({
        v: pd.Categorical.from_codes(codes[v].astype(np.int64), categories=list(STATES[v]))
        for v in NAMES if v in codes
    })


def sample_canonical(rows: int, seed: int) -> pd.DataFrame:
    """Sample ``rows`` crashes from the reference network.

    Returns a DataFrame with one pandas Categorical column per canonical variable (categories =
    ``STATES[var]`` in order), in ``adsgen.variables.NAMES`` order. Deterministic for a seed.
    """
    if rows < 0:
        raise ValueError("rows must be >= 0")
    return codes_to_frame(sample_codes(rows, seed))


def exact_marginals() -> dict[str, np.ndarray]:
    """Exact marginal distribution of every variable (the joint over all ten variables has 6.3M cells,
    small enough for an exact einsum)."""
    return {v: exact_joint(network(), [v]) for v in NAMES}


def risk_given(variable: str) -> np.ndarray:
    """P(severity in {injury, fatal} | variable = s) for each state s of ``variable`` (exact)."""
    joint = exact_joint(network(), [variable, "severity"])  # (card_variable, 3)
    cond = joint / joint.sum(axis=1, keepdims=True)
    return cond[:, 1:].sum(axis=1)


def reference_graph_dict() -> dict:
    """The reference graph as a JSON-ready dict (variables, states, tiers, arcs with reasons)."""
    return {
        "synthetic": True,
        "note": SYNTHETIC_NOTE,
        "variables": [{"name": v, "tier": TIERS[v], "states": list(STATES[v]),
                       "parents": list(_cached()[v].parents)} for v in NAMES],
        "edges": [{"from": a, "to": b, "why": why} for a, b, why in _EDGES],
        "cpds": {v: {"parents": list(c.parents), "shape": list(c.table.shape),
                     "table": np.round(c.table, 10).tolist()} for v, c in _cached().items()},
    }


def write_reference_graph(path: str | Path) -> Path:
    """Write the reference graph (structure and tables) as JSON."""
    path = Path(path)
    path.write_text(json.dumps(reference_graph_dict(), indent=1) + "\n")
    return path
