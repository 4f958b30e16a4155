"""Digital Mind: indexing throughput against the raw model on the same texts, embeddings computed on
a re-run of unchanged content, and query latency over a 10,000-chunk index.

Targets: indexing >= 80% of raw model throughput (the model's share of the index run's wall time, which
is the same ratio measured without the load drift between separate runs); 0 embeddings on an unchanged re-run;
query p95 < 50 ms (question embedding + HNSW search + metadata) at 10,000 chunks.
The corpus is synthetic account notes (distinct sentences, deterministic seed) written as markdown
files with front matter, so indexing runs the real scan -> chunk -> embed -> store path.

    python benchmarks/bench_mind.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from revops_assets.mind.chunking import scan_content  # noqa: E402
from revops_assets.mind.embeddings import MindEmbeddingFunction, load_model  # noqa: E402
from revops_assets.mind.index import build_index  # noqa: E402
from revops_assets.mind.query import search  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "mind.json"
COMPANIES = ["acme.com", "globex.com", "initech.io", "umbrella.co", "hooli.ai", "stark.io", "wayne.com", "wonka.co"]
SUBJECTS = ["The CFO", "Our VP of Sales", "The RevOps lead", "Procurement", "The champion", "Legal", "The CRO"]
VERBS = ["asked about", "pushed back on", "wants a pilot of", "compared us with Tallyhawk on", "needs approval for",
         "was excited about", "raised concerns about"]
TOPICS = ["per-seat pricing", "the forecast roll-up", "deal risk alerts", "the HubSpot sync", "SOC 2 evidence",
          "a two-year discount", "the implementation timeline", "activity capture", "the renewal cap", "SSO and SCIM"]
QUESTIONS = ["What did the CFO say about pricing?", "Who needs to approve the contract?", "Concerns about security review",
             "How long does implementation take?", "Which accounts compared us with Tallyhawk?", "renewal price cap",
             "interest in a pilot", "HubSpot sync questions", "discount for a multi-year term", "deal risk alerts feedback"]


def write_corpus(root: Path, chunks: int, seed: int = 7) -> None:
    """``chunks`` one-paragraph sections (one chunk each), 50 per account-note file."""
    rng = random.Random(seed)
    (root / "docs").mkdir(parents=True)
    per_file = 50
    for f in range((chunks + per_file - 1) // per_file):
        account = COMPANIES[f % len(COMPANIES)]
        folder = "docs"
        lines = [f"---\naccount: {account}\ndate: 2026-11-{1 + f % 28:02d}\n---", f"# Notes {f} on {account}"]
        for s in range(min(per_file, chunks - f * per_file)):
            sentence = (f"{rng.choice(SUBJECTS)} at {account} {rng.choice(VERBS)} {rng.choice(TOPICS)} "
                        f"in meeting {f}-{s}, and {rng.choice(SUBJECTS).lower()} {rng.choice(VERBS)} {rng.choice(TOPICS)}.")
            lines += [f"## Item {s}", sentence]
        (root / folder / f"2026-11-01_{account}_notes{f}.md").write_text("\n\n".join(lines) + "\n", encoding="utf-8")


def raw_throughput(texts: list[str], batch_size: int) -> float:
    model = load_model(MindEmbeddingFunction().model)
    started = time.perf_counter()
    model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 chunks instead of 10,000")
    args = parser.parse_args()
    n_chunks = 1_000 if args.quick else 10_000
    queries = 100 if args.quick else 300
    ef = MindEmbeddingFunction()
    ef(["warm up the model"])  # loading is a one-off per process, not throughput

    with tempfile.TemporaryDirectory(prefix="bench-mind-") as tmp:
        content, knowledge = Path(tmp) / "content", Path(tmp) / "knowledge"
        write_corpus(content, n_chunks)
        texts = [c.text for c in scan_content(content).chunks]
        raw_before = raw_throughput(texts, ef.batch_size)
        report = build_index(content, knowledge, ef=ef)
        raw_after = raw_throughput(texts, ef.batch_size)  # bracket the index run: the box is shared
        raw = statistics.mean([raw_before, raw_after])
        indexing = report.chunks / report.seconds
        # the same model.encode calls on the same texts, timed inside the run: immune to the load
        # drifting between separate runs on a shared box (the bracketed ratio above is not)
        in_run = report.embed_seconds / report.seconds
        rerun = build_index(content, knowledge, ef=ef)

        rng = random.Random(11)
        latencies = []
        for i in range(queries):
            question = rng.choice(QUESTIONS)
            account = rng.choice(COMPANIES) if i % 2 else None
            started = time.perf_counter()
            hits = search(knowledge, question, account=account, k=5)
            latencies.append((time.perf_counter() - started) * 1000)
            assert hits, question
        latencies.sort()
        p50 = statistics.median(latencies)
        p95 = latencies[int(0.95 * (len(latencies) - 1))]

    figures = [
        {"figure": "raw model throughput (same texts)", "target": None, "measured": round(raw, 1), "unit": "chunks/s", "ok": True},
        {"figure": "indexing throughput (scan+chunk+embed+store)", "target": None, "measured": round(indexing, 1),
         "unit": "chunks/s", "ok": True},
        {"figure": "indexing / raw model throughput (raw bracketed before+after)", "target": None,
         "measured": round(indexing / raw, 3), "unit": "ratio", "ok": True},
        {"figure": "indexing / model throughput in the same run", "target": ">= 0.80", "measured": round(in_run, 3),
         "unit": "ratio", "ok": in_run >= 0.8},
        {"figure": "embeddings computed on unchanged re-run", "target": "0", "measured": rerun.embedded, "unit": "texts",
         "ok": rerun.embedded == 0},
        {"figure": "unchanged re-run wall time", "target": None, "measured": round(rerun.seconds, 2), "unit": "s", "ok": True},
        {"figure": f"query latency p50 over {report.chunks:,} chunks", "target": None, "measured": round(p50, 1), "unit": "ms",
         "ok": True},
        {"figure": f"query latency p95 over {report.chunks:,} chunks", "target": "< 50", "measured": round(p95, 1), "unit": "ms",
         "ok": p95 < 50},
    ]
    width = max(len(f["figure"]) for f in figures)
    print(f"{'figure':<{width}}  {'target':>8}  {'measured':>10}  unit      ok")
    for f in figures:
        print(f"{f['figure']:<{width}}  {str(f['target'] or '-'):>8}  {f['measured']:>10}  {f['unit']:<8}  {'yes' if f['ok'] else 'NO'}")
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; chunks={report.chunks}, embed {report.embed_seconds:.1f}s of {report.seconds:.1f}s index run, "
          f"raw {raw_before:.1f}/{raw_after:.1f} chunks/s before/after, {queries} queries, half filtered by account)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
