"""SCOUT: who the accounts are (enrichment) and what they are doing (intent signals and scores).

Research is cached per domain and kind (company, news) for the directive's TTL, so re-runs and
backfills within it make no Exa calls. Every call Exa answered lands in the ``exa_cost_ledger`` table
once (keyed by its request id), as soon as it completes: a partner call failing, or the run stopping,
does not lose it, and the re-run only asks for what is still missing.
"""


import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Callable, Mapping

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from revops_assets import warehouse
from revops_assets.assets._common import (
    DUCKDB_POOL,
    as_of,
    daily_partitions,
    histogram_md,
    table_metadata,
    to_utc,
    utc_now,
)
from revops_assets.directives import load_directives
from revops_assets.resources.core import RevOpsConfig
from revops_assets.resources._http import AuthError
from revops_assets.resources.exa import CreditsExhausted, ExaResource

PARTITIONED = dict(partitions_def=daily_partitions, pool=DUCKDB_POOL, metadata={"partition_expr": "snapshot_date"})
RESEARCH_WORKERS = 8
HOT_PAGE_CONFIDENCE = 0.6


def accounts_from_contacts(contacts: pd.DataFrame) -> pd.DataFrame:
    """One row per domain: the CRM's firmographics (most common non-null value among its contacts)."""
    def mode(s: pd.Series):
        s = s.dropna()
        return s.mode().iloc[0] if not s.empty else None

    grouped = contacts.groupby("domain", sort=True)
    return pd.DataFrame({
        "company_name": grouped["company_name"].agg(mode),
        "industry": grouped["industry"].agg(mode),
        "employee_count": grouped["employee_count"].agg("max"),
        "region": grouped["region"].agg(mode),
        "country": grouped["country"].agg(mode),
        "assigned_to": grouped["assigned_to"].agg(mode),
        "contacts": grouped["contact_id"].count(),
    }).reset_index()


def _research(exa: ExaResource, domain: str, company: str | None, kinds: list[str], lookback_days: int,
              record: Callable[[dict], None]) -> None:
    """Company profile and/or recent news for one account: the only place SCOUT calls Exa.

    Each answer is handed to ``record`` as soon as it arrives, so a call Exa billed is kept (cached and
    in the cost ledger) even when the account's next call fails.
    """
    if "company" in kinds:
        found = exa.search_company(domain)
        record({"domain": domain, "kind": "company", "request_id": found.request_id, "cost_dollars": found.cost_dollars,
                "payload": json.dumps([r.model_dump(mode="json") for r in found.results], sort_keys=True)})
    if "news" in kinds:
        found = exa.search_news(company, domain, start_published_date=date.today() - timedelta(days=lookback_days))
        record({"domain": domain, "kind": "news", "request_id": found.request_id, "cost_dollars": found.cost_dollars,
                "payload": json.dumps([r.model_dump(mode="json") for r in found.results], sort_keys=True)})


def _store_research(warehouse_db: DuckDBResource, fetched: list[dict], now: datetime, partition: str) -> None:
    """Every completed call into the research cache (one row per fetch: the history a past day picks its
    profile from) and the cost ledger (keyed by Exa's request id: a re-run never counts a call twice)."""
    new = pd.DataFrame(fetched).assign(fetched_at=now)
    with warehouse_db.get_connection() as conn:
        warehouse.upsert(conn, "research_cache", new[["domain", "kind", "fetched_at", "payload"]],
                         keys=["domain", "kind", "fetched_at"])
        ledger = new[["domain", "kind", "request_id", "cost_dollars"]].assign(called_at=now, partition=partition)
        warehouse.upsert(conn, "exa_cost_ledger", ledger, keys=["request_id"])


def require_inputs(context: dg.AssetExecutionContext, inputs: dict[str, pd.DataFrame]) -> list[str]:
    """The inputs that are empty although their partition was materialized (legitimate: flagged and warned).

    An empty input whose partition was never materialized is not "nothing happened that day" but a
    missing snapshot (the IO manager reads it as zero rows): fail and name it, never write an empty day.
    """
    empty = []
    for name, frame in inputs.items():
        if not frame.empty:
            continue
        key = dg.AssetKey(name)
        found = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[context.partition_key]), limit=1).records
        if not found:
            raise dg.Failure(
                f"{name} partition {context.partition_key} has never been materialized, so "
                f"{context.asset_key.to_user_string()} for that day would be empty: materialize {name} for "
                f"{context.partition_key} first (the daily_cycle or rescore_history job does both).",
                metadata={"missing_upstream": f"{name}:{context.partition_key}"})
        context.log.warning(f"{name} for {context.partition_key} was materialized with 0 rows: "
                            f"{context.asset_key.to_user_string()} for that day is empty on purpose")
        empty.append(name)
    return empty


@dg.asset(group_name="scout", kinds={"exa", "duckdb"}, deps=["directives"], **PARTITIONED)
def enriched_accounts(
    context: dg.AssetExecutionContext, ghl_contacts: pd.DataFrame, exa: ExaResource,
    revops: RevOpsConfig, warehouse_db: DuckDBResource,
) -> pd.DataFrame:
    """Accounts with firmographics and researched facts, each fact with its evidence URL and date.

    Point in time: the day's row holds only news published on or before the end of the day (UTC, the
    partitions' zone, as every asset cuts); an item whose date is missing or unparseable cannot be
    placed in time and is left out (counted in ``news_undated``). Exa's company profile (employees,
    founding, HQ) is used only from a fetch made on or before the end of the day.
    """
    directives = load_directives(revops.settings.directives_dir)
    research = directives.lead_processing.research
    now = utc_now()  # the fetch time of this run's research: taken first, so today's cut-off includes it
    cutoff = as_of(context)
    empty_inputs = require_inputs(context, {"ghl_contacts": ghl_contacts})
    accounts = accounts_from_contacts(ghl_contacts)
    with warehouse_db.get_connection() as conn:
        cache = warehouse.read(conn, "research_cache")
    fresh: set[tuple[str, str]] = set()
    if not cache.empty:
        cache["fetched_at"] = to_utc(cache["fetched_at"])
        recent = cache[cache["fetched_at"] >= now - timedelta(days=research.ttl_days)]
        fresh = set(zip(recent["domain"], recent["kind"]))
    todo = []
    for domain, company in zip(accounts["domain"], accounts["company_name"]):
        kinds = [k for k in ("company", "news") if (domain, k) not in fresh]
        if kinds:
            todo.append((domain, company, kinds))
    failures: dict[str, str] = {}
    fetched: list[dict] = []
    lock = threading.Lock()

    def record(row: dict) -> None:
        with lock:
            fetched.append(row)

    def work(item):
        domain, company, kinds = item
        try:
            _research(exa, domain, company, kinds, research.news_lookback_days, record)
        except (AuthError, CreditsExhausted):
            raise  # a rejected key or an empty account fails every account: stop, say so
        except Exception as exc:  # one account's research failing must not sink the others
            failures[domain] = f"{type(exc).__name__}: {exc}"[:300]

    try:
        with ThreadPoolExecutor(RESEARCH_WORKERS) as pool:
            list(pool.map(work, todo))
    finally:  # what Exa billed is recorded even when the run stops here
        if fetched:
            _store_research(warehouse_db, fetched, now, context.partition_key)
    if fetched:
        with warehouse_db.get_connection() as conn:
            cache = warehouse.read(conn, "research_cache")
        cache["fetched_at"] = to_utc(cache["fetched_at"])

    profiles, cut = _profiles(cache, cutoff, dict(zip(accounts["domain"], accounts["company_name"])))
    df = accounts.merge(profiles, on="domain", how="left")
    # numbers both (a day with no profile leaves an all-None object column): no silent downcast
    df["employee_count"] = pd.to_numeric(df["employee_count"]).fillna(pd.to_numeric(df.pop("exa_employees"), errors="coerce"))
    df["facts"] = df["facts"].where(df["facts"].notna(), "[]")
    df["news"] = df["news"].where(df["news"].notna(), "[]")
    df["research_error"] = df["domain"].map(failures).astype("string")  # text even on a day with no failure
    df["snapshot_date"] = pd.Timestamp(context.partition_key)
    cost = float(sum(r["cost_dollars"] or 0 for r in fetched))
    context.add_output_metadata(table_metadata(
        df, ["domain", "company_name", "industry", "employee_count", "region"],
        exa_calls=len(fetched), exa_cost_dollars=round(cost, 4), cache_hits=len(accounts) - len(todo),
        research_failures=len(failures), empty_inputs=dg.MetadataValue.json(empty_inputs), **cut,
    ))
    return df


def published_at(item: dict) -> pd.Timestamp | None:
    """When a news item was published (UTC), or ``None`` if it carries no parseable date."""
    raw = item.get("published_date") or item.get("publishedDate") or item.get("published")
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        ts = pd.Timestamp(raw.strip())
    except (ValueError, TypeError, OverflowError):
        return None
    if ts is pd.NaT:
        return None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


# "ex-Acme", "former Acme", "formerly of Acme", "previously at Acme", "Acme alum": the account as a
# person's past employer -- the story is the hiring company's
_FORMER_EMPLOYER = re.compile(
    r"(?:\bex-|\bformer(?:ly)?\s+(?:(?:of|at|with)\s+)?|\bpreviously\s+(?:of|at|with)\s+|\balum(?:nus|na|ni)?\s+of\s+)$")


def about_account(item: dict, company: str | None, domain: str) -> bool:
    """Whether a news item is about the account: its headline (its text when it has none) names the
    account's domain, or its company name (whole words, any case) other than as someone's former
    employer. A search result is not evidence about an account until it names it, and a story that
    names it only in passing ("Globex hires ex-Acme leader ... Acme, founded in 2014, ...") is
    another company's."""
    text = (item.get("title") or "").strip().lower() or (item.get("text") or "").lower()
    if domain.lower() in text:
        return True
    name = (company or "").strip().lower()
    if not name:
        return False
    return any(not _FORMER_EMPLOYER.search(text, max(0, m.start() - 30), m.start())
               for m in re.finditer(rf"(?<![\w]){re.escape(name)}(?![\w])", text))


def _profiles(cache: pd.DataFrame, cutoff: datetime, names: Mapping[str, str | None]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Cached research as known at ``cutoff``: firmographics and dated, sourced facts per domain.

    The company profile comes from the latest fetch made on or before ``cutoff`` (a later profile is
    today's knowledge). News comes from the latest fetch, cut at publication: an article published by
    ``cutoff`` existed then, whenever it was fetched; and only an article that names the account
    (:func:`about_account`, company name from ``names``) is kept. Also returns what was held back, as
    figures.
    """
    columns = ["domain", "description", "founded_year", "exa_employees", "hq_country", "facts", "news"]
    cut = {"news_after_day": 0, "news_undated": 0, "news_not_about_account": 0, "exa_profiles_after_day": 0}
    if cache.empty:
        return pd.DataFrame(columns=columns), cut
    cutoff_ts = pd.Timestamp(cutoff)
    rows = []
    for domain, group in cache.sort_values("fetched_at").groupby("domain"):
        companies = group[group["kind"] == "company"]
        known = companies[companies["fetched_at"] <= cutoff_ts]
        cut["exa_profiles_after_day"] += int(known.empty and not companies.empty)
        news_rows = group[group["kind"] == "news"]
        facts, news = [], []
        description = founded = employees = country = None
        if not known.empty:
            fetched = known["fetched_at"].iloc[-1].date().isoformat()
            for result in json.loads(known["payload"].iloc[-1])[:1]:
                for entity in result.get("entities") or []:
                    props = entity.get("properties") or {}
                    description = props.get("description")
                    founded = props.get("founded_year", props.get("foundedYear"))  # cached: exa-py's snake_case
                    employees = (props.get("workforce") or {}).get("total")
                    country = (props.get("headquarters") or {}).get("country")
                    for label, value in (("description", description), ("founded", founded),
                                         ("employees", employees), ("headquarters", country)):
                        if value is not None:
                            facts.append({"fact": f"{label}: {value}", "url": result.get("url"), "date": fetched})
        for item in json.loads(news_rows["payload"].iloc[-1]) if not news_rows.empty else []:
            if not about_account(item, names.get(domain), domain):
                cut["news_not_about_account"] += 1
                continue
            when = published_at(item)
            if when is None:
                cut["news_undated"] += 1
                continue
            if when > cutoff_ts:
                cut["news_after_day"] += 1
                continue
            published = when.date().isoformat()
            news.append({"title": item.get("title"), "url": item.get("url"), "published": published,
                         "text": (item.get("text") or "")[:1500]})
            facts.append({"fact": item.get("title"), "url": item.get("url"), "date": published})
        rows.append({"domain": domain, "description": description, "founded_year": founded, "exa_employees": employees,
                     "hq_country": country, "facts": json.dumps(facts), "news": json.dumps(news)})
    return pd.DataFrame(rows, columns=columns), cut


# --------------------------------------------------------------------------------------------- checks
# Each check looks at something the asset's own code did not just guarantee: its input as read from
# the warehouse (a leak upstream is reported, not silently filtered), or its output recomputed from
# the JSON people read. Each returns (passed, metadata) so a test can hand it a bad frame.


def news_after_day(enriched_accounts: pd.DataFrame, cutoff: datetime) -> tuple[bool, dict]:
    """The enriched accounts' news as stored: every item dated, and published by the end of the day."""
    late = undated = 0
    for news in enriched_accounts["news"]:
        for item in json.loads(news) if isinstance(news, str) else []:
            when = published_at(item)
            undated += when is None
            late += when is not None and when > pd.Timestamp(cutoff)
    return late == 0 and undated == 0, {"news_after_day": late, "news_undated": undated}


def _dated_after_or_undated(stamps: pd.Series, cutoff: datetime) -> int:
    """How many timestamps are missing or later than ``cutoff``."""
    when = to_utc(stamps) if len(stamps) else pd.Series(dtype="datetime64[ns, UTC]")
    return int((when > pd.Timestamp(cutoff)).sum()) + int(when.isna().sum())


def visits_after_day(rb2b_visitors: pd.DataFrame, cutoff: datetime) -> tuple[bool, dict]:
    """The visits as stored: every one seen by the end of the day."""
    late = _dated_after_or_undated(rb2b_visitors["seen_at"], cutoff)
    return late == 0, {"visits_after_day_or_undated": late}


def signals_after_day(intent_signals: pd.DataFrame, cutoff: datetime) -> tuple[bool, dict]:
    """Intent signals as stored: every one published (and dated) by the end of the day."""
    late = _dated_after_or_undated(intent_signals["published"], cutoff)
    return late == 0, {"signals_after_day_or_undated": late}


def evidence_after_day(scores: pd.DataFrame, cutoff: datetime) -> tuple[bool, dict]:
    """Every contribution's evidence date, read from the contributions JSON, is on or before the day."""
    day = cutoff.date().isoformat()
    dates = [str(p.get("published") or "")[:10] for c in scores["contributions"] for p in json.loads(c)]
    bad = [d for d in dates if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) or d > day]
    return not bad, {"evidence_after_day_or_undated": len(bad), "latest_evidence": max(dates, default=None)}


def explanation_mismatches(scores: pd.DataFrame, tolerance: float = 0.011) -> tuple[bool, dict]:
    """Each score's contribution points add up to the score."""
    sums = pd.Series([sum(p["points"] for p in json.loads(c)) for c in scores["contributions"]], index=scores.index,
                     dtype="float64")
    mismatches = int(((sums - scores["intent_score"]).abs() > tolerance).sum())
    return mismatches == 0, {"mismatches": mismatches}


def scores_out_of_range(scores: pd.DataFrame, cap: float) -> tuple[bool, dict]:
    """Every score is a number in [0, min(cap, 100)]."""
    ok = scores["intent_score"].between(0, min(cap, 100.0))
    return bool(ok.all()), {"out_of_range": int((~ok).sum())}


def duplicate_domains(frame: pd.DataFrame) -> tuple[bool, dict]:
    """One row per account."""
    duplicates = int(frame["domain"].duplicated().sum()) + int(frame["domain"].isna().sum())
    return duplicates == 0, {"duplicate_or_missing_domains": duplicates}


def _check(name: str, result: tuple[bool, dict]) -> dg.AssetCheckResult:
    passed, metadata = result
    return dg.AssetCheckResult(check_name=name, passed=bool(passed), metadata=metadata)


@dg.asset(
    group_name="scout", kinds={"duckdb"}, deps=["directives"],
    check_specs=[
        dg.AssetCheckSpec("confidence_in_range", asset="intent_signals"),
        dg.AssetCheckSpec("no_future_signals", asset="intent_signals",
                          description="The inputs as stored: enriched news and visits all dated on or before the day."),
    ],
    **PARTITIONED,
)
def intent_signals(
    context: dg.AssetExecutionContext, enriched_accounts: pd.DataFrame, rb2b_visitors: pd.DataFrame, revops: RevOpsConfig
):
    """Buying signals found in the news (funding, hiring, leadership change, launch) and in website visits."""
    from revops_assets.scoring.intent import classify_many
    from revops_assets.scoring.intent_score import visits_to_signals

    cutoff = as_of(context)
    empty_inputs = require_inputs(context, {"enriched_accounts": enriched_accounts, "rb2b_visitors": rb2b_visitors})
    hot_pages = load_directives(revops.settings.directives_dir).lead_processing.intent.hot_pages
    items = [(row.domain, n) for row in enriched_accounts.itertuples() for n in json.loads(row.news or "[]")]
    items = [(d, n) for d, n in items if n.get("published") and n["published"] <= cutoff.date().isoformat()]
    found = classify_many([f"{n.get('title') or ''}. {n.get('text') or ''}" for _, n in items],
                          published=[n["published"] for _, n in items], method=revops.settings.intent_method)
    rows = [
        {"domain": d, "type": s.type, "confidence": float(s.confidence), "published": n["published"],
         "evidence_url": n.get("url"), "evidence": n.get("title"), "source": "news"}
        for (d, n), signals in zip(items, found) for s in signals
    ]
    visits = rb2b_visitors.dropna(subset=["domain"]).rename(columns={"captured_url": "url"})
    web = visits_to_signals(visits[["domain", "url", "seen_at"]])
    # Pages the directive names as hot weigh like the hottest buying pages.
    hot = web["evidence_url"].fillna("").str.contains("|".join(map(re.escape, hot_pages)) or "$^", regex=True)
    web.loc[hot, "confidence"] = web.loc[hot, "confidence"].clip(lower=HOT_PAGE_CONFIDENCE)
    rows += web.assign(published=web["published"].astype(str).str[:10], source="rb2b").to_dict("records")
    df = pd.DataFrame(rows, columns=["domain", "type", "confidence", "published", "evidence_url", "evidence", "source"])
    df["published"] = to_utc(df["published"])
    df = df[df["published"] <= cutoff].sort_values(["domain", "published", "type"]).reset_index(drop=True)
    df["snapshot_date"] = pd.Timestamp(context.partition_key)
    yield dg.Output(df, metadata=table_metadata(
        df, ["domain", "type", "confidence", "published", "evidence"],
        by_type=dg.MetadataValue.json(df["type"].value_counts().to_dict()),
        empty_inputs=dg.MetadataValue.json(empty_inputs), intent_method=revops.settings.intent_method,
    ))
    yield dg.AssetCheckResult(check_name="confidence_in_range", passed=bool(df["confidence"].between(0, 1).all()))
    news_ok, news_meta = news_after_day(enriched_accounts, cutoff)
    visits_ok, visits_meta = visits_after_day(rb2b_visitors, cutoff)
    yield _check("no_future_signals", (news_ok and visits_ok, news_meta | visits_meta))


@dg.asset(
    group_name="scout", kinds={"duckdb"}, deps=["directives"],
    check_specs=[
        dg.AssetCheckSpec("score_in_range", asset="intent_scores"),
        dg.AssetCheckSpec("explanation_adds_up", asset="intent_scores"),
        dg.AssetCheckSpec("no_future_evidence", asset="intent_scores",
                          description="The input signals as stored and every evidence date in the contributions "
                                      "are on or before the day."),
        dg.AssetCheckSpec("one_row_per_domain", asset="intent_scores"),
    ],
    **PARTITIONED,
)
def intent_scores(context: dg.AssetExecutionContext, intent_signals: pd.DataFrame, revops: RevOpsConfig):
    """0-100 per account: decayed, capped sum of weighted signals, with every point explained."""
    from revops_assets.scoring.intent_score import score_intent

    rules = load_directives(revops.settings.directives_dir).lead_processing.intent
    cutoff = as_of(context)
    empty_inputs = require_inputs(context, {"intent_signals": intent_signals})
    scores = score_intent(intent_signals, as_of=cutoff.date(), weights=rules.weights,
                          half_life_days=rules.half_life_days, cap=rules.cap)
    scores = scores.sort_values(["intent_score", "domain"], ascending=[False, True]).reset_index(drop=True)
    scores["snapshot_date"] = pd.Timestamp(context.partition_key)
    yield dg.Output(scores, metadata=table_metadata(
        scores, ["domain", "intent_score", "contributions"],
        distribution=histogram_md(scores["intent_score"], [0, 10, 20, 40, 60, 80, 100], "intent"),
        mean_score=float(scores["intent_score"].mean()) if len(scores) else 0.0,
        empty_inputs=dg.MetadataValue.json(empty_inputs),
    ))
    yield _check("score_in_range", scores_out_of_range(scores, rules.cap))
    yield _check("explanation_adds_up", explanation_mismatches(scores))
    inputs_ok, inputs_meta = signals_after_day(intent_signals, cutoff)
    evidence_ok, evidence_meta = evidence_after_day(scores, cutoff)
    yield _check("no_future_evidence", (inputs_ok and evidence_ok, inputs_meta | evidence_meta))
    yield _check("one_row_per_domain", duplicate_domains(scores))


SCOUT_ASSETS = [enriched_accounts, intent_signals, intent_scores]
