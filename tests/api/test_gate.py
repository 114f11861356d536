"""Check before reading: no body is read before the key is checked, bodies are cut off at the limit whatever
their framing, failed keys are rate-limited per address, and workbooks are checked before they are parsed."""

import io
import logging

import pytest

from .conftest import MAX_UPLOAD_MB, h
from .hostile import blank_bomb, chunked_upload, client_from, dimension_bomb, raw_status, zip_bytes

MB = 1 << 20


def _lines(caplog, status: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "supplyfit.api"
        and "route=POST /api/v1/uploads/" in r.getMessage()
        and f"status={status} " in r.getMessage()
    ]


@pytest.mark.parametrize("key", [None, "sf_dead_beef"])
def test_chunked_upload_without_a_valid_key_is_refused_before_its_body(server, key, caplog):
    caplog.set_level(logging.INFO, logger="supplyfit.api")
    status, sent = chunked_upload(server["url"], key, max_send=1024 * MB)
    assert status == 401 and sent < 10 * MB
    assert _lines(caplog, 401) and all(line.endswith(" read=0") for line in _lines(caplog, 401))


def test_chunked_upload_with_a_key_is_cut_at_the_limit(server, keys, caplog):
    caplog.set_level(logging.INFO, logger="supplyfit.api")
    status, sent = chunked_upload(server["url"], keys["b_writer"], max_send=1024 * MB)
    assert status == 413 and sent < (MAX_UPLOAD_MB + 10) * MB
    read = [int(line.rsplit("read=", 1)[1]) for line in _lines(caplog, 413)]
    assert read and all(MAX_UPLOAD_MB * MB < n <= (MAX_UPLOAD_MB + 1) * MB for n in read)


def test_declared_length_over_the_limit_is_refused_unread(server, keys):
    head = (
        f"POST /api/v1/uploads/orders HTTP/1.1\r\nHost: x\r\nX-API-Key: {keys['b_writer']}\r\n"
        f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {(MAX_UPLOAD_MB + 1) * MB}"
    )
    assert raw_status(server["url"], head) == 413  # answered with no byte of the body sent


def test_json_bodies_are_limited_to_1_mb(client, keys):
    r = client.post(
        "/api/v1/customers/pseudonym",
        content=b'{"customer_id": "' + b"x" * (2 * MB) + b'"}',
        headers={**h(keys["a_reader"]), "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["detail"]


def test_a_reader_is_refused_before_its_upload_is_read(server, keys, caplog):
    caplog.set_level(logging.INFO, logger="supplyfit.api")
    status, sent = chunked_upload(server["url"], keys["b_reader"], max_send=1024 * MB)
    assert status == 403 and sent < 10 * MB
    assert all(int(line.rsplit("read=", 1)[1]) < MB for line in _lines(caplog, 403))


def test_failed_keys_are_rate_limited_per_address(server, keys):
    with client_from(server["url"], "127.0.0.77") as bad, client_from(server["url"], "127.0.0.78") as other:
        codes = [bad.get("/api/v1/whoami", headers=h(f"sf_guess{i}_x")).status_code for i in range(20)]
        assert codes == [401] * 20
        r = bad.get("/api/v1/whoami", headers=h(keys["a_reader"]))  # even a valid key, from that address
        assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60 and r.json()["detail"]
        assert other.get("/api/v1/whoami", headers=h(keys["a_reader"])).status_code == 200
        assert other.get("/api/v1/whoami").status_code == 401  # no key at all is not a guess


def _upload(client, key, name: str, body: bytes, **data):
    return client.post(
        "/api/v1/uploads/orders", files={"file": (name, body, "application/octet-stream")}, data=data, headers=h(key)
    )


def test_workbooks_are_checked_before_they_are_parsed(client, keys):
    w = keys["b_writer"]
    r = _upload(client, w, "cells.xlsx", dimension_bomb())
    assert r.status_code == 413 and "cells" in r.json()["detail"]
    r = _upload(client, w, "bomb.xlsx", blank_bomb(300, declared=300 * MB))
    assert r.status_code == 413 and "decompression bomb" in r.json()["detail"]
    r = _upload(client, w, "liar.xlsx", blank_bomb(300, declared=1024))  # the zip's sizes lie
    assert r.status_code == 422 and "liar.xlsx" in r.json()["detail"]
    r = _upload(client, w, "plain.xlsx", b"order_id,sku\n1,A\n")
    assert r.status_code == 422 and r.json()["detail"] == "plain.xlsx is not an xlsx workbook (not a zip archive)"
    r = _upload(client, w, "empty.xlsx", zip_bytes({"hello.txt": b"hi"}))
    assert r.status_code == 422 and "/tmp" not in r.text and r.json()["detail"]


@pytest.mark.parametrize(
    "encoding,status", [("rot13", 400), ("no-such-codec", 400), ("base64", 400), ("x" * 300, 400), ("utf-16", 422)]
)
def test_unknown_or_wrong_encodings_are_4xx_with_a_message(client, keys, encoding, status):
    r = _upload(client, keys["b_writer"], "enc.csv", b"Invoice,StockCode\n1,A\n", encoding=encoding)
    assert r.status_code == status and r.json()["detail"] and "/tmp" not in r.text


def test_loads_show_the_clients_file_name_only(client, keys):
    body = io.BytesIO(b"Invoice,StockCode,Quantity,Price,InvoiceDate\nN1,NM1,1,2.5,2024-01-02 10:00\n")
    r = client.post(
        "/api/v1/uploads/orders", files={"file": ("../dir/named.csv", body, "text/csv")}, headers=h(keys["b_writer"])
    )
    assert r.status_code == 200 and r.json()["file"] == "named.csv"
    loaded = client.get(f"/api/v1/loads/{r.json()['load_id']}", headers=h(keys["b_reader"])).json()
    assert loaded["file"] == "named.csv"
    assert all("/" not in ld["file"] for ld in client.get("/api/v1/loads", headers=h(keys["b_reader"])).json())
