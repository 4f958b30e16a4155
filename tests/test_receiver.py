"""The RB2B receiver, over real HTTP on loopback: every body gets an honest answer and nothing is lost."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import time
from contextlib import closing
from datetime import datetime, timezone

import httpx
import pytest
from click.testing import CliRunner

from revops_assets.emulators._server import EmulatorServer
from revops_assets.receiver.app import WEBHOOK_PATH, build_app
from revops_assets.receiver.models import InvalidVisit, parse_visit
from revops_assets.resources.inbox import VisitInbox

TOKEN = "s3cret-Token-0123456789"

# The documented sample, values as published (note the broken Seen At).
SAMPLE = {
    "LinkedIn URL": "https://www.linkedin.com/in/retentionadam/", "First Name": "Adam", "Last Name": "Robinson",
    "Title": "CEO @ Retention.com", "Company Name": "Retention.com", "Business Email": "adam@retention.com",
    "Website": "https://retention.com", "Industry": "Internet Technology & Services", "Employee Count": 60,
    "Estimate Revenue": "$22M rev", "City": "Austin", "State": "Texas", "Zipcode": "73301",
    "Seen At": "2024-01-01T12:34:56:00.00+00.00", "Referrer": "https://retention.com",
    "Captured URL": "https://rb2b.com/pricing", "Tags": "Hot Pages, Hot Leads",
}


def visit_body(i: int, **overrides: object) -> dict:
    return SAMPLE | {"LinkedIn URL": f"https://www.linkedin.com/in/person-{i}/", "First Name": f"P{i}"} | overrides


class Receiver:
    """The real app under uvicorn on 127.0.0.1; restartable on the same port, same inbox."""

    def __init__(self, inbox_path, max_body_bytes: int = 64 * 1024):
        self.inbox_path = inbox_path
        self.max_body_bytes = max_body_bytes
        self.port = 0
        self.server: EmulatorServer | None = None
        self.start()

    def start(self) -> None:
        app = build_app(self.inbox_path, TOKEN, max_body_bytes=self.max_body_bytes)
        self.server = EmulatorServer(app, port=self.port).start()
        self.port = self.server.port

    def stop(self) -> None:
        assert self.server is not None
        self.server.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}?token={TOKEN}"


@pytest.fixture
def receiver(tmp_path):
    rx = Receiver(tmp_path / "inbox.sqlite", max_body_bytes=8 * 1024)
    yield rx
    rx.stop()


@pytest.fixture
def client():
    with httpx.Client(timeout=5) as c:
        yield c


@pytest.fixture
def inbox(tmp_path):
    with VisitInbox(tmp_path / "inbox.sqlite") as box:
        yield box


def post(client: httpx.Client, url: str, content: bytes | dict) -> httpx.Response:
    data = json.dumps(content).encode() if isinstance(content, dict) else content
    return client.post(url, content=data, headers={"content-type": "application/json"})


# --- over HTTP ---------------------------------------------------------------------------------------

def test_documented_sample_with_broken_seen_at_is_accepted_and_stored(receiver, client, inbox):
    r = post(client, receiver.url, SAMPLE)
    assert (r.status_code, r.json()) == (200, {"status": "accepted"})
    [stored] = inbox.read_after(0, 10)
    v = stored.visit
    assert v.seen_at == datetime(2024, 1, 1, 12, 34, 56, tzinfo=timezone.utc) and v.seen_at_source == "rb2b"
    assert v.tags == ("Hot Pages", "Hot Leads") and v.is_hot_page and not v.is_company_only
    assert (v.email, v.domain, v.employee_count, v.zipcode) == ("adam@retention.com", "retention.com", 60, "73301")


def test_flat_and_envelope_forms_are_both_accepted(receiver, client, inbox):
    assert post(client, receiver.url, visit_body(1)).json() == {"status": "accepted"}
    envelope = {"event_id": "evt_42", "timestamp": "2024-03-01T10:00:00Z", "payload": visit_body(2)}
    assert post(client, receiver.url, envelope).json() == {"status": "accepted"}
    first, second = (s.visit for s in inbox.read_after(0, 10))
    assert first.event_id is None and second.event_id == "evt_42"
    assert second.linkedin_url.endswith("person-2/")


def test_redelivery_is_deduplicated_and_a_repeat_visit_is_kept(receiver, client, inbox):
    assert post(client, receiver.url, visit_body(1)).json() == {"status": "accepted"}
    assert post(client, receiver.url, visit_body(1)).json() == {"status": "duplicate"}
    # The same redelivery wrapped by a relay is still the same visit.
    assert post(client, receiver.url, {"event_id": "x", "payload": visit_body(1)}).json() == {"status": "duplicate"}
    later = visit_body(1, **{"Seen At": "2024-01-02T08:00:00Z"})
    assert post(client, receiver.url, later).json() == {"status": "accepted"}
    assert inbox.count() == 2


BAD_BODIES = [
    (b'{"LinkedIn URL": "https://www.linkedin.com/in/x"', "malformed JSON"),
    (b"", "malformed JSON"),
    (b"\xff\xfe not text", "not UTF-8"),
    (b'[{"LinkedIn URL": "x"}]', "must be a JSON object, got array"),
    (json.dumps(visit_body(1, **{"Employee Count": {"min": 1}})).encode(), "'Employee Count'"),
    (json.dumps(visit_body(1, **{"First Name": 7})).encode(), "'First Name': expected string, got integer"),
    (json.dumps(visit_body(1, Tags=3)).encode(), "'Tags'"),
    (json.dumps({k: v for k, v in SAMPLE.items() if k != "Captured URL"}).encode(), "'Captured URL'"),
    (json.dumps({"Captured URL": "https://a.com", "Seen At": "2024-01-01T00:00:00Z"}).encode(), "missing identity"),
    (b'{"event_id": "e", "payload": "not an object"}', "'payload' must be an object"),
]


def test_unusable_bodies_get_200_and_are_quarantined_with_the_reason(receiver, client, inbox):
    # One server for all cases (a uvicorn start/stop costs ~0.2 s); each case checked on its own row.
    for n, (content, reason) in enumerate(BAD_BODIES, start=1):
        r = post(client, receiver.url, content)
        assert r.status_code == 200, content
        assert r.json()["status"] == "quarantined" and reason in r.json()["reason"], (content, r.json())
        q = inbox.quarantined()
        assert len(q) == n and q[-1].raw == content and reason in q[-1].reason
    assert inbox.count() == 0


def test_oversized_body_is_answered_200_quarantined_and_read_only_up_to_the_cap(receiver, client, inbox):
    huge = json.dumps(visit_body(1, Title="x" * 100_000)).encode()
    r = post(client, receiver.url, huge)
    assert (r.status_code, r.json()["status"]) == (200, "quarantined")
    [q] = inbox.quarantined()
    assert q.reason.startswith("oversized") and len(q.raw) <= receiver.max_body_bytes
    assert inbox.count() == 0
    # The receiver is still fine afterwards.
    assert post(client, receiver.url, visit_body(2)).json() == {"status": "accepted"}


def test_wrong_or_missing_token_is_401_and_writes_nothing(receiver, client, inbox):
    for query in ["", "?token=", "?token=wrong", f"?token={TOKEN}x", f"?token={TOKEN[:-1]}", "?Token=" + TOKEN]:
        r = post(client, f"http://127.0.0.1:{receiver.port}{WEBHOOK_PATH}{query}", SAMPLE)
        assert r.status_code == 401, query
    assert inbox.count() == 0 and inbox.quarantined() == []


def test_token_and_query_string_never_reach_the_logs(receiver, client, caplog):
    caplog.set_level(logging.DEBUG)
    post(client, receiver.url, SAMPLE)
    post(client, receiver.url, b"{broken")
    post(client, receiver.url.replace(TOKEN, "guess-" + TOKEN[:6]), SAMPLE)
    # Server-side loggers only: the test's own HTTP client (httpx) logs the URL it calls, by design.
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    text = "\n".join(r.getMessage() for r in server_side)
    assert "quarantined" in text and "wrong or missing token" in text
    assert TOKEN[:6] not in text and "token=" not in text


def test_a_good_visit_after_a_storm_of_bad_ones_is_still_there(receiver, client, inbox):
    for i in range(60):
        post(client, receiver.url, [b"{", b"null", b"[]", json.dumps({"Tags": i}).encode()][i % 4])
    assert post(client, receiver.url, visit_body(99)).json() == {"status": "accepted"}
    assert len(inbox.quarantined()) == 60
    assert [v.visit.first_name for v in inbox.read_after(0, 10)] == ["P99"]


def test_healthz(receiver, client):
    r = client.get(f"http://127.0.0.1:{receiver.port}/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})


def test_restart_mid_load_loses_no_visit_that_got_a_200(tmp_path, inbox):
    """A client keeps posting while the receiver is stopped and restarted; every 200 is in the inbox."""
    rx = Receiver(tmp_path / "inbox.sqlite")
    answered: dict[int, str] = {}
    errors = 0
    bad_statuses: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        nonlocal errors
        i = 0
        with httpx.Client(timeout=5) as c:
            while not stop.is_set() or i < 40:
                try:
                    r = post(c, rx.url, visit_body(i))
                except httpx.TransportError:
                    errors += 1  # receiver down: try the same visit again (RB2B would not; we measure loss)
                    time.sleep(0.005)
                    continue
                if r.status_code != 200:
                    bad_statuses.append(r.status_code)
                    continue
                answered[i] = r.json()["status"]
                i += 1

    t = threading.Thread(target=hammer)
    t.start()
    try:
        time.sleep(0.2)
        rx.stop()  # graceful: in-flight requests finish, new ones are refused
        time.sleep(0.1)
        rx.start()
        time.sleep(0.2)
    finally:
        stop.set()
        t.join(timeout=10)
        rx.stop()
    assert not t.is_alive() and bad_statuses == []
    assert errors > 0, "the client never saw the receiver down: the test did not exercise a restart"
    assert answered and set(answered.values()) <= {"accepted", "duplicate"}
    stored = {v.visit.first_name for v in inbox.read_after(0, 100_000)}
    assert stored == {f"P{i}" for i in answered}
    assert inbox.count() == len(answered)


# --- parsing (pure) ----------------------------------------------------------------------------------

def parse(d: dict, **kw) -> object:
    return parse_visit(json.dumps(d).encode(), **kw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-01-01T12:34:56Z", datetime(2024, 1, 1, 12, 34, 56, tzinfo=timezone.utc)),
        ("2024-01-01T12:34:56.250+02:00", datetime(2024, 1, 1, 10, 34, 56, 250000, tzinfo=timezone.utc)),
        ("2024-01-01T12:34:56:00.00+00.00", datetime(2024, 1, 1, 12, 34, 56, tzinfo=timezone.utc)),
        ("2024-01-01T12:34:56:00.00-05.30", datetime(2024, 1, 1, 18, 4, 56, tzinfo=timezone.utc)),
        ("2024-01-01 12:34:56", datetime(2024, 1, 1, 12, 34, 56, tzinfo=timezone.utc)),
        (1704112496, datetime(2024, 1, 1, 12, 34, 56, tzinfo=timezone.utc)),
    ],
)
def test_seen_at_is_parsed_leniently_to_utc(raw, expected):
    v = parse(SAMPLE | {"Seen At": raw})
    assert v.seen_at == expected and v.seen_at_source == "rb2b" and not v.seen_at_fallback


def test_unparseable_seen_at_falls_back_and_is_flagged_never_dropped():
    received = datetime(2025, 5, 5, 5, 5, tzinfo=timezone.utc)
    v = parse(SAMPLE | {"Seen At": "soon-ish"}, received_at=received)
    assert (v.seen_at, v.seen_at_source, v.seen_at_raw, v.seen_at_fallback) == (received, "received", "soon-ish", True)
    wrapped = parse({"event_id": "e1", "timestamp": "2024-02-02T02:02:02Z", "payload": SAMPLE | {"Seen At": None}})
    assert wrapped.seen_at == datetime(2024, 2, 2, 2, 2, 2, tzinfo=timezone.utc) and wrapped.seen_at_source == "envelope"


@pytest.mark.parametrize(("raw", "count"), [
    (60, 60), ("200-500", 200), ("1,001-5,000", 1001), ("10000+", 10000), ("unknown", None), (None, None),
    # Absurd: None with the raw value kept, never an exception (5,000 digits is past int()'s 4300-digit limit).
    ("9" * 5000, None), ("9" * 5000 + "-10000", None), ("0" * 5000 + "60", 60), ("1" + ",000" * 2000, None),
    ("10,000,000", 10_000_000), ("10,000,001", None), (10**4000, None), (1e308, None), (float("inf"), None), (-5, None),

], ids=lambda v: repr(v)[:16])
def test_employee_count_keeps_a_lower_bound_and_the_raw_value(raw, count):
    v = parse(SAMPLE | {"Employee Count": raw})
    assert v.employee_count == count
    assert v.employee_count_raw == (None if raw is None else str(raw))


def test_company_only_profile_and_domain_from_email():
    company = SAMPLE | {"First Name": None, "Last Name": None, "Title": None, "Business Email": None,
                        "LinkedIn URL": "https://www.linkedin.com/company/retention/", "Tags": None}
    v = parse(company)
    assert v.is_company_only and v.tags == () and v.domain == "retention.com"
    person = parse(SAMPLE | {"Website": None, "Business Email": "Jo@Sub.Example.io"})
    assert not person.is_company_only and person.email == "jo@sub.example.io" and person.domain == "sub.example.io"


@pytest.mark.parametrize(("url", "tags", "hot"), [
    ("https://a.com/pricing", None, True), ("https://a.com/book-a-demo/", None, True),
    ("https://a.com/contact-us?x=1", None, True), ("https://a.com/start-free-trial", None, True),
    ("https://a.com/blog/pricing-psychology", None, True), ("https://a.com/blog/why", None, False),
    ("https://a.com/blog/why", "Hot Pages", True), ("https://a.com/democracy", None, False),
])
def test_hot_pages(url, tags, hot):
    assert parse(SAMPLE | {"Captured URL": url, "Tags": tags}).is_hot_page is hot


def test_relay_spellings_of_keys_are_understood():
    v = parse({"linkedin_url": "https://linkedin.com/in/z", "captured_url": "https://a.com/", "seen_at": "2024-01-01T00:00:00Z",
               "business_email": "z@a.com"})
    assert (v.linkedin_url, v.email, v.captured_url) == ("https://linkedin.com/in/z", "z@a.com", "https://a.com/")


def test_invalid_visit_carries_a_specific_reason():
    with pytest.raises(InvalidVisit) as exc:
        parse(SAMPLE | {"Zipcode": ["73301"]})
    assert exc.value.reason == "wrong type for 'Zipcode': expected string, got array"


# --- the command ---------------------------------------------------------------------------------------

def test_live_mode_without_token_fails_with_one_clear_line(tmp_path):
    from revops_assets.receiver.commands import receiver

    result = CliRunner().invoke(receiver, [], env={"REVOPS_ENV": "live", "REVOPS_HOME": str(tmp_path),
                                                   "RB2B_WEBHOOK_TOKEN": ""})
    assert result.exit_code != 0
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "RB2B_WEBHOOK_TOKEN" in lines[0]
    assert not (tmp_path / "inbox.sqlite").exists()


# --- what the parser accepts but the inbox cannot store, or what breaks unexpectedly --------------------

# Valid JSON that parses to a Visit (an escaped lone surrogate is legal JSON), but that Visit cannot be
# serialized back to UTF-8 JSON for the inbox.
def unstorable_body(i: int) -> bytes:
    return json.dumps(visit_body(1000 + i, **{"Last Name": "\ud800"})).encode()


def test_a_visit_the_inbox_cannot_store_is_quarantined_and_its_neighbours_are_kept(receiver, inbox):
    """Concurrent posts share group commits: one unstorable visit must not fail the others' batch."""
    from concurrent.futures import ThreadPoolExecutor

    bodies = [json.dumps(visit_body(i)).encode() for i in range(30)] + [unstorable_body(i) for i in range(3)]
    bodies = bodies[::3] + bodies[1::3] + bodies[2::3]  # interleave the bad ones among the good

    def send(content: bytes) -> tuple[bytes, int, dict]:
        r = httpx.post(receiver.url, content=content, headers={"content-type": "application/json"}, timeout=5)
        return content, r.status_code, r.json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(send, bodies))
    assert all(code == 200 for _, code, _ in answers), answers
    bad = [(content, doc) for content, _, doc in answers if doc["status"] == "quarantined"]
    assert sorted(c for c, _ in bad) == sorted(unstorable_body(i) for i in range(3))
    assert all(doc["reason"].startswith("serializing the visit: PydanticSerializationError") for _, doc in bad)
    assert sum(doc == {"status": "accepted"} for _, _, doc in answers) == 30
    assert inbox.count() == 30
    assert sorted(q.raw for q in inbox.quarantined()) == sorted(c for c, _ in bad)


def absurd_count_body(i: int) -> bytes:
    """A head count of 5,000 digits: past Python's 4300-digit ``int()`` limit, once a crasher."""
    return json.dumps(visit_body(i, **{"Employee Count": "9" * 5000})).encode()


def test_an_absurd_employee_count_is_stored_as_unknown_with_the_raw_value(receiver, client, inbox):
    """Like "unknown" or -5: the visit is kept, the count is None, the raw value is there for a human."""
    r = post(client, receiver.url, absurd_count_body(1))
    assert (r.status_code, r.json()) == (200, {"status": "accepted"})
    [stored] = inbox.read_after(0, 10)
    assert (stored.visit.employee_count, stored.visit.employee_count_raw) == (None, "9" * 5000)
    assert inbox.quarantined() == []


# An inbox file whose ``visits`` table was made by something else: rows keyed by a text id. The
# receiver's ``CREATE TABLE IF NOT EXISTS`` accepts it, the insert works, and then our code's
# ``int(seq)`` raises a ValueError nobody planned for: a real unexpected error of ours, reached through
# real HTTP, the real parser, the real group commit and real SQLite. Nothing of the product is faked.
FOREIGN_VISITS = """CREATE TABLE visits (
    seq TEXT PRIMARY KEY DEFAULT ('v-' || lower(hex(randomblob(8)))),
    dedupe_key TEXT NOT NULL UNIQUE, visit TEXT NOT NULL, raw BLOB NOT NULL, received_at TEXT NOT NULL,
    duplicates INTEGER NOT NULL DEFAULT 0)"""


def foreign_inbox(path, *extra_sql: str) -> None:
    with closing(sqlite3.connect(path)) as db:
        db.executescript(";\n".join([FOREIGN_VISITS, *extra_sql]) + ";")


def test_an_unexpected_error_is_quarantined_with_its_type_and_answered_200(tmp_path, client, caplog):
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "inbox.sqlite"
    foreign_inbox(path)
    rx = Receiver(path)
    try:
        bodies = [json.dumps(visit_body(1)).encode(), absurd_count_body(2)]
        answers = [post(client, rx.url, body) for body in bodies]
        for r in answers:
            assert r.status_code == 200 and r.json()["status"] == "quarantined", r.text
            assert r.json()["reason"].startswith("unexpected error: ValueError: invalid literal for int()"), r.json()
        # The server goes on: an unusable body still gets its own, specific reason.
        assert post(client, rx.url, b"{broken").json()["reason"].startswith("malformed JSON")
        assert client.get(f"http://127.0.0.1:{rx.port}/healthz").status_code == 200
    finally:
        rx.stop()
    with VisitInbox(path) as inbox:
        quarantined = inbox.quarantined()
        assert [(q.raw, q.reason) for q in quarantined[:2]] == [(b, r.json()["reason"]) for b, r in zip(bodies, answers)]
        assert inbox.count() == 0  # the failed batch was rolled back: the body lives in quarantine only
    # Nothing from the URL (the token) reached the inbox or the server's logs.
    server_side = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    assert "ValueError" in server_side and TOKEN not in server_side and "token=" not in server_side
    assert all(TOKEN not in q.reason for q in quarantined)


def test_an_unexpected_error_whose_quarantine_fails_too_is_503(tmp_path, client):
    """The catch-all's own quarantine write fails (the table refuses inserts): the body is not kept, so 503."""
    path = tmp_path / "inbox.sqlite"
    foreign_inbox(path, "CREATE TABLE quarantine (id INTEGER PRIMARY KEY AUTOINCREMENT, reason TEXT NOT NULL, "
                        "raw BLOB NOT NULL, received_at TEXT NOT NULL)",
                  "CREATE TRIGGER no_quarantine BEFORE INSERT ON quarantine BEGIN SELECT RAISE(ABORT, 'refused'); END")
    rx = Receiver(path)
    try:
        r = post(client, rx.url, visit_body(1))
        assert (r.status_code, r.json()) == (503, {"status": "error"})
    finally:
        rx.stop()


def test_a_content_length_past_pythons_int_limit_is_oversized_not_a_crash(tmp_path):
    """uvicorn refuses such a header itself; another ASGI server might pass it on. Driven over plain ASGI."""
    app = build_app(tmp_path / "inbox.sqlite", TOKEN, max_body_bytes=1024)
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": json.dumps(visit_body(1)).encode(), "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": WEBHOOK_PATH, "raw_path": WEBHOOK_PATH.encode(), "query_string": f"token={TOKEN}".encode(),
             "headers": [(b"content-length", b"9" * 5000), (b"content-type", b"application/json")],
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "root_path": ""}
    try:
        asyncio.run(app(scope, receive, send))
        start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
        assert start["status"] == 200 and (b"connection", b"close") in start["headers"]
        assert json.loads(body) == {"status": "quarantined", "reason": "oversized: body larger than 1024 bytes"}
        assert [q.reason for q in app.state.inbox.quarantined()] == ["oversized: body larger than 1024 bytes"]
    finally:
        app.state.inbox.close()


@pytest.mark.parametrize("failure", ["corrupt", "gone"])
def test_when_the_inbox_cannot_be_written_every_body_gets_503_never_a_false_200(tmp_path, client, failure):
    """Nothing is kept, so nothing may be answered 200: not a good visit, not a bad body, not an odd one.

    The disk failure is real: the SQLite file is overwritten with junk, or replaced by a directory, after
    the app was built and before its first write (a read-only file would not stop root, tests' usual user).
    """
    path = tmp_path / "inbox.sqlite"
    rx = Receiver(path)
    try:
        if failure == "corrupt":
            path.write_bytes(b"not an SQLite file: the disk went bad. " * 200)
        else:
            path.unlink()
            path.mkdir()
        for content in [json.dumps(visit_body(1)).encode(), b"{broken", unstorable_body(1), absurd_count_body(2)]:
            r = post(client, rx.url, content)
            assert (r.status_code, r.json()) == (503, {"status": "error"}), content[:60]
        assert client.get(f"http://127.0.0.1:{rx.port}/healthz").status_code == 503
    finally:
        rx.stop()
