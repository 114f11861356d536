"""Webhooks: registered by admins on allowed hosts only, signed per Standard Webhooks, delivered from a
durable outbox: a receiver that is down and a server restart lose nothing, and a redelivery keeps its id."""

import httpx
from standardwebhooks import Webhook

from .conftest import Receiver, client, eventually, line, live_server

HALF = "2024-04-04T12:00:00"
SURGE = [line("W1", quantity=100, ts=HALF)]  # three signals: above (A1), reorder (A1), below (A2)


def test_allowlist_and_admin_only(store_db):
    db, keys = store_db
    admin = {"X-API-Key": keys["default:admin"]}
    with live_server(db) as url, httpx.Client(base_url=url, headers=admin) as c:
        for bad in ("http://localhost:1/x", "http://example.com/x", "ftp://127.0.0.1/x", "127.0.0.1:80"):
            r = c.post("/api/v1/webhooks", json={"url": bad, "kinds": ["reorder"]})
            assert r.status_code == 422, bad
        assert c.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:1/x", "kinds": ["other"]}).status_code == 422
        writer = {"X-API-Key": keys["default:writer"]}
        assert (
            c.post(
                "/api/v1/webhooks", json={"url": "http://127.0.0.1:1/x", "kinds": ["reorder"]}, headers=writer
            ).status_code
            == 403
        )
        assert c.get("/api/v1/webhooks", headers=writer).status_code == 403
    with live_server(db, webhook_allow=frozenset()) as url, httpx.Client(base_url=url, headers=admin) as c:
        r = c.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:1/x", "kinds": ["reorder"]})
        assert r.status_code == 422 and "--webhook-allow" in r.json()["detail"]


def test_signals_arrive_signed_once_at_matching_webhooks_of_their_tenant(server):
    everything, reorders, other = Receiver().start(), Receiver().start(), Receiver().start()
    try:
        with client(server, role="admin") as a, client(server, "brand-b", "admin") as b:
            for rec, kinds, c in (
                (everything, ["demand_above_forecast", "demand_below_forecast", "reorder"], a),
                (reorders, ["reorder"], a),
                (other, ["reorder"], b),
            ):
                made = c.post("/api/v1/webhooks", json={"url": rec.url, "kinds": kinds})
                assert made.status_code == 201 and made.json()["secret"].startswith("whsec_")
                rec.secret = made.json()["secret"]
            listed = a.get("/api/v1/webhooks").json()
            assert len(listed) == 2 and all("secret" not in w for w in listed)
            assert b.delete(f"/api/v1/webhooks/{listed[0]['id']}").status_code == 404  # not b's
            a.post("/api/v1/events/orders", json=SURGE)
            sent = eventually(lambda: a.get("/api/v1/signals").json()["signals"])
            assert eventually(lambda: len(everything.accepted) == 3 and len(reorders.accepted) == 1)
            assert sorted(everything.accepted, key=lambda x: x[0]) == [(s["id"], s) for s in sent]
            assert reorders.accepted == [(sent[1]["id"], sent[1])]
            assert other.accepted == [] and everything.bad_signatures == reorders.bad_signatures == 0
            assert eventually(
                lambda: all(
                    w["delivered"] == n and w["pending"] == 0 for w, n in zip(a.get("/api/v1/webhooks").json(), (3, 1))
                )
            )
            assert a.delete(f"/api/v1/webhooks/{listed[0]['id']}").status_code == 204
            assert len(a.get("/api/v1/webhooks").json()) == 1
    finally:
        for rec in (everything, reorders, other):
            rec.stop()


def test_signature_follows_the_standard_webhooks_spec():
    from supplyfit.live.webhooks import headers

    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the spec's example secret
    body = b'{"id":"7","kind":"reorder"}'
    h = headers(7, secret, body)
    assert Webhook(secret).verify(body, h) == {"id": "7", "kind": "reorder"}
    assert h["webhook-id"] == "7" and h["webhook-signature"].startswith("v1,")


def test_outbox_survives_a_receiver_down_and_a_server_restart(store_db):
    db, keys = store_db
    receiver = Receiver(fail_first=True)  # not started: deliveries fail until it is
    admin = {"X-API-Key": keys["default:admin"]}
    with live_server(db) as url, httpx.Client(base_url=url, headers=admin) as c:
        receiver.secret = c.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "kinds": ["demand_above_forecast", "demand_below_forecast", "reorder"]},
        ).json()["secret"]
        c.post("/api/v1/events/orders", json=SURGE)
        sent = eventually(lambda: c.get("/api/v1/signals").json()["signals"])
        assert eventually(lambda: c.get("/api/v1/webhooks").json()[0]["pending"] == 3)
    receiver.start()
    try:
        with live_server(db) as url, httpx.Client(base_url=url, headers=admin) as c:
            assert eventually(lambda: len(receiver.accepted) == 3)
            assert eventually(lambda: c.get("/api/v1/webhooks").json()[0]["delivered"] == 3)
        ids = [s["id"] for s in sent]
        assert sorted(receiver.refused) == sorted(ids)  # the first delivery of each failed (500) ...
        assert sorted(w for w, _ in receiver.accepted) == sorted(ids)  # ... and came again, once, with its id
        assert sorted((b for _, b in receiver.accepted), key=lambda s: s["id"]) == sent
    finally:
        receiver.stop()
