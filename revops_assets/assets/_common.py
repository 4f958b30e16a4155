"""Small helpers every asset module shares: the daily partitions, point-in-time bounds, metadata."""


import json
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable

import dagster as dg
import pandas as pd

# Scoring history starts here; a backfill can rescore any day since.
HISTORY_START = "2025-06-01"
# end_offset=1 makes today a partition: the daily cycle scores "as of now", backfills score the past.
daily_partitions = dg.DailyPartitionsDefinition(start_date=HISTORY_START, end_offset=1)

# Every step that reads or writes the DuckDB file claims a slot in this pool: DuckDB allows one
# writing process, so concurrent runs (backfills) queue instead of failing on the file lock.
DUCKDB_POOL = "duckdb"


def partition_day(context: dg.AssetExecutionContext) -> date:
    return date.fromisoformat(context.partition_key) if context.has_partition_key else utc_now().date()


def as_of(context: dg.AssetExecutionContext) -> datetime:
    """End of the partition's day (UTC), never later than now: nothing after it may be used."""
    end = datetime.combine(partition_day(context), time.max, tzinfo=timezone.utc)
    return min(end, utc_now())


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def to_utc(series: pd.Series) -> pd.Series:
    """Parse timestamps leniently to tz-aware UTC; unparseable values become NaT (callers quarantine).

    ISO strings as GoHighLevel's contacts and opportunities send them, and Unix epochs in
    milliseconds (13 digits, as its conversations and calendars send them) or seconds (10 digits).
    """
    if series.dtype.kind == "M":  # already timestamps
        return pd.to_datetime(series, utc=True)
    text = series.astype("string").str.strip()
    epochs = {unit: text.str.fullmatch(rf"\d{{{digits}}}").fillna(False).to_numpy(dtype=bool)
              for digits, unit in ((13, "ms"), (10, "s"))}
    parsed = pd.to_datetime(series.where(~(epochs["ms"] | epochs["s"])), utc=True, errors="coerce", format="mixed")
    for unit, epoch in epochs.items():
        if epoch.any():
            parsed[epoch] = pd.to_datetime(text[epoch].astype("int64"), unit=unit, utc=True)
    return parsed


def md_table(df: pd.DataFrame, n: int = 10, columns: Iterable[str] | None = None) -> dg.MetadataValue:
    view = df[list(columns)] if columns is not None else df
    if view.empty:
        return dg.MetadataValue.md("_(no rows)_")
    head = view.head(n).copy()
    for col in head.columns:
        head[col] = head[col].map(lambda v: _short(v))
    return dg.MetadataValue.md(head.to_markdown(index=False))


def _short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str) if isinstance(value, (list, dict)) else str(value)
    text = text.replace("|", "/").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def table_metadata(df: pd.DataFrame, preview_columns: Iterable[str] | None = None, **extra: Any) -> dict[str, Any]:
    """``dagster/row_count``, a markdown preview and any extra figures, for every table asset."""
    meta: dict[str, Any] = {"dagster/row_count": len(df), "preview": md_table(df, columns=preview_columns)}
    meta.update(extra)
    return meta


def histogram_md(values: pd.Series, bins: list[float], label: str = "score") -> dg.MetadataValue:
    """A text bar chart of a distribution: shown as markdown in the asset's metadata."""
    if values.empty:
        return dg.MetadataValue.md("_(no values)_")
    counts = pd.cut(values, bins=bins, include_lowest=True).value_counts(sort=False)
    top = max(int(counts.max()), 1)
    lines = [f"| {label} | count | |", "|---|---:|---|"]
    for interval, count in counts.items():
        lines.append(f"| {interval} | {int(count)} | {'█' * max(1 if count else 0, round(30 * count / top))} |")
    return dg.MetadataValue.md("\n".join(lines))


def json_col(values: Iterable[Any]) -> list[str]:
    return [json.dumps(v, default=str, sort_keys=True) for v in values]


def quarantine_frame(rows: pd.DataFrame, reason: pd.Series | str, source: str, key_col: str | None = None) -> pd.DataFrame:
    """Bad rows kept with a specific reason, never silently dropped."""
    if rows.empty:
        return pd.DataFrame(columns=["source", "record_key", "reason", "record"])
    reasons = reason if isinstance(reason, pd.Series) else pd.Series(reason, index=rows.index)
    return pd.DataFrame(
        {
            "source": source,
            "record_key": rows[key_col].astype(str) if key_col else rows.index.astype(str),
            "reason": reasons.astype(str).values,
            "record": [json.dumps(r, default=str) for r in rows.to_dict(orient="records")],
        }
    )


def days_between(later: pd.Series | datetime, earlier: pd.Series) -> pd.Series:
    return (later - earlier) / timedelta(days=1)
