"""Read CSV (UTF-8, UTF-8 with BOM, GBK/GB18030, UTF-16), Parquet and Excel files into Arrow tables.

CSV cells are read as text so that validation, not the reader, decides what a bad value is; lines the
CSV parser cannot split are returned as malformed rows so that they are quarantined, not lost.
"""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .errors import IngestError

_SNIFF_BYTES = 1 << 20


@dataclass
class SourceTable:
    """A file as read: its cells, the 1-based data-row number of each row, and lines that did not parse."""

    table: pa.Table
    rows: np.ndarray
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # (row, raw text, reason)
    encoding: str | None = None
    delimiter: str = ","

    @property
    def rows_read(self) -> int:
        return self.table.num_rows + len(self.malformed)


def content_hash(path: str | Path) -> str:
    """SHA-256 of the file's bytes: the same file loaded twice is recognised whatever its name."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def detect_encoding(path: str | Path) -> str:
    """Pick the encoding of a text file: BOMs first, then strict UTF-8, then GB18030 (a superset of GBK)."""
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"  # Arrow's reader skips the BOM itself
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for enc in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(enc)().decode(head, final=len(head) < _SNIFF_BYTES)
            return enc
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    return best.encoding if best else "latin-1"


def _sniff_delimiter(path: Path, encoding: str) -> str:
    with open(path, "rb") as f:
        first = f.read(1 << 16).decode(encoding, errors="ignore").lstrip("\ufeff").splitlines()[:1]
    line = first[0] if first else ""
    return max([",", "\t", ";", "|"], key=line.count)


def _read_csv(path: Path, encoding: str | None) -> SourceTable:
    enc = encoding or detect_encoding(path)
    delimiter = _sniff_delimiter(path, enc)
    header_opts = pacsv.ReadOptions(encoding=enc, use_threads=False, block_size=1 << 16)
    try:
        with pacsv.open_csv(path, read_options=header_opts,
                            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                                             invalid_row_handler=lambda _row: "skip")) as reader:
            names = reader.schema.names
    except pa.ArrowInvalid as e:
        if "Empty CSV file" in str(e):
            raise IngestError(str(path), "the file has no header and no rows") from None
        raise IngestError(str(path), f"cannot read as CSV ({enc}): {e}") from None
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise IngestError(str(path), f"duplicate column names in header: {', '.join(dup)}")
    malformed: list[tuple[int, str, str]] = []

    def on_bad_line(row: pacsv.InvalidRow) -> str:
        malformed.append((row.number - 1, row.text, f"malformed CSV line: expected {row.expected_columns} "
                                                     f"fields, found {row.actual_columns}"))
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=enc, use_threads=False, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                             invalid_row_handler=on_bad_line),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=True,
                null_values=["", "NULL", "null", "NaN", "nan", "NA", "N/A"],
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:
        raise IngestError(str(path), f"cannot decode as {enc}: {e}. Pass --encoding (e.g. gb18030, utf-8, latin-1)"
                          ) from None
    total = table.num_rows + len(malformed)
    bad = {r for r, _, _ in malformed}
    rows = np.fromiter((i for i in range(1, total + 1) if i not in bad), dtype=np.int64, count=table.num_rows) \
        if bad else np.arange(1, total + 1, dtype=np.int64)
    return SourceTable(table, rows, malformed, enc, delimiter)


def _read_excel(path: Path) -> SourceTable:
    import pandas as pd

    sheets = pd.read_excel(path, sheet_name=None, dtype=str, engine="openpyxl")
    frames = [df for df in sheets.values() if len(df.columns)]
    if not frames:
        raise IngestError(str(path), "the workbook has no sheet with a header row")
    df = pd.concat(frames, ignore_index=True)
    table = pa.Table.from_pandas(df, preserve_index=False)
    return SourceTable(table, np.arange(1, len(df) + 1, dtype=np.int64))


def read_source(path: str | Path, encoding: str | None = None) -> SourceTable:
    """Read a CSV/TSV, Parquet or Excel file by its extension; raise IngestError if it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise IngestError(str(path), "no such file")
    if path.stat().st_size == 0:
        raise IngestError(str(path), "the file is empty (0 bytes)")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as e:
            raise IngestError(str(path), f"not a readable Parquet file: {e}") from None
        return SourceTable(table, np.arange(1, table.num_rows + 1, dtype=np.int64))
    if suffix in (".xlsx", ".xlsm"):
        return _read_excel(path)
    return _read_csv(path, encoding)
