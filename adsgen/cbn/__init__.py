"""adsgen.cbn: causal Bayesian networks learned from crash tables.

Public API::

    from adsgen.cbn import learn, learn_to_dir, LearnConfig, load_model, save_model, CompiledCBN
    learn_to_dir("crashes.csv", "models/cbn", bootstrap=20, seed=0)   # = adsgen cbn learn
    model = load_model("models/cbn", expected_variables=adsgen.variables.STATES)
    cbn = model.compiled()
    cbn.batch_risk(combos)                      # P(severity in {injury, fatal} | combination)
    cbn.batch_risk(combos, do=True)             # ... | do(combination)
    cbn.query("severity", {"light": "dark_unlighted"}, do={"weather": "rain"})
    cbn.log_prob(combos); cbn.sample(1000, seed=0)

pgmpy is imported only inside ``adsgen.cbn.pgmpy_adapter``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "CBNModel": "adsgen.cbn.model",
    "CompiledCBN": "adsgen.cbn.compiled",
    "LearnConfig": "adsgen.cbn.learner",
    "LearnResult": "adsgen.cbn.learner",
    "learn": "adsgen.cbn.learner",
    "learn_from_file": "adsgen.cbn.pipeline",
    "learn_to_dir": "adsgen.cbn.pipeline",
    "load_model": "adsgen.cbn.model",
    "save_model": "adsgen.cbn.model",
}
__all__ = ["CBNModel", "CompiledCBN", "LearnConfig", "LearnResult", "learn", "learn_from_file", "learn_to_dir",
           "load_model", "save_model"]


def __getattr__(name: str):
    """Load public names on first use, so ``adsgen --help`` does not import scipy and pandas."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'adsgen.cbn' has no attribute '{name}'")


if TYPE_CHECKING:
    from adsgen.cbn.compiled import CompiledCBN
    from adsgen.cbn.learner import LearnConfig, LearnResult, learn
    from adsgen.cbn.model import CBNModel, load_model, save_model
    from adsgen.cbn.pipeline import learn_from_file, learn_to_dir
