"""COACH learning: posterior math, evidence gates, determinism, the bandit loop, directive proposals."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from revops_assets.learning import (
    PLAY_COLUMNS, Simulator, Truth, build_bank, choose_variant, declare, lead_rng, load_plays,
    propose_directive_changes, run_bandit_simulation, write_proposals,
)
from revops_assets.learning.proposals import read_front_matter, set_front_matter_value

PROJECT = Path(__file__).resolve().parent.parent
AS_OF = "2025-03-31"

DIRECTIVE_FALLBACK = """---
directive: lead_processing
version: 1
intent:
  weights:
    funding: 30
    hiring: 25
    leadership_change: 20
    product_launch: 15
    website_activity: 10  # RB2B visits
  half_life_days: 30
ghosts:
  stall_days_default: 7
  stall_days_by_stage:
    New Lead: 14
    Proposal: 5
---
# Body

Text that must survive untouched.
"""


def sends(n: int, variants: dict[str, int] | None = None, start: str = "2025-01-01", **play) -> pd.DataFrame:
    """``n`` sent messages; ``variants`` maps variant -> count (else all 'A')."""
    labels = [v for v, k in (variants or {"A": n}).items() for _ in range(k)]
    return pd.DataFrame({
        "message_id": [f"m{i:05d}" for i in range(len(labels))],
        "contact_id": [f"c{i % 997:04d}" for i in range(len(labels))],
        "domain": [f"acct{i % 211}.example" for i in range(len(labels))],
        "sent_at": pd.date_range(start, periods=len(labels), freq="37min", tz="UTC"),
        "template": play.get("template", "funding_congrats"), "variant": labels,
        "signal": play.get("signal", "funding"), "persona": play.get("persona", "vp_sales"),
        "segment": play.get("segment", "mid_market"), "send_hour": 9,
    })


def with_results(frame: pd.DataFrame, positive: list[bool]) -> pd.DataFrame:
    out = frame.copy()
    out["positive_reply"] = positive
    out["replied"] = positive
    out["meeting_booked"] = False
    out["won"] = None
    out["bounced"] = False
    out["unsubscribed"] = False
    return out


def simulated(rates: dict[str, float], per_variant: int, seed: int = 3, **play) -> pd.DataFrame:
    frame = sends(per_variant * len(rates), {v: per_variant for v in rates}, **play)
    return Simulator(Truth(variant_rates=rates), seed=seed).observe(frame)


# --- bank -------------------------------------------------------------------------------------------

def test_posterior_matches_beta_binomial_math():
    outcomes = with_results(sends(10), [True] * 3 + [False] * 7)
    bank = build_bank(outcomes, AS_OF, prior=(2, 3), credible=0.8)
    play = bank.plays.iloc[0]
    assert (play["n"], play["successes"], play["alpha"], play["beta"]) == (10, 3, 5.0, 10.0)
    assert play["mean"] == pytest.approx(5 / 15, abs=1e-6)
    assert play["ci_low"] == pytest.approx(stats.beta.ppf(0.1, 5, 10), abs=1e-6)
    assert play["ci_high"] == pytest.approx(stats.beta.ppf(0.9, 5, 10), abs=1e-6)
    assert list(bank.plays.columns) == list(PLAY_COLUMNS)


def test_five_lucky_sends_are_not_a_winning_play():
    outcomes = pd.concat([with_results(sends(5), [True] * 5),
                          with_results(sends(200, {"B": 200}, start="2025-02-01"), [False] * 195 + [True] * 5)])
    bank = build_bank(outcomes, AS_OF, min_samples=30)
    a = bank.plays.set_index("variant").loc["A"]
    assert a["mean"] > 0.8 and a["verdict"] == "insufficient"
    assert bank.winning_plays.empty
    assert bank.plays.set_index("variant").loc["B", "verdict"] in ("neutral", "failure")


def test_strong_evidence_makes_winners_and_failures():
    outcomes = simulated({"A": 0.03, "B": 0.1, "C": 0.2}, per_variant=400)
    bank = build_bank(outcomes, AS_OF)
    assert list(bank.winning_plays["variant"]) == ["C"]
    assert list(bank.failure_modes["variant"]) == ["A"]
    kinds = [item["kind"] for item in json.loads(bank.learnings_json())["learnings"]]
    assert kinds == ["winning_play", "failure_mode"]
    assert "C" in bank.to_markdown() and "baseline" in bank.to_markdown()


def test_bank_is_deterministic_and_respects_as_of(tmp_path):
    outcomes = simulated({"A": 0.05, "B": 0.12}, per_variant=300)
    ghosts = pd.DataFrame({"opportunity_id": [f"o{i}" for i in range(40)], "stall_pattern": "went_dark",
                           "status": ["lost"] * 30 + ["won"] * 10})
    one = build_bank(outcomes, AS_OF, ghosts=ghosts)
    two = build_bank(outcomes.sample(frac=1.0, random_state=7), AS_OF, ghosts=ghosts.iloc[::-1])
    assert one.to_json() == two.to_json() and one.learnings_json() == two.learnings_json()
    cut = build_bank(outcomes, "2025-01-02")  # only the first day's sends (37-minute spacing)
    assert cut.baseline["n"] == int((outcomes["sent_at"] < "2025-01-03").sum()) < len(outcomes)
    paths = one.write(tmp_path)
    assert paths["bank"].read_text() == one.to_json()
    assert load_plays(paths["bank"]).equals(one.plays)


def test_plays_load_into_duckdb():
    bank = build_bank(simulated({"A": 0.05, "B": 0.1}, per_variant=100), AS_OF)
    plays = bank.plays  # noqa: F841 - read by DuckDB's replacement scan
    rows = duckdb.sql("SELECT variant, n, successes, mean FROM plays ORDER BY variant").fetchall()
    assert [r[0] for r in rows] == ["A", "B"] and all(isinstance(r[1], int) for r in rows)


def test_stall_reason_lift():
    # 100 closed deals, 40 lost (base 40%). 'champion_left' on 30 deals, 27 lost: 90% -> lift 2.25.
    ids = [f"o{i:03d}" for i in range(100)]
    status = ["lost"] * 40 + ["won"] * 60
    rows = [{"opportunity_id": o, "stall_pattern": "stuck_in_stage", "status": s} for o, s in zip(ids, status)]
    rows += [{"opportunity_id": ids[i], "stall_pattern": "champion_left", "status": status[i]}
             for i in list(range(27)) + list(range(40, 43))]
    rows += [{"opportunity_id": "open1", "stall_pattern": "champion_left", "status": "open"}]
    bank = build_bank(with_results(sends(1), [False]), AS_OF, ghosts=pd.DataFrame(rows))
    reasons = bank.stall_reasons.set_index("stall_pattern")
    assert bank.stall_baseline == {"n": 100, "lost": 40, "loss_rate": 0.4}
    assert (reasons.loc["champion_left", "n"], reasons.loc["champion_left", "lost"]) == (30, 27)
    assert reasons.loc["champion_left", "lift"] == pytest.approx(0.9 / 0.4)
    assert bool(reasons.loc["champion_left", "precedes_loss"]) is True
    assert bool(reasons.loc["stuck_in_stage", "precedes_loss"]) is False
    assert [x["stall_pattern"] for x in bank.learnings() if x["kind"] == "stall_reason"] == ["champion_left"]


# --- bandit -----------------------------------------------------------------------------------------

def test_no_winner_from_five_sends():
    outcomes = with_results(sends(5, {"A": 3, "B": 2}), [True, True, True, False, False])
    result = declare(build_bank(outcomes, AS_OF).plays, "funding_congrats")
    assert result["winner"] is None and result["retired"] == []
    assert "not enough evidence" in result["reason"]


def test_choice_is_reproducible_per_lead_and_unseen_variants_explore():
    plays = build_bank(simulated({"A": 0.02, "B": 0.03}, per_variant=500), AS_OF).plays
    args = (plays, "funding_congrats", "funding", "vp_sales", "mid_market")
    first = choose_variant(*args, ["A", "B", "NEW"], lead_rng(42, "c0001", "seq1"))
    again = choose_variant(*args, ["NEW", "B", "A"], lead_rng(42, "c0001", "seq1"))
    assert first == again
    assert first[1]["posteriors"]["NEW"] == {"alpha": 1.0, "beta": 1.0, "n": 0, "successes": 0, "mean": 0.5}
    picks = [choose_variant(*args, ["A", "B", "NEW"], lead_rng(42, f"c{i}", "seq1"))[0] for i in range(200)]
    assert picks.count("NEW") > 150  # a flat prior beats ~2-3% arms: the new variant gets traffic


def test_thompson_loop_shifts_to_the_better_variant_and_declares_it():
    """Choose with Thompson -> observe from hidden truth -> rebuild the bank nightly, for 30 days."""
    truth = Truth(variant_rates={"A": 0.04, "B": 0.06, "C": 0.16})
    sim = Simulator(truth, seed=11)
    history = pd.DataFrame()
    plays = build_bank(history, "2025-01-01").plays
    shares = []
    for day in range(30):
        today = sends(60, start=str(pd.Timestamp("2025-01-01") + pd.Timedelta(days=day)))
        today["message_id"] = [f"d{day}-{i}" for i in range(len(today))]
        today["variant"] = [choose_variant(plays, "funding_congrats", "funding", "vp_sales", "mid_market",
                                           ["A", "B", "C"], lead_rng(5, cid, f"d{day}"))[0]
                            for cid in today["contact_id"]]
        shares.append((today["variant"] == "C").mean())
        history = pd.concat([history, sim.observe(today, day=day)], ignore_index=True)
        plays = build_bank(history, pd.Timestamp("2025-01-01") + pd.Timedelta(days=day)).plays
    assert np.mean(shares[-7:]) > 0.7 > np.mean(shares[:3])
    result = declare(plays, "funding_congrats")
    assert result["winner"] == "C", result


def test_simulation_thompson_beats_uniform():
    rates = {"A": 0.04, "B": 0.06, "C": 0.09}
    ts = run_bandit_simulation(rates, days=40, sends_per_day=50, seed=1, policy="thompson")
    un = run_bandit_simulation(rates, days=40, sends_per_day=50, seed=1, policy="uniform")
    assert list(ts.columns) == ["day", "variant", "sends", "successes", "cumulative_regret"]
    assert ts.groupby("day")["sends"].sum().eq(50).all()
    last = lambda df: df[df["day"] == df["day"].max()]["cumulative_regret"].sum()  # noqa: E731
    assert last(ts) < 0.6 * last(un)
    assert ts.equals(run_bandit_simulation(rates, days=40, sends_per_day=50, seed=1, policy="thompson"))


def test_simulator_is_order_independent():
    frame = sends(300, {"A": 150, "B": 150})
    sim = Simulator(Truth({"A": 0.1, "B": 0.3}), seed=2)
    a = sim.observe(frame).set_index("message_id").sort_index()
    b = sim.observe(frame.iloc[::-1]).set_index("message_id").sort_index()
    assert a.equals(b)
    assert (~a["positive_reply"] | a["replied"]).all() and (~a["won"] | a["meeting_booked"]).all()


# --- proposals --------------------------------------------------------------------------------------

@pytest.fixture
def directive(tmp_path) -> Path:
    path = tmp_path / "directives" / "lead_processing.md"
    path.parent.mkdir()
    path.write_text(DIRECTIVE_FALLBACK)
    return path


def evidence_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """website_activity never precedes conversion; quiet days 4-6 already predict loss."""
    rng = np.random.default_rng(0)
    signals, outcomes = [], []
    for i in range(240):
        kind = ["funding", "hiring", "website_activity"][i % 3]
        domain = f"a{i}.example"
        signals.append({"domain": domain, "signal_type": kind, "detected_at": "2025-01-05"})
        converted = kind != "website_activity" and rng.random() < 0.35
        outcomes.append({"domain": domain, "sent_at": "2025-01-20", "meeting_booked": converted, "won": None})
    ghosts = []
    for i in range(300):
        idle = int(rng.integers(0, 12))
        p_lost = 0.15 if idle < 4 else 0.7
        ghosts.append({"opportunity_id": f"o{i}", "idle_days": idle, "stage": "Qualified",
                       "status": "lost" if rng.random() < p_lost else "won"})
    return pd.DataFrame(outcomes), pd.DataFrame(signals), pd.DataFrame(ghosts)


def test_proposals_are_valid_diffs_and_never_touch_the_directive(directive, tmp_path):
    outcomes, signals, ghosts = evidence_frames()
    before = directive.read_bytes()
    stat = directive.stat()
    bank = build_bank(with_results(sends(1), [False]), AS_OF)
    proposals = propose_directive_changes(bank, outcomes, signals, ghosts, directive, read_front_matter(before.decode()))
    by_key = {p.key: p for p in proposals}
    assert set(by_key) == {"intent.weights.website_activity", "ghosts.stall_days_default"}
    assert by_key["intent.weights.website_activity"].proposed < 10
    assert by_key["ghosts.stall_days_default"].proposed in range(1, 7)
    assert directive.read_bytes() == before and directive.stat().st_mtime_ns == stat.st_mtime_ns

    written = write_proposals(proposals, tmp_path / "proposals")
    assert sorted(p.name for p in written) == sorted(f"{p.stem}.{ext}" for p in proposals for ext in ("diff", "md"))
    for p in proposals:
        diff_file = tmp_path / "proposals" / f"{p.stem}.diff"
        dry = subprocess.run(["patch", "-p1", "--dry-run", "-i", str(diff_file)], cwd=tmp_path,
                             capture_output=True, text=True)
        assert dry.returncode == 0, dry.stdout + dry.stderr
        copy = tmp_path / "applied"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(tmp_path / "directives", copy / "directives")
        subprocess.run(["patch", "-p1", "-s", "-i", str(diff_file)], cwd=copy, check=True)
        applied = (copy / "directives" / "lead_processing.md").read_text()
        node = read_front_matter(applied)
        for part in p.key.split("."):
            node = node[part]
        assert node == p.proposed
        changed = [l for l in p.diff.splitlines() if l[:1] in "+-" and not l.startswith(("+++", "---"))]
        assert len(changed) == 2  # exactly one line out, one line in
        assert "| evidence | value |" in p.evidence_md
    assert directive.read_bytes() == before


def test_no_proposals_without_enough_evidence(directive):
    outcomes, signals, ghosts = evidence_frames()
    bank = build_bank(with_results(sends(1), [False]), AS_OF)
    assert propose_directive_changes(bank, outcomes, signals.head(20), ghosts.head(20), directive) == []


def test_front_matter_edit_keeps_comments_and_falls_back_for_flow_style():
    edited = set_front_matter_value(DIRECTIVE_FALLBACK, ("intent", "weights", "website_activity"), 4)
    assert "    website_activity: 4  # RB2B visits\n" in edited
    assert edited.replace("website_activity: 4  # RB2B visits", "website_activity: 10  # RB2B visits") == DIRECTIVE_FALLBACK
    staged = set_front_matter_value(DIRECTIVE_FALLBACK, ("ghosts", "stall_days_by_stage", "New Lead"), 9)
    assert read_front_matter(staged)["ghosts"]["stall_days_by_stage"] == {"New Lead": 9, "Proposal": 5}
    flow = "---\nintent: {weights: {funding: 30, hiring: 25}}\n---\nbody\n"
    out = set_front_matter_value(flow, ("intent", "weights", "hiring"), 12)
    assert read_front_matter(out) == {"intent": {"weights": {"funding": 30, "hiring": 12}}} and out.endswith("---\nbody\n")


@pytest.mark.skipif(not (PROJECT / "directives" / "lead_processing.md").exists(), reason="no project directive yet")
def test_real_directives_accept_edits_of_every_key_we_propose():
    for name, paths in (("lead_processing.md", [("intent", "weights", k) for k in
                                                ("funding", "hiring", "leadership_change", "product_launch", "website_activity")]),
                        ("ghost_hunting.md", [("ghosts", "stall_days_default")])):
        text = (PROJECT / "directives" / name).read_text()
        front = yaml.safe_load(text.split("---")[1])
        for path in paths:
            if front is None or _get(front, path) is None:
                continue
            edited = set_front_matter_value(text, path, 3)
            assert _get(read_front_matter(edited), path) == 3
            assert len([a for a, b in zip(text.splitlines(), edited.splitlines()) if a != b]) == 1


def _get(doc, path):
    for key in path:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc


# --- revops simulate ---------------------------------------------------------------------------------

def test_simulate_command_answers_system_emails_once_and_delivers_visits(tmp_path):
    from click.testing import CliRunner

    from revops_assets.emulators._server import DocStore
    from revops_assets.learning.commands import simulate
    from revops_assets.resources.inbox import VisitInbox

    sample = tmp_path / "sample"
    (sample / "truth").mkdir(parents=True)
    (sample / "rb2b").mkdir()
    (sample / "manifest.json").write_text(json.dumps({"as_of": "2026-01-10", "website": "https://www.us.example"}))
    (sample / "truth" / "email_variants.json").write_text(json.dumps(
        {"templates": {"intro": {"expected_reply_rate": {"A": 0.9, "B": 0.1}}}}))
    (sample / "truth" / "accounts.jsonl").write_text("".join(
        json.dumps({"domain": f"d{i}.example", "propensity": 0.2}) + "\n" for i in range(30)))
    (sample / "rb2b" / "visits.jsonl").write_text(json.dumps(
        {"Company Name": "D0", "Website": "https://d0.example", "Captured URL": "https://www.us.example/blog",
         "Seen At": "2025-12-01T10:00:00Z"}) + "\nnot json\n")
    store = DocStore(tmp_path / "emulators" / "ghl.sqlite")
    store.set_meta("seeded", "test")
    store.put_many("contacts", [(f"c{i}", {"id": f"c{i}", "website": f"https://d{i % 30}.example"}) for i in range(200)])
    store.put_many("opportunities", [(f"o{i}", {"id": f"o{i}", "contactId": f"c{i}", "status": "open"}) for i in range(200)])
    old = {"id": "hist", "contactId": "c1", "direction": "outbound", "dateAdded": "2025-12-01T10:00:00.000Z",
           "meta": {"template": "intro", "variant": "A"}}
    sent = [(f"m{i}", {"id": f"m{i}", "contactId": f"c{i}", "direction": "outbound", "subject": "Hi",
                       "dateAdded": "2026-01-11T09:00:00.000Z", "meta": {"template": "intro", "variant": "A"}})
            for i in range(200)]
    store.put_many("messages", [("hist", old), *sent])

    env = {"REVOPS_HOME": str(tmp_path), "REVOPS_ENV": "demo"}
    first = CliRunner().invoke(simulate, ["--days", "2", "--visits-per-day", "5"], env=env)
    assert first.exit_code == 0, first.output
    replies = [m for m in store.all("messages") if m["direction"] == "inbound"]
    assert 60 < len(replies) < 140 and {m["meta"]["inReplyTo"] for m in replies} <= {f"m{i}" for i in range(200)}
    won = [o for o in store.all("opportunities") if o["status"] == "won"]
    assert won and all(o["lastStatusChangeAt"].startswith("2026-01-11") for o in won)
    with VisitInbox(tmp_path / "inbox.sqlite") as inbox:
        assert inbox.count() == 10
    again = CliRunner().invoke(simulate, ["--days", "1", "--visits-per-day", "5"], env=env)
    assert again.exit_code == 0 and "day 3 (2026-01-13)" in again.output
    assert len([m for m in store.all("messages") if m["direction"] == "inbound"]) == len(replies)


def test_proposals_accept_the_asset_column_names(directive):
    outcomes, signals, ghosts = evidence_frames()
    signals = signals.rename(columns={"signal_type": "type", "detected_at": "published"})
    ghosts = ghosts.rename(columns={"idle_days": "days_stalled"})
    bank = build_bank(with_results(sends(1), [False]), AS_OF)
    keys = {p.key for p in propose_directive_changes(bank, outcomes, signals, ghosts, directive)}
    assert keys == {"intent.weights.website_activity", "ghosts.stall_days_default"}


def test_stall_lift_learns_from_earlier_ghost_lists(tmp_path):
    """A stall teaches when its deal closes, and by then the deal is off the day's ghost list: the bank
    reads the lists of earlier days from DuckDB (never later ones) and the statuses of the day."""
    from dagster_duckdb import DuckDBResource

    from revops_assets.assets.learning import ghost_history

    day = "2026-03-10"
    earlier = pd.DataFrame({
        "opportunity_id": [f"o{i}" for i in range(80)] + ["o0", "later"],
        "stall_pattern": ["went_dark"] * 40 + ["stuck_in_stage"] * 40 + ["went_dark", "went_dark"],
        "days_stalled": [9] * 80 + [12, 3],
        "snapshot_date": pd.to_datetime(["2026-02-01"] * 80 + ["2026-02-08", "2026-03-11"]),
    })
    db = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(db)) as conn:
        conn.execute("CREATE SCHEMA revops")
        conn.execute("CREATE TABLE revops.ghost_list AS SELECT * FROM earlier")
    today = pd.DataFrame({"opportunity_id": ["o80"], "stall_pattern": ["went_dark"], "days_stalled": [8],
                          "snapshot_date": pd.to_datetime([day])})
    status = ["lost"] * 36 + ["won"] * 4 + ["won"] * 20 + ["lost"] * 20 + ["open", "lost"]
    opportunities = pd.DataFrame({"opportunity_id": [f"o{i}" for i in range(81)] + ["later"], "status": status})

    ghosts = ghost_history(DuckDBResource(database=str(db)), today, opportunities, day)
    assert len(ghosts) == 81  # o0 once (its latest sighting), o80 from today, nothing from after the day
    assert "later" not in set(ghosts["opportunity_id"])
    assert ghosts.set_index("opportunity_id").loc["o0", "days_stalled"] == 12
    assert ghosts.set_index("opportunity_id").loc["o80", "status"] == "open"

    bank = build_bank(with_results(sends(1), [False]), AS_OF, ghosts=ghosts)
    assert bank.stall_baseline == {"n": 80, "lost": 56, "loss_rate": 0.7}
    reasons = bank.stall_reasons.set_index("stall_pattern")
    assert bool(reasons.loc["went_dark", "precedes_loss"]) and not bool(reasons.loc["stuck_in_stage", "precedes_loss"])
    # Without the earlier lists, today's list alone (one open deal) teaches nothing.
    assert build_bank(with_results(sends(1), [False]), AS_OF,
                      ghosts=today.assign(status="open")).stall_reasons.empty
