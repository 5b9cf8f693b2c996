"""Reaching a CARLA server: a quick TCP probe, the client, and the server/client version check.

CARLA's ``carla.Client`` does not fail fast: every call waits its whole timeout when nothing listens.
So :func:`connect` first opens a plain TCP connection to the RPC port (``probe_tcp``, ~1 s), and only
then builds the client. Version rules (client 0.9.16, from PyPI):

- server == client (major.minor.patch): fine;
- server 0.9.15 with client 0.9.16 (or the reverse): a warning; the calls the bridge makes exist in both;
- anything else (0.9.14 and older, 0.10 / UE5 builds): ``BackendError``; the RPC protocol differs and the
  server would misbehave in ways that look like simulation results.
"""

from __future__ import annotations

import re
import socket
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adsgen.errors import BackendError, ConfigError
from carla_bridge._carla import import_carla
from carla_bridge.probe import probe_rpc

DEFAULT_PORT = 2000  # CARLA's default RPC port (the streaming port is port + 1)
PROBE_TIMEOUT_S = 1.0  # [s] TCP probe before the client is built
COMPATIBLE_SERVERS = {(0, 9, 16): {(0, 9, 16), (0, 9, 15)}}
"""Client version -> server versions it can drive (the first of a pair warns when they differ)."""

ClientFactory = Callable[[str, int], Any]
"""(host, port) -> a carla.Client-like object; tests pass a fake (carla_bridge.testing)."""


class VersionMismatchWarning(UserWarning):
    """The server's CARLA version differs from the client's but is known to work."""


def parse_host_port(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """'host', 'host:port' or '[v6]:port' -> (host, port); ConfigError on anything else."""
    text = text.strip()
    m = re.fullmatch(r"\[([0-9a-fA-F:.]+)\](?::(\d+))?|([^:\s\[\]]+)(?::(\d+))?", text)
    if not m:
        raise ConfigError(f"--carla-host {text!r}: expected HOST or HOST:PORT, e.g. localhost:2000")
    host = m.group(1) or m.group(3)
    port_text = m.group(2) or m.group(4)
    port = int(port_text) if port_text else default_port
    if not 0 < port < 65536:
        raise ConfigError(f"--carla-host {text!r}: port {port} is outside 1-65535")
    return host, port


def probe_tcp(host: str, port: int, timeout_s: float = PROBE_TIMEOUT_S) -> float:
    """Open and close a TCP connection; the round-trip time [s], or BackendError naming host:port."""
    t0 = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, socket.timeout) else (exc.strerror or str(exc))
        raise BackendError(
            f"CARLA server at {host}:{port} is not reachable ({reason} after {timeout_s:g} s probe); "
            "is the CARLA server running there, and is HOST:PORT right?") from exc
    return time.perf_counter() - t0


def parse_version(text: str) -> tuple[int, int, int] | None:
    """'0.9.16', '0.9.16-dirty', '0.9.15.2' -> (0, 9, 16) / (0, 9, 15); None when unparseable."""
    m = re.match(r"\s*v?(\d+)\.(\d+)\.(\d+)", str(text))
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


@dataclass(frozen=True)
class VersionCheck:
    """The outcome of comparing the server's and the client's CARLA versions."""

    client: str
    server: str
    status: str
    """'ok', 'warn' (known to work, differs) or 'error' (unsupported)."""
    message: str


def check_versions(client_version: str, server_version: str) -> VersionCheck:
    """Apply the rules of this module's docstring (pure; :func:`connect` acts on the result)."""
    c, s = parse_version(client_version), parse_version(server_version)
    if c is None or s is None:
        return VersionCheck(client_version, server_version, "error",
                            f"cannot read CARLA versions (client {client_version!r}, server {server_version!r})")
    if c == s:
        return VersionCheck(client_version, server_version, "ok", f"client and server are both {client_version}")
    if s in COMPATIBLE_SERVERS.get(c, set()):
        return VersionCheck(client_version, server_version, "warn",
                            f"CARLA server {server_version} differs from client {client_version}; "
                            "this pair is supported, but install carla=={server_version} for exact parity")
    return VersionCheck(client_version, server_version, "error",
                        f"CARLA server {server_version} is not supported by client {client_version} "
                        "(supported servers: 0.9.15, 0.9.16); run a matching server")


def default_client_factory(host: str, port: int) -> Any:
    """A real carla.Client, built only after the port answered CARLA's RPC handshake (carla_bridge.probe): the
    client aborts the whole process on a port that speaks another protocol."""

    carla = import_carla()
    probe_rpc(host, port)
    return carla.Client(host, port)


def connect(host: str, port: int, timeout_s: float, *, client_factory: ClientFactory | None = None,
            probe_timeout_s: float = PROBE_TIMEOUT_S, strict_version: bool = False) -> tuple[Any, VersionCheck]:
    """Probe, build the client, check versions. Returns (client, VersionCheck).

    BackendError when the port is closed, the server does not answer within timeout_s, or the versions are
    unsupported (or merely differ, with strict_version). A differing but supported pair warns
    (VersionMismatchWarning).
    """
    probe_tcp(host, port, probe_timeout_s)
    factory = client_factory or default_client_factory
    client = factory(host, port)
    client.set_timeout(float(timeout_s))
    try:
        server_version = client.get_server_version()
    except RuntimeError as exc:  # carla raises RuntimeError on RPC time-outs
        raise BackendError(f"CARLA server at {host}:{port} accepted a connection but did not answer "
                           f"within {timeout_s:g} s: {exc}") from exc
    check = check_versions(client.get_client_version(), server_version)
    if check.status == "error" or (strict_version and check.status == "warn"):
        raise BackendError(f"{host}:{port}: {check.message}")
    if check.status == "warn":
        warnings.warn(check.message, VersionMismatchWarning, stacklevel=2)
    return client, check
