"""SCOUT point in time, its checks, its cost ledger and its missing inputs, through the real assets.

Every test materializes the real assets (``dg.materialize``) on a demo home against the real
emulators over HTTP; a test that needs a misbehaving Exa puts the Exa emulator behind its own
fault injector and hands the assets its URL (``EXA_BASE_URL``).
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from revops_assets.settings import load_settings

TODAY = datetime.now(timezone.utc).date()
PAST = (TODAY - timedelta(days=40)).isoformat()


def _end_of(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.max, tzinfo=timezone.utc)


def _materialize(settings, selection: list[str], day: str, instance, ok: bool = True):
    from revops_assets.assets import all_assets
    from revops_assets.resources.registry import build_resources

    result = dg.materialize(all_assets(settings), selection=selection, partition_key=day, instance=instance,
                            resources=build_resources(settings), raise_on_error=False)
    if ok:
        failures = {e.step_key: e.event_specific_data.error.message for e in result.all_events if e.is_step_failure}
        assert result.success, failures
    return result


def _table(home: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as db:
        return db.execute(sql, params or []).df()


def _partition(home: Path, table: str, day: str) -> pd.DataFrame:
    return _table(home, f"SELECT * FROM revops.{table} WHERE CAST(snapshot_date AS DATE) = ?", [day])


@pytest.fixture
def instance(tmp_path: Path):
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as inst:
        yield inst


# ------------------------------------------------------------------------------- 1. news point in time


def test_past_partition_holds_no_news_published_after_its_day(demo_settings, instance):
    home = demo_settings.home
    _materialize(demo_settings, ["ghl_contacts", "enriched_accounts"], PAST, instance)
    accounts = _partition(home, "enriched_accounts", PAST)
    items = [n for news in accounts["news"] for n in json.loads(news)]
    cached = [item for (payload,) in _table(home, "SELECT payload FROM revops.research_cache WHERE kind = 'news'")
              .itertuples(index=False) for item in json.loads(payload)]
    after = [i for i in cached if (i.get("published_date") or "")[:10] > PAST]
    assert after, "the cache must hold news published after the day, or the cut-off is not tested"
    assert items, "news published on or before the day must still reach the partition"
    late = [n for n in items if not n["published"] or n["published"] > PAST]
    assert late == [], f"{len(late)} news items published after {PAST} in its partition"
    facts = [f for fs in accounts["facts"] for f in json.loads(fs)]
    assert facts and all(f["date"] and f["date"] <= PAST for f in facts)


def test_news_dates_are_cut_at_the_end_of_the_day_in_utc_and_undated_news_is_left_out(demo_settings, instance):
    """An item's date is read as a timestamp (offsets honoured), not as its first ten characters; an
    item with no or an unparseable date cannot be placed in time, so no past day may hold it."""
    from revops_assets import warehouse

    home = demo_settings.home
    _materialize(demo_settings, ["ghl_contacts", "enriched_accounts"], PAST, instance)
    row = _partition(home, "enriched_accounts", PAST).iloc[0]
    domain, company = row["domain"], row["company_name"]
    items = [
        {"title": f"Kept: {company} news published that day, evening in Berlin", "url": "https://n.example/1",
         "published_date": f"{PAST}T23:30:00+02:00"},
        {"title": f"Cut: {company} news published that evening in Chicago, the next day in UTC", "url": "https://n.example/2",
         "published_date": f"{PAST}T23:30:00-05:00"},
        {"title": f"Cut: {company}, no date", "url": "https://n.example/3", "published_date": None},
        {"title": f"Cut: {company}, not a date", "url": "https://n.example/4", "published_date": "last Tuesday"},
        {"title": f"Cut: {company}, impossible date", "url": "https://n.example/5", "published_date": "2025-13-45"},
        {"title": "Cut: another company raises $20M (a search hit that never names this account)",
         "url": "https://n.example/6", "published_date": f"{PAST}T09:00:00Z", "text": "Globex closed its round."},
    ]
    with duckdb.connect(str(home / "warehouse.duckdb")) as conn:  # a later fetch of this domain's news
        warehouse.upsert(conn, "research_cache", pd.DataFrame([{
            "domain": domain, "kind": "news", "fetched_at": pd.Timestamp.now(tz="UTC"), "payload": json.dumps(items)}]),
            keys=["domain", "kind", "fetched_at"])
    result = _materialize(demo_settings, ["enriched_accounts"], PAST, instance)
    row = _partition(home, "enriched_accounts", PAST).set_index("domain").loc[domain]
    news = json.loads(row["news"])
    assert [(n["title"], n["published"]) for n in news] == [(items[0]["title"], PAST)]
    assert [f["fact"] for f in json.loads(row["facts"]) if f["url"].startswith("https://n.example")] == [items[0]["title"]]
    [mat] = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    assert mat.metadata["news_undated"].value >= 3 and mat.metadata["news_after_day"].value >= 1
    assert mat.metadata["news_not_about_account"].value >= 1


def test_exa_profile_fetched_after_the_day_does_not_fill_a_past_day(demo_settings, instance):
    """The employee count falls back on Exa's profile only when that profile was fetched by the day."""
    home = demo_settings.home
    today = TODAY.isoformat()
    # Two accounts whose CRM record has no employee count, and whose Exa profile has one.
    docs = [json.loads(line) for line in (home / "sample" / "exa" / "documents.jsonl").open()]
    sized = sorted({d["domain"] for d in docs if d.get("category") == "company"
                    and any((e.get("properties") or {}).get("workforce") for e in d.get("entities") or [])})
    contacts_file = home / "sample" / "ghl" / "contacts.jsonl"
    contacts = [json.loads(line) for line in contacts_file.open()]
    blanked = [d for d in sized if any(d in (c.get("website") or "") for c in contacts)][:2]
    for c in contacts:
        if any(d in (c.get("website") or "") for d in blanked):
            c["customFields"] = [f for f in c["customFields"] if f["id"] != "cf_employee_count"]
    contacts_file.write_text("".join(json.dumps(c) + "\n" for c in contacts))
    _materialize(demo_settings, ["ghl_contacts", "enriched_accounts"], today, instance)
    _materialize(demo_settings, ["ghl_contacts", "enriched_accounts"], PAST, instance)
    crm = _partition(home, "ghl_contacts", PAST).groupby("domain")["employee_count"].max()
    now, past = (_partition(home, "enriched_accounts", d).set_index("domain") for d in (today, PAST))
    unknown_in_crm = crm[crm.isna()].index
    assert sorted(unknown_in_crm) == blanked
    assert now.loc[unknown_in_crm, "employee_count"].notna().any(), "today: Exa's profile fills the gap"
    assert past.loc[unknown_in_crm, "employee_count"].isna().all(), "the past day: a later profile is not used"
    assert past["description"].isna().all() and past["founded_year"].isna().all()
    company_facts = [f for fs in past["facts"] for f in json.loads(fs) if f["fact"].startswith("employees:")]
    assert company_facts == []
    assert (past.loc[crm.dropna().index, "employee_count"] == crm.dropna()).all()  # the CRM's own value stays


# ------------------------------------------------------------------------------------ 3. cost ledger


class ExaFaults:
    """ASGI middleware in front of the Exa emulator: the news searches of chosen accounts go through the
    emulator's fault injector set to fail every request with a 5xx, or are sent with a key that has no
    credits (the emulator's own 402). ``clear()`` lets everything through."""

    def __init__(self, app, fail_5xx: set[str], no_credit: set[str]):
        from revops_assets.emulators import exa as exa_emulator
        from revops_assets.emulators._server import FaultInjector, Faults

        self.app, self.fail_5xx, self.no_credit = app, fail_5xx, no_credit
        self.faulted = FaultInjector(app, Faults(p5xx=1.0), exa_emulator.error_response)

    def clear(self) -> None:
        self.fail_5xx, self.no_credit = set(), set()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/search":
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)

        async def replay():
            return {"type": "http.request", "body": body, "more_body": False}

        request = json.loads(body)
        news_of = request.get("category") == "news" and request["query"].split()[-1]
        if news_of in self.fail_5xx:
            return await self.faulted(scope, replay, send)
        if news_of in self.no_credit:
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"x-api-key"]
            scope = dict(scope, headers=headers + [(b"x-api-key", b"nocredit-scout-test")])
        return await self.app(scope, replay, send)


def _billed(recorder) -> dict[str, float]:
    """Every Exa answer the client got with a 200: its request id and what Exa billed for it."""
    out = {}
    for ex in recorder.exchanges:
        if ex.path == "/search" and ex.status == 200:
            answer = json.loads(ex.response_body)
            out[answer["requestId"]] = answer["costDollars"]["total"]
    return out


def test_every_paid_exa_call_is_in_the_ledger_once_through_failures_and_reruns(demo_home, instance, tmp_path):
    from recording import Recorder
    from revops_assets.emulators import exa as exa_emulator
    from revops_assets.emulators._server import DocStore, EmulatorServer

    contacts = [json.loads(line) for line in (demo_home / "sample" / "ghl" / "contacts.jsonl").open()]
    domains = sorted({c["website"].split("//")[-1].strip("/") for c in contacts if c.get("website")})
    fail_5xx, no_credit = set(domains[:2]), {domains[2]}
    faults = ExaFaults(exa_emulator.build_app(DocStore(tmp_path / "exa.sqlite"), demo_home / "sample"),
                       fail_5xx=set(fail_5xx), no_credit=set(no_credit))
    recorder = Recorder(faults)
    server = EmulatorServer(recorder).start()
    try:
        settings = load_settings({"REVOPS_HOME": str(demo_home), "REVOPS_ENV": "demo", "EXA_BASE_URL": server.url})
        # 1. Company searches all succeed; news fails with 5xx (after retries) for two accounts and with
        #    402 for a third, which stops the run. What Exa answered with a 200 was paid for.
        failed = _materialize(settings, ["ghl_contacts", "enriched_accounts"], PAST, instance, ok=False)
        assert not failed.success
        assert "credits are exhausted" in str([e.event_specific_data.error for e in failed.all_events
                                               if e.is_step_failure])
        first = _billed(recorder)
        ledger = _table(demo_home, "SELECT * FROM revops.exa_cost_ledger")
        assert len(ledger) == len(first) > 0 and ledger["request_id"].is_unique
        assert set(ledger["request_id"]) == set(first)
        assert ledger["cost_dollars"].sum() == pytest.approx(sum(first.values()))
        company_ok = set(ledger.loc[ledger["kind"] == "company", "domain"])
        assert fail_5xx | no_credit <= company_ok  # paid, although the account's news call then failed
        assert not (fail_5xx | no_credit) & set(ledger.loc[ledger["kind"] == "news", "domain"])

        # 2. Exa is well again: the re-run researches only what is missing, once (their news, and the
        #    accounts the stopped run never reached), never a call already paid for.
        faults.clear()
        paid = set(zip(ledger["domain"], ledger["kind"]))
        calls_before = len(recorder.exchanges)
        _materialize(settings, ["ghl_contacts", "enriched_accounts"], PAST, instance)
        # answered calls only: a 429 under load is retried by the client, and is not a second payment
        rerun = [json.loads(ex.body) for ex in recorder.exchanges[calls_before:] if ex.path == "/search" and ex.status == 200]
        asked = [(r["query"].split()[-1], r["category"]) for r in rerun]
        assert len(asked) == len(set(asked)) and not paid & set(asked)
        assert {(d, "news") for d in fail_5xx | no_credit} <= set(asked)
        # 3. And once more: everything is cached, nothing is called.
        calls_before = len(recorder.exchanges)
        _materialize(settings, ["enriched_accounts"], PAST, instance)
        assert len(recorder.exchanges) == calls_before
    finally:
        server.stop()
    billed = _billed(recorder)
    ledger = _table(demo_home, "SELECT * FROM revops.exa_cost_ledger")
    assert ledger["request_id"].is_unique and set(ledger["request_id"]) == set(billed)
    assert ledger["cost_dollars"].sum() == pytest.approx(sum(billed.values()))
    accounts = _partition(demo_home, "enriched_accounts", PAST)
    assert accounts["research_error"].isna().all() and fail_5xx | no_credit <= set(accounts["domain"])
    per_account = ledger.groupby(["domain", "kind"]).size()  # company and news, once per account
    assert (per_account == 1).all() and len(per_account) == 2 * len(accounts)
    assert set(ledger["domain"]) == set(accounts["domain"])


# ------------------------------------------------------------------------------- 2. checks that can fail

SCORING = ["ghl_contacts", "rb2b_visitors", "enriched_accounts", "intent_signals", "intent_scores"]


def _checks(result) -> dict[str, bool]:
    return {e.event_specific_data.check_name: e.event_specific_data.passed
            for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def test_scout_checks_pass_on_the_real_output_and_fail_on_bad_frames(demo_settings, instance):
    from demo_helpers import load_sample_visits
    from revops_assets.assets import scout

    home = demo_settings.home
    load_sample_visits(home)
    result = _materialize(demo_settings, SCORING, PAST, instance)
    assert _checks(result) == {"confidence_in_range": True, "no_future_signals": True, "score_in_range": True,
                               "explanation_adds_up": True, "no_future_evidence": True, "one_row_per_domain": True}
    cutoff = _end_of(PAST)
    enriched, visits, signals, scores = (_partition(home, t, PAST) for t in
                                         ("enriched_accounts", "rb2b_visitors", "intent_signals", "intent_scores"))
    assert len(visits) and len(signals) and (scores["intent_score"] > 0).sum() > 3
    later = (date.fromisoformat(PAST) + timedelta(days=1)).isoformat()

    # enriched news as stored: an item published the next day, or with no date, fails the check
    assert scout.news_after_day(enriched, cutoff)[0]
    bad = enriched.copy()
    bad.loc[0, "news"] = json.dumps([{"title": "leak", "url": "u", "published": f"{later}T08:00:00Z"}])
    assert scout.news_after_day(bad, cutoff) == (False, {"news_after_day": 1, "news_undated": 0})
    bad.loc[0, "news"] = json.dumps([{"title": "no date", "url": "u", "published": None}])
    assert scout.news_after_day(bad, cutoff) == (False, {"news_after_day": 0, "news_undated": 1})
    # visits and signals as stored
    assert scout.visits_after_day(visits, cutoff)[0]
    assert not scout.visits_after_day(visits.assign(seen_at=pd.Timestamp(later, tz="UTC")), cutoff)[0]
    assert scout.signals_after_day(signals, cutoff)[0]
    assert not scout.signals_after_day(signals.assign(published=pd.Timestamp(later, tz="UTC")), cutoff)[0]
    # scores: evidence dates, points adding up, range, one row per account
    assert scout.evidence_after_day(scores, cutoff)[0]
    assert scout.explanation_mismatches(scores)[0] and scout.scores_out_of_range(scores, 100)[0]
    assert scout.duplicate_domains(scores)[0]
    scored = scores.index[scores["intent_score"] > 0][0]
    contributions = json.loads(scores.loc[scored, "contributions"])
    bad = scores.copy()
    bad.loc[scored, "contributions"] = json.dumps([dict(contributions[0], published=later)] + contributions[1:])
    assert scout.evidence_after_day(bad, cutoff)[0] is False
    bad = scores.copy()
    bad.loc[scored, "intent_score"] += 5
    assert scout.explanation_mismatches(bad) == (False, {"mismatches": 1})
    assert not scout.scores_out_of_range(bad.assign(intent_score=101.0), 100)[0]
    assert not scout.scores_out_of_range(bad.assign(intent_score=-1.0), 100)[0]
    assert not scout.duplicate_domains(pd.concat([scores, scores.head(1)]))[0]


def test_future_data_upstream_fails_the_checks_of_the_asset_that_reads_it(demo_settings, instance):
    """The assets filter as they read, but the checks report what was stored upstream: a leak there
    fails the downstream check instead of being silently dropped."""
    home = demo_settings.home
    _materialize(demo_settings, SCORING, PAST, instance)
    later = (date.fromisoformat(PAST) + timedelta(days=3)).isoformat()
    leak = json.dumps([{"title": "Acme raises $50M Series C", "url": "https://n.example/leak", "published": later,
                        "text": "Acme raised a $50M Series C."}])
    with duckdb.connect(str(home / "warehouse.duckdb")) as db:
        domain = db.execute("SELECT min(domain) FROM revops.enriched_accounts").fetchone()[0]
        db.execute("UPDATE revops.enriched_accounts SET news = ? WHERE domain = ?", [leak, domain])
    result = _materialize(demo_settings, ["intent_signals"], PAST, instance)
    assert _checks(result)["no_future_signals"] is False
    assert _partition(home, "intent_signals", PAST)["published"].max() <= pd.Timestamp(_end_of(PAST))

    with duckdb.connect(str(home / "warehouse.duckdb")) as db:
        changed = db.execute("UPDATE revops.intent_signals SET published = CAST(? AS TIMESTAMPTZ) "
                             "WHERE domain = (SELECT min(domain) FROM revops.intent_signals)",
                             [f"{later}T12:00:00Z"]).fetchone()[0]
    assert changed > 0
    result = _materialize(demo_settings, ["intent_scores"], PAST, instance)
    assert _checks(result)["no_future_evidence"] is False


# ----------------------------------------------------------------------------------- 4. missing inputs


def test_a_day_whose_snapshot_was_never_taken_fails_naming_it(demo_settings, instance):
    _materialize(demo_settings, SCORING, PAST, instance)  # the tables exist, for another day
    other = (date.fromisoformat(PAST) - timedelta(days=1)).isoformat()
    for selection, missing in ((["enriched_accounts"], "ghl_contacts"), (["intent_signals"], "enriched_accounts"),
                               (["intent_scores"], "intent_signals")):
        result = _materialize(demo_settings, selection, other, instance, ok=False)
        [failure] = [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]
        assert f"{missing} partition {other} has never been materialized" in failure, failure
    assert _partition(demo_settings.home, "enriched_accounts", other).empty  # nothing was written


def test_a_day_with_an_empty_crm_is_flagged_not_failed(demo_settings, instance):
    """Before the first contact was added the CRM really was empty: that day is empty on purpose, and says so."""
    first = "2025-06-01"
    result = _materialize(demo_settings, ["ghl_contacts", "rb2b_visitors", "enriched_accounts", "intent_signals"],
                          first, instance)
    assert _partition(demo_settings.home, "ghl_contacts", first).empty
    meta = {e.event_specific_data.materialization.asset_key.to_user_string(): e.event_specific_data.materialization.metadata
            for e in result.get_asset_materialization_events()}
    assert meta["enriched_accounts"]["empty_inputs"].value == ["ghl_contacts"]
    assert meta["intent_signals"]["empty_inputs"].value == ["enriched_accounts", "rb2b_visitors"]
    warnings = [r.user_message for r in instance.all_logs(result.run_id) if r.level == logging.WARNING]
    assert sum("ghl_contacts for 2025-06-01 was materialized with 0 rows" in w for w in warnings) == 1, warnings


def test_a_news_item_is_evidence_only_when_it_names_the_account():
    from revops_assets.assets.scout import about_account

    item = {"title": "Acme Cloud raises $20M Series A", "text": "The round was led by Northgate."}
    assert about_account(item, "Acme Cloud", "acmecloud.io")
    assert about_account({"title": "", "text": "Visit acmecloud.io for more."}, None, "acmecloud.io")  # no headline: the text
    assert not about_account({"title": "Funding roundup", "text": "Acme Cloud also raised."}, "Acme Cloud", "acmecloud.io")
    assert about_account({"title": "ACME CLOUD hires a CRO"}, "Acme Cloud", "acmecloud.io")
    assert not about_account({"title": "Kalmena Cloud raises $20M", "text": "Cloud funding is hot."}, "Acme Cloud", "acmecloud.io")
    assert not about_account({"title": "Acme Cloudworks launches Insight"}, "Acme Cloud", "acmecloud.io")  # whole words
    assert not about_account({"title": "Someone raises $5M"}, None, "acmecloud.io")
    # the account as a person's former employer: the news is the hiring company's
    for title in ("Globex hires ex-Acme Cloud leader Betty Chen", "Globex names former Acme Cloud CRO as CEO",
                  "Globex has hired Betty Chen, formerly of Acme Cloud, as COO", "Globex hires three alumni of Acme Cloud",
                  "Globex taps Jo Li, previously at Acme Cloud, as CFO"):
        assert not about_account({"title": title}, "Acme Cloud", "acmecloud.io"), title
    assert about_account({"title": "Acme Cloud names former Globex exec, ex-Acme Cloud adviser, as CRO"}, "Acme Cloud", "acmecloud.io")


@pytest.mark.parametrize("method", ["hybrid", "ngram"])
def test_intent_signals_with_a_learned_method(demo_home, instance, method):
    """REVOPS_INTENT_METHOD=hybrid or ngram reaches the asset through Settings: the learned head runs
    on the day's news and the run says which method produced the signals."""
    from revops_assets.settings import load_settings

    settings = load_settings({"REVOPS_HOME": str(demo_home), "REVOPS_ENV": "demo", "REVOPS_INTENT_METHOD": method})
    result = _materialize(settings, ["ghl_contacts", "rb2b_visitors", "enriched_accounts", "intent_signals"], PAST, instance)
    [mat] = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()
             if e.asset_key == dg.AssetKey("intent_signals")]
    assert mat.metadata["intent_method"].value == method
    news = _partition(demo_home, "intent_signals", PAST).query("source == 'news'")
    assert len(news) > 0 and news["confidence"].between(0, 1).all()
