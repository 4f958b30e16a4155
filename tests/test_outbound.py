"""OPERATOR's outbound path: templates, sequences, outbox, suppression, caps and dispatch.

Everything that talks to the CRM does so over real HTTP to the GoHighLevel emulator; the crash test
SIGKILLs a real dispatcher process between the provider call and ``mark_sent``.
"""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from outbox_claim_child import claim  # tests/ is on sys.path under pytest
from revops_assets.emulators._server import DocStore, EmulatorServer, FaultInjector, Faults
from revops_assets.emulators.gohighlevel import build_app, error_response
from revops_assets.outbound.dispatch import dispatch
from revops_assets.outbound.outbox import Outbox
from revops_assets.outbound.sequences import (
    PERSONAS,
    SEQUENCE_COLUMNS,
    SIGNALS,
    build_sequences,
    idempotency_key,
    persona_for,
)
from revops_assets.outbound.suppression import (
    DailyCaps,
    SuppressionList,
    check,
    unsubscribe_url,
    verify_unsubscribe,
)
from revops_assets.outbound.templates import MARKER_PREFIX, TemplateLibrary, TemplateRejected
from revops_assets.resources.gohighlevel import GoHighLevelResource
from revops_assets.settings import PROJECT_DIR

CONTENT = PROJECT_DIR / "content" / "emails"
LOCATION = "loc_test"
DAY = date(2025, 3, 3)
SENDER = {"name": "Sam Seller", "email": "sam@hive.test", "company": "Hive Inc",
          "postal_address": "1 Main St\nSpringfield, IL 62701",
          "unsubscribe_base_url": "https://hive.test/unsubscribe", "unsubscribe_secret": "s3cret"}
FACT = {"fact": "Acme raised a $20M Series B", "url": "https://news.test/acme-series-b", "date": "2025-02-20"}


@pytest.fixture(scope="module")
def library() -> TemplateLibrary:
    return TemplateLibrary(CONTENT)


def lead(cid: str, **extra) -> dict:
    base = {"contact_id": cid, "email": f"{cid}@acme.test", "first_name": cid.title(), "company_name": "Acme",
            "domain": "acme.test", "title": "CEO", "priority": "high", "strongest_signal": "funding",
            "facts": json.dumps([FACT])}
    return {**base, **extra}


def leads_frame(*ids: str, **extra) -> pd.DataFrame:
    return pd.DataFrame([lead(c, **extra) for c in ids])


# ---------------------------------------------------------------------------------------- the CRM


def ghl_contact(cid: str, **extra) -> dict:
    return {"id": cid, "locationId": LOCATION, "firstName": cid.title(), "lastName": "Doe", "email": f"{cid}@acme.test",
            "companyName": "Acme", "tags": [], "dnd": False, "dateAdded": "2024-06-01T00:00:00.000Z", **extra}


CONTACTS = [
    *(ghl_contact(f"ok{i}") for i in range(1, 6)),
    ghl_contact("dnd", dnd=True),
    ghl_contact("dndmail", dndSettings={"Email": {"status": "active", "message": "", "code": ""}}),
    ghl_contact("tagged", tags=["customer", "Unsubscribed"]),
    ghl_contact("bounced"),
    ghl_contact("replied"),
    ghl_contact("local", email="someone@blocked.test"),
]
PAST_MESSAGES = [
    {"id": "m_bounce", "conversationId": "conv_b", "contactId": "bounced", "direction": "outbound",
     "status": "bounced", "messageType": "TYPE_EMAIL", "subject": "Hello", "body": "<p>Hello</p>",
     "dateAdded": "2024-07-01T00:00:00.000Z"},
    {"id": "m_out", "conversationId": "conv_r", "contactId": "replied", "direction": "outbound",
     "status": "delivered", "messageType": "TYPE_EMAIL", "subject": "Hello", "body": "<p>Hello</p>",
     "dateAdded": "2024-07-01T00:00:00.000Z"},
    {"id": "m_stop", "conversationId": "conv_r", "contactId": "replied", "direction": "inbound",
     "status": "read", "messageType": "TYPE_EMAIL", "subject": "Re: Hello", "body": "Please remove me from your list",
     "dateAdded": "2024-07-02T00:00:00.000Z"},
]


def write_sample(sample: Path) -> None:
    (sample / "ghl").mkdir(parents=True)
    (sample / "manifest.json").write_text(json.dumps({"location_id": LOCATION}))
    (sample / "ghl" / "contacts.jsonl").write_text("\n".join(json.dumps(c) for c in CONTACTS))
    (sample / "ghl" / "messages.jsonl").write_text("\n".join(json.dumps(m) for m in PAST_MESSAGES))


@pytest.fixture
def crm(tmp_path):
    write_sample(tmp_path / "sample")
    store = DocStore(tmp_path / "emulators" / "ghl.sqlite")
    injector = FaultInjector(build_app(store, tmp_path / "sample"), Faults(), error_response)
    server = EmulatorServer(injector).start()
    ghl = GoHighLevelResource(api_key="test-key", location_id=LOCATION, base_url=server.url,
                              backoff_factor=0.01, backoff_max_s=0.05, max_retries=2)
    (tmp_path / "suppression.txt").write_text("# local list\nblocked.test\nvip@acme.test\n")
    yield SimpleNamespace(url=server.url, store=store, faults=injector, ghl=ghl, home=tmp_path,
                          outbox=Outbox.for_home(tmp_path), suppression=SuppressionList.for_home(tmp_path))
    ghl.close()
    server.stop()


def emails_sent(store: DocStore) -> list[dict]:
    return [m for m in store.all("messages") if m["id"] not in {p["id"] for p in PAST_MESSAGES}]


def sends_per_key(store: DocStore, keys) -> dict[str, int]:
    bodies = [m.get("body") or "" for m in emails_sent(store)]
    return {k: sum(f"{MARKER_PREFIX}{k}" in b for b in bodies) for k in keys}


def enqueue(crm, ids, steps: int = 1, **extra) -> pd.DataFrame:
    frame = build_sequences(leads_frame(*ids, **extra), TemplateLibrary(CONTENT), SENDER, DAY, steps=steps)
    assert crm.outbox.enqueue(frame) == len(frame)
    return frame


# ------------------------------------------------------------------------------------- templates


def test_shipped_templates_load_cleanly_and_cover_every_signal_and_persona(library):
    assert library.errors == {}
    for signal in SIGNALS:
        for persona in PERSONAS:
            tpl = library.select(signal, persona)
            assert tpl.signal in (signal, "none")
    assert library.select("hiring", "technical").id == "hiring.technical"
    assert library.select("ghost_revival", "executive").id == "ghost_revival"
    assert library.select("something_new", "technical").id == "none"


def test_every_step_and_variant_renders_compliant(library):
    ctx = {"first_name": "Ana", "company_name": "Acme <&> Co", "domain": "acme.test", "title": "CTO",
           "persona": "technical", "signal": "funding", "facts": [FACT], "fact": FACT, "sender": SENDER,
           "postal_address": SENDER["postal_address"],
           "unsubscribe_url": unsubscribe_url(SENDER["unsubscribe_base_url"], "s3cret", "c1")}
    escaped = 0
    for tpl in library.templates.values():
        for step in range(1, tpl.steps + 1):
            for variant in tpl.variants:
                email = library.render(tpl.id, step, variant, ctx)
                assert email.subject and "\n" not in email.subject
                assert "Acme <&> Co" not in email.html  # autoescaped (subjects are plain text)
                assert "Springfield, IL 62701" in email.html and "Springfield, IL 62701" in email.text
                assert ctx["unsubscribe_url"] in email.text
                assert email.template_version == tpl.version
                escaped += "Acme &lt;&amp;&gt; Co" in email.html
    assert escaped >= 8


def test_template_without_footer_is_rejected_not_sent(tmp_path):
    (tmp_path / "_layout.html.j2").write_text("<html><body>{{ body }}</body></html>")
    (tmp_path / "t.html.j2").write_text("---\nsteps:\n  - subject: {A: 'Hi {{ first_name }}'}\n---\n"
                                        "{% block step1 %}<p>Hi</p>{% endblock %}")
    lib = TemplateLibrary(tmp_path)
    assert lib.errors == {}
    assert lib.templates["t"].version.startswith("h")  # no explicit version: content hash
    ctx = {"first_name": "A", "postal_address": "1 Main St", "unsubscribe_url": "https://u.test/x?t=1"}
    with pytest.raises(TemplateRejected, match="unsubscribe link missing; postal address missing"):
        lib.render("t", 1, "A", ctx)
    with pytest.raises(TemplateRejected, match="undefined variable"):
        lib.render("t", 1, "A", {"postal_address": "1 Main St", "unsubscribe_url": "https://u.test"})


def test_broken_template_file_is_isolated(tmp_path):
    (tmp_path / "_layout.html.j2").write_text((CONTENT / "_layout.html.j2").read_text())
    (tmp_path / "good.html.j2").write_text((CONTENT / "none.html.j2").read_text().replace("id: none", "id: good"))
    (tmp_path / "bad.html.j2").write_text("---\nsteps:\n  - subject: {A: x}\n---\n{% block step1 %}{% if %}{% endblock %}")
    (tmp_path / "nofront.html.j2").write_text("{% block step1 %}x{% endblock %}")
    lib = TemplateLibrary(tmp_path)
    assert set(lib.templates) == {"good"}
    assert "syntax error" in lib.errors["bad.html.j2"] and "front matter" in lib.errors["nofront.html.j2"]


# ------------------------------------------------------------------------------------- sequences


def test_persona_mapping():
    assert persona_for("Chief Revenue Officer") == "revenue_leader"
    assert persona_for("VP Sales") == "revenue_leader"
    assert persona_for("CTO") == "technical"
    assert persona_for("Head of Data Engineering") == "technical"
    assert persona_for("Co-Founder & CEO") == "executive"
    assert persona_for(None) == "executive"
    assert persona_for("CTO", persona="revenue_leader") == "revenue_leader"


def test_build_sequences_schedules_keys_and_personalizes_only_with_evidence(library):
    no_url = {"fact": "Acme is rumoured to be raising", "url": "", "date": "2025-03-01"}
    bad_url = {"fact": "Sketchy", "url": "javascript:alert(1)", "date": "2025-03-02"}
    frame = build_sequences(pd.DataFrame([lead("c1", facts=json.dumps([no_url, bad_url, FACT])),
                                          lead("c2", facts=None, title="VP Engineering", strongest_signal="hiring")]),
                            library, SENDER, DAY)
    assert list(frame.columns) == SEQUENCE_COLUMNS
    assert len(frame) == 6
    c1 = frame[frame.contact_id == "c1"].sort_values("step")
    assert list(c1.send_on) == [DAY, DAY + timedelta(days=3), DAY + timedelta(days=7)]
    assert c1.variant.nunique() == 1 and c1.sequence_id.nunique() == 1
    first = c1.iloc[0]
    assert json.loads(first.personalization) == [FACT]
    assert FACT["url"] in first.html and "rumoured" not in first.html and "javascript:" not in first.html
    assert first.idempotency_key == idempotency_key("c1", first.sequence_id, 1, first.template_version)
    assert len(first.idempotency_key) == 32
    assert f"{MARKER_PREFIX}{first.idempotency_key}" in first.html
    assert verify_unsubscribe("s3cret", "c1", "") is False
    c2 = frame[frame.contact_id == "c2"]
    assert set(c2.template_id) == {"hiring.technical"} and json.loads(c2.iloc[0].personalization) == []
    again = build_sequences(pd.DataFrame([lead("c1", facts=json.dumps([no_url, bad_url, FACT])),
                                          lead("c2", facts=None, title="VP Engineering", strongest_signal="hiring")]),
                            library, SENDER, DAY)
    pd.testing.assert_frame_equal(frame, again)


def test_variant_hook_and_rewrite_hook_keep_compliance(library):
    frame = build_sequences(leads_frame("c1"), library, SENDER, DAY, steps=2,
                            choose_variant=lambda cid, tid, step, variants: "B")
    assert set(frame.variant) == {"B"}

    def good(html: str) -> str:
        return html.replace("Hi C1,", "Hello C1,")

    def drops_footer(html: str) -> str:
        return "<p>Buy now</p>"

    def broken(html: str) -> str:
        raise RuntimeError("LLM down")

    rewritten = build_sequences(leads_frame("c1"), library, SENDER, DAY, steps=1, rewrite=good)
    assert rewritten.iloc[0].rewritten and "Hello C1," in rewritten.iloc[0].html and "Hello C1," in rewritten.iloc[0].text
    for hook in (drops_footer, broken, lambda html: None):
        kept = build_sequences(leads_frame("c1"), library, SENDER, DAY, steps=1, rewrite=hook)
        assert not kept.iloc[0].rewritten and "Hi C1," in kept.iloc[0].html and "Unsubscribe" in kept.iloc[0].html
    with pytest.raises(ValueError, match="postal_address"):
        build_sequences(leads_frame("c1"), library, {**SENDER, "postal_address": ""}, DAY)


# ----------------------------------------------------------------------------------------- outbox


def test_outbox_enqueue_is_idempotent_and_a_version_bump_does_not_resend_a_step(tmp_path, library):
    outbox = Outbox.for_home(tmp_path)
    frame = build_sequences(leads_frame("c1", "c2"), library, SENDER, DAY, steps=2)
    assert outbox.enqueue(frame) == 4
    assert outbox.enqueue(frame) == 0
    bumped = frame.assign(template_version="v99", idempotency_key=frame.idempotency_key.str[::-1])
    assert outbox.enqueue(bumped) == 0
    assert {r.state for r in outbox.rows()} == {"pending"}
    key = frame.idempotency_key.iloc[0]
    assert outbox.mark_sent(key, "m1") is False  # only from sending
    assert outbox.claim_for_send(key) and not outbox.claim_for_send(key)
    assert outbox.mark_sent(key, "m1", sent_day=DAY.isoformat()) and outbox.status(key) == "sent"
    assert outbox.approve(key, "ana") is False and outbox.claim_for_send(key) is False
    assert [e["to_state"] for e in outbox.events(key)] == ["pending", "sending", "sent"]


def test_only_one_process_wins_a_claim(tmp_path, library):
    outbox = Outbox.for_home(tmp_path)
    frame = build_sequences(leads_frame("c1"), library, SENDER, DAY, steps=1)
    outbox.enqueue(frame)
    key = frame.idempotency_key.iloc[0]
    # forkserver, not fork: forking a process that runs threads (emulators, loggers) can deadlock the child
    ctx = multiprocessing.get_context("forkserver")
    barrier = ctx.Manager().Barrier(6)
    pool = ctx.Pool(6)
    try:
        wins = pool.starmap_async(claim, [(str(outbox.path), key, barrier)] * 6).get(timeout=120)
    finally:
        # close + join lets the workers exit on their own: Pool.terminate() (what the context manager
        # calls) once hung for 10 minutes joining a worker on a loaded CI box
        pool.close()
        pool.join()
    assert sorted(wins) == [False] * 5 + [True]
    assert outbox.get(key).attempts == 1


# ------------------------------------------------------------------------------------ suppression


def test_local_suppression_list_and_unsubscribe_tokens(tmp_path):
    path = tmp_path / "suppression.txt"
    path.write_text("# comment\nJane@Example.com\n@blocked.test\nother.test  # trailing comment\n")
    local = SuppressionList(path)
    assert local.match("jane@example.com") == "jane@example.com"
    assert local.match("x@blocked.test") == "blocked.test"
    assert local.match("x@mail.other.test") == "other.test"
    assert local.match("x@notother.test") is None and local.match(None) is None
    local.add(["late@example.com"])
    assert local.match("LATE@example.com") == "late@example.com"
    url = unsubscribe_url("https://hive.test/u", "k", "c1")
    token = url.rsplit("t=", 1)[1]
    assert verify_unsubscribe("k", "c1", token) and not verify_unsubscribe("k", "c2", token)
    assert not verify_unsubscribe("other", "c1", token)
    assert DailyCaps.coerce({"default": 5, "Sam@Hive.test": 2}).limit("sam@hive.test") == 2
    assert DailyCaps.coerce(7).limit("x") == 7


def test_suppression_check_reasons_against_the_crm(crm):
    def why(cid: str, email: str | None = None) -> tuple[bool, str]:
        d = check({"contact_id": cid, "email": email or f"{cid}@acme.test"}, crm.ghl, crm.suppression)
        return d.allowed, d.reason

    assert why("ok1") == (True, "ok")
    assert why("dnd") == (False, "CRM: do not disturb")
    assert why("dndmail") == (False, "CRM: do not disturb (email)")
    assert why("tagged") == (False, "CRM tag: unsubscribed")
    assert why("bounced") == (False, "CRM: past message bounced")
    assert why("replied") == (False, "CRM: contact asked to unsubscribe")
    assert why("local", "someone@blocked.test") == (False, "local suppression list: blocked.test")
    assert why("ok1", "vip@acme.test") == (False, "local suppression list: vip@acme.test")
    allowed, reason = why("nobody")
    assert not allowed and reason.startswith("suppression check failed: NotFound")
    crm.faults.set_faults(Faults(p5xx=1.0))
    d = check({"contact_id": "ok1", "email": "ok1@acme.test"}, crm.ghl, crm.suppression)
    assert not d.allowed and d.transient and d.reason.startswith("suppression check failed")


# --------------------------------------------------------------------------------------- dispatch


def test_suppressed_contacts_are_never_sent_and_crm_errors_block(crm):
    ids = ["ok1", "dnd", "dndmail", "tagged", "bounced", "replied", "local"]
    frame = enqueue(crm, ids, email=None)
    frame_emails = {r.contact_id: r for r in crm.outbox.rows()}
    assert frame_emails["ok1"].email is None  # the CRM's own data decides; the local list still sees the CRM email
    crm.faults.set_faults(Faults(p5xx=1.0))
    report = dispatch(crm.outbox, crm.ghl, "live", 50, DAY, crm.suppression)
    assert report.counts["blocked"] == len(ids) and not emails_sent(crm.store)
    assert {r.state for r in crm.outbox.rows()} == {"pending"}  # asked again next run
    crm.faults.set_faults(Faults())
    report = dispatch(crm.outbox, crm.ghl, "live", 50, DAY, crm.suppression)
    assert report.counts["sent"] == 1 and report.counts["suppressed"] == len(ids) - 1
    sent = emails_sent(crm.store)
    assert [m["contactId"] for m in sent] == ["ok1"]
    states = {r.contact_id: (r.state, r.reason) for r in crm.outbox.rows()}
    assert states["local"] == ("suppressed", "local suppression list: blocked.test")
    assert states["dnd"][0] == states["replied"][0] == "suppressed"
    assert dispatch(crm.outbox, crm.ghl, "live", 50, DAY + timedelta(days=9), crm.suppression).counts["sent"] == 0
    assert len(frame) == len(ids)


def test_dry_run_sends_nothing_then_live_sends_each_once(crm):
    frame = enqueue(crm, ["ok1", "ok2"], steps=3)
    report = dispatch(crm.outbox, crm.ghl, "dry_run", 50, DAY, crm.suppression)
    assert report.counts["dry_run"] == 2 and report.counts["not_due"] == 4
    assert emails_sent(crm.store) == [] and crm.faults.stats["requests"] == 0  # not even a read
    assert dispatch(crm.outbox, crm.ghl, "live", 50, DAY, crm.suppression).counts["sent"] == 2
    assert dispatch(crm.outbox, crm.ghl, "live", 50, DAY, crm.suppression).counts["sent"] == 0
    # a late run (day 7: steps 2 and 3 both due) sends step 2 only; step 3 keeps its 4-day gap after it
    later = DAY + timedelta(days=7)
    report = dispatch(crm.outbox, crm.ghl, "live", 50, later, crm.suppression)
    assert report.counts["sent"] == 2 and report.counts["waiting_previous"] == 2
    assert dispatch(crm.outbox, crm.ghl, "live", 50, later + timedelta(days=3), crm.suppression).counts["sent"] == 0
    assert dispatch(crm.outbox, crm.ghl, "live", 50, later + timedelta(days=4), crm.suppression).counts["sent"] == 2
    assert dispatch(crm.outbox, crm.ghl, "live", 50, later + timedelta(days=9), crm.suppression).counts["sent"] == 0
    assert set(sends_per_key(crm.store, frame.idempotency_key).values()) == {1}
    sent = emails_sent(crm.store)
    assert all(m["meta"]["email"]["emailFrom"] == SENDER["email"] for m in sent)
    # a re-run of the build (tomorrow's backfill) enqueues nothing and sends nothing
    rebuilt = build_sequences(leads_frame("ok1", "ok2"), TemplateLibrary(CONTENT), SENDER, DAY + timedelta(days=1))
    assert crm.outbox.enqueue(rebuilt) == 0


def test_later_steps_wait_for_earlier_ones(crm):
    enqueue(crm, ["ok1"], steps=2)
    report = dispatch(crm.outbox, crm.ghl, "approval", 50, DAY + timedelta(days=5), crm.suppression)
    assert report.counts["awaiting_approval"] == 1 and report.counts["waiting_previous"] == 1


def test_a_reply_stops_the_rest_of_the_sequence(crm):
    frame = enqueue(crm, ["ok1", "ok2"], steps=2)
    assert dispatch(crm.outbox, crm.ghl, "live", 50, DAY, crm.suppression).counts["sent"] == 2
    first = next(m for m in emails_sent(crm.store) if m["contactId"] == "ok1")
    crm.store.put("messages", "m_reply", {
        "id": "m_reply", "conversationId": first["conversationId"], "contactId": "ok1", "direction": "inbound",
        "status": "unread", "messageType": "TYPE_EMAIL", "subject": "Re: hi", "body": "Sounds interesting, call me",
        "dateAdded": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")})
    report = dispatch(crm.outbox, crm.ghl, "live", 50, DAY + timedelta(days=3), crm.suppression)
    assert report.counts["sent"] == 1 and report.counts["suppressed"] == 1
    step2 = {r.contact_id: r for r in crm.outbox.rows() if r.step == 2}
    assert step2["ok1"].state == "suppressed" and "replied" in step2["ok1"].reason
    assert step2["ok2"].state == "sent" and len(frame) == 4


def test_approval_mode_waits_for_a_human_then_sends(crm):
    frame = enqueue(crm, ["ok1", "ok2", "ok3"])
    report = dispatch(crm.outbox, crm.ghl, "approval", 50, DAY, crm.suppression)
    assert report.counts["awaiting_approval"] == 3 and emails_sent(crm.store) == []
    assert dispatch(crm.outbox, crm.ghl, "approval", 50, DAY, crm.suppression).counts["awaiting_approval"] == 3
    key = frame.idempotency_key.iloc[1]
    with pytest.raises(ValueError):
        crm.outbox.approve(key, "")
    assert crm.outbox.approve(key, "ana@hive.test")
    report = dispatch(crm.outbox, crm.ghl, "approval", 50, DAY, crm.suppression)
    assert report.counts["sent"] == 1 and report.counts["awaiting_approval"] == 2
    assert [m["contactId"] for m in emails_sent(crm.store)] == [frame.contact_id.iloc[1]]
    row = crm.outbox.get(key)
    assert row.state == "sent" and row.approved_by == "ana@hive.test" and row.provider_message_id
    # an AE can also approve from the CRM by tagging the contact with the key's prefix
    tagged = frame.idempotency_key.iloc[2]
    crm.ghl.add_tags(frame.contact_id.iloc[2], [f"revops-approved:{tagged[:12]}"])
    report = dispatch(crm.outbox, crm.ghl, "approval", 50, DAY, crm.suppression)
    assert report.counts["sent"] == 1 and report.counts["awaiting_approval"] == 1
    assert crm.outbox.get(tagged).approved_by == "crm-tag" and crm.outbox.status(tagged) == "sent"


def test_daily_cap_per_mailbox(crm):
    frame = enqueue(crm, [f"ok{i}" for i in range(1, 6)])
    report = dispatch(crm.outbox, crm.ghl, "live", {"sam@hive.test": 2}, DAY, crm.suppression)
    assert report.counts["sent"] == 2 and report.counts["capped"] == 3
    assert dispatch(crm.outbox, crm.ghl, "live", {"sam@hive.test": 2}, DAY, crm.suppression).counts["sent"] == 0
    report = dispatch(crm.outbox, crm.ghl, "live", {"sam@hive.test": 2}, DAY + timedelta(days=1), crm.suppression)
    assert report.counts["sent"] == 2
    assert len(emails_sent(crm.store)) == 4
    assert set(sends_per_key(crm.store, frame.idempotency_key).values()) == {0, 1}


def run_child(crm, day: date, mode: str = "live", kill_after: int = 0) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(Path(__file__).with_name("outbound_dispatch_child.py")), str(crm.home), crm.url,
           day.isoformat(), mode, "--location", LOCATION, "--kill-after", str(kill_after)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=PROJECT_DIR)


def test_process_killed_mid_batch_sends_each_message_exactly_once(crm):
    frame = enqueue(crm, [f"ok{i}" for i in range(1, 6)])
    killed = run_child(crm, DAY, kill_after=2)
    assert killed.returncode == -9, killed.stderr
    states = sorted(r.state for r in crm.outbox.rows())
    assert states == ["pending", "pending", "pending", "sending", "sent"]
    assert len(emails_sent(crm.store)) == 2  # the second one left, but the outbox never heard back

    # the re-run (here, in this process: the dead one's lock died with it) reconciles, then sends the rest
    report = dispatch(crm.outbox, crm.ghl, "live", 50, DAY, crm.suppression)
    assert dict(report.counts) == {"reconciled_sent": 1, "sent": 3}
    assert sends_per_key(crm.store, frame.idempotency_key) == {k: 1 for k in frame.idempotency_key}
    assert {r.state for r in crm.outbox.rows()} == {"sent"}
    assert dict(dispatch(crm.outbox, crm.ghl, "live", 50, DAY, crm.suppression).counts) == {}
    assert len(emails_sent(crm.store)) == 5


def test_claimed_but_never_sent_is_released_and_sent_once(crm):
    frame = enqueue(crm, ["ok1"])
    key = frame.idempotency_key.iloc[0]
    assert crm.outbox.claim_for_send(key)  # a process died right after claiming, before the HTTP call
    report = dispatch(crm.outbox, crm.ghl, "live", 50, DAY, crm.suppression)
    assert report.counts["released"] == 1 and report.counts["sent"] == 1
    assert sends_per_key(crm.store, [key]) == {key: 1}
    assert crm.outbox.get(key).attempts == 2


def test_unreachable_crm_during_reconcile_never_resends_blind(crm):
    frame = enqueue(crm, ["ok1"])
    key = frame.idempotency_key.iloc[0]
    assert crm.outbox.claim_for_send(key)
    crm.faults.set_faults(Faults(p5xx=1.0))
    report = dispatch(crm.outbox, crm.ghl, "live", 50, DAY, crm.suppression)
    assert report.counts["unreconciled"] == 1 and crm.outbox.status(key) == "sending"
    crm.faults.set_faults(Faults())
    assert emails_sent(crm.store) == []
    assert dispatch(crm.outbox, crm.ghl, "live", 50, DAY, crm.suppression).counts["sent"] == 1


def test_send_refused_by_the_provider_is_failed_not_retried(crm):
    crm.store.put("contacts", "noemail", {**ghl_contact("noemail"), "email": None})
    frame = enqueue(crm, ["noemail"])
    report = dispatch(crm.outbox, crm.ghl, "live", 50, DAY, crm.suppression)
    assert report.counts["failed"] == 1
    row = crm.outbox.get(frame.idempotency_key.iloc[0])
    assert row.state == "failed" and "email address" in row.error
    assert dispatch(crm.outbox, crm.ghl, "live", 50, DAY, crm.suppression).counts["sent"] == 0
