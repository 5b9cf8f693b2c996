"""Search methods, in a registry: name -> class with ``search(evaluator, spaces, rng)``."""

from __future__ import annotations

from adsgen.errors import ConfigError

_REGISTRY: dict[str, str] = {
    "cbn": "adsgen.search.methods.cbn_guided:CBNGuidedSearch",
    "random": "adsgen.search.methods.random_search:RandomSearch",
    "ga": "adsgen.search.methods.genetic:GeneticSearch",
}


def method_names() -> list[str]:
    return list(_REGISTRY)


def get_method(name: str):
    """The method class registered under name."""
    import importlib

    try:
        target = _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown search method {name!r}; expected one of {', '.join(_REGISTRY)}") from None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)
