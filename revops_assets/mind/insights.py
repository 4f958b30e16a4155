"""Call intelligence by rules that run offline: talk ratio, questions, objections, next steps and owners.

Deterministic on purpose (same transcript, same row), so the numbers can be tested and trusted;
an LLM note is an optional extra column, never a replacement. Action items carry what a CRM task
needs (owner, title, due, contact_email, account) for the write-back.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any, Callable, Iterable

import pandas as pd

from revops_assets.mind.chunking import SENTENCE_END
from revops_assets.mind.transcripts import CallTranscript, Turn

WORD = re.compile(r"[A-Za-z0-9][\w'’-]*")
COMPETITORS = ("tallyhawk", "pipelens", "gong", "clari", "salesloft", "outreach")

# Objection = buyer resistance, by category; each pattern must see resistance, not a neutral mention.
OBJECTIONS: dict[str, re.Pattern[str]] = {
    "price": re.compile(
        r"too expensive|\bexpensive\b|too high|over (?:our |the )?budget|more than (?:we|what) (?:budgeted|approved)"
        r"|higher than what|price increase|\buplift\b.*\b(?:high|hard|push)|can you do (?:any )?better"
        r"|\bcheaper\b|a third of the price|times the price|\bhard sell\b.*\bprice|finance will push back"
        r"|\b(?:price|pricing|cost)\b.{0,30}\b(?:worr\w*|concern\w*|steep)", re.I),
    "timing": re.compile(
        r"not (?:a )?priority|(?:not|isn't|isn’t) urgent|\bfrozen\b|couldn'?t sign|not right now|bad time"
        r"|until (?:next|the new|march|april|january|february|q[1-4])|before q[1-4]|mid-quarter|scares me"
        r"|won'?t have .{0,40} until|two years is tough|fiscal year ends", re.I),
    "competitor": re.compile(r"\b(?:" + "|".join(COMPETITORS) + r")\b|also looking at|evaluating (?:other|another)"
                             r"|other vendors?|offered us", re.I),
    "authority": re.compile(
        r"board approval|\bapproval\b|procurement|committee|can'?t (?:sign|commit)|sign(?:s)? (?:anything|off|the contract)"
        r"|final say|need (?:our|the|my) (?:cfo|ceo|coo|vp|board)|vp of finance|general counsel|legal (?:team )?will"
        r"|bring (?:him|her|them) in|check with", re.I),
}
COMMIT = re.compile(r"\b(?:I'll|I will|we'll|we will|let me)\s+(?!need\b|be\b|have\b|try\b)(?P<what>[^.?!]+)", re.I)
REQUEST = re.compile(r"\b(?:could|can|would) you\s+(?P<what>(?:please\s+)?(?:send|share|invite|confirm|introduce|set up"
                     r"|book|connect|ask|loop|get|schedule|make)[^.?!]*)\?", re.I)
PROPOSAL = re.compile(r"\blet'?s\s+(?P<what>(?:plan|book|schedule|set up|run)\b[^.?!]*)", re.I)
MIN_TITLE_WORDS = 4  # "Plan for that" is not a task
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")

COLUMNS = ["call_id", "source", "kind", "account", "call_date", "call_title", "duration_s", "turns", "speakers",
           "talk_ratio", "seller_talk_ratio", "questions_asked", "seller_questions", "questions", "objections",
           "objection_categories", "objections_count", "next_steps", "action_items", "contact_email", "owner",
           "title", "due", "coach_note"]


@dataclass
class ActionItem:
    owner: str  # owner's email when the transcript knows it, else the speaker's name
    owner_name: str
    side: str
    title: str
    due: str | None  # ISO date
    contact_email: str
    account: str
    quote: str


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def talk_ratio(turns: Iterable[Turn]) -> dict[str, float]:
    """Share of words spoken, per speaker (sums to 1)."""
    words: dict[str, int] = {}
    for t in turns:
        words[t.speaker] = words.get(t.speaker, 0) + len(WORD.findall(t.text))
    total = sum(words.values())
    return {s: round(n / total, 4) for s, n in words.items()} if total else {}


def questions(call: CallTranscript) -> list[dict[str, Any]]:
    return [{"speaker": t.speaker, "side": call.side_of(t.speaker), "text": s, "start": t.start}
            for t in call.turns for s in sentences(t.text) if s.endswith("?")]


def objections(call: CallTranscript) -> list[dict[str, Any]]:
    """Buyer sentences that push back, with the quote; all speakers when sides are unknown (audio)."""
    sided = any(p.side for p in call.participants)
    found = []
    for t in call.turns:
        if sided and call.side_of(t.speaker) != "buyer":
            continue
        seen: set[str] = set()  # one objection per category per turn: the first sentence that says it
        for s in sentences(t.text):
            for category, pattern in OBJECTIONS.items():
                if category not in seen and pattern.search(s):
                    seen.add(category)
                    found.append({"category": category, "speaker": t.speaker, "quote": s, "start": t.start})
    return found


def due_date(text: str, on: date | None) -> str | None:
    """The date a commitment names ("by Friday", "tomorrow", "December 15th", "the week of December 9th")."""
    if on is None:
        return None
    low = text.lower()
    m = re.search(r"\b(" + "|".join(MONTHS) + r")\s+(\d{1,2})(?:st|nd|rd|th)?\b", low)
    if m:
        d = date(on.year, MONTHS.index(m[1]) + 1, int(m[2]))
        return (d if d >= on else d.replace(year=on.year + 1)).isoformat()
    if re.search(r"\btoday\b", low):
        return on.isoformat()
    if re.search(r"\btomorrow\b", low):
        return (on + timedelta(days=1)).isoformat()
    m = re.search(r"\b(" + "|".join(WEEKDAYS) + r")\b", low)
    if m:
        ahead = (WEEKDAYS.index(m[1]) - on.weekday()) % 7 or 7  # the next one after the call ("next Tuesday" too)
        return (on + timedelta(days=ahead)).isoformat()
    if re.search(r"\bthis week\b", low):
        return (on + timedelta(days=max(0, 4 - on.weekday()))).isoformat()
    if re.search(r"\bnext week\b", low):
        return (on + timedelta(days=7 - on.weekday() + 4)).isoformat()
    return None


def _title(what: str) -> str:
    what = re.sub(r"\s+", " ", what.strip().rstrip(",;:"))
    return (what[0].upper() + what[1:])[:140] if what else ""


def action_items(call: CallTranscript) -> list[ActionItem]:
    """Commitments ("I'll send...") owned by the speaker; requests ("Could you...?") owned by who was asked,
    unless that person's reply commits to it in their own words (kept once, as theirs)."""
    on = _parse_date(call.date)
    contact = primary_contact(call)
    raw: list[tuple[int, str, str, str]] = []  # (turn index, owner speaker, what, quote)
    for i, t in enumerate(call.turns):
        for s in sentences(t.text):
            for pattern in (COMMIT, PROPOSAL):
                m = pattern.search(s)
                if m:
                    raw.append((i, t.speaker, m["what"], s))
                    break
            else:
                m = REQUEST.search(s)
                addressee = next((u.speaker for u in call.turns[i + 1:] if u.speaker != t.speaker), "")
                if m and addressee:
                    raw.append((i, addressee, m["what"], s))
    items: list[ActionItem] = []
    for i, speaker, what, quote in raw:
        if len(what.split()) < MIN_TITLE_WORDS:
            continue
        asked = call.turns[i].speaker != speaker
        if asked and any(j == i + 1 and owner == speaker == call.turns[j].speaker for j, owner, _, _ in raw):
            continue  # the addressee committed in the next turn: that item stands for this request
        p = call.participant(speaker)
        items.append(ActionItem(owner=(p.email if p and p.email else speaker), owner_name=p.name if p else speaker,
                                side=p.side if p else "", title=_title(what), due=due_date(quote, on),
                                contact_email=contact, account=call.account, quote=quote))
    return items


def primary_contact(call: CallTranscript) -> str:
    return next((p.email for p in call.participants if p.side == "buyer" and p.email), "")


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value[:10])
    except (TypeError, ValueError):
        return None


def analyze_call(call: CallTranscript, llm: Callable[[CallTranscript], str | None] | None = None) -> dict[str, Any]:
    """One row of call_insights (list/dict values as JSON strings: the warehouse is DuckDB)."""
    ratio = talk_ratio(call.turns)
    sellers = {p.name for p in call.participants if p.side == "seller"}
    seller_ratio = round(sum(v for s, v in ratio.items() if call.side_of(s) == "seller"), 4) if sellers else None
    qs = questions(call)
    objs = objections(call)
    items = action_items(call)
    main = next((a for a in items if a.side == "seller"), items[0] if items else None)
    return {
        "call_id": call.source, "source": call.source, "kind": call.kind, "account": call.account,
        "call_date": call.date, "call_title": call.title,
        "duration_s": float(call.duration) if call.duration is not None else None,
        "turns": len(call.turns),
        "speakers": json.dumps(list(ratio)),
        "talk_ratio": json.dumps(ratio, sort_keys=True),
        "seller_talk_ratio": seller_ratio,
        "questions_asked": len(qs),
        "seller_questions": sum(1 for q in qs if q["side"] == "seller"),
        "questions": json.dumps(qs),
        "objections": json.dumps(objs),
        "objection_categories": ",".join(sorted({o["category"] for o in objs})),
        "objections_count": len(objs),
        "next_steps": json.dumps([a.title for a in items]),
        "action_items": json.dumps([asdict(a) for a in items]),
        "contact_email": primary_contact(call) or None,
        "owner": main.owner if main else None,
        "title": main.title if main else None,
        "due": main.due if main else None,
        "coach_note": llm(call) if llm else None,
    }


def insights_frame(calls: Iterable[CallTranscript], llm: Callable[[CallTranscript], str | None] | None = None) -> pd.DataFrame:
    rows = [analyze_call(c, llm) for c in calls]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("duration_s", "seller_talk_ratio"):
        frame[col] = frame[col].astype("float64")
    for col in ("turns", "questions_asked", "seller_questions", "objections_count"):
        frame[col] = frame[col].astype("int64")
    return frame


COACH_SYSTEM = ("You are a sales coach. In at most three sentences, tell the seller what went well on this call, "
                "what to do differently, and the single most important next step. Quote the buyer where it helps.")


def coach_note_prompt(call: CallTranscript, limit: int = 6000) -> str:
    lines = "\n".join(f"{t.speaker}: {t.text}" for t in call.turns)
    return f"Call: {call.title} ({call.account}, {call.date})\n\n{lines[:limit]}"
