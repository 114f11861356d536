"""Service under load: p50/p99 latency and throughput of read endpoints with 50 concurrent clients for 30 s,
while an upload of the whole 2009–2010 file runs; then checks that the upload lost and duplicated nothing.

    python benchmarks/service.py [--clients 50] [--seconds 30]

The store holds the UCI Online Retail II 2009–2010 data with every stage run. The server is `supplyfit serve`
in its own process on loopback; the clients are bare asyncio HTTP/1.1 keep-alive connections in this process
(both share the 2 cores, so the latencies include the load generator's own CPU use).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np
import uvloop

from _common import UCI
from supplyfit.api import create_key
from supplyfit.pipeline import run_all
from supplyfit.store import Store, ingest_orders


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def client(port: int, key: str, paths: list[str], until: float, out: list) -> None:
    """One closed-loop client on a keep-alive connection. A bare HTTP/1.1 client: httpx's own CPU cost per
    request (~2 ms) would otherwise be most of what is measured on 2 shared cores."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            path = random.choice(paths)
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--db", type=Path, help="prepared store to reuse (built here when missing)")
    ap.add_argument("--no-upload", action="store_true", help="read load only, for comparison")
    args = ap.parse_args()
    db = args.db or Path(tempfile.mkdtemp()) / "svc.duckdb"
    t0 = time.perf_counter()
    with Store(db) as st:
        if not st.has_table("forecasts"):
            ingest_orders(st, UCI, preset="uci-online-retail")
            run_all(st)
        st.con.execute("DELETE FROM orders WHERE tenant = 'uploader'; DELETE FROM quarantine WHERE tenant = "
                       "'uploader'; DELETE FROM loads WHERE tenant = 'uploader'")
        reader, writer = create_key(st, "default", "reader"), create_key(st, "uploader", "writer")
        skus = st.query("SELECT DISTINCT unique_id FROM forecasts WHERE level = 'sku' AND tenant = $tenant"
                        ).unique_id.tolist()
    print(f"store ready in {time.perf_counter() - t0:.0f} s ({len(skus):,} SKUs with forecasts)")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "supplyfit.cli", "serve", "--db", str(db), "--port", str(port)],
                              env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        random.seed(0)
        paths = ["/api/v1/indicators?freq=W", "/api/v1/indicators?freq=M&table=by_dimension&dimension=category",
                 "/api/v1/hotspots"] + [f"/api/v1/forecasts?unique_id={quote(s)}" for s in random.sample(skus, 200)]
        upload = {}

        def do_upload() -> None:
            time.sleep(2)
            with httpx.Client(base_url=base, timeout=600) as c, open(UCI, "rb") as f:
                t = time.perf_counter()
                r = c.post("/api/v1/uploads/orders", files={"file": (UCI.name, f, "application/octet-stream")},
                           data={"preset": "uci-online-retail"}, headers={"X-API-Key": writer})
                upload.update(r.json(), seconds=time.perf_counter() - t, code=r.status_code)

        th = threading.Thread(target=do_upload)
        if not args.no_upload:
            th.start()
        results: list = []
        until = time.perf_counter() + args.seconds
        start = time.perf_counter()

        async def run_clients() -> None:
            await asyncio.gather(*(client(port, reader, paths, until, results) for _ in range(args.clients)))

        uvloop.run(run_clients())
        elapsed = time.perf_counter() - start
        if not args.no_upload:
            th.join()
    finally:
        server.terminate()
        server.wait()
    lat = np.array([r[1] for r in results]) * 1000
    errors = sum(not r[2] for r in results)
    print(f"\n{args.clients} clients, {elapsed:.1f} s: {len(results):,} requests, {len(results) / elapsed:,.0f} req/s, "
          f"{errors} errors")
    print(f"{'endpoint':<22}{'n':>8}{'p50 ms':>9}{'p99 ms':>9}")
    for ep in sorted({r[0] for r in results}):
        x = np.array([r[1] for r in results if r[0] == ep]) * 1000
        print(f"{ep:<22}{len(x):>8,}{np.percentile(x, 50):>9.1f}{np.percentile(x, 99):>9.1f}")
    print(f"{'all':<22}{len(lat):>8,}{np.percentile(lat, 50):>9.1f}{np.percentile(lat, 99):>9.1f}")
    if args.no_upload:
        return
    with Store(db, tenant="uploader", read_only=True) as st:
        stored = st.query("SELECT count(*) AS n FROM orders WHERE tenant = $tenant").n[0]
        quarantined = st.query("SELECT count(*) AS n FROM quarantine WHERE tenant = $tenant").n[0]
    with Store(db, read_only=True) as st:
        ref = st.query("SELECT count(*) AS n FROM orders WHERE tenant = $tenant").n[0]
    print(f"\nupload during the run: HTTP {upload.get('code')}, {upload.get('seconds', 0):.1f} s, rows read "
          f"{upload.get('rows_read'):,} = stored {upload.get('stored'):,} + quarantined {upload.get('quarantined'):,} "
          f"+ duplicates {upload.get('duplicates'):,}")
    print(f"in the store: {stored:,} stored + {quarantined:,} quarantined; the same file loaded by the CLI stored "
          f"{ref:,} -> lost or duplicated rows: {abs(int(stored) - int(ref))}")


if __name__ == "__main__":
    main()
