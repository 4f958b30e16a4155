"""Call transcription through the real OpenAIResource against the real OpenAI emulator (cached by
sha256: a second run makes no request), and the rule-based call insights on known transcripts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import httpx
import pytest

from revops_assets.emulators import openai as openai_emulator
from revops_assets.emulators._server import DocStore, EmulatorServer, FaultInjector, Faults
from revops_assets.mind.insights import analyze_call, insights_frame
from revops_assets.mind.transcripts import load_calls, parse_call_file, transcribe_calls
from revops_assets.resources.openai_client import OpenAIResource

PROJECT = Path(__file__).resolve().parent.parent
CALLS = PROJECT / "content" / "calls"
RECORDINGS = sorted(CALLS.glob("*.wav"))


@pytest.fixture
def emulator(tmp_path):
    """The OpenAI emulator serving the reference transcripts shipped beside the recordings."""
    sample = tmp_path / "sample"
    (sample / "openai").mkdir(parents=True)
    lines = [json.dumps(json.loads(p.read_text())) for p in sorted(CALLS.glob("*.transcript.json"))]
    (sample / "openai" / "transcripts.jsonl").write_text("\n".join(lines) + "\n")
    app = FaultInjector(openai_emulator.build_app(DocStore(tmp_path / "openai.sqlite"), sample), Faults(),
                        openai_emulator.error_response)
    server = EmulatorServer(app).start()
    yield server, app
    server.stop()


def _content_with_recordings(root: Path) -> Path:
    calls = root / "content" / "calls"
    calls.mkdir(parents=True)
    for wav in RECORDINGS:
        shutil.copy(wav, calls / wav.name)
    return root / "content"


def _requests(server: EmulatorServer) -> int:
    return httpx.get(f"{server.url}/_emulator/stats").json()["requests"]


def test_recordings_are_small_two_speaker_wavs_with_reference_transcripts():
    import hashlib
    import wave

    assert len(RECORDINGS) == 3
    for wav in RECORDINGS:
        with wave.open(str(wav)) as w:
            assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (1, 16000, 2)
        assert wav.stat().st_size < 300 * 1024
        ref = json.loads(wav.with_suffix(".transcript.json").read_text())
        assert ref["sha256"] == hashlib.sha256(wav.read_bytes()).hexdigest()
        assert len({s["speaker"] for s in ref["segments"]}) == 2


def test_transcription_via_emulator_is_cached_by_sha256(tmp_path, emulator):
    server, _ = emulator
    content, cache = _content_with_recordings(tmp_path), tmp_path / "transcripts"
    openai = OpenAIResource(api_key="test-key", base_url=f"{server.url}/v1", backoff_s=0.01)

    first = transcribe_calls(content, cache, openai.transcribe)
    assert sorted(first.transcribed) == [f"calls/{w.name}" for w in RECORDINGS] and not first.problems
    assert _requests(server) == 3
    for wav in RECORDINGS:
        ref = json.loads(wav.with_suffix(".transcript.json").read_text())
        cached = json.loads((cache / f"{ref['sha256']}.json").read_text())
        assert cached["text"] == ref["text"] and cached["audio"] == f"calls/{wav.name}"
        assert [(s["start"], s["end"]) for s in cached["segments"]] == [(s["start"], s["end"]) for s in ref["segments"]]

    # no recording is paid for twice, even renamed
    (content / "calls" / RECORDINGS[0].name).rename(content / "calls" / "2026-12-05_summitfreight.com_renamed.wav")
    second = transcribe_calls(content, cache, openai.transcribe)
    assert len(second.cached) == 3 and second.transcribed == [] and _requests(server) == 3

    # transcribed recordings become calls for insights
    calls, skipped = load_calls(content, cache)
    assert skipped == [] and {c.kind for c in calls} == {"audio"}
    summit = next(c for c in calls if "summitfreight" in c.source)
    row = analyze_call(summit)
    assert row["account"] == "summitfreight.com" and "price" in row["objection_categories"]
    assert row["questions_asked"] == 1 and json.loads(row["next_steps"]) == ["Send pricing options by Friday"]


def test_transcription_survives_throttling_and_reports_refusals(tmp_path, emulator):
    server, app = emulator
    app.set_faults(Faults(p429=0.5, seed=3))
    content, cache = _content_with_recordings(tmp_path), tmp_path / "transcripts"
    (content / "calls" / "2026-12-10_big.com_call.m4a").write_bytes(b"\0" * 300_000)  # over the limit, can't be cut
    openai = OpenAIResource(api_key="test-key", base_url=f"{server.url}/v1", backoff_s=0.01, max_attempts=8,
                            max_upload_bytes=260_000)
    report = transcribe_calls(content, cache, openai.transcribe)
    assert len(report.transcribed) == 3 and app.stats["429"] > 0
    assert [src for src, _ in report.problems] == ["calls/2026-12-10_big.com_call.m4a"]
    assert "AudioTooLarge" in report.problems[0][1] and len(list(cache.glob("*.json"))) == 3

    offline = transcribe_calls(content, tmp_path / "offline-cache", OpenAIResource(offline=True).transcribe)
    assert offline.transcribed == [] and len(offline.problems) == 4
    assert all("not transcribed" in reason for _, reason in offline.problems)


def test_a_wav_over_the_upload_limit_is_split_not_dropped(tmp_path, emulator):
    import wave

    server, _ = emulator
    content, cache = _content_with_recordings(tmp_path), tmp_path / "transcripts"
    openai = OpenAIResource(api_key="test-key", base_url=f"{server.url}/v1", max_upload_bytes=100_000)
    report = transcribe_calls(content, cache, openai.transcribe)
    assert len(report.transcribed) == 3 and set(report.split.values()) == {3} and _requests(server) == 9
    wav = RECORDINGS[0]
    with wave.open(str(wav)) as w:
        duration = w.getnframes() / w.getframerate()
    calls, _ = load_calls(content, cache)
    call = next(c for c in calls if c.source.endswith(wav.name))
    assert call.turns[-1].end == pytest.approx(duration, abs=0.01)  # parts shifted back onto one timeline


KNOWN = """---
account: globex.com
date: 2026-03-02
title: Globex discovery
participants:
  - {name: Dana Reyes, email: dana.reyes@fernway.io}
  - {name: Hank Scorpio, email: hank@globex.com, title: CEO}
---
**[00:00:00] Dana Reyes:** What does your forecast process look like today?
**[00:00:04] Hank Scorpio:** Spreadsheets every Monday, and it is too expensive for us right now. We are also looking at Tallyhawk.
**[00:00:12] Hank Scorpio:** Budget is frozen until next quarter, and our board approval is required for anything new.
**[00:00:20] Dana Reyes:** Understood. I'll send a pricing comparison by Friday. Could you share your seat count?
**[00:00:27] Hank Scorpio:** Yes, I'll share the seat count tomorrow.
"""


def test_insights_on_a_known_transcript(tmp_path):
    path = tmp_path / "2026-03-02_globex.com_discovery.md"
    path.write_text(KNOWN, encoding="utf-8")
    row = analyze_call(parse_call_file(path, "calls/2026-03-02_globex.com_discovery.md"))

    # words: Dana 8 + 14 = 22, Hank 18 + 15 + 7 = 40 -> 62
    assert json.loads(row["talk_ratio"]) == {"Dana Reyes": round(22 / 62, 4), "Hank Scorpio": round(40 / 62, 4)}
    assert row["seller_talk_ratio"] == round(22 / 62, 4)
    assert (row["questions_asked"], row["seller_questions"]) == (2, 2)
    objections = {o["category"]: o["quote"] for o in json.loads(row["objections"])}
    assert objections == {
        "price": "Spreadsheets every Monday, and it is too expensive for us right now.",
        "competitor": "We are also looking at Tallyhawk.",
        "timing": "Budget is frozen until next quarter, and our board approval is required for anything new.",
        "authority": "Budget is frozen until next quarter, and our board approval is required for anything new.",
    }
    items = json.loads(row["action_items"])
    assert [(a["owner"], a["title"], a["due"]) for a in items] == [
        ("dana.reyes@fernway.io", "Send a pricing comparison by Friday", "2026-03-06"),
        ("hank@globex.com", "Share the seat count tomorrow", "2026-03-03"),
    ]  # the request "Could you share your seat count?" is kept once, as Hank's own commitment
    assert all(a["contact_email"] == "hank@globex.com" and a["account"] == "globex.com" for a in items)
    assert (row["owner"], row["title"], row["due"], row["contact_email"]) == (
        "dana.reyes@fernway.io", "Send a pricing comparison by Friday", "2026-03-06", "hank@globex.com")


def test_insights_frame_over_shipped_calls_is_duckdb_friendly():
    calls, skipped = load_calls(PROJECT / "content", Path("/nonexistent"))
    assert len(calls) == 8 and len(skipped) == 3  # the 3 recordings are not transcribed in this home
    frame = insights_frame(calls)
    assert frame["call_id"].is_unique and len(frame) == 8
    acme = frame.set_index("call_id").loc["calls/2026-11-20_acme.com_discovery.md"]
    assert set(acme["objection_categories"].split(",")) == {"authority", "competitor", "timing"}
    assert acme["owner"] == "dana.reyes@fernway.io" and acme["due"] == "2026-11-21"
    assert all(frame["seller_talk_ratio"].between(0.3, 0.7))  # every format resolved who is selling
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute("CREATE TABLE call_insights AS SELECT * FROM frame")
    assert con.execute("SELECT count(*), sum(objections_count) FROM call_insights").fetchone()[0] == 8
    assert con.execute("SELECT count(*) FROM call_insights, json_each(action_items)").fetchone()[0] >= 16


def test_assets_materialize_end_to_end(tmp_path, emulator):
    import dagster as dg
    from dagster_duckdb_pandas import DuckDBPandasIOManager

    from revops_assets.assets.mind import MIND_ASSETS
    from revops_assets.resources.core import RevOpsConfig
    from revops_assets.settings import load_settings

    server, _ = emulator
    content = _content_with_recordings(tmp_path)
    shutil.copy(CALLS / "2026-11-20_acme.com_discovery.md", content / "calls")
    settings = load_settings({"REVOPS_HOME": str(tmp_path / "home"), "REVOPS_CONTENT_DIR": str(content)})
    resources = {"revops": RevOpsConfig.from_settings(settings),
                 "openai": OpenAIResource(api_key="test-key", base_url=f"{server.url}/v1"),
                 "io_manager": DuckDBPandasIOManager(database=str(tmp_path / "w.duckdb"), schema="mind")}
    result = dg.materialize(MIND_ASSETS, resources=resources)
    assert result.success
    meta = {e.asset_key.path[-1]: e.step_materialization_data.materialization.metadata
            for e in result.get_asset_materialization_events()}
    assert meta["call_transcripts"]["transcribed"].value == 3
    index = meta["digital_mind_index"]
    assert index["embedded"].value == index["dagster/row_count"].value > 0 and index["skipped"].value.startswith("_(none")
    assert index["by_type"].value == {"call": index["dagster/row_count"].value}
    assert meta["call_insights"]["dagster/row_count"].value == 4
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {"every_recording_transcribed": True, "all_content_readable": True}

    again = dg.materialize(MIND_ASSETS, resources=resources)
    meta = {e.asset_key.path[-1]: e.step_materialization_data.materialization.metadata
            for e in again.get_asset_materialization_events()}
    assert (meta["call_transcripts"]["cached"].value, meta["digital_mind_index"]["embedded"].value) == (3, 0)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert con.execute("SELECT count(*) FROM mind.call_insights WHERE kind = 'audio'").fetchone()[0] == 3
