"""The sample workspace: deterministic, complete per the contract, in the services' wire formats,
and carrying the defects and hidden truths that other parts of the product are measured on."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from spec_validation import specs_root

from revops_assets.sample.commands import sample as sample_cmd
from revops_assets.sample.generator import accounts_frame, write_sample
from revops_assets.sample.rb2b import FIELDS, NEVER_NULL
from revops_assets.settings import PROJECT_DIR

AS_OF = date(2026, 3, 10)
T0 = datetime(2026, 3, 10, tzinfo=timezone.utc)
SPECS = specs_root()  # $REVOPS_API_SPECS or <project>/../shared/api-specs, as for every spec check
CONTRACT_FILES = [
    "manifest.json", "ghl/users.json", "ghl/pipelines.json", "ghl/contacts.jsonl", "ghl/opportunities.jsonl",
    "ghl/notes.jsonl", "ghl/messages.jsonl", "ghl/calendars.json", "ghl/appointments.jsonl", "exa/documents.jsonl",
    "rb2b/visits.jsonl", "imports/stage_history.jsonl", "truth/accounts.jsonl",
]


def _lines(path: Path) -> list:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ws") / "sample"
    write_sample(out, accounts=500, seed=42, as_of=AS_OF)
    return out


@pytest.fixture(scope="module")
def data(ws: Path) -> dict:
    return {rel: (_lines(ws / rel) if rel.endswith(".jsonl") else json.loads((ws / rel).read_text(encoding="utf-8")))
            for rel in CONTRACT_FILES + ["truth/news_labels.jsonl", "truth/email_variants.json", "truth/visits.jsonl"]}


def _schema(spec: dict, name: str) -> jsonschema.protocols.Validator:
    """A validator for ``components.schemas[name]`` with the document's own $refs resolvable."""
    root = dict(spec)
    root["$ref"] = f"#/components/schemas/{name}"
    return jsonschema.Draft202012Validator(root)


def _ghl(app: str) -> dict:
    return json.loads((SPECS / "gohighlevel" / "apps" / f"{app}.json").read_text())


def test_same_inputs_give_byte_identical_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write_sample(a, accounts=120, seed=5, as_of=AS_OF)
    write_sample(b, accounts=120, seed=5, as_of=AS_OF)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    write_sample(b, accounts=120, seed=6, as_of=AS_OF)  # a different manifest replaces the workspace
    assert json.loads((b / "manifest.json").read_text())["seed"] == 6
    assert (a / "ghl/contacts.jsonl").read_bytes() != (b / "ghl/contacts.jsonl").read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp dirs left


def test_contract_files_present_and_manifest(ws: Path, data: dict) -> None:
    for rel in CONTRACT_FILES:
        assert (ws / rel).is_file(), rel
    m = data["manifest.json"]
    assert {k: m[k] for k in ("accounts", "seed", "as_of", "version")} == {"accounts": 500, "seed": 42, "as_of": "2026-03-10", "version": 1}
    assert len(m["location_id"]) == 20
    assert len(data["truth/accounts.jsonl"]) == 500
    assert all(c["locationId"] == m["location_id"] for c in data["ghl/contacts.jsonl"])


def test_users_pipeline_and_calendars(data: dict) -> None:
    users = data["ghl/users.json"]
    assert 4 <= len(users) <= 6
    assert all(u["id"] and "@" in u["email"] and "/" in u["timezone"] for u in users)
    pipe = data["ghl/pipelines.json"]["pipelines"]
    assert [p["name"] for p in pipe] == ["Sales"]
    assert [s["name"] for s in pipe[0]["stages"]] == ["New Lead", "Qualified", "Discovery", "Proposal", "Negotiation"]
    assert [s["position"] for s in pipe[0]["stages"]] == [0, 1, 2, 3, 4]
    cals = data["ghl/calendars.json"]["calendars"]
    validator = _schema(_ghl("calendars"), "CalendarDTO")
    assert sorted(c["teamMembers"][0]["userId"] for c in cals) == sorted(u["id"] for u in users)
    for cal in cals:
        validator.validate(cal)
        assert cal["openHours"][0]["daysOfTheWeek"] == [1, 2, 3, 4, 5]


def test_contacts_are_ghl_contacts_with_firmographics(data: dict) -> None:
    contacts = data["ghl/contacts.jsonl"]
    validator = _schema(_ghl("contacts"), "GetContectByIdSchema")
    for c in contacts[:200]:
        validator.validate(c)
    for c in contacts:
        for key in ("id", "locationId", "firstName", "lastName", "email", "companyName", "tags", "dnd", "source",
                    "dateAdded", "assignedTo", "country", "city"):
            assert key in c, key
        assert [f["id"] for f in c["customFields"]] == ["cf_industry", "cf_employee_count", "cf_region", "cf_seniority", "cf_title"]
    per_account = Counter(c["companyName"] for c in contacts)
    assert set(per_account.values()) <= {1, 2, 3, 4}
    assert sum(c["dnd"] for c in contacts) >= 5
    unsub = [c for c in contacts if "unsubscribed" in c["tags"]]
    assert unsub and all(c["dnd"] for c in unsub)


def test_opportunities_history_and_stalls(data: dict) -> None:
    opps, truth = data["ghl/opportunities.jsonl"], data["truth/accounts.jsonl"]
    stage_ids = {s["id"] for s in data["ghl/pipelines.json"]["pipelines"][0]["stages"]}
    validator = _schema(_ghl("opportunities"), "SearchOpportunitiesResponseSchema")
    for o in opps:
        validator.validate(o)
    assert 0.30 <= len(opps) / len(truth) <= 0.50
    statuses = Counter(o["status"] for o in opps)
    assert set(statuses) == {"open", "won", "lost", "abandoned"}
    unknown = {o["id"] for o in opps if o["pipelineStageId"] not in stage_ids}
    assert unknown == {t["opportunity_id"] for t in truth if t["defect"] == "unknown_stage"}
    history = data["imports/stage_history.jsonl"]
    assert {h["opportunityId"] for h in history} == {o["id"] for o in opps}
    # won deals belong to accounts with a higher hidden propensity than lost ones
    prop = {t["opportunity_id"]: t["propensity"] for t in truth if t["opportunity_id"]}
    won = np.mean([prop[o["id"]] for o in opps if o["status"] == "won"])
    lost = np.mean([prop[o["id"]] for o in opps if o["status"] in ("lost", "abandoned")])
    assert won > lost + 0.1

    stalled = [t for t in truth if t["stalled"]]
    reasons = Counter(t["stall_reason"] for t in stalled)
    assert {"went_dark_after_proposal", "champion_left"} <= set(reasons)
    n_open = statuses["open"]
    assert 0.05 * n_open <= len(stalled) <= 0.2 * n_open
    by_id = {o["id"]: o for o in opps}
    activity = [(n["contactId"], n["dateAdded"]) for n in data["ghl/notes.jsonl"]] + \
               [(m["contactId"], m["dateAdded"]) for m in data["ghl/messages.jsonl"]]
    for t in stalled:
        opp = by_id[t["opportunity_id"]]
        assert opp["status"] == "open"
        quiet = (T0 - _parse(opp["lastActionDate"])).total_seconds() / 86400
        assert 8 <= quiet <= 40
        contacts = set(t["contact_ids"])
        assert not [a for a in activity if a[0] in contacts and a[1] >= t["quiet_since"]]
    left = [n for n in data["ghl/notes.jsonl"] if "has left" in n["body"]]
    assert len(left) == reasons["champion_left"]


def test_messages_carry_ab_meta_and_truth(data: dict) -> None:
    msgs = data["ghl/messages.jsonl"]
    validator = _schema(_ghl("conversations"), "GetMessageResponseDto")
    for m in msgs[:300]:
        validator.validate(m)
    out = [m for m in msgs if m["direction"] == "outbound"]
    assert all(set(m["meta"]) >= {"template", "variant", "signal", "persona", "segment"} for m in out)
    assert {m["meta"]["variant"] for m in out} == {"A", "B"}
    assert {m["status"] for m in out} >= {"undelivered", "opened", "delivered"}
    replies = [m for m in msgs if m["direction"] == "inbound"]
    out_ids = {m["id"] for m in out}
    assert replies and all(m["meta"]["inReplyTo"] in out_ids for m in replies)
    assert all((T0 - timedelta(days=91)) <= _parse(m["dateAdded"]) < T0 for m in msgs)
    truth = data["truth/email_variants.json"]["templates"]
    for name, entry in truth.items():
        better, worse = entry["better_variant"], "B" if entry["better_variant"] == "A" else "A"
        assert entry["reference_reply_rate"][better] > entry["reference_reply_rate"][worse]


def test_appointments_include_next_24_hours(data: dict) -> None:
    appts = data["ghl/appointments.jsonl"]
    validator = _schema(_ghl("calendars"), "AppointmentSchemaResponse")
    required = ["id", "title", "calendarId", "locationId", "contactId", "groupId", "appointmentStatus",
                "assignedUserId", "users", "startTime", "endTime", "dateAdded", "dateUpdated"]  # CalendarEventDTO
    for a in appts:
        validator.validate(a)
        assert all(k in a for k in required)
    starts = [(datetime.fromisoformat(a["startTime"]), a["appointmentStatus"]) for a in appts]
    assert sum(1 for s, st in starts if T0 <= s < T0 + timedelta(hours=24) and st == "confirmed") >= 3
    assert any(s < T0 and st == "showed" for s, st in starts)
    assert all(st == "confirmed" for s, st in starts if s >= T0)


def test_exa_corpus_and_news_labels(data: dict) -> None:
    docs, labels = data["exa/documents.jsonl"], data["truth/news_labels.jsonl"]
    exa = yaml.safe_load((SPECS / "exa" / "exa-openapi-spec.yaml").read_text())
    entity = _schema(exa, "CompanyEntity")
    companies = [d for d in docs if d["category"] == "company"]
    news = [d for d in docs if d["category"] == "news"]
    assert len(companies) == 500 and len({d["id"] for d in docs}) == len(docs)
    for d in companies[:100]:
        entity.validate(d["entities"][0])
    assert {d["id"] for d in news} == {lab["id"] for lab in labels}
    per_domain = Counter(d["domain"] for d in news)
    assert max(per_domain.values()) <= 5
    for d in news:
        age = (T0 - _parse(d["publishedDate"])).days
        assert 0 <= age < 121 and d["title"] and 2 <= d["text"].count(".") + d["text"].count("!")
    found = Counter(lab for row in labels for lab in row["labels"])
    assert set(found) == {"funding", "hiring", "leadership_change", "product_launch"}
    assert sum(1 for row in labels if not row["labels"]) >= 0.3 * len(labels)  # distractors
    # each true event in the hidden frame has its article
    truth = {t["domain"]: t for t in data["truth/accounts.jsonl"]}
    for row in labels:
        if row["kind"] == "funding":
            assert truth[row["domain"]]["funding_days_ago"] == (T0 - _parse(row["publishedDate"])).days


def test_rb2b_bodies_are_documented_shape(data: dict) -> None:
    lines, truth = data["rb2b/visits.jsonl"], data["truth/visits.jsonl"]
    assert len(lines) == len(truth)
    bodies = [(ln["payload"] if "payload" in ln else ln, t) for ln, t in zip(lines, truth)]
    assert 0.1 <= sum(t["enveloped"] for t in truth) / len(truth) <= 0.3
    assert any(t["duplicate_of"] is not None for t in truth)
    malformed = [b for b, t in bodies if t["malformed"]]
    assert 1 <= len(malformed) <= 0.03 * len(lines)
    good = [b for b, t in bodies if not t["malformed"]]
    for b in good:
        assert list(b) == FIELDS
        assert all(b[k] is not None for k in NEVER_NULL)
        assert b["Tags"] is None or isinstance(b["Tags"], str)
        assert isinstance(b["Employee Count"], (int, str, type(None)))
    assert any(isinstance(b["Employee Count"], str) and "-" in b["Employee Count"] for b in good)
    assert any(b["Seen At"].endswith(":00.00+00.00") for b in good)
    assert any(b["First Name"] is None for b in good)  # company-only profiles
    assert any(b["Captured URL"].endswith("/pricing") for b in good)
    # visits come more from accounts with a higher hidden propensity
    prop = {t["domain"]: t["propensity"] for t in data["truth/accounts.jsonl"]}
    visited = {t["domain"] for t in truth}
    assert np.mean([prop[d] for d in visited]) > np.mean(list(prop.values()))


def test_defects_exist_and_are_observable(data: dict) -> None:
    truth = data["truth/accounts.jsonl"]
    kinds = Counter(t["defect"] for t in truth if t["defect"])
    assert set(kinds) == {"no_domain", "malformed_date", "negative_employee_count", "unknown_stage"}
    assert 0.02 <= sum(kinds.values()) / len(truth) <= 0.04
    contacts = {c["id"]: c for c in data["ghl/contacts.jsonl"]}
    for t in truth:
        first = contacts[t["contact_ids"][0]]
        if t["defect"] == "no_domain":
            assert "website" not in first and not first["email"].endswith(t["domain"])
        elif t["defect"] == "malformed_date":
            with pytest.raises(ValueError):
                datetime.strptime(first["dateAdded"], "%Y-%m-%dT%H:%M:%S.%fZ")
        elif t["defect"] == "negative_employee_count":
            assert int(first["customFields"][1]["value"]) < 0


def test_accounts_frame_shape_and_dtypes() -> None:
    df = accounts_frame(100_000, seed=1)
    assert df.shape[0] == 100_000
    expected = {
        "domain": "object", "company_name": "object", "industry": "category", "employee_count": "int64",
        "region": "category", "country": "category", "propensity": "float64", "funding_days_ago": "float64",
        "hiring_days_ago": "float64", "leadership_days_ago": "float64", "launch_days_ago": "float64",
        "visits_30d": "int64", "pricing_visits_30d": "int64",
    }
    assert {c: str(df[c].dtype) for c in expected} == expected
    assert df["domain"].is_unique
    assert df["employee_count"].between(5, 20000).all()
    assert df["propensity"].between(0, 1).all() and 0.1 < df["propensity"].mean() < 0.3
    assert set(df["region"].cat.categories) == {"North America", "EMEA", "APAC", "LATAM"}
    assert 0.05 < df["funding_days_ago"].notna().mean() < 0.2
    assert (df["pricing_visits_30d"] <= df["visits_30d"]).all()
    icp = df["industry"].isin(["SaaS", "FinTech", "Healthcare"])
    assert df.loc[icp, "propensity"].mean() > df.loc[~icp, "propensity"].mean() + 0.05
    pd.testing.assert_frame_equal(accounts_frame(1000, seed=1), accounts_frame(1000, seed=1))


def test_cli_writes_and_refuses_foreign_dirs(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "s"
    res = runner.invoke(sample_cmd, ["--accounts", "40", "--seed", "3", "--out", str(out), "--as-of", "2026-03-10"])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "manifest.json").read_text())["accounts"] == 40
    res = runner.invoke(sample_cmd, ["--accounts", "40", "--seed", "3", "--out", str(out), "--as-of", "2026-03-10"])
    assert "already holds" in res.output
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    res = runner.invoke(sample_cmd, ["--accounts", "10", "--out", str(foreign)])
    assert res.exit_code != 0 and "not a sample workspace" in res.output
    assert (foreign / "keep.txt").read_text() == "mine"
