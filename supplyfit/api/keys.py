"""API keys: created per tenant and role, stored only as a SHA-256 hash, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass

import pandas as pd

from ..store import Store
from .cache import ByteLRU

ROLES = ("reader", "writer", "admin")
RANK = {r: i for i, r in enumerate(ROLES)}


@dataclass(frozen=True)
class Caller:
    """Who is calling: the tenant every query is scoped to, and what they may do."""

    key_id: str
    tenant: str
    role: str

    def can(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(store: Store, tenant: str, role: str = "reader") -> str:
    """A new key ``sf_<id>_<secret>`` for ``tenant``; the returned text is the only copy of it."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not tenant or len(tenant) > 64 or not all(c.isalnum() or c in "-_." for c in tenant):
        raise ValueError("tenant must be 1-64 letters, digits, '-', '_' or '.'")
    key_id = secrets.token_hex(4)
    key = f"sf_{key_id}_{secrets.token_urlsafe(24)}"
    store.con.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?, now(), NULL)", [key_id, tenant, role, _hash(key)])
    return key


def verify(store: Store, key: str | None) -> Caller | None:
    """The caller a key belongs to, or None for a missing, malformed, unknown or revoked key."""
    if not key or not key.startswith("sf_") or key.count("_") < 2 or len(key) > 200:
        return None
    key_id = key.split("_", 2)[1]
    row = store.con.execute(
        "SELECT tenant, role, key_hash FROM api_keys WHERE key_id = ? AND revoked IS NULL", [key_id]
    ).fetchone()
    if row is None or not hmac.compare_digest(row[2], _hash(key)):
        return None
    return Caller(key_id, row[0], row[1])


def list_keys(store: Store, tenant: str | None = None) -> pd.DataFrame:
    """Key ids, tenants, roles and dates (never the keys)."""
    sql = "SELECT key_id, tenant, role, created, revoked FROM api_keys"
    return store.con.execute(
        sql + (" WHERE tenant = ?" if tenant else "") + " ORDER BY created", [tenant] if tenant else []
    ).df()


def revoke_key(store: Store, key_id: str) -> bool:
    """Revoke a key by its id; True if a live key was revoked."""
    n = store.con.execute(
        "UPDATE api_keys SET revoked = now() WHERE key_id = ? AND revoked IS NULL RETURNING 1", [key_id]
    ).fetchall()
    return bool(n)


class KeyCache:
    """Verified keys of a running server, by the keys' hashes (never the keys), within ``max_bytes``.

    Keys change only through this process while it holds the store, and :meth:`revoke` drops a key's entry
    and bumps a generation under the same lock, so a verification that raced the revocation is not kept:
    a revoked key stops working at once."""

    def __init__(self, store: Store, max_bytes: int = 4 << 20):
        self.store, self.lru = store, ByteLRU[Caller](max_bytes)
        self._generation, self._lock = 0, threading.Lock()

    def get(self, key: str) -> Caller | None:
        return self.lru.get(_hash(key))

    def verify(self, key: str) -> Caller | None:
        """Check ``key`` against the store (on a cursor of its own) and remember a valid one."""
        generation = self._generation
        store = self.store.scoped("")
        try:
            caller = verify(store, key)
        finally:
            store.close()
        with self._lock:
            if caller is not None and generation == self._generation:
                self.lru.put(_hash(key), caller, 300)
        return caller

    def revoke(self, tenant: str, key_id: str) -> bool:
        """Revoke ``tenant``'s key ``key_id`` in the store and forget it here; False if no live key matched."""
        store = self.store.scoped(tenant)
        try:
            with self._lock:
                self._generation += 1
                self.lru.drop(lambda _k, c: c.key_id == key_id)
                mine = store.con.execute(
                    "SELECT 1 FROM api_keys WHERE key_id = ? AND tenant = ?", [key_id, tenant]
                ).fetchone()
                return bool(mine) and revoke_key(store, key_id)
        finally:
            store.close()
