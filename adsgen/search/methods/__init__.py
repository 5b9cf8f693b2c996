"""Search methods: the SearchMethod protocol and the one registry of methods (name -> how to build it).

A method is built from a MethodContext (the learned CBN, when there is one, and the run's random seed) and
searches with ``search(evaluator, spaces, rng)``. The ablations are registered like any method: they are
the CBN-guided search given another network, so no caller special-cases a method by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from adsgen.errors import ConfigError
from adsgen.registry import Registry
from adsgen.search.evaluator import Evaluator
from adsgen.search.risk import CBNRisk, ShuffledRisk, blind_cbn, shuffled_cbn
from adsgen.search.space import SeedSpace


class SearchMethod(Protocol):
    def search(self, ev: Evaluator, spaces: list[SeedSpace], rng: np.random.Generator) -> None:
        """Propose candidates to ``ev`` until its budget is spent."""


@dataclass(frozen=True)
class MethodContext:
    risk: CBNRisk | None
    """The CBN learned from the crash data (None when the user gave none)."""
    seed: int = 0


@dataclass(frozen=True)
class MethodSpec:
    name: str
    summary: str
    needs_cbn: bool
    build: Callable[[MethodContext], SearchMethod]


def _risk(ctx: MethodContext) -> CBNRisk:
    assert ctx.risk is not None  # run_search refuses a needs_cbn method without a CBN
    return ctx.risk


def _cbn(ctx: MethodContext, risk: CBNRisk) -> SearchMethod:
    from adsgen.search.methods.cbn_guided import CBNGuidedSearch

    return CBNGuidedSearch(risk_model=risk)


def _natural(ctx: MethodContext) -> SearchMethod:
    from adsgen.search.methods.natural import NaturalSearch

    return NaturalSearch(risk_model=_risk(ctx))


def _random(ctx: MethodContext) -> SearchMethod:
    from adsgen.search.methods.random_search import RandomSearch

    return RandomSearch()


def _ga(ctx: MethodContext) -> SearchMethod:
    from adsgen.search.methods.genetic import GeneticSearch

    return GeneticSearch()


_SPECS: tuple[MethodSpec, ...] = (
    MethodSpec("cbn", "CBN-guided: crash prior x severity x online valid-failure model", True,
               lambda ctx: _cbn(ctx, _risk(ctx))),
    MethodSpec("random", "uniform factor states and parameters", False, _random),
    MethodSpec("ga", "genetic algorithm (AV-Fuzzer style), never re-simulating a found world", False, _ga),
    MethodSpec("natural", "factor states sampled from P(factors | crash), no feedback", True, _natural),
    MethodSpec("cbn_blind", "ablation: CBN-guided with uniform tables over the same graph", True,
               lambda ctx: _cbn(ctx, _risk(ctx).with_compiled(blind_cbn(_risk(ctx).compiled)))),
    MethodSpec("cbn_shuffled", "ablation: CBN-guided with each table's rows permuted at random", True,
               lambda ctx: _cbn(ctx, _risk(ctx).with_compiled(shuffled_cbn(_risk(ctx).compiled, ctx.seed)))),
    MethodSpec("cbn_random_risk", "ablation: CBN-guided with the severity risk replaced by random numbers",
               True, lambda ctx: _cbn(ctx, ShuffledRisk(_risk(ctx), seed=ctx.seed))),
)
METHODS: Registry[MethodSpec] = Registry("search method")
"""Search methods by name (adsgen.registry: ``METHODS.register(spec.name, spec)`` adds one)."""
for _spec in _SPECS:
    METHODS.register(_spec.name, _spec)


def method_names() -> list[str]:
    """Registered method names, in registration order."""
    return list(METHODS)


def get_spec(name: str) -> MethodSpec:
    """The spec registered under name; ConfigError listing the known names otherwise."""
    return METHODS.lookup(name)


def build_method(name: str, ctx: MethodContext) -> SearchMethod:
    """The method registered under name, built for ctx."""
    spec = get_spec(name)
    if spec.needs_cbn and ctx.risk is None:
        raise ConfigError(f"the {name} method needs a learned CBN (--cbn MODEL_DIR)")
    return spec.build(ctx)
