"""Ask the Digital Mind: the top passages for a question, optionally limited to one account.

An importable function first (meeting briefs call it), the ``revops ask`` command second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from revops_assets.settings import Settings, load_settings


@dataclass(frozen=True)
class Passage:
    source: str  # path relative to content/
    text: str
    score: float  # cosine similarity, 1.0 = same meaning
    metadata: dict[str, Any]


def normalize_account(account: str) -> str:
    """``https://www.Acme.com/`` -> ``acme.com``: accounts are stored as bare lowercase domains."""
    account = re.sub(r"^[a-z]+://", "", account.strip().lower())
    return account.split("/", 1)[0].removeprefix("www.")


def search(knowledge_dir: Path, question: str, account: str | None = None, k: int = 5,
           type: str | None = None) -> list[Passage]:
    """Nearest chunks to ``question`` in the index under ``knowledge_dir``."""
    from revops_assets.mind.index import open_collection

    if not question.strip() or k <= 0:
        return []
    coll = open_collection(knowledge_dir)
    filters = [{"account": normalize_account(account)}] if account else []
    filters += [{"type": type}] if type else []
    where = filters[0] if len(filters) == 1 else ({"$and": filters} if filters else None)
    n = min(k, coll.count())
    if n == 0:
        return []
    result = coll.query(query_texts=[question], n_results=n, where=where,
                        include=["documents", "metadatas", "distances"])
    return [Passage(source=str(meta.get("source", "")), text=doc, score=round(1.0 - float(dist), 4), metadata=dict(meta))
            for doc, meta, dist in zip(result["documents"][0], result["metadatas"][0], result["distances"][0])]


def ask(question: str, account: str | None = None, k: int = 5, settings: Settings | None = None,
        type: str | None = None) -> list[Passage]:
    """Top ``k`` passages for ``question`` (raises ``MindNotBuilt`` if the index was never built)."""
    settings = settings or load_settings()
    return search(settings.knowledge_dir, question, account=account, k=k, type=type)
