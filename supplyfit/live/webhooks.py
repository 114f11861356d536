"""Webhooks: signals POSTed to the receivers a tenant registers, from a durable outbox in the store.

Every delivery is signed per the Standard Webhooks spec (``webhook-id`` = the signal id, ``webhook-timestamp``,
``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed by the secret after ``whsec_``),
with the ``standardwebhooks`` package. A webhook's secret is derived from the store's secret (kept outside the
DuckDB file); the file holds only its fingerprint. A signal's outbox rows are written in the transaction that stores it;
a delivery is marked done only after a 2xx answer, so a restart or a receiver that is down loses nothing:
failed attempts are retried with exponential backoff (``Backoff``: 1 s doubling to at most 10 min, for 24 h),
and a redelivery keeps its webhook-id. Receivers may only be on hosts the operator allows
(``supplyfit serve --webhook-allow HOST[,HOST...]``; none by default), checked when registered and when sent.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

import pandas as pd
from standardwebhooks import Webhook

from ..store import Store
from ..store.sql import transaction
from .signals import KINDS, message, utcnow

TIMEOUT_S = 5.0


class Refused(ValueError):
    """A webhook that may not be registered (bad URL, host not allowed, unknown kind)."""


@dataclass(frozen=True)
class Backoff:
    """Retry schedule: ``first`` seconds after the first failure, doubling up to ``cap``, until ``give_up``
    seconds after the signal's first attempt (default: a day; the spec asks for at least an hour)."""

    first: float = 1.0
    cap: float = 600.0
    give_up: float = 86_400.0

    def delay(self, attempts: int) -> float:
        return min(self.first * 2 ** max(attempts - 1, 0), self.cap)


def check_url(url: str, allow: frozenset[str]) -> str:
    """``url`` if it is http(s) on an allowed host; :class:`Refused` otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"webhook url must be http:// or https:// with a host, not {url[:200]!r}")
    if parts.hostname.lower() not in allow:
        allowed = ", ".join(sorted(allow)) or "none (start the server with --webhook-allow HOST)"
        raise Refused(f"host {parts.hostname!r} is not allowed for webhooks; allowed: {allowed}")
    return url


def create(store: Store, url: str, kinds: list[str], allow: frozenset[str]) -> dict:
    """Register a webhook of the store's tenant: {id, url, kinds, secret}; the answer is the secret's only copy
    given out."""
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or not kinds:
        raise Refused(f"kinds must be a non-empty list of {', '.join(KINDS)}; unknown: {', '.join(unknown)}")
    check_url(url, allow)
    hook_id = "wh_" + secrets.token_hex(8)
    secret = signing_secret(store, store.tenant, hook_id)
    fingerprint = "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:16]
    store.con.execute(
        "INSERT INTO live_webhooks VALUES (?, ?, ?, ?, ?, ?)",
        [hook_id, store.tenant, url, ",".join(sorted(set(kinds))), fingerprint, utcnow()],
    )
    return {"id": hook_id, "url": url, "kinds": sorted(set(kinds)), "secret": secret}


def signing_secret(store: Store, tenant: str, hook_id: str) -> str:
    """A webhook's secret, derived from the store's secret (which lives outside the DuckDB file, see
    :mod:`supplyfit.store.privacy`): the file holds only a fingerprint, so a copy of it signs nothing."""
    mac = hmac.new(store.key, f"webhook\x1f{tenant}\x1f{hook_id}".encode(), hashlib.sha256).digest()
    return "whsec_" + base64.b64encode(mac[:24]).decode()


def listing(store: Store) -> list[dict]:
    """The tenant's webhooks (never their secrets) with their deliveries pending, done and given up."""
    rows = store.con.execute(
        """
        SELECT w.webhook_id, w.url, w.kinds, w.created,
               count(o.signal_id) FILTER (WHERE o.delivered IS NULL AND o.gave_up IS NULL) AS pending,
               count(o.delivered) AS delivered, count(o.gave_up) AS gave_up
        FROM live_webhooks w LEFT JOIN live_outbox o USING (webhook_id)
        WHERE w.tenant = ? GROUP BY ALL ORDER BY w.created, w.webhook_id""",
        [store.tenant],
    ).fetchall()
    return [
        {
            "id": r[0],
            "url": r[1],
            "kinds": r[2].split(","),
            "created": pd.Timestamp(r[3]).isoformat(),
            "pending": r[4],
            "delivered": r[5],
            "gave_up": r[6],
        }
        for r in rows
    ]


def delete(store: Store, hook_id: str) -> bool:
    """Remove a webhook of the tenant and its pending deliveries; False if it has none by that id."""
    with transaction(store.con) as con:
        gone = con.execute(
            "DELETE FROM live_webhooks WHERE webhook_id = ? AND tenant = ? RETURNING 1", [hook_id, store.tenant]
        ).fetchall()
        con.execute(
            "DELETE FROM live_outbox WHERE webhook_id = ? AND tenant = ? AND delivered IS NULL",
            [hook_id, store.tenant],
        )
    return bool(gone)


@dataclass
class Delivery:
    """One due outbox row, with what is needed to send it."""

    signal_id: int
    webhook_id: str
    attempts: int
    url: str
    secret: str
    body: bytes


def due(store: Store, limit: int = 100) -> list[Delivery]:
    """Outbox rows (all tenants) due now, oldest signal first."""
    rows = store.con.execute(
        """
        SELECT o.signal_id, o.webhook_id, o.attempts, w.url, w.tenant, s.kind, s.sku, s.ts, s.detail
        FROM live_outbox o JOIN live_webhooks w USING (webhook_id) JOIN live_signals s USING (signal_id)
        WHERE o.delivered IS NULL AND o.gave_up IS NULL AND o.next_at <= ?
        ORDER BY o.signal_id, o.webhook_id LIMIT ?""",
        [utcnow(), limit],
    ).fetchall()
    out = []
    for sid, hook, attempts, url, tenant, kind, sku, ts, detail in rows:
        body = json.dumps(message(sid, kind, sku, ts, detail), ensure_ascii=False, separators=(",", ":")).encode()
        out.append(Delivery(sid, hook, attempts, url, signing_secret(store, tenant, hook), body))
    return out


def headers(signal_id: int | str, secret: str, body: bytes, when: dt.datetime | None = None) -> dict[str, str]:
    """Standard Webhooks headers of one delivery."""
    when = when or dt.datetime.now(dt.UTC)
    msg_id = str(signal_id)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when, body.decode()),
        "content-type": "application/json",
        "user-agent": "supplyfit-webhooks",
    }


def send(d: Delivery, allow: frozenset[str]) -> str | None:
    """POST one delivery; None when the receiver answered 2xx, else why not."""
    try:
        check_url(d.url, allow)
    except Refused as e:
        return str(e)
    req = urllib.request.Request(d.url, data=d.body, method="POST", headers=headers(d.signal_id, d.secret, d.body))
    try:
        with _OPENER.open(req, timeout=TIMEOUT_S) as resp:
            return None if 200 <= resp.status < 300 else f"HTTP {resp.status}"
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code}"
    except (OSError, ValueError) as e:
        return f"{type(e).__name__}: {e}"[:300]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a hop: following it could leave the allowed hosts."""

    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


_OPENER = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))


def record(store: Store, d: Delivery, error: str | None, backoff: Backoff) -> None:
    """Mark a delivery done, or schedule its retry; give up once the delays waited reach ``backoff.give_up``
    (each retry waits at least its delay, so a receiver gets at least that long to come back)."""
    now, attempts = utcnow(), d.attempts + 1
    if error is None:
        store.con.execute(
            "UPDATE live_outbox SET delivered = ?, attempts = ?, last_error = NULL "
            "WHERE signal_id = ? AND webhook_id = ?",
            [now, attempts, d.signal_id, d.webhook_id],
        )
        return
    waited = sum(backoff.delay(a) for a in range(1, attempts))
    store.con.execute(
        "UPDATE live_outbox SET attempts = ?, next_at = ?, last_error = ?, gave_up = ? "
        "WHERE signal_id = ? AND webhook_id = ?",
        [
            attempts,
            now + dt.timedelta(seconds=backoff.delay(attempts)),
            error,
            now if waited >= backoff.give_up else None,
            d.signal_id,
            d.webhook_id,
        ],
    )
