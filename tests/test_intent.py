"""Intent detector: quality on the labelled dev set (computed, not hard-coded), hard negatives,
batch/single agreement, and the ``revops intent classify`` line protocol -- for the rules (the
functions' default; the CLI tests set REVOPS_INTENT_METHOD=rules, the product's setting) -- and the hybrid head:
it loads, matches its training data, is deterministic, keeps the output contract and the model
import off ``import revops_assets.scoring.intent``."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from revops_assets.scoring import intent as I
from revops_assets.scoring import intent_model as M
from revops_assets.scoring.commands import intent as intent_cli

ROOT = Path(__file__).resolve().parent.parent
DEVSET = ROOT / "tests" / "data" / "intent_devset.jsonl"
ROWS = [json.loads(line) for line in DEVSET.read_text(encoding="utf-8").splitlines() if line.strip()]
# The first fresh holdout (tuned on in round 2) and the v2 holdout (frozen before round 2, tuned on in
# round 3) are development sets now; v3, written before round 3 and never tuned on, is the frozen one.
# Only their shapes are tested here (a quality floor on a holdout would invite tuning on it); their
# figures are reported by benchmarks/bench_intent.py.
FRESH = ROOT / "tests" / "data" / "intent_holdout_fresh.jsonl"
V2 = ROOT / "tests" / "data" / "intent_holdout_v2.jsonl"
V3 = ROOT / "tests" / "data" / "intent_holdout_v3.jsonl"
V4 = ROOT / "tests" / "data" / "intent_holdout_v4.jsonl"  # frozen before the hybrid; a development/training set since
V5 = ROOT / "tests" / "data" / "intent_holdout_v5.jsonl"  # frozen before the ngram method; a development set since round 4
V6 = ROOT / "tests" / "data" / "intent_holdout_v6.jsonl"  # frozen before round 4; a development set since round 5
V7 = ROOT / "tests" / "data" / "intent_holdout_v7.jsonl"  # frozen before round 5; a development set since round 6
V8 = ROOT / "tests" / "data" / "intent_holdout_v8.jsonl"  # frozen before round 6; a development set since round 7
V9 = ROOT / "tests" / "data" / "intent_holdout_v9.jsonl"  # frozen before round 7: shape only (counts), never quality


def _load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_devset_shape() -> None:
    assert len(ROWS) >= 300
    sources = Counter(r["source"] for r in ROWS)
    assert sources["real"] >= 150 and set(sources) <= {"real", "synthetic"}
    assert sum(1 for r in ROWS if not r["labels"]) >= 80
    assert all(set(r["labels"]) <= set(I.TYPES) for r in ROWS)
    assert len({r["text"] for r in ROWS}) == len(ROWS), "duplicate texts would leak across the split"
    splits = Counter(I.devset_split(r["text"]) for r in ROWS)
    assert 0.2 < splits["holdout"] / len(ROWS) < 0.4


def test_fresh_holdout_shape_and_no_leak() -> None:
    fresh = _load(FRESH)
    assert len(fresh) >= 120 and sum(1 for r in fresh if not r["labels"]) >= 60
    assert all(set(r["labels"]) <= set(I.TYPES) for r in fresh)
    assert all(sum(kind in r["labels"] for r in fresh) >= 15 for kind in I.TYPES)
    texts = {r["text"].lower() for r in fresh}
    assert len(texts) == len(fresh) and not texts & {r["text"].lower() for r in ROWS}


def test_v2_holdout_shape_and_no_leak() -> None:
    v2 = _load(V2)
    assert len(v2) >= 150 and sum(1 for r in v2 if not r["labels"]) >= 100
    assert all(set(r["labels"]) <= set(I.TYPES) and r["source"] == "v2" for r in v2)
    assert all(sum(kind in r["labels"] for r in v2) >= 20 for kind in I.TYPES)
    texts = {r["text"].lower() for r in v2}
    seen = {r["text"].lower() for r in ROWS + _load(FRESH)}
    assert len(texts) == len(v2) and not texts & seen


def test_v3_holdout_shape_and_no_leak() -> None:
    v3 = _load(V3)
    assert len(v3) >= 250 and sum(1 for r in v3 if not r["labels"]) >= 130
    assert all(set(r["labels"]) <= set(I.TYPES) and r["source"] == "v3" for r in v3)
    assert all(sum(kind in r["labels"] for r in v3) >= 30 for kind in I.TYPES)
    assert sum(len(r["labels"]) > 1 for r in v3) >= 4
    texts = {r["text"].lower() for r in v3}
    seen = {r["text"].lower() for r in ROWS + _load(FRESH) + _load(V2)}
    assert len(texts) == len(v3) and not texts & seen


def test_v5_holdout_shape_and_no_leak() -> None:
    v5 = _load(V5)
    assert len(v5) >= 300 and sum(1 for r in v5 if not r["labels"]) >= 150
    assert all(set(r["labels"]) <= set(I.TYPES) and r["source"] == "v5" for r in v5)
    assert all(sum(kind in r["labels"] for r in v5) >= 35 for kind in I.TYPES)
    assert sum(len(r["labels"]) > 1 for r in v5) >= 6
    norm = lambda t: " ".join("".join(ch if ch.isalnum() else " " for ch in t.lower()).split())  # noqa: E731
    texts = {norm(r["text"]) for r in v5}
    seen = {norm(r["text"]) for r in ROWS + _load(FRESH) + _load(V2) + _load(V3) + _load(V4)}
    assert len(texts) == len(v5) and not texts & seen


def test_v6_holdout_shape_and_no_leak() -> None:
    v6 = _load(V6)
    assert len(v6) >= 300 and sum(1 for r in v6 if not r["labels"]) >= 150
    assert all(set(r["labels"]) <= set(I.TYPES) and r["source"] == "v6" for r in v6)
    assert all(sum(kind in r["labels"] for r in v6) >= 35 for kind in I.TYPES)
    assert sum(len(r["labels"]) > 1 for r in v6) >= 6
    norm = lambda t: " ".join("".join(ch if ch.isalnum() else " " for ch in t.lower()).split())  # noqa: E731
    texts = {norm(r["text"]) for r in v6}
    seen = {norm(r["text"]) for r in ROWS + _load(FRESH) + _load(V2) + _load(V3) + _load(V4) + _load(V5)}
    assert len(texts) == len(v6) and not texts & seen


def test_v7_holdout_shape_and_no_leak() -> None:
    """Counts only (v7 was the frozen holdout of round 5; a development set since round 6)."""
    v7 = _load(V7)
    assert len(v7) >= 300 and sum(1 for r in v7 if not r["labels"]) >= 150
    assert all(set(r["labels"]) <= set(I.TYPES) for r in v7)
    assert all(sum(kind in r["labels"] for r in v7) >= 35 for kind in I.TYPES)
    assert sum(len(r["labels"]) > 1 for r in v7) >= 6
    norm = lambda t: " ".join("".join(ch if ch.isalnum() else " " for ch in t.lower()).split())  # noqa: E731
    texts = {norm(r["text"]) for r in v7}
    seen = {norm(r["text"]) for r in ROWS + _load(FRESH) + _load(V2) + _load(V3) + _load(V4) + _load(V5) + _load(V6)}
    duplicates, leaked = len(v7) - len(texts), len(texts & seen)  # counts, so a failure prints no line of v7
    assert duplicates == 0 and leaked == 0


@pytest.mark.skipif(not V8.exists(), reason="v8 is being written by another author")
def test_v8_holdout_shape_and_no_leak() -> None:
    """Counts only (v8 was the frozen holdout of round 6; a development set since round 7)."""
    v8 = _load(V8)
    assert len(v8) >= 300 and sum(1 for r in v8 if not r["labels"]) >= 150
    assert all(set(r["labels"]) <= set(I.TYPES) for r in v8)
    assert all(sum(kind in r["labels"] for r in v8) >= 35 for kind in I.TYPES)
    assert sum(len(r["labels"]) > 1 for r in v8) >= 6
    norm = lambda t: " ".join("".join(ch if ch.isalnum() else " " for ch in t.lower()).split())  # noqa: E731
    texts = {norm(r["text"]) for r in v8}
    seen = {norm(r["text"]) for r in ROWS + _load(FRESH) + _load(V2) + _load(V3) + _load(V4) + _load(V5) + _load(V6) + _load(V7)}
    duplicates, leaked = len(v8) - len(texts), len(texts & seen)  # counts, so a failure prints no line of v8
    assert duplicates == 0 and leaked == 0


@pytest.mark.skipif(not V9.exists(), reason="v9 is being written by another author")
def test_v9_holdout_shape_and_no_leak() -> None:
    """Counts only: v9 is the frozen holdout, read by benchmarks/bench_intent.py once (per-type totals)."""
    v9 = _load(V9)
    assert len(v9) >= 300 and sum(1 for r in v9 if not r["labels"]) >= 150
    assert all(set(r["labels"]) <= set(I.TYPES) for r in v9)
    assert all(sum(kind in r["labels"] for r in v9) >= 35 for kind in I.TYPES)
    assert sum(len(r["labels"]) > 1 for r in v9) >= 6
    norm = lambda t: " ".join("".join(ch if ch.isalnum() else " " for ch in t.lower()).split())  # noqa: E731
    texts = {norm(r["text"]) for r in v9}
    seen = {norm(r["text"]) for r in ROWS + _load(FRESH) + _load(V2) + _load(V3) + _load(V4) + _load(V5) + _load(V6) + _load(V7) + _load(V8)}
    duplicates, leaked = len(v9) - len(texts), len(texts & seen)  # counts, so a failure prints no line of v9
    assert duplicates == 0 and leaked == 0


def test_v4_holdout_shape_and_no_leak() -> None:
    v4 = _load(V4)
    assert len(v4) >= 250 and sum(1 for r in v4 if not r["labels"]) >= 130
    assert all(set(r["labels"]) <= set(I.TYPES) and r["source"] == "v4" for r in v4)
    assert all(sum(kind in r["labels"] for r in v4) >= 30 for kind in I.TYPES)
    assert sum(len(r["labels"]) > 1 for r in v4) >= 4
    texts = {r["text"].lower() for r in v4}
    seen = {r["text"].lower() for r in ROWS + _load(FRESH) + _load(V2) + _load(V3)}
    assert len(texts) == len(v4) and not texts & seen


@pytest.mark.parametrize("subset", ["real", "dev", "holdout"])
def test_precision_and_recall_per_type(subset: str) -> None:
    if subset == "real":
        rows = [r for r in ROWS if r["source"] == "real"]
    else:
        rows = [r for r in ROWS if I.devset_split(r["text"]) == subset]
    report = I.evaluate(rows)
    for kind, m in report.items():
        assert m["support"] >= 10, f"{subset}/{kind}: too few positives to measure"
        assert m["precision"] >= 0.9, f"{subset}/{kind}: precision {m['precision']:.3f} {m}"
        assert m["recall"] >= 0.75, f"{subset}/{kind}: recall {m['recall']:.3f} {m}"


@pytest.mark.parametrize(
    "text",
    [
        "Salesforce to acquire Slack for $27.7 billion",
        "Figma acquired by Adobe in $20 billion deal",
        "Adobe and Figma abandon merger",
        "Klarna cuts 200 jobs",
        "Twitter lays off half its workforce",
        "Intel reduces workforce by 15%",
        "Meta pauses hiring",
        "Amazon announces a hiring freeze for corporate roles",
        "Apple reports Q3 revenue of $81.8 billion",
        "Quarterly results beat estimates as cloud grows",
        "Oracle beats estimates and raises guidance",
        "Gartner names Acme a Leader in the Magic Quadrant",
        "FTC launches investigation into data broker",
        "Startup shuts down after failing to raise funding",
        "US employers added 254,000 jobs in September",
        "Acme, which raised $50 million in 2019, lays off 200 staff",
        # an auditor's false positives on fresh text: an investor's own fund, a valuation in a deal,
        # non-product objects of "unveils"/"releases", and fewer hires
        "Fund manager raises $1 billion for new venture fund",
        "Startup valued at $2 billion after acquisition by Oracle",
        "Tesla unveils robotaxi timeline as Musk promises launch next year",
        "CrowdStrike releases root cause analysis of the July 19 outage",
        "Walmart is hiring fewer workers this season",
        "Instacart prices IPO at top of range, raising $660 million",
        "Nvidia names Ellen Ochoa to its board of directors",
        # round 2, from the first fresh set: a market debut, a price rise, legal action, data, hiring
        # statistics and "hiring managers"; and a regulator's launch
        "Reddit shares soar 48% in NYSE debut",
        "Spotify rolls out price increase for premium subscribers in the US",
        "X launches legal action against advertisers over boycott",
        "Volkswagen releases emissions data for its 2024 fleet",
        "Hiring managers say job candidates are using AI in interviews",
        "Big Tech hiring of new graduates has fallen 50% since 2019, report finds",
        "SEC launches probe into crypto exchange",
    ],
)
def test_hard_negatives_fire_nothing(text: str) -> None:
    assert I.classify(text, "2024-06-01") == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [  # round 2 recall fixes, from the first fresh set and the dev set
        ("Perplexity in talks to raise new funding at an $18 billion valuation", "funding"),
        ("Exclusive: Anysphere, maker of Cursor, raising at near $10 billion valuation, sources say", "funding"),
        ("Payroll startup Deel said on Tuesday it had raised $300 million in new funding", "funding"),
        ("xAI is recruiting hundreds of AI tutors to help train Grok", "hiring"),
        ("Former PepsiCo CFO Hugh Johnston named Disney finance chief", "leadership_change"),
        ("Adobe's Firefly Video Model enters public beta", "product_launch"),
        ("Apple announces Apple Intelligence at WWDC", "product_launch"),
        ("Samsung debuts Galaxy S24 with Galaxy AI", "product_launch"),
    ],
)
def test_round_two_positives(text: str, kind: str) -> None:
    assert [s.type for s in I.classify(text, "2024-06-01")] == [kind]


@pytest.mark.parametrize(
    "text",
    [  # round 3, from v2 (then a development set): things introduced or shipped that are not products
        "Acme rolls out return-to-office policy for all employees",
        "Bank introduces stricter dress code for branch staff",
        "Insurer introduces four-day working week for its call centres",
        "Retailer unveils new logo and visual identity after 40 years",
        "Nonprofit AI lab introduces new governance structure",
        "Rental giant launches fire sale of its used car fleet",
        "Apple ships record 80 million iPhones in the holiday quarter",
        "Samsung ships more than 60 million phones in the first quarter",
        "Nvidia debuts at No. 1 on list of most valuable brands",
        # money raised in an IPO, a title that is an award, a hiring slowdown, an investor's plan
        "Chipmaker raises $1.2 billion in IPO, below expectations",
        "Time names Jensen Huang its CEO of the Year",
        "Google is hiring more slowly as it leans on AI, CEO says",
        "Microsoft backs plan with $3 billion investment in India cloud",
    ],
)
def test_round_three_negatives_fire_nothing(text: str) -> None:
    assert I.classify(text, "2025-06-01") == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [  # round 3 recall, from v2: shapes the rules did not accept
        ("Index Ventures leads $25 million round in payments startup Orbit", "funding"),
        ("Khosla backs robotics startup with $40 million investment", "funding"),
        ("Robotics startup triples valuation with $120 million raise", "funding"),
        ("UPS seeks to fill 30,000 seasonal positions before the holidays", "hiring"),
        ("PwC will take on 2,000 school leavers and graduates this year", "hiring"),
        ("Airbus to hire 13,000 this year as deliveries recover", "hiring"),
        ("Battery maker opens Georgia plant that will employ 700", "hiring"),
        ("Anthropic opens Tokyo office and begins recruiting engineers", "hiring"),
        ("TSMC posts hundreds of new job listings in Arizona", "hiring"),
        ("Ford's chief financial officer John Lawler to leave the automaker", "leadership_change"),
        ("The new Pixel Watch hits shelves in Europe", "product_launch"),
        ("Nothing's first headphones go on sale in the US", "product_launch"),
        ("Now available: Acme Studio 3 with real-time collaboration", "product_launch"),
        ("Zendesk announces Resolve, its autonomous AI service agent", "product_launch"),
        ("Google brings Gemini Live to older Android phones", "product_launch"),
        # product nouns still win over the new non-product objects
        ("Okta launches policy management platform for AI agents", "product_launch"),
        ("Square introduces point of sale terminal for restaurants", "product_launch"),
        ("Google releases 2 billion parameter Gemma model", "product_launch"),
    ],
)
def test_round_three_positives(text: str, kind: str) -> None:
    assert [s.type for s in I.classify(text, "2025-06-01")] == [kind]


@pytest.mark.parametrize(
    "text",
    [  # round 4, from v3-v5 (development sets since): contracts, charity, sovereign bonds, "round of" cuts
        "Defence group lands $2 billion navy contract",
        "Engineering firm secures €900m order for substations",
        "Conglomerate nets $500 million from sale of its logistics unit",
        "School bake sale raises $5,000 for local food bank",
        "Treasury sells $20 billion of bonds at record yield",
        "Chipmaker announces fresh round of job cuts",
        "Growth investor raises $3 billion for new Asia and Europe fund",
        "Investors pour $2bn into the stock market as rates fall",
        # launches of rockets, lists, comebacks, plans, store designs; hedged or leaked launches
        "Space agency launches weather satellite from French Guiana",
        "Rangers launch late comeback to win the derby",
        "Magazine releases its annual list of top employers",
        "Consultancy releases 2026 hype cycle for cloud",
        "Coffee chain unveils new store design for drive-throughs",
        "Next iPhone could launch with a folding screen, leaks suggest",
        "Report reveals how the retailer tracks warehouse staff",
        "Supplier adds capacity ahead of launch season",
        # hiring cut or down; mass promotions; "under new CEO"; demands; how-to pieces
        "Outsourcers slash campus hiring amid slowdown",
        "Bank promotes 300 employees to managing director",
        "Automaker to cut 5,000 jobs under new CEO",
        "Activist fund calls for retailer's CEO to resign",
        "How to raise a Series A in a down market",
        "Firm to expand its office to 50,000 square feet",
    ],
)
def test_round_four_negatives_fire_nothing(text: str) -> None:
    assert I.classify(text, "2025-06-01") == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [  # round 4 recall, from v3-v5: wire/regional verbs and debt raises
        ("Manchester proptech startup scoops £6m to grow lettings platform", "funding"),
        ("Robotics firm hauls in $80m from sovereign wealth fund", "funding"),
        ("Hyderabad SaaS firm mops up $15 million in Series A", "funding"),
        ("Data centre operator closes $400 million credit line from lenders", "funding"),
        ("Carmaker sells $5 billion of bonds to fund EV plans", "funding"),
        ("Battery startup emerges from stealth with $40 million", "funding"),
        ("Solar firm adds $25m to its Series B", "funding"),
        ("Logistics startup closes $60M pre-IPO round", "funding"),
        # hiring: seeks/wants/targets, recruitment drives, staffing up, growing a team to N
        ("Courier firm seeks 8,000 temporary workers for peak season", "hiring"),
        ("Grocer wants 2,500 more warehouse staff", "hiring"),
        ("Airline launches recruitment drive for 1,000 cabin crew", "hiring"),
        ("Cloud company is staffing up its Berlin office", "hiring"),
        ("Chip designer to grow its Munich team to 400 people", "hiring"),
        # leadership: bosses, handovers, sackings, successors, "takes the helm"
        ("Retailer's boss quits after profit warning", "leadership_change"),
        ("Brewer sacks chief executive over conduct", "leadership_change"),
        ("Founder hands CEO role to longtime deputy", "leadership_change"),
        ("Automaker names operations head to succeed outgoing boss", "leadership_change"),
        ("Former Google executive takes the helm at travel startup", "leadership_change"),
        # launches: reveal verbs, availability, arrival, adds-to-app
        ("Carmaker reveals its first electric pickup", "product_launch"),
        ("Phone maker shows off tri-fold handset at trade fair", "product_launch"),
        ("Software group makes its AI agent generally available", "product_launch"),
        ("New compact SUV arrives in European showrooms", "product_launch"),
        ("Messaging app adds AI summaries to its desktop app", "product_launch"),
    ],
)
def test_round_four_positives(text: str, kind: str) -> None:
    assert [s.type for s in I.classify(text, "2025-06-01")] == [kind]


@pytest.mark.parametrize(
    ("text", "kind"),
    [  # round 5 recall (from v6, a development set since round 5), new wording: currency classes
        ("Perth mining software firm snags A$18m from local funds", "funding"),
        ("Toronto robotics startup lands C$12 million seed round", "funding"),
        ("Sao Paulo logistics app raises R$90 million", "funding"),
        ("Johannesburg payments firm collects R350m from investors", "funding"),
        ("Busan battery maker attracts 30 billion won investment", "funding"),
        ("Osaka robotics startup secures 2 billion yen in Series B", "funding"),
        # funding verbs and nouns: gathers/amasses/scores, loans from a lender, placements, fundraises
        ("Dutch energy startup gathers €9m to build storage sites", "funding"),
        ("Warehouse robot maker amasses $70m ahead of expansion", "funding"),
        ("Student housing operator borrows £60m from two lenders", "funding"),
        ("Biotech Announces $45 Million Private Placement", "funding"),
        ("Drone maker completes $300m fundraise led by sovereign fund", "funding"),
        ("Fintech gets fresh $20m capital injection", "funding"),
        ("Vertical farm lands new capital from family offices", "funding"),
        # hiring: a present-tense headcount, pledged jobs, staffing a site with N
        ("Chipmaker recruiting 1,200 across its Arizona fabs", "hiring"),
        ("Carmaker pledges 4,000 new assembly jobs in Ohio", "hiring"),
        ("Retailer to staff its new fulfilment centre with 1,500 workers", "hiring"),
        ("Bank beefs up Glasgow hub with 300 extra staff", "hiring"),
        # leadership: British director titles, qualified function chiefs, lures, swaps, bare "chief" departures
        ("Tesco appoints new commercial director", "leadership_change"),
        ("Bank's retail banking chief departs for rival", "leadership_change"),
        ("Apple woos Google veteran as chief privacy officer", "leadership_change"),
        ("Retailer swaps its finance chief amid audit", "leadership_change"),
        ("Telstra chief Vicki Brady to step down, deputy to take over", "leadership_change"),
        ("Chipmaker ousts Maria Lopez after failed turnaround", "leadership_change"),
        # launches: brings out, a product brought or taken somewhere, a service started, adds to menus
        ("Bike maker brings out its first cargo e-bike", "product_launch"),
        ("Design software firm brings its AI drafting assistant to Revit", "product_launch"),
        ("Telco begins satellite messaging service in Chile", "product_launch"),
        ("Burger chain adds plant-based nuggets to UK menus", "product_launch"),
    ],
)
def test_round_five_positives(text: str, kind: str) -> None:
    assert [s.type for s in I.classify(text, "2025-06-01")] == [kind]


@pytest.mark.parametrize(
    "text",
    [  # round 5 precision guards for the shapes above
        "Police chief resigns after inquiry",  # a public body's chief
        "White House chief of staff steps down",
        "Former banker joins rival board as non-executive director",
        "Painting scores $5m at auction",  # money at auction / box office / market value
        "Chipmaker grabs $150bn in market value",
        "Film brings in $90m at the box office",
        "Britain borrowed £17bn in October",  # a state's borrowing has no lender
        "Miner launches fresh approach for rival",  # a takeover approach
        "Retailer starts testing new checkout app",
        "Fintech takes its app to court over fees",
        "Club sacks Jose Silva after derby defeat",
        "Government dismisses Ivan Petrov as army commander",
        "Carmaker announces 3,000 job cuts",
        "Expansion puts 500 jobs at risk",
        "Hospital expands wing with 200 beds",
        "Charity fundraiser raises $2m for flood victims",
    ],
)
def test_round_five_negatives_fire_nothing(text: str) -> None:
    assert I.classify(text, "2025-06-01") == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [  # round 6 recall (from v7, a development set since round 6), new wording: plainer funding verbs
        ("Fintech Lumora gets $22 million to expand across Latin America", "funding"),
        ("Grid operator draws down €300m revolving credit facility", "funding"),
        ("Utility agrees NOK 4bn sustainability-linked loan with lenders", "funding"),
        ("Jakarta City fintech Xendra secures $15m Series A", "funding"),  # a place word describing the company
        ("Dairy-tech Halterra raises NZ$40m for grazing sensors", "funding"),  # "halt" is a negation, "Halterra" is not
        # hiring: hunts, intakes, more occupations, gearing up with N roles
        ("Warehouse group on the hunt for 1,200 pickers and packers", "hiring"),
        ("Airline to take in 450 cadet pilots this year", "hiring"),
        ("Insurer adds 250 posts at Leeds office", "hiring"),
        ("Courier firm seeks 5,000 seasonal casuals", "hiring"),
        ("Parcel firm gears up with 3,500 holiday roles", "hiring"),
        # leadership: acting chief made permanent, back in charge, moves on / walks out, named successor, regional head
        ("Vodafone makes acting chief Margherita Della Valle permanent CEO", "leadership_change"),
        ("Retail founder back in charge as chief executive", "leadership_change"),
        ("Unilever CFO moves on after seven years", "leadership_change"),
        ("Airline boss walks out after board row", "leadership_change"),
        ("Brewer's chairman to retire; deputy named successor", "leadership_change"),
        ("Miner confirms CEO's departure; finance chief steps in", "leadership_change"),
        ("Bank names new Asia head", "leadership_change"),
        ("Insurer to promote its deputy to chief executive", "leadership_change"),
        # launches: brings out at a price, premieres (transitive), arrives at a price, subscription plans, hyphenated objects
        ("Brewer brings out £3 alcohol-free lager", "product_launch"),
        ("Hyundai premieres Ioniq 7 concept in Seoul", "product_launch"),
        ("New handset arrives at $199", "product_launch"),
        ("Streamer launches cheaper ad-supported plan in Europe", "product_launch"),
        ("Company launches salary-advance app", "product_launch"),
    ],
)
def test_round_six_positives(text: str, kind: str) -> None:
    assert [s.type for s in I.classify(text, "2025-06-01")] == [kind]


@pytest.mark.parametrize(
    "text",
    [  # round 6 precision (from v7's false positives), new wording
        "Harbour Relief Fund raises $3m for storm relief",  # relief efforts, appeals, telethons, giving days
        "Telethon raises $12m for children's cancer research",
        "Temple appeal raises Rs 40 lakh for cyclone relief",
        "Ohio sells $1bn of highway bonds",  # public debt
        "Peru raises $3bn in global bond sale",
        "Lender prices debut bond issue",
        "Debt office launches new 10-year gilt syndication",
        "Schneider agrees £2bn buyout of minority holders",  # the price of a purchase, a bill
        "Retailer gets £40m tax bill",
        "Fintech launches with $50 million to rebuild payroll",  # a company's debut with money
        "Carmaker launches joint venture with battery maker in Hungary",  # corporate actions
        "Conglomerate launches spin-off process for its chemicals arm",
        "Telco teams up with Meta to bring cheaper headsets to India",  # a partnership's purpose
        "Film premieres at Cannes",
        "Board hires search firm to find a new chief executive",  # a search, a hedge, an analysis
        "Shareholders weigh boardroom shake-up",
        "Why the new CFO should worry investors",
        "Sony names new head coach for esports team",
        "Bakery chain pares back workforce after hiring binge",  # layoffs
        "Tesco trims 300 roles in head office",
    ],
)
def test_round_six_negatives_fire_nothing(text: str) -> None:
    assert I.classify(text, "2025-06-01") == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [  # round 7 recall (from v8, a development set since round 7), new wording: currencies, verbs, debt objects
        ("Accra lender Zeepay lands GHS 90m from local banks", "funding"),
        ("Bogota proptech Habi gets COP 200bn credit line from Davivienda", "funding"),
        ("Lagos logistics startup reaps $12m", "funding"),
        ("Climate startup closes $25m pre-Series B", "funding"),
        ("Solar lender taps $60m convertible notes from existing backers", "funding"),
        ("Auto lender closes $500m warehouse facility with Citi", "funding"),
        # hiring: bare headcounts with "for"/"at", take on, recruitment of N, more occupations
        ("Ryanair to recruit 900 for new Dublin base", "hiring"),
        ("Retailer to take on 2,500 at Christmas", "hiring"),
        ("Airport operator begins recruitment of 800 baggage handlers", "hiring"),
        ("Health board to hire 200 paramedics across the region", "hiring"),
        # leadership: a title handed on, a chief "sent home"
        ("Founder hands chair title to longtime deputy", "leadership_change"),
        ("Utility managing director sent packing after outage", "leadership_change"),
        # launches: wraps off without an article, goes live in a market
        ("Tata takes wraps off Harrier EV", "product_launch"),
        ("Revolut goes live in Mexico with debit card", "product_launch"),
    ],
)
def test_round_seven_positives(text: str, kind: str) -> None:
    assert [s.type for s in I.classify(text, "2025-06-01")] == [kind]


@pytest.mark.parametrize(
    "text",
    [  # round 7 precision (from v8's false positives), new wording
        "Ryanair launches new Shannon to Lanzarote route",  # routes and timetables
        "Bus operator's summer schedule launches on Monday",  # a non-product subject, intransitive
        "Ex-Tesco chief launches autobiography",  # a person's book
        "India launches new rooftop solar scheme",  # a public programme
        "Meta's new chatbot feature spotted in internal testing",  # a sighting, not a release
        "Wipro puts lateral hiring on hold",  # a hiring freeze
        "Indian fintechs raised $1.2bn last quarter, data shows",  # a market's total
    ],
)
def test_round_seven_negatives_fire_nothing(text: str) -> None:
    assert I.classify(text, "2025-06-01") == []


def test_brings_name_is_case_sensitive_and_needs_devices_or_users() -> None:
    assert [s.type for s in I.classify("Acme brings Orbit to more countries")] == ["product_launch"]
    assert I.classify("Acme Brings Orbit To More Countries") == []  # Title Case: a capital says nothing
    assert I.classify("Acme brings Jane Smith to its board") == []
    assert I.classify("Acme brings back Jane Smith to the team") == []


def test_announced_name_is_case_sensitive() -> None:
    assert [s.type for s in I.classify("Acme announces Orbit for sales teams")] == ["product_launch"]
    assert I.classify("Acme Announces Orbit For Sales Teams") == []  # Title Case: a capital says nothing
    assert I.classify("Acme announces orbit for sales teams") == []
    assert I.classify("Acme announces Series B") == [] and I.classify("Acme announces Q3 results") == []


def test_departure_without_successor_is_a_leadership_change() -> None:
    (sig,) = I.classify("Intel CEO Pat Gelsinger to retire, effective immediately")
    assert sig.type == "leadership_change" and sig.confidence >= I.THRESHOLD and "CEO" in sig.matched


def test_executive_hire_is_leadership_not_hiring() -> None:
    assert [s.type for s in I.classify("Meta hires Scale AI CEO Alexandr Wang to lead superintelligence unit")] == [
        "leadership_change"
    ]


def test_published_year_marks_a_retrospective_mention() -> None:
    text = "Acme raised $20 million in 2019 to build its platform"
    assert I.classify(text, "2019-05-01")[0].type == "funding"
    assert I.classify(text, "2024-05-01") == []


def test_signal_carries_the_original_span() -> None:
    (sig,) = I.classify("Stripe Raises $6.5 Billion at $50 Billion Valuation")
    assert sig.matched == "Raises $6.5 Billion" and 0 < sig.confidence <= 1


def test_batch_agrees_with_single_and_gates_never_block() -> None:
    rows = ROWS + _load(FRESH) + _load(V2) + _load(V3) + _load(V4) + _load(V5) + _load(V6) + _load(V7) + _load(V8)  # gate/batch agreement (never v9)
    texts = [r["text"] for r in rows]
    pubs = [r["published"] for r in rows]
    batch = I.classify_many(texts, pubs)
    assert batch == [I.classify(t, p) for t, p in zip(texts, pubs)]
    ungated = [I._classify_lower(t, t.lower(), I._published_year(p), gated=False) for t, p in zip(texts, pubs)]
    assert batch == ungated
    assert I.classify_many([]) == [] and I.classify_many(["", "x"]) == [[], []]
    with pytest.raises(ValueError):
        I.classify_many(["a"], [None, None])


def test_cli_keeps_line_alignment_and_never_crashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVOPS_INTENT_METHOD", "rules")
    lines = [
        json.dumps({"text": "Stripe raises $6.5 billion at $50 billion valuation", "published": "2023-03-15"}),
        "{not json",
        "",
        json.dumps({"text": 42}),
        json.dumps([1, 2]),
        json.dumps({"text": "Meta pauses hiring", "published": None}),
        json.dumps({"text": "Apple unveils Vision Pro", "published": 2023}),
    ]
    result = CliRunner().invoke(intent_cli, ["classify"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert len(out) == len(lines)
    assert out[0] == {"signals": [{"type": "funding", "confidence": out[0]["signals"][0]["confidence"]}]}
    assert [("error" in o) for o in out] == [False, True, True, True, True, False, True]
    assert all(o["signals"] == [] for o in out[1:])


def test_cli_subprocess_through_revops_entry_point() -> None:
    exe = ROOT / ".venv" / "bin" / "revops"
    stdin = "\n".join(
        [json.dumps({"text": "Shopify is hiring 1,000 engineers"}), "garbage", json.dumps({"text": "Klarna cuts 10% of workforce"})]
    )
    env = {**os.environ, "REVOPS_INTENT_METHOD": "rules"}
    proc = subprocess.run([str(exe), "intent", "classify"], input=stdin + "\n", capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [[s["type"] for s in o["signals"]] for o in out] == [["hiring"], [], []]
    assert "error" in out[1] and "error" not in out[2]


# --- the hybrid head ------------------------------------------------------------------------------
def test_head_loads_and_records_its_training_data() -> None:
    head = M.load_head()
    assert head["kinds"] == list(I.TYPES) and head["model_spec"] == M.MODEL_SPEC
    assert head["training_files"] == list(M.TRAIN_FILES) and "intent_holdout_v5.jsonl" not in head["training_files"]
    assert set(head["rules_at"]) == {"intent_holdout_fresh.jsonl", "intent_holdout_v2.jsonl", "intent_holdout_v3.jsonl", "intent_holdout_v4.jsonl"}
    for kind in I.TYPES:
        t = head["types"][kind]
        assert len(t["coef"]) == 384 + len(I.TYPES) and 0 < t["threshold"] < 1
    # retrain (python -m revops_assets.scoring.intent_model train) when a training set changes
    assert head["training_sha256"] == M.training_hash(), "training sets changed since the head was trained"
    assert M.HEAD_PATH.stat().st_size < 30_000


def test_import_does_not_load_the_model() -> None:
    code = ("import sys, revops_assets.scoring.intent as i; i.classify('Acme raises $5 million', method='rules'); "
            "print(any(m.split('.')[0] in ('sentence_transformers', 'torch', 'sklearn') for m in sys.modules))")
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr


def test_method_switch() -> None:
    assert I.resolve_method() == "rules"  # the fixture's env
    assert I.resolve_method("hybrid") == "hybrid" and I.resolve_method(" NGram ") == "ngram"
    with pytest.raises(ValueError):
        I.resolve_method("gpt")
    assert {s.method for s in I.classify("Acme raises $5 million in seed funding")} == {"rules"}


HYBRID_CASES = [
    ("Acme raises $20 million Series A led by Index Ventures", ["funding"]),
    ("Acme cuts 10% of its workforce", []),
    ("Acme to acquire Widgetco for $300 million", []),
    ("Acme plans to hire 500 engineers this year", ["hiring"]),
    ("Acme names Jane Doe chief executive officer", ["leadership_change"]),
    ("Acme unveils its new AI agent for customer support teams", ["product_launch"]),
    ("Acme shares fall after quarterly revenue misses estimates", []),
]


def test_hybrid_is_deterministic_and_agrees_with_single() -> None:
    texts = [t for t, _ in HYBRID_CASES] + [r["text"] for r in ROWS[:40]]
    first = I.classify_many(texts, method="hybrid")
    assert first == I.classify_many(texts, method="hybrid")
    assert all(s.method == "hybrid" and 0 <= s.confidence <= 1 for sigs in first for s in sigs)
    for text, sigs in zip(texts[:8], first):
        single = I.classify(text, method="hybrid")
        assert [s.type for s in single] == [s.type for s in sigs]
        assert all(abs(a.confidence - b.confidence) <= 0.002 for a, b in zip(single, sigs))  # batch padding: float noise
    assert I.classify_many(["", "Acme raises $20 million Series A"], method="hybrid")[0] == []


@pytest.mark.parametrize("text,kinds", HYBRID_CASES)
def test_hybrid_specific_headlines(text: str, kinds: list[str]) -> None:
    assert sorted(s.type for s in I.classify(text, method="hybrid")) == kinds


def test_cli_contract_unchanged_under_hybrid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVOPS_INTENT_METHOD", "hybrid")
    lines = [json.dumps({"text": "Acme raises $20 million Series A led by Index Ventures", "published": "2024-05-01"}),
             json.dumps({"text": "Acme cuts 10% of its workforce"})]
    result = CliRunner().invoke(intent_cli, ["classify"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [set(o) for o in out] == [{"signals"}, {"signals"}]
    assert [s["type"] for s in out[0]["signals"]] == ["funding"] and set(out[0]["signals"][0]) == {"type", "confidence"}
    assert out[1]["signals"] == []


def test_the_product_runs_the_rules_unless_the_setting_says_hybrid() -> None:
    """The method is read from the environment once, into Settings; the functions default to the rules."""
    from revops_assets.settings import ConfigError, load_settings

    assert load_settings({}).intent_method == "rules"
    assert load_settings({"REVOPS_INTENT_METHOD": " Hybrid "}).intent_method == "hybrid"
    assert load_settings({"REVOPS_INTENT_METHOD": "ngram"}).intent_method == "ngram"
    with pytest.raises(ConfigError, match="REVOPS_INTENT_METHOD must be hybrid, ngram or rules"):
        load_settings({"REVOPS_INTENT_METHOD": "llm"})
    assert I.resolve_method() == "rules" and I.resolve_method("hybrid") == "hybrid"
    with pytest.raises(ValueError, match="unknown intent method"):
        I.resolve_method("llm")


# --- the n-gram head (no torch) ---------------------------------------------------------------------
from revops_assets.scoring import intent_ngram as N  # noqa: E402


def test_ngram_weights_load_and_record_their_training_data() -> None:
    w = N.load_weights()
    assert w["kinds"] == list(I.TYPES) and w["spec"] == N.SPEC
    assert w["training_files"] == list(N.TRAIN_FILES) and not {"intent_holdout_v6.jsonl", "intent_holdout_v7.jsonl", "intent_holdout_v8.jsonl"} & set(w["training_files"])
    assert w["rules_at"] == {k: v for k, v in M.RULES_AT.items() if k in N.TRAIN_FILES}
    assert len(w["idf"]) == len(w["vocab"]) == len(set(w["vocab"])) and w["vocab"] == sorted(w["vocab"])
    for kind in I.TYPES:
        t = w["types"][kind]
        assert len(t["coef"]) == len(w["vocab"]) + len(I.TYPES) and 0 < t["threshold"] < 1
    # retrain (python -m revops_assets.scoring.intent_ngram train) when a training set changes
    assert w["training_sha256"] == N.training_hash(), "training sets changed since the n-gram weights were trained"
    assert N.WEIGHTS_PATH.stat().st_size < 2_500_000


def test_training_hash_covers_every_training_set_and_the_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name in N.TRAIN_FILES:
        (data / name).write_bytes((ROOT / "tests" / "data" / name).read_bytes())
    assert N.training_hash(data) == N.training_hash()
    (data / "intent_holdout_v4.jsonl").write_bytes((data / "intent_holdout_v4.jsonl").read_bytes() + b"\n")
    assert N.training_hash(data) != N.training_hash()
    monkeypatch.setattr(N, "SPEC", N.SPEC + " changed")
    assert N.training_hash() != N.load_weights()["training_sha256"]
    assert M.training_hash(data) != M.training_hash()  # the hybrid's hash covers v4 too


def test_ngram_default_path_is_light() -> None:
    """The n-gram method imports neither torch, sentence-transformers, sklearn nor scipy, and loads fast."""
    code = ("import sys, time; t = time.perf_counter(); import revops_assets.scoring.intent as i; "
            "s = i.classify('Acme raises $5 million in seed funding', method='ngram'); dt = time.perf_counter() - t; "
            "print(any(m.split('.')[0] in ('sentence_transformers', 'torch', 'sklearn', 'scipy') for m in sys.modules), "
            "[x.method for x in s], round(dt, 3))")
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    heavy, methods, seconds = out.stdout.split(" ", 2)
    assert heavy == "False" and methods == "['ngram']", out.stdout
    assert float(seconds) < 1.5, f"import + weights load + one text took {seconds} s"


def test_ngram_is_deterministic_and_agrees_with_single() -> None:
    texts = [t for t, _ in HYBRID_CASES] + [r["text"] for r in ROWS[:60]]
    first = I.classify_many(texts, method="ngram")
    assert first == I.classify_many(texts, method="ngram")
    assert all(s.method == "ngram" and 0 <= s.confidence <= 1 for sigs in first for s in sigs)
    for text, sigs in zip(texts[:20], first):
        assert I.classify(text, method="ngram") == sigs
    assert I.classify_many(["", "Acme raises $20 million Series A"], method="ngram")[0] == []
    assert I.classify("", method="ngram") == []


def test_ngram_features_normalise_amounts() -> None:
    feats = N.analyze("Acme raises $20 million")
    assert {"w:acme", "w:raises", "w:zmoney", "b:raises zmoney", "c: acm"} <= set(feats) and not any("20" in f for f in feats)
    assert "w:zmoney" in N.analyze("Acme bags Rs 1,800 crore") and "w:zmoney" in N.analyze("Acme nets €50m")
    assert "w:znum" in N.analyze("Acme to hire 500 engineers")


@pytest.mark.parametrize("text,kinds", HYBRID_CASES)
def test_ngram_specific_headlines(text: str, kinds: list[str]) -> None:
    assert sorted(s.type for s in I.classify(text, method="ngram")) == kinds


def test_cli_line_contract_under_ngram() -> None:
    from revops_assets.scoring.commands import _classify_line

    out = _classify_line(json.dumps({"text": "Acme raises $20 million Series A led by Index Ventures", "published": "2024-05-01"}), "ngram")
    assert set(out) == {"signals"} and [s["type"] for s in out["signals"]] == ["funding"]
    assert set(out["signals"][0]) == {"type", "confidence"}
    assert _classify_line(json.dumps({"text": "Acme cuts 10% of its workforce"}), "ngram") == {"signals": []}


def test_ngram_falls_back_to_the_rules_without_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_a: object, **_k: object) -> None:
        raise OSError("no weights")

    monkeypatch.setattr(N, "load_weights", broken)
    rules_out = I.classify_many(["Acme raises $20 million Series A"], method="rules")
    assert I.classify_many(["Acme raises $20 million Series A"], method="ngram") == rules_out
