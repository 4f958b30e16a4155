"""Every asset, grouped by agent. Modules stay light at import: heavy libraries load inside assets."""


import dagster as dg

from revops_assets.settings import Settings


def all_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    from revops_assets.assets.analytics import build_sql_models
    from revops_assets.assets.coach import COACH_ASSETS
    from revops_assets.assets.crm import CRM_ASSETS
    from revops_assets.assets.learning import LEARNING_ASSETS
    from revops_assets.assets.mind import MIND_ASSETS
    from revops_assets.assets.operator import OPERATOR_ASSETS
    from revops_assets.assets.piper import PIPER_ASSETS
    from revops_assets.assets.queen import QUEEN_ASSETS
    from revops_assets.assets.rules import directives
    from revops_assets.assets.scout import SCOUT_ASSETS

    return [directives, *CRM_ASSETS, *SCOUT_ASSETS, *COACH_ASSETS, *LEARNING_ASSETS, *OPERATOR_ASSETS,
            *PIPER_ASSETS, *QUEEN_ASSETS, *MIND_ASSETS, *build_sql_models(settings.sql_dir)]


def all_checks() -> list[dg.AssetChecksDefinition]:
    """Checks defined apart from their asset (most are returned with the materialization itself)."""
    return []
