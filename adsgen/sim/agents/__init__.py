"""Agents under test and their registry.

``get_agent("idm")`` gives the default IDM + AEB agent. Other areas register theirs with
``register_agent(prefix, factory)``; a spec is ``prefix`` or ``prefix:argument`` (e.g. ``vlm:DIR``),
and the factory receives the argument (or None).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adsgen.errors import ConfigError
from adsgen.sim.agents.idm import IDMAgent, IDMParams, idm_accel
from adsgen.sim.agents.observation import (
    SIGNAL_GREEN,
    SIGNAL_NAMES,
    SIGNAL_NONE,
    SIGNAL_RED,
    SIGNAL_YELLOW,
    Action,
    Observation,
)
from adsgen.sim.agents.reference import OmniscientAgent, ReferenceAgent

AgentFactory = Callable[[str | None], Any]
AGENTS: dict[str, AgentFactory] = {}


def register_agent(prefix: str, factory: AgentFactory) -> None:
    """Register an agent factory under a spec prefix."""
    AGENTS[prefix] = factory


def _idm(arg: str | None) -> IDMAgent:
    if arg:
        raise ConfigError(f"agent 'idm' takes no argument, got 'idm:{arg}'")
    return IDMAgent()


register_agent("idm", _idm)


def _no_arg(cls):
    def factory(arg: str | None):
        if arg:
            raise ConfigError(f"agent {cls.name!r} takes no argument, got '{cls.name}:{arg}'")
        return cls()
    return factory


register_agent("reference", _no_arg(ReferenceAgent))


def _omniscient(arg: str | None) -> OmniscientAgent:
    if arg not in (None, "brake"):
        raise ConfigError(f"agent 'omniscient' takes no argument or 'brake' (braking only), got 'omniscient:{arg}'")
    return OmniscientAgent(evade=arg is None)


register_agent("omniscient", _omniscient)


def get_agent(spec: str) -> Any:
    """An agent from a spec string: 'idm', 'vlm:DIR', 'oracle', ..."""
    prefix, _, arg = spec.partition(":")
    if prefix not in AGENTS:
        _load_plugins()
    try:
        factory = AGENTS[prefix]
    except KeyError:
        raise ConfigError(f"unknown agent {spec!r}; expected one of {', '.join(sorted(AGENTS))}") from None
    return factory(arg or None)


def _load_plugins() -> None:
    """Import modules of other areas that register agents (only if present)."""
    import importlib

    for name in ("adsgen.drivelm.vlm.agent",):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


__all__ = ["Action", "Observation", "IDMAgent", "ReferenceAgent", "OmniscientAgent", "IDMParams", "idm_accel", "get_agent", "register_agent",
           "AGENTS", "SIGNAL_NONE", "SIGNAL_GREEN", "SIGNAL_YELLOW", "SIGNAL_RED", "SIGNAL_NAMES"]
