"""GET /live and /signals: the week so far against the stored forecast, signals raised on write, in order,
at most once per SKU, week and kind unless they escalate; tenants apart."""

import math

import pytest

from .conftest import client, eventually, line

HALF = "2024-04-04T12:00:00"  # Thursday noon: half of the week 2024-04-01 has gone
SD = max(40 / (2 * 1.2815515655446004) * math.sqrt(0.5), math.sqrt(35))  # sd of A1 (or A2) so far


def signals(c, **params) -> dict:
    return c.get("/api/v1/signals", params=params).json()


def test_live_prorates_the_forecast_and_scores_the_week_so_far(server):
    with client(server) as c:
        c.post("/api/v1/events/orders", json=[line("L1", quantity=40, ts=HALF), line("L2", quantity=5, ts=HALF)])
        live = c.get("/api/v1/live").json()
        assert (live["now"], live["week"], live["elapsed"]) == ("2024-04-04T12:00:00", "2024-04-01", 0.5)
        a1, a2 = live["skus"]
        assert (a1["sku"], a1["category"], a1["units"], a1["revenue"], a1["expected"]) == ("A1", "bags", 45, 90, 35)
        assert a1["score"] == pytest.approx(10 / SD, abs=1e-4)
        assert a1["p_tail"] == pytest.approx(0.5 * math.erfc(10 / SD / math.sqrt(2)), rel=1e-3)
        assert (a2["sku"], a2["units"], a2["expected"]) == ("A2", 0, 35)
        [bags] = live["categories"]
        assert (bags["category"], bags["units"], bags["expected"]) == ("bags", 45, 70)
        assert c.get("/api/v1/live", params={"sku": "A2"}).json()["skus"] == [a2]
        assert c.get("/api/v1/live", params={"category": "toys"}).json()["skus"] == []
        assert c.get("/api/v1/live", params={"sku": "", "category": ""}).json() == live


def test_signals_once_per_week_and_kind_again_when_they_escalate(server):
    with client(server) as c:
        c.post("/api/v1/events/orders", json=[line("S1", quantity=100, ts=HALF)])  # A1: z = 65 / sd, A2: -35 / sd
        first = eventually(lambda: signals(c)["signals"])
        assert [(s["id"], s["kind"], s["sku"], s["detail"]["severity"]) for s in first] == [
            ("1", "demand_above_forecast", "A1", 2),
            ("2", "reorder", "A1", 2),
            ("3", "demand_below_forecast", "A2", 1),
        ]
        reorder = first[1]["detail"]
        assert (reorder["quantity"], reorder["needed_by"], reorder["lead_time_weeks"]) == (65, "2024-04-08", 1)
        assert reorder["reason"].endswith(f"; make 65 more on top of the {reorder['planned']:,.0f} in the plan")
        assert first[0]["ts"] == "2024-04-04T12:00:00" and first[0]["detail"]["units"] == 100
        assert signals(c, since="3") == {"signals": [], "next": "3"}
        # more of the same severity: nothing new; past the next level: told again
        c.post("/api/v1/events/orders", json=[line("S2", quantity=1, ts=HALF)])
        assert c.get("/api/v1/live", params={"sku": "A1"}).json()["skus"][0]["units"] == 101
        c.post("/api/v1/events/orders", json=[line("S3", quantity=100, ts=HALF)])
        more = eventually(lambda: signals(c, since="3")["signals"])
        assert [(s["id"], s["kind"], s["detail"]["severity"]) for s in more] == [
            ("4", "demand_above_forecast", 3),
            ("5", "reorder", 3),
        ]
        assert signals(c, kinds="reorder")["signals"] == [first[1], more[1]]
        assert signals(c, since="1", kinds="demand_below_forecast,reorder")["next"] == "5"
        assert c.get("/api/v1/signals", params={"kinds": "nonsense"}).status_code == 422
        assert c.get("/api/v1/signals", params={"since": "x"}).status_code == 422


def test_a_reorder_one_customer_drives_says_so(server):
    """A bulk order by one customer can drive a re-order of a thousand units; the signal says whose week it is."""
    with client(server) as c:
        sent = [line("K1", quantity=100, ts=HALF, customer_id="bulk@example.com"), line("K2", quantity=2, ts=HALF)]
        sent.append(line("K3", quantity=1, ts=HALF, customer_id="someone-else"))
        c.post("/api/v1/events/orders", json=sent)
        reorder = eventually(lambda: signals(c, kinds="reorder")["signals"])[0]["detail"]
    assert (reorder["top_customer_share"], reorder["customers"]) == (round(100 / 103, 4), 2)  # K2: no customer
    assert reorder["reason"].endswith("; 97% of the week's units from one customer (of 2): a bulk order may not repeat")


def test_signals_are_per_tenant(server):
    with client(server, "brand-b") as b, client(server) as a:
        b.post("/api/v1/events/orders", json=[line("X1", quantity=100, ts=HALF)])
        assert len(eventually(lambda: signals(b)["signals"])) == 3
        assert signals(a) == {"signals": [], "next": "0"}
        assert a.get("/api/v1/live").json()["now"] == "2024-03-27T10:00:00"  # a's own latest order


def test_signals_a_stopped_process_did_not_raise_are_raised_at_start(store_db):
    import threading

    import httpx

    from supplyfit.live.events import store_events
    from supplyfit.store import Store

    from .conftest import live_server

    db, keys = store_db
    with Store(db) as st:  # events stored, then the process ends before raising their signals
        store_events(st, [[line("C1", quantity=100, ts=HALF)]], threading.Lock())
    with live_server(db) as url, httpx.Client(base_url=url, headers={"X-API-Key": keys["default:reader"]}) as c:
        raised = eventually(lambda: signals(c)["signals"])
        assert [(s["kind"], s["sku"]) for s in raised] == [
            ("demand_above_forecast", "A1"),
            ("reorder", "A1"),
            ("demand_below_forecast", "A2"),
        ]


def test_orders_loaded_from_a_file_raise_their_signals_when_the_server_starts(store_db, tmp_path):
    """The live view scores every order of the week, however it came; its signals do not wait for an event."""
    import httpx
    import pandas as pd

    from supplyfit.store import Store, ingest

    from .conftest import live_server

    db, keys = store_db
    week = pd.DataFrame([line("F1", quantity=100, ts=HALF)])
    week.to_csv(tmp_path / "week.csv", index=False)
    with Store(db) as st:
        ingest(st, tmp_path / "week.csv", "orders")
    with live_server(db) as url, httpx.Client(base_url=url, headers={"X-API-Key": keys["default:reader"]}) as c:
        raised = eventually(lambda: signals(c)["signals"])
        assert ("demand_above_forecast", "A1") in [(s["kind"], s["sku"]) for s in raised]
        assert signals(c, since=raised[-1]["id"])["signals"] == []  # once, not again on every start's reads


def test_a_sale_cancelled_within_a_day_is_not_demand_so_far_and_raises_no_signal(server):
    """As in the panel the forecast was fitted on: the same customer's return of the same SKU and quantity within
    a day takes the sale out of the week so far; a return days later, or another customer's, does not."""
    cancelled = [  # 500 units of A1 ordered and cancelled 16 minutes later, in one batch
        line("X1", quantity=500, ts="2024-04-02T10:00:00", customer_id="c1"),
        line("C1", quantity=-500, ts="2024-04-02T10:16:00", customer_id="c1"),
    ]
    kept = [
        line("K1", quantity=30, ts="2024-04-02T11:00:00", customer_id="c2"),
        line("K2", quantity=-30, ts="2024-04-02T11:05:00", customer_id="c3"),  # another customer's return
        line("K3", sku="A2", quantity=20, ts="2024-04-02T09:00:00", customer_id="c4"),
        line("K4", sku="A2", quantity=-20, ts="2024-04-04T12:00:00", customer_id="c4"),  # two days later: a return
        # a return on Monday of last Sunday's sale: that sale was last week's, this week's counts are untouched
        line("K5", sku="A2", quantity=7, ts="2024-03-31T20:00:00", customer_id="c5"),
        line("K6", sku="A2", quantity=-7, ts="2024-04-01T02:00:00", customer_id="c5"),
    ]
    with client(server) as c:
        c.post("/api/v1/events/orders", json=cancelled + kept)
        live = c.get("/api/v1/live").json()
        a1, a2 = live["skus"]
        assert (a1["sku"], a1["units"], a1["revenue"], a2["units"]) == ("A1", 30, 60, 20)
        assert live["categories"][0]["units"] == 50
        assert not [s for s in signals(c)["signals"] if s["kind"] == "demand_above_forecast"]
        # the same order, not cancelled: the week so far counts it, and it is well above the forecast
        c.post("/api/v1/events/orders", json=[line("X2", quantity=500, ts="2024-04-04T12:00:00", customer_id="c1")])
        assert c.get("/api/v1/live", params={"sku": "A1"}).json()["skus"][0]["units"] == 530
        raised = eventually(lambda: [s for s in signals(c)["signals"] if s["kind"] == "demand_above_forecast"])
        assert [s["sku"] for s in raised] == ["A1"]
