"""One tenant streaming must not hold back another tenant's deferred rebuild or its signals."""

import threading

from .conftest import client, eventually, line


def test_a_quiet_tenant_gets_its_rebuild_and_signals_while_another_tenant_streams(server):
    stop = threading.Event()

    def stream() -> None:
        with client(server) as c:
            i = 0
            while not stop.is_set():
                i += 1
                c.post("/api/v1/events/orders", json=[line(f"S{i}", sku="A2", quantity=1, event_id=f"s{i}")])

    senders = [threading.Thread(target=stream) for _ in range(2)]
    for t in senders:
        t.start()
    try:
        with client(server, tenant="brand-b") as b:
            b.post("/api/v1/events/orders", json=[line("B1", quantity=1, ts="2024-04-02T10:00:00")]).raise_for_status()
            spike = [line("B2", quantity=500, ts="2024-04-05T10:00:00", customer_id="c-new")]
            b.post("/api/v1/events/orders", json=spike).raise_for_status()  # its rebuild is left to later

            def rebuilt() -> bool:
                rows = {p["sku"]: p for p in b.get("/api/v1/products").json()}
                return rows["A1"]["last_sold"].startswith("2024-04-05T10:00")

            def signalled() -> bool:
                return any(s["kind"] == "demand_above_forecast" for s in b.get("/api/v1/signals").json()["signals"])

            assert eventually(signalled, timeout=15)
            assert eventually(rebuilt, timeout=15)
            assert all(t.is_alive() for t in senders)  # the other tenant was streaming all along
    finally:
        stop.set()
        for t in senders:
            t.join()
