"""2,000 random and hostile requests: random paths under /api/v1, bad keys, bad query values, huge headers, bad
JSON, odd encoding names, non-zip workbooks and zip bombs. None may answer 5xx, and every /api/ answer is
JSON (errors with a ``detail``), but for a CSV export. Seeded, so a failure replays; requests come from 100
loopback addresses (127.0.1.x) of their own, on a tenant of their own."""

from __future__ import annotations

import json
import random
import string
from urllib.parse import quote

from .conftest import tenant_keys
from .hostile import blank_bomb, client_from, dimension_bomb, zip_bytes
from .test_api import orders_csv

N = 2000
WORDS = [
    "loads",
    "jobs",
    "export",
    "series",
    "keys",
    "uploads",
    "orders",
    "reviews",
    "quarantine",
    "forecasts",
    "recommendations",
    "customer",
    "indicators",
    "hotspots",
    "plan",
    "whoami",
    "..",
    "%2e%2e",
    "%00",
    "商品",
    "api_keys",
    "duckdb_tables",
    "total",
    "category",
    "%2F",
    "~",
    "null",
    "-1",
    "99999999999999999999",
]
GETS = [
    "/api/v1/loads",
    "/api/v1/loads/1",
    "/api/v1/quarantine",
    "/api/v1/indicators",
    "/api/v1/hotspots",
    "/api/v1/forecasts",
    "/api/v1/series/total",
    "/api/v1/plan",
    "/api/v1/policies",
    "/api/v1/complaints",
    "/api/v1/brief",
    "/api/v1/verification",
    "/api/v1/credit",
    "/api/v1/segments",
    "/api/v1/recommendations",
    "/api/v1/recommendations/customer/c_0",
    "/api/v1/export/forecasts",
    "/api/v1/jobs",
    "/api/v1/jobs/x",
    "/api/v1/keys",
    "/api/v1/whoami",
]
PARAMS = [
    "limit",
    "k",
    "freq",
    "level",
    "unique_id",
    "items",
    "table",
    "dimension",
    "summary",
    "category",
    "kind",
    "severity",
    "load_id",
    "format",
    "x",
]
VALUES = [
    "99999999999999999999",
    "-1",
    "0",
    "1",
    "abc",
    "",
    "1e309",
    "NaN",
    "inf",
    "商品",
    "x" * 1000,
    "\x00",
    "true",
    "[]",
    "M",
    "W",
    "sku",
    "total",
    "by_dimension",
    "' OR 1=1 --",
    "%",
    "\ud7ff",
    "json",
    "csv",
]
ENCODINGS = [
    "rot13",
    "base64",
    "zlib",
    "hex",
    "utf-7",
    "utf-32",
    "idna",
    "punycode",
    "no-such",
    "",
    "utf-16",
    "gb18030",
    "latin-1",
    "\x00",
    "utf8\x00",
    "x" * 500,
    "undefined",
    "mbcs",
    "bz2_codec",
    "uu",
]
BAD_JSON = [
    b"",
    b"{",
    b"[]",
    b"null",
    b'{"stage": 1}',
    b'{"stage": "rm -rf /"}',
    b'{"role": "root"}',
    b'{"customer_id": ""}',
    b'{"customer_id": 5}',
    b"\xff\xfe\x00",
    b"[" * 5000 + b"]" * 5000,
    b'{"stage": "all"' + b" " * 1000,
    b'"\\ud800"',
    b'{"customer_id": "' + b"x" * 300 + b'"}',
]


def _text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.printable + "商品é\u2028") for _ in range(n))


def _token(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits + string.punctuation) for _ in range(n))


def _key(rng: random.Random, keys: dict[str, str]) -> dict[str, str]:
    roll = rng.random()
    if roll < 0.6:
        return {"X-API-Key": keys[rng.choice(["reader", "writer", "admin"])]}
    if roll < 0.7:
        return {}
    return {
        "X-API-Key": rng.choice(
            [
                "sf_",
                "sf__",
                "sf_x_",
                "nope",
                "sf_" + "a" * rng.randint(100, 20_000),
                keys["reader"][:-1] + "!",
                f"sf_{_token(rng, 8)}_{_token(rng, 32)}",
            ]
        )
    }


def _upload(rng: random.Random) -> dict:
    name, body = rng.choice(
        [
            ("a.csv", orders_csv(rng.randint(0, 5))),
            ("a.xlsx", b"not a zip at all"),
            ("a.xlsx", dimension_bomb()),
            ("a.xlsx", blank_bomb(300, declared=1024)),
            ("a.xlsx", blank_bomb(300, declared=300 << 20)),
            ("a.xlsx", zip_bytes({"x.txt": b"hi"})),
            ("a.parquet", b"PAR1" + rng.randbytes(200) + b"PAR1"),
            ("a.tsv", rng.randbytes(500)),
            ("../../a.csv", b"\xff\xfe" + rng.randbytes(100)),
            ("a.exe", b"MZ"),
            ("", b"x"),
            ("a" * 500 + ".csv", b"Invoice\n1\n"),
        ]
    )
    data: dict = {}
    if rng.random() < 0.6:
        data["encoding"] = rng.choice(ENCODINGS)
    if rng.random() < 0.3:
        data["mapping"] = rng.choice(["a=b", "=", "x", "Invoice=order_id", "商品=sku", "a=b=c"])
    if rng.random() < 0.2:
        data["preset"] = rng.choice(["uci-online-retail", "nope", ""])
    files = (
        {"file": (name, body, "application/octet-stream")}
        if rng.random() < 0.9
        else {"other": ("a.csv", b"x", "text/csv")}
    )
    kind = rng.choice(["orders", "reviews", "planets"])
    return {
        "method": "POST",
        "url": f"/api/v1/uploads/{kind}",
        "files": files,
        "data": {k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in data.items()},
    }


def _request(rng: random.Random) -> dict:
    """One random request (method, url and what else httpx needs)."""
    kind = rng.random()
    if kind < 0.3:
        segments = [
            rng.choice(WORDS) if rng.random() < 0.7 else quote(_text(rng, rng.randint(1, 300)), safe="")
            for _ in range(rng.randint(1, 5))
        ]
        return {
            "method": rng.choice(["GET", "GET", "POST", "PUT", "DELETE", "PATCH"]),
            "url": "/api/v1/" + "/".join(segments),
        }
    if kind < 0.6:
        params = [
            (rng.choice(PARAMS), rng.choice(VALUES) if rng.random() < 0.8 else _text(rng, 20))
            for _ in range(rng.randint(1, 4))
        ]
        return {"method": "GET", "url": rng.choice(GETS), "params": params}
    if kind < 0.7:
        headers = {f"X-Junk-{i}": "j" * rng.randint(1, 4000) for i in range(rng.randint(1, 40))}
        return {"method": "GET", "url": rng.choice(GETS), "headers": headers}
    if kind < 0.85:
        url = rng.choice(["/api/v1/jobs", "/api/v1/keys", "/api/v1/customers/pseudonym"])
        body = rng.choice(BAD_JSON) if rng.random() < 0.8 else json.dumps({"stage": _text(rng, 10)}).encode()
        ctype = rng.choice(["application/json", "text/plain", "application/x-www-form-urlencoded", "", "json/;;"])
        return {"method": "POST", "url": url, "content": body, "headers": {"Content-Type": ctype}}
    if kind < 0.93:
        return {
            "method": "DELETE",
            "url": "/api/v1/keys/" + rng.choice(["x", "", "%00", "a" * 100, quote(_text(rng, 8), safe="")]),
        }
    return _upload(rng)


def test_hostile_requests_never_fail_the_server(server):
    keys = tenant_keys(server, "fuzz", "reader", "writer", "admin")
    rng = random.Random(20261201)
    clients = {}
    seen: dict[int, int] = {}
    try:
        for i in range(N):
            req = _request(rng)
            req["headers"] = {**req.get("headers", {}), **_key(rng, keys)}
            address = f"127.0.1.{1 + i % 100}"
            client = clients.get(address) or clients.setdefault(address, client_from(server["url"], address))
            r = client.request(**req)
            seen[r.status_code] = seen.get(r.status_code, 0) + 1
            assert r.status_code < 500, (i, req["method"], req["url"], r.status_code, r.text[:300])
            if r.url.path.startswith("/api/") and not r.headers.get("content-type", "").startswith("text/csv"):
                assert r.headers.get("content-type", "").startswith("application/json"), (
                    i,
                    req,
                    r.status_code,
                    r.text[:200],
                )
                body = r.json()
                assert r.status_code < 400 or body["detail"], (i, req["url"], body)
    finally:
        for c in clients.values():
            c.close()
    assert sum(seen.values()) == N and {200, 401, 404, 422} <= set(seen), seen
    service = server["app"].state.service
    for lru in (service.results.lru, service.keys.lru, service.recommenders.lru):
        assert 0 < lru.bytes <= lru.max_bytes or lru is service.recommenders.lru
