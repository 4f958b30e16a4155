"""The visit inbox: de-duplication, ordering, quarantine, and safety across processes."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from datetime import timezone

import pytest
from inbox_writer_child import write_visits  # tests/ is on sys.path under pytest

from revops_assets.receiver.models import parse_visit
from revops_assets.resources.inbox import InboxResource, VisitInbox


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
