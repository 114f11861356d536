"""The encoding of a text file, decided on the whole file, and its lines decoded strictly, one by one.

Detection accepts only what it can verify: a BOM; UTF-8 (valid over the whole file, or over most of its non-ASCII
lines, the rest then quarantined line by line); GB18030 when the whole file decodes and reads as common Chinese.
A single-byte code page (cp1252, cp1250, latin-1 …) cannot be told apart from another by its bytes, so it is never
guessed: the load fails with charset-normalizer's candidates and asks for ``--encoding``. We keep this small
decision here rather than take charset-normalizer's best guess, which picks among code pages by letter statistics
and, measured on short Western files, takes cp1252 for cp1250.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path

from .errors import IngestError

BLOCK = 8 << 20
_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef\u2010-\u2027]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def canonical(name: str, file: str = "") -> str:
    """The codec's canonical name; an unknown name is an IngestError, not a traceback."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise IngestError(file, f"unknown encoding {name!r} (e.g. utf-8, gb18030, cp1252, latin-1)") from None


def _wide(enc: str) -> bool:
    return "\n".encode(enc) != b"\n"


def _blocks(path: Path) -> Iterator[bytes]:
    """The file in blocks that end at a line break (the last one may not)."""
    rest = b""
    with open(path, "rb") as f:
        while chunk := f.read(BLOCK):
            chunk = rest + chunk
            cut = chunk.rfind(b"\n") + 1
            if cut == 0:
                rest = chunk
                continue
            rest = chunk[cut:]
            yield chunk[:cut]
    if rest:
        yield rest


def _valid_utf8(path: Path) -> bool:
    dec = codecs.getincrementaldecoder("utf-8")()
    try:
        for block in _blocks(path):
            dec.decode(block)
        dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _utf8_lines(path: Path) -> tuple[int, int, int]:
    """(non-ASCII lines that are valid UTF-8, lines that are not, first bad line number)."""
    good = bad = first = n = 0
    for block in _blocks(path):
        for line in block.split(b"\n"):
            n += 1
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
                good += 1
            except UnicodeDecodeError:
                bad += 1
                first = first or n
        n -= 1  # a block ends with its line break: the split's last piece is empty, not a line
    return good, bad, first


def _reads_as_chinese(path: Path) -> bool:
    """Whether the whole file decodes as GB18030 and its non-ASCII text is mostly common Chinese (GB2312)."""
    dec = codecs.getincrementaldecoder("gb18030")()
    sample: list[str] = []
    try:
        for block in _blocks(path):
            text = dec.decode(block)
            if sum(map(len, sample)) < 1 << 20:
                sample.append("".join(_NON_ASCII.findall(text)))
        dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    chars = "".join(sample)
    if not chars:
        return True
    common = len(chars) - chars.encode("gb2312", errors="replace").count(b"?") + chars.count("?")
    return common >= 0.9 * len(chars) and len(_CJK.findall(chars)) >= 0.9 * len(chars)


def detect_encoding(path: str | Path) -> str:
    """The file's encoding, verified on every byte; IngestError when only a guess is possible."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"  # the header's BOM is stripped by the reader
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _valid_utf8(path):
        return "utf-8"
    good, bad, first = _utf8_lines(path)
    if good >= bad:
        return "utf-8"  # undecodable lines, if any, are quarantined with their numbers
    if _reads_as_chinese(path):
        return "gb18030"
    from charset_normalizer import from_path

    guesses = [m.encoding for m in from_path(path, steps=8, chunk_size=4096)][:3]
    hint = f"; it may be {' or '.join(guesses)}" if guesses else ""
    raise IngestError(
        str(path),
        f"the file is not UTF-8 (line {first} is not) nor GB18030{hint}. "
        "Say which (CLI: --encoding NAME, e.g. --encoding cp1252; API: encoding field)",
    )


def decode_lines(path: str | Path, encoding: str) -> Iterator[tuple[int, str, bool]]:
    """Yield (1-based line number, text without its newline, decoded?) for every physical line.

    A line that does not decode comes back with ``decoded`` False and its bytes escaped (for the quarantine).
    """
    path = Path(path)
    enc = canonical(encoding, str(path))
    if _wide(enc):
        yield from _wide_lines(path, enc)
        return
    n = 0
    for block in _blocks(path):
        try:
            lines = block.decode(enc).split("\n")
            ok = [True] * len(lines)
        except UnicodeDecodeError:
            raw = block.split(b"\n")
            lines, ok = [], []
            for b in raw:
                try:
                    lines.append(b.decode(enc))
                    ok.append(True)
                except UnicodeDecodeError:
                    lines.append(b.decode(enc, errors="backslashreplace"))
                    ok.append(False)
        if block.endswith(b"\n"):
            lines.pop()
        for text, good in zip(lines, ok):
            n += 1
            yield n, text, good


def _wide_lines(path: Path, enc: str) -> Iterator[tuple[int, str, bool]]:
    """UTF-16/32: decoded as a stream (a bad code unit fails the load, naming the encoding)."""
    dec = codecs.getincrementaldecoder(enc)()
    rest, n = "", 0
    with open(path, "rb") as f:
        try:
            while chunk := f.read(BLOCK):
                lines = (rest + dec.decode(chunk)).split("\n")
                rest = lines.pop()
                for text in lines:
                    n += 1
                    yield n, text, True
            rest += dec.decode(b"", final=True)
        except UnicodeDecodeError as e:
            raise IngestError(str(path), f"cannot decode as {enc} after line {n}: {e.reason}") from None
    if rest:
        yield n + 1, rest, True
