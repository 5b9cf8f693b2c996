"""adsgen.groundtruth: networks whose truth is known, and samples drawn from them.

- ``reference``: the made-up (SYNTHETIC) crash network over the canonical variables that ``adsgen data
  synth`` samples and that structure learning is tested against (``reference_edges()``,
  ``reference_cpds()``, ``sample_canonical(rows, seed)``).
- ``sampling``: forward sampling and exact marginals of any discrete network given as numpy tables; the
  cbn floor samples pgmpy's bundled networks through it.

It sits on the ground floor beside ``adsgen.variables``: crashdata (writing synthetic tables) and cbn
(checking learned graphs against the truth) both use it, and it imports neither.
"""

from __future__ import annotations

from adsgen.groundtruth.reference import (
    SYNTHETIC_NOTE,
    Cpd,
    reference_cpds,
    reference_edges,
    sample_canonical,
)

__all__ = ["SYNTHETIC_NOTE", "Cpd", "reference_cpds", "reference_edges", "sample_canonical"]
