"""The GoHighLevel side of the sample: AEs, the Sales pipeline, contacts, opportunities with stage
history, notes and calendars, all in GHL wire format and all driven by the hidden propensity."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from revops_assets.sample.clock import business_time, days_before, ghl_id, iso_ms, uuid_like
from revops_assets.sample.frame import CITIES, COUNTRY_NAMES, REGIONS
from revops_assets.sample.names import (
    CHIEF_X, EMAIL_PATTERNS, FIRST_NAMES, FOUNDER_TITLES, FUNCTIONS, LAST_NAMES, SENIORITY, slug,
)

SELLER = {"name": "Northpeak", "domain": "northpeak.io", "website": "https://www.northpeak.io"}
STAGES = ["New Lead", "Qualified", "Discovery", "Proposal", "Negotiation"]
DEFECTS = ("no_domain", "malformed_date", "negative_employee_count", "unknown_stage")
STALL_REASONS = ("went_dark_after_proposal", "champion_left", "no_next_step")
HISTORY_DAYS = 90

AE_TIMEZONES = {
    "North America": ["America/New_York", "America/Chicago", "America/Los_Angeles"],
    "EMEA": ["Europe/London", "Europe/Berlin"],
    "APAC": ["Australia/Sydney", "Asia/Singapore"],
    "LATAM": ["America/Sao_Paulo", "America/Mexico_City"],
}
AE_NAMES = [("Ava", "Thompson"), ("Marcus", "Reid"), ("Sofia", "Delgado"), ("Kenji", "Watanabe"),
            ("Hannah", "Becker"), ("Liam", "O'Connor")]
DIAL = {"US": "+1", "CA": "+1", "GB": "+44", "DE": "+49", "FR": "+33", "NL": "+31", "SE": "+46", "ES": "+34",
        "IE": "+353", "AU": "+61", "SG": "+65", "IN": "+91", "JP": "+81", "BR": "+55", "MX": "+52", "AR": "+54", "CL": "+56"}
PERSONAL_DOMAINS = ["gmail.com", "outlook.com", "yahoo.com"]
SOURCES = ["Website Form", "LinkedIn", "List Import", "Referral", "Event", "RB2B", "Webinar"]
EXTRA_TAGS = ["newsletter", "webinar", "trade-show", "decision-maker", "icp-tier-1", "partner-referral"]
MALFORMED_DATES = ["2024-02-30T25:61:00Z", "31/13/2024", "yesterday", "2024-13-01", "0000-00-00T00:00:00.000Z"]
PAINS = ["pipeline visibility", "forecast accuracy", "manual data entry", "lead routing", "rep ramp time", "churn in SMB"]
TOOLS = ["spreadsheets", "Salesforce", "HubSpot", "a homegrown CRM", "Pipedrive"]
LOST_REASONS = ["chose a competitor", "no budget this year", "project deprioritised", "went with in-house build", "pricing"]
PLANS = [("Starter", 0.6), ("Growth", 1.0), ("Scale", 1.6), ("Enterprise", 2.5)]


@dataclass
class Account:
    """One account and everything generated for it (``row`` is its ``accounts_frame`` row)."""

    idx: int
    row: dict
    location: dict
    ae: dict
    defect: str | None = None
    contacts: list[dict] = field(default_factory=list)
    personas: dict[str, str] = field(default_factory=dict)  # contactId -> persona
    opportunity: dict | None = None
    stage_entries: list[tuple[str, datetime]] = field(default_factory=list)
    stall: str | None = None
    quiet_since: datetime | None = None  # no activity at or after this instant (stalled deals)
    first_touch_limit: datetime | None = None  # outbound sequences end here (deal created / stalled)
    visits: list[datetime] = field(default_factory=list)  # RB2B pricing-page visits (for email signals)

    @property
    def segment(self) -> str:
        e = self.row["employee_count"]
        return "smb" if e < 100 else "mid_market" if e < 1000 else "enterprise"


def make_users(rnd: random.Random) -> list[dict]:
    """4-6 AEs; each owns a territory (region) and sits in one of its time zones."""
    count = rnd.randint(4, 6)
    users = []
    for i in range(count):
        first, last = AE_NAMES[i]
        territory = REGIONS[i % 4] if i < 4 else ["North America", "EMEA"][i - 4]
        users.append({
            "id": ghl_id(rnd),
            "name": f"{first} {last}",
            "firstName": first,
            "lastName": last,
            "email": f"{slug(first)}.{slug(last)}@{SELLER['domain']}",
            "timezone": rnd.choice(AE_TIMEZONES[territory]),
            "role": "Account Executive",
            "territory": territory,
        })
    return users


def make_pipeline(rnd: random.Random, location_id: str) -> dict:
    return {
        "id": ghl_id(rnd),
        "name": "Sales",
        "stages": [{"id": uuid_like(rnd), "name": name, "position": i} for i, name in enumerate(STAGES)],
        "showInFunnel": True,
        "showInPieChart": True,
        "locationId": location_id,
    }


def _title(rnd: random.Random, seniority: str, function: str, small: bool, primary: bool) -> str:
    if primary and small:
        return rnd.choice(FOUNDER_TITLES)
    pattern = rnd.choice(SENIORITY[seniority][0])
    return pattern.format(f=function, x=CHIEF_X[function])


def make_contacts(rnd: random.Random, acc: Account, t0: datetime, location_id: str) -> None:
    """1-4 contacts per account, firmographics in ``customFields`` (string values, as GHL stores them)."""
    row = acc.row
    n = rnd.choices([1, 2, 3, 4], weights=[0.35, 0.30, 0.20, 0.15])[0]
    small = row["employee_count"] < 50
    seniorities = list(SENIORITY)
    weights = [SENIORITY[s][1] for s in seniorities]
    used = set()
    for k in range(n):
        while True:
            first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
            if (first, last) not in used:
                used.add((first, last))
                break
        function = rnd.choice(list(FUNCTIONS))
        seniority = "C-Level" if (k == 0 and small) else rnd.choices(seniorities, weights=weights)[0]
        title = _title(rnd, seniority, function, small, k == 0)
        persona = "executive" if seniority == "C-Level" or title in FOUNDER_TITLES else FUNCTIONS[function]
        local = rnd.choice(EMAIL_PATTERNS).format(first=slug(first), last=slug(last), f=slug(first)[0], l=slug(last)[0])
        domain = row["domain"]
        email = f"{local}@{rnd.choice(PERSONAL_DOMAINS) if acc.defect == 'no_domain' else domain}"
        emp = row["employee_count"]
        custom = [
            {"id": "cf_industry", "value": row["industry"]},
            {"id": "cf_employee_count", "value": str(-emp if acc.defect == "negative_employee_count" else emp)},
            {"id": "cf_region", "value": row["region"]},
            {"id": "cf_seniority", "value": seniority},
            {"id": "cf_title", "value": title},
        ]
        added = days_before(t0, rnd, 95, 420) if rnd.random() < 0.8 else days_before(t0, rnd, 1, 90)
        tags = sorted(rnd.sample(EXTRA_TAGS, rnd.choice([0, 0, 1, 1, 2])))
        contact = {
            "id": ghl_id(rnd),
            "locationId": location_id,
            "name": f"{first} {last}",
            "firstName": first,
            "lastName": last,
            "email": email,
            "companyName": row["company_name"],
        }
        if rnd.random() < 0.85:
            digits = 10 if row["country"] in ("US", "CA") else 9
            contact["phone"] = DIAL[row["country"]] + str(rnd.randint(2, 9)) + "".join(str(rnd.randrange(10)) for _ in range(digits - 1))
        if acc.defect != "no_domain":
            contact["website"] = f"https://{domain}"
        contact.update({
            "tags": tags,
            "dnd": rnd.random() < 0.02,
            "source": rnd.choice(SOURCES),
            "type": "lead",
            "dateAdded": iso_ms(added),
            "dateUpdated": iso_ms(added),
            "assignedTo": acc.ae["id"],
            "country": row["country"],
            "city": acc.location["city"],
            "state": acc.location["state"],
            "postalCode": acc.location["postal_code"],
            "customFields": custom,
        })
        if acc.defect == "malformed_date" and k == 0:
            contact["dateAdded"] = rnd.choice(MALFORMED_DATES)
        acc.contacts.append(contact)
        acc.personas[contact["id"]] = persona


def _note(rnd: random.Random, contact_id: str, user_id: str, body: str, at: datetime) -> dict:
    return {"id": ghl_id(rnd), "contactId": contact_id, "body": body, "userId": user_id, "dateAdded": iso_ms(at)}


def make_opportunity(
    rnd: random.Random, acc: Account, t0: datetime, pipeline: dict, location_id: str,
) -> tuple[list[dict], list[dict]]:
    """Simulate one deal's walk through the stages; returns (stage-history rows, notes).

    Converted accounts walk to won (unless time runs out); others die at a stage with a chance that
    falls with propensity, as lost (70%) or abandoned.
    """
    row, ae = acc.row, acc.ae
    prop = float(row["propensity"])
    contact = acc.contacts[0]
    stages = pipeline["stages"]
    tz = ae["timezone"]
    created = business_time(days_before(t0, rnd, 3, HISTORY_DAYS), tz, rnd, t0)
    mean_days = 5.0 + 9.0 * (1.0 - prop)
    p_advance = 0.55 + 0.4 * prop
    entries = [(stages[0]["id"], created)]
    status, closed_at = "open", None
    t, stage_i = created, 0
    while True:
        t_next = t + timedelta(days=rnd.expovariate(1.0 / mean_days) + 0.5)
        if t_next >= t0:
            break
        t_next = business_time(t_next, tz, rnd, t0)
        if t_next <= t:
            t_next = t + timedelta(hours=2)
            if t_next >= t0:
                break
        t = t_next
        if row["converted"] or rnd.random() < p_advance:
            if stage_i == len(stages) - 1:
                status, closed_at = ("won", t) if row["converted"] else ("lost", t)
                break
            stage_i += 1
            entries.append((stages[stage_i]["id"], t))
        else:
            status, closed_at = ("lost", t) if rnd.random() < 0.7 else ("abandoned", t)
            break
    plan, mult = rnd.choice(PLANS)
    value = round((6000 + row["employee_count"] * rnd.uniform(25, 90)) * mult / 500) * 500
    value = float(min(value, 450000))
    acc.stage_entries = list(entries)
    stage_id = entries[-1][0]
    if acc.defect == "unknown_stage":
        stage_id = uuid_like(rnd)
        entries.append((stage_id, entries[-1][1] + timedelta(hours=1)))
    opp = {
        "id": ghl_id(rnd),
        "name": f"{row['company_name']} - {plan}",
        "monetaryValue": value,
        "pipelineId": pipeline["id"],
        "pipelineStageId": stage_id,
        "assignedTo": ae["id"],
        "status": status,
        "source": contact["source"],
        "lastStatusChangeAt": iso_ms(closed_at or created),
        "lastStageChangeAt": iso_ms(entries[-1][1]),
        "lastActionDate": None,  # filled once activities are known
        "createdAt": iso_ms(created),
        "updatedAt": None,
        "contactId": contact["id"],
        "locationId": location_id,
        "contact": {k: contact[k] for k in ("id", "name", "companyName", "email", "phone", "tags") if k in contact},
    }
    acc.opportunity = opp
    acc.first_touch_limit = created
    history = [{"opportunityId": opp["id"], "pipelineStageId": sid, "enteredAt": iso_ms(at)} for sid, at in entries]

    first = contact["firstName"]
    notes = []
    texts = [
        f"New lead from {contact['source']}: {first} ({_title_of(contact)}) at {row['company_name']}.",
        f"Qualified: ~{row['employee_count']} employees, budget owner identified, evaluating this quarter.",
        f"Discovery call with {first}: main pain is {rnd.choice(PAINS)}; today they run on {rnd.choice(TOOLS)}.",
        f"Sent proposal for the {plan} plan (${value:,.0f}/yr) to {first}.",
        f"Negotiation: procurement asked for {rnd.choice(['a multi-year discount', 'net-60 terms', 'a security review', 'a pilot clause'])}.",
    ]
    for i, (_, at) in enumerate(acc.stage_entries):
        notes.append(_note(rnd, contact["id"], ae["id"], texts[i], at + timedelta(minutes=rnd.randint(5, 90))))
    if status == "won":
        notes.append(_note(rnd, contact["id"], ae["id"], f"Closed won: {plan} plan signed, ${value:,.0f}.", closed_at + timedelta(minutes=30)))
    elif status in ("lost", "abandoned"):
        reason = rnd.choice(LOST_REASONS) if status == "lost" else "stopped responding"
        notes.append(_note(rnd, contact["id"], ae["id"], f"Closed {status}: {reason}.", closed_at + timedelta(minutes=30)))
    if acc.defect == "malformed_date":
        opp["createdAt"] = rnd.choice(MALFORMED_DATES)
    return history, [n for n in notes if n["dateAdded"] < iso_ms(t0)]


def _title_of(contact: dict) -> str:
    return next(f["value"] for f in contact["customFields"] if f["id"] == "cf_title")


def stall_deals(rnd: random.Random, accounts: list[Account], t0: datetime, share: float = 0.10) -> list[dict]:
    """Mark ~``share`` of open deals stalled (no activity for 8-40 days); returns the notes that say why.

    Reasons vary by stage: went dark after a proposal (Proposal/Negotiation), the champion left the
    company (any stage; a note says so), or no next step (early stages).
    """
    candidates = [a for a in accounts if a.opportunity and a.opportunity["status"] == "open" and a.defect != "unknown_stage"
                  and a.stage_entries[-1][1] <= t0 - timedelta(days=9)]
    n_open = sum(1 for a in accounts if a.opportunity and a.opportunity["status"] == "open")
    target = min(len(candidates), max(2, round(share * n_open)) if candidates else 0)
    rnd.shuffle(candidates)
    # Every reason shows up when it can: one late-stage deal goes dark, one champion leaves.
    late_first = sorted(candidates, key=lambda a: len(a.stage_entries) < 4)
    chosen = late_first[:1] + [a for a in candidates if a is not late_first[0]][: target - 1] if target else []
    notes = []
    for i, acc in enumerate(chosen):
        stage_i = len(acc.stage_entries) - 1
        late = stage_i >= 3
        if i == 0 and late:
            reason = "went_dark_after_proposal"
        elif i <= 1:
            reason = "champion_left"
        elif late:
            reason = "went_dark_after_proposal" if rnd.random() < 0.6 else "champion_left"
        else:
            reason = "no_next_step" if rnd.random() < 0.5 else "champion_left"
        last_entry = acc.stage_entries[-1][1]
        lo = max(last_entry + timedelta(hours=3), t0 - timedelta(days=40))
        hi = t0 - timedelta(days=8)
        quiet = lo + timedelta(seconds=int(rnd.random() * max(0.0, (hi - lo).total_seconds())))
        acc.stall, acc.quiet_since = reason, quiet + timedelta(minutes=1)
        c, ae = acc.contacts[0], acc.ae
        body = {
            "went_dark_after_proposal": f"Followed up with {c['firstName']} on the proposal; no reply yet.",
            "champion_left": (f"{c['firstName']} {c['lastName']} has left {acc.row['company_name']} "
                              f"(email bounced, LinkedIn shows a new role). Need a new champion."),
            "no_next_step": f"Left a voicemail for {c['firstName']}; no next step scheduled.",
        }[reason]
        notes.append(_note(rnd, c["id"], ae["id"], body, quiet))
    return notes


def recent_activity_notes(rnd: random.Random, accounts: list[Account], t0: datetime) -> list[dict]:
    """Open, non-stalled deals were touched in the last week."""
    notes = []
    for acc in accounts:
        opp = acc.opportunity
        if not opp or opp["status"] != "open" or acc.stall:
            continue
        c = rnd.choice(acc.contacts)
        at = max(days_before(t0, rnd, 0.1, 7), acc.stage_entries[-1][1] + timedelta(hours=1))
        if at >= t0:
            continue
        body = rnd.choice([
            f"Call with {c['firstName']}: aligned on next steps.",
            f"Sent {c['firstName']} the case study and security docs.",
            f"{c['firstName']} looped in their {rnd.choice(['CFO', 'VP Sales', 'Head of RevOps', 'IT lead'])}.",
            f"Quick check-in with {c['firstName']}; timeline still on track.",
        ])
        notes.append(_note(rnd, c["id"], acc.ae["id"], body, at))
    return notes


def make_calendars(rnd: random.Random, users: list[dict], location_id: str, group_id: str) -> list[dict]:
    """One personal calendar per AE; ``openHours`` are the AE's local hours (their ``timezone``)."""
    cals = []
    for u in users:
        cals.append({
            "id": ghl_id(rnd),
            "locationId": location_id,
            "groupId": group_id,
            "name": f"{u['name']} - Sales Meetings",
            "description": f"Book time with {u['firstName']} from {SELLER['name']}.",
            "slug": f"{slug(u['firstName'])}-{slug(u['lastName'])}",
            "widgetSlug": f"{slug(u['firstName'])}-{slug(u['lastName'])}",
            "calendarType": "personal",
            "isActive": True,
            "teamMembers": [{"userId": u["id"], "priority": 1, "isPrimary": True}],
            "slotDuration": 30,
            "slotDurationUnit": "mins",
            "slotInterval": 30,
            "slotIntervalUnit": "mins",
            "openHours": [{"daysOfTheWeek": [1, 2, 3, 4, 5],
                           "hours": [{"openHour": 9, "openMinute": 0, "closeHour": 17, "closeMinute": 0}]}],
        })
    return cals


def _local_iso(dt: datetime, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).isoformat()


def _upcoming_slot(rnd: random.Random, tz: str, start: datetime, end: datetime) -> datetime | None:
    """A random half-hour slot 9:00-16:30 local time (any day) with ``start <= slot < end``."""
    zone = ZoneInfo(tz)
    day = start.astimezone(zone).date()
    slots = []
    for d in range(4):
        cur = day + timedelta(days=d)
        for half in range(18, 34):
            local = datetime(cur.year, cur.month, cur.day, half // 2, 30 * (half % 2), tzinfo=zone)
            utc = local.astimezone(timezone.utc)
            if start <= utc < end:
                slots.append(utc)
    return rnd.choice(slots) if slots else None


def make_appointments(
    rnd: random.Random, accounts: list[Account], calendars: list[dict], t0: datetime, location_id: str,
    group_id: str, positive_contacts: list[tuple[Account, dict, datetime]],
) -> list[dict]:
    """Past meetings at deal milestones and after positive replies; upcoming ones in the next 72 h
    (at least a few in the next 24 h, for meeting briefs)."""
    cal_by_user = {c["teamMembers"][0]["userId"]: c for c in calendars}
    out: list[dict] = []
    busy: set[tuple[str, datetime]] = set()

    def add(acc: Account, contact: dict, title: str, start: datetime, status: str, booked: datetime) -> None:
        ae = acc.ae
        if (ae["id"], start) in busy:
            return
        busy.add((ae["id"], start))
        tz = ae["timezone"]
        out.append({
            "id": ghl_id(rnd),
            "title": f"{title}: {acc.row['company_name']} <> {SELLER['name']}",
            "calendarId": cal_by_user[ae["id"]]["id"],
            "locationId": location_id,
            "contactId": contact["id"],
            "groupId": group_id,
            "appointmentStatus": status,
            "assignedUserId": ae["id"],
            "users": [ae["id"]],
            "address": f"https://meet.google.com/{''.join(rnd.choices('abcdefghijkmnopqrstuvwxyz', k=3))}-"
                       f"{''.join(rnd.choices('abcdefghijkmnopqrstuvwxyz', k=4))}-{''.join(rnd.choices('abcdefghijkmnopqrstuvwxyz', k=3))}",
            "startTime": _local_iso(start, tz),
            "endTime": _local_iso(start + timedelta(minutes=30), tz),
            "dateAdded": iso_ms(booked),
            "dateUpdated": iso_ms(min(start, t0 - timedelta(minutes=1)) if status != "confirmed" else booked),
        })

    stage_titles = {2: "Discovery call", 3: "Proposal review", 4: "Commercials review"}
    for acc in accounts:
        if not acc.opportunity:
            continue
        contact = acc.contacts[0]
        for i, (_, at) in enumerate(acc.stage_entries):
            if i in stage_titles:
                status = rnd.choices(["showed", "noshow", "cancelled"], weights=[0.85, 0.08, 0.07])[0]
                start = at.replace(minute=0 if at.minute < 30 else 30, second=0)
                add(acc, contact, stage_titles[i], start, status, start - timedelta(days=rnd.randint(1, 5)))
        if acc.opportunity["status"] == "open" and not acc.stall and len(acc.stage_entries) >= 2 and rnd.random() < 0.55:
            start = _upcoming_slot(rnd, acc.ae["timezone"], t0, t0 + timedelta(hours=72))
            if start:
                add(acc, rnd.choice(acc.contacts), rnd.choice(["Follow-up", "Technical deep dive", "Stakeholder demo"]),
                    start, "confirmed", t0 - timedelta(days=rnd.randint(1, 6), hours=rnd.randint(1, 9)))
    for acc, contact, replied_at in positive_contacts:
        if acc.opportunity or acc.stall:
            continue
        booked = replied_at + timedelta(hours=rnd.randint(1, 20))
        start = booked + timedelta(days=rnd.randint(2, 6))
        while start.astimezone(ZoneInfo(acc.ae["timezone"])).weekday() >= 5:
            start += timedelta(days=1)
        if start < t0 - timedelta(hours=1):
            start = start.replace(minute=0, second=0)
            add(acc, contact, "Intro call", start, rnd.choices(["showed", "noshow"], weights=[0.85, 0.15])[0], booked)
        else:
            slot = _upcoming_slot(rnd, acc.ae["timezone"], t0, t0 + timedelta(hours=72))
            if slot:
                add(acc, contact, "Intro call", slot, "confirmed", min(booked, t0 - timedelta(minutes=5)))

    # Meeting briefs need something to brief on: at least 3 upcoming in the next 24 h.
    soon = sum(1 for a in out if a["appointmentStatus"] == "confirmed" and _in_next(a["startTime"], t0, 24))
    pool = sorted((a for a in accounts if not a.stall and a.defect is None), key=lambda a: -a.row["propensity"])
    for acc in pool[: max(0, 3 - soon) * 2]:
        if soon >= 3:
            break
        slot = _upcoming_slot(rnd, acc.ae["timezone"], t0, t0 + timedelta(hours=24))
        if slot:
            n_before = len(out)
            add(acc, acc.contacts[0], "Intro call", slot, "confirmed", t0 - timedelta(days=1, hours=rnd.randint(1, 9)))
            soon += len(out) - n_before
    out.sort(key=lambda a: (datetime.fromisoformat(a["startTime"]), a["id"]))
    return out


def _in_next(start_iso: str, t0: datetime, hours: int) -> bool:
    start = datetime.fromisoformat(start_iso)
    return t0 <= start < t0 + timedelta(hours=hours)


def location_of(row: dict) -> dict:
    city, state, postal = next(c for c in CITIES[row["country"]] if c[0] == row["city"])
    return {"city": city, "state": state, "postal_code": postal, "country": row["country"],
            "country_name": COUNTRY_NAMES[row["country"]]}
