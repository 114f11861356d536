"""Service under load: p50/p99 latency and throughput of read endpoints with 50 concurrent clients, in two runs
of 30 s, each while an upload runs:

1. cached reads (a few hundred distinct answers, asked again and again) during an upload of the whole
   2009–2010 file; then checks that the upload lost and duplicated nothing;
2. cache misses: every request has parameters no request had before, so each one queries the store,
   during an upload of the 2010–2011 file.

    python benchmarks/service.py [--clients 50] [--seconds 30] [--db PATH]

The store holds the UCI Online Retail II 2009–2010 data with every stage run. The server is `supplyfit serve`
in its own process on loopback (its request log goes to a file); the clients are bare asyncio HTTP/1.1
keep-alive connections in this process (both share the 2 cores, so the latencies include the load
generator's own CPU use).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np
import uvloop
from _common import SHARED, UCI

from supplyfit.api import create_key
from supplyfit.pipeline import run_all
from supplyfit.store import Store, ingest_orders

UCI_LATER = SHARED / "online_retail" / "online_retail_II_2010_2011_to_may.parquet"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def client(port: int, key: str, next_path: Callable[[], str], until: float, out: list) -> None:
    """One closed-loop client on a keep-alive connection. A bare HTTP/1.1 client: httpx's own CPU cost per
    request (~2 ms) would otherwise be most of what is measured on 2 shared cores."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            path = next_path()
            t0 = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            out.append((path.split("?")[0], time.perf_counter() - t0, head[9:12] == b"200" and length is not None))
    except (OSError, asyncio.IncompleteReadError):
        out.append(("connection", time.perf_counter() - t0, False))
    finally:
        writer.close()


def upload_in_background(base: str, key: str, file: Path, out: dict) -> threading.Thread:
    """Upload ``file`` 2 s from now, on a thread; its answer, time and HTTP status go to ``out``."""

    def run() -> None:
        time.sleep(2)
        with httpx.Client(base_url=base, timeout=600) as c, open(file, "rb") as f:
            t = time.perf_counter()
            r = c.post(
                "/api/v1/uploads/orders",
                files={"file": (file.name, f, "application/octet-stream")},
                data={"preset": "uci-online-retail"},
                headers={"X-API-Key": key},
            )
            out.update(r.json(), seconds=time.perf_counter() - t, code=r.status_code)

    th = threading.Thread(target=run)
    th.start()
    return th


def measure(port: int, key: str, next_path: Callable[[], str], clients: int, seconds: float, title: str) -> None:
    """Run ``clients`` closed-loop clients for ``seconds`` and print latency per endpoint."""
    results: list = []
    until = time.perf_counter() + seconds
    start = time.perf_counter()

    async def run_clients() -> None:
        await asyncio.gather(*(client(port, key, next_path, until, results) for _ in range(clients)))

    uvloop.run(run_clients())
    elapsed = time.perf_counter() - start
    lat = np.array([r[1] for r in results]) * 1000
    errors = sum(not r[2] for r in results)
    print(
        f"\n{title}: {clients} clients, {elapsed:.1f} s: {len(results):,} requests, "
        f"{len(results) / elapsed:,.0f} req/s, {errors} errors"
    )
    print(f"{'endpoint':<22}{'n':>8}{'p50 ms':>9}{'p99 ms':>9}")
    for ep in sorted({r[0] for r in results}):
        x = np.array([r[1] for r in results if r[0] == ep]) * 1000
        print(f"{ep:<22}{len(x):>8,}{np.percentile(x, 50):>9.1f}{np.percentile(x, 99):>9.1f}")
    print(f"{'all':<22}{len(lat):>8,}{np.percentile(lat, 50):>9.1f}{np.percentile(lat, 99):>9.1f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--db", type=Path, help="prepared store to reuse (built here when missing)")
    args = ap.parse_args()
    db = args.db or Path(tempfile.mkdtemp()) / "svc.duckdb"
    t0 = time.perf_counter()
    with Store(db) as st:
        if not st.has_table("forecasts"):
            ingest_orders(st, UCI, preset="uci-online-retail")
            run_all(st)
        st.con.execute(
            "DELETE FROM orders WHERE tenant = 'uploader'; DELETE FROM quarantine WHERE tenant = "
            "'uploader'; DELETE FROM loads WHERE tenant = 'uploader'"
        )
        reader, writer = create_key(st, "default", "reader"), create_key(st, "uploader", "writer")
        skus = st.query(
            "SELECT DISTINCT unique_id FROM forecasts WHERE level = 'sku' AND tenant = $tenant"
        ).unique_id.tolist()
    print(f"store ready in {time.perf_counter() - t0:.0f} s ({len(skus):,} SKUs with forecasts)")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = db.with_suffix(".server.log")
    with open(log, "w") as server_log:
        server = subprocess.Popen(
            [sys.executable, "-m", "supplyfit.cli", "serve", "--db", str(db), "--port", str(port)],
            env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"},
            stderr=server_log,
        )
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        random.seed(0)
        paths = [
            "/api/v1/indicators?freq=W",
            "/api/v1/indicators?freq=M&table=by_dimension&dimension=category",
            "/api/v1/hotspots",
        ] + [f"/api/v1/forecasts?unique_id={quote(s)}" for s in random.sample(skus, 200)]
        upload: dict = {}
        th = upload_in_background(base, writer, UCI, upload)
        measure(port, reader, lambda: random.choice(paths), args.clients, args.seconds, "1. cached reads")
        th.join()
        fresh = itertools.count(1)  # every request's limit is new, so no answer is asked twice

        def miss() -> str:
            n = next(fresh)
            if n % 5:
                return f"/api/v1/forecasts?unique_id={quote(random.choice(skus))}&limit={8 + n}"
            return f"/api/v1/forecasts?level=category&limit={1000 + n}"

        second: dict = {}
        th2 = upload_in_background(base, writer, UCI_LATER, second)
        measure(port, reader, miss, args.clients, args.seconds, "2. cache misses (every request new)")
        th2.join()
    finally:
        server.terminate()
        server.wait()
    for name, up in (("1", upload), ("2", second)):
        print(
            f"\nupload during run {name}: HTTP {up.get('code')}, {up.get('seconds', 0):.1f} s, rows read "
            f"{up.get('rows_read'):,} = stored {up.get('stored'):,} + quarantined {up.get('quarantined'):,} "
            f"+ duplicates {up.get('duplicates'):,}"
        )
    with Store(db, tenant="uploader", read_only=True) as st:
        params = {"load": int(upload["load_id"])}
        stored = st.query("SELECT count(*) AS n FROM orders WHERE tenant = $tenant AND load_id = $load", params).n[0]
        quarantined = st.query(
            "SELECT count(*) AS n FROM quarantine WHERE tenant = $tenant AND load_id = $load", params
        ).n[0]
    with Store(db, read_only=True) as st:
        ref = st.query("SELECT count(*) AS n FROM orders WHERE tenant = $tenant").n[0]
    print(
        f"in the store from upload 1: {stored:,} stored + {quarantined:,} quarantined; the same file loaded by the "
        f"CLI stored {ref:,} -> lost or duplicated rows: {abs(int(stored) - int(ref))}"
    )
    print(f"server log: {log}")


if __name__ == "__main__":
    main()
