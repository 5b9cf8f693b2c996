"""Campaign executors, by name: inline, processes, ray (see base.Executor)."""

from adsgen.campaign.executors import inline, processes, ray_cluster  # noqa: F401  (register themselves)
from adsgen.campaign.executors.base import EXECUTORS, Executor, get_executor, register_executor

__all__ = ["EXECUTORS", "Executor", "get_executor", "register_executor"]
