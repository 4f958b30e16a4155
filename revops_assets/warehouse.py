"""Side tables in the DuckDB warehouse (quarantine, research cache, cost ledger, score history).

Asset outputs go through dagster-duckdb-pandas' IO manager; these helpers cover the few tables an
asset keeps beside its output, idempotently per partition so re-runs and backfills never duplicate.
"""

from __future__ import annotations

import duckdb
import pandas as pd
from dagster_duckdb import DuckDBIOManager
from dagster_duckdb_pandas import DuckDBPandasTypeHandler

SCHEMA = "revops"


def _ensure(conn: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> None:
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    # An object column with no value yet (e.g. a first quarantine with no bad row) would be created with
    # DuckDB type NULL, which refuses every later value: create such columns as text.
    df = df.astype({c: "string" for c in df.columns if df[c].dtype == object and df[c].isna().all()})
    conn.register("_incoming", df)
    try:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{table} AS SELECT * FROM _incoming LIMIT 0")
    finally:
        conn.unregister("_incoming")


def replace_where(conn: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame, **key: str) -> None:
    """Delete the rows matching ``key`` (e.g. asset=..., partition=...) and insert ``df`` in one transaction."""
    df = df.assign(**{k: v for k, v in key.items()})
    _ensure(conn, table, df)
    where = " AND ".join(f"{k} = ?" for k in key)
    conn.execute("BEGIN TRANSACTION")
    try:
        if key:
            conn.execute(f"DELETE FROM {SCHEMA}.{table} WHERE {where}", list(key.values()))
        if not df.empty:
            conn.register("_incoming", df)
            conn.execute(f"INSERT INTO {SCHEMA}.{table} BY NAME SELECT * FROM _incoming")
            conn.unregister("_incoming")
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise


def upsert(conn: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame, keys: list[str]) -> None:
    """Insert rows, replacing those with the same ``keys`` (the research cache is keyed by domain and kind)."""
    if df.empty:
        return
    _ensure(conn, table, df)
    conn.register("_incoming", df)
    try:
        cond = " AND ".join(f"t.{k} = i.{k}" for k in keys)
        conn.execute("BEGIN TRANSACTION")
        conn.execute(f"DELETE FROM {SCHEMA}.{table} t WHERE EXISTS (SELECT 1 FROM _incoming i WHERE {cond})")
        conn.execute(f"INSERT INTO {SCHEMA}.{table} BY NAME SELECT * FROM _incoming")
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.unregister("_incoming")


def read(conn: duckdb.DuckDBPyConnection, table: str, where: str = "", params: list | None = None) -> pd.DataFrame:
    """Rows of a side table, or an empty frame when it does not exist yet."""
    exists = conn.execute(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [SCHEMA, table]
    ).fetchone()[0]
    if not exists:
        return pd.DataFrame()
    sql = f"SELECT * FROM {SCHEMA}.{table}" + (f" WHERE {where}" if where else "")
    return conn.execute(sql, params or []).df()


def text_for_empty_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns with no value yet become text: DuckDB would type them NULL, refusing every later value."""
    empty = [c for c in df.columns if df[c].dtype == object and df[c].isna().all()]
    return df.astype({c: "string" for c in empty}) if empty else df


def evolve_to_table(connection: duckdb.DuckDBPyConnection, schema: str, table: str, obj: pd.DataFrame) -> pd.DataFrame:
    """``obj`` shaped for an insert by position into ``schema.table`` as it already exists: columns new
    to the table are added to it (typed from ``obj``) and go last, columns the output no longer has are
    kept as NULL. An upgrade that adds an output column then needs no migration and loses no history."""
    existing = [r[0] for r in connection.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position", [schema, table]).fetchall()]
    if not existing or list(obj.columns) == existing:
        return obj
    new = [c for c in obj.columns if c not in existing]
    if new:
        connection.register("_evolving", obj[new].head(0))
        try:
            types = dict(connection.execute("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM _evolving)").fetchall())
        finally:
            connection.unregister("_evolving")
        for column in new:
            connection.execute(f'ALTER TABLE {schema}.{table} ADD COLUMN IF NOT EXISTS "{column}" {types[column]}')
    return obj.reindex(columns=existing + new)


class TypedPandasTypeHandler(DuckDBPandasTypeHandler):
    """The library's pandas handler with three guarantees the daily cycle needs.

    An empty output still creates its (typed) table, so a first day with no visits, ghosts or
    quarantined rows does not leave downstream assets reading a table that does not exist; no
    column is ever typed NULL; and an output that gained a column since its table was created adds
    it to the table (:func:`evolve_to_table`). (The library handler skips empty frames, infers NULL
    for all-None columns and inserts by position.) Old rows of the partition are deleted by
    Dagster's DB I/O manager before this runs.
    """

    def handle_output(self, context, table_slice, obj: pd.DataFrame, connection):
        obj = evolve_to_table(connection, table_slice.schema, table_slice.table, text_for_empty_columns(obj))
        if not obj.empty:
            return super().handle_output(context, table_slice, obj, connection)
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {table_slice.schema}")
        connection.execute(f"CREATE TABLE IF NOT EXISTS {table_slice.schema}.{table_slice.table} AS SELECT * FROM obj")
        context.add_output_metadata({"dagster/partition_row_count" if context.has_partition_key else "dagster/row_count": 0})


class RevOpsDuckDBIOManager(DuckDBIOManager):
    """dagster-duckdb's IO manager with the typed pandas handler (the library's, extended, not replaced)."""

    @staticmethod
    def type_handlers():
        return [TypedPandasTypeHandler()]

    @staticmethod
    def default_load_type():
        return pd.DataFrame


def build_io_manager(database: str) -> RevOpsDuckDBIOManager:
    return RevOpsDuckDBIOManager(database=database, schema=SCHEMA)
