"""Order events in: a batch of JSON order lines stored as one load, with a file load's validation, quarantine,
pseudonymisation and accounting (rows read = stored + quarantined + duplicates), in one transaction.

The load reuses :mod:`supplyfit.store.ingest`'s staging and validation SQL; only the duplicate rule differs:
an event with an ``event_id`` is new unless that id was stored before (two events equal in every other field
are two events), one without is new unless its natural key (order, SKU, quantity, price) was. Several HTTP
batches of a tenant may share one load (group commit); each gets its own counts back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ..store import Store
from ..store.dimensions import refresh_dimensions
from ..store.ingest import _KINDS, _new_load, _now, _orders_select, _quarantined_cell, _Staging
from ..store.mapping import Mapping

FIELDS = ("order_id", "sku", "quantity", "unit_price", "ts", "customer_id", "description", "channel", "region")
COLUMNS = (*FIELDS, "event_id")
SLOT = {name: f"_c{i}" for i, name in enumerate(COLUMNS)}
KEY = ("order_id", "sku", "quantity", "unit_price")  # a file load's natural key of an order line
MAX_CELL = 4000  # characters kept of one value


class BadBody(ValueError):
    """The body is not a JSON array (or NDJSON) of order lines."""


@dataclass
class Counts:
    """What became of one batch: ``accepted + duplicates + quarantined`` is its number of lines."""

    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0


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


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value[:MAX_CELL]
    if isinstance(value, (bool, dict, list)):
        return json.dumps(value, ensure_ascii=False)[:MAX_CELL]
    return str(value)[:MAX_CELL]


def _table(lines: list[Any]) -> pa.Table:
    """Lines as text cells in slot columns, with ``_row`` (1-based) and ``_bad`` (why a line is not a record)."""
    cols: dict[str, list] = {SLOT[c]: [] for c in COLUMNS}
    bad: list[str | None] = []
    for line in lines:
        record = line if isinstance(line, dict) else {}
        for c in COLUMNS:
            cols[SLOT[c]].append(_cell(record.get(c)))
        bad.append(
            None
            if isinstance(line, dict)
            else "line is not JSON"
            if isinstance(line, _Unparsable)
            else "line is not a JSON object"
        )
        if not isinstance(line, dict):  # keep what was sent, scrubbed like any quarantined cell
            cols[SLOT["description"]][-1] = str(line)[:MAX_CELL]
    arrays = {k: pa.array(v, pa.string()) for k, v in cols.items()}
    return pa.table(
        {**arrays, "_row": pa.array(range(1, len(lines) + 1), pa.int64()), "_bad": pa.array(bad, pa.string())}
    )


def store_events(store: Store, batches: list[list[Any]], lock: AbstractContextManager) -> list[Counts]:
    """Store the batches (lists of parsed lines) of one tenant as one load; the counts of each batch.

    Validation runs before ``lock``, the transaction (quarantine, orders, event ids, products and customers,
    the load marked ok) inside it."""
    lines = [line for batch in batches for line in batch]
    if not lines:
        return [Counts() for _ in batches]
    con = store.con
    digest = hashlib.sha256(json.dumps([_cell(x) for x in lines], default=str).encode()).hexdigest()
    con.register("_events", _table(lines))
    con.execute("CREATE OR REPLACE TEMP TABLE _src AS SELECT * FROM _events")
    con.unregister("_events")
    schema = pa.schema([pa.field(SLOT[c], pa.string()) for c in COLUMNS])
    store.install_pseudonym_key()
    stg = _Staging(store, schema, Mapping("orders", {f: SLOT[f] for f in FIELDS}), store.timezone)
    in_transaction = False
    try:
        stg.decide(None, None)
        cols, reason, derived = _orders_select(stg, {})
        hidden = ", ".join([*SLOT.values(), *stg.lookup_columns()])
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _stg AS
            SELECT * EXCLUDE ({hidden}), {derived}, nullif(trim({SLOT["event_id"]}), '') AS event_id FROM (
                SELECT *, coalesce(_bad, NULLIF({reason}, '')) AS reason
                FROM (SELECT *, {cols} FROM _src {stg.joins()}))""")
        with lock:
            load_id = _new_load(store, "orders", f"events ({len(lines)} lines)", digest)
            _select_new(store)
            con.execute("BEGIN TRANSACTION")
            in_transaction = True
            raw = ", ".join(f"'{c}': {_quarantined_cell(stg, SLOT[c], c == 'customer_id')}" for c in COLUMNS)
            con.execute(
                f"""
                INSERT INTO quarantine SELECT ?, ?, s._row, to_json({{{raw}}})::VARCHAR, s.reason, NULL
                FROM _stg s JOIN _src USING (_row) WHERE s.reason IS NOT NULL""",
                [store.tenant, load_id],
            )
            params = {"tenant": store.tenant, "load_id": load_id}
            stored = con.execute(_KINDS["orders"][2], params).fetchone()[0]
            con.execute(
                "INSERT INTO live_events SELECT $tenant, event_id, $load_id, _row FROM _new WHERE event_id IS NOT NULL",
                params,
            )
            refresh_dimensions(con, store.tenant)
            quarantined = con.execute("SELECT count(*) FROM _stg WHERE reason IS NOT NULL").fetchone()[0]
            con.execute(
                "UPDATE loads SET rows_read = ?, stored = ?, quarantined = ?, duplicates = ?, finished = ?, "
                "status = 'ok' WHERE load_id = ?",
                [len(lines), stored, quarantined, len(lines) - stored - quarantined, _now(), load_id],
            )
            counts = _per_batch(store, [len(b) for b in batches])
            con.execute("COMMIT")
            in_transaction = False
        return counts
    except BaseException:
        if in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        for table in ["_src", "_stg", "_new", *stg.lookups]:
            con.execute(f"DROP TABLE IF EXISTS {table}")
        store.drop_pseudonym_key()


def _select_new(store: Store) -> None:
    """``_new``: the valid staged lines not stored before, the first of each event id (or natural key)."""
    keys = ", ".join(KEY)
    store.con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _new AS
        WITH valid AS (SELECT * FROM _stg WHERE reason IS NULL)
        SELECT * FROM valid
        SEMI JOIN (SELECT min(_row) AS _row FROM valid WHERE event_id IS NOT NULL GROUP BY event_id) f USING (_row)
        ANTI JOIN (SELECT event_id FROM live_events WHERE tenant = $tenant) e USING (event_id)
        UNION ALL BY NAME
        SELECT * FROM valid
        SEMI JOIN (SELECT min(_row) AS _row FROM valid WHERE event_id IS NULL GROUP BY {keys}) f USING (_row)
        ANTI JOIN (SELECT {keys} FROM orders WHERE tenant = $tenant) o USING ({keys})""",
        {"tenant": store.tenant},
    )


def _per_batch(store: Store, sizes: Iterable[int]) -> list[Counts]:
    """Counts of each batch, from its range of rows in the load."""
    out, start = [], 0
    for n in sizes:
        lo, hi = start + 1, start + n
        accepted = store.con.execute("SELECT count(*) FROM _new WHERE _row BETWEEN ? AND ?", [lo, hi]).fetchone()[0]
        bad = store.con.execute(
            "SELECT count(*) FROM _stg WHERE reason IS NOT NULL AND _row BETWEEN ? AND ?", [lo, hi]
        ).fetchone()[0]
        out.append(Counts(accepted, n - accepted - bad, bad))
        start = hi
    return out
