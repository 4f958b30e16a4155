"""GoHighLevel client against the GoHighLevel emulator, over real HTTP, checked against the shared specs."""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema
import pytest
import requests

from revops_assets.emulators._server import DocStore, EmulatorServer, FaultInjector, Faults
from revops_assets.emulators.gohighlevel import ALSO_SERVED, ENDPOINTS, build_app, error_response
from revops_assets.resources._http import (
    AuthError,
    MalformedResponse,
    NotFound,
    RateLimited,
    RateLimiter,
    ServiceError,
    TransportError,
    ValidationError,
)
from revops_assets.resources.gohighlevel import (
    CUSTOM_FIELD_IDS,
    VERSIONS,
    ContactDND,
    GoHighLevelResource,
)

try:  # tests/ may or may not become a package; work either way
    from tests.spec_validation import operation_of, specs_root, validate_exchange, validate_request, validate_response
except ImportError:
    from spec_validation import operation_of, specs_root, validate_exchange, validate_request, validate_response

TOKEN = "test-token-7f3a"
USER = "usr_ae_1"
PIPELINE = "pl_main"
STAGES = ["st_new", "st_qualified", "st_proposal", "st_closing"]
CALENDAR = "cal_ae_1"
N_OPPS = 250
MONDAY = datetime(2030, 1, 7, tzinfo=ZoneInfo("America/New_York"))  # a Monday; open 09:00-12:00, 1 h slots
BASE_TIME = datetime(2025, 1, 1, tzinfo=timezone.utc)


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_fixture_sample(sample_dir: Path, location_id: str) -> None:
    """A tiny GHL workspace in wire format: 7 contacts, 250 opportunities, 1 calendar, a conversation."""
    ghl = sample_dir / "ghl"
    ghl.mkdir(parents=True)
    (sample_dir / "manifest.json").write_text(json.dumps(
        {"accounts": 7, "seed": 1, "as_of": "2025-06-30", "location_id": location_id, "version": 1}))
    (ghl / "users.json").write_text(json.dumps(
        [{"id": USER, "name": "Ada AE", "email": "ada@seller.example", "timezone": "America/New_York"}]))
    (ghl / "pipelines.json").write_text(json.dumps({"pipelines": [{
        "id": PIPELINE, "name": "New Business",
        "stages": [{"id": s, "name": s.removeprefix("st_").title(), "position": i} for i, s in enumerate(STAGES)]}]}))
    industries = ["Software", "Fintech", "Healthcare", "Retail", "Logistics", "Software", "Energy"]
    contacts = []
    for i in range(7):
        contacts.append({
            "id": f"ct_{i}", "locationId": location_id, "firstName": f"Buyer{i}", "lastName": "Example",
            "email": f"buyer{i}@acme{i}.example", "phone": f"+1555000{i:04d}", "companyName": f"Acme {i}",
            "dnd": i == 3, "tags": ["icp"] if i % 2 == 0 else [], "dateAdded": _iso(BASE_TIME + timedelta(days=i)),
            "customFields": [{"id": CUSTOM_FIELD_IDS["industry"], "value": industries[i]},
                             {"id": CUSTOM_FIELD_IDS["employee_count"], "value": str(50 * (i + 1))},
                             {"id": CUSTOM_FIELD_IDS["region"], "value": "NA"},
                             {"id": CUSTOM_FIELD_IDS["seniority"], "value": "VP"}],
        })
    (ghl / "contacts.jsonl").write_text("\n".join(json.dumps(c) for c in contacts))
    statuses = ["open", "open", "won", "lost"]
    opps = [{
        "id": f"op_{i:03d}", "name": f"Deal {i}", "monetaryValue": 1000 + i, "pipelineId": PIPELINE,
        "pipelineStageId": STAGES[i % 4], "status": statuses[i % 4], "contactId": f"ct_{i % 7}",
        "locationId": location_id, "assignedTo": USER, "source": "sample",
        "createdAt": _iso(BASE_TIME + timedelta(minutes=i)), "updatedAt": _iso(BASE_TIME + timedelta(minutes=i)),
    } for i in range(N_OPPS)]
    (ghl / "opportunities.jsonl").write_text("\n".join(json.dumps(o) for o in opps))
    (ghl / "notes.jsonl").write_text(json.dumps(
        {"id": "nt_0", "contactId": "ct_0", "body": "Met at SaaStr", "userId": USER, "dateAdded": _iso(BASE_TIME)}))
    messages = [{"id": f"msg_{i}", "conversationId": "conv_0", "contactId": "ct_0",
                 "direction": "outbound" if i % 2 == 0 else "inbound", "status": "delivered",
                 "subject": f"Hello {i}", "body": f"<p>Body {i}</p>", "dateAdded": _iso(BASE_TIME + timedelta(hours=i)),
                 "meta": {"email": {"messageIds": [f"msg_{i}"]}}} for i in range(5)]
    (ghl / "messages.jsonl").write_text("\n".join(json.dumps(m) for m in messages))
    (ghl / "calendars.json").write_text(json.dumps([{
        "id": CALENDAR, "locationId": location_id, "name": "Ada's intro calls", "calendarType": "personal",
        "isActive": True, "slotDuration": 60, "slotDurationUnit": "mins", "slotInterval": 60,
        "slotIntervalUnit": "mins", "teamMembers": [{"userId": USER, "isPrimary": True}],
        "openHours": [{"daysOfTheWeek": [1, 2, 3, 4, 5],
                       "hours": [{"openHour": 9, "openMinute": 0, "closeHour": 12, "closeMinute": 0}]}],
    }]))
    booked = MONDAY.replace(hour=10)
    (ghl / "appointments.jsonl").write_text(json.dumps({
        "id": "ap_0", "calendarId": CALENDAR, "locationId": location_id, "contactId": "ct_1", "title": "Intro",
        "appointmentStatus": "confirmed", "assignedUserId": USER, "startTime": booked.isoformat(),
        "endTime": (booked + timedelta(hours=1)).isoformat()}))


class Emulator:
    """One GHL emulator on a real port, over a DocStore, with the fault injector in front."""

    def __init__(self, home: Path, location_id: str, **app_kwargs):
        self.home, self.location_id = home, location_id
        self.store = DocStore(home / "emulators" / "ghl.sqlite")
        self.app = build_app(self.store, home / "sample", **app_kwargs)
        self.injector = FaultInjector(self.app, Faults(), error_response)
        self.server = EmulatorServer(self.injector).start()
        self.url = self.server.url

    def faults(self, **knobs) -> None:
        requests.post(f"{self.url}/_emulator/faults", json=knobs, timeout=5).raise_for_status()

    def stats(self) -> dict:
        return requests.get(f"{self.url}/_emulator/stats", timeout=5).json()

    def client(self, **overrides) -> GoHighLevelResource:
        config = dict(api_key=TOKEN, location_id=self.location_id, base_url=self.url, timeout_s=5,
                      max_retries=5, backoff_factor=0.001, backoff_max_s=0.01)
        config.update(overrides)
        return GoHighLevelResource(**config)


LOCATION = "loc_fixture_1"


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory) -> Path:
    """Sample files plus an already-seeded store, built once: seeding SQLite costs ~0.5 s per test."""
    template = tmp_path_factory.mktemp("ghl_template")
    write_fixture_sample(template / "sample", LOCATION)
    build_app(DocStore(template / "emulators" / "ghl.sqlite"), template / "sample")
    return template


@pytest.fixture
def home(tmp_path: Path, seeded_template: Path) -> tuple[Path, str]:
    shutil.copytree(seeded_template, tmp_path, dirs_exist_ok=True)
    return tmp_path, LOCATION


@pytest.fixture
def emu(home):
    emulator = Emulator(*home)
    yield emulator
    emulator.server.stop()


def _spec_for(url: str) -> str:
    return "gohighlevel/" + requests.utils.urlparse(url).path.strip("/").split("/", 1)[0]


# --------------------------------------------------------------------------------------------- paging


def test_contacts_and_opportunities_paginate_to_the_last_page(emu):
    ghl = emu.client()
    seen: list[requests.Response] = []
    ghl.add_response_hook(seen.append)

    contacts = list(ghl.search_contacts(page_limit=3))
    assert [c.id for c in contacts] == [f"ct_{i}" for i in range(7)]
    search_bodies = [json.loads(r.request.body) for r in seen if r.request.path_url == "/contacts/search"]
    assert len(search_bodies) == 3
    assert search_bodies[0]["page"] == 1 and "searchAfter" not in search_bodies[0]
    assert search_bodies[2]["searchAfter"][1] == "ct_5"
    assert contacts[0].custom("industry") == "Software" and contacts[0].custom("employee_count") == "50"
    assert [c.id for c in ghl.search_contacts(query="acme 4")] == ["ct_4"]

    seen.clear()
    opps = list(ghl.search_opportunities(limit=100))
    assert len(opps) == N_OPPS and len({o.id for o in opps}) == N_OPPS
    assert [o.id for o in opps] == sorted(o.id for o in opps)
    pages = [r for r in seen if r.request.path_url.startswith("/opportunities/search")]
    assert len(pages) == 3
    assert "startAfterId=op_099" in pages[1].request.url and "startAfterId=op_199" in pages[2].request.url
    assert pages[0].json()["meta"]["nextPage"] == 2 and "nextPage" not in pages[2].json()["meta"]
    assert opps[0].contact and opps[0].contact["id"] == "ct_0"

    won = list(ghl.search_opportunities(pipeline_id=PIPELINE, status="won", limit=25))
    assert len(won) == sum(1 for i in range(N_OPPS) if i % 4 == 2) and all(o.status == "won" for o in won)


# ----------------------------------------------------------------------------------------- versions


def test_version_header_per_service(emu):
    ghl = emu.client()
    sent: dict[str, set[str]] = {}
    ghl.add_response_hook(lambda r: sent.setdefault(r.request.path_url.strip("/").split("/")[0], set())
                          .add(r.request.headers["Version"]))
    ghl.get_contact("ct_0")
    ghl.get_pipelines()
    ghl.search_conversations("ct_0")
    ghl.list_calendars()
    assert sent == {"contacts": {"2021-07-28"}, "opportunities": {"2021-07-28"},
                    "conversations": {"2021-04-15"}, "calendars": {"2021-04-15"}}

    auth = {"Authorization": f"Bearer {TOKEN}"}
    for path, right in (("/contacts/ct_0", VERSIONS["contacts"]), ("/calendars/", VERSIONS["calendars"])):
        wrong = "2021-04-15" if right == "2021-07-28" else "2021-07-28"
        for headers in ({**auth, "Version": wrong}, auth):
            r = requests.get(emu.url + path, headers=headers, params={"locationId": emu.location_id}, timeout=5)
            assert r.status_code == 400, (path, headers, r.text)
            assert r.json()["statusCode"] == 400 and right in r.json()["message"]
        ok = requests.get(emu.url + path, headers={**auth, "Version": right},
                          params={"locationId": emu.location_id}, timeout=5)
        assert ok.status_code == 200


# --------------------------------------------------------------------------------------------- errors


def test_rejected_keys_and_forbidden_location_raise_auth_errors_naming_the_env_var(emu):
    for bad in ("invalid", "rejected-by-ghl-123"):
        with pytest.raises(AuthError) as info:
            emu.client(api_key=bad, key_env_var="GHL_PIT_TOKEN").verify()
        assert info.value.status == 401
        assert "GHL_PIT_TOKEN" in str(info.value) and bad not in str(info.value)
        assert info.value.body == {"statusCode": 401, "message": "Invalid JWT", "error": "Unauthorized"}
    with pytest.raises(AuthError) as info:
        emu.client(location_id="someone-elses-location").verify()
    assert info.value.status == 403 and "GHL_API_KEY" in str(info.value) and TOKEN not in str(info.value)
    emu.client().verify()


def test_invalid_bodies_get_422_and_unknown_ids_404(emu):
    ghl = emu.client()
    with pytest.raises(ValidationError) as info:
        ghl.upsert_contact({"email": "not-an-email", "firstName": "X"})
    assert info.value.status == 422 and "email must be an email" in info.value.message
    with pytest.raises(ValidationError) as info:
        ghl.update_contact("ct_0", {"locationId": emu.location_id})
    assert "property locationId should not exist" in info.value.message
    with pytest.raises(ValidationError) as info:
        ghl.update_opportunity("op_000", pipeline_stage_id="st_nope")
    assert info.value.status == 422
    with pytest.raises(ValueError):
        ghl.update_opportunity_status("op_000", "maybe")
    with pytest.raises(NotFound):
        ghl.get_contact("ct_missing")
    raise_422 = requests.post(f"{emu.url}/contacts/ct_0/tasks", json={"title": "x"}, timeout=5,
                              headers={"Authorization": f"Bearer {TOKEN}", "Version": VERSIONS["contacts"]})
    assert raise_422.status_code == 422 and raise_422.json()["error"] == "Unprocessable Entity"
    assert any("dueDate" in m for m in raise_422.json()["message"])


def _spec_errors(method: str, path: str) -> set[int]:
    """The non-2xx statuses the GHL spec's ``responses`` section documents for one operation."""
    app = path.strip("/").split("/", 1)[0]
    spec = json.loads((specs_root() / "gohighlevel" / "apps" / f"{app}.json").read_text())
    return {int(code) for code in spec["paths"][path][method.lower()]["responses"] if not code.startswith("2")}


def _error_dtos() -> dict[int, jsonschema.Draft7Validator]:
    common = json.loads((specs_root() / "gohighlevel" / "common" / "common-schemas.json").read_text())
    dtos = common["components"]["schemas"]
    return {400: jsonschema.Draft7Validator(dtos["BadRequestDTO"]),
            422: jsonschema.Draft7Validator(dtos["UnprocessableDTO"])}


def _assert_documented_refusal(method: str, path: str, r: requests.Response, param: str) -> None:
    """``r`` refuses invalid input as the operation documents: 422 (UnprocessableDTO, messages in a
    list) where the spec lists 422, else 400 (BadRequestDTO, one message string); ``param`` is named."""
    expected = 422 if 422 in _spec_errors(method, path) else 400
    assert r.status_code == expected, (method, path, param, r.status_code, r.text)
    body = r.json()
    assert not list(_error_dtos()[expected].iter_errors(body)), (method, path, body)
    if expected == 422:
        assert body["error"] == "Unprocessable Entity" and any(param in m for m in body["message"]), body
    else:
        assert set(body) == {"statusCode", "message"} and isinstance(body["message"], str), body
        assert body["statusCode"] == 400 and param in body["message"], body
    spec = "gohighlevel/" + path.strip("/").split("/", 1)[0]
    validate_response(spec, method, path, r.status_code, r.content, dict(r.headers))


def _raw(emu):
    """``call(method, path, params=None, body=None)``: a request with valid auth and Version headers."""
    def call(method: str, path: str, params: dict | None = None, body: dict | None = None) -> requests.Response:
        service = path.strip("/").split("/", 1)[0]
        return requests.request(method, emu.url + path, params=params, json=body, timeout=5,
                                headers={"Authorization": f"Bearer {TOKEN}", "Version": VERSIONS[service]})
    return call


def test_error_status_table_is_the_specs(emu):
    """The emulator's table of documented error statuses is exactly each operation's ``responses``, and
    its routes are exactly that table: no endpoint can answer a validation status its spec lacks."""
    for method, path, _, documented in ENDPOINTS:
        assert set(documented) == _spec_errors(method, path), (method, path)
    served = {(m, r.path) for r in emu.app.routes for m in r.methods if m != "HEAD"}
    table = {(m, p) for m, p, _, _ in ENDPOINTS} | {(m, ALSO_SERVED[p]) for m, p, _, _ in ENDPOINTS if p in ALSO_SERVED}
    assert served == table
    assert {(m, p) for m, p, _, _ in ENDPOINTS} == CLIENT_OPERATIONS


def test_invalid_input_gets_each_endpoints_documented_status_and_body(emu):
    """Invalid input to every endpoint that validates it: 400 where the spec documents only 400 (calendars,
    conversations, contacts search/duplicate, pipelines), 422 where it documents 422 -- body shapes per spec.
    (GET notes/tasks/contact/opportunity take no input to refuse beyond an unknown id.)"""
    call, loc = _raw(emu), emu.location_id
    cases = [  # (method, spec path, concrete path, params, body, named parameter)
        ("POST", "/contacts/search", "/contacts/search", None, {"locationId": loc, "pageLimit": 0}, "pageLimit"),
        ("POST", "/contacts/search", "/contacts/search", None, {"locationId": loc, "page": 0}, "page"),
        ("POST", "/contacts/search", "/contacts/search", None, {"locationId": loc, "searchAfter": "x"}, "searchAfter"),
        ("GET", "/contacts/search/duplicate", "/contacts/search/duplicate", {"email": "a@b.c"}, None, "locationId"),
        ("POST", "/contacts/upsert", "/contacts/upsert", None, {"locationId": loc, "email": "bad"}, "email"),
        ("POST", "/contacts/upsert", "/contacts/upsert", None, {"locationId": loc, "phone": "1", "x": 1}, "property x"),
        ("POST", "/contacts/{contactId}/tags", "/contacts/ct_0/tags", None, {"tags": []}, "tags"),
        ("DELETE", "/contacts/{contactId}/tags", "/contacts/ct_0/tags", None, {"tags": "hot"}, "tags"),
        ("POST", "/contacts/{contactId}/notes", "/contacts/ct_0/notes", None, {"body": " "}, "body"),
        ("POST", "/contacts/{contactId}/tasks", "/contacts/ct_0/tasks", None, {"title": "t", "completed": False}, "dueDate"),
        ("PUT", "/contacts/{contactId}", "/contacts/ct_0", None, {"dnd": "yes"}, "dnd"),
        ("GET", "/opportunities/search", "/opportunities/search", {"location_id": loc, "limit": 0}, None, "limit"),
        ("GET", "/opportunities/search", "/opportunities/search", {"location_id": loc, "status": "x"}, None, "status"),
        ("GET", "/opportunities/pipelines", "/opportunities/pipelines", {}, None, "locationId"),
        ("PUT", "/opportunities/{id}", "/opportunities/op_000", None, {"monetaryValue": "lots"}, "monetaryValue"),
        ("PUT", "/opportunities/{id}/status", "/opportunities/op_000/status", None, {"status": "maybe"}, "status"),
        ("GET", "/conversations/search", "/conversations/search", {}, None, "locationId"),
        ("POST", "/conversations/messages", "/conversations/messages", None, {"type": "Fax", "contactId": "ct_0"}, "type"),
        ("POST", "/conversations/messages", "/conversations/messages", None, {"type": "Email", "contactId": "ct_0"}, "subject"),
        ("POST", "/conversations/messages", "/conversations/messages", None, {"type": "Email", "bogus": 1}, "property bogus"),
        ("GET", "/conversations/messages/export", "/conversations/messages/export", {"locationId": loc, "limit": 5}, None, "limit"),
        ("GET", "/conversations/messages/export", "/conversations/messages/export", {"locationId": loc, "channel": "Fax"}, None, "channel"),
        ("GET", "/conversations/messages/export", "/conversations/messages/export", {"locationId": loc, "cursor": "!"}, None, "cursor"),
        ("GET", "/conversations/messages/export", "/conversations/messages/export", {"locationId": loc, "sortBy": "x"}, None, "sortBy"),
        ("GET", "/conversations/{conversationId}/messages", "/conversations/conv_0/messages", {"limit": 500}, None, "limit"),
        ("GET", "/conversations/{conversationId}/messages", "/conversations/conv_0/messages", {"lastMessageId": "m"}, None, "lastMessageId"),
        ("GET", "/calendars/", "/calendars/", {}, None, "locationId"),
        ("GET", "/calendars/", "/calendars", {}, None, "locationId"),
        ("POST", "/calendars/events/appointments", "/calendars/events/appointments", None,
         {"calendarId": CALENDAR, "locationId": loc, "contactId": "ct_0"}, "startTime"),
        ("POST", "/calendars/events/appointments", "/calendars/events/appointments", None,
         {"calendarId": CALENDAR, "locationId": loc, "contactId": "ct_0", "startTime": _iso(MONDAY),
          "appointmentStatus": "maybe"}, "appointmentStatus"),
        ("POST", "/calendars/events/appointments", "/calendars/events/appointments", None,
         {"calendarId": CALENDAR, "locationId": loc, "contactId": "ct_0", "startTime": _iso(MONDAY),
          "endTime": _iso(MONDAY - timedelta(hours=1))}, "endTime"),
        ("GET", "/calendars/events", "/calendars/events", {"locationId": loc, "startTime": 1, "endTime": 2}, None, "calendarId"),
        ("GET", "/calendars/events", "/calendars/events", {"locationId": loc, "calendarId": CALENDAR}, None, "startTime"),
        ("GET", "/calendars/{calendarId}/free-slots", f"/calendars/{CALENDAR}/free-slots", {"startDate": "x", "endDate": 1}, None,
         "startDate"),
        ("GET", "/calendars/{calendarId}/free-slots", f"/calendars/{CALENDAR}/free-slots",
         {"startDate": 1_900_000_000_000, "endDate": 1_800_000_000_000}, None, "endDate"),
        ("GET", "/calendars/{calendarId}/free-slots", f"/calendars/{CALENDAR}/free-slots",
         {"startDate": 1_800_000_000_000, "endDate": 1_900_000_000_000}, None, "31 days"),
        ("GET", "/calendars/{calendarId}/free-slots", f"/calendars/{CALENDAR}/free-slots",
         {"startDate": 1_800_000_000_000, "endDate": 1_800_000_000_001, "timezone": "Mars/Olympus"}, None, "timezone"),
    ]
    for method, template, path, params, body, param in cases:
        _assert_documented_refusal(method, template, call(method, path, params, body), param)
    # one where the spec lists 422 beside 400, one where it lists only 400: the same kind of input error
    assert call("GET", "/opportunities/search", {"location_id": loc, "limit": 0}).status_code == 422
    assert call("GET", "/conversations/messages/export", {"locationId": loc, "limit": 5}).status_code == 400


def test_the_client_raises_a_400_at_once_as_a_validation_error(emu):
    """A 400 is an answer, not an accident: one request, no retry, a ValidationError carrying GHL's
    message and naming the call that was refused."""
    ghl = emu.client(max_retries=5)
    refusals = [
        (lambda: ghl.get_free_slots(CALENDAR, MONDAY, MONDAY + timedelta(days=40)), "31 days", f"GET /calendars/{CALENDAR}/free-slots"),
        (lambda: ghl.get_free_slots(CALENDAR, MONDAY, MONDAY - timedelta(days=1)), "endDate must be after", "GET /calendars/"),
        (lambda: list(ghl.export_messages(page_limit=5)), "limit must be an integer between 10 and 500", "GET /conversations/messages/export"),
        (lambda: ghl.list_messages("conv_0", page_limit=500), "limit must not be greater than 100", "GET /conversations/conv_0/messages"),
    ]
    for n, (refused, message, endpoint) in enumerate(refusals, start=1):
        with pytest.raises(ValidationError) as info:
            refused()
        assert info.value.status == 400 and message in info.value.message, info.value
        assert str(info.value).startswith(f"GoHighLevel: HTTP 400: {endpoint}"), info.value
        assert info.value.body["statusCode"] == 400 and message in info.value.body["message"]
        assert emu.stats()["requests"] == n  # never retried


def test_out_of_range_dates_and_numbers_are_refused_as_documented_not_a_500(emu):
    """A date of 20+ digits (epoch milliseconds hundreds of millions of years out) overflowed the emulator's
    date parsing into a 500; GHL refuses it as invalid input. Every date parameter now answers it, and any
    date Python cannot compute with, as it answers a non-date: the operation's documented refusal (422 with
    UnprocessableDTO for tasks and opportunity search, 400 with BadRequestDTO for calendars, conversations
    and contact search). So do the numeric parameters for non-finite or non-numeric values."""
    call, loc = _raw(emu), emu.location_id
    task = lambda v: call("POST", "/contacts/ct_0/tasks", body={"title": "t", "dueDate": v, "completed": False})  # noqa: E731
    dates = [  # (parameter, method, spec path, a call with that parameter set to v)
        ("dueDate", "POST", "/contacts/{contactId}/tasks", task),
        ("startDate", "GET", "/conversations/messages/export",
         lambda v: call("GET", "/conversations/messages/export", {"locationId": loc, "startDate": v})),
        ("startTime", "GET", "/calendars/events",
         lambda v: call("GET", "/calendars/events", {"locationId": loc, "calendarId": CALENDAR, "startTime": v,
                                                     "endTime": "1893456000000"})),
        ("startTime", "POST", "/calendars/events/appointments",
         lambda v: call("POST", "/calendars/events/appointments",
                        body={"calendarId": CALENDAR, "locationId": loc, "contactId": "ct_0", "startTime": v})),
        ("startDate", "GET", "/calendars/{calendarId}/free-slots",
         lambda v: call("GET", f"/calendars/{CALENDAR}/free-slots", {"startDate": v, "endDate": v})),
    ]
    numbers = [
        ("startAfter", "GET", "/opportunities/search",
         lambda v: call("GET", "/opportunities/search", {"location_id": loc, "startAfter": v, "startAfterId": "op_001"})),
        ("searchAfter", "POST", "/contacts/search",
         lambda v: call("POST", "/contacts/search", body={"locationId": loc, "searchAfter": [v, "ct_0"]})),
        ("startDate", "GET", "/calendars/{calendarId}/free-slots",
         lambda v: call("GET", f"/calendars/{CALENDAR}/free-slots", {"startDate": v, "endDate": v})),
    ]
    cases = [(param, method, path, send, value) for param, method, path, send in dates
             for value in ("12345678901234567890", "9" * 25, "9" * 400, "0001-01-01T00:00:00+14:00", "not-a-date")]
    cases += [(param, method, path, send, value) for param, method, path, send in numbers
              for value in ("nan", "inf", "9" * 400, "x")]
    for param, method, path, send, value in cases:
        _assert_documented_refusal(method, path, send(value), param)
    # and a far but real date (epoch ms, year 5138) is still a date
    assert task("99999999999999").status_code == 201


def test_upsert_reconciles_the_422_that_still_created_the_contact(emu):
    ghl = emu.client()
    payload = {"email": "new.buyer@globex.example", "firstName": "New", "lastName": "Buyer",
               "customFields": [{"id": "cf_industry", "field_value": "Software"},
                                {"id": "cf_employee_count", "field_value": "lots"}]}
    contact, created = ghl.upsert_contact(payload)
    assert created is True and contact.email == "new.buyer@globex.example"
    assert contact.custom("industry") == "Software" and contact.custom("employee_count") is None
    assert ghl.get_contact(contact.id).first_name == "New"

    again, created_again = ghl.upsert_contact({"email": "NEW.buyer@globex.example", "tags": ["hot"],
                                               "customFields": [{"id": "cf_employee_count", "field_value": 120}]})
    assert (again.id, created_again) == (contact.id, False)
    assert again.custom("employee_count") == "120" and again.tags == ["hot"]


# ------------------------------------------------------------------------------------ retry and faults


def test_recovers_from_injected_429_and_5xx_within_the_retry_bound(emu):
    ghl = emu.client(max_retries=8)
    emu.faults(p429=0.25, p5xx=0.25, seed=11)
    started = time.perf_counter()
    for i in range(20):
        assert ghl.get_contact(f"ct_{i % 7}").id == f"ct_{i % 7}"
    assert len(list(ghl.search_contacts(page_limit=3))) == 7  # POST reads are retried too
    stats = emu.stats()
    assert stats["429"] > 0 and stats["5xx"] > 0
    assert stats["requests"] == 23 + stats["429"] + stats["5xx"]
    assert time.perf_counter() - started < 5


def test_fails_clearly_after_the_retry_bound(emu):
    ghl = emu.client(max_retries=3)
    emu.faults(p5xx=1.0)
    with pytest.raises(ServiceError) as info:
        ghl.get_contact("ct_0")
    assert info.value.status in (500, 502, 503) and "after retries" in str(info.value)
    assert emu.stats()["requests"] == 4

    emu.faults(p429=1.0)
    with pytest.raises(RateLimited) as info:
        ghl.get_pipelines()
    assert info.value.status == 429 and "throttled" in str(info.value)
    assert emu.stats()["requests"] == 8  # the injector's counters are cumulative: 4 + 4 attempts


def test_sends_are_not_repeated_after_a_5xx(emu):
    ghl = emu.client(max_retries=3)
    emu.faults(p5xx=1.0)
    with pytest.raises(ServiceError):
        ghl.create_note("ct_0", "should be attempted once")
    assert emu.stats()["requests"] == 1


def test_malformed_bodies_are_retried_then_reported(emu):
    ghl = emu.client(malformed_retries=2)
    emu.faults(pmalformed=1.0)
    with pytest.raises(MalformedResponse) as info:
        ghl.get_contact("ct_0")
    assert "not valid JSON" in str(info.value) and info.value.body == '{"truncated": [1, 2'
    assert emu.stats()["malformed"] == 3
    emu.faults(pmalformed=0.5, seed=3)
    for _ in range(8):
        assert ghl.get_pipelines()[0].id == PIPELINE


def test_read_timeouts_become_transport_errors(emu):
    ghl = emu.client(timeout_s=0.15, max_retries=1)
    emu.faults(ptimeout=1.0, timeout_s=0.4)
    with pytest.raises(TransportError) as info:
        ghl.get_contact("ct_0")
    assert info.value.status is None and "Timeout" in str(info.value)
    assert TOKEN not in str(info.value)


def test_a_seeded_fault_run_replays_identically(home):
    """Two injectors with the same seed answer the same request sequence with the same responses, down to
    which 5xx (500/502/503) each fault is; a scripted "5xx" draws its code from that seeded RNG too. The
    code used to come from the unseeded module RNG, so a failing fault run could not be replayed."""
    root, location = home
    headers = {"Authorization": f"Bearer {TOKEN}", "Version": VERSIONS["contacts"]}

    def run(faults: Faults, script: list[str] | None = None, n: int = 40) -> list[tuple[int, bytes]]:
        app = build_app(DocStore(root / "emulators" / "ghl.sqlite"), root / "sample")
        server = EmulatorServer(FaultInjector(app, faults, error_response, script=script)).start()
        try:
            return [(r.status_code, r.content) for r in
                    (requests.get(f"{server.url}/contacts/ct_{i % 7}", headers=headers, timeout=5) for i in range(n))]
        finally:
            server.stop()

    knobs = dict(p429=0.15, p5xx=0.5, pmalformed=0.1)
    first, again = run(Faults(**knobs, seed=21)), run(Faults(**knobs, seed=21))
    assert first == again
    statuses = [status for status, _ in first]
    assert {500, 502, 503} <= set(statuses) and {200, 429} <= set(statuses)  # every kind of answer was drawn
    assert statuses != [status for status, _ in run(Faults(**knobs, seed=22))]  # and the seed decides them

    scripted = [run(Faults(seed=5), script=["5xx"] * 12, n=12) for _ in range(2)]
    assert scripted[0] == scripted[1] and len({status for status, _ in scripted[0]}) > 1


# ------------------------------------------------------------------------------------------ rate limit


def test_client_never_trips_the_rate_limit(home):
    window = 1.0  # the same 100-per-window rule as production's 100 per 10 s, scaled to keep tests fast
    emulator = Emulator(*home, rate_limit=100, rate_window_s=window)
    try:
        ghl = emulator.client(requests_per_10s=100, rate_window_s=window, max_retries=0)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(lambda i: ghl.get_contact(f"ct_{i % 7}").id, range(150)))
        elapsed = time.perf_counter() - started
        assert len(results) == 150
        assert emulator.app.state.throttle.throttled == 0, "the client tripped the server's rate limit"
        assert elapsed >= window, f"150 calls in {elapsed:.2f}s cannot respect 100 per {window}s"
        assert ghl.last_rate_limit["X-RateLimit-Max"] == "100"
        assert int(ghl.last_rate_limit["X-RateLimit-Remaining"]) < 100
        assert ghl.last_rate_limit["X-RateLimit-Interval-Milliseconds"] == "1000"
    finally:
        emulator.server.stop()


def test_rate_limiter_bounds_calls_per_window_across_threads():
    """The limiter itself, independent of how fast this machine happens to be."""
    limiter = RateLimiter(5, 0.2, margin_s=0.0)
    starts: list[float] = []

    def call(_: int) -> None:
        with limiter:
            starts.append(time.monotonic())
            time.sleep(0.01)  # the request is in flight: its slot cannot expire yet

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(call, range(15)))
    starts.sort()
    assert min(starts[i + 5] - starts[i] for i in range(len(starts) - 5)) >= 0.2 - 0.005
    assert starts[-1] - starts[0] >= 0.4 and limiter.total_wait_s > 0


def test_emulator_enforces_the_rate_limit_with_ghl_headers(home):
    emulator = Emulator(*home, rate_limit=10, rate_window_s=10.0)
    try:
        headers = {"Authorization": f"Bearer {TOKEN}", "Version": VERSIONS["contacts"]}
        with requests.Session() as raw:
            answers = [raw.get(f"{emulator.url}/contacts/ct_0", headers=headers, timeout=5) for _ in range(11)]
        assert [r.status_code for r in answers] == [200] * 10 + [429]
        assert [r.headers["X-RateLimit-Remaining"] for r in answers[:3]] == ["9", "8", "7"]
        throttled = answers[-1]
        assert throttled.json() == {"statusCode": 429, "message": "Too many requests"}
        assert throttled.headers["X-RateLimit-Remaining"] == "0" and throttled.headers["X-RateLimit-Max"] == "10"
        assert throttled.headers["X-RateLimit-Interval-Milliseconds"] == "10000"
        assert int(throttled.headers["X-RateLimit-Daily-Remaining"]) == 200_000 - 10
        assert emulator.app.state.throttle.throttled == 1
        # ... and the client, given a tiny retry budget, reports it clearly
        with pytest.raises(RateLimited):
            emulator.client(max_retries=1).get_contact("ct_0")
    finally:
        emulator.server.stop()


# ------------------------------------------------------------------------------- writes and persistence


def test_writes_persist_across_emulator_instances(home):
    first = Emulator(*home)
    ghl = first.client()
    note = ghl.create_note("ct_1", "Wants SOC2 report", user_id=USER)
    task = ghl.create_task("ct_1", "Send SOC2", "attach PDF", datetime(2030, 1, 8, 15, tzinfo=timezone.utc), USER)
    assert ghl.add_tags("ct_1", ["soc2", "hot"]) == ["soc2", "hot"]
    assert ghl.remove_tags("ct_1", ["soc2"]) == ["hot"]
    moved = ghl.update_opportunity("op_001", pipeline_stage_id="st_closing", monetary_value=5000)
    assert moved.pipeline_stage_id == "st_closing" and moved.last_stage_change_at
    ghl.update_opportunity_status("op_002", "won")
    updated = ghl.update_contact("ct_1", {"website": "https://acme1.example"})
    assert updated.website == "https://acme1.example"
    first.server.stop()

    second = Emulator(*home)  # a new app and DocStore object over the same SQLite file: no re-seed
    try:
        again = second.client()
        assert [n.body for n in again.list_notes("ct_1")] == ["Wants SOC2 report"]
        assert again.list_notes("ct_1")[0].id == note.id
        assert [(t.id, t.title, t.completed) for t in again.list_tasks("ct_1")] == [(task.id, "Send SOC2", False)]
        contact = again.get_contact("ct_1")
        assert contact.tags == ["hot"] and contact.website == "https://acme1.example"
        opp = again.get_opportunity("op_001")
        assert (opp.pipeline_stage_id, opp.monetary_value) == ("st_closing", 5000)
        assert again.get_opportunity("op_002").status == "won"
    finally:
        second.server.stop()


def test_email_is_recorded_unless_the_contact_is_dnd(emu):
    ghl = emu.client()
    sent = ghl.send_email("ct_0", "Quick question", "<p>Hi Buyer0</p>", email_from="ada@seller.example")
    assert sent.status == "delivered" and sent.conversation_id == "conv_0"
    messages = ghl.list_messages("conv_0", page_limit=2)  # 6 messages -> 3 pages, newest first
    assert len(messages) == 6 and messages[0].id == sent.id and messages[0].subject == "Quick question"
    assert [m.id for m in messages[1:]] == [f"msg_{i}" for i in range(4, -1, -1)]
    conversations = ghl.search_conversations("ct_0")
    assert [c.id for c in conversations] == ["conv_0"] and conversations[0].last_message_body == "<p>Hi Buyer0</p>"

    with pytest.raises(ContactDND) as info:
        ghl.send_email("ct_3", "Hello", "<p>no</p>")
    assert info.value.status == 400 and "DND" in info.value.message
    assert ghl.search_conversations("ct_3") == []

    fresh = ghl.send_email("ct_5", "Intro", "<p>Hi</p>")
    assert fresh.conversation_id != "conv_0" and ghl.list_messages(fresh.conversation_id)[0].status == "delivered"
    assert emu.store.get("messages", fresh.id)["status"] == "delivered"


def test_free_slots_exclude_bookings_and_booking_takes_a_slot(emu):
    ghl = emu.client()
    (calendar,) = ghl.list_calendars()
    assert calendar.id == CALENDAR and calendar.slot_duration == 60
    day_start, day_end = MONDAY, MONDAY + timedelta(days=1) - timedelta(seconds=1)
    slots = ghl.get_free_slots(CALENDAR, day_start, day_end, timezone="America/New_York")
    assert [s.start.hour for s in slots] == [9, 11] and {s.date for s in slots} == {"2030-01-07"}
    assert slots[0].start.utcoffset() == timedelta(hours=-5)

    nine = slots[0].start
    appointment = ghl.book_appointment(CALENDAR, "ct_2", nine, nine + timedelta(hours=1), "Discovery", USER)
    assert appointment.contact_id == "ct_2" and appointment.start == nine
    assert [s.start.hour for s in ghl.get_free_slots(CALENDAR, day_start, day_end, "America/New_York")] == [11]
    events = ghl.list_events(CALENDAR, day_start, day_end)
    assert [e.id for e in events] == [appointment.id, "ap_0"]
    with pytest.raises(ValidationError) as info:
        ghl.book_appointment(CALENDAR, "ct_4", nine, nine + timedelta(hours=1), "Clash")
    assert info.value.status == 400 and "no longer available" in info.value.message
    utc_slots = ghl.get_free_slots(CALENDAR, day_start, day_end)  # default UTC: same instants, UTC offsets
    assert [s.start for s in utc_slots] == [MONDAY.replace(hour=11)]


# ------------------------------------------------------------------------------------ spec conformance


CLIENT_OPERATIONS = {
    ("POST", "/contacts/search"), ("GET", "/contacts/search/duplicate"), ("POST", "/contacts/upsert"),
    ("GET", "/contacts/{contactId}"), ("PUT", "/contacts/{contactId}"), ("POST", "/contacts/{contactId}/tags"),
    ("DELETE", "/contacts/{contactId}/tags"), ("GET", "/contacts/{contactId}/notes"),
    ("POST", "/contacts/{contactId}/notes"), ("GET", "/contacts/{contactId}/tasks"),
    ("POST", "/contacts/{contactId}/tasks"), ("GET", "/opportunities/search"), ("GET", "/opportunities/pipelines"),
    ("GET", "/opportunities/{id}"), ("PUT", "/opportunities/{id}"), ("PUT", "/opportunities/{id}/status"),
    ("POST", "/conversations/messages"), ("GET", "/conversations/search"),
    ("GET", "/conversations/{conversationId}/messages"), ("GET", "/conversations/messages/export"),
    ("GET", "/calendars/"), ("GET", "/calendars/{calendarId}/free-slots"),
    ("POST", "/calendars/events/appointments"), ("GET", "/calendars/events"),
}


def test_client_requests_and_emulator_responses_conform_to_the_published_specs(emu):
    ghl = emu.client()
    exchanges: list[requests.Response] = []
    ghl.add_response_hook(exchanges.append)

    ghl.verify()
    pipelines = ghl.get_pipelines()
    list(ghl.search_contacts(page_limit=4))
    ghl.get_contact("ct_0")
    created, _ = ghl.upsert_contact({"email": "spec@check.example", "firstName": "Spec",
                                     "customFields": [{"id": "cf_region", "field_value": "EMEA"}]})
    ghl.find_duplicate(email="spec@check.example")
    _, reconciled = ghl.upsert_contact({"email": "spec2@check.example",  # answered 422, stored anyway
                                        "customFields": [{"id": "cf_employee_count", "field_value": "x"}]})
    assert reconciled
    ghl.update_contact(created.id, {"lastName": "Checked", "tags": ["a"]})
    ghl.add_tags(created.id, ["b"])
    ghl.remove_tags(created.id, ["a"])
    ghl.create_note(created.id, "note", user_id=USER)
    ghl.list_notes(created.id)
    ghl.create_task(created.id, "t", "b", datetime(2030, 2, 1, tzinfo=timezone.utc), USER)
    ghl.list_tasks(created.id)
    list(ghl.search_opportunities(pipeline_id=pipelines[0].id, status="open", limit=100))
    ghl.get_opportunity("op_000")
    ghl.update_opportunity("op_000", pipeline_stage_id=pipelines[0].stage("Proposal").id)
    ghl.update_opportunity_status("op_000", "lost")
    ghl.send_email(created.id, "Hi", "<p>Hi</p>", email_from="ada@seller.example", thread_id="t1")
    conversations = ghl.search_conversations(created.id)
    ghl.list_messages(conversations[0].id)
    assert len(list(ghl.export_messages(page_limit=10, end_date=datetime(2100, 1, 1, tzinfo=timezone.utc)))) == 6
    ghl.list_calendars()
    slots = ghl.get_free_slots(CALENDAR, MONDAY, MONDAY + timedelta(days=2), "America/New_York")
    ghl.book_appointment(CALENDAR, created.id, slots[0].start, slots[0].start + timedelta(hours=1), "Call", USER)
    ghl.list_events(CALENDAR, MONDAY, MONDAY + timedelta(days=2))
    with pytest.raises(ValidationError):
        ghl.update_contact(created.id, {"email": "bad"})
    with pytest.raises(ContactDND):
        ghl.send_email("ct_3", "Hi", "<p>Hi</p>")
    with pytest.raises(AuthError):
        emu.client(api_key="invalid").get_contact("ct_0")  # not hooked: checked below by hand

    covered = set()
    for response in exchanges:
        spec = _spec_for(response.request.url)
        validate_exchange(spec, response)
        covered.add((response.request.method, operation_of(spec, response.request.method, response.request.url)))
    assert covered == CLIENT_OPERATIONS
    assert {r.status_code for r in exchanges} >= {200, 201, 400, 422}

    # Error bodies are GHL's documented shapes.
    r = requests.get(f"{emu.url}/contacts/ct_0", headers={"Authorization": "Bearer invalid",
                                                          "Version": VERSIONS["contacts"]}, timeout=5)
    validate_response("gohighlevel/contacts", "GET", "/contacts/{contactId}", r.status_code, r.json())
    r = requests.get(f"{emu.url}/contacts/ct_0", headers={"Authorization": f"Bearer {TOKEN}", "Version": "1"}, timeout=5)
    validate_response("gohighlevel/contacts", "GET", "/contacts/{contactId}", r.status_code, r.json())


def test_spec_validation_catches_wrong_traffic():
    with pytest.raises(AssertionError, match="Version"):
        validate_request("gohighlevel/contacts", "GET", "http://127.0.0.1:1/contacts/abc", None,
                         {"Authorization": "Bearer x", "Version": "2021-04-15"})
    with pytest.raises(AssertionError, match="bearer|Security"):
        validate_request("gohighlevel/calendars", "GET", "/calendars/?locationId=l", None, {"Version": "2021-04-15"})
    with pytest.raises(AssertionError, match="tags"):
        validate_response("gohighlevel/contacts", "GET", "/contacts/{contactId}", 200, {"contact": {"tags": "x"}})
    with pytest.raises(AssertionError, match="status"):
        validate_request("gohighlevel/opportunities", "PUT", "/opportunities/o1/status", {"status": "maybe"},
                         {"Authorization": "Bearer x", "Version": "2021-07-28", "Content-Type": "application/json"})
    validate_response("gohighlevel/opportunities", "GET", "/opportunities/pipelines?locationId=l", 200,
                      {"pipelines": [{"id": "p", "name": "n", "stages": [{"id": "s", "name": "S"}]}]})


# ----------------------------------------------------------------------------------------- plumbing


def test_starts_through_the_shared_emulator_plumbing(home, monkeypatch):
    from revops_assets.emulators import start_emulator
    from revops_assets.settings import load_settings

    monkeypatch.delenv("REVOPS_EMULATOR_FAULTS", raising=False)
    monkeypatch.delenv("REVOPS_EMULATOR_FAULTS_GHL", raising=False)
    tmp, location_id = home
    server = start_emulator("ghl", load_settings({"REVOPS_HOME": str(tmp)}))
    try:
        ghl = GoHighLevelResource(api_key=TOKEN, location_id=location_id, base_url=server.url)
        ghl.verify()
        assert ghl.get_contact("ct_6").custom("industry") == "Energy"
        assert ghl.last_rate_limit["X-RateLimit-Max"] == "100"
    finally:
        server.stop()
    # demo wiring: no URL, a home -> this process's emulator for that home, started on first use
    demo = GoHighLevelResource(api_key="demo", location_id=location_id, base_url="", demo_home=str(tmp))
    assert [p.id for p in demo.get_pipelines()] == [PIPELINE]


def test_real_sample_workspace_round_trips_and_conforms(tmp_path, small_sample_dir):
    """The generator's GHL files, served by the emulator, read by the client: wire formats agree."""
    shutil.copytree(small_sample_dir, tmp_path / "sample")
    manifest = json.loads((tmp_path / "sample" / "manifest.json").read_text())
    emulator = Emulator(tmp_path, manifest["location_id"])
    try:
        ghl = emulator.client()
        exchanges: list[requests.Response] = []
        ghl.add_response_hook(exchanges.append)
        contacts = list(ghl.search_contacts(page_limit=50))
        assert len(contacts) == emulator.store.count("contacts") > 50
        assert sum(c.custom("industry") is not None for c in contacts) >= 0.9 * len(contacts)
        opps = list(ghl.search_opportunities(limit=20))
        assert len({o.id for o in opps}) == emulator.store.count("opportunities")
        stage_ids = {s.id for p in ghl.get_pipelines() for s in p.stages}
        assert stage_ids and sum(o.pipeline_stage_id in stage_ids for o in opps) >= 0.9 * len(opps)
        emails = list(ghl.export_messages(page_limit=25))
        assert len(emails) == emulator.store.count("messages") and len(emails) > 25
        assert [m.date_added for m in emails] == sorted(m.date_added for m in emails)
        thread = ghl.list_messages(emails[0].conversation_id)
        assert emails[0].id in {m.id for m in thread}
        calendars = ghl.list_calendars()
        as_of = datetime.fromisoformat(manifest["as_of"]).replace(tzinfo=timezone.utc)
        slots = ghl.get_free_slots(calendars[0].id, as_of, as_of + timedelta(days=3), "UTC")
        events = [e for c in calendars for e in ghl.list_events(c.id, as_of - timedelta(days=60), as_of + timedelta(days=3))]
        assert slots and events
        for response in exchanges:
            validate_exchange(_spec_for(response.request.url), response)
    finally:
        emulator.server.stop()


def test_resource_construction_is_offline_and_works_as_a_dagster_resource(emu):
    import dagster as dg

    GoHighLevelResource(api_key="k", location_id="l", base_url="http://127.0.0.1:9")  # no network here
    with dg.build_resources({"ghl": emu.client()}) as resources:
        assert [p.name for p in resources.ghl.get_pipelines()] == ["New Business"]
