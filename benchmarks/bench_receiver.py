"""Receiver throughput, latency and loss: `revops receiver` in a subprocess, hammered over loopback.

    python benchmarks/bench_receiver.py            # 5,000 visits, 32 in flight
    python benchmarks/bench_receiver.py --quick    # 500 visits

Every request is a distinct visit, so "lost" = visits answered ``accepted`` minus visits in the inbox.
The client runs on the same machine and shares its CPUs, so figures are a floor for the server.

Load generator: by default a minimal HTTP/1.1 keep-alive client on asyncio streams (stdlib only).
``httpx.AsyncClient`` is available with ``--client httpx``, but at 32 requests in flight its connection
pool becomes the bottleneck (encode/httpx#3215: measured here ~200 req/s and p99 ~0.6 s against
``/healthz``, which the raw client drives at ~2,500 req/s), so it would benchmark itself, not the receiver.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from revops_assets.resources.inbox import VisitInbox  # noqa: E402

TOKEN = "bench-token-not-secret"
TARGET_RPS = 500.0
TARGET_P99_MS = 50.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def visit(i: int) -> bytes:
    return json.dumps({
        "LinkedIn URL": f"https://www.linkedin.com/in/bench-{i}/", "First Name": "Bench", "Last Name": f"P{i}",
        "Title": "VP Sales", "Company Name": f"Co {i % 97}", "Business Email": f"p{i}@co{i % 97}.com",
        "Website": f"https://co{i % 97}.com", "Industry": "Software", "Employee Count": "200-500",
        "Estimate Revenue": "$22M rev", "City": "Austin", "State": "Texas", "Zipcode": "73301",
        "Seen At": "2024-01-01T12:34:56:00.00+00.00", "Referrer": "https://google.com",
        "Captured URL": f"https://example.com/{['pricing', 'blog', 'demo'][i % 3]}", "Tags": "Hot Pages, Hot Leads",
    }).encode()


def start_receiver(home: Path, port: int) -> subprocess.Popen:
    revops = Path(sys.executable).with_name("revops")
    cmd = [str(revops)] if revops.exists() else [sys.executable, "-c", "from revops_assets.cli import main; main()"]
    env = os.environ | {"REVOPS_HOME": str(home), "REVOPS_ENV": "demo", "RB2B_WEBHOOK_TOKEN": TOKEN}
    proc = subprocess.Popen([*cmd, "receiver", "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"receiver exited early: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("receiver did not become healthy within 60 s")


class RawHTTP:
    """One keep-alive HTTP/1.1 connection; just enough protocol for JSON requests and answers."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, target: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (f"POST {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self.writer.write(head + body)
        await self.writer.drain()
        status_line, *header_lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
        payload = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return int(status_line.split()[1]), payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def hammer(host: str, port: int, target: str, first: int, n: int, concurrency: int,
                 client: str = "raw") -> tuple[list[float], dict[str, int], float]:
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    todo = iter(range(first, first + n))

    def record(status: int, payload: bytes, t0: float) -> None:
        latencies.append((time.perf_counter() - t0) * 1000)
        key = json.loads(payload)["status"] if status == 200 else f"http_{status}"
        outcomes[key] = outcomes.get(key, 0) + 1

    async def raw_worker() -> None:
        conn = RawHTTP(host, port)
        try:
            for i in todo:
                t0 = time.perf_counter()
                try:
                    record(*(await conn.post(target, visit(i))), t0)
                except (OSError, asyncio.IncompleteReadError) as exc:
                    outcomes[f"error_{type(exc).__name__}"] = outcomes.get(f"error_{type(exc).__name__}", 0) + 1
                    await conn.close()
        finally:
            await conn.close()

    started = time.perf_counter()
    if client == "raw":
        await asyncio.gather(*(raw_worker() for _ in range(concurrency)))
    else:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=15) as http:
            async def httpx_worker() -> None:
                for i in todo:
                    t0 = time.perf_counter()
                    try:
                        r = await http.post(f"http://{host}:{port}{target}", content=visit(i),
                                            headers={"content-type": "application/json"})
                        record(r.status_code, r.content, t0)
                    except httpx.TransportError as exc:
                        outcomes[f"error_{type(exc).__name__}"] = outcomes.get(f"error_{type(exc).__name__}", 0) + 1

            await asyncio.gather(*(httpx_worker() for _ in range(concurrency)))
    return latencies, outcomes, time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of a process (Linux /proc); 0.0 where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 requests instead of 5,000")
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw", help="load generator (see module doc)")
    args = parser.parse_args()
    n = args.requests or (500 if args.quick else 5000)
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="bench-receiver-") as tmp:
        home = Path(tmp)
        port = free_port()
        proc = start_receiver(home, port)
        target = f"/webhooks/rb2b?token={TOKEN}"
        try:
            # Warm-up (imports, first connections, page cache); its visits count in the loss check too.
            _, warm, _ = asyncio.run(hammer("127.0.0.1", port, target, 10_000_000, 100, 8, args.client))
            cpu_before = cpu_seconds(proc.pid)
            latencies, outcomes, wall = asyncio.run(hammer("127.0.0.1", port, target, 0, n, args.concurrency, args.client))
            server_cpu_us = (cpu_seconds(proc.pid) - cpu_before) / n * 1e6
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        with VisitInbox(home / "inbox.sqlite") as inbox:
            stored = inbox.count()
            quarantined = len(inbox.quarantined())
        accepted = outcomes.get("accepted", 0) + warm.get("accepted", 0)
        lost = accepted - stored

    rps = n / wall
    failures = n - outcomes.get("accepted", 0)
    rows = [
        {"figure": "throughput", "target": f">= {TARGET_RPS:.0f}", "measured": round(rps, 1), "unit": "req/s",
         "ok": rps >= TARGET_RPS},
        {"figure": "latency p50", "target": "-", "measured": round(percentile(latencies, 50), 2), "unit": "ms", "ok": True},
        {"figure": "latency p95", "target": "-", "measured": round(percentile(latencies, 95), 2), "unit": "ms", "ok": True},
        {"figure": "latency p99", "target": f"< {TARGET_P99_MS:.0f}", "measured": round(percentile(latencies, 99), 2),
         "unit": "ms", "ok": percentile(latencies, 99) < TARGET_P99_MS},
        {"figure": "latency max", "target": "< 15000 (RB2B cut-off)", "measured": round(max(latencies), 2), "unit": "ms",
         "ok": max(latencies) < 15_000},
        {"figure": "lost visits (accepted - stored)", "target": "0", "measured": lost, "unit": "visits", "ok": lost == 0},
        {"figure": "requests not accepted", "target": "0", "measured": failures, "unit": "requests", "ok": failures == 0},
        {"figure": "quarantined", "target": "0", "measured": quarantined, "unit": "bodies", "ok": quarantined == 0},
        {"figure": "receiver CPU per request", "target": "-", "measured": round(server_cpu_us, 1),
         "unit": "us", "ok": True},
        # Context, not a target: other work on the machine shares the CPUs and the disk with both sides.
        {"figure": "1-min load average before the run", "target": "-", "measured": round(load_before, 2),
         "unit": f"on {os.cpu_count()} CPUs", "ok": True},
    ]

    print(f"\nRB2B receiver: {n} distinct visits, concurrency {args.concurrency}, {args.client} client, loopback, "
          f"{os.cpu_count()} CPUs shared by client and server; outcomes {outcomes}\n")
    width = max(len(r["figure"]) for r in rows)
    print(f"{'figure':<{width}}  {'target':>24}  {'measured':>10}  unit      ok")
    for r in rows:
        print(f"{r['figure']:<{width}}  {r['target']:>24}  {r['measured']:>10}  {r['unit']:<8}  {'yes' if r['ok'] else 'NO'}")
    out = ROOT / "benchmarks" / "results" / "receiver.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")
    sys.exit(0 if all(r["ok"] for r in rows) else 1)


if __name__ == "__main__":
    main()
