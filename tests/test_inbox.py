"""The visit inbox: de-duplication, ordering, quarantine, and safety across processes."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from datetime import timezone

import pytest
from inbox_writer_child import write_visits  # tests/ is on sys.path under pytest

from revops_assets.receiver.models import Visit, parse_visit
from revops_assets.resources.inbox import (MAX_REASON_CHARS, InboxResource, Quarantined, Stored, VisitInbox,
                                           error_reason)


def body(person: str = "adam", seen_at: str = "2024-01-01T12:34:56Z", url: str = "https://acme.com/pricing") -> bytes:
    return json.dumps({"LinkedIn URL": f"https://www.linkedin.com/in/{person}/", "First Name": person.title(),
                       "City": "Austin", "State": "Texas", "Zipcode": "73301",
                       "Seen At": seen_at, "Captured URL": url}).encode()


def add(inbox: VisitInbox, raw: bytes) -> tuple[int, bool]:
    return inbox.append(parse_visit(raw), raw)


@pytest.fixture
def inbox(tmp_path):
    with VisitInbox(tmp_path / "inbox.sqlite") as box:
        yield box


def test_append_assigns_growing_seqs_and_reads_back_in_order(inbox):
    assert inbox.max_seq() == 0 and inbox.count() == 0
    seqs = [add(inbox, body(f"p{i}"))[0] for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    got = inbox.read_after(2, limit=2)
    assert [v.seq for v in got] == [3, 4]
    assert got[0].visit.linkedin_url == "https://www.linkedin.com/in/p2/"
    assert got[0].received_at.tzinfo is not None
    assert inbox.max_seq() == 5 and inbox.count() == 5
    assert inbox.read_after(5, limit=10) == []
    assert [v.seq for v in inbox.read_range(2, 3)] == [2, 3]


def test_redelivery_is_a_duplicate_but_a_repeat_visit_is_new(inbox):
    first = add(inbox, body(seen_at="2024-01-01T12:34:56Z"))
    assert first == (1, False)
    # Same visit redelivered, with the Seen At written differently but in the same minute.
    assert add(inbox, body(seen_at="2024-01-01T12:34:10:00.00+00.00")) == (1, True)
    # "Send repeat visitor data": the same person later on the same page is a new visit.
    assert add(inbox, body(seen_at="2024-01-02T09:00:00Z")) == (2, False)
    # Same time, other page: new visit.
    assert add(inbox, body(url="https://acme.com/blog"))[1] is False
    assert inbox.count() == 3
    # Duplicates do not burn sequence numbers: the next new visit follows directly.
    assert add(inbox, body("zoe")) == (4, False)


def test_unreadable_seen_at_dedupes_on_the_raw_text_not_on_arrival_time(inbox):
    assert add(inbox, body(seen_at="yesterday-ish"))[1] is False
    assert add(inbox, body(seen_at="yesterday-ish"))[1] is True
    assert add(inbox, body(seen_at="last week"))[1] is False
    stored = inbox.read_after(0, 10)[0].visit
    assert stored.seen_at_source == "received" and stored.seen_at.tzinfo == timezone.utc


def test_quarantine_keeps_the_raw_body_and_reason(inbox):
    qid = inbox.quarantine(b"\x00not json", "malformed JSON")
    assert qid == 1
    [q] = inbox.quarantined()
    assert (q.id, q.reason, q.raw) == (1, "malformed JSON", b"\x00not json")
    assert inbox.count() == 0


def test_raw_body_and_settings_survive_reopening(tmp_path):
    path = tmp_path / "inbox.sqlite"
    with VisitInbox(path) as box:
        add(box, body())
    with VisitInbox(path) as again:
        assert again.count() == 1
        assert again.read_after(0, 1)[0].visit.first_name == "Adam"
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT raw FROM visits").fetchone()[0] == body()
    db.close()


def test_resource_opens_the_inbox_at_its_path(tmp_path):
    path = tmp_path / "home" / "inbox.sqlite"
    with InboxResource(path=str(path)).open() as box:
        add(box, body())
    assert path.exists()
    with VisitInbox(path) as box:
        assert box.count() == 1


def test_concurrent_writer_processes_and_a_reader_lose_nothing(tmp_path):
    path = str(tmp_path / "inbox.sqlite")
    VisitInbox(path).close()
    # forkserver, not fork: forking a test process that runs threads can deadlock the child
    ctx = multiprocessing.get_context("forkserver")
    writers = [ctx.Process(target=write_visits, args=(path, prefix, 80)) for prefix in ("a", "b", "c")]
    for w in writers:
        w.start()
    seen: list[int] = []
    with VisitInbox(path) as reader:
        # Read while they write: a cursor-based reader must never skip a seq.
        while any(w.is_alive() for w in writers) or reader.max_seq() > (seen[-1] if seen else 0):
            seen += [v.seq for v in reader.read_after(seen[-1] if seen else 0, limit=100)]
        for w in writers:
            w.join()
            assert w.exitcode == 0
        seen += [v.seq for v in reader.read_after(seen[-1] if seen else 0, limit=1000)]
        assert reader.count() == 240
    assert seen == list(range(1, 241))


# Valid JSON (an escaped lone surrogate, as json.dumps writes it) that parses, but whose Visit cannot be
# serialized back to UTF-8 JSON.
SURROGATE = json.dumps({"LinkedIn URL": "https://www.linkedin.com/in/odd/", "First Name": "\ud800",
                        "Seen At": "2024-01-01T12:34:56Z", "Captured URL": "https://acme.com/pricing"}).encode()


def test_a_row_that_cannot_be_prepared_is_quarantined_and_its_batch_mates_are_stored(inbox):
    unserializable = parse_visit(SURROGATE)
    # A Visit built without validation, as any caller of the inbox can hand in: no Seen At, so no key.
    keyless = Visit.model_construct(captured_url="https://acme.com/pricing", company_name="Acme", seen_at=None)
    items = [(parse_visit(body("ann")), body("ann")), (unserializable, SURROGATE), (keyless, b"keyless-raw"),
             (parse_visit(body("ann")), body("ann")), (parse_visit(body("bob")), body("bob"))]
    results = inbox.append_many(items)

    assert results[0] == Stored(1, False) and results[3] == Stored(1, True)
    assert results[4] == Stored(2, False), "a quarantined row must not burn a seq"
    bad_json, bad_key = results[1], results[2]
    assert isinstance(bad_json, Quarantined) and isinstance(bad_key, Quarantined)
    assert bad_json.reason.startswith("serializing the visit: PydanticSerializationError:") and "surrogates" in bad_json.reason
    assert bad_key.reason.startswith("computing the dedupe key: AttributeError:") and "strftime" in bad_key.reason
    # Nothing accepted is lost: the good rows read back, the others are in quarantine byte for byte.
    assert [v.visit.first_name for v in inbox.read_after(0, 10)] == ["Ann", "Bob"]
    q = inbox.quarantined()
    assert [(x.id, x.reason, x.raw) for x in q] == [(bad_json.id, bad_json.reason, SURROGATE),
                                                  (bad_key.id, bad_key.reason, b"keyless-raw")]
    with pytest.raises(TypeError):  # a quarantined result can never be mistaken for (seq, duplicate)
        seq, duplicate = bad_json


def test_single_append_and_raw_bodies_that_are_not_bytes(inbox):
    assert isinstance(inbox.append(parse_visit(SURROGATE), SURROGATE), Quarantined)
    text = body("cy").decode()
    assert inbox.append(parse_visit(text.encode()), text) == Stored(1, False)  # text is kept as UTF-8
    assert inbox.read_after(0, 1)[0].visit.first_name == "Cy"
    lost = inbox.append(parse_visit(body("di")), None)  # type: ignore[arg-type]
    assert isinstance(lost, Quarantined) and lost.reason.startswith("reading the raw body: TypeError:")
    assert inbox.quarantined()[-1].raw == b"None" and inbox.count() == 1


def test_error_reason_is_bounded_and_storable(inbox):
    reason = error_reason(ValueError("\ud800" + "x" * 1000), "parsing")
    assert reason.startswith("parsing: ValueError: \\ud800x") and len(reason) == MAX_REASON_CHARS
    inbox.quarantine(b"raw", reason)
    inbox.quarantine(b"raw", "lone \udcff surrogate")  # sqlite3 cannot bind one; it is escaped instead
    assert [q.reason for q in inbox.quarantined()] == [reason, "lone \\udcff surrogate"]
