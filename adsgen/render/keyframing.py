"""Keyframes: camera frames of a scenario run at chosen times, on the builtin engine's snapshots."""

from __future__ import annotations

from collections.abc import Sequence

from adsgen.render.camera import CAMERA_NAMES
from adsgen.render.frame import Frame
from adsgen.render.renderer import render
from adsgen.sim.agents import get_agent
from adsgen.sim.engine import BuiltinBackend


def keyframes(scenario, agent="idm", seed: int = 0, times_s: Sequence[float] = (0.0,),
              cameras: Sequence[str] = ("CAM_FRONT",), *, scale: float = 0.5) -> list[Frame]:
    """Run ``scenario`` once on the builtin engine with ``agent`` (an Agent or a spec such as 'idm') and
    render each camera at each time (nearest 0.05 s step). Frames are ordered by time, then camera."""

    unknown = [c for c in cameras if c not in CAMERA_NAMES]
    if unknown:
        raise KeyError(f"unknown camera(s) {', '.join(unknown)}; expected some of {', '.join(CAMERA_NAMES)}")
    if isinstance(agent, str):
        agent = get_agent(agent)
    backend = BuiltinBackend()
    try:
        snaps = backend.snapshots(scenario, agent, seed, list(times_s))
    finally:
        backend.close()
    return [render(snap, cam, scale, weather_seed=seed * 100003 + i)
            for i, snap in enumerate(snaps) for cam in cameras]
