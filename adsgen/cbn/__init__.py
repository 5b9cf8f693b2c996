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

from adsgen.cbn.compiled import CompiledCBN
from adsgen.cbn.learn import LearnConfig, LearnResult, learn
from adsgen.cbn.model import CBNModel, load_model, save_model
from adsgen.cbn.pipeline import learn_from_file, learn_to_dir

__all__ = ["CBNModel", "CompiledCBN", "LearnConfig", "LearnResult", "learn", "learn_from_file", "learn_to_dir",
           "load_model", "save_model"]
