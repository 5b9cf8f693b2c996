"""``adsgen bench sim``: batched engine vs the per-scenario pure-Python loop, plus render time.

Both run the same scenarios -- drawn from the five seeds' parameter ranges and the light / weather /
surface states their contracts allow, 10 s horizon at 20 Hz -- against the IDM + AEB agent, in this one
process (numpy's element-wise kernels are single-threaded, so this is one core). Throughput is measured
in process CPU time (robust to other processes sharing the machine) and also reported in wall time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from adsgen.paths import SEEDS_DIR
from adsgen.provenance import utc_now, versions
from adsgen.scenario.io import load_seeds
from adsgen.scenario.mapping import instantiate
from adsgen.scenario.model import Scenario
from adsgen.sim.types import DT_S

_T = TypeVar("_T")

HORIZON_S = 10.0  # [s]


def bench_scenarios(n: int, seed: int = 0) -> list[Scenario]:
    """n scenarios, cycling through the five seeds, with sampled parameters and environment."""
    seeds = load_seeds(SEEDS_DIR)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        s = seeds[i % len(seeds)]
        factors = {}
        for var, states in (("light", ("daylight", "dawn_dusk", "dark_lighted", "dark_unlighted")),
                            ("weather", ("clear", "cloudy", "rain", "snow", "fog")),
                            ("surface", ("dry", "wet", "snow_ice"))):
            allowed = s.contract.get(var, list(states))
            factors[var] = str(rng.choice(allowed))
        params = {p.path: float(rng.uniform(p.low, p.high)) for p in s.parameters}
        sc = instantiate(s, factors, params, name=f"bench_{i:05d}")
        out.append(sc.model_copy(update={"horizon_s": HORIZON_S}))
    return out


def _timed(fn: Callable[[], _T]) -> tuple[float, float, _T]:
    """(process CPU seconds, wall seconds, result) of one call."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.process_time() - c0, time.perf_counter() - w0, out


def run_sim_bench(batch: int = 5000, loop_scenarios: int = 50, seed: int = 0, repeats: int = 2,
                  console=None) -> dict:
    """Measure (best of ``repeats`` timed runs each, after a warm-up) and print; returns the report dict."""
    from adsgen.sim.agents import get_agent
    from adsgen.sim.engine import BuiltinBackend
    from adsgen.sim.reference import run_loop

    scenarios = bench_scenarios(batch, seed)
    backend = BuiltinBackend()
    # warm-up: road templates, projection tables and content hashes are cached for both contenders
    backend.run(scenarios, get_agent("idm"), seed)
    runs = [_timed(lambda: backend.run(scenarios, get_agent("idm"), seed)) for _ in range(repeats)]
    cpu, wall, results = min(runs, key=lambda r: r[0])
    backend.close()
    sub = scenarios[:loop_scenarios]
    run_loop(sub[0], seed)
    loops = [_timed(lambda: [run_loop(sc, seed) for sc in sub]) for _ in range(repeats)]
    loop_cpu, loop_wall, _ = min(loops, key=lambda r: r[0])
    render_ms: float | None
    try:
        from adsgen.render.bench import render_ms as _render_ms
    except ImportError:  # no renderer: no render figure
        render_ms = None
    else:
        render_ms = round(float(_render_ms(800, 450)), 2)
    rps, loop_rps = batch / cpu, len(sub) / loop_cpu
    report = {
        "rollouts_per_s": round(rps, 1),
        "loop_rollouts_per_s": round(loop_rps, 1),
        "speedup_vs_loop": round(rps / loop_rps, 1),
        "render_ms": render_ms,
        "wall_rollouts_per_s": round(batch / wall, 1),
        "wall_loop_rollouts_per_s": round(len(sub) / loop_wall, 1),
        "bars": {"rollouts_per_s": 2000, "speedup_vs_loop": 20, "render_ms": 50},
        "batch": batch, "loop_scenarios": len(sub), "horizon_s": HORIZON_S, "dt_s": DT_S,
        "collisions_in_batch": int(sum(r.collided for r in results)),
        "repeats": repeats,
        "timer": "process CPU time, best of repeats after a warm-up, one process (numpy element-wise kernels "
                 "are single-threaded)",
        "provenance": {"seed": seed, "created": utc_now(), "versions": versions()},
    }
    if console is not None:
        from rich.table import Table

        t = Table(title=f"adsgen bench sim ({batch} rollouts, {HORIZON_S:.0f} s at {1 / DT_S:.0f} Hz)")
        for col in ("figure", "batched engine", "pure-Python loop", "ratio", "bar"):
            t.add_column(col)
        t.add_row("rollouts/s (CPU)", f"{rps:,.0f}", f"{loop_rps:,.0f}", f"{rps / loop_rps:.1f}x", ">= 2,000; >= 20x")
        t.add_row("rollouts/s (wall)", f"{batch / wall:,.0f}", f"{len(sub) / loop_wall:,.0f}", "", "")
        t.add_row("render_ms 800x450", "-" if render_ms is None else f"{render_ms:.1f}", "", "", "< 50")
        console.print(t)
    return report
