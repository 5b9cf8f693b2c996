"""Which simulator backend a campaign worker builds, and how.

A ``BackendSpec`` is a name plus options, small and picklable, so it travels to worker processes and Ray
actors, which build their own long-lived backend from it. The name is either a backend registered in
``adsgen.sim.backends`` (``builtin``, ``carla``, ...) or an import path ``package.module:Factory`` to any
callable taking the options as keyword arguments (how tests plug in fault-injecting backends).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

import yaml

from adsgen.errors import BackendError, ConfigError, InputError
from adsgen.registry import resolve_import
from adsgen.sim.agents import AGENTS
from adsgen.sim.backends import BACKENDS, get_backend


@dataclass(frozen=True)
class BackendSpec:
    """A backend to build: registry name or 'module:Factory', and keyword options."""

    name: str
    """Registry name (adsgen.sim.backends) or import path 'package.module:Factory'."""
    options: dict[str, Any] = field(default_factory=dict)
    """Keyword options for the backend (e.g. host, port for carla)."""

    def factory(self) -> Any:
        """The import path's callable, or None for a registry name (ConfigError when it cannot be found)."""
        if ":" not in self.name:
            if not BACKENDS.known(self.name):
                raise ConfigError(f"--backend {self.name!r}: unknown backend; expected one of "
                                  f"{', '.join(BACKENDS.names())} or module:Factory")
            return None
        return resolve_import(self.name, "--backend")

    @property
    def is_import_path(self) -> bool:
        """True for 'package.module:Factory' (code to import), False for a registry name."""
        return ":" in self.name

    def build(self) -> Any:
        """Build the backend (may raise BackendError when its server cannot be reached)."""
        factory = self.factory()
        if factory is not None:
            return factory(**self.options)

        return get_backend(self.name, **self.options)


@dataclass(frozen=True)
class ImportTrust:
    """Which import paths ('package.module:Factory') read from a file (a campaign database) may be imported.

    Files are data: a backend or agent stored as an import path runs only when the user names it again on
    the command line (``--backend`` / ``--agent``) or passes ``--trust-imports``. Registry names always run.
    """

    names: frozenset[tuple[str, str]] = frozenset()
    """(kind, import path) the user named on the command line: ('backend', 'pkg.mod:Factory'), ('agent', ...)."""
    everything: bool = False
    """--trust-imports: import any stored path."""

    def check(self, kind: str, name: str, source: str) -> None:
        """InputError when NAME (a stored backend or agent spec) is an import path the user did not allow."""
        if self.everything or (kind, name) in self.names or not is_import_spec(kind, name):
            return
        raise InputError(f"{source}: the stored {kind} {_shown(name)} is an import path (code), not a registered "
                         f"{kind}; it runs only when named again with --{kind} {_shown(name)} or with --trust-imports")


def _shown(name: str, limit: int = 80) -> str:
    text = repr(name)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def is_import_spec(kind: str, name: str) -> bool:
    """True when a backend / agent spec would be imported as 'module:Factory' rather than found in a registry."""
    if kind == "backend":
        return BackendSpec(name).is_import_path
    return not AGENTS.known(name.partition(":")[0])


def parse_hosts(text: str | None) -> list[tuple[str, int]]:
    """'host:port,host:port' -> [(host, port), ...] (ConfigError on a malformed entry)."""
    if not text:
        return []
    out = []
    for item in text.split(","):
        item = item.strip()
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"--carla-hosts: {item!r} is not host:port (e.g. 10.0.0.5:2000)")
        out.append((host, int(port)))
    if len(set(out)) != len(out):
        raise ConfigError("--carla-hosts: a host:port is listed twice")
    return out


def check_reachable(hosts: list[tuple[str, int]], timeout_s: float = 3.0) -> None:
    """Open a TCP connection to each host:port; BackendError naming the first that does not answer."""
    for host, port in hosts:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                pass
        except OSError as exc:
            raise BackendError(f"--carla-hosts: cannot reach a CARLA server at {host}:{port} "
                               f"({exc.strerror or exc}); is the server running and the port open?") from None


def parse_options(items: list[str] | None) -> dict[str, Any]:
    """['key=value', ...] -> {key: value}, each value read as a YAML scalar (numbers, booleans, strings)."""

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--backend-opt: {item!r} is not key=value")
        try:
            out[key.strip()] = yaml.safe_load(value) if value.strip() else ""
        except yaml.YAMLError:
            out[key.strip()] = value
    return out
