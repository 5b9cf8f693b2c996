"""A fault-injecting backend for testing campaign infrastructure (chaos testing).

It wraps a real backend (``builtin`` by default) and, for scenarios whose *name* matches a regular
expression, raises, hangs, or reports a lost server. Use it as
``adsgen campaign run ... --backend adsgen.campaign.faults:FaultInjectingBackend --backend-opt
raise_matching='9$' --backend-opt hang_matching='^s004$'`` to rehearse what a campaign does when things
break: raised errors are stored as failed, hangs as timed out, lost servers are retried.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adsgen.campaign.backends import BackendSpec
from adsgen.errors import BackendError
from adsgen.sim.types import RunResult, TerminationReason


class InjectedFault(RuntimeError):
    """The error raised for a scenario matching ``raise_matching``."""


class FaultInjectingBackend:
    """A backend that runs each scenario on an inner backend, with faults injected by scenario name."""

    def __init__(self, inner: str = "builtin", raise_matching: str | None = None,
                 hang_matching: str | None = None, hang_s: float = 3600.0, crash_matching: str | None = None,
                 lose_server_times: int = 0,
                 lose_server_matching: str = ".*", state_dir: str | None = None, fault_as_result: bool = False,
                 delay_s: float = 0.0, **inner_options: Any):
        """
        inner: backend to wrap (registry name or 'module:Factory'); remaining keyword options go to it.
        raise_matching: regex on the scenario name: raise InjectedFault for those scenarios.
        hang_matching: regex on the scenario name: sleep hang_s seconds (a hung simulator) for those.
        crash_matching: regex on the scenario name: the whole process exits at once (os._exit(3)), as a
            simulator that segfaults takes its worker down.
        lose_server_times: the first N runs matching lose_server_matching (counted across processes in
            state_dir) fail as if the server died: BackendError, or with fault_as_result a RunResult whose
            termination is BACKEND_FAULT.
        delay_s: extra wall time per scenario [s] (to make a campaign slow enough to interrupt).
        """

        self._raise = re.compile(raise_matching) if raise_matching else None
        self._hang = re.compile(hang_matching) if hang_matching else None
        self._crash = re.compile(crash_matching) if crash_matching else None
        self._lose = re.compile(lose_server_matching)
        self.hang_s = float(hang_s)
        self.lose_server_times = int(lose_server_times)
        self.state_dir = Path(state_dir) if state_dir else None
        if self.lose_server_times and self.state_dir is None:
            raise ValueError("lose_server_times needs state_dir (a folder shared by the workers)")
        self.fault_as_result = bool(fault_as_result)
        self.delay_s = float(delay_s)
        self.inner = BackendSpec(inner, dict(inner_options)).build()
        self.name = getattr(self.inner, "name", inner)

    def _take_fault_token(self) -> bool:
        """True for the first lose_server_times calls over all processes sharing state_dir."""
        assert self.state_dir is not None
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for i in range(self.lose_server_times):
            try:
                fd = os.open(self.state_dir / f"fault-{i}", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                continue
            os.close(fd)
            return True
        return False

    def run(self, scenarios: Sequence[Any], agent: Any, seed: int = 0, *,
            record_trajectories: bool = False) -> list[Any]:
        for s in scenarios:
            if self._raise is not None and self._raise.search(s.name):
                raise InjectedFault(f"injected fault for scenario {s.name}")
            if self._hang is not None and self._hang.search(s.name):
                time.sleep(self.hang_s)
            if self._crash is not None and self._crash.search(s.name):
                os._exit(3)
        if self.delay_s:
            time.sleep(self.delay_s * len(scenarios))
        if self.lose_server_times and any(self._lose.search(s.name) for s in scenarios) and self._take_fault_token():
            if self.fault_as_result:
                return [RunResult(scenario=s.name, termination=TerminationReason.BACKEND_FAULT, duration_s=0.0,
                                  seed=seed, extra={"error": "injected: lost the simulator server"})
                        for s in scenarios]
            raise BackendError("injected: lost the connection to the simulator server")
        return self.inner.run(scenarios, agent, seed, record_trajectories=record_trajectories)

    def snapshots(self, scenario: Any, agent: Any, seed: int, times_s: Sequence[float]) -> list[Any]:
        """The inner backend's snapshots (for keyframes); no faults are injected here."""
        return self.inner.snapshots(scenario, agent, seed, times_s)

    def close(self) -> None:
        self.inner.close()
