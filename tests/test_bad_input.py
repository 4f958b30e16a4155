"""Bad input of every shape, property-based: each input is accepted or refused *with a reason*, never
an unhandled exception.

What the existing suites already cover and this one extends:

* RB2B: tests/test_receiver.py posts ten hand-picked bad bodies; here hypothesis generates bodies
  (arbitrary JSON, wrong types, envelopes, bytes, huge numbers, deep nesting, unsplittable URLs)
  through ``parse_visit`` + the inbox, and through the real receiver over HTTP (always a 200 that
  says accepted/duplicate/quarantined: RB2B disconnects the integration on anything else).
* CRM: wire-valid records with garbage values (dates, negative counts and amounts, no domain, odd custom
  fields) through the GoHighLevel emulator, the client and the ``ghl_contacts`` /
  ``ghl_opportunities`` assets: bad rows quarantined with a reason, good rows kept.
* Directives: tests/test_directives.py has four hand-made breakages; here any mangled front matter
  must give ``DirectiveError`` as ``file:line: field: message``.
* Templates: tests/test_templates_sandbox.py covers ``render_string``; here hostile content goes
  through files in a template library (front matter, subjects, step blocks, the layout) and hostile
  *data* goes through the shipped templates.
* ``revops intent classify``: garbage lines, bytes included, keep output line N answering input line N.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import duckdb
import httpx
import markupsafe
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revops_assets.settings import PROJECT_DIR

PROPERTY = dict(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# Python reprs that would mean a template reached an object it must not see.
LEAKS = ("<class", "&lt;class", "<function", "&lt;function", "<built-in", "&lt;built-in", "<module",
         "&lt;module", "object at 0x", "__globals__", "__builtins__", "<bound method", "&lt;bound method")


# =========================================================================================== RB2B

RB2B_KEYS = ["LinkedIn URL", "First Name", "Last Name", "Title", "Company Name", "Business Email", "Website",
             "Industry", "Employee Count", "Estimate Revenue", "City", "State", "Zipcode", "Seen At", "Referrer",
             "Captured URL", "Tags", "business_email", "captured_url", "seenAt", "EMPLOYEES", "zip", "x-extra"]
TRICKY = ["", " ", "http://[", "https://[::1", "//", "https://acme.io/pricing", "acme.io",
          "https://www.acme.io/demo?x=1",
          "2024-01-01T12:34:56:00.00+00.00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "soon",
          "200-500", "10000+", "-5", "1,001-5,000", "Hot Pages, Hot Leads", "a@b.co", "\x00", "\u202e", "🦄",
          "x" * 300]
NUMBERS = st.one_of(st.integers(), st.integers(min_value=10**20, max_value=10**400), st.floats(allow_nan=True,
                    allow_infinity=True), st.sampled_from([0, -1, 1e11, 1e400, -1e400, 2**63, 253402300800]))
JSON_VALUE = st.recursive(st.none() | st.booleans() | NUMBERS | st.text(max_size=20) | st.sampled_from(TRICKY),
                          lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                          max_leaves=6)
FIELD_VALUE = st.one_of(st.sampled_from(TRICKY), NUMBERS, st.none(), st.booleans(), st.text(max_size=30), JSON_VALUE)
PAYLOAD = st.fixed_dictionaries(
    {"Captured URL": st.one_of(st.sampled_from(TRICKY), FIELD_VALUE)},
    optional={k: FIELD_VALUE for k in RB2B_KEYS if k != "Captured URL"},
)
ENVELOPE = st.fixed_dictionaries({"payload": st.one_of(PAYLOAD, JSON_VALUE)},
                                 optional={"event_id": JSON_VALUE, "timestamp": FIELD_VALUE})


SAMPLE = {"Captured URL": "https://acme.io/pricing", "First Name": "Jo", "Company Name": "Acme",
          "Business Email": "jo@acme.io", "Seen At": "2024-01-01T12:34:56Z", "Tags": "Hot Pages"}
# A good visit with up to three fields replaced by anything: the bodies that are *almost* right.
NEAR_VALID = st.tuples(st.dictionaries(st.sampled_from(RB2B_KEYS), FIELD_VALUE, max_size=3), st.integers(0, 10**9)).map(
    lambda t: SAMPLE | {"LinkedIn URL": f"https://linkedin.com/in/p{t[1]}"} | t[0])


def _encode(value) -> bytes:
    return json.dumps(value).encode()  # allow_nan: NaN/Infinity literals, as Python's json reads them


BODIES = st.one_of(
    NEAR_VALID.map(_encode),
    NEAR_VALID.map(lambda d: _encode({"event_id": "e", "timestamp": 1704112496, "payload": d})),
    PAYLOAD.map(_encode),
    ENVELOPE.map(_encode),
    JSON_VALUE.map(_encode),
    st.binary(max_size=80),
    st.integers(min_value=1, max_value=20_000).map(lambda n: b"[" * n + b"]" * n),  # deep nesting
    st.integers(min_value=4_000, max_value=6_000).map(  # integers past Python's str-conversion limit
        lambda n: b'{"Captured URL": "https://a.io/", "Company Name": "A", "Zipcode": ' + b"7" * n + b"}"),
    PAYLOAD.map(lambda d: _encode(d)[: max(1, len(_encode(d)) // 2)]),  # truncated
)


def _check_visit(visit) -> None:
    """What every later step relies on, for any visit the parser accepted."""
    assert visit.captured_url and visit.seen_at.tzinfo is not None and visit.seen_at.utcoffset().total_seconds() == 0
    assert re.fullmatch(r"[0-9a-f]{64}", visit.dedupe_key)
    assert visit.employee_count is None or visit.employee_count >= 0
    type(visit).model_validate_json(visit.model_dump_json())  # what the inbox stores reads back


@settings(max_examples=300, **PROPERTY)
@given(body=BODIES)
def test_any_rb2b_body_parses_to_a_visit_or_invalid_visit_with_a_reason(body):
    from revops_assets.receiver.models import InvalidVisit, parse_visit

    try:
        visit = parse_visit(body)
    except InvalidVisit as exc:
        assert isinstance(exc.reason, str) and exc.reason.strip() and len(exc.reason) < 300
        return
    _check_visit(visit)


def test_known_crashers_are_now_refused_or_kept_with_a_reason():
    """Each of these raised something other than InvalidVisit before (a 500 from the receiver)."""
    from revops_assets.receiver.models import InvalidVisit, parse_visit

    ok = {"Captured URL": "https://a.io/pricing", "Company Name": "A"}
    kept = [ok | {"Employee Count": float("inf")}, ok | {"Seen At": 10**400},
            ok | {"Seen At": "0001-01-01T00:00:00+01:00"}, ok | {"Website": "http://["},
            ok | {"LinkedIn URL": "https://[li"}, {"payload": ok | {"Seen At": None}, "timestamp": 10**400}]
    for body in kept:
        visit = parse_visit(_encode(body))
        _check_visit(visit)
    assert parse_visit(_encode(ok | {"Employee Count": float("inf")})).employee_count is None
    for raw in [b"[" * 5000 + b"]" * 5000, b'{"Zipcode": ' + b"1" * 5000 + b"}",
                _encode({"Captured URL": "http://[x", "Company Name": "A"})]:
        with pytest.raises(InvalidVisit):
            parse_visit(raw)


def test_rb2b_bodies_through_the_inbox_are_stored_or_quarantined(tmp_path):
    from revops_assets.receiver.models import InvalidVisit, parse_visit
    from revops_assets.resources.inbox import VisitInbox

    outcomes = {"new": 0, "duplicate": 0, "quarantined": 0}
    with VisitInbox(tmp_path / "inbox.sqlite") as box:

        @settings(max_examples=120, **PROPERTY)
        @given(body=BODIES)
        def store(body):
            try:
                visit = parse_visit(body)
            except InvalidVisit as exc:
                box.quarantine(body, exc.reason)
                outcomes["quarantined"] += 1
                return
            seq, duplicate = box.append(visit, body)
            outcomes["duplicate" if duplicate else "new"] += 1
            assert seq >= 1

        store()
        assert box.count() == outcomes["new"] and len(box.quarantined()) == outcomes["quarantined"]
        assert all(q.reason.strip() for q in box.quarantined())
        for item in box.read_after(0, 100_000):  # everything stored reads back as a valid Visit
            _check_visit(item.visit)
    assert outcomes["new"] > 5 and outcomes["quarantined"] > 5, outcomes


def test_the_receiver_answers_200_to_any_body_and_keeps_it(tmp_path):
    from revops_assets.emulators._server import EmulatorServer
    from revops_assets.receiver.app import WEBHOOK_PATH, build_app
    from revops_assets.resources.inbox import VisitInbox

    token = "bad-input-token"
    server = EmulatorServer(build_app(tmp_path / "inbox.sqlite", token)).start()
    url = f"{server.url}{WEBHOOK_PATH}?token={token}"
    seen: dict[str, int] = {}
    try:
        with httpx.Client(timeout=10) as client:

            @settings(max_examples=120, **PROPERTY)
            @given(body=BODIES)
            def post(body):
                r = client.post(url, content=body, headers={"content-type": "application/json"})
                assert r.status_code == 200, (r.status_code, r.text[:200])
                status = r.json()["status"]
                assert status in ("accepted", "duplicate", "quarantined"), r.json()
                if status == "quarantined":
                    assert r.json()["reason"].strip()
                seen[status] = seen.get(status, 0) + 1

            post()
    finally:
        server.stop()
    with VisitInbox(tmp_path / "inbox.sqlite") as box:
        assert box.count() == seen.get("accepted", 0)
        assert len(box.quarantined()) == seen.get("quarantined", 0)


# ============================================================================================ CRM

DAY = datetime.now(timezone.utc).date().isoformat()
GARBAGE_DATES = ["", "yesterday", "2024-13-45T00:00:00Z", "0000-00-00", "32/01/2024", "2024-02-30", "NaT", "null",
                 "2024-01-01T25:61:00Z", "💥"]
GOOD_DATES = ["2024-06-01T00:00:00.000Z", "2025-01-02T03:04:05Z", "2024-06-01", "2024-06-01T10:00:00+02:00",
              "1700000000000"]
FUTURE_DATES = ["2999-01-01T00:00:00Z"]
CF_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**7), st.floats(-1e9, 1e9, allow_nan=False),
                      st.text(max_size=12), st.sampled_from(["1,000", "-5", "abc", "200-500", "", " 50 "]),
                      st.lists(st.integers(), max_size=2),
                      st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def _contact(i: int):
    """A contact the GoHighLevel API could return: right JSON types, any values."""
    cf_ids = ["cf_industry", "cf_employee_count", "cf_region", "cf_seniority", "cf_title", "cf_unknown"]
    return st.fixed_dictionaries({
        "id": st.just(f"hyp{i}"),
        "locationId": st.just("loc"),
        "email": st.one_of(st.none(), st.sampled_from(["", "Jo@Acme-Hyp.io", "jo@gmail.com", "not-an-email", "@", "x@y",
                                                      " SPACED@acme-hyp.io "]), st.emails()),
        "website": st.one_of(st.none(), st.sampled_from(["", "acme-hyp.io", "https://www.Acme-Hyp.io/x", "http://[",
                                                        "not a url", "ftp://files"]), st.text(max_size=15)),
        "firstName": st.one_of(st.none(), st.text(max_size=10)),
        "lastName": st.one_of(st.none(), st.text(max_size=10)),
        "companyName": st.one_of(st.none(), st.text(max_size=10)),
        "dateAdded": st.one_of(st.none(), st.sampled_from(GARBAGE_DATES + GOOD_DATES + FUTURE_DATES)),
        "customFields": st.lists(st.fixed_dictionaries({"id": st.sampled_from(cf_ids), "value": CF_VALUES}),
                                 max_size=4),
        "tags": st.lists(st.text(max_size=8), max_size=3),
        "dnd": st.booleans(),
        "country": st.one_of(st.none(), st.text(max_size=4)),
    })


def _opportunity(i: int, stage_ids: list[str], contact_ids: list[str]):
    dates = st.one_of(st.none(), st.sampled_from(GARBAGE_DATES + GOOD_DATES + FUTURE_DATES))
    return st.fixed_dictionaries({
        "id": st.just(f"hypo{i}"),
        "locationId": st.just("loc"),
        "name": st.one_of(st.none(), st.text(max_size=12)),
        "contactId": st.one_of(st.none(), st.sampled_from(contact_ids + ["no-such-contact"])),
        "pipelineId": st.one_of(st.none(), st.text(max_size=6)),
        "pipelineStageId": st.one_of(st.none(), st.sampled_from(stage_ids + ["no-such-stage", ""])),
        "status": st.one_of(st.none(), st.sampled_from(["open", "won", "lost", "abandoned", "OPEN", "deleted", ""])),
        "monetaryValue": st.one_of(st.none(), st.integers(-10**9, 10**9), st.floats(-1e9, 1e9, allow_nan=False)),
        "assignedTo": st.one_of(st.none(), st.text(max_size=6)),
        "createdAt": dates, "updatedAt": dates, "lastStageChangeAt": dates, "lastStatusChangeAt": dates,
    })


def _crm_records(make, n: int = 6):
    return st.integers(1, n).flatmap(lambda k: st.tuples(*(make(i) for i in range(k))))


class CRM:
    """The demo home's GoHighLevel emulator store, with the test's records swapped in per example."""

    def __init__(self, settings):
        from revops_assets.assets import all_assets
        from revops_assets.emulators._server import DocStore
        from revops_assets.resources.registry import build_resources

        self.settings = settings
        self.resources = build_resources(settings)
        self.assets = all_assets(settings)
        self.instance = dg.DagsterInstance.ephemeral()
        self.store = DocStore(settings.emulator_state_dir / "ghl.sqlite")
        self.materialize("ghl_pipelines")  # starts (and seeds) the emulator; the stage map for opportunities
        self.location = self.store.get_meta("location_id")
        self.sample = {c: [d["id"] for d in self.store.all(c)] for c in ("contacts", "opportunities")}
        self.stage_ids = [s["id"] for p in self.store.all("pipelines") for s in p.get("stages", [])]
        self._added: dict[str, list[str]] = {"contacts": [], "opportunities": []}

    def replace(self, collection: str, records) -> list[dict]:
        for doc_id in self._added[collection]:
            self.store.delete(collection, doc_id)
        docs = [{**r, "locationId": self.location} for r in records]
        self.store.put_many(collection, [(d["id"], d) for d in docs])
        self._added[collection] = [d["id"] for d in docs]
        return docs

    def materialize(self, asset: str):
        result = dg.materialize(self.assets, selection=asset, partition_key=DAY, resources=self.resources,
                                instance=self.instance, raise_on_error=False)
        assert result.success, _failures(result)
        return result.output_for_node(asset)

    def quarantine(self, asset: str) -> dict[str, str]:
        with duckdb.connect(str(self.settings.warehouse_path), read_only=True) as db:
            return dict(db.execute("SELECT record_key, reason FROM revops.quarantine WHERE asset = ? AND partition = ?",
                                   [asset, DAY]).fetchall())


def _failures(result) -> str:
    """Every failed step's error with its causes (Dagster wraps the asset's own exception)."""
    lines = []
    for event in result.all_events:
        error = event.event_specific_data.error if event.is_step_failure else None
        while error is not None:
            lines.append(f"{error.cls_name}: {error.message.strip()}")
            error = error.cause
    return "\n".join(lines)


def _after_cutoff(value) -> bool:
    import pandas as pd

    parsed = pd.to_datetime(pd.Series([value], dtype="object"), utc=True, errors="coerce", format="mixed")[0]
    return parsed is not pd.NaT and parsed > pd.Timestamp.now(tz="UTC")


def test_crm_contacts_with_garbage_values_are_quarantined_with_a_reason_and_good_rows_kept(demo_settings):
    crm = CRM(demo_settings)

    @settings(max_examples=6, **PROPERTY)
    @given(records=_crm_records(_contact, 8))
    def check(records):
        docs = crm.replace("contacts", records)
        out = crm.materialize("ghl_contacts")
        quarantined = crm.quarantine("ghl_contacts")
        kept = set(out["contact_id"])
        assert set(crm.sample["contacts"]) - set(quarantined) <= kept  # the sample's rows are all still there
        for doc in docs:
            cf = {f["id"]: f["value"] for f in doc["customFields"]}
            where = "kept" if doc["id"] in kept else "quarantined" if doc["id"] in quarantined else "left out"
            if where == "quarantined":
                assert quarantined[doc["id"]].strip()
            if where == "left out":  # only a record added after the partition's day may be neither
                assert _after_cutoff(doc["dateAdded"]), doc
            if doc["dateAdded"] in GARBAGE_DATES or doc["dateAdded"] is None:
                assert where == "quarantined", (where, doc)
            employees = cf.get("cf_employee_count")
            if isinstance(employees, (int, float)) and not isinstance(employees, bool) and employees < 0:
                assert where == "quarantined", (where, doc)
            if where == "kept":
                row = out[out["contact_id"] == doc["id"]].iloc[0]
                assert row["domain"] and "." in row["domain"]
                assert not (row["employee_count"] < 0)

    check()


def test_crm_opportunities_with_garbage_values_are_quarantined_with_a_reason_and_good_rows_kept(demo_settings):
    crm = CRM(demo_settings)
    contact_ids = crm.sample["contacts"][:5]

    @settings(max_examples=6, **PROPERTY)
    @given(records=_crm_records(lambda i: _opportunity(i, crm.stage_ids, contact_ids), 8))
    def check(records):
        import pandas as pd

        docs = crm.replace("opportunities", records)
        out = crm.materialize("ghl_opportunities")
        quarantined = crm.quarantine("ghl_opportunities")
        kept = set(out["opportunity_id"])
        assert set(crm.sample["opportunities"]) - set(quarantined) <= kept
        for doc in docs:
            where = "kept" if doc["id"] in kept else "quarantined" if doc["id"] in quarantined else "left out"
            if where == "quarantined":
                assert quarantined[doc["id"]].strip()
            if where == "left out":
                assert _after_cutoff(doc["createdAt"]), doc
            if doc["pipelineStageId"] not in crm.stage_ids:
                assert where == "quarantined" and "stage" in quarantined[doc["id"]], (where, doc)
            elif doc["createdAt"] in GARBAGE_DATES or doc["createdAt"] is None:
                assert where == "quarantined" and "createdAt" in quarantined[doc["id"]], (where, doc)
            elif doc["monetaryValue"] is not None and doc["monetaryValue"] < 0:  # unless createdAt failed first
                reason = quarantined.get(doc["id"], "")
                assert reason.startswith("negative monetaryValue") or reason == "malformed createdAt", (where, doc)
            if where == "kept":
                row = out[out["opportunity_id"] == doc["id"]].iloc[0]
                status = None if pd.isna(row["status"]) else row["status"]
                assert row["stage_name"] and status in (doc["status"], "open"), (status, doc)
                assert pd.isna(row["monetary_value"]) or row["monetary_value"] >= 0, (row["monetary_value"], doc)

    check()


def test_negative_or_non_finite_deal_amounts_are_quarantined_with_a_reason_and_good_deals_kept(demo_settings):
    """A negative amount would subtract from pipeline and forecast figures: it is quarantined, like a
    negative employee count, with the value in the reason. Over the wire JSON has no NaN/Infinity, but
    GHL may send numbers as strings and the client reads "NaN"/"Infinity"/"-12.5" as floats."""
    import pandas as pd

    crm = CRM(demo_settings)
    base = {"name": "Deal", "pipelineStageId": crm.stage_ids[0], "status": "open",
            "createdAt": "2024-06-01T00:00:00Z", "contactId": crm.sample["contacts"][0]}
    good = {"hyp_zero": 0, "hyp_ten": 10, "hyp_text_42": "42", "hyp_cents": 0.01, "hyp_none": None}
    bad = {"hyp_minus_one": (-1, "negative monetaryValue (-1.0)"),  # the client reads amounts as floats
           "hyp_minus_cent": (-0.01, "negative monetaryValue (-0.01)"),
           "hyp_minus_text": ("-12.5", "negative monetaryValue (-12.5)"),
           "hyp_nan": ("NaN", "non-finite monetaryValue (nan)"),
           "hyp_inf": ("Infinity", "non-finite monetaryValue (inf)"),
           "hyp_minus_inf": ("-Infinity", "non-finite monetaryValue (-inf)")}
    records = [{"id": key, **base, **({} if value is None else {"monetaryValue": value})}
               for key, value in good.items()]
    records += [{"id": key, **base, "monetaryValue": value} for key, (value, _) in bad.items()]
    crm.replace("opportunities", records)

    out = crm.materialize("ghl_opportunities")
    quarantined = crm.quarantine("ghl_opportunities")
    assert {key: quarantined.get(key) for key in bad} == {key: reason for key, (_, reason) in bad.items()}
    kept = out.set_index("opportunity_id")["monetary_value"]
    assert set(good) <= set(kept.index) and not set(bad) & set(kept.index)
    assert [kept[k] for k in ("hyp_zero", "hyp_ten", "hyp_text_42", "hyp_cents")] == [0, 10, 42, 0.01]
    assert pd.isna(kept["hyp_none"])
    assert set(crm.sample["opportunities"]) - set(quarantined) <= set(kept.index)  # the sample's deals still flow
    with duckdb.connect(str(crm.settings.warehouse_path), read_only=True) as db:
        stored = dict(db.execute("SELECT record_key, record FROM revops.quarantine WHERE asset = ? AND partition = ?",
                                 ["ghl_opportunities", DAY]).fetchall())
    assert json.loads(stored["hyp_minus_one"])["monetary_value"] == -1  # the record is kept whole for review


def test_deal_amount_validation_names_every_unusable_value():
    """The values the client cannot deliver today (it types monetaryValue as a float) still get a reason."""
    from revops_assets.assets.crm import _monetary_value_problem

    assert [_monetary_value_problem(v) for v in (None, 0, 0.0, -0.0, 7, 2.5, 10**20)] == [""] * 7
    assert _monetary_value_problem(-3) == "negative monetaryValue (-3)"
    assert _monetary_value_problem(-10**400) == "negative monetaryValue"  # no float conversion of a huge int
    assert _monetary_value_problem(float("nan")) == "non-finite monetaryValue (nan)"
    assert _monetary_value_problem(float("-inf")) == "non-finite monetaryValue (-inf)"
    for value, kind in ((True, "bool"), ("12", "str"), ([1], "list"), ({"amount": 1}, "dict")):
        assert _monetary_value_problem(value) == f"non-numeric monetaryValue ({kind})"


CLIENT_TYPE_ERRORS = {  # one field of the wrong JSON type each: the CRM is not ours to trust
    "contacts": [{"tags": None}, {"companyName": 42}, {"dateAdded": 1717200000000}, {"customFields": None},
                 {"website": ["acme-hyp.io"]}, {"dnd": None}, {"customFields": [{"value": 1}]}],
    "opportunities": [{"monetaryValue": "lots"}, {"createdAt": 1717200000000}, {"name": 5}, {"status": 3},
                      {"customFields": None}],  # ("contact" is not sent: the API derives it from contactId)
}


@pytest.mark.parametrize("collection", ["contacts", "opportunities"])
def test_crm_record_with_a_wrongly_typed_field_is_quarantined_not_fatal(demo_settings, collection):
    crm = CRM(demo_settings)
    asset = f"ghl_{collection}"
    if collection == "contacts":
        base = {"email": "jo@acme-hyp.io", "website": "acme-hyp.io", "firstName": "Jo", "dateAdded": "2024-06-01",
                "tags": [], "customFields": [], "dnd": False}
    else:
        base = {"name": "Deal", "pipelineStageId": crm.stage_ids[0], "status": "open", "monetaryValue": 10,
                "createdAt": "2024-06-01T00:00:00Z", "contactId": crm.sample["contacts"][0]}
    records = [{"id": "hyp_good", **base}] + [{"id": f"hyp_bad{i}", **base, **bad}
                                              for i, bad in enumerate(CLIENT_TYPE_ERRORS[collection])]
    crm.replace(collection, records)
    result = dg.materialize(crm.assets, selection=asset, partition_key=DAY, resources=crm.resources,
                            instance=crm.instance, raise_on_error=False)
    assert result.success, _failures(result)
    out = result.output_for_node(asset)
    quarantined = crm.quarantine(asset)
    key = "contact_id" if collection == "contacts" else "opportunity_id"
    assert "hyp_good" in set(out[key])
    assert all(quarantined.get(r["id"], "").strip() for r in records[1:]), quarantined


# ===================================================================================== directives

DIRECTIVES = PROJECT_DIR / "directives"
YAML_GARBAGE = ["", "[", "{", "]", "lots", "-1", "1e999", "null", "~", "[1, 2", "{a: b}", "'unterminated", "\"x",
                "!!python/object/apply:os.system ['id']", "*nope", "&a [*a]", "2024-01-01", "yes", "0x1F", ".inf",
                ".nan", "[" * 3000, "9" * 5000, "- a\n- b", "a: b: c", "\t", "|", ">", "%", "@", "`", "? x", "<<: 1",
                "[[[[[[[[[[]]]]]]]]]]", "{{{{", "\x00", "\u2028", "---", "...", "#"]
DIRECTIVE_NAMES = ["lead_processing", "outbound_campaign", "ghost_hunting", "meeting_preparation"]


@st.composite
def _mangled_directive(draw) -> tuple[str, str]:
    name = draw(st.sampled_from(DIRECTIVE_NAMES))
    lines = (DIRECTIVES / f"{name}.md").read_text().split("\n")
    end = lines.index("---", 1)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(1, end - 1))
        how = draw(st.sampled_from(["value", "line", "delete", "indent", "dup"]))
        if how == "value" and ":" in lines[i]:
            value = draw(st.one_of(st.sampled_from(YAML_GARBAGE), st.text(max_size=12)))
            lines[i] = lines[i].split(":", 1)[0] + ": " + value
        elif how == "line":
            lines[i] = draw(st.one_of(st.sampled_from(YAML_GARBAGE), st.text(max_size=20)))
        elif how == "delete" and end > 2:
            del lines[i]
            end -= 1
        elif how == "indent":
            lines[i] = " " * draw(st.integers(0, 5)) + lines[i].lstrip()
        else:
            lines.insert(i, lines[i])
            end += 1
    text = "\n".join(lines)
    if draw(st.integers(0, 9)) == 0:
        text = draw(st.sampled_from(["", "no front matter", "---\n", "---\nnever closed",
                                     text.replace("---", "--", 1)]))
    return name, text


_ERROR = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<field>[^\s].*?): (?P<message>\S.*)$", re.S)


def test_mangled_directive_front_matter_gives_file_line_field(tmp_path):
    from revops_assets.directives import DirectiveError, parse_directive

    @settings(max_examples=150, **PROPERTY)
    @given(case=_mangled_directive())
    def check(case):
        name, text = case
        path = tmp_path / f"{name}.md"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            parse_directive(path)
        except DirectiveError as exc:
            match = _ERROR.match(str(exc))
            assert match and match["file"] == str(path), str(exc)
            assert 1 <= int(match["line"]) <= max(1, text.count("\n") + 1), (str(exc), text)

    check()


def test_unreadable_or_unknown_directive_files_give_directive_errors(tmp_path):
    from revops_assets.directives import DirectiveError, parse_directive

    (tmp_path / "lead_processing.md").write_bytes(b"---\ndirective: \xff\xfe\n---\n")
    (tmp_path / "astrology.md").write_text("---\ndirective: astrology\n---\n")
    for path in [tmp_path / "lead_processing.md", tmp_path / "astrology.md", tmp_path / "ghost_hunting.md"]:
        with pytest.raises(DirectiveError) as exc:
            parse_directive(path)
        assert _ERROR.match(str(exc.value)), str(exc.value)


# ====================================================================================== templates

CONTENT = PROJECT_DIR / "content" / "emails"
ESCAPES = [
    "{{ ''.__class__.__mro__ }}", "{{ cycler.__init__.__globals__ }}", "{{ self._TemplateReference__context }}",
    "{{ lipsum.__globals__ }}", "{{ config }}", "{{ request }}", "{{ config.items() }}", "{{ request.application }}",
    "{{ joiner.__init__.__globals__.os }}", "{{ namespace.__init__.__globals__['sys'].modules }}",
    "{{ self.__dict__ }}", "{{ ().__class__.__base__.__subclasses__() }}", "{{ (1).__class__ }}",
    "{{ lipsum|attr('__globals__') }}", "{{ dict.__class__ }}", "{{ range.__init__ }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ ''['__class__'] }}", "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}", "{% import 'os' as os %}",
    "{% include '/etc/passwd' %}", "{% extends '../../pyproject.toml' %}", "{{ unsubscribe_url.__len__ }}",
    "{{ sender.__class__.__init__ }}", "{{ facts.pop() }}", "{{ sender.clear() }}", "{{ fact.fact.format.__self__ }}",
]
CTX = {"first_name": "Ana", "last_name": "Lee", "company_name": "Acme", "domain": "acme.test", "title": "CTO",
       "persona": "technical", "facts": [{"fact": "Acme raised", "url": "https://n.test/a", "date": "2025-01-01"}],
       "fact": {"fact": "Acme raised", "url": "https://n.test/a", "date": "2025-01-01"},
       "sender": {"name": "Sam", "email": "sam@hive.test", "company": "Hive"},
       "postal_address": "1 Main St, Springfield", "unsubscribe_url": "https://hive.test/u?t=abc"}


def _library_with(tmp_path: Path, where: str, payload: str) -> Path:
    """A copy of the shipped templates with ``payload`` planted in one place of ``funding``."""
    target = tmp_path / "emails"
    target.mkdir()
    for name in ("_layout.html.j2", "funding.html.j2"):
        shutil.copy(CONTENT / name, target / name)
    funding = target / "funding.html.j2"
    text = funding.read_text()
    if where == "subject":
        text = text.replace("\"{{ company_name }}'s next stage\"", json.dumps(payload), 1)
    elif where == "block":
        text = text.replace("<p>Hi {{ first_name }},</p>", f"<p>Hi {payload},</p>", 1)
    elif where == "front matter":
        text = text.replace("signal: funding", f"signal: funding\nextra: {payload}", 1)
    elif where == "layout":
        layout = target / "_layout.html.j2"
        layout.write_text(layout.read_text().replace("{{ body }}", "{{ body }}" + payload, 1))
    funding.write_text(text)
    return target


@settings(max_examples=80, **PROPERTY)
@given(payload=st.sampled_from(ESCAPES), where=st.sampled_from(["subject", "block", "layout", "front matter"]))
def test_hostile_template_content_is_rejected_and_never_reaches_python(tmp_path_factory, payload, where):
    """Planted in a subject, a step block or the layout, every escape is refused with a reason; in the
    front matter it is YAML data, never rendered (the file loads, or is listed in ``errors``)."""
    from revops_assets.outbound.templates import TemplateLibrary, TemplateRejected

    lib = TemplateLibrary(_library_with(tmp_path_factory.mktemp("lib"), where, payload))
    try:
        email = lib.render("funding", 1, "A", CTX)
    except TemplateRejected as exc:
        assert exc.reason.strip()
        assert where != "front matter" or "funding.html.j2" in lib.errors, exc.reason
        return
    assert where == "front matter", f"{payload!r} in the {where} rendered"
    rendered = email.subject + email.html + email.text
    assert not any(leak in rendered for leak in LEAKS), rendered[:500]


HOSTILE_DATA = st.one_of(st.sampled_from(ESCAPES + ["{{ 12345*10 }}", "{% raw %}", "{{ cycler }}", "{{ lipsum }}",
                                                    "<script>alert(1)</script>",
                                                    "\"><img src=x onerror=1>", "{#", "${7*7}", "%(x)s", "{0}"]),
                         st.text(max_size=40))


@settings(max_examples=150, **PROPERTY)
@given(first=HOSTILE_DATA, company=HOSTILE_DATA, fact=HOSTILE_DATA, step=st.integers(1, 3),
       template=st.sampled_from(["funding", "hiring", "none", "website_activity", "leadership_change"]),
       variant=st.sampled_from(["A", "B"]))
def test_hostile_lead_data_is_data_not_template_code(first, company, fact, step, template, variant):
    from revops_assets.outbound.templates import TemplateLibrary, TemplateRejected

    lib = _shipped_library()
    ctx = {**CTX, "first_name": first, "company_name": company,
           "fact": {**CTX["fact"], "fact": fact}, "facts": [{**CTX["fact"], "fact": fact}]}
    try:
        email = lib.render(template, step, variant, ctx)
    except TemplateRejected as exc:  # e.g. a subject that renders empty
        assert exc.reason.strip()
        return
    assert "123450" not in email.subject + email.html or "123450" in first + company + fact  # never evaluated
    assert "<script>" not in email.html and "onerror=1>" not in email.html  # HTML-escaped in the body
    html = email.html
    for value in (first, company, fact):  # the lead's own text may say anything; look at the rest
        html = html.replace(str(markupsafe.escape(value)), "")
    assert not any(leak in html for leak in LEAKS), html


_LIB = {}


def _shipped_library():
    from revops_assets.outbound.templates import TemplateLibrary

    if "lib" not in _LIB:
        _LIB["lib"] = TemplateLibrary(CONTENT)
        assert _LIB["lib"].errors == {}
    return _LIB["lib"]


# ================================================================================ intent classify

LINE = st.one_of(
    st.text(max_size=40).map(lambda s: s.replace("\n", " ").encode("utf-8", "surrogatepass")),
    st.binary(max_size=30).map(lambda b: b.replace(b"\n", b" ")),
    JSON_VALUE.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"text": st.one_of(st.text(max_size=60), st.sampled_from(
        ["Stripe raises $6.5 billion", "Shopify is hiring 1,000 engineers", "Acme names new CEO"])),
        "published": st.one_of(st.none(), st.sampled_from(["2024-01-01", "garbage", ""]))},
    ).map(lambda d: json.dumps(d).encode()),
    st.sampled_from([b"", b"\r", b"a\rb", b"{\"text\": \"x\"}\r", b"\xff\xfe", b"\x00", b"\xe2\x80\xa8", b"\x85",
                     b"[" * 5000, b'{"text": ' + b"9" * 5000 + b"}", b"\x1c\x1d\x1e", b"\x0b\x0c"]),
)


def _expected_kind(line: bytes) -> str:
    """'ok' when the line is a well-formed request (so it must get no error), else 'error'."""
    try:
        obj = json.loads(line.decode("utf-8").rstrip("\r"))
    except (ValueError, RecursionError):
        return "error"
    ok = isinstance(obj, dict) and isinstance(obj.get("text"), str) and obj["text"].strip() != "" \
        and (obj.get("published") is None or isinstance(obj["published"], str))
    return "ok" if ok else "maybe"


def test_intent_classify_keeps_line_alignment_for_any_input():
    """One real process (``revops intent classify``) over a batch of generated lines."""
    batches: list[list[bytes]] = []

    @settings(max_examples=60, **PROPERTY)
    @given(lines=st.lists(LINE, min_size=1, max_size=8))
    def collect(lines):
        batches.append(lines)

    collect()
    lines = [line for batch in batches for line in batch]
    stdin = b"\n".join(lines) + b"\n"
    proc = subprocess.run([str(PROJECT_DIR / ".venv" / "bin" / "revops"), "intent", "classify"], input=stdin,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    out = proc.stdout.decode("utf-8").split("\n")
    assert out[-1] == "" and len(out) - 1 == len(lines)
    for line, answer in zip(lines, out):
        result = json.loads(answer)
        assert isinstance(result["signals"], list)
        kind = _expected_kind(line)
        if kind == "ok":
            assert "error" not in result, (line, result)
        elif kind == "error":
            assert "error" in result and result["signals"] == [], (line, result)


def test_epoch_timestamps_parse_as_ghl_sends_them():
    """GoHighLevel's conversations and calendars send Unix epochs in ms; a 10-digit string is seconds."""
    import pandas as pd

    from revops_assets.assets._common import to_utc

    got = to_utc(pd.Series(["1700000000000", 1700000000000, "1700000000", " 2024-06-01T00:00:00Z ",
                            "170000000000000000000", "12345", None], dtype="object"))
    want = pd.Timestamp("2023-11-14T22:13:20Z")
    assert list(got[:3]) == [want, want, want]
    assert got[3] == pd.Timestamp("2024-06-01T00:00:00Z")
    assert got[4:].isna().all()
