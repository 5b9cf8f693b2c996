"""Per-scenario random streams: a scenario gets the same draws whatever batch it runs in.

Draws are a counter-based generator (SplitMix64 finaliser over (key, counter)), vectorised over the
batch: ``uniforms(keys, n_steps, n_cols)`` gives every scenario its own (n_steps, n_cols) block, where a
scenario's key comes from (run seed, its content hash, a stream name). ``scenario_rng`` gives a numpy
Generator from the same key for code that needs a full generator.
"""

from __future__ import annotations

import hashlib

import numpy as np

MAX_COLS = 256  # columns per step in a stream (draw (t, j) uses counter t * MAX_COLS + j + 1)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def scenario_key(seed: int, scenario, stream: str) -> int:
    """64-bit key of (run seed, the scenario's content hash, stream name)."""
    digest = hashlib.sha256(f"{int(seed)}:{scenario.content_hash()}:{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def scenario_rng(seed: int, scenario, stream: str) -> np.random.Generator:
    """A numpy generator seeded by (run seed, the scenario's content hash, a stream name)."""
    return np.random.Generator(np.random.PCG64(scenario_key(seed, scenario, stream)))


def uniforms(keys: np.ndarray, n_steps: int, n_cols: int) -> np.ndarray:
    """Uniform [0, 1) draws (B, n_steps, n_cols): draw (t, j) of row b depends only on keys[b], t and j."""
    keys = np.asarray(keys, dtype=np.uint64)
    if n_cols > MAX_COLS:
        raise ValueError(f"at most {MAX_COLS} columns per stream, got {n_cols}")
    counter = (np.arange(n_steps, dtype=np.uint64)[:, None] * np.uint64(MAX_COLS)
               + np.arange(n_cols, dtype=np.uint64)[None, :] + np.uint64(1))  # (T, J), independent of padding
    with np.errstate(over="ignore"):
        z = keys[:, None, None] + counter[None] * _GOLDEN  # (B, T, J), wrapping uint64 arithmetic
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
