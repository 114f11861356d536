"""Read CSV/TSV, Parquet and Excel files as a stream of Arrow batches, each row with its place in the file.

Nothing is counted that was not read and nothing is guessed silently:
- the whole file is decoded in one encoding (detected by :mod:`.encoding` or given); a line that does not decode
  is quarantined with its line number, never stored as mojibake;
- every physical line is accounted for: a data record, a blank line, or a quarantined line. A quoted field may span
  lines (a review with a line break), but a quote that swallows whole records (a stray quote) quarantines each of
  the lines it spans instead of merging them into one row;
- CSV cells are read as text, so validation, not the reader, decides what a bad value is.
Batches are bounded (``BATCH_BYTES`` of text or ``BATCH_ROWS`` rows), so a file of any size streams.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .encoding import decode_lines, detect_encoding
from .errors import IngestError

BATCH_BYTES = 8 << 20
BATCH_ROWS = 200_000
NEWLINE_MARK = "\x1e"  # stands for a line break inside a quoted field while Arrow parses one record per line
NULLS = [""]  # a blank cell; written-out markers (NA, NULL) are read as text, and ingest decides per field
XLSX_MAX_CELLS = 20_000_000  # rows x columns of all sheets; ~ what fits in a few GB as Python values
XLSX_MAX_UNPACKED = 1 << 30  # bytes of XML inside the zip
XLSX_MAX_RATIO = 200  # unpacked / packed: a decompression bomb well above what real workbooks reach (~10-30)

Batch = tuple[pa.Table, np.ndarray]  # cells (all columns), src_row of each row


@dataclass
class Source:
    """A file being read. ``batches`` streams the rows; ``malformed`` fills while it does.

    ``src_row`` numbers: for text files the record's first line in the file, counting the header as line 0 (so
    the first data line is 1); for Parquet and Excel the 1-based data row.
    """

    names: list[str]
    schema: pa.Schema
    batches: Iterator[Batch]
    encoding: str | None = None
    delimiter: str = ","
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # (src_row, raw text, reason)
    records: int = 0  # rows yielded so far
    parquet: Path | None = None  # a Parquet file DuckDB can scan itself, instead of the batches

    @property
    def rows_read(self) -> int:
        """Records read, bad ones included: every one ends stored, quarantined or a duplicate."""
        return self.records + len(self.malformed)


def content_hash(path: str | Path) -> str:
    """SHA-256 of the file's bytes: the same file loaded twice is recognised whatever its name."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _split_fields(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return line.split(delimiter)


def sniff_delimiter(header: str) -> str:
    """The delimiter the header uses most. Headers are names, rarely holding a delimiter, so this is reliable where
    whole-sample sniffers (csv.Sniffer, clevercsv) are slower and, on a few lines of prices like "3,50", can pick
    the decimal comma; a wrong pick still shows, as every line quarantined for its field count."""
    return max([",", "\t", ";", "|"], key=header.count)


class _CsvRecords:
    """Groups decoded lines into records by quote parity and quarantines what is not a record.

    A record spanning lines is kept when none of its inner lines could stand alone as a record (same number of
    fields as the header); otherwise a quote went astray and each line is quarantined on its own.
    """

    def __init__(self, source: Source, expected: int):
        self.source, self.expected = source, expected
        self.pending: list[tuple[int, str]] = []  # lines of an open quoted record

    def bad(self, line_no: int, text: str, reason: str) -> None:
        self.source.malformed.append((line_no, text, reason))

    def close_open_quote(self) -> None:
        if not self.pending:
            return
        first, last = self.pending[0][0], self.pending[-1][0]
        for n, text in self.pending:
            self.bad(n, text, f"unbalanced quote: a quoted field opened on line {first} is not closed by line {last}")
        self.pending = []

    def add(self, line_no: int, line: str, out_text: list[str], out_rows: list[int]) -> None:
        if self.pending:
            self.pending.append((line_no, line))
            if line.count('"') % 2 == 0:
                return
            lines = self.pending
            inner = lines[1:-1] if len(lines) > 2 else []
            if (
                any(len(line.split(self.source.delimiter)) == self.expected for _, line in inner)
                or len(lines[-1][1].split(self.source.delimiter)) >= self.expected
            ):
                first, last = lines[0][0], lines[-1][0]
                for n, text in lines:
                    self.bad(
                        n,
                        text,
                        f"unbalanced quote: a quoted field runs from line {first} to line {last} across whole records",
                    )
            else:
                out_text.append(NEWLINE_MARK.join(text.rstrip("\r") for _, text in lines))
                out_rows.append(lines[0][0])
            self.pending = []
            return
        if not line.strip():
            return  # blank lines are not records
        if line.count('"') % 2:
            self.pending = [(line_no, line)]
            return
        out_text.append(line)
        out_rows.append(line_no)


def _named(names: list[str]) -> list[str]:
    """Header names with a blank one called by its place ("column 1"): a trailing comma or pandas' index column
    is an unnamed column, not an error."""
    return [n or f"column {i + 1}" for i, n in enumerate(names)]


def _read_csv(path: Path, encoding: str | None) -> Source:
    enc = encoding or detect_encoding(path)
    lines = decode_lines(path, enc)
    header_no, header = next(((n, text) for n, text, ok in lines if ok and text.strip()), (0, ""))
    header = header.lstrip("\ufeff").rstrip("\r")
    if not header:
        raise IngestError(str(path), "the file has no header and no rows")
    delimiter = sniff_delimiter(header)
    names = _named([n.strip() for n in _split_fields(header, delimiter)])
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise IngestError(str(path), f"duplicate column names in header: {', '.join(dup)}")
    schema = pa.schema([(n, pa.string()) for n in names])
    src = Source(names, schema, iter(()), enc, delimiter)
    src.batches = _csv_batches(src, lines, header_no)
    return src


def _csv_batches(src: Source, lines: Iterator[tuple[int, str, bool]], header_no: int) -> Iterator[Batch]:
    grouper = _CsvRecords(src, len(src.names))
    text: list[str] = []
    rows: list[int] = []
    size = 0
    for n, line, ok in lines:
        if not ok:
            grouper.bad(
                n - header_no,
                line,
                f"line {n - header_no} does not decode as {src.encoding}; "
                "pass --encoding if the whole file is in another encoding",
            )
            continue
        grouper.add(n - header_no, line, text, rows)
        size += len(line)
        if size >= BATCH_BYTES or len(rows) >= BATCH_ROWS:
            yield _parse_block(src, text, rows)
            text, rows, size = [], [], 0
    grouper.close_open_quote()
    if rows:
        yield _parse_block(src, text, rows)


def _parse_block(src: Source, text: list[str], rows: list[int]) -> Batch:
    """Parse records (one per line, inner line breaks marked) with Arrow; malformed ones are quarantined."""
    bad: list[int] = []

    def on_bad_line(row: pacsv.InvalidRow) -> str:
        i = row.number - 1
        bad.append(i)
        src.malformed.append(
            (
                rows[i],
                row.text.replace(NEWLINE_MARK, "\n"),
                f"malformed CSV line: expected {row.expected_columns} fields, found {row.actual_columns}",
            )
        )
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO("\n".join(text).encode("utf-8")),
        read_options=pacsv.ReadOptions(column_names=src.names, use_threads=False, block_size=1 << 26),
        parse_options=pacsv.ParseOptions(
            delimiter=src.delimiter, newlines_in_values=False, ignore_empty_lines=False, invalid_row_handler=on_bad_line
        ),
        convert_options=pacsv.ConvertOptions(column_types=src.schema, strings_can_be_null=True, null_values=NULLS),
    )
    if any(NEWLINE_MARK in t for t in text):
        table = pa.table([pc.replace_substring(c, NEWLINE_MARK, "\n") for c in table.columns], schema=src.schema)
    keep = np.asarray(rows, dtype=np.int64)
    if bad:
        keep = np.delete(keep, bad)
    if len(keep) != table.num_rows:  # every record is a row or a quarantined line: never silently one less
        raise RuntimeError(f"CSV accounting: {len(rows)} records, {table.num_rows} rows, {len(bad)} malformed")
    src.records += table.num_rows
    return table, keep


def _read_parquet(path: Path) -> Source:
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise IngestError(str(path), f"not a readable Parquet file: {e}") from None
    schema = pf.schema_arrow
    src = Source(list(schema.names), schema, iter(()), parquet=path)

    def batches() -> Iterator[Batch]:
        start = 1
        try:
            for batch in pf.iter_batches(batch_size=BATCH_ROWS):
                table = pa.Table.from_batches([batch], schema=schema)
                src.records += table.num_rows
                yield table, np.arange(start, start + table.num_rows, dtype=np.int64)
                start += table.num_rows
        except (pa.ArrowInvalid, OSError) as e:
            raise IngestError(str(path), f"not a readable Parquet file: {e}") from None

    src.batches = batches()
    return src


def _check_xlsx_size(path: Path) -> None:
    """Refuse decompression bombs before unpacking anything: limits on the zip's declared sizes."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError):
        raise IngestError(str(path), "not an Excel workbook (.xlsx is a zip archive; this file is not one)") from None
    unpacked = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if unpacked > XLSX_MAX_UNPACKED or unpacked / packed > XLSX_MAX_RATIO:
        raise IngestError(
            str(path),
            f"the workbook unpacks to {unpacked:,} bytes ({unpacked / packed:.0f}x its size); "
            f"the limit is {XLSX_MAX_UNPACKED:,} bytes and {XLSX_MAX_RATIO}x",
        )


def _cell(v: object) -> str | None:
    if v is None or v == "":
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _read_excel(path: Path) -> Source:
    """Every sheet with a header row, stacked (same headers expected); cells as text. python-calamine (Rust) reads
    rows lazily and is ~10x faster than openpyxl."""
    from python_calamine import CalamineError, CalamineWorkbook

    _check_xlsx_size(path)
    try:
        wb = CalamineWorkbook.from_path(str(path))
        sheets = [wb.get_sheet_by_name(n) for n in wb.sheet_names]
    except CalamineError as e:
        raise IngestError(str(path), f"not a readable Excel workbook: {e}") from None
    cells = sum(s.total_height * s.total_width for s in sheets)
    if cells > XLSX_MAX_CELLS:
        raise IngestError(
            str(path),
            f"the workbook has {cells:,} cells; the limit is {XLSX_MAX_CELLS:,} (export it as CSV or Parquet)",
        )
    frames: list[list[list[str | None]]] = []
    names: list[str] = []
    for sheet in sheets:
        it = sheet.iter_rows()
        head = next(it, None)
        if not head or not any(h not in (None, "") for h in head):
            continue
        header = _named(["" if h is None else str(h).strip() for h in head])
        if not names:
            names = header
        elif header != names:
            raise IngestError(str(path), f"sheet {sheet.name!r} has other columns than the first sheet")
        frames.append([[_cell(v) for v in r] for r in it if any(v not in (None, "") for v in r)])
    if not names:
        raise IngestError(str(path), "the workbook has no sheet with a header row")
    if len(set(names)) != len(names):
        raise IngestError(str(path), "duplicate column names in header")
    rows = [r for f in frames for r in f]
    schema = pa.schema([(n, pa.string()) for n in names])
    table = pa.table(
        [pa.array([r[i] if i < len(r) else None for r in rows], pa.string()) for i in range(len(names))], schema=schema
    )
    src = Source(names, schema, iter(()))
    src.records = table.num_rows
    src.batches = iter([(table, np.arange(1, table.num_rows + 1, dtype=np.int64))])
    return src


def read_source(path: str | Path, encoding: str | None = None) -> Source:
    """Open a CSV/TSV, Parquet or Excel file by its extension; raise IngestError if it cannot be read at all."""
    path = Path(path)
    if not path.exists():
        raise IngestError(str(path), "no such file")
    if path.is_dir():
        raise IngestError(str(path), "is a folder; give a file (CSV, Parquet or Excel)")
    if path.stat().st_size == 0:
        raise IngestError(str(path), "the file is empty (0 bytes)")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_excel(path)
    return _read_csv(path, encoding)
