"""Hostile clients for the API tests: requests from other loopback addresses, chunked uploads on a raw socket
that stop as soon as the server answers, and workbooks that are not what they claim."""

from __future__ import annotations

import io
import select
import socket
import struct
import zipfile
import zlib
from urllib.parse import urlsplit

import httpx


def client_from(url: str, address: str, **kw) -> httpx.Client:
    """An HTTP client whose requests come from ``address`` (any 127.x.y.z is loopback on Linux): the server's
    per-address limit of failed keys then counts them apart from other tests'."""
    return httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address=address), timeout=60, **kw)


def chunked_upload(url: str, key: str | None, max_send: int, chunk: int = 64 << 10) -> tuple[int | None, int]:
    """POST a multipart upload with ``Transfer-Encoding: chunked`` (no length declared), sending chunks until
    the server answers or ``max_send`` bytes have gone; the answer's status (None if none came) and the body
    bytes sent by then."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    head = (
        f"POST /api/v1/uploads/orders HTTP/1.1\r\nHost: {parts.netloc}\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: multipart/form-data; boundary=XyZ\r\n" + (f"X-API-Key: {key}\r\n" if key else "") + "\r\n"
    )
    preamble = b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
    data = b"x" * chunk
    sent = 0
    try:
        sock.sendall(head.encode() + b"%x\r\n%s\r\n" % (len(preamble), preamble))
        while sent < max_send and not select.select([sock], [], [], 0)[0]:  # until the server answers
            sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
            sent += len(data)
    except OSError:  # the server closed the connection: its answer, if any, is still to be read
        pass
    try:
        select.select([sock], [], [], 10)
        answer = sock.recv(4096)
    except OSError:
        answer = b""
    finally:
        sock.close()
    return (int(answer[9:12]) if answer.startswith(b"HTTP/1.1 ") else None), sent


def raw_status(url: str, head: str) -> int | None:
    """Send only a request's head (``head`` without its final blank line) and return the answer's status."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head.encode() + b"\r\n\r\n")
        answer = sock.recv(4096)
    return int(answer[9:12]) if answer.startswith(b"HTTP/1.1 ") else None


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def dimension_bomb() -> bytes:
    """A tiny workbook whose one sheet claims, and holds a cell at, the last row and column of a sheet."""
    sheet = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
        b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>'
    )
    return zip_bytes({"xl/worksheets/sheet1.xml": sheet, "[Content_Types].xml": b"<Types/>"})


def blank_bomb(expanded_mb: int, declared: int) -> bytes:
    """A zip whose one member inflates to ``expanded_mb`` MB of blanks and declares ``declared`` bytes (a lie
    unless equal): the deflate stream is one fully flushed block repeated, so it is built without compressing
    it all (its CRC is not computed either: the member is refused before it is read to the end)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(b" " * (1 << 20)) + comp.flush(zlib.Z_FULL_FLUSH)
    stream = block * expanded_mb + comp.flush()
    name = b"xl/media/blank.bin"
    crc = 0
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(stream), declared, len(name), 0)
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(stream), declared, len(name), 0, 0, 0, 0, 0, 0
    )
    offset = len(local) + len(name) + len(stream)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central) + len(name), offset, 0)
    return local + name + stream + central + name + end
