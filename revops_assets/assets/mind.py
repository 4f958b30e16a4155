"""QUEEN's Digital Mind and the call pipeline as Dagster assets: thin wrappers over revops_assets.mind.

- ``call_transcripts`` (piper_meetings): recordings in content/calls -> cached transcripts (paid once per sha256)
- ``digital_mind_index`` (queen_mind): content/ + transcribed calls -> persistent Chroma index (incremental)
- ``call_insights`` (coach_calls): one row per call: talk ratio, questions, objections, action items

Heavy libraries (chromadb, sentence-transformers) load inside the asset bodies, never at import.
No ``from __future__ import annotations`` here: Dagster checks the ``context`` annotation by identity.
"""


import json
from collections import Counter

import dagster as dg
import pandas as pd

from revops_assets.assets._common import DUCKDB_POOL, table_metadata
from revops_assets.resources.core import RevOpsConfig
from revops_assets.resources.openai_client import OpenAIResource


def _md_list(rows: list[tuple[str, str]], empty: str = "_(none)_") -> dg.MetadataValue:
    if not rows:
        return dg.MetadataValue.md(empty)
    return dg.MetadataValue.md("\n".join(f"- `{src}`: {reason}" for src, reason in rows))


@dg.asset(
    group_name="piper", kinds={"openai"},
    check_specs=[dg.AssetCheckSpec("every_recording_transcribed", asset="call_transcripts",
                                   description="No recording in content/calls was left untranscribed.")],
)
def call_transcripts(context: dg.AssetExecutionContext, revops: RevOpsConfig, openai: OpenAIResource):
    """Each recording in content/calls (wav, mp3, m4a) transcribed once, cached by sha256 under <home>/transcripts."""
    from revops_assets.mind.transcripts import transcribe_calls, transcripts_dir

    settings = revops.settings
    report = transcribe_calls(settings.content_dir, transcripts_dir(settings.home), openai.transcribe)
    for src, reason in report.problems:
        context.log.warning(f"{src}: {reason}")
    yield dg.MaterializeResult(metadata={
        "dagster/row_count": len(report.transcribed) + len(report.cached),
        "transcribed": len(report.transcribed), "cached": len(report.cached),
        "split": dg.MetadataValue.json(report.split), "problems": _md_list(report.problems),
    })
    yield dg.AssetCheckResult(
        check_name="every_recording_transcribed", passed=not report.problems, severity=dg.AssetCheckSeverity.WARN,
        metadata={"problems": len(report.problems)})


@dg.asset(
    group_name="queen", kinds={"chroma"}, deps=[call_transcripts],
    check_specs=[dg.AssetCheckSpec("all_content_readable", asset="digital_mind_index",
                                   description="Every file under content/ was indexed (none skipped as unreadable).")],
)
def digital_mind_index(context: dg.AssetExecutionContext, revops: RevOpsConfig):
    """content/ (docs, email templates, call transcripts, transcribed recordings) in a persistent Chroma
    collection under <home>/knowledge; only text never seen before is embedded."""
    from revops_assets.mind.index import build_index
    from revops_assets.mind.transcripts import transcripts_dir

    settings = revops.settings
    report = build_index(settings.content_dir, settings.knowledge_dir, transcripts_dir=transcripts_dir(settings.home))
    if report.rebuilt:
        context.log.warning(f"index rebuilt: {report.rebuilt}")
    for src, reason in report.skipped:
        context.log.warning(f"skipped {src}: {reason}")
    preview = "\n".join(["| type | chunks |", "|---|---:|"] + [f"| {t} | {n} |" for t, n in report.by_type.items()])
    yield dg.MaterializeResult(metadata={
        "dagster/row_count": report.chunks, "files": report.files, "embedded": report.embedded,
        "reused": report.reused, "deleted": report.deleted, "metadata_updated": report.updated,
        "by_type": dg.MetadataValue.json(report.by_type), "preview": dg.MetadataValue.md(preview),
        "skipped": _md_list(report.skipped), "model": report.model, "rebuilt": report.rebuilt or "no",
        "seconds": round(report.seconds, 2),
    })
    yield dg.AssetCheckResult(check_name="all_content_readable", passed=not report.skipped,
                              severity=dg.AssetCheckSeverity.WARN, metadata={"skipped": len(report.skipped)})


@dg.asset(group_name="coach", kinds={"duckdb"}, deps=[call_transcripts], pool=DUCKDB_POOL)
def call_insights(context: dg.AssetExecutionContext, revops: RevOpsConfig, openai: OpenAIResource) -> pd.DataFrame:
    """One row per call: talk ratio, questions, objections with quotes, next steps and owned action items
    (rule-based, offline); plus an LLM coaching note when OpenAI is online."""
    from revops_assets.mind.insights import COACH_SYSTEM, coach_note_prompt, insights_frame
    from revops_assets.mind.transcripts import load_calls, transcripts_dir

    settings = revops.settings
    calls, skipped = load_calls(settings.content_dir, transcripts_dir(settings.home))
    for src, reason in skipped:
        context.log.warning(f"skipped {src}: {reason}")

    def coach_note(call) -> str | None:
        try:
            return openai.generate(COACH_SYSTEM, coach_note_prompt(call), max_tokens=200)
        except Exception as exc:  # the rules already gave the row; the note is a bonus
            context.log.warning(f"coach note for {call.source} failed: {type(exc).__name__}")
            return None

    df = insights_frame(calls, llm=None if openai.is_offline else coach_note)
    categories = Counter(c for cats in df["objection_categories"] for c in cats.split(",") if c)
    context.add_output_metadata(table_metadata(
        df, preview_columns=["call_id", "seller_talk_ratio", "questions_asked", "objection_categories", "owner", "title", "due"],
        objections_by_category=dg.MetadataValue.json(dict(sorted(categories.items()))),
        action_items=int(sum(len(json.loads(a)) for a in df["action_items"])),
        skipped=_md_list(skipped)))
    return df


MIND_ASSETS = [call_transcripts, digital_mind_index, call_insights]
