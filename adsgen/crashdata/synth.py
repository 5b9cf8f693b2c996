"""Synthetic crash tables: sample the reference network and write a raw or canonical file, in slices
so that millions of rows stream to disk with bounded memory."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adsgen.crashdata.compression import open_text_out
from adsgen.crashdata.writers import write_canonical, write_montgomery, write_statewide
from adsgen.errors import ConfigError, InputError
from adsgen.groundtruth.reference import sample_canonical

SLICE_ROWS = 100_000
"""Crashes written per slice."""

FORMATS = ("montgomery", "statewide", "canonical")


@dataclass(frozen=True)
class SynthResult:
    """What ``synthesize`` wrote."""

    path: Path
    """The crash table."""
    vehicle_path: Path | None
    """The statewide vehicle table, when one was written."""
    crashes: int
    """Crashes sampled."""
    format: str
    """montgomery, statewide or canonical."""
    seed: int
    """Sampling seed."""


def synthesize(rows: int, fmt: str, seed: int, out: str | Path, *, vehicles: str | Path | None = None,
               unknown_share: float | None = None,
               progress: Callable[[int, int], None] | None = None) -> SynthResult:
    """Sample ``rows`` crashes from the reference network (``sample_canonical(rows, seed)``) and write
    them in ``fmt`` (gzip-compressed when the file name ends in ``.gz``). Raw formats get ``unknown_share`` unknowns (default 0.07), canonical none
    (default 0). ``vehicles``: statewide only, also write the vehicle table there.
    ``progress`` is called with (crashes written, total)."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got '{fmt}'")
    if rows <= 0:
        raise ConfigError(f"--rows must be positive, got {rows}")
    if vehicles is not None and fmt != "statewide":
        raise ConfigError("--vehicles is only meaningful with --format statewide")
    share = (0.0 if fmt == "canonical" else 0.07) if unknown_share is None else unknown_share
    if not 0.0 <= share < 1.0:
        raise ConfigError(f"--unknown-share must be in [0, 1), got {share}")
    out = Path(out)
    if not out.parent.exists():
        raise InputError(f"{out}: the folder {out.parent} does not exist")
    data = sample_canonical(rows, seed)
    seeds = np.random.SeedSequence([seed, 0x5EED]).spawn((rows + SLICE_ROWS - 1) // SLICE_ROWS)
    vpath = Path(vehicles) if vehicles is not None else None
    with open_text_out(out) as fh, (open_text_out(vpath) if vpath else nullcontext()) as vh:
        for k, start in enumerate(range(0, rows, SLICE_ROWS)):
            part = data.iloc[start:start + SLICE_ROWS]
            s = int(seeds[k].generate_state(1)[0])
            if fmt == "montgomery":
                write_montgomery(part, fh, seed=s, unknown_share=share, first_id=start, header=k == 0)
            elif fmt == "statewide":
                write_statewide(part, fh, seed=s, vehicle_path=vh if vpath else None, unknown_share=share,
                                first_id=start, header=k == 0)
            else:
                if share > 0:
                    rng = np.random.default_rng(s)
                    part = part.copy()
                    for col in part.columns:
                        part.loc[rng.random(len(part)) < share, col] = np.nan
                write_canonical(part, fh, header=k == 0)
            if progress is not None:
                progress(min(start + SLICE_ROWS, rows), rows)
    return SynthResult(out, vpath, rows, fmt, seed)
