"""Ghost hunting: open deals only, point in time, per-stage thresholds, and each stall pattern."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from revops_assets.scoring.ghosts import find_ghosts

AS_OF = date(2024, 6, 30)


def _opp(oid: str, stage: str, last_activity: str, status: str = "open", created: str = "2024-01-01") -> dict:
    return {"opportunity_id": oid, "contact_id": f"c-{oid}", "stage_name": stage, "status": status,
            "last_activity_at": last_activity, "last_stage_change_at": None, "created_at": created,
            "assigned_to": "ae-1", "name": f"Deal {oid}"}


def _frames():
    opps = pd.DataFrame([
        _opp("dark", "Proposal", "2024-06-20T10:00:00Z"),          # 10 days quiet in Proposal (threshold 5)
        _opp("fresh", "Proposal", "2024-06-29T10:00:00Z"),         # active yesterday
        _opp("demo", "Demo", "2024-06-15T10:00:00Z"),              # quiet after demo
        _opp("left", "Qualified", "2024-06-29T09:00:00Z"),         # active but the champion left
        _opp("won", "Proposal", "2024-05-01T00:00:00Z", status="won"),
        _opp("future", "Qualified", "2024-07-05T00:00:00Z"),       # touched only after as_of -> quiet at as_of
        _opp("later", "New Lead", "2024-07-02T00:00:00Z", created="2024-07-01"),  # did not exist yet
        _opp("stuck", "Discovery", "2024-06-29T12:00:00Z"),        # active, but 60 days in stage (median 10)
        _opp("nns", "Qualified", "2024-06-01T00:00:00Z"),          # quiet, note says no next step
    ])
    hist = [{"opportunity_id": o, "stage_name": s, "entered_at": t} for o, s, t in [
        ("dark", "Proposal", "2024-06-01"), ("fresh", "Proposal", "2024-06-25"), ("demo", "Demo", "2024-06-10"),
        ("left", "Qualified", "2024-06-20"), ("future", "Qualified", "2024-06-01"),
        ("future", "Proposal", "2024-07-04"),  # after as_of: must not count as stage or activity
        ("stuck", "Discovery", "2024-05-01"), ("nns", "Qualified", "2024-05-20"),
    ]]
    # completed Discovery stays of ~10 days on other (closed) deals -> median 10
    for i in range(6):
        hist += [{"opportunity_id": f"h{i}", "stage_name": "Discovery", "entered_at": f"2024-03-0{i + 1}"},
                 {"opportunity_id": f"h{i}", "stage_name": "Proposal", "entered_at": f"2024-03-{11 + i}"}]
    notes = pd.DataFrame([
        {"contact_id": "c-left", "body": "Jane Roe has left Acme (email bounced, LinkedIn shows a new role).", "date_added": "2024-06-29T09:00:00Z"},
        {"contact_id": "c-demo", "body": "Left a voicemail for Sam after the demo.", "date_added": "2024-06-14T09:00:00Z"},
        {"contact_id": "c-nns", "body": "Left a voicemail for Ana; no next step scheduled.", "date_added": "2024-06-02T09:00:00Z"},
        {"contact_id": "c-dark", "body": "Great call, they love it", "date_added": "2024-07-01T09:00:00Z"},  # after as_of
    ])
    return opps, pd.DataFrame(hist), notes


def test_ghost_list_patterns_and_point_in_time() -> None:
    opps, hist, notes = _frames()
    g = find_ghosts(opps, hist, notes, AS_OF, stall_days_default=7,
                    stall_days_by_stage={"Proposal": 5, "Qualified": 10, "New Lead": 14}).set_index("opportunity_id")
    assert set(g.index) == {"dark", "demo", "left", "future", "stuck", "nns"}
    assert g.loc["dark", "stall_pattern"] == "went dark after proposal"
    assert g.loc["dark", "stall_threshold"] == 5 and g.loc["dark", "days_stalled"] >= 10  # July note ignored
    assert g.loc["demo", "stall_pattern"] == "no reply after demo"
    assert g.loc["left", "stall_pattern"] == "champion left" and "has left" in g.loc["left", "stall_evidence"]
    assert g.loc["stuck", "stall_pattern"] == "stuck in stage beyond twice its median"
    assert g.loc["stuck", "stage_median_days"] == 10 and g.loc["stuck", "days_in_stage"] > 20
    assert g.loc["nns", "stall_pattern"] == "no next step"
    # the future deal was in Qualified at as_of (its Proposal entry and July activity come later)
    assert g.loc["future", "stage_name"] == "Qualified" and g.loc["future", "stall_pattern"] == "went quiet"
    assert g.loc["future", "days_stalled"] == 30.0
    assert "voicemail" not in str(g.loc["demo", "stall_patterns"])
    assert list(g["days_stalled"]) == sorted(g["days_stalled"], reverse=True)
    assert {"assigned_to", "name", "contact_id"} <= set(g.columns)  # opportunity columns pass through


def test_later_as_of_sees_later_activity() -> None:
    opps, hist, notes = _frames()
    g = find_ghosts(opps, hist, notes, "2024-07-06", stall_days_by_stage={"Proposal": 5})
    assert "future" not in set(g["opportunity_id"])  # touched on July 5
    assert "dark" in set(g["opportunity_id"])  # July 1 note makes it 5.x days quiet in Proposal (>= 5)


def test_empty_inputs() -> None:
    opps, hist, notes = _frames()
    g = find_ghosts(opps.iloc[:0], hist.iloc[:0], notes.iloc[:0], AS_OF)
    assert g.empty and "stall_pattern" in g.columns
    g = find_ghosts(opps, hist.iloc[:0], notes.iloc[:0], AS_OF)
    assert set(g["opportunity_id"]) >= {"dark", "demo"}


def test_ghost_list_problems_fail_on_impossible_rows() -> None:
    """The ghost_list check looks at facts find_ghosts does not filter on, so bad rows fail it."""
    from revops_assets.scoring.ghosts import ghost_list_problems

    opps, hist, notes = _frames()
    stages = ["New Lead", "Qualified", "Discovery", "Demo", "Proposal", "Negotiation"]
    g = find_ghosts(opps, hist, notes, AS_OF, stall_days_by_stage={"Proposal": 5})
    assert len(g) and ghost_list_problems(g, stages, AS_OF).empty
    bad = g.copy()
    bad.loc[0, "days_stalled"] = -2.0
    bad.loc[1, "last_activity"] = pd.Timestamp("2024-07-03")
    bad.loc[2, "stage_name"] = "Warp Speed"
    bad.loc[3, "days_in_stage"] = -1.0
    why = ghost_list_problems(bad, stages, AS_OF)
    assert why.to_dict() == {0: "days_stalled negative or missing", 1: "last activity after the day",
                             2: "stage not in the pipeline", 3: "days_in_stage negative"}


@pytest.mark.slow
def test_coach_assets_on_the_sample_workspace(tmp_path) -> None:
    """lead_scores and ghost_list materialized on a generated sample: some leads are High, all of
    them within the ICP; the imported stage history gives stage medians, so "stuck in stage beyond
    twice its median" fires; every check passes."""
    from datetime import datetime, timezone

    import dagster as dg

    from revops_assets.assets import all_assets
    from revops_assets.resources.registry import build_resources
    from revops_assets.sample.generator import write_sample
    from revops_assets.settings import load_settings

    home = tmp_path / "hive"
    write_sample(home / "sample", accounts=150, seed=7)
    settings = load_settings({"REVOPS_HOME": str(home), "REVOPS_ENV": "demo"})
    selection = ["directives", "ghl_pipelines", "ghl_contacts", "ghl_opportunities", "rb2b_visitors",
                 "enriched_accounts", "intent_signals", "intent_scores", "lead_scores", "ghost_list"]
    result = dg.materialize(all_assets(settings), selection=selection, resources=build_resources(settings),
                            partition_key=datetime.now(timezone.utc).date().isoformat())
    assert result.success
    checks = {(c.asset_key.to_user_string(), c.check_name): c.passed for c in
              (e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION")}
    assert {("lead_scores", "no_future_leakage"), ("ghost_list", "stall_facts_possible")} <= set(checks)
    assert all(checks.values()), checks

    leads = result.output_for_node("lead_scores")
    high = leads[leads["priority"] == "High"]
    assert len(high) >= 1 and high["icp_fit"].all()  # ~1% of leads since news must name the account (3 here)
    assert set(leads["priority"]) == {"High", "Medium", "Low"}

    ghosts = result.output_for_node("ghost_list")
    stuck = ghosts[ghosts["stall_patterns"].str.contains("stuck in stage beyond twice its median")]
    assert len(stuck) >= 1
    assert (stuck["days_in_stage"] > 2 * stuck["stage_median_days"]).all()
    assert ghosts["stage_median_days"].notna().any()
