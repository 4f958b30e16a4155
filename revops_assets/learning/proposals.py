"""Directive change proposals: when the evidence says a weight or threshold is off, write a diff.

COACH never edits a directive. It writes a unified diff of the directive file (YAML front matter
between ``---`` lines) plus the evidence, for a human to review and ``patch -p1`` in the project
directory. Only the one value changes: the front matter is edited line by line so comments and
layout survive; a flow-style mapping that cannot be edited in place is re-dumped as a fallback.

Input contracts (one row each):

- ``signals_history``: domain, signal_type (or type), detected_at (or published) [, converted (bool)] -- an intent signal seen
  on an account. Without ``converted``, a signal converted if the account had a meeting or a win on
  a message sent within ``window_days`` after it (from ``outcomes``).
- ``ghosts_history``: opportunity_id, status (won/lost/abandoned/open), idle_days (or days_stalled: the
  longest quiet stretch) [, stage, stall_pattern]. The bank reads stall_pattern from the same frame.
  The threshold rule needs closed deals that went quiet for *fewer* days than the threshold too, so a
  list of only the deals already flagged cannot move it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
import yaml

from revops_assets.learning.bank import LOSS_STATUSES, WIN_STATUSES, Bank, beta_posterior

KeyPath = tuple[str, ...]
_KEY_LINE = re.compile(r"""^(?P<indent>\s*)(?P<key>"[^"]*"|'[^']*'|[^\s#:\-"'][^:#]*?)\s*:(?P<rest>\s.*|)$""")


@dataclass(frozen=True)
class Proposal:
    title: str
    evidence_md: str
    diff: str
    slug: str
    key: str
    current: Any
    proposed: Any
    as_of: str

    @property
    def stem(self) -> str:
        """File name stem: ``<date>-<slug>``."""
        return f"{self.as_of[:10]}-{self.slug}"


# --- front matter -------------------------------------------------------------------------------------

def split_front_matter(text: str) -> tuple[list[str], int, int]:
    """Lines (with ends) and the [start, end) line range of the YAML front matter."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise ValueError("directive has no YAML front matter (first line must be ---)")
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return lines, 1, i
    raise ValueError("directive front matter is not closed by a --- line")


def read_front_matter(text: str) -> dict[str, Any]:
    lines, start, end = split_front_matter(text)
    return yaml.safe_load("".join(lines[start:end])) or {}


def get_path(doc: Any, path: KeyPath) -> Any:
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return None
        doc = doc[key]
    return doc


def _scalar(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def set_front_matter_value(text: str, path: KeyPath, value: Any) -> str:
    """The directive text with one front-matter value replaced, everything else byte-identical."""
    lines, start, end = split_front_matter(text)
    stack: list[tuple[int, str]] = []
    for i in range(start, end):
        line = lines[i]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _KEY_LINE.match(line.rstrip("\r\n"))
        if not m:
            continue
        indent = len(m["indent"])
        key = m["key"].strip().strip("'\"")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        here = tuple(k for _, k in stack) + (key,)
        rest = m["rest"]
        value_part, _, comment = rest.partition(" #")
        if here == path and value_part.strip():
            ending = line[len(line.rstrip("\r\n")):]
            new_line = f"{m['indent']}{m['key']}: {_scalar(value)}" + (f"  #{comment}" if comment else "") + ending
            candidate = "".join(lines[:i] + [new_line] + lines[i + 1:])
            if get_path(read_front_matter(candidate), path) == value:
                return candidate
            break
        if not value_part.strip():
            stack.append((indent, key))
    # Fallback (flow-style mappings etc.): re-dump the front matter with the one value changed.
    doc = read_front_matter(text)
    node = doc
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    dumped = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, allow_unicode=True)
    return "".join(lines[:start]) + dumped + "".join(lines[end:])


def unified_diff(old: str, new: str, label: str) -> str:
    """A ``patch -p1``-able diff; a missing final newline is marked the way patch expects."""
    out = []
    for line in difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                     fromfile=f"a/{label}", tofile=f"b/{label}"):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


# --- evidence rules ---------------------------------------------------------------------------------

def _aliased(frame: pd.DataFrame, aliases: dict[str, str]) -> pd.DataFrame:
    """A copy with the asset-side column names (``intent_signals.type``/``published``,
    ``ghost_list.days_stalled``) mapped to this module's contract when the contract name is absent."""
    return frame.rename(columns={a: c for a, c in aliases.items() if a in frame.columns and c not in frame.columns})


def signal_conversion(signals_history: pd.DataFrame, outcomes: pd.DataFrame, window_days: int = 90) -> pd.DataFrame:
    """One row per (domain, signal_type), first sighting, with ``converted``."""
    sig = _aliased(signals_history, {"type": "signal_type", "published": "detected_at"})
    sig["detected_at"] = pd.to_datetime(sig["detected_at"], utc=True)
    sig = sig.sort_values(["domain", "signal_type", "detected_at"], kind="mergesort")
    sig = sig.drop_duplicates(["domain", "signal_type"], keep="first").reset_index(drop=True)
    if "converted" in sig.columns:
        sig["converted"] = sig["converted"].astype("boolean").fillna(False).astype(bool)
        return sig
    conv = outcomes.copy()
    flags = [conv[c].astype("boolean").fillna(False) for c in ("meeting_booked", "won") if c in conv.columns]
    conv = conv[pd.concat(flags, axis=1).any(axis=1)] if flags else conv.iloc[0:0]
    conv_at = pd.to_datetime(conv["sent_at"], utc=True) if len(conv) else pd.Series(dtype="datetime64[ns, UTC]")
    by_domain: dict[str, list[pd.Timestamp]] = {}
    for domain, at in zip(conv.get("domain", []), conv_at):
        by_domain.setdefault(str(domain), []).append(at)
    window = pd.Timedelta(days=window_days)
    sig["converted"] = [any(t <= at <= t + window for at in by_domain.get(str(d), []))
                        for d, t in zip(sig["domain"], sig["detected_at"])]
    return sig


def _weight_proposals(bank: Bank, outcomes: pd.DataFrame, signals_history: pd.DataFrame | None,
                      front: dict[str, Any], min_samples: int, credible: float, window_days: int) -> list[dict[str, Any]]:
    weights = get_path(front, ("intent", "weights")) or {}
    if signals_history is None or len(signals_history) == 0 or not isinstance(weights, dict):
        return []
    conv = signal_conversion(signals_history, outcomes, window_days)
    prior = tuple(bank.params["prior"])
    found = []
    for signal_type in sorted(set(conv["signal_type"].astype(str))):
        current = weights.get(signal_type)
        if not isinstance(current, (int, float)) or isinstance(current, bool) or current <= 0:
            continue
        mine = conv[conv["signal_type"].astype(str) == signal_type]
        others = conv[conv["signal_type"].astype(str) != signal_type]
        n, k = len(mine), int(mine["converted"].sum())
        on, ok = len(others), int(others["converted"].sum())
        if n < min_samples or on < min_samples:
            continue
        post = beta_posterior(k, n, prior, credible)
        other_post = beta_posterior(ok, on, prior, credible)
        if post["ci_high"] >= other_post["mean"]:
            continue
        ratio = min(0.75, max(0.25, post["mean"] / other_post["mean"]))
        proposed = int(round(current * ratio)) if isinstance(current, int) else round(float(current) * ratio, 2)
        if proposed >= current:
            continue
        rows = [("signal", signal_type), ("accounts with this signal", n), ("converted after it", k),
                ("conversion rate", f"{k / n:.1%} ({credible:.0%} credible {post['ci_low']:.1%}-{post['ci_high']:.1%})"),
                ("accounts with other signals", on), ("their conversion rate", f"{ok / on:.1%}"),
                ("current weight", current), ("proposed weight", proposed)]
        verb = "never" if k == 0 else "rarely"
        found.append({
            "path": ("intent", "weights", signal_type), "current": current, "proposed": proposed,
            "slug": f"lower-intent-weight-{signal_type}".replace("_", "-"),
            "title": f"Lower the intent weight of '{signal_type}' from {current} to {proposed}",
            "why": (f"'{signal_type}' {verb} precedes conversion: {k}/{n} accounts converted within {window_days} days, "
                    f"and even the top of its {credible:.0%} credible interval ({post['ci_high']:.1%}) is below the "
                    f"{other_post['mean']:.1%} rate of other signals."),
            "rows": rows,
        })
    return found


def _threshold_candidate(closed: pd.DataFrame, threshold: int, prior: tuple[float, float], credible: float,
                         min_samples: int) -> dict[str, Any] | None:
    idle = closed["idle_days"]
    lost = closed["lost"]
    flagged = closed[idle >= threshold]
    if flagged.empty:
        return None
    flagged_rate = float(flagged["lost"].mean())
    for d in range(1, int(threshold)):
        between = lost[(idle >= d) & (idle < threshold)]
        active = lost[idle < d]
        if len(between) < min_samples or len(active) < min_samples:
            continue
        post = beta_posterior(int(between.sum()), len(between), prior, credible)
        active_post = beta_posterior(int(active.sum()), len(active), prior, credible)
        if post["ci_low"] > active_post["mean"] and post["mean"] >= 0.8 * flagged_rate:
            return {"days": d, "between_n": len(between), "between_lost": int(between.sum()), "post": post,
                    "active_n": len(active), "active_lost": int(active.sum()), "flagged_n": len(flagged),
                    "flagged_lost": int(flagged["lost"].sum())}
    return None


def _stall_proposals(bank: Bank, ghosts_history: pd.DataFrame | None, front: dict[str, Any], min_samples: int,
                     credible: float) -> list[dict[str, Any]]:
    if ghosts_history is None or len(ghosts_history) == 0:
        return []
    df = _aliased(ghosts_history, {"days_stalled": "idle_days"})
    if "idle_days" not in df.columns:
        return []
    df["status"] = df["status"].astype("string").str.lower().fillna("open").astype(str)
    df = df[df["status"].isin(LOSS_STATUSES | WIN_STATUSES)]
    agg = {"idle_days": "max", "status": "first"} | ({"stage": "first"} if "stage" in df.columns else {})
    closed = df.groupby(df["opportunity_id"].astype(str), sort=True).agg(agg).reset_index()
    closed["idle_days"] = pd.to_numeric(closed["idle_days"], errors="coerce")
    closed = closed.dropna(subset=["idle_days"])
    closed["lost"] = closed["status"].isin(LOSS_STATUSES).astype(int)
    prior = tuple(bank.params["prior"])
    scopes: list[tuple[KeyPath, str, pd.DataFrame]] = [(("ghosts", "stall_days_default"), "all stages", closed)]
    by_stage = get_path(front, ("ghosts", "stall_days_by_stage"))
    if isinstance(by_stage, dict) and "stage" in closed.columns:
        for stage in sorted(by_stage, key=str):
            scopes.append((("ghosts", "stall_days_by_stage", str(stage)), f"stage '{stage}'",
                           closed[closed["stage"].astype(str) == str(stage)]))
    found = []
    for path, scope, frame in scopes:
        current = get_path(front, path)
        if not isinstance(current, (int, float)) or isinstance(current, bool) or frame.empty:
            continue
        cand = _threshold_candidate(frame, int(current), prior, credible, min_samples)
        if cand is None:
            continue
        d, post = cand["days"], cand["post"]
        between_rate = cand["between_lost"] / cand["between_n"]
        active_rate = cand["active_lost"] / cand["active_n"]
        flagged_rate = cand["flagged_lost"] / cand["flagged_n"]
        rows = [("scope", scope), (f"deals quiet {d}-{int(current) - 1} days (not flagged today)",
                                   f"{cand['between_lost']}/{cand['between_n']} lost = {between_rate:.1%} "
                                   f"({credible:.0%} credible {post['ci_low']:.1%}-{post['ci_high']:.1%})"),
                (f"deals never quiet {d} days", f"{cand['active_lost']}/{cand['active_n']} lost = {active_rate:.1%}"),
                (f"deals quiet >= {int(current)} days (flagged today)",
                 f"{cand['flagged_lost']}/{cand['flagged_n']} lost = {flagged_rate:.1%}"),
                ("current threshold (days)", current), ("proposed threshold (days)", d)]
        slug_scope = "default" if len(path) == 2 else re.sub(r"[^a-z0-9]+", "-", path[-1].lower()).strip("-")
        found.append({
            "path": path, "current": current, "proposed": d, "slug": f"shorter-stall-days-{slug_scope}",
            "title": f"Flag stalled deals ({scope}) after {d} quiet days instead of {int(current)}",
            "why": (f"Deals that had gone quiet for {d} to {int(current) - 1} days were already lost at {between_rate:.1%}, "
                    f"against {active_rate:.1%} for deals never quiet that long and {flagged_rate:.1%} for those flagged "
                    f"today: waiting until day {int(current)} only delays the rescue."),
            "rows": rows,
        })
    return found


def propose_directive_changes(bank: Bank, outcomes: pd.DataFrame, signals_history: pd.DataFrame | None,
                              ghosts_history: pd.DataFrame | None, directive_path: Path,
                              directive_front_matter: dict[str, Any] | None = None, window_days: int = 90) -> list[Proposal]:
    """Proposals (diff + evidence) for the directive at ``directive_path``; the file itself is only read.

    Thresholds of evidence come from the bank's own ``min_samples`` and ``credible`` so COACH has one
    notion of "strong enough".
    """
    directive_path = Path(directive_path)
    text = directive_path.read_text()
    front = directive_front_matter if directive_front_matter is not None else read_front_matter(text)
    min_samples = int(bank.params["min_samples"])
    credible = float(bank.params["credible"])
    label = f"{directive_path.parent.name}/{directive_path.name}"
    found = (_weight_proposals(bank, outcomes, signals_history, front, min_samples, credible, window_days)
             + _stall_proposals(bank, ghosts_history, front, min_samples, credible))
    proposals = []
    for item in found:
        new_text = set_front_matter_value(text, item["path"], item["proposed"])
        diff = unified_diff(text, new_text, label)
        if not diff:
            continue
        table = "\n".join(f"| {k} | {v} |" for k, v in item["rows"])
        evidence = (f"# {item['title']}\n\n{item['why']}\n\n| evidence | value |\n|---|---|\n{table}\n\n"
                    f"Directive: `{label}`, key `{'.'.join(item['path'])}`. As of {bank.as_of}.\n"
                    f"Not applied. To accept, from the project directory: `patch -p1 < {bank.as_of[:10]}-{item['slug']}.diff`.\n")
        proposals.append(Proposal(title=item["title"], evidence_md=evidence, diff=diff, slug=item["slug"],
                                  key=".".join(item["path"]), current=item["current"], proposed=item["proposed"],
                                  as_of=bank.as_of))
    return sorted(proposals, key=lambda p: p.slug)


def write_proposals(proposals: Sequence[Proposal], directory: Path) -> list[Path]:
    """Write ``<date>-<slug>.diff`` and ``.md`` per proposal into ``directory`` (e.g. ``<home>/proposals``)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for p in proposals:
        (directory / f"{p.stem}.diff").write_text(p.diff)
        (directory / f"{p.stem}.md").write_text(p.evidence_md)
        written += [directory / f"{p.stem}.diff", directory / f"{p.stem}.md"]
    return written
