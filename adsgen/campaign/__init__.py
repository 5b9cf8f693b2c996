"""adsgen.campaign: many scenario runs in one SQLite store, on one machine or a Ray cluster, with a report.

Heavy pieces (executors, Ray, matplotlib) load on use; importing this package is cheap.
"""

from adsgen.campaign.config import CampaignConfig
from adsgen.campaign.store import APPLICATION_ID, SCHEMA_VERSION, CampaignStore, CurvePoint

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "CampaignConfig", "CampaignStore", "CurvePoint",
           "run_campaign", "write_html_report", "write_campaign_report", "load_campaign_report_data"]


def __getattr__(name: str):
    if name == "run_campaign":
        from adsgen.campaign.runner import run_campaign

        return run_campaign
    if name in ("write_html_report", "write_campaign_report", "load_campaign_report_data"):
        from adsgen.campaign import report

        return getattr(report, name)
    raise AttributeError(f"module 'adsgen.campaign' has no attribute {name!r}")
