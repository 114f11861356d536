"""What an upload must pass before the store sees it: a known file type and text encoding, and for a
workbook, a zip whose sheets expand within a cell and byte budget (a decompression bomb is refused 413).

The xlsx check streams every member of the zip once, counting the bytes it really expands to (the sizes a
zip declares can lie) and the cells and extent of each sheet, before openpyxl parses anything.
"""

from __future__ import annotations

import codecs
import re
import zipfile
import zlib
from pathlib import Path

from fastapi import HTTPException

UPLOAD_SUFFIXES = {".csv", ".tsv", ".txt", ".parquet", ".xlsx"}
MAX_XLSX_CELLS = 5_000_000  # rows x columns of all sheets, as pandas will lay them out
MAX_XLSX_UNZIPPED = 256 << 20  # bytes of XML the workbook may expand to (5M cells take about 150 MB)
_CELL_REF = re.compile(rb' r="([A-Z]{1,3})([0-9]{1,7})"')  # a cell's reference (rows' r= has no letters)
_ROW_REF = re.compile(rb'<row r="([0-9]{1,7})"')
_DIMENSION = re.compile(rb'<dimension ref="[A-Z]{1,3}[0-9]{1,7}:([A-Z]{1,3})([0-9]{1,7})"')


def client_name(filename: str | None) -> str:
    """The client's file name reduced to a safe base name (no directories), refused unless its type is known."""
    name = re.sub(r"[^\w.\-]", "_", Path((filename or "upload").replace("\\", "/")).name)[:120].lstrip(".")
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES or not Path(name).stem:
        raise HTTPException(
            400, f"unsupported file type {suffix or '(none)'}; send {', '.join(sorted(UPLOAD_SUFFIXES))}"
        )
    return name


def check_encoding(encoding: str | None) -> str | None:
    """``encoding`` if Python knows it as a text encoding (400 otherwise)."""
    if not encoding:
        return None
    try:
        info = codecs.lookup(encoding)
    except (LookupError, ValueError, TypeError):
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True) or len(encoding) > 40:
        raise HTTPException(400, f"unknown text encoding {encoding[:40]!r}; e.g. utf-8, gb18030, utf-16, latin-1")
    return info.name


def _column(letters: bytes) -> int:
    n = 0
    for c in letters:
        n = n * 26 + c - 64
    return n


def _bomb(name: str, max_unzipped: int) -> HTTPException:
    return HTTPException(
        413, f"{name} expands to more than {max_unzipped >> 20} MB; refused as a possible decompression bomb"
    )


def _sheet_extent(chunk: bytes, rows: int, cols: int) -> tuple[int, int, int]:
    """Rows and columns spanned so far, and the cells in ``chunk`` (literal-prefix patterns: a fast scan)."""
    for col, row in [*_CELL_REF.findall(chunk), *_DIMENSION.findall(chunk)]:
        rows, cols = max(rows, int(row)), max(cols, _column(col))
    rows = max([rows, *(int(r) for r in _ROW_REF.findall(chunk))])
    return rows, cols, sum(chunk.count(tag) for tag in (b"<c ", b"<c>", b"<c/"))


def check_xlsx(path: Path, max_cells: int = MAX_XLSX_CELLS, max_unzipped: int = MAX_XLSX_UNZIPPED) -> None:
    """Refuse (422) a file that is not a zip, and (413) one that expands past ``max_unzipped`` bytes, declared
    or actual, or whose sheets span more than ``max_cells`` (rows x columns, and cells held)."""
    if not zipfile.is_zipfile(path):
        raise HTTPException(422, f"{path.name} is not an xlsx workbook (not a zip archive)")
    unzipped = cells = extent = 0  # bytes expanded; cells seen; rows x columns of the sheets done
    try:
        with zipfile.ZipFile(path) as z:
            if sum(info.file_size for info in z.infolist()) > max_unzipped:
                raise _bomb(path.name, max_unzipped)
            for info in z.infolist():
                is_sheet = info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
                rows = cols = 0
                tail = b""
                with z.open(info) as member:
                    while chunk := member.read(1 << 20):
                        unzipped += len(chunk)
                        if unzipped > max_unzipped:
                            raise _bomb(path.name, max_unzipped)
                        if is_sheet:
                            rows, cols, n = _sheet_extent(tail + chunk, rows, cols)
                            cells, tail = cells + n - _sheet_extent(tail, 0, 0)[2], chunk[-64:]
                            if max(extent + rows * cols, cells) > max_cells:
                                raise HTTPException(
                                    413,
                                    f"{path.name} spans more than {max_cells:,} cells "
                                    "(rows x columns); split it or send CSV/Parquet",
                                )
                extent += rows * cols
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        NotImplementedError,
        RuntimeError,
        EOFError,
        OSError,
        ValueError,
    ) as e:
        raise HTTPException(422, f"{path.name} is not a readable xlsx workbook: {type(e).__name__}") from None
