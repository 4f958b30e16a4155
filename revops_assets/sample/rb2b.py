"""RB2B webhook bodies exactly as RB2B (or a relay) would POST them, warts included.

Flat Title-Case bodies (~20% wrapped in a relay envelope), ``Tags`` as one comma-separated string,
``Employee Count`` as int or ``"201-500"``, ``Seen At`` mostly ISO 8601 but sometimes the documented
broken form, repeats, company-only profiles and ~1% malformed bodies. Per-line truth goes to
``truth/visits.jsonl``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from revops_assets.sample.clock import days_before, iso_ms, uuid_like
from revops_assets.sample.crm import SELLER, Account
from revops_assets.sample.names import FIRST_NAMES, LAST_NAMES, slug

FIELDS = ["LinkedIn URL", "First Name", "Last Name", "Title", "Company Name", "Business Email", "Website",
          "Industry", "Employee Count", "Estimate Revenue", "City", "State", "Zipcode", "Seen At", "Referrer",
          "Captured URL", "Tags"]
NEVER_NULL = ["LinkedIn URL", "City", "State", "Zipcode", "Seen At", "Captured URL"]
LINKEDIN_INDUSTRY = {
    "SaaS": "Software Development", "FinTech": "Financial Services", "Healthcare": "Hospitals and Health Care",
    "Manufacturing": "Industrial Machinery Manufacturing", "Retail": "Retail", "Logistics": "Transportation, Logistics, Supply Chain and Storage",
    "Education": "E-Learning Providers", "Media": "Online Audio and Video Media", "Cybersecurity": "Computer and Network Security",
    "Professional Services": "Business Consulting and Services",
}
PAGES = ["/", "/demo", "/product", "/integrations", "/customers", "/about", "/careers", "/security"]
BLOG = ["pipeline-hygiene-checklist", "forecasting-101", "revops-metrics", "lead-routing-guide", "ai-for-sdrs"]
CASES = ["acme-analytics", "globex-logistics", "initech-health", "umbrella-fintech"]
REFERRERS = ["https://www.google.com/", "https://www.linkedin.com/", "https://www.bing.com/", None, None,
             "https://news.ycombinator.com/", "https://www.g2.com/"]
RANGES = [(1, 10), (11, 50), (51, 200), (201, 500), (501, 1000), (1001, 5000), (5001, 10000), (10001, 10 ** 9)]
MALFORMATIONS = ["missing_seen_at", "missing_captured_url", "null_linkedin_url", "tags_array",
                 "employee_count_text", "seen_at_number", "first_name_number"]


def _seen_at(rnd: random.Random, t: datetime) -> str:
    r = rnd.random()
    if r < 0.15:  # the documented, not-quite-ISO sample form
        return t.strftime("%Y-%m-%dT%H:%M:%S") + ":00.00+00.00"
    if r < 0.55:
        return iso_ms(t)
    return t.isoformat()  # 2024-01-01T12:34:56+00:00


def _employee_count(rnd: random.Random, n: int) -> int | str | None:
    r = rnd.random()
    if r < 0.6:
        return n
    if r < 0.95:
        lo, hi = next(b for b in RANGES if b[0] <= n <= b[1])
        return f"{lo}+" if hi > 10 ** 8 else f"{lo}-{hi}"
    return None


def _revenue(rnd: random.Random, employees: int) -> str | None:
    if rnd.random() < 0.25:
        return None
    m = max(1, round(employees * 0.15))
    return f"${m}M rev" if m < 1000 else f"${m / 1000:.1f}B rev"


def plan_visits(rnd: random.Random, acc: Account, t0: datetime) -> list[tuple[datetime, bool]]:
    """When the account's people were on the site: ``visits_30d`` (``pricing_visits_30d`` of them on
    /pricing) in the last 30 days, and about as many again 30-90 days back."""
    v30, p30 = int(acc.row["visits_30d"]), int(acc.row["pricing_visits_30d"])
    older = int(rnd.expovariate(1.0) * (0.6 * v30 + 0.2))
    plan = [(days_before(t0, rnd, 0.01, 30), i < p30) for i in range(v30)]
    plan += [(days_before(t0, rnd, 30, 90), rnd.random() < 0.2) for _ in range(older)]
    plan.sort()
    acc.visits = [t for t, pricing in plan if pricing]
    return plan


def make_visits(rnd: random.Random, plans: list[tuple[Account, list[tuple[datetime, bool]]]]) -> tuple[list[dict], list[dict]]:
    """All webhook bodies in arrival order plus one truth row per line."""
    events: list[tuple[datetime, dict, dict]] = []
    for acc, plan in plans:
        row, loc = acc.row, acc.location
        strangers: list[tuple[str, str]] = []
        seen_people: set[str] = set()
        for t, pricing in plan:
            r = rnd.random()
            contact = None
            if r < 0.70:
                contact = rnd.choice(acc.contacts)
                first, last = contact["firstName"], contact["lastName"]
                title = next(f["value"] for f in contact["customFields"] if f["id"] == "cf_title")
                email = f"{contact['email'].split('@')[0]}@{row['domain']}"
                kind = "person"
            elif r < 0.85:
                if not strangers or rnd.random() < 0.5:
                    strangers.append((rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)))
                first, last = rnd.choice(strangers)
                title = rnd.choice(["Account Executive", "Marketing Manager", "Product Manager", "Data Analyst", "Office Manager"])
                email = f"{slug(first)}.{slug(last)}@{row['domain']}"
                kind = "unknown_person"
            else:
                first = last = title = email = None
                kind = "company"
            if first is not None:
                handle = f"{slug(first)}-{slug(last)}-{abs(hash_str(row['domain'] + first + last)) % 0xFFFF:04x}"
                linkedin = f"https://www.linkedin.com/in/{handle}/"
            else:
                linkedin = f"https://www.linkedin.com/company/{row['domain'].split('.')[0]}/"
            if pricing:
                path = "/pricing"
            else:
                path = rnd.choice(PAGES + ["/blog/" + rnd.choice(BLOG), "/case-studies/" + rnd.choice(CASES)])
            who = email or row["domain"]
            tags = []
            if path in ("/pricing", "/demo"):
                tags.append("Hot Pages")
            if who in seen_people:
                tags.append("Repeat Visitor")
            if row["icp_fit"] > 0.6 and path in ("/pricing", "/demo"):
                tags.append("Hot Leads")
            seen_people.add(who)
            body = {
                "LinkedIn URL": linkedin,
                "First Name": first,
                "Last Name": last,
                "Title": title,
                "Company Name": row["company_name"],
                "Business Email": email,
                "Website": f"https://{row['domain']}",
                "Industry": LINKEDIN_INDUSTRY[row["industry"]] if rnd.random() < 0.95 else None,
                "Employee Count": _employee_count(rnd, int(row["employee_count"])),
                "Estimate Revenue": _revenue(rnd, int(row["employee_count"])),
                "City": loc["city"],
                "State": loc["state"],
                "Zipcode": loc["postal_code"],
                "Seen At": _seen_at(rnd, t),
                "Referrer": rnd.choice(REFERRERS),
                "Captured URL": SELLER["website"] + path,
                "Tags": ", ".join(tags) if tags else rnd.choice([None, ""]),
            }
            truth = {"domain": row["domain"], "contactId": contact["id"] if contact else None, "kind": kind,
                     "seenAt": iso_ms(t), "pricing": pricing, "malformed": None, "duplicate_of": None, "enveloped": False}
            events.append((t, body, truth))
    events.sort(key=lambda e: (e[0], e[1]["LinkedIn URL"], e[1]["Captured URL"]))

    n = len(events)
    bad = set(rnd.sample(range(n), min(n, max(1, round(0.01 * n))))) if n else set()
    lines: list[dict] = []
    truths: list[dict] = []
    for i, (t, body, truth) in enumerate(events):
        if i in bad:
            kind = MALFORMATIONS[len([b for b in bad if b < i]) % len(MALFORMATIONS)]
            _malform(body, kind)
            truth["malformed"] = kind
        if rnd.random() < 0.20:
            out = {"event_id": uuid_like(rnd), "timestamp": iso_ms(t + timedelta(seconds=rnd.randint(1, 90))), "payload": body}
            truth["enveloped"] = True
        else:
            out = body
        truth["line"] = len(lines)
        lines.append(out)
        truths.append(truth)
        if rnd.random() < 0.02:  # relay retried the same delivery
            dup = dict(truth, line=len(lines), duplicate_of=truth["line"])
            lines.append(out)
            truths.append(dup)
    return lines, [{"line": tr.pop("line"), **tr} for tr in truths]


def _malform(body: dict, kind: str) -> None:
    if kind == "missing_seen_at":
        del body["Seen At"]
    elif kind == "missing_captured_url":
        del body["Captured URL"]
    elif kind == "null_linkedin_url":
        body["LinkedIn URL"] = None
    elif kind == "tags_array":
        body["Tags"] = [t.strip() for t in (body["Tags"] or "Hot Pages").split(",")]
    elif kind == "employee_count_text":
        body["Employee Count"] = "lots"
    elif kind == "seen_at_number":
        seen = body["Seen At"][:19]
        body["Seen At"] = int(datetime.fromisoformat(seen).replace(tzinfo=timezone.utc).timestamp())
    elif kind == "first_name_number":
        body["First Name"] = 42


def hash_str(text: str) -> int:
    """A stable string hash (Python's ``hash`` is salted per process)."""
    h = 1469598103934665603
    for ch in text.encode():
        h = ((h ^ ch) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h
