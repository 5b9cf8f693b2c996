"""Per-scenario random streams: a scenario gets the same draws whatever batch it runs in."""

from __future__ import annotations

import hashlib

import numpy as np


def scenario_rng(seed: int, scenario, stream: str) -> np.random.Generator:
    """A generator seeded by (run seed, the scenario's content hash, a stream name)."""
    digest = hashlib.sha256(f"{int(seed)}:{scenario.content_hash()}:{stream}".encode()).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "little")))
