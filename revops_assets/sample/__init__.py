"""The sample workspace: a deterministic, synthetic B2B company to run the whole Hive-Mind on.

Layout under ``<home>/sample/`` (all JSON / JSON lines, written by ``revops sample``):

- ``manifest.json``         {"accounts", "seed", "as_of" (ISO date the history ends), "location_id", "version"}
- ``ghl/users.json``        [{"id", "name", "email", "timezone"}] -- the AEs (GHL users)
- ``ghl/pipelines.json``    GHL ``GET /opportunities/pipelines`` body: {"pipelines": [{"id", "name", "stages": [{"id", "name", "position"}]}]}
- ``ghl/contacts.jsonl``    GHL contact objects (wire format of the contacts spec), firmographics in ``customFields``
- ``ghl/opportunities.jsonl`` GHL opportunity objects (wire format of the opportunities spec)
- ``ghl/notes.jsonl``       GHL notes {"id", "contactId", "body", "userId", "dateAdded"}
- ``ghl/messages.jsonl``    past email messages {"id", "conversationId", "contactId", "direction", "status", "subject", "body", "dateAdded", "meta": {...}}
- ``ghl/calendars.json``    GHL calendars (one per AE); ``ghl/appointments.jsonl`` GHL appointment events
- ``exa/documents.jsonl``   the web the Exa emulator searches: {"id", "url", "title", "publishedDate", "author", "text", "domain", "category", "entities"?}
- ``rb2b/visits.jsonl``     RB2B webhook bodies as RB2B would POST them (flat and enveloped; some malformed)
- ``imports/stage_history.jsonl`` {"opportunityId", "pipelineStageId", "enteredAt"}: a CRM export of stage history
- ``truth/accounts.jsonl``  the hidden truth (propensity, converted, defect): for benchmarks and the simulator only
- ``truth/news_labels.jsonl`` {"id", "domain", "labels", "kind", "publishedDate"}: true labels of every news item
- ``truth/email_outcomes.jsonl`` {"messageId", "contactId", "domain", "template", "variant", "p_reply", "outcome"}
- ``truth/email_variants.json`` the true A/B reply rates per template; ``truth/visits.jsonl`` malformed/duplicate marks
- ``openai/transcripts.jsonl`` {"sha256", "text", "segments"}: what the OpenAI emulator answers for known audio

The generator owns the details; emulators and assets read only what is listed here.
"""

from __future__ import annotations

from revops_assets.settings import Settings

# The GoHighLevel location the sample workspace and its emulator use.
DEMO_LOCATION_ID = "hivemindDemoLoc00001"  # 20 characters, like a real GHL location id


def ensure_sample(settings: Settings) -> None:
    """Generate the default sample workspace once, if ``<home>/sample`` has none, and register the
    reference transcripts of the audio shipped in ``content/calls`` with the OpenAI emulator."""
    if not (settings.sample_dir / "manifest.json").exists():
        from revops_assets.sample.generator import write_sample

        write_sample(settings.sample_dir, accounts=500, seed=42)  # location: DEMO_LOCATION_ID
    sync_reference_transcripts(settings)


def sync_reference_transcripts(settings: Settings) -> None:
    """``content/calls/*.transcript.json`` → ``<sample>/openai/transcripts.jsonl`` (by audio sha256)."""
    import json

    entries = []
    for path in sorted((settings.content_dir / "calls").glob("*.transcript.json")):
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # the Digital Mind reports unreadable content; the emulator just won't know it
        if isinstance(entry, dict) and entry.get("sha256"):
            entries.append(json.dumps(entry, sort_keys=True))
    target = settings.sample_dir / "openai" / "transcripts.jsonl"
    text = "\n".join(entries) + ("\n" if entries else "")
    if entries and (not target.exists() or target.read_text(encoding="utf-8") != text):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
