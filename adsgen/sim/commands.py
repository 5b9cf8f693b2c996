"""``adsgen simulate`` and ``adsgen bench sim``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from adsgen.errors import ConfigError
from adsgen.jsonout import check_json_target, json_annotation, to_stdout, write_json
from adsgen.sim.backends import backend_options
from adsgen.sim.vocabulary import FailOn


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return "inf" if math.isinf(v) else f"{v:.3f}"
    return str(v)


def simulate(
    scenario: Annotated[Path, typer.Argument(help="Scenario or seed YAML file (a seed runs its nominal scenario).")],
    agent: Annotated[str, typer.Option(help="Agent under test: idm, or one another area registered (vlm:DIR, ...).")] = "idm",
    backend: Annotated[str, typer.Option(help="Simulator backend: builtin, carla.")] = "builtin",
    carla_host: Annotated[str | None, typer.Option(
        "--carla-host", help="CARLA server HOST[:PORT] for --backend carla (default: $CARLA_HOST, else localhost:2000).",
    )] = None,
    seed: Annotated[int, typer.Option(help="Run seed (sensing misses and other agent randomness).")] = 0,
    render: Annotated[Path | None, typer.Option(help="Write keyframes (PNG: the camera that shows the hazard, and a bird's-eye view) of the run into this folder.")] = None,
    json_out: Annotated[str | None, json_annotation("the RunResult (with provenance)")] = None,
    trajectories: Annotated[bool, typer.Option(help="Include trajectories in the JSON.")] = False,
    judge: Annotated[bool, typer.Option(help=(
        "Judge a high-risk run: re-run it with the careful-driver reference and the omniscient check and "
        "print the verdict (see docs/search.md)."))] = True,
    fail_on: Annotated[FailOn | None, typer.Option("--fail-on", help=(
        "Exit 1 when the run meets this: valid-failure (the judge blames the agent), collision, or near-miss "
        "(a collision or min TTC under the threshold). Without it the exit code is 0 whatever the run found."
    ))] = None,
) -> None:
    """Run one scenario and print its finding first, then its RunResult (a high-risk run with its verdict)."""
    from rich.console import Console
    from rich.table import Table

    from adsgen.outputs import check_output
    from adsgen.provenance import file_fingerprint, versions
    from adsgen.scenario.io import load_scenario
    from adsgen.sim.agents import get_agent
    from adsgen.sim.backends import get_backend
    from adsgen.sim.judge import REFERENCE_AGENTS, check_can_judge
    from adsgen.sim.judge import judge as judge_runs

    check_json_target(json_out, (scenario,))
    if render is not None:
        check_output(render, (scenario,), folder=True, option="--render", make_parents=True)
    options = backend_options(backend, carla_host)
    sc = load_scenario(scenario)
    ag = get_agent(agent)
    be = get_backend(backend, **options)
    judging = judge and agent not in REFERENCE_AGENTS
    try:
        if judging:
            check_can_judge(be)
        result = be.run([sc], ag, seed, record_trajectories=trajectories or render is not None)[0]
        if judging:
            judge_runs([result], [sc], be, seed, evasive_runs=None)
    finally:
        be.close()
    from adsgen.sim.vocabulary import run_finding, run_meets

    console = Console(stderr=to_stdout(json_out))
    console.print(f"{sc.name}: {run_finding(result)}", highlight=False)
    table = Table(title=f"{sc.name}  ({backend}, agent {agent}, seed {seed})", show_header=False)
    d = result.to_dict()
    for key in ("termination", "duration_s", "collision_partner", "impact_speed_mps", "collision_time_s",
                "min_ttc_s", "min_distance_m", "pet_s", "at_fault", "reference_outcome", "omniscient_outcome",
                "verdict"):
        table.add_row(key, _fmt(d[key]))
    console.print(table)
    if json_out is not None:
        d = result.to_dict()
        if not trajectories:
            d["trajectories"] = None
        d["provenance"] = {"scenario_file": str(scenario), "scenario_fingerprint": file_fingerprint(scenario),
                           "agent": agent, "backend": backend, "seed": seed, "versions": versions()}
        if write_json(json_out, d) != "-":
            console.print(f"wrote {json_out}")
    if render is not None:
        _render_keyframes(sc, agent, seed, result, render, console)
    if fail_on is not None and run_meets(result, fail_on):
        console.print(f"--fail-on {fail_on.value}: the run meets it (exit 1)", highlight=False)
        raise typer.Exit(1)


def _render_keyframes(sc, agent: str, seed: int, result, out: Path, console) -> None:
    """The run's key moments (adsgen.render.moments): camera frame (+ depth) and bird's-eye view of each."""
    try:
        from adsgen.render import save_frame, save_png
        from adsgen.render.moments import frame_stem, moment_frames
    except ImportError:
        console.print("--render: the renderer (adsgen.render) is not available in this installation; "
                      "no images written")
        return
    from adsgen.render.bev import bev
    from adsgen.render.moments import BEV_EXTENT_M
    from adsgen.sim.agents import get_agent
    from adsgen.sim.engine import BuiltinBackend

    out.mkdir(parents=True, exist_ok=True)
    backend = BuiltinBackend()
    try:
        moments = moment_frames(backend, sc, get_agent(agent), seed, result.to_dict(), scale=0.5)
    finally:
        backend.close()
    for m, frame, snap in moments:
        save_frame(frame, out, stem=frame_stem(sc.name, m.time_s, frame.camera))
        save_png(bev(snap, extent_m=BEV_EXTENT_M), out / f"{frame_stem(sc.name, m.time_s, 'BEV')}.png")
        console.print(f"  {m.label} at t = {m.time_s:.2f} s", highlight=False)
    console.print(f"wrote {len(moments)} keyframes (the camera that shows the hazard, and a bird's-eye view) to {out}")


def bench_sim(
    json_out: Annotated[str | None, json_annotation("the figures")] = None,
    batch: Annotated[int, typer.Option(help="Scenarios per batch (drawn from the five seeds' parameter ranges).")] = 5000,
    loop_scenarios: Annotated[int, typer.Option(help="Scenarios run through the pure-Python loop baseline.")] = 50,
    seed: Annotated[int, typer.Option(help="Sampling and run seed.")] = 0,
    repeats: Annotated[int, typer.Option(help="Timed runs of each contender (the best counts).")] = 2,
) -> None:
    """Rollouts per second of the batched engine vs a per-scenario pure-Python loop, and render time."""
    from rich.console import Console

    from adsgen.sim.bench import run_sim_bench

    if batch < 1 or loop_scenarios < 1 or repeats < 1:
        raise ConfigError("--batch, --loop-scenarios and --repeats must be at least 1")
    check_json_target(json_out)
    console = Console(stderr=to_stdout(json_out))
    report = run_sim_bench(batch=batch, loop_scenarios=loop_scenarios, seed=seed, repeats=repeats, console=console)
    if write_json(json_out, report) not in (None, "-"):
        console.print(f"wrote {json_out}")


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.command("simulate")(simulate)
    bench_app.command("sim")(bench_sim)
