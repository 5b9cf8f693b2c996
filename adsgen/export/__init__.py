"""adsgen.export: OpenSCENARIO 1.0 (.xosc) + OpenDRIVE (.xodr) for CARLA ScenarioRunner and esmini."""

from __future__ import annotations

from adsgen.export.blueprints import ACTOR_MODELS, ActorModel, actor_model, register_actor_model
from adsgen.export.environment import EnvironmentSettings, environment_settings
from adsgen.export.validate import schema_path, xodr_check, xosc_errors
from adsgen.export.writer import ExportedScenario, export_scenario, export_scenarios
from adsgen.export.xosc import MANOEUVRE_WRITERS, build_xosc, register_manoeuvre, xosc_text

__all__ = [
    "ACTOR_MODELS", "ActorModel", "EnvironmentSettings", "ExportedScenario", "MANOEUVRE_WRITERS", "actor_model",
    "build_xosc", "environment_settings", "export_scenario", "export_scenarios", "register_actor_model",
    "register_manoeuvre", "schema_path", "xodr_check", "xosc_errors", "xosc_text",
]
