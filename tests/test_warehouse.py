"""The warehouse IO manager: an empty first day still makes a typed table, and no column is typed NULL."""

from __future__ import annotations

import dagster as dg
import duckdb
import pandas as pd

from revops_assets.warehouse import build_io_manager

DAYS = dg.DailyPartitionsDefinition(start_date="2026-11-01")
META = {"partition_expr": "snapshot_date"}


@dg.asset(partitions_def=DAYS, metadata=META)
def visits_today() -> pd.DataFrame:
    """A day with no visits: an empty frame."""
    return pd.DataFrame({"domain": pd.Series([], dtype=object), "n": pd.Series([], dtype="int64"),
                         "snapshot_date": pd.Series([], dtype="datetime64[ns]")})


@dg.asset(partitions_def=DAYS, metadata=META)
def engaged(visits_today: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"visits": [len(visits_today)], "error": [None], "snapshot_date": [pd.Timestamp("2026-11-20")]})


def test_empty_output_creates_a_typed_table_and_no_column_is_null(tmp_path):
    db = str(tmp_path / "w.duckdb")
    result = dg.materialize([visits_today, engaged], partition_key="2026-11-20", resources={"io_manager": build_io_manager(db)})
    assert result.success
    assert result.output_for_node("engaged")["visits"].tolist() == [0]
    with duckdb.connect(db, read_only=True) as conn:
        types = dict(((t, c), ty) for t, c, ty in conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'revops'").fetchall())
    assert types[("visits_today", "domain")] == "VARCHAR"
    assert types[("engaged", "error")] == "VARCHAR"  # all None, still text: a later error message fits
    assert "NULL" not in types.values()


def test_an_output_that_gains_a_column_adds_it_to_the_existing_table(tmp_path):
    """An upgrade adds ``stage_median_days`` to ghost_list: the table made by the old version takes it
    (last, typed), old rows keep NULL there, and a column the output dropped is kept as NULL; the
    library alone would insert by position and fail (or shift values into the wrong columns)."""
    db = str(tmp_path / "w.duckdb")
    days = dg.DailyPartitionsDefinition(start_date="2026-11-01")

    by_day = {"partition_expr": "day"}

    @dg.asset(name="ghosts", partitions_def=days, metadata=by_day)
    def old_ghosts(context) -> pd.DataFrame:
        return pd.DataFrame({"deal": ["d1"], "days_stalled": [9], "note": ["old"], "day": [pd.Timestamp(context.partition_key)]})

    @dg.asset(name="ghosts", partitions_def=days, metadata=by_day)
    def new_ghosts(context) -> pd.DataFrame:
        return pd.DataFrame({"stage_median_days": [4.5], "deal": ["d2"], "days_stalled": [12], "day": [pd.Timestamp(context.partition_key)]})

    io = {"io_manager": build_io_manager(db)}
    assert dg.materialize([old_ghosts], partition_key="2026-11-20", resources=io).success
    assert dg.materialize([new_ghosts], partition_key="2026-11-21", resources=io).success
    with duckdb.connect(db) as conn:
        types = dict(conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_name = 'ghosts' ORDER BY ordinal_position").fetchall())
        rows = conn.execute("SELECT deal, days_stalled, note, stage_median_days FROM revops.ghosts ORDER BY deal").fetchall()
    assert list(types) == ["deal", "days_stalled", "note", "day", "stage_median_days"] and types["stage_median_days"] == "DOUBLE"
    assert rows == [("d1", 9, "old", None), ("d2", 12, None, 4.5)]
