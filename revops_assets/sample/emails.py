"""90 days of outbound email and what came back, with a known ground truth for A/B learning.

Each sequence email carries ``meta = {template, variant, signal, persona, segment, step}``. The true
reply model is
``logit p = BASE + TEMPLATE_BIAS[template] + LIFT*(variant is the template's better one)
+ PROPENSITY_WEIGHT*(propensity - 0.2) + SIGNAL_BONUS*(signal != "none") + PERSONA_BIAS[persona]
- STEP_DECAY*(step - 1)``; the per-template expected rates it implies are written to
``truth/email_variants.json`` and every outcome to ``truth/email_outcomes.jsonl``.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from revops_assets.sample.clock import business_time, ghl_id, iso_ms
from revops_assets.sample.crm import SELLER, Account

BASE = -3.0
LIFT = 0.6
PROPENSITY_WEIGHT = 3.0
SIGNAL_BONUS = 0.3
STEP_DECAY = 0.35
BOUNCE_RATE = 0.03
UNSUBSCRIBE_RATE = 0.012

# template -> (signal, bias, {variant: (subject, body)})
TEMPLATES: dict[str, tuple[str, float, dict[str, tuple[str, str]]]] = {
    "funding": ("funding", 0.4, {
        "A": ("Congrats on the raise, {first}", "Hi {first}, congrats to the {company} team on the new funding. Teams that just raised usually need pipeline visibility fast; {seller} gives RevOps that in a week. Worth a chat?"),
        "B": ("{company}'s next 12 months", "{first}, after a round the board asks for a predictable number. Here is how three {industry} teams used {seller} to forecast within 5%. 15 minutes next week?"),
    }),
    "hiring": ("hiring", 0.2, {
        "A": ("Ramping new reps at {company}", "Hi {first}, saw {company} is hiring. {seller} cuts new-rep ramp time by a third. Open to a quick look?"),
        "B": ("{first}, a question about your hiring plan", "{first}, growing headcount usually breaks lead routing first. Would a 2-minute teardown of your routing be useful?"),
    }),
    "leadership_change": ("leadership_change", 0.5, {
        "A": ("Your first 90 days", "Hi {first}, new leaders at {industry} companies often start with a pipeline audit. Happy to share the checklist we use."),
        "B": ("Congrats on the new role", "Congrats on the new role, {first}. If a clean pipeline review is on your 90-day plan, {seller} can help."),
    }),
    "product_launch": ("product_launch", 0.1, {
        "A": ("Launching is the easy part", "Hi {first}, congrats on the launch. {seller} helps teams see which accounts are actually adopting it."),
        "B": ("{company}'s launch + pipeline", "{first}, launches create a burst of inbound. Want to see how others route it in minutes?"),
    }),
    "website_activity": ("website_activity", 0.7, {
        "A": ("Questions on pricing?", "Hi {first}, noticed your team looking at our pricing. Happy to walk through which plan fits {company}."),
        "B": ("A plan for {company}", "{first}, I put together a suggested plan for a team your size. Want me to send it over?"),
    }),
    "none": ("none", -0.3, {
        "A": ("Quick question, {first}", "Hi {first}, how does {company} keep pipeline data clean today? {seller} automates it."),
        "B": ("{seller} for {industry}", "Hi {first}, {industry} revenue teams use {seller} to spend less time in spreadsheets. Worth 15 minutes?"),
    }),
    "case_study": ("none", -0.1, {
        "A": ("How a {industry} team hit plan", "Hi {first}, sharing a short case study from a {industry} team like {company}."),
        "B": ("{first}, 3 numbers from a peer", "{first}: 31% more pipeline, 2 weeks to value, 0 spreadsheets. Case study inside."),
    }),
}
PERSONA_BIAS = {"executive": -0.3, "sales_leader": 0.2, "revops": 0.3, "marketing_leader": 0.0,
                "operations": -0.1, "engineering": -0.4, "finance": -0.3}
SIGNAL_TEMPLATE = {"funding": "funding", "hiring": "hiring", "leadership_change": "leadership_change",
                   "product_launch": "product_launch", "website_activity": "website_activity"}
EVENT_COLUMNS = [("leadership_change", "leadership_days_ago"), ("funding", "funding_days_ago"),
                 ("hiring", "hiring_days_ago"), ("product_launch", "launch_days_ago")]
POSITIVE = [
    "Sounds interesting. Can you send a few times next week?",
    "Happy to chat, Thursday afternoon works for me.",
    "Yes, we're evaluating tools for exactly this right now. Let's talk.",
    "Timing is good. Loop in my colleague as well please.",
    "Interested. What does pricing look like for a team of our size?",
]
NEGATIVE = [
    "Not a priority for us this year, thanks.",
    "We already use another vendor and are happy with it.",
    "No budget for this at the moment.",
    "Not the right person, sorry.",
    "We built something in-house, so we'll pass.",
]
AUTO = [
    "I am out of the office until next Monday with limited access to email.",
    "Thanks for your email. I'm currently on parental leave; for urgent matters contact our office.",
]
UNSUB = ["Please unsubscribe me.", "Remove me from your list.", "Stop emailing me.", "unsubscribe"]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def reply_probability(template: str, variant: str, better: str, propensity: float, signal: str, persona: str, step: int) -> float:
    """The true reply model (see module docstring)."""
    x = (BASE + TEMPLATES[template][1] + (LIFT if variant == better else 0.0)
         + PROPENSITY_WEIGHT * (propensity - 0.2) + (SIGNAL_BONUS if signal != "none" else 0.0)
         + PERSONA_BIAS[persona] - STEP_DECAY * (step - 1))
    return _sigmoid(x)


def _signal_at(acc: Account, t: datetime, t0: datetime) -> str:
    if any(timedelta(0) < t - v <= timedelta(days=7) for v in acc.visits):
        return "website_activity"
    for signal, col in EVENT_COLUMNS:
        days = acc.row[col]
        if days == days:
            at = t0 - timedelta(days=float(days) + 0.5)
            if timedelta(0) < t - at <= timedelta(days=45):
                return signal
    return "none"


def make_messages(
    rnd: random.Random, accounts: list[Account], t0: datetime, location_id: str, better: dict[str, str],
) -> tuple[list[dict], list[dict], list[tuple[Account, dict, datetime]]]:
    """Returns (messages, truth outcome rows, positive repliers with reply time)."""
    messages: list[dict] = []
    outcomes: list[dict] = []
    positives: list[tuple[Account, dict, datetime]] = []
    history_start = t0 - timedelta(days=90)
    for acc in accounts:
        prop = float(acc.row["propensity"])
        stop_limit = acc.quiet_since or t0
        seq_limit = min(x for x in (acc.first_touch_limit, acc.quiet_since, t0) if x is not None)
        for contact in acc.contacts:
            if contact["dnd"] or rnd.random() > 0.65:
                continue
            added = contact["dateAdded"]
            try:
                start_lo = max(history_start, datetime.fromisoformat(added.replace("Z", "+00:00")))
            except ValueError:
                start_lo = history_start
            if seq_limit - start_lo < timedelta(days=2):
                continue
            t = start_lo + (seq_limit - start_lo) * rnd.random() * 0.8
            persona = acc.personas[contact["id"]]
            variant = rnd.choice("AB")
            conv = ghl_id(rnd)
            template = signal = None
            for step in range(1, rnd.choice([1, 2, 2, 3, 3]) + 1):
                t = business_time(t, acc.ae["timezone"], rnd, seq_limit)
                if t < start_lo:
                    break
                if template is None:
                    signal = _signal_at(acc, t, t0)
                    template = SIGNAL_TEMPLATE.get(signal) or rnd.choice(["none", "case_study"])
                subject, body = TEMPLATES[template][2][variant]
                fields = {"first": contact["firstName"], "company": acc.row["company_name"],
                          "industry": acc.row["industry"], "seller": SELLER["name"]}
                p = reply_probability(template, variant, better[template], prop, signal, persona, step)
                bounce = BOUNCE_RATE if step == 1 else 0.0
                p_eff = (1.0 - bounce - UNSUBSCRIBE_RATE) * p  # chance of a human reply to this email
                out_id = ghl_id(rnd)
                u = rnd.random()
                if u < bounce:
                    outcome, status = "bounce", "undelivered"
                elif u < bounce + UNSUBSCRIBE_RATE:
                    outcome, status = "unsubscribe", rnd.choice(["opt_out", "opened"])
                elif rnd.random() < p:
                    pos = _sigmoid(-0.4 + 5.0 * (prop - 0.2))
                    outcome = "reply_positive" if rnd.random() < pos else "reply_negative"
                    status = "opened"
                elif rnd.random() < 0.02:
                    outcome, status = "auto_reply", "delivered"
                else:
                    outcome, status = "none", rnd.choices(["delivered", "opened", "clicked"], weights=[0.5, 0.42, 0.08])[0]
                reply_at = t + timedelta(minutes=rnd.randint(5 if outcome == "auto_reply" else 40, 60 * 60))
                if outcome in ("reply_positive", "reply_negative", "auto_reply") or (outcome == "unsubscribe" and status == "opened"):
                    if reply_at >= stop_limit:
                        outcome, status = "none", "opened"
                messages.append({
                    "id": out_id, "conversationId": conv, "contactId": contact["id"], "locationId": location_id,
                    "type": 3, "messageType": "TYPE_EMAIL", "direction": "outbound", "status": status,
                    "subject": subject.format(**fields), "body": body.format(**fields), "contentType": "text/plain",
                    "dateAdded": iso_ms(t), "userId": acc.ae["id"], "source": "workflow",
                    "meta": {"template": template, "variant": variant, "signal": signal, "persona": persona,
                             "segment": acc.segment, "step": step},
                })
                outcomes.append({"messageId": out_id, "contactId": contact["id"], "domain": acc.row["domain"],
                                 "template": template, "variant": variant, "p_reply": round(p_eff, 6), "outcome": outcome})
                inbound = None
                if outcome in ("reply_positive", "reply_negative"):
                    inbound = rnd.choice(POSITIVE if outcome == "reply_positive" else NEGATIVE)
                elif outcome == "auto_reply":
                    inbound = rnd.choice(AUTO)
                elif outcome == "unsubscribe" and status == "opened":
                    inbound = rnd.choice(UNSUB)
                if inbound is not None:
                    messages.append({
                        "id": ghl_id(rnd), "conversationId": conv, "contactId": contact["id"], "locationId": location_id,
                        "type": 3, "messageType": "TYPE_EMAIL", "direction": "inbound", "status": "delivered",
                        "subject": "Re: " + subject.format(**fields), "body": inbound, "contentType": "text/plain",
                        "dateAdded": iso_ms(reply_at), "meta": {"inReplyTo": out_id},
                    })
                if outcome == "unsubscribe":
                    contact["dnd"] = True
                    contact["tags"] = sorted(set(contact["tags"]) | {"unsubscribed"})
                    contact["dateUpdated"] = iso_ms(max(t, reply_at if status == "opened" else t))
                if outcome == "reply_positive":
                    positives.append((acc, contact, reply_at))
                if outcome != "none" and outcome != "auto_reply":
                    break
                t = t + timedelta(days=rnd.uniform(3, 6))
                if t >= seq_limit:
                    break
    messages.sort(key=lambda m: (m["dateAdded"], m["id"]))
    return messages, outcomes, positives


def variant_truth(outcomes: list[dict], better: dict[str, str]) -> dict:
    """Per template: which variant is truly better, the expected reply rate of each variant over the
    emails actually sent (mean true probability), and what was observed."""
    summary: dict[str, dict] = {}
    for name in TEMPLATES:
        rows = [o for o in outcomes if o["template"] == name]
        entry: dict = {"better_variant": better[name], "variant_logit_lift": LIFT,
                       "expected_reply_rate": {}, "sent": {}, "replied": {}, "observed_reply_rate": {}}
        for v in "AB":
            vr = [o for o in rows if o["variant"] == v]
            replied = sum(1 for o in vr if o["outcome"] in ("reply_positive", "reply_negative"))
            entry["sent"][v] = len(vr)
            entry["replied"][v] = replied
            entry["expected_reply_rate"][v] = round(sum(o["p_reply"] for o in vr) / len(vr), 6) if vr else None
            entry["observed_reply_rate"][v] = round(replied / len(vr), 6) if vr else None
        # Unconfounded: a step-1 email with the template's own signal to a revops persona at propensity 0.2.
        signal = TEMPLATES[name][0]
        entry["reference_reply_rate"] = {
            v: round(reply_probability(name, v, better[name], 0.2, signal, "revops", 1), 6) for v in "AB"}
        summary[name] = entry
    return {
        "model": "logit p_reply = BASE + template_bias + LIFT*[variant == better] + 3.0*(propensity-0.2) "
                 "+ 0.3*[signal != none] + persona_bias - 0.35*(step-1)",
        "base": BASE, "lift": LIFT,
        "template_bias": {k: v[1] for k, v in TEMPLATES.items()},
        "persona_bias": PERSONA_BIAS,
        "reply_counts_as": ["reply_positive", "reply_negative"],
        "templates": summary,
    }
