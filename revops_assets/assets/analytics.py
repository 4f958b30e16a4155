"""COACH's analytics: every ``dbt_like_sql/*.sql`` file becomes a DuckDB-backed asset.

A model names its inputs with ``{{ ref('asset_name') }}``; the factory turns those into asset
dependencies and the SQL into a table ``analytics.<model>``, with the SQL shown in the metadata.
"""


import re
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from revops_assets.assets._common import DUCKDB_POOL, md_table
from revops_assets.warehouse import SCHEMA

REF = re.compile(r"\{\{\s*ref\(\s*['\"](\w+)['\"]\s*\)\s*\}\}")
ANALYTICS_SCHEMA = "analytics"


def compile_sql(sql: str) -> str:
    return REF.sub(lambda m: f"{SCHEMA}.{m.group(1)}", sql)


def sql_model(path: Path) -> dg.AssetsDefinition:
    sql = path.read_text(encoding="utf-8")
    refs = sorted(set(REF.findall(sql)))
    name = path.stem
    description = " ".join(line.lstrip("- ").strip() for line in sql.splitlines() if line.startswith("--")) or None

    @dg.asset(
        name=name, group_name="analytics", deps=refs, kinds={"duckdb", "sql"}, pool=DUCKDB_POOL,
        description=description, metadata={"sql": dg.MetadataValue.md(f"```sql\n{sql.strip()}\n```"), "source": str(path.name)},
    )
    def _model(context: dg.AssetExecutionContext, warehouse_db: DuckDBResource) -> dg.MaterializeResult:
        with warehouse_db.get_connection() as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {ANALYTICS_SCHEMA}")
            conn.execute(f"CREATE OR REPLACE TABLE {ANALYTICS_SCHEMA}.{name} AS {compile_sql(sql)}")
            df = conn.execute(f"SELECT * FROM {ANALYTICS_SCHEMA}.{name} ORDER BY ALL DESC LIMIT 10").df()
            rows = conn.execute(f"SELECT COUNT(*) FROM {ANALYTICS_SCHEMA}.{name}").fetchone()[0]
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, "preview": md_table(df), "table": f"{ANALYTICS_SCHEMA}.{name}"})

    return _model


def build_sql_models(sql_dir: Path) -> list[dg.AssetsDefinition]:
    return [sql_model(p) for p in sorted(Path(sql_dir).glob("*.sql"))]
