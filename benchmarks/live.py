"""Real time, end to end: replay a real week of orders into a running server and measure how fast events are
taken, how soon they show in /live, and how fast /live reads.

The orders up to ``--week`` are loaded (``--orders``: the UCI 2009-2010 file beside the checkout, else the bundled
sample), forecasts and the production plan made (`forecast`, `plan` stages); then ``supplyfit serve`` runs in its
own process and the week's lines are POSTed to /api/v1/events/orders in batches, by ``--clients`` concurrent clients
(threads on the standard library's HTTP client, see :class:`Conn`), in time order. ``--repeat`` replays the week
that many times (order and event ids suffixed, so each copy is new events) to stream long enough to measure. Each
client sends its next batch as soon as the last is acknowledged. Reported: events/s (lines sent / wall time of the
stream; and per CPU-second of the server, which a busy shared machine does not skew), POST -> visible in /live (p50,
p99: from sending a batch until /live shows at least every acknowledged unit of one of its SKUs, found by a prober
thread that reads the whole view every 50 ms, so that no sender waits for it), and /live read latency (p50, p99) of
a reader (a process of its own) polling the whole view during the stream.

    python benchmarks/live.py --batch 1000 --clients 8 --repeat 30
"""

from __future__ import annotations

import argparse
import http.client
import math
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import orjson
import pandas as pd
from _common import UCI

from supplyfit.pipeline import sample_path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# s between the prober's reads of the whole /live view: the resolution of "visible" (a read of a real shop's view
# is ~1 MB of JSON; parsing it every 10 ms took the senders' process a third of a core from the server it measures)
PROBE_EVERY = 0.05


def prepare(db: Path, week: pd.Timestamp, source: Path) -> tuple[str, pd.DataFrame, set[str]]:
    """The store with the orders of ``source`` (UCI Online Retail columns) before ``week``, forecasts and plan;
    a writer key; the week's lines; the SKUs forecast for that week."""
    from supplyfit.api import create_key
    from supplyfit.pipeline import stage
    from supplyfit.store import Store, load_frame

    orders = pd.read_parquet(source)
    with Store(db) as st:
        load_frame(st, orders[orders["InvoiceDate"] < week], "orders", "history", db.parent, preset="uci-online-retail")
        for name in ("demand", "supply"):
            print(f"  {name}: {stage(name).run(st)}", flush=True)
        key = create_key(st, "default", "writer")
        forecast = {
            r[0]
            for r in st.con.execute("SELECT unique_id FROM forecasts WHERE level = 'sku' AND ds = ?", [week]).fetchall()
        }
    nxt = orders[(orders["InvoiceDate"] >= week) & (orders["InvoiceDate"] < week + pd.Timedelta(weeks=1))]
    return key, nxt.sort_values("InvoiceDate", kind="stable").reset_index(drop=True), forecast


def events(lines: pd.DataFrame, copy: int) -> list[dict]:
    """The week's lines as order events; copy ``copy`` gets its own order and event ids."""
    out = []
    for i, r in enumerate(lines.itertuples(index=False)):
        cid = r._6
        out.append(
            {
                "order_id": f"{r.Invoice}~{copy}",
                "sku": r.StockCode,
                "description": r.Description,
                "quantity": int(r.Quantity),
                "unit_price": float(r.Price),
                "ts": r.InvoiceDate.isoformat(),
                "region": r.Country,
                "customer_id": None if pd.isna(cid) else str(int(cid)),
                "event_id": f"{copy}-{i}",
            }
        )
    return out


def serve(db: Path, port: int, options: Sequence[str] = ()) -> subprocess.Popen:
    """``supplyfit serve`` on ``db`` in a process of its own (with ``options``), once it answers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "supplyfit.cli", "serve", "--db", str(db), "--port", str(port), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


class Conn:
    """One keep-alive HTTP/1.1 connection of the standard library's client, with the key. The stream's own clients
    use it rather than httpx: 32 threads of ``httpx.Client`` took 3.6 CPU-s of a 7 s run on the 2 cores the
    server shares, ``http.client`` 1.0 (senders and prober), so the figures measure the server rather than its
    clients."""

    def __init__(self, url: str, key: str, timeout: float = 120):
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        self.headers = {"X-API-Key": key}

    def call(self, method: str, path: str, body: bytes | None = None) -> bytes:
        """The answer's body; an HTTP error raises."""
        headers = self.headers if body is None else {**self.headers, "Content-Type": "application/json"}
        self.conn.request(method, path, body=body, headers=headers)
        answer = self.conn.getresponse()
        data = answer.read()
        if answer.status >= 400:
            raise RuntimeError(f"{method} {path}: {answer.status} {data[:200]!r}")
        return data

    def close(self) -> None:
        self.conn.close()


class Stream:
    """Clients sending batches in order (each takes the next batch, and sends its next one as soon as the server
    has acknowledged it), and one prober that finds when each acknowledged batch shows in /live."""

    def __init__(self, url: str, key: str, batches: list[list[dict]], probe_skus: set[str]):
        self.url, self.key, self.batches, self.probe_skus = url, key, batches, probe_skus
        self.next = 0
        self.acked: dict[str, float] = defaultdict(float)  # units of each SKU acknowledged (plain sales only)
        self.pending: list[tuple[float, str, float]] = []  # (sent at, SKU, units /live must show) per batch
        self.visible: list[float] = []
        self.missed = 0
        self.counts = defaultdict(int)
        self.lock = threading.Lock()
        self.sent = threading.Event()

    def take(self) -> list[dict] | None:
        with self.lock:
            if self.next >= len(self.batches):
                return None
            self.next += 1
            return self.batches[self.next - 1]

    def client(self) -> None:
        c = Conn(self.url, self.key)
        try:
            while (batch := self.take()) is not None:
                units = defaultdict(float)
                for e in batch:
                    sale = e["quantity"] > 0 < e["unit_price"] and not e["order_id"].startswith("C")
                    if e["sku"] in self.probe_skus and sale:  # a line /live counts (a free one is quarantined)
                        units[e["sku"]] += e["quantity"]
                body = orjson.dumps(batch)
                t0 = time.perf_counter()
                answer = orjson.loads(c.call("POST", "/api/v1/events/orders", body))
                with self.lock:
                    for k, v in answer.items():
                        self.counts[k] += v
                    for sku, u in units.items():
                        self.acked[sku] += u
                    if units:  # the batch's biggest probed SKU must show at least every unit acknowledged so far
                        probe = max(units, key=units.get)
                        self.pending.append((t0, probe, self.acked[probe]))
        finally:
            c.close()

    def prober(self) -> None:
        """Until every batch is sent and resolved: read the whole /live view, and each waiting batch whose SKU
        shows its units is visible (timed from its POST to the end of that read; missed after 30 s). One read
        serves every waiting batch, and no sender waits for it: a sender that waited would measure its own
        round trips, not how fast the server takes events."""
        c = Conn(self.url, self.key, timeout=60)
        try:
            while not (self.sent.is_set() and not self.pending):
                if not self.pending:
                    time.sleep(0.005)
                    continue
                view = orjson.loads(c.call("GET", "/api/v1/live"))  # a fifth of json's CPU, taken from the server
                shown = {row["sku"]: row["units"] for row in view["skus"]}
                now = time.perf_counter()
                with self.lock:
                    waiting, self.pending = self.pending, []
                    for t0, sku, need in waiting:
                        if shown.get(sku, 0.0) >= need - 1e-6:
                            self.visible.append(now - t0)
                        elif now - t0 > 30:
                            self.missed += 1
                        else:
                            self.pending.append((t0, sku, need))
                time.sleep(PROBE_EVERY)
        finally:
            c.close()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used: what the server spent, whatever else the machine ran."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reader(url: str, key: str, stop: Any, out: Connection) -> None:
    """Poll the whole /live view until ``stop``; send the latencies back. Run in a process of its own, so that
    the senders' JSON work (and their GIL) does not count as read latency."""
    times = []
    c = Conn(url, key, timeout=60)
    while not stop.is_set():
        t0 = time.perf_counter()
        c.call("GET", "/api/v1/live")
        times.append(time.perf_counter() - t0)
        time.sleep(0.02)
    c.close()
    out.send(times)


def stream_arguments(doc: str, batch: int, clients: int, repeat: int, port: int) -> argparse.ArgumentParser:
    """The options of a replayed stream (week, batch, clients, repeat, port, orders), with these defaults."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--week", default="2010-11-15", help="Monday of the week replayed (history ends before it)")
    ap.add_argument("--batch", type=int, default=batch, help="lines per POST (100-1,000)")
    ap.add_argument("--clients", type=int, default=clients, help="concurrent senders")
    ap.add_argument("--repeat", type=int, default=repeat, help="copies of the week streamed")
    ap.add_argument("--port", type=int, default=port)
    ap.add_argument(
        "--orders",
        type=Path,
        default=UCI if UCI.exists() else sample_path("sample_orders.parquet"),
        help="orders file with UCI Online Retail columns (default: the UCI 2009-2010 file beside the checkout, "
        "else the bundled sample)",
    )
    return ap


def main() -> None:
    args = stream_arguments(__doc__, batch=1000, clients=8, repeat=30, port=8765).parse_args()
    week = pd.Timestamp(args.week)
    with tempfile.TemporaryDirectory(prefix="supplyfit-live-bench-") as tmp:
        db = Path(tmp) / "live.duckdb"
        t = time.perf_counter()
        key, lines, skus = prepare(db, week, args.orders)
        print(
            f"prepared in {time.perf_counter() - t:.1f} s from {args.orders.name}: {len(lines):,} lines in the week "
            f"of {week:%Y-%m-%d}"
        )
        sent = [e for copy in range(args.repeat) for e in events(lines, copy)]
        batches = [sent[i : i + args.batch] for i in range(0, len(sent), args.batch)]
        proc = serve(db, args.port)
        url = f"http://127.0.0.1:{args.port}"
        try:
            stream, stop = Stream(url, key, batches, skus), multiprocessing.Event()
            mine, theirs = multiprocessing.Pipe()
            rd = multiprocessing.Process(target=reader, args=(url, key, stop, theirs))
            rd.start()
            t0, cpu0, own0 = time.perf_counter(), cpu_seconds(proc.pid), cpu_seconds(os.getpid())
            clients = [threading.Thread(target=stream.client) for _ in range(args.clients)]
            probe = threading.Thread(target=stream.prober)
            for th in [*clients, probe]:
                th.start()
            for th in clients:
                th.join()
            wall, cpu = time.perf_counter() - t0, cpu_seconds(proc.pid) - cpu0
            own = cpu_seconds(os.getpid()) - own0
            stream.sent.set()
            probe.join()
            stop.set()
            reads = mine.recv()
            rd.join()
            with httpx.Client(base_url=url, headers={"X-API-Key": key}) as c:
                quiet = []
                for _ in range(200):
                    t1 = time.perf_counter()
                    c.get("/api/v1/live").raise_for_status()
                    quiet.append(time.perf_counter() - t1)
                signals = len(c.get("/api/v1/signals", params={"limit": 10_000}).json()["signals"])
                commits = sum(
                    x["file"].startswith("events") for x in c.get("/api/v1/loads", params={"limit": 1000}).json()
                )
        finally:
            proc.terminate()
            proc.wait(30)
    vis = np.array([v for v in stream.visible if not math.isnan(v)])
    ms = lambda a, q: f"{np.percentile(np.array(a) * 1000, q):.0f} ms"
    print(
        f"events: {len(sent):,} in {len(batches)} batches of {args.batch} by {args.clients} clients "
        f"({dict(stream.counts)}); {commits} commits ({len(sent) / max(commits, 1):,.0f} lines each); {signals} signals"
    )
    print(
        f"throughput: {len(sent) / wall:,.0f} events/s ({wall:.1f} s); the server used {cpu:.1f} CPU-s: "
        f"{len(sent) / cpu:,.0f} events per CPU-second (senders and prober: {own:.1f} CPU-s); "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"POST -> visible in /live: p50 {ms(vis, 50)}, p99 {ms(vis, 99)} ({len(vis)} probes, {stream.missed} missed)")
    print(
        f"/live read during the stream: p50 {ms(reads, 50)}, p99 {ms(reads, 99)} ({len(reads)} reads); "
        f"quiet: p50 {ms(quiet, 50)}, p99 {ms(quiet, 99)}"
    )


if __name__ == "__main__":
    main()
