"""Real time under faults: a spike's signals reach a webhook within seconds, a receiver down for 30 s loses
nothing, and a server killed mid-stream (SIGKILL) loses or doubles no event and no signal.

The store is prepared as in ``benchmarks/live.py`` (orders before ``--week``, forecasts and plan); ``supplyfit
serve --webhook-allow 127.0.0.1`` runs in its own process with a webhook (registered before the server starts, so
the signals it raises at start are told too) to a receiver on loopback that checks every delivery's Standard
Webhooks signature (the ``standardwebhooks`` package). The week is streamed (``--repeat``
copies, ids suffixed) by ``--clients`` senders in three parts:

1. a third of the stream, then a spike: ``--spike`` SKUs forecast for the week and not sold in it get ten times
   their weekly forecast in one batch; timed from its acknowledgement to each SKU's ``demand_above_forecast`` at the
   receiver (the issue asks for 5 s);
2. the receiver is stopped, the second third streamed, and the receiver started again 30 s after it stopped;
3. the last third: half way, the server is killed (SIGKILL) and started again; senders retry their unacknowledged
   batches (the same event ids) until they are taken.

Then, once the outbox is empty and no signal was raised for 2 s, the store is read directly: every event id sent
is stored once or quarantined, none twice, and every signal the store raised reached the receiver, each with a
valid signature.

    python benchmarks/live_faults.py --repeat 3
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pandas as pd
import standardwebhooks
from live import events, prepare, serve, stream_arguments

from supplyfit.api import create_key
from supplyfit.live import webhooks
from supplyfit.store import Store

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
DOWN_S = 30.0  # how long the receiver is down
ALLOW_HOSTS = frozenset({"127.0.0.1"})
ALLOW = ["--webhook-allow", ",".join(ALLOW_HOSTS)]


class Receiver:
    """A webhook receiver on loopback: verifies each delivery's signature and records when each webhook-id
    first arrived (redeliveries are counted, not recorded again)."""

    def __init__(self, port: int):
        self.port = port
        self.hook: standardwebhooks.Webhook | None = None
        self.first: dict[str, tuple[float, dict]] = {}  # webhook-id -> (arrival, body)
        self.deliveries = self.bad = 0
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers["content-length"]))
                try:
                    assert receiver.hook is not None
                    receiver.hook.verify(body, {k.lower(): v for k, v in self.headers.items()})
                    ok = True
                except standardwebhooks.webhooks.WebhookVerificationError:
                    ok = False
                with receiver.lock:
                    receiver.deliveries += 1
                    receiver.bad += not ok
                    if ok:
                        receiver.first.setdefault(self.headers["webhook-id"], (time.perf_counter(), json.loads(body)))
                self.send_response(204 if ok else 400)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()

    def arrived(self, kind: str, sku: str) -> float | None:
        with self.lock:
            times = [t for t, b in self.first.values() if b.get("kind") == kind and b.get("sku") == sku]
        return min(times) if times else None


class Senders:
    """``clients`` threads POSTing batches in order; a batch whose request fails (the server is down) is sent
    again, with the same event ids, until the server takes it."""

    def __init__(self, url: str, key: str, clients: int):
        self.url, self.key, self.clients = url, key, clients
        self.retries = 0
        self.lock = threading.Lock()

    def send(self, batches: list[list[dict]], fault_after: int | None = None, fault=None) -> None:
        """Send every batch; with ``fault``, call it (on a thread of its own) once ``fault_after`` batches are
        taken, while the others are still being sent."""
        todo = list(reversed(batches))
        taken = threading.Event()

        def client() -> None:
            with httpx.Client(base_url=self.url, headers={"X-API-Key": self.key}, timeout=60) as c:
                while True:
                    with self.lock:
                        if not todo:
                            return
                        batch = todo.pop()
                        if fault_after is not None and len(batches) - len(todo) >= fault_after:
                            taken.set()
                    while True:
                        try:
                            c.post("/api/v1/events/orders", json=batch).raise_for_status()
                            break
                        except httpx.HTTPError:
                            with self.lock:
                                self.retries += 1
                            time.sleep(0.2)

        threads = [threading.Thread(target=client) for _ in range(self.clients)]
        if fault is not None:
            threads.append(threading.Thread(target=lambda: taken.wait() and fault()))
        for th in threads:
            th.start()
        for th in threads:
            th.join()


def spike(c: httpx.Client, lines: pd.DataFrame, skus: set[str], n: int) -> dict[str, float]:
    """``n`` SKUs forecast for the week and not sold in it, with ten times their weekly forecast (at least 50)."""
    view = {r["sku"]: r for r in c.get("/api/v1/live").json()["skus"]}
    quiet = sorted(
        (s for s in skus - set(lines["StockCode"]) if (view.get(s) or {}).get("forecast_week")),
        key=lambda s: -view[s]["forecast_week"],
    )[:n]
    return {s: max(50.0, round(10 * view[s]["forecast_week"])) for s in quiet}


def settle(c: httpx.Client, t: float, quiet: float = 2.0) -> float:
    """Seconds from ``t`` until the outbox is empty and no signal was raised for ``quiet`` seconds (the writer
    raises the last ones when writes pause): what is counted then is all there will be."""
    count = -1
    while time.perf_counter() - t < 600:
        while c.get("/api/v1/webhooks").json()[0]["pending"] and time.perf_counter() - t < 600:
            time.sleep(0.5)
        drained = time.perf_counter() - t
        now = len(c.get("/api/v1/signals", params={"limit": 10_000}).json()["signals"])
        if now == count:
            return drained
        count = now
        time.sleep(quiet)
    return time.perf_counter() - t


def main() -> None:
    ap = stream_arguments(__doc__, batch=100, clients=16, repeat=3, port=8766)
    ap.add_argument("--spike", type=int, default=3, help="SKUs given a spike")
    args = ap.parse_args()
    week = pd.Timestamp(args.week)
    receiver = Receiver(args.port + 1)
    with tempfile.TemporaryDirectory(prefix="supplyfit-faults-") as tmp:
        db = Path(tmp) / "live.duckdb"
        key, lines, skus = prepare(db, week, args.orders)
        with Store(db) as st:  # the webhook before the server: the signals it raises at start are told too
            admin = create_key(st, "default", "admin")
            hook = webhooks.create(st, f"http://127.0.0.1:{receiver.port}/hook", ["demand_above_forecast"], ALLOW_HOSTS)
        receiver.hook = standardwebhooks.Webhook(hook["secret"])
        sent = [e for copy in range(args.repeat) for e in events(lines, copy)]
        batches = [sent[i : i + args.batch] for i in range(0, len(sent), args.batch)]
        thirds = [batches[i * len(batches) // 3 : (i + 1) * len(batches) // 3] for i in range(3)]
        url = f"http://127.0.0.1:{args.port}"
        receiver.start()
        proc = serve(db, args.port, ALLOW)
        try:
            with httpx.Client(base_url=url, headers={"X-API-Key": admin}, timeout=60) as c:
                senders = Senders(url, key, args.clients)
                print(f"1. {len(sent):,} events in {len(batches)} batches of {args.batch}; first third, then a spike")
                senders.send(thirds[0])
                spiked = spike(c, lines, skus, args.spike)
                now = max(e["ts"] for b in thirds[0] for e in b)
                burst = [
                    {"order_id": f"SPIKE-{s}", "sku": s, "quantity": q, "unit_price": 1.0, "ts": now, "event_id": s}
                    for s, q in spiked.items()
                ]
                c.post("/api/v1/events/orders", json=burst).raise_for_status()
                acked = time.perf_counter()
                deadline = acked + 60
                while time.perf_counter() < deadline and any(
                    receiver.arrived("demand_above_forecast", s) is None for s in spiked
                ):
                    time.sleep(0.05)
                for s, q in spiked.items():
                    t = receiver.arrived("demand_above_forecast", s)
                    got = "not within 60 s" if t is None else f"{t - acked:.2f} s"
                    print(f"   spike of {q:,.0f} units on {s}: demand_above_forecast at the receiver after {got}")

                print(f"2. receiver stopped for {DOWN_S:.0f} s while the second third streams")
                down = time.perf_counter()
                receiver.stop()
                senders.send(thirds[1])
                time.sleep(max(0.0, DOWN_S - (time.perf_counter() - down)))
                waiting = c.get("/api/v1/webhooks").json()[0]["pending"]
                receiver.start()
                back = time.perf_counter()
                while c.get("/api/v1/webhooks").json()[0]["pending"] and time.perf_counter() - back < 600:
                    time.sleep(0.2)
                late = time.perf_counter() - back
                print(f"   {waiting} signals waited in the outbox; all delivered {late:.1f} s after it was back")
                print("3. last third; the server killed (SIGKILL) half way and started again")

                def kill() -> None:
                    nonlocal proc
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    t = time.perf_counter()
                    proc = serve(db, args.port, ALLOW)
                    print(f"   killed; serving again after {time.perf_counter() - t:.1f} s")

                senders.send(thirds[2], len(thirds[2]) // 2, kill)
                print(f"   senders retried {senders.retries} requests")
                t = time.perf_counter()
                drained = settle(c, t)
                told = [s["id"] for s in c.get("/api/v1/signals", params={"limit": 10_000}).json()["signals"]]
                wanted = {
                    s["id"]
                    for s in c.get(
                        "/api/v1/signals", params={"limit": 10_000, "kinds": "demand_above_forecast"}
                    ).json()["signals"]
                }
        finally:
            proc.terminate()
            proc.wait(30)
            receiver.stop()
        with Store(db) as st:
            stored, ids = st.con.execute(
                "SELECT count(*), count(DISTINCT event_id) FROM live_events WHERE tenant = 'default'"
            ).fetchone()
            orders_n = st.con.execute(
                "SELECT count(*) FROM orders WHERE tenant = 'default' AND load_id IN "
                "(SELECT load_id FROM loads WHERE starts_with(file, 'events') AND status = 'ok')"
            ).fetchone()[0]
            raws = [json.loads(r) for (r,) in st.con.execute("SELECT raw FROM quarantine").fetchall()]
    bad_ids = {r.get("event_id") for r in raws} - {None}
    all_ids = {e["event_id"] for e in sent} | {e["event_id"] for e in burst}
    print(
        f"events: {len(all_ids):,} sent; {stored:,} stored ({ids:,} distinct ids, {orders_n:,} order rows) + "
        f"{len(bad_ids):,} quarantined = {ids + len(bad_ids):,}: "
        + ("none lost or doubled" if stored == ids == orders_n and ids + len(bad_ids) == len(all_ids) else "MISMATCH")
    )
    missing = wanted - set(receiver.first)
    print(
        f"signals: {len(told):,} raised, {len(wanted):,} of the webhook's kind; {len(set(receiver.first) & wanted):,} "
        f"arrived ({len(missing)} missing), {receiver.deliveries:,} deliveries, {receiver.bad} bad signatures; "
        f"outbox empty {drained:.1f} s after the stream"
    )


if __name__ == "__main__":
    main()
