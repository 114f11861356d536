"""Order events in: a batch of JSON order lines stored as one load, with a file load's validation, quarantine,
pseudonymisation and accounting (rows read = stored + quarantined + duplicates), in one transaction.

The load reuses :mod:`supplyfit.store.ingest`'s staging and validation SQL; only the duplicate rule differs:
an event with an ``event_id`` is new unless that id was stored before (two events equal in every other field
are two events), one without is new unless its natural key (order, SKU, quantity, price) was. Several HTTP
batches of a tenant may share one load (group commit); each gets its own counts back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import secrets
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..store import Store
from ..store.dimensions import defer_dimensions, refresh_dimensions
from ..store.errors import IngestError
from ..store.ingest import _KINDS, _new_load, _now, _orders_select, _Staging, mark_failed
from ..store.mapping import Mapping
from ..store.parsing import DAY_FIRST
from ..store.privacy import pseudonym, scrub
from ..store.quarantine import quarantine_new
from ..store.sql import scalar

FIELDS = ("order_id", "sku", "quantity", "unit_price", "ts", "customer_id", "description", "channel", "region")
COLUMNS = (*FIELDS, "event_id")
SLOT = {name: f"_c{i}" for i, name in enumerate(COLUMNS)}
NUMBERS = ("quantity", "unit_price")
KEY = ("order_id", "sku", "quantity", "unit_price")  # a file load's natural key of an order line
ISO = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
MAX_CELL = 4000  # characters of one value; a line with a longer one is quarantined
EVENTS_FILE = "events"  # what an events load records as its file
log = logging.getLogger("supplyfit.live")


class BadBody(ValueError):
    """The body is not a JSON array (or NDJSON) of order lines."""


@dataclass
class Counts:
    """What became of one batch: ``accepted + duplicates + quarantined`` is its number of lines; ``load_id``, the
    load that stored it (shared by the batches of one group commit; None for an empty batch)."""

    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    load_id: int | None = None


def parse(body: bytes, ndjson: bool) -> list[Any]:
    """The lines of a body: a JSON array, or one JSON value per line (NDJSON). An NDJSON line that is not JSON
    stays a line (quarantined with its reason), a body that is not an array raises :class:`BadBody`."""
    if not ndjson:
        try:
            lines = json.loads(body)
        except ValueError as e:
            raise BadBody(f"body is not JSON ({e}); send an array of order lines or NDJSON") from None
        if not isinstance(lines, list):
            raise BadBody("body must be a JSON array of order lines (or NDJSON with Content-Type application/x-ndjson)")
        return lines
    out: list[Any] = []
    for text in body.decode("utf-8", errors="replace").splitlines():
        if text.strip():
            try:
                out.append(json.loads(text))
            except ValueError:
                out.append(_Unparsable(text))
    return out


class _Unparsable(str):
    """An NDJSON line that does not parse (kept for its quarantine record)."""


def _clip(text: str) -> str:
    """Text as a quarantine record keeps it: whole up to MAX_CELL characters; a longer one cut there with its length
    and a digest of the whole, so two long values that differ only past the cut stay two (and are each
    quarantined, not one taken for a duplicate of the other)."""
    if len(text) <= MAX_CELL:
        return text
    digest = hashlib.sha256(_valid(text).encode()).hexdigest()[:16]
    return f"{text[:MAX_CELL]}… [{len(text):,} characters, sha256 {digest}]"


def _valid(text: str) -> str:
    """Text that UTF-8 can hold: a lone surrogate (JSON allows "\\ud800") becomes U+FFFD."""
    try:
        text.encode()
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _cell(value: Any, cut: bool = True) -> str | None:
    """One JSON value as the text a file would hold (clipped by :func:`_clip` unless ``cut`` is False)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        text = str(int(value))  # an id sent as 13085.0 is 13085, as a file load reads a float column
    elif isinstance(value, (bool, dict, list)):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    return _valid(_clip(text) if cut else text)


def _text(values: list[Any]) -> tuple[pa.Array, dict[int, str]]:
    """Cells as text of at most MAX_CELL characters, and what is wrong with those that could not be kept as sent:
    longer (a cut id or description would be a silent change) or not valid Unicode. Their lines are quarantined.
    Strings (nearly every cell) go to Arrow as they are and are cut there; a column with any other JSON value or
    a lone surrogate goes cell by cell."""
    problems: dict[int, str] = {}
    try:
        whole = pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid, UnicodeEncodeError):
        cells = [_cell(v, cut=False) for v in values]
        for i, (v, cell) in enumerate(zip(values, cells, strict=True)):
            if isinstance(v, str) and cell != v:
                problems[i] = "is not valid Unicode (a lone surrogate)"
        whole = pa.array(cells, pa.string())
    long = pc.fill_null(pc.greater(pc.utf8_length(whole), MAX_CELL), False).to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(long).tolist():
        problems.setdefault(i, f"longer than {MAX_CELL:,} characters (cut here, not stored)")
    return pc.utf8_slice_codeunits(whole, 0, MAX_CELL), problems


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _columns(lines: list[Any]) -> pa.Table:
    """Lines in slot columns, with ``_bad`` (why a line is not a record). Cells are text,
    as a CSV's are, except a number column whose values are all JSON numbers: typed, it needs no guessing of its
    decimal convention (which is most of the validation's cost on a small batch)."""
    records = [line if isinstance(line, dict) else {} for line in lines]
    cols = {}
    kept_whole: dict[int, str] = {}  # line -> why its first such field could not be kept as sent
    for c in COLUMNS:
        values = [r.get(c) for r in records]
        if c in NUMBERS and all(_is_number(v) for v in values):
            cols[SLOT[c]] = pa.array([None if v is None else float(v) for v in values], pa.float64())
        else:
            cols[SLOT[c]], problems = _text(values)
            for row, problem in problems.items():
                kept_whole.setdefault(row, f"{c} {problem}")
    unread = {i: line for i, line in enumerate(lines) if not isinstance(line, dict)}
    if unread:  # keep what was sent (scrubbed like any quarantined cell) with the reason
        description = cols[SLOT["description"]].to_pylist()
        for i, line in unread.items():
            description[i] = _clip(str(line))
        cols[SLOT["description"]] = pa.array(description, pa.string())
    bad = [
        None
        if i not in unread
        else "line is not JSON"
        if isinstance(unread[i], _Unparsable)
        else "line is not a JSON object"
        for i in range(len(lines))
    ]
    for row, problem in kept_whole.items():
        bad[row] = bad[row] or problem
    return pa.table({**cols, "_bad": pa.array(bad, pa.string())})


@dataclass(frozen=True)
class Batch:
    """A request's order lines and their columns, laid out on the request's own thread: the writer, which every
    request waits for, then only joins the batches of a group commit."""

    lines: list[Any]
    table: pa.Table

    @classmethod
    def of(cls, lines: list[Any]) -> Batch:
        return cls(lines, _columns(lines))

    def __len__(self) -> int:
        return len(self.lines)


def _joined(batches: list[Batch]) -> pa.Table:
    """The batches' columns as one table with ``_row`` (1-based over all of them). Batches whose number columns
    differ in type (JSON numbers in one, text in another) are laid out again together."""
    tables = [b.table for b in batches]
    if all(t.schema == tables[0].schema for t in tables):
        table = pa.concat_tables(tables).combine_chunks()  # one chunk: DuckDB copied 20 chunks in twice the time
    else:
        table = _columns([line for b in batches for line in b.lines])
    return table.append_column("_row", pa.array(range(1, table.num_rows + 1), pa.int64()))


class SeenIds:
    """The DuckDB hashes of each tenant's stored event ids, in the writer's memory (8 bytes an event, sorted, with
    the latest in a set until they are merged).

    Event ids are random strings, so no zone map prunes the duplicate check: it read every stored id of the
    tenant, 22 ms a commit at a million events and 190 ms at ten million. A batch whose ids' hashes are all
    unknown here is new without reading ``live_events``; a known hash (a retry, or a collision) sends the batch
    through the exact check. The hashes are read from the store on a tenant's first batch and added after each
    commit, so they always cover every stored id (removed ones may linger: they only cost an exact check)."""

    MERGE_EVERY = 1 << 16  # hashes added before they are merged into the sorted array

    def __init__(self) -> None:
        self._sorted: dict[str, np.ndarray] = {}
        self._recent: dict[str, set[int]] = {}

    def known(self, con: duckdb.DuckDBPyConnection, tenant: str, hashes: np.ndarray) -> bool:
        """Whether any of ``hashes`` may be a stored id of the tenant (exactly: is not surely new)."""
        if tenant not in self._sorted:
            sql = "SELECT hash(event_id) AS h FROM live_events WHERE tenant = ? ORDER BY h"
            self._sorted[tenant] = np.asarray(con.execute(sql, [tenant]).fetchnumpy()["h"], dtype=np.uint64)
            self._recent[tenant] = set()
        base = self._sorted[tenant]
        at = np.minimum(np.searchsorted(base, hashes), max(len(base) - 1, 0))
        if len(base) and bool(np.any(base[at] == hashes)):
            return True
        return not self._recent[tenant].isdisjoint(hashes.tolist())

    def add(self, tenant: str, hashes: np.ndarray) -> None:
        """Hashes of ids just committed (of a tenant :meth:`known` has read). Should this fail (memory for the
        merge), the tenant is forgotten and read again from the store: the hashes must never miss a stored id,
        and the ids are stored whatever happens here."""
        try:
            self._recent[tenant].update(hashes.tolist())
            if len(self._recent[tenant]) >= self.MERGE_EVERY:
                self._merge(tenant)
        except Exception:
            log.exception("tenant=%s: remembering stored event ids failed; they are read again", tenant)
            self._sorted.pop(tenant, None)
            self._recent.pop(tenant, None)

    def _merge(self, tenant: str) -> None:
        """The recent hashes into the sorted array (np.union1d took 14 s on ten million under NumPy 2.4)."""
        recent = self._recent[tenant]
        new = np.sort(np.fromiter(recent, dtype=np.uint64, count=len(recent)))
        base = self._sorted[tenant]
        self._sorted[tenant] = np.insert(base, np.searchsorted(base, new), new)
        recent.clear()


def store_events(
    store: Store,
    batches: Sequence[Batch | list[Any]],
    lock: AbstractContextManager,
    dimensions: bool = True,
    seen: SeenIds | None = None,
) -> list[Counts]:
    """Store the batches (:class:`Batch`, or lists of parsed lines) of one tenant as one load; the counts of each
    batch. Products and customers are rebuilt in the same transaction, or with ``dimensions=False`` marked for the
    next rebuild (:func:`~supplyfit.store.dimensions.defer_dimensions`).

    Validation runs before ``lock``, the transaction (quarantine, orders, event ids, products and customers,
    the load marked ok) inside it. ``seen`` (kept by the one writer of the store's events) spares the duplicate
    check the reading of every stored id when no id of the batch can be one of them."""
    laid = [b if isinstance(b, Batch) else Batch.of(b) for b in batches]
    lines = [line for b in laid for line in b.lines]
    if not lines:
        return [Counts() for _ in laid]
    con = store.con
    # a load's content hash lets a file sent again be skipped; events are deduplicated line by line instead, so
    # their loads get a unique mark that no file's hash can equal (and hashing every line cost a fifth of a load)
    digest = f"{EVENTS_FILE}:{secrets.token_hex(16)}"
    table = _joined(laid)
    con.register("_events", table)
    con.execute("CREATE OR REPLACE TEMP TABLE _src AS SELECT * FROM _events")
    con.unregister("_events")
    schema = pa.schema([table.schema.field(SLOT[c]) for c in COLUMNS])
    store.install_pseudonym_key()
    stg = _Staging(store, schema, Mapping("orders", {f: SLOT[f] for f in FIELDS}), store.timezone)
    in_transaction, load_id = False, None
    try:
        _decide(stg, table)
        cols, reason, derived = _orders_select(stg, {})
        hidden = ", ".join([*SLOT.values(), *stg.lookup_columns()])
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _stg AS
            SELECT * EXCLUDE ({hidden}), {derived}, nullif(trim({SLOT["event_id"]}), '') AS event_id FROM (
                SELECT *, coalesce(_bad, NULLIF({reason}, '')) AS reason
                FROM (SELECT *, {cols} FROM _src {stg.joins()}))""")
        rejected = con.execute("SELECT _row, reason FROM _stg WHERE reason IS NOT NULL ORDER BY _row").fetchall()
        kept: list[int] = []  # the rejected rows quarantined (the others were already: duplicates)
        if rejected:
            con.register("_rejected", _rejected(store, lines, rejected))
        with lock:
            load_id = _new_load(store, "orders", f"{EVENTS_FILE} ({len(lines)} lines)", digest)
            ids, natural = _ids(con)
            stored_ids = seen is None or seen.known(con, store.tenant, ids)
            _select_new(store, natural, stored_ids)
            con.execute("BEGIN TRANSACTION")
            in_transaction = True
            if rejected:  # a bad line already quarantined for the tenant (a batch sent again) is a duplicate
                quarantine_new(con, store.tenant, load_id, "_rejected")
                found = con.execute("SELECT src_row FROM quarantine WHERE load_id = ? ORDER BY src_row", [load_id])
                kept = [row for (row,) in found.fetchall()]
            quarantined = len(kept)
            params = {"tenant": store.tenant, "load_id": load_id}
            stored = scalar(con, _KINDS["orders"][2], params)
            con.execute(
                "INSERT INTO live_events SELECT $tenant, event_id, $load_id, _row FROM _new WHERE event_id IS NOT NULL",
                params,
            )
            (refresh_dimensions if dimensions else defer_dimensions)(con, store.tenant, load_id)
            con.execute(
                "UPDATE loads SET rows_read = ?, stored = ?, quarantined = ?, duplicates = ?, finished = ?, "
                "status = 'ok' WHERE load_id = ?",
                [len(lines), stored, quarantined, len(lines) - stored - quarantined, _now(), load_id],
            )
            counts = _per_batch(store, [len(b) for b in laid], load_id, kept)
            new_ids = None
            if seen is not None:  # with no id stored before, every distinct valid id is new (its first line kept)
                new_ids = _ids(con, "_new")[0] if stored_ids else ids
            con.execute("COMMIT")
            in_transaction, load_id = False, None  # stored: nothing after this marks the load failed
            if seen is not None and new_ids is not None:
                seen.add(store.tenant, new_ids)
        return counts
    except BaseException as e:
        if in_transaction:
            con.execute("ROLLBACK")
        if load_id is not None:
            mark_failed(store, load_id, e, lock)
        raise
    finally:
        for name in ["_src", "_stg", "_new", *stg.lookups]:
            con.execute(f"DROP TABLE IF EXISTS {name}")
        with contextlib.suppress(duckdb.Error):
            con.unregister("_rejected")
        store.drop_pseudonym_key()


def _decide(stg: _Staging, table: pa.Table) -> None:
    """Decide the batch's number and date conventions as a file load does, except that a batch whose dates do
    not say day-first or month-first is not refused whole (an event stream has no --date-format to settle it):
    its lines with a non-ISO time are quarantined, asking for ISO 8601, and the rest stored."""
    try:
        stg.decide(None, DAY_FIRST if _all_iso(table.column(SLOT["ts"])) else None)
    except IngestError as e:
        if e.column != "ts":
            raise
        ts = SLOT["ts"]
        stg.store.con.execute(
            f"UPDATE _src SET _bad = coalesce(_bad, 'ambiguous ts: ' || trim({ts}) || ' (day-first or month-first?); "
            f"send ISO 8601 times') WHERE NOT regexp_matches(trim({ts}), ?)",
            [ISO],
        )
        stg.decide(None, DAY_FIRST)  # the remaining times are ISO: no order to decide


def _all_iso(ts: pa.ChunkedArray) -> bool:
    """Whether every time is ISO 8601 (year first): then no day/month order needs deciding from the values."""
    if not pa.types.is_string(ts.type):
        return False
    text = pc.utf8_trim_whitespace(ts.drop_null())
    return bool(pc.all(pc.match_substring_regex(text, ISO)).as_py())


def _rejected(store: Store, lines: list[Any], rejected: list[tuple[int, str]]) -> pa.Table:
    """Quarantine rows of the rejected lines: each as sent (JSON of its fields), the customer id as its
    pseudonym and text scrubbed, as a file load keeps them. Built here for the few rejected lines: the same
    in SQL compiles the scrubbing patterns for every load (most of a small load's time)."""
    whole = store.whole_ids  # the store's id rule, read once (a query), not per rejected line
    raws = []
    for row, _ in rejected:
        line = lines[row - 1]
        record = line if isinstance(line, dict) else {"description": str(line)}
        cells: dict[str, Any] = {}
        for c in COLUMNS:
            value = record.get(c)
            text = None if value is None else _cell(value)
            if c == "customer_id":
                text = (text or "").strip()
                cells[c] = pseudonym(store.key, store.tenant, text, whole) if text else None
            elif c in NUMBERS and value is not None and _is_number(value):
                cells[c] = float(value)  # as a number whatever its column became in this group of batches
            else:
                cells[c] = None if text is None else scrub(text)
        raws.append(json.dumps(cells, ensure_ascii=False, separators=(",", ":")))
    rows, whys = [r for r, _ in rejected], [why for _, why in rejected]
    return pa.table({"_row": rows, "raw": raws, "reason": whys, "merchant": pa.nulls(len(rows), pa.string())})


def _ids(con: duckdb.DuckDBPyConnection, table: str = "_stg") -> tuple[np.ndarray, bool]:
    """The DuckDB hashes of the event ids of ``table``'s valid lines (repeats kept), and whether any valid line has
    no id (its natural key is then checked), in one query."""
    found = con.execute(f"SELECT hash(event_id) AS h, event_id IS NULL AS none FROM {table} WHERE reason IS NULL")
    cols = found.fetchnumpy()
    none = np.asarray(cols["none"], dtype=bool)
    return np.asarray(cols["h"], dtype=np.uint64)[~none], bool(none.any())


def _select_new(store: Store, natural: bool, stored_ids: bool = True) -> None:
    """``_new``: the valid staged lines not stored before, the first of each event id (or natural key).

    The stored ids are read only when one of the batch's may be among them (``stored_ids``), and then only those
    the batch names; the stored natural keys only when a line has no id (``natural``), so a stream of identified
    events does not scan all the tenant's orders each time."""
    keys = ", ".join(KEY)
    sql = """
        CREATE OR REPLACE TEMP TABLE _new AS
        WITH valid AS (SELECT * FROM _stg WHERE reason IS NULL)
        SELECT * FROM valid
        SEMI JOIN (SELECT min(_row) AS _row FROM valid WHERE event_id IS NOT NULL GROUP BY event_id) f USING (_row)"""
    if stored_ids:
        sql += """
        ANTI JOIN (SELECT event_id FROM live_events WHERE tenant = $tenant
                   AND event_id IN (SELECT event_id FROM valid)) e USING (event_id)"""
    if natural:
        sql += f"""
        UNION ALL BY NAME
        SELECT * FROM valid
        SEMI JOIN (SELECT min(_row) AS _row FROM valid WHERE event_id IS NULL GROUP BY {keys}) f USING (_row)
        ANTI JOIN (SELECT {keys} FROM orders WHERE tenant = $tenant) o USING ({keys})"""
    store.con.execute(sql, {"tenant": store.tenant} if "$tenant" in sql else {})


def _per_batch(store: Store, sizes: list[int], load_id: int, rejected: list[int]) -> list[Counts]:
    """Counts of each batch of load ``load_id``, from its range of rows in the load (``rejected``: the rows
    quarantined)."""
    ends = np.cumsum(sizes)  # batch i holds rows ends[i-1] + 1 .. ends[i]
    accepted, bad = (
        np.bincount(
            np.searchsorted(ends, np.array(rows, dtype=np.int64).reshape(-1), side="right"), minlength=len(sizes)
        )
        for rows in (
            store.con.execute("SELECT _row - 1 FROM _new").fetchall(),
            [r - 1 for r in rejected],
        )
    )
    return [Counts(int(a), int(n - a - q), int(q), load_id) for n, a, q in zip(sizes, accepted, bad)]
