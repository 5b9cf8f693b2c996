"""adsgen.sim: the simulation seam.

* ``adsgen.sim.types`` -- RunResult, TerminationReason, the Agent and Backend protocols, DT_S.
* ``adsgen.sim.backends.get_backend(name, **options)`` -- "builtin" (``adsgen.sim.engine``), "carla".
* ``adsgen.sim.episode`` -- the episode owner: ``run_episode(world, agent, seed, Referee(bt))`` owns the tick
  order, termination, metrics and RunResult assembly for every backend (a backend is a ``World``).
* ``adsgen.sim.fault`` -- the at-fault rules that fill ``RunResult.at_fault`` / ``fault_rule``.
* ``adsgen.sim.stepper`` -- the engine's public per-step API (compile a batch, advance it one step, read
  its metrics), shared by the engine's world and the CARLA bridge.
* ``adsgen.sim.agents.get_agent(spec)`` -- "idm" (IDM + AEB), plus agents other areas register.
* ``adsgen.sim.metrics`` -- TTC, box distance, PET as pure vectorised functions.
* ``adsgen.sim.snapshot`` -- WorldSnapshot, what renderers and image agents see.
"""

from adsgen.sim.types import DT_S, Agent, Backend, RunResult, TerminationReason

__all__ = ["DT_S", "Agent", "Backend", "RunResult", "TerminationReason"]
