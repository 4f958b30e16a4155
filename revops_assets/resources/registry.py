"""Builds every resource for the chosen mode. Demo: the real clients against embedded emulators,
no keys. Live: keys through ``dagster.EnvVar`` (resolved at launch, never logged), URLs overridable."""

from __future__ import annotations

from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource

from revops_assets.resources.core import RevOpsConfig
from revops_assets.resources.exa import ExaResource
from revops_assets.resources.gohighlevel import GoHighLevelResource
from revops_assets.resources.inbox import InboxResource
from revops_assets.resources.openai_client import OpenAIResource
from revops_assets.resources.slack import SlackResource
from revops_assets.sample import DEMO_LOCATION_ID
from revops_assets.settings import Settings
from revops_assets.warehouse import build_io_manager

DEMO_KEY = "demo-key-not-secret"


def build_resources(settings: Settings) -> dict[str, Any]:
    urls = settings.base_urls
    common: dict[str, Any] = {
        "revops": RevOpsConfig.from_settings(settings),
        "warehouse_db": DuckDBResource(database=str(settings.warehouse_path)),
        "io_manager": build_io_manager(str(settings.warehouse_path)),
        "inbox": InboxResource(path=str(settings.inbox_path)),
    }
    if settings.is_demo:
        home = str(settings.home)
        return common | {
            "ghl": GoHighLevelResource(api_key=DEMO_KEY, location_id=DEMO_LOCATION_ID, base_url=urls["ghl"] or "", demo_home=home),
            "exa": ExaResource(api_key=DEMO_KEY, base_url=urls["exa"] or "", demo_home=home),
            # The emulator answers transcription and generation deterministically, labelled "emulator".
            "openai": OpenAIResource(api_key=DEMO_KEY, base_url=urls["openai"] or None, demo_home=home),
            "slack": SlackResource(webhook_url=urls["slack"] or "", demo_home=home),
        }
    return common | {
        "ghl": GoHighLevelResource(
            api_key=dg.EnvVar("GHL_API_KEY"), location_id=dg.EnvVar("GHL_LOCATION_ID"),
            **({"base_url": urls["ghl"]} if urls["ghl"] else {}),
        ),
        "exa": ExaResource(api_key=dg.EnvVar("EXA_API_KEY"), **({"base_url": urls["exa"]} if urls["exa"] else {})),
        "openai": OpenAIResource(
            api_key=dg.EnvVar("OPENAI_API_KEY") if settings.has_openai_key else None,
            offline=not settings.has_openai_key,
            **({"base_url": urls["openai"]} if urls["openai"] else {}),
        ),
        "slack": SlackResource(webhook_url=dg.EnvVar("SLACK_WEBHOOK_URL") if urls["slack"] else None),
    }
