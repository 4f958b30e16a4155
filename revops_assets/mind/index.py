"""The persistent Chroma index of content/, rebuilt incrementally: only new text is ever embedded.

A chunk whose id (hash of source + text) is already stored is kept; a new chunk whose *text* is
stored under another id (a renamed file) reuses that vector; chunks of changed or deleted files are
deleted. A change of embedding model rebuilds the collection, since old vectors are not comparable.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings

from revops_assets.mind.chunking import MAX_CHARS, scan_content
from revops_assets.mind.embeddings import MindEmbeddingFunction, model_spec

COLLECTION = "digital_mind"
CHROMA_SUBDIR = "chroma"

_clients: dict[str, ClientAPI] = {}


class MindNotBuilt(LookupError):
    """No index yet: materialize ``digital_mind_index`` first."""


@dataclass
class IndexReport:
    chunks: int = 0
    files: int = 0
    embedded: int = 0  # texts run through the model in this run
    reused: int = 0  # chunks whose vector was already stored (same id, or same text under another id)
    deleted: int = 0
    updated: int = 0  # kept chunks whose metadata changed (no embedding needed)
    by_type: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    ignored: int = 0
    model: str = ""
    rebuilt: str = ""  # why the collection was recreated, if it was
    seconds: float = 0.0
    embed_seconds: float = 0.0


def client(knowledge_dir: Path) -> ClientAPI:
    path = str(Path(knowledge_dir) / CHROMA_SUBDIR)
    if path not in _clients:
        Path(path).mkdir(parents=True, exist_ok=True)
        _clients[path] = chromadb.PersistentClient(path=path, settings=ChromaSettings(anonymized_telemetry=False))
    return _clients[path]


def open_collection(knowledge_dir: Path, ef: MindEmbeddingFunction | None = None) -> Collection:
    """The existing index, with the embedding function it was built with (rebuilt from its stored config)."""
    if not (Path(knowledge_dir) / CHROMA_SUBDIR).is_dir():  # don't create an empty store just to say so
        raise MindNotBuilt(f"no Digital Mind index under {knowledge_dir}: materialize digital_mind_index first")
    db = client(knowledge_dir)
    if COLLECTION not in {c.name if hasattr(c, "name") else c for c in db.list_collections()}:
        raise MindNotBuilt(f"no Digital Mind index under {knowledge_dir}: materialize digital_mind_index first")
    return db.get_collection(COLLECTION, embedding_function=ef) if ef else db.get_collection(COLLECTION)


def _create(db: ClientAPI, ef: MindEmbeddingFunction) -> Collection:
    return db.create_collection(COLLECTION, embedding_function=ef, configuration={"hnsw": {"space": "cosine"}},
                                metadata={"model": ef.model})


def _batches(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def build_index(content_dir: Path, knowledge_dir: Path, model: str | None = None,
                transcripts_dir: Path | None = None, ef: MindEmbeddingFunction | None = None,
                max_chars: int = MAX_CHARS) -> IndexReport:
    """Bring the index in line with ``content_dir``; embeds only text it has never stored."""
    started = time.perf_counter()
    ef = ef or MindEmbeddingFunction(model=model_spec(model))
    report = IndexReport(model=ef.model)
    scan = scan_content(Path(content_dir), transcripts_dir, max_chars)
    report.files, report.skipped, report.ignored = scan.files, scan.skipped, len(scan.ignored)
    report.chunks = len(scan.chunks)
    report.by_type = dict(sorted(Counter(str(c.metadata["type"]) for c in scan.chunks).items()))

    db = client(knowledge_dir)
    try:
        coll = db.get_collection(COLLECTION, embedding_function=ef)
        stored_model = (coll.metadata or {}).get("model")
        if stored_model != ef.model:
            report.rebuilt = f"model changed from {stored_model!r} to {ef.model!r}"
            db.delete_collection(COLLECTION)
            coll = _create(db, ef)
    except (ValueError, chromadb.errors.NotFoundError) as exc:
        if "does not exist" not in str(exc) and not isinstance(exc, chromadb.errors.NotFoundError):
            report.rebuilt = f"unreadable collection config: {exc}"
            db.delete_collection(COLLECTION)
        coll = _create(db, ef)

    stored = coll.get(include=["metadatas"])
    stored_meta = dict(zip(stored["ids"], stored["metadatas"] or []))
    by_text = {m["text_hash"]: i for i, m in stored_meta.items() if m and "text_hash" in m}
    wanted = {c.id: c for c in scan.chunks}
    new = [c for cid, c in wanted.items() if cid not in stored_meta]
    changed_meta = [c for cid, c in wanted.items() if cid in stored_meta and stored_meta[cid] != c.metadata]
    gone = [i for i in stored_meta if i not in wanted]

    reusable = {c.id: by_text[c.metadata["text_hash"]] for c in new if c.metadata["text_hash"] in by_text}
    vectors: dict[str, Any] = {}
    if reusable:
        old = coll.get(ids=sorted(set(reusable.values())), include=["embeddings"])
        old_vec = dict(zip(old["ids"], old["embeddings"]))
        vectors = {cid: old_vec[oid] for cid, oid in reusable.items() if oid in old_vec}
    to_embed = [c for c in new if c.id not in vectors]
    if to_embed:
        t0 = time.perf_counter()
        vectors.update(zip((c.id for c in to_embed), ef([c.text for c in to_embed])))
        report.embed_seconds = time.perf_counter() - t0
    report.embedded = len(to_embed)
    report.reused = len(wanted) - len(to_embed)

    batch = db.get_max_batch_size()
    for part in _batches(new, batch):  # add before delete: an interrupted run never leaves a hole
        coll.add(ids=[c.id for c in part], documents=[c.text for c in part], metadatas=[c.metadata for c in part],
                 embeddings=[vectors[c.id] for c in part])
    for part in _batches(changed_meta, batch):
        coll.update(ids=[c.id for c in part], metadatas=[c.metadata for c in part])
    for part in _batches(gone, batch):
        coll.delete(ids=part)
    report.updated, report.deleted = len(changed_meta), len(gone)
    report.seconds = time.perf_counter() - started
    return report
