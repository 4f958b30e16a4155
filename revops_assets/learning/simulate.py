"""A world with hidden true rates, so the learning loop can be tested and demoed day by day.

:class:`Simulator` answers "what happened to the messages we sent today?" from per-variant true
rates and per-account propensity; every draw is keyed by (seed, message, day) so the answer does
not depend on row order or on what else was sent. :func:`run_bandit_simulation` runs the closed loop
"choose (Thompson or uniform) -> observe -> update" with the bank's nightly cadence (posteriors are
refreshed once per day, as the ``reasoning_bank`` asset would be).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

import numpy as np
import pandas as pd

from revops_assets.learning.bandit import DEFAULT_PRIOR, lead_rng, thompson_pick

Policy = Literal["thompson", "uniform"]


@dataclass(frozen=True)
class Truth:
    """The hidden world. ``variant_rates`` keys are ``"template/variant"`` or bare ``"variant"``.

    ``propensity`` maps an account key (domain or contact id) to a 0..1 propensity; an account's
    positive-reply rate is its variant's rate times propensity / mean propensity (capped).
    """

    variant_rates: Mapping[str, float]
    propensity: Mapping[str, float] = field(default_factory=dict)
    default_rate: float = 0.05
    negative_reply_rate: float = 0.03
    meeting_given_positive: float = 0.4
    win_given_meeting: float = 0.25
    bounce_rate: float = 0.02
    unsubscribe_rate: float = 0.005
    max_rate: float = 0.95


class Simulator:
    """Draws the results of sent messages from a :class:`Truth`; pure and order-independent."""

    def __init__(self, truth: Truth, seed: int = 0):
        self.truth = truth
        self.seed = seed
        props = list(truth.propensity.values())
        self._mean_propensity = float(np.mean(props)) if props else 1.0

    def _rate(self, template: str, variant: str, account: str | None) -> float:
        t = self.truth
        base = t.variant_rates.get(f"{template}/{variant}", t.variant_rates.get(variant, t.default_rate))
        if account is not None and account in t.propensity and self._mean_propensity > 0:
            base = base * t.propensity[account] / self._mean_propensity
        return float(min(t.max_rate, base))

    def observe(self, sends: pd.DataFrame, day: int = 0) -> pd.DataFrame:
        """``sends`` (message_id or contact_id, template, variant, optional domain) -> same rows plus outcome flags."""
        t = self.truth
        out = sends.copy().reset_index(drop=True)
        ids = out["message_id"] if "message_id" in out.columns else out["contact_id"]
        accounts = out["domain"] if "domain" in out.columns else out.get("contact_id", pd.Series([None] * len(out)))
        flags: dict[str, list[Any]] = {k: [] for k in ("replied", "positive_reply", "meeting_booked", "won",
                                                       "bounced", "unsubscribed")}
        for msg, account, template, variant in zip(ids, accounts, out["template"], out["variant"]):
            u = lead_rng(self.seed, str(msg), f"day{day}").random(6)
            bounced = bool(u[0] < t.bounce_rate)
            positive = not bounced and bool(u[1] < self._rate(str(template), str(variant), account))
            replied = positive or (not bounced and bool(u[2] < t.negative_reply_rate))
            meeting = positive and bool(u[3] < t.meeting_given_positive)
            won = meeting and bool(u[4] < t.win_given_meeting)
            unsub = not bounced and not positive and bool(u[5] < t.unsubscribe_rate)
            for key, value in (("replied", replied), ("positive_reply", positive), ("meeting_booked", meeting),
                               ("won", won), ("bounced", bounced), ("unsubscribed", unsub)):
                flags[key].append(value)
        for key, values in flags.items():
            out[key] = pd.Series(values, dtype=bool)
        return out


def run_bandit_simulation(true_rates: Mapping[str, float], days: int, sends_per_day: int, seed: int = 0,
                          policy: Policy = "thompson", prior: tuple[float, float] = DEFAULT_PRIOR) -> pd.DataFrame:
    """Closed loop over ``days``: one row per (day, variant) with that day's sends and successes and the
    variant's *cumulative* expected regret (sum over its sends of best rate - its rate); the total regret
    through day d is ``df[df.day == d].cumulative_regret.sum()``.
    """
    if policy not in ("thompson", "uniform"):
        raise ValueError(f"policy must be 'thompson' or 'uniform', got {policy!r}")
    names = sorted(true_rates)
    p = np.array([true_rates[v] for v in names], dtype=float)
    gap = p.max() - p
    rng = np.random.default_rng(seed)
    n = np.zeros(len(names), dtype=np.int64)
    s = np.zeros(len(names), dtype=np.int64)
    regret = np.zeros(len(names))
    rows = []
    for day in range(days):
        if policy == "thompson":
            picks, _ = thompson_pick(prior[0] + s, prior[1] + n - s, rng, size=sends_per_day)
        else:
            picks = rng.integers(0, len(names), size=sends_per_day)
        sends = np.bincount(picks, minlength=len(names))
        successes = rng.binomial(sends, p)
        n += sends
        s += successes
        regret += sends * gap
        for i, v in enumerate(names):
            rows.append({"day": day, "variant": v, "sends": int(sends[i]), "successes": int(successes[i]),
                         "cumulative_regret": float(regret[i])})
    return pd.DataFrame(rows, columns=["day", "variant", "sends", "successes", "cumulative_regret"])


# --- reading the sample workspace's hidden truth (written by the sample generator) -------------------

def _read_jsonl(path: Path) -> Iterable[dict[str, Any]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _find_rates(doc: Any) -> dict[str, float]:
    """The first mapping of variant -> rate found under a key that names variant rates (any nesting)."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            if "variant" in str(key).lower() and isinstance(value, dict):
                flat = _flatten_rates(value)
                if flat:
                    return flat
        for value in doc.values():
            found = _find_rates(value)
            if found:
                return found
    return {}


def _flatten_rates(value: dict[str, Any], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, v in value.items():
        name = f"{prefix}{key}"
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out[name] = float(v)
        elif isinstance(v, dict):
            rate = next((v[k] for k in ("positive_reply", "rate", "p", "reply_rate") if isinstance(v.get(k), (int, float))), None)
            if rate is not None:
                out[name] = float(rate)
            else:
                out.update(_flatten_rates(v, prefix=f"{name}/"))
    return out


def _template_rates(doc: Any) -> dict[str, float]:
    """``{"templates": {name: {"expected_reply_rate": {variant: p}}}}`` -> ``{"name/variant": p}``."""
    templates = doc.get("templates") if isinstance(doc, dict) else None
    out: dict[str, float] = {}
    if isinstance(templates, dict):
        for name, entry in sorted(templates.items()):
            rates = entry.get("expected_reply_rate") if isinstance(entry, dict) else None
            for variant, p in sorted((rates or {}).items()):
                if isinstance(p, (int, float)) and not isinstance(p, bool):
                    out[f"{name}/{variant}"] = float(p)
    return out


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except json.JSONDecodeError:
        return {}


def load_truth(sample_dir: Path) -> Truth:
    """Truth from the sample workspace, read defensively (the generator owns the format).

    Variant rates: ``truth/email_variants.json`` (per-template expected *reply* rates, scaled to
    positive replies by the positive share seen in ``truth/email_outcomes.jsonl``), else any
    variant-rate mapping in ``manifest.json``. Propensity: ``truth/accounts.jsonl`` by domain.
    """
    sample_dir = Path(sample_dir)
    truth_dir = sample_dir / "truth"
    rates = _template_rates(_read_json(truth_dir / "email_variants.json"))
    if rates:
        kinds = [row.get("outcome") for row in _read_jsonl(truth_dir / "email_outcomes.jsonl")]
        pos, neg = kinds.count("reply_positive"), kinds.count("reply_negative")
        share = pos / (pos + neg) if pos + neg else 0.5
        rates = {k: v * share for k, v in rates.items()}
    else:
        rates = _find_rates(_read_json(sample_dir / "manifest.json"))
    propensity: dict[str, float] = {}
    for row in _read_jsonl(truth_dir / "accounts.jsonl"):
        key = row.get("domain") or row.get("account_id") or row.get("contact_id") or row.get("id")
        value = row.get("propensity")
        if key and isinstance(value, (int, float)) and not isinstance(value, bool):
            propensity[str(key)] = float(value)
    return Truth(variant_rates=rates, propensity=propensity)


def accounts_for_visits(truth: Truth, day: int, count: int, seed: int = 0) -> list[str]:
    """Which accounts visit the site on ``day``: drawn with probability proportional to propensity."""
    accounts = sorted(truth.propensity)
    if not accounts or count <= 0:
        return []
    weights = np.array([max(truth.propensity[a], 0.0) for a in accounts]) + 1e-9
    rng = lead_rng(seed, "visits", f"day{day}")
    picks = rng.choice(len(accounts), size=min(count, len(accounts)), replace=False, p=weights / weights.sum())
    return [accounts[i] for i in sorted(picks)]


# --- pure pieces of the `revops simulate` demo command (its I/O lives in commands.py) ---------------

POSITIVE_REPLIES = ("Sounds interesting. Can you send a few times next week?", "Happy to chat, Thursday afternoon works.",
                    "Timing is good, let's talk.")
NEGATIVE_REPLIES = ("Not a priority for us this year, thanks.", "We already use another vendor.", "No budget right now.")


def _utc(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def visit_body(domain: str, seen_at: pd.Timestamp, examples: Mapping[str, dict[str, Any]], site: str) -> dict[str, Any]:
    """An RB2B body for ``domain``: a copy of one it sent before (new Seen At), else a company-only visit."""
    stamp = _utc(seen_at).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    example = examples.get(domain)
    if example is not None:
        body = json.loads(json.dumps(example))
        target = body["payload"] if isinstance(body.get("payload"), dict) else body
        for key in list(target):
            if key.lower().replace("_", " ").replace("-", " ") == "seen at":
                del target[key]
        target["Seen At"] = stamp
        return body
    return {"Company Name": domain.split(".")[0].title(), "Website": f"https://{domain}",
            "Captured URL": f"{site.rstrip('/')}/pricing", "Seen At": stamp, "Tags": "simulated"}


def replies_to(outbound: list[dict[str, Any]], sim: Simulator, domain_of: Mapping[str, str]) -> tuple[list[dict[str, Any]], list[str]]:
    """GHL-format inbound replies to ``outbound`` messages (meta.template/variant) and contacts who won.

    Each message's fate is keyed by its id only, so answering the same messages again is idempotent.
    """
    rows = [m for m in outbound if isinstance(m.get("meta"), dict) and m["meta"].get("template") and m["meta"].get("variant")]
    if not rows:
        return [], []
    frame = pd.DataFrame({"message_id": [m["id"] for m in rows], "contact_id": [m.get("contactId", "") for m in rows],
                          "domain": [domain_of.get(m.get("contactId", "")) for m in rows],
                          "template": [m["meta"]["template"] for m in rows], "variant": [m["meta"]["variant"] for m in rows]})
    seen = sim.observe(frame, day=0)
    inbound, won = [], []
    for msg, result in zip(rows, seen.itertuples(index=False)):
        if result.won:
            won.append(str(msg.get("contactId")))
        if not result.replied:
            continue
        rng = lead_rng(sim.seed, msg["id"], "reply")
        texts = POSITIVE_REPLIES if result.positive_reply else NEGATIVE_REPLIES
        at = _utc(msg.get("dateAdded") or "1970-01-01") + pd.Timedelta(minutes=int(rng.integers(40, 2880)))
        inbound.append({
            "id": f"sim-{msg['id']}", "conversationId": msg.get("conversationId"), "contactId": msg.get("contactId"),
            "locationId": msg.get("locationId"), "type": 3, "messageType": "TYPE_EMAIL", "direction": "inbound",
            "status": "delivered", "subject": "Re: " + str(msg.get("subject", "")), "body": texts[int(rng.integers(len(texts)))],
            "contentType": "text/plain", "dateAdded": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "meta": {"inReplyTo": msg["id"], "simulated": True},
        })
    return inbound, sorted(set(won))
