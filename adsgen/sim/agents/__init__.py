"""Agents under test and their registry.

``get_agent("idm")`` gives the default IDM + AEB agent. Other areas register theirs with
``register_agent(prefix, factory)``; a spec is ``prefix`` or ``prefix:argument`` (e.g. ``vlm:DIR``),
and the factory receives the argument (or None).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adsgen.errors import ConfigError
from adsgen.registry import Registry
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
AGENTS: Registry[AgentFactory] = Registry("agent", plugins={"vlm": "adsgen.drivelm.vlm.agent",
                                                            "oracle": "adsgen.drivelm.vlm.agent"})
"""Agent factories by spec prefix; "vlm" and "oracle" are registered by the VLM agent, imported on first use."""


def register_agent(prefix: str, factory: AgentFactory) -> None:
    """Register an agent factory under a spec prefix."""
    AGENTS.register(prefix, factory)


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
    return AGENTS.lookup(prefix, shown=spec)(arg or None)


__all__ = ["Action", "Observation", "IDMAgent", "ReferenceAgent", "OmniscientAgent", "IDMParams", "idm_accel", "get_agent", "register_agent",
           "AGENTS", "SIGNAL_NONE", "SIGNAL_GREEN", "SIGNAL_YELLOW", "SIGNAL_RED", "SIGNAL_NAMES"]
