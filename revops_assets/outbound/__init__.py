"""OPERATOR's safe outbound machinery: templates -> sequences -> outbox -> dispatch, and CRM write-back.

Plain Python, no Dagster: assets wire it. Nothing here runs at import time beyond imports.
"""

from revops_assets.outbound.crm_sync import sync
from revops_assets.outbound.dispatch import DispatchReport, dispatch, reconcile
from revops_assets.outbound.outbox import Outbox
from revops_assets.outbound.sequences import build_sequences, persona_for
from revops_assets.outbound.suppression import DailyCaps, Decision, SuppressionList, check
from revops_assets.outbound.templates import RenderedEmail, TemplateLibrary, TemplateRejected

__all__ = [
    "DailyCaps", "Decision", "DispatchReport", "Outbox", "RenderedEmail", "SuppressionList", "TemplateLibrary",
    "TemplateRejected", "build_sequences", "check", "dispatch", "persona_for", "reconcile", "sync",
]
