"""The directives as an asset: business rules under version control, visible in the UI.

Its data version is the hash of every directive's text, so once it is materialized after an edit,
everything that reads the rules shows stale; an unchanged edit (same text) does not. The
``directives_changed`` sensor (revops_assets/sensors/directives.py) materializes it when the text
changes, so nobody has to remember to.
"""


import warnings

import dagster as dg
import pandas as pd

from revops_assets.assets._common import DUCKDB_POOL, table_metadata
from revops_assets.directives import load_directives
from revops_assets.resources.core import RevOpsConfig


@dg.asset(group_name="directives", kinds={"markdown"}, pool=DUCKDB_POOL)
def directives(context: dg.AssetExecutionContext, revops: RevOpsConfig) -> dg.Output[pd.DataFrame]:
    """Every directive's parameters (validated front matter) and body; fails with file:line: field."""
    loaded = load_directives(revops.settings.directives_dir)
    df = pd.DataFrame(
        [
            {"name": name, "version": getattr(doc.params, "version", None), "content_hash": doc.content_hash,
             "params": doc.params.model_dump_json(), "body": doc.body}
            for name, doc in sorted(loaded.documents.items())
        ]
    )
    bodies = "\n\n---\n\n".join(f"### {name}.md\n\n{doc.body}" for name, doc in sorted(loaded.documents.items()))
    # Output(data_version=) is marked beta; it is the documented way to version an asset by its
    # content, and the warning would otherwise print on every run of every job.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.Output(
            df,
            data_version=dg.DataVersion(loaded.version),
            metadata=table_metadata(df, ["name", "version", "content_hash"], directive_version=loaded.version,
                                    directives=dg.MetadataValue.md(bodies)),
        )
