"""The web the Exa emulator searches: one company page per account plus news in real-world styles.

Each true intent event in ``accounts_frame`` becomes one article in varied headline/lede styles, and
distractors that share words with the signals ("hiring freeze", "to be acquired by", a CRO speaking at
a conference, a Series A in a retrospective) are mixed in, so a detector's precision can be measured
against ``truth/news_labels.jsonl``. Labels: funding, hiring, leadership_change, product_launch.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from revops_assets.sample.names import FIRST_NAMES, LAST_NAMES

SIGNAL_LABELS = ("funding", "hiring", "leadership_change", "product_launch")
DISTRACTOR_KINDS = (
    "acquisition", "layoffs", "hiring_freeze", "earnings", "partnership", "award", "conference",
    "retrospective", "former_exec",
)

NEWS_DOMAINS = [
    "techpulse.news", "venturedaily.com", "thecapitalbrief.com", "dealstreetnews.com", "industrydispatch.com",
    "saasweekly.io", "pressroom-wire.com", "regionalbizjournal.com", "founderledger.com", "marketsignal.net",
]
AUTHORS = ["Dana Whitfield", "Marcus Hale", "Priya Raman", "Tom Ellery", "Staff Reporter", "Lena Fischer", None]
INVESTORS = [
    "Northgate Ventures", "Blue Harbor Capital", "Atlas Peak Partners", "Foundry Lane", "Redwood Crest Ventures",
    "Longview Growth", "Meridian Capital Partners", "Kestrel Ventures", "Tidewater Equity", "Summit Arc Capital",
]
OTHER_COMPANIES = [
    "Globex", "Initech", "Umbrella Group", "Vandelay Industries", "Stark Analytics", "Wayne Logistics",
    "Hooli", "Pied Piper", "Soylent Corp", "Tyrell Systems", "Cyberdyne Health", "Wonka Retail",
]
CONFERENCES = ["SaaStr Annual", "Web Summit", "RevOps Summit", "Collision", "Money20/20", "HLTH", "Pavilion CRO Summit"]
AWARDS = ["Best Places to Work", "Fast 500", "Top 50 Startups to Watch", "Inc. 5000", "Customer Choice Award"]
ROLES = [
    ("Chief Revenue Officer", "CRO"), ("Chief Executive Officer", "CEO"), ("Chief Marketing Officer", "CMO"),
    ("VP of Sales", "VP Sales"), ("Chief Operating Officer", "COO"), ("Chief Technology Officer", "CTO"),
]
PRODUCT_WORDS = ["Pulse", "Atlas", "Beacon", "Flow", "Insight", "Nova", "Orbit", "Relay", "Spark", "Vector"]
PRODUCT_WHAT = [
    "an AI assistant for {ind} teams", "a self-serve analytics workspace", "a real-time forecasting module",
    "a mobile app for field teams", "an integrations marketplace", "a compliance automation suite",
]
ROUNDS = ["seed", "Series A", "Series B", "Series C", "Series D", "growth"]

# (title, lede) pairs per kind; the text adds one or two sentences of detail and a quote.
TEMPLATES: dict[str, list[tuple[str, str]]] = {
    "funding": [
        ("{co} raises {amount} {round} led by {investor}",
         "{co}, the {city}-based {ind} company, has raised {amount} in a {round} round led by {investor}."),
        ("{co} closes {amount_long} {round} round",
         "{co} said on {weekday} it had closed a {amount_long} {round} round with participation from {investor}."),
        ("{co} secures growth financing from {investor}",
         "{investor} has committed {amount} in growth financing to {co}, the company announced."),
        ("Exclusive: {co} lands {amount} to expand in {country}",
         "{co} has landed {amount} in fresh funding, according to people familiar with the deal."),
        ("{co} bags {amount} as investors bet on {ind}",
         "Investors led by {investor} have put {amount} into {co}, a {round} round that values the company at {valuation}."),
        ("{co} nets {amount_long} in {round} funding",
         "{co} today announced {amount_long} in {round} funding to accelerate product development."),
    ],
    "hiring": [
        ("{co} is hiring {n} engineers as it scales its platform",
         "{co} plans to hire {n} engineers over the next two quarters, according to its careers page."),
        ("{co} opens new {city2} office and plans to double headcount",
         "{co} has opened an office in {city2} and expects to double its headcount by the end of next year."),
        ("{co} to add {n} jobs in {city}",
         "{co} will add {n} jobs in {city} as demand for its {ind} offering grows."),
        ("{co} ramps up recruiting for sales and customer success",
         "{co} is ramping up recruiting, with more than {n} open roles across sales and customer success."),
        ("{co} expands team with {n} new hires across {dept}",
         "{co} said it has made {n} new hires across {dept} this quarter and is still recruiting."),
        ("Now hiring: {co} posts {n} open roles",
         "Job listings show {co} posting {n} open roles, most of them in {dept}."),
    ],
    "leadership_change": [
        ("{co} appoints {person} as {role}",
         "{co} has appointed {person} as {role}, effective immediately."),
        ("{co} names new {abbr}",
         "{co} has named {person} its new {role}, succeeding {person2}, who is stepping down."),
        ("{person} joins {co} as {role}",
         "{person}, previously at {other}, has joined {co} as {role}."),
        ("{co} taps former {other} exec {person} as {abbr}",
         "{co} has tapped {person}, a former {other} executive, to serve as {role}."),
        ("{co} promotes {person} to {role}",
         "{co} today announced the promotion of {person} to {role}."),
        ("{co} hires {person} to lead go-to-market as {abbr}",
         "In a move to accelerate growth, {co} has hired {person} as {role}."),
    ],
    "product_launch": [
        ("{co} unveils {product}, {what}", "{co} has unveiled {product}, {what}."),
        ("{co} launches {product}", "{co} today launched {product}, {what}, now available to all customers."),
        ("{co} introduces {product} to help customers move faster", "{co} introduced {product}, {what}."),
        ("{co} rolls out {product} to all customers", "{co} is rolling out {product}, {what}, after a six-month beta."),
        ("{co} debuts {product} at its annual user conference", "At its annual user conference, {co} debuted {product}, {what}."),
        ("{co} announces general availability of {product}", "{product}, {what}, is now generally available, {co} said."),
    ],
    "acquisition": [
        ("{co} acquires {other}", "{co} has acquired {other} for an undisclosed sum."),
        ("{co} to be acquired by {other} for {amount}", "{other} has agreed to acquire {co} in a deal valued at {amount}."),
        ("{other} completes acquisition of {co}", "{other} said it had completed its previously announced acquisition of {co}."),
        ("{co} snaps up {other} to expand its portfolio", "{co} has snapped up {other}, its third acquisition this year."),
    ],
    "layoffs": [
        ("{co} cuts {pct}% of staff amid restructuring", "{co} is laying off about {pct}% of its workforce as part of a restructuring."),
        ("{co} lays off {n} employees", "{co} has laid off {n} employees, according to a memo seen by reporters."),
        ("{co} announces job cuts as growth slows", "{co} announced job cuts on {weekday}, citing slower growth."),
    ],
    "hiring_freeze": [
        ("{co} pauses hiring as it focuses on profitability", "{co} has paused hiring across most teams as it focuses on profitability."),
        ("{co} announces hiring freeze", "{co} has announced a hiring freeze through the end of the fiscal year."),
        ("{co} slows hiring, trims open roles", "{co} is slowing hiring and has removed dozens of open roles from its careers page."),
    ],
    "earnings": [
        ("{co} reports {quarter} results; revenue up {pct}%", "{co} reported {quarter} revenue up {pct}% year over year."),
        ("{co} beats estimates as quarterly revenue climbs", "{co} beat analyst estimates for the {quarter}, with revenue climbing {pct}%."),
        ("{co} misses on revenue, reaffirms full-year outlook", "{co} missed revenue expectations for the {quarter} but reaffirmed its outlook."),
    ],
    "partnership": [
        ("{co} partners with {other} to {verb}", "{co} and {other} announced a partnership to {verb}."),
        ("{co} and {other} announce strategic partnership", "{co} has entered a strategic partnership with {other}."),
        ("{co} joins {other} partner program", "{co} has joined the {other} partner program as a technology partner."),
    ],
    "award": [
        ("{co} named to {award} list", "{co} has been named to the {award} list for the second year running."),
        ("{co} wins {award}", "{co} won a {award} this week."),
        ("{co} recognised among {award}", "{co} was recognised among this year's {award}."),
    ],
    "conference": [
        ("{co}'s {role} {person} to speak at {conf}", "{person}, {role} at {co}, will speak at {conf} next month."),
        ("{co} CEO shares lessons on scaling at {conf}", "Speaking at {conf}, the chief executive of {co} shared lessons on scaling a {ind} business."),
        ("{conf}: {co} on building a revenue team", "At {conf}, {co} explained how it built its revenue team."),
    ],
    "retrospective": [
        ("How {co} raised its Series A in a down market", "Years after raising its Series A, {co}'s founders look back on what worked."),
        ("{co} founder reflects on a decade of {ind}", "{co}'s founder reflects on a decade of building in {ind}, from the first seed round to today."),
    ],
    "former_exec": [
        ("Former {co} executive named CEO of {other}", "{person}, who previously led sales at {co}, has been named CEO of {other}."),
        ("{other} hires ex-{co} leader {person}", "{other} has hired {person}, formerly of {co}, as {role}."),
    ],
}
DETAILS = {
    "funding": ["The company plans to use the funds to expand its go-to-market team and invest in product.",
                "Existing investors also participated in the round.",
                "The round brings total funding to {total}."],
    "hiring": ["Most of the new roles are in engineering and sales.", "The company currently employs about {emp} people.",
               "Open positions are listed on its careers page."],
    "leadership_change": ["{first} will report directly to the board.", "{first} brings more than 15 years of experience in {ind}.",
                          "The appointment follows a period of rapid growth."],
    "product_launch": ["Early customers report faster onboarding.", "Pricing starts with a free tier.",
                       "The release is the company's biggest in two years."],
}
QUOTES = [
    '"This is an exciting moment for our customers," a spokesperson said.',
    '"We are just getting started," the company said in a statement.',
    '"The market is moving quickly and we intend to lead it," the chief executive said.',
    "The company did not respond to a request for comment.",
]
BACKGROUND = [
    "{co} serves {ind} customers across {country} and beyond.",
    "Founded in {founded}, {co} employs about {emp} people.",
    "{co} is headquartered in {city}.",
    "The company sells mainly to mid-sized businesses.",
]
VERBS = ["streamline onboarding", "bring AI to customer support", "simplify payments", "expand in Europe"]
DEPTS = ["engineering and product", "sales and marketing", "customer success", "operations"]
QUARTERS = ["first quarter", "second quarter", "third quarter", "fourth quarter"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday"]


def _money(rnd: random.Random, round_name: str) -> tuple[str, str, int]:
    scale = {"seed": (1, 8), "Series A": (5, 25), "Series B": (15, 60), "Series C": (30, 120),
             "Series D": (60, 250), "growth": (20, 200)}[round_name]
    m = rnd.randint(*scale)
    cur = "€" if rnd.random() < 0.12 else "$"
    return f"{cur}{m}M", f"{cur}{m} million", m * 1_000_000


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def company_document(row: dict, location: dict) -> dict:
    """The account's own page, with an Exa company entity (EntityCompanyProperties)."""
    name, domain, ind = row["company_name"], row["domain"], row["industry"]
    article = "an" if location["city"][0] in "AEIOU" else "a"
    desc = f"{name} is {article} {location['city']}-based {ind} company with about {row['employee_count']} employees."
    revenue = int(row["employee_count"]) * 150_000
    slug = domain.split(".")[0]
    return {
        "id": f"https://{domain}/",
        "url": f"https://{domain}/",
        "title": f"{name} | {ind} for modern teams",
        "publishedDate": None,
        "author": None,
        "text": f"{desc} Founded in {row['founded_year']}, {name} serves customers across {location['country_name']} and beyond.",
        "domain": domain,
        "category": "company",
        "entities": [{
            "id": f"https://exa.ai/library/company/{slug}",
            "type": "company",
            "version": 1,
            "properties": {
                "name": name,
                "description": desc,
                "foundedYear": int(row["founded_year"]),
                "workforce": {"total": int(row["employee_count"])},
                "headquarters": {"address": None, "city": location["city"], "postalCode": location["postal_code"],
                                 "country": location["country_name"]},
                "financials": {"revenueAnnual": revenue, "fundingTotal": None, "fundingLatestRound": None},
            },
        }],
    }


def _article(rnd: random.Random, kind: str, row: dict, location: dict, published: datetime, doc_no: int) -> tuple[dict, list[str]]:
    round_name = rnd.choice(ROUNDS)
    amount, amount_long, _ = _money(rnd, round_name)
    role, abbr = rnd.choice(ROLES)
    person = f"{rnd.choice(FIRST_NAMES)} {rnd.choice(LAST_NAMES)}"
    ind = row["industry"]
    fields = {
        "co": row["company_name"], "amount": amount, "amount_long": amount_long, "round": round_name,
        "investor": rnd.choice(INVESTORS), "city": location["city"], "city2": rnd.choice(["Austin", "London", "Berlin", "Toronto", "Singapore", "Lisbon"]),
        "country": location["country_name"], "ind": ind, "n": rnd.choice([12, 15, 20, 25, 30, 40, 50, 75, 100]),
        "dept": rnd.choice(DEPTS), "person": person, "person2": f"{rnd.choice(FIRST_NAMES)} {rnd.choice(LAST_NAMES)}",
        "first": person.split()[0], "role": role, "abbr": abbr, "other": rnd.choice(OTHER_COMPANIES),
        "product": f"{row['company_name'].split()[0]} {rnd.choice(PRODUCT_WORDS)}",
        "what": rnd.choice(PRODUCT_WHAT).format(ind=ind), "conf": rnd.choice(CONFERENCES), "award": rnd.choice(AWARDS),
        "pct": rnd.choice([6, 8, 10, 12, 15, 18, 22, 30]), "quarter": rnd.choice(QUARTERS), "verb": rnd.choice(VERBS),
        "weekday": rnd.choice(WEEKDAYS), "valuation": f"${rnd.choice([80, 150, 300, 650])}M",
        "total": f"${rnd.randint(10, 300)}M", "emp": row["employee_count"], "founded": row["founded_year"],
    }
    title, lede = rnd.choice(TEMPLATES[kind])
    sentences = [lede]
    labels = [kind] if kind in SIGNAL_LABELS else []
    if kind in DETAILS:
        sentences.append(rnd.choice(DETAILS[kind]))
    if kind == "funding" and rnd.random() < 0.3:
        sentences.append(f"{{co}} plans to use the money to double its headcount, hiring {{n}} people in {{dept}}.")
        labels.append("hiring")
    if len(sentences) < 2 or rnd.random() < 0.3:
        sentences.append(rnd.choice(BACKGROUND))
    if rnd.random() < 0.6:
        sentences.append(rnd.choice(QUOTES))
    text = " ".join(s.format(**fields) for s in sentences)
    title = title.format(**fields)
    news_domain = rnd.choice(NEWS_DOMAINS)
    url_slug = "-".join("".join(ch for ch in w.lower() if ch.isalnum()) for w in title.split()[:9]).strip("-")
    url = f"https://{news_domain}/{published:%Y/%m}/{url_slug}-{doc_no}"
    doc = {
        "id": url,
        "url": url,
        "title": title,
        "publishedDate": _iso(published),
        "author": rnd.choice(AUTHORS),
        "text": text,
        "domain": row["domain"],
        "category": "news",
    }
    return doc, labels


EVENT_COLUMNS = {
    "funding": "funding_days_ago",
    "hiring": "hiring_days_ago",
    "leadership_change": "leadership_days_ago",
    "product_launch": "launch_days_ago",
}


def news_documents(rnd: random.Random, row: dict, location: dict, now: datetime, start_no: int) -> list[tuple[dict, list[str], str]]:
    """0-5 articles about one account: one per true event in ``row`` plus up to two distractors.

    Returns ``(document, labels, kind)``; ``kind`` is a signal label or a distractor kind.
    """
    items: list[tuple[str, float]] = []
    for label, col in EVENT_COLUMNS.items():
        days = row[col]
        if days == days:  # not NaN
            items.append((label, float(days)))
    n_distractors = rnd.choices([0, 1, 2], weights=[0.55, 0.3, 0.15])[0]
    for _ in range(min(n_distractors, 5 - len(items))):
        items.append((rnd.choice(DISTRACTOR_KINDS), float(rnd.randrange(0, 120))))
    out = []
    for i, (kind, days) in enumerate(items):
        published = now - timedelta(days=days) + timedelta(seconds=rnd.randrange(6 * 3600, 20 * 3600)) - timedelta(days=1)
        doc, labels = _article(rnd, kind, row, location, published, start_no + i)
        out.append((doc, labels, kind))
    return out
