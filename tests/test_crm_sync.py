"""CRM write-back against the GoHighLevel emulator: applies the difference once, then nothing."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from revops_assets.emulators._server import DocStore, EmulatorServer, FaultInjector, Faults
from revops_assets.emulators.gohighlevel import build_app, error_response
from revops_assets.outbound.crm_sync import OPS_COLUMNS, desired_tags, sync
from revops_assets.resources.gohighlevel import GoHighLevelResource

LOCATION = "loc_test"
PIPELINE = {"id": "pipe1", "name": "Sales", "locationId": LOCATION,
            "stages": [{"id": "st_new", "name": "New", "position": 0},
                       {"id": "st_qual", "name": "Qualified", "position": 1}]}


def contact(cid: str, **extra) -> dict:
    return {"id": cid, "locationId": LOCATION, "firstName": cid.title(), "lastName": "Doe",
            "email": f"{cid}@acme.test", "companyName": "Acme", "tags": ["customer"], "dnd": False,
            "dateAdded": "2024-06-01T00:00:00.000Z", **extra}


@pytest.fixture
def crm(tmp_path):
    sample = tmp_path / "sample"
    (sample / "ghl").mkdir(parents=True)
    (sample / "manifest.json").write_text(json.dumps({"location_id": LOCATION}))
    (sample / "ghl" / "contacts.jsonl").write_text(
        "\n".join(json.dumps(c) for c in (contact("ana"), contact("bob", tags=["priority:low"]))))
    (sample / "ghl" / "pipelines.json").write_text(json.dumps({"pipelines": [PIPELINE]}))
    (sample / "ghl" / "opportunities.jsonl").write_text(json.dumps(
        {"id": "opp1", "name": "Acme deal", "pipelineId": "pipe1", "pipelineStageId": "st_new", "status": "open",
         "contactId": "ana", "locationId": LOCATION, "createdAt": "2024-06-01T00:00:00.000Z"}))
    store = DocStore(tmp_path / "ghl.sqlite")
    injector = FaultInjector(build_app(store, sample), Faults(), error_response)
    server = EmulatorServer(injector).start()
    ghl = GoHighLevelResource(api_key="test-key", location_id=LOCATION, base_url=server.url,
                              backoff_factor=0.01, backoff_max_s=0.05, max_retries=2)
    yield ghl, store
    ghl.close()
    server.stop()


LEADS = pd.DataFrame([
    {"contact_id": "ana", "email": "ana@acme.test", "first_name": "Ana", "company_name": "Acme Corp",
     "priority": "high", "strongest_signal": "funding", "signals": json.dumps(["hiring", "funding"]),
     "score_explanation": "Raised a Series B (https://news.test/b) and hiring 12 AEs."},
    {"contact_id": "bob", "email": "bob@acme.test", "first_name": "Bob", "company_name": "Acme",
     "priority": "medium", "strongest_signal": "none", "score_explanation": None},
    {"contact_id": None, "email": "new.person@newco.test", "first_name": "Nina", "company_name": "NewCo",
     "priority": "low", "strongest_signal": "website_activity", "score_explanation": "Visited pricing twice."},
])
ACTIONS = pd.DataFrame([
    {"kind": "task", "contact_id": "ana", "title": "Call Ana about the Series B", "body": "Top account today.",
     "due_date": date(2025, 3, 4), "assigned_to": "user_ae1"},
    {"kind": "stage", "contact_id": "ana", "opportunity_id": "opp1", "pipeline_stage_id": "st_qual"},
    {"kind": "note", "contact_id": "bob", "body": "Ghostbuster: deal quiet for 30 days."},
])


def counts(store: DocStore) -> tuple[int, int, int]:
    return store.count("contacts"), store.count("notes"), store.count("tasks")


def test_first_run_applies_second_run_changes_nothing(crm):
    ghl, store = crm
    before = counts(store)
    first = sync(ghl, LEADS, ACTIONS)
    assert list(first.columns) == OPS_COLUMNS
    upserts = first[first.op == "upsert_contact"].set_index("contact_id")
    assert len(upserts) == 3 and upserts.loc["ana", "status"] == "applied"
    assert upserts.loc["bob", "status"] == "unchanged"  # the CRM already had exactly bob's fields
    assert (upserts.detail == "created").sum() == 1  # nina, found by neither id nor email
    others = first[first.op != "upsert_contact"]
    assert (others.status == "applied").all(), others[others.status != "applied"].to_dict("records")
    assert sorted(first.op) == sorted(["upsert_contact"] * 3 + ["tags"] * 3 + ["note", "note", "note", "task", "stage"])
    assert counts(store) == (before[0] + 1, before[1] + 3, before[2] + 1)

    ana = store.get("contacts", "ana")
    assert ana["companyName"] == "Acme Corp"
    assert set(ana["tags"]) == {"customer", "priority:high", "signal:funding", "signal:hiring"}
    assert store.get("contacts", "bob")["tags"] == ["priority:medium"]  # stale priority:low replaced
    assert store.get("opportunities", "opp1")["pipelineStageId"] == "st_qual"
    task = next(iter(store.all("tasks")))
    assert task["assignedTo"] == "user_ae1" and task["dueDate"].startswith("2025-03-04") and "[revops:task:" in task["body"]

    second = sync(ghl, LEADS, ACTIONS)
    assert (second.status == "unchanged").all(), second[second.status != "unchanged"].to_dict("records")
    assert len(second) == len(first) and list(second.key) == list(first.key)
    assert counts(store) == (before[0] + 1, before[1] + 3, before[2] + 1)


def test_a_changed_explanation_adds_one_note_and_a_failure_is_reported_not_fatal(crm):
    ghl, store = crm
    sync(ghl, LEADS, ACTIONS)
    notes = store.count("notes")
    changed = LEADS.assign(score_explanation=["Now also launched a product.", None, "Visited pricing twice."])
    broken = pd.concat([changed, pd.DataFrame([{"contact_id": "ghost", "email": "g@x.test", "priority": "high"}])])
    ops = sync(ghl, broken, [{"kind": "stage", "contact_id": "ana", "opportunity_id": "nope", "pipeline_stage_id": "st_new"}])
    assert store.count("notes") == notes + 1
    by = {(r.contact_id, r.op): r.status for r in ops.itertuples()}
    assert by[("ana", "note")] == "applied" and by[("ana", "tags")] == "unchanged"
    assert by[("ghost", "upsert_contact")] == "failed" and by[("ana", "stage")] == "failed"
    assert "NotFound" in ops[ops.contact_id == "ghost"].detail.iloc[0]


def test_desired_tags():
    assert desired_tags({"priority": "High", "strongest_signal": "funding", "signals": "hiring, funding"}) == [
        "priority:high", "signal:funding", "signal:hiring"]
    assert desired_tags({"priority": None, "strongest_signal": "none"}) == []
