"""The Store: one DuckDB file holding loaded data and every stage's results, scoped by tenant."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ..assets import Result, declared, stale_stages
from . import privacy
from .dimensions import refresh_dimensions, refresh_pending
from .schema import SCHEMA_VERSION, migrate
from .sql import scalar, transaction

DEFAULT_DB = "supplyfit.duckdb"
# DuckDB's own memory (beyond it, it spills to <db>.tmp/): its default, 80% of the machine, let one query of a
# 500k-SKU store take 10 GB next to the stage's frames; 2 GB costs no speed at 50k SKUs (measured)
STORE_MEMORY = os.environ.get("SUPPLYFIT_MEMORY", "2GB")
SOURCE_TABLES = ("orders", "products", "customers", "reviews", "loads", "quarantine", "live_events", "events")
# rows carry the load_id of the load that stored them (recovery removes those of a load not marked ok)
LOADED_TABLES = ("orders", "reviews", "quarantine", "live_events", "events")
# the store's own bookkeeping: never a result, never shown or exported
INTERNAL_TABLES = ("meta", "api_keys", "result_meta", "live_signals", "live_webhooks", "live_outbox")
# numeric types by the values they hold, for migrating a shared result table's column without changing values
_WIDTH = {"BOOLEAN": 0, "TINYINT": 1, "SMALLINT": 2, "INTEGER": 3, "BIGINT": 4, "HUGEINT": 5, "FLOAT": 6, "DOUBLE": 7}
_TIMES = {"DATE": 0, "TIMESTAMP_S": 1, "TIMESTAMP_MS": 2, "TIMESTAMP": 3, "TIMESTAMP_NS": 4}  # likewise, for times


def _kind(duck_type: str) -> str:
    """What a DuckDB type holds, for checking a write against a declaration: 'number', 'time', or the type."""
    if duck_type in _TIMES:
        return "time"
    unsigned = duck_type.removeprefix("U")
    if duck_type.startswith("DECIMAL") or (unsigned in _WIDTH and unsigned != "BOOLEAN"):
        return "number"
    return duck_type


def _holds(declared_type: str, duck_type: str) -> bool:
    """Whether a column of ``declared_type`` holds every value of ``duck_type`` unchanged (a lossless cast)."""
    for order in (_WIDTH, _TIMES):
        if declared_type in order and duck_type in order:
            return order[declared_type] >= order[duck_type]
    return declared_type == duck_type


def is_result_table(name: str) -> bool:
    """Whether ``name`` may hold a stage's results (written, exported); source and internal tables may not."""
    return name not in SOURCE_TABLES + INTERNAL_TABLES


class Store:
    """An open store. Use as a context manager; every read and write is limited to ``tenant``.

    >>> with Store("supplyfit.duckdb") as st:
    ...     st.table("orders").head()
    """

    def __init__(self, path: str | Path = DEFAULT_DB, tenant: str = "default", read_only: bool = False):
        self.path = str(path)
        self.tenant = tenant
        self.read_only = read_only
        if read_only and not Path(self.path).exists():
            raise FileNotFoundError(f"no store at {self.path}; load data first (supplyfit ingest orders FILE)")
        try:
            self.con = duckdb.connect(self.path, read_only=read_only, config={"memory_limit": STORE_MEMORY})
        except duckdb.IOException as e:
            held = re.search(r"Could not set lock.*\(PID (\d+)\)", str(e))
            if held:
                raise RuntimeError(
                    f"{self.path} is open in another process (PID {held[1]}; a running `supplyfit serve`?): "
                    "stop it, or do this through that server's API or dashboard (keys: POST /api/v1/keys; data: "
                    "/api/v1/uploads; loads and results: /api/v1/loads, /api/v1/jobs, the dashboard's Data tab)"
                ) from None
            if "version number" not in str(e):
                raise
            raise RuntimeError(
                f"{self.path} was written by another DuckDB storage version than this one "
                f"({duckdb.__version__}); export it with that version or rebuild it"
            ) from None
        self.secret = privacy.load_secret(self.path, create=not read_only)
        if not read_only:
            with transaction(self.con):
                migrate(self.con)
                self._protect_personal_data()
                self._undo_unfinished()
                refresh_pending(self.con)

    def recover(self) -> dict[int, int]:
        """Undo every load not marked ok (as opening the store does); see :meth:`_undo_unfinished`."""
        with transaction(self.con):
            return self._undo_unfinished()

    def _undo_unfinished(self) -> dict[int, int]:
        """Undo every load not marked ok: remove its rows from every table it touched, rebuild the products and
        customers of the tenants concerned, and say in each load's note how many rows were removed.

        Only one writer can hold the file, so a load still 'running' here was killed. Its rows should not exist
        (its transaction never committed), but DuckDB can recover bulk-appended rows of an uncommitted transaction
        after a crash (duckdb/duckdb#25931); recovery by load id makes that harmless. Rows whose load id is unknown
        are removed too. Returns {load_id: rows removed}.
        """
        con = self.con
        undo = "SELECT load_id FROM loads WHERE status NOT IN ('ok', 'skipped')"
        removed: dict[int, int] = {}
        tenants: set[str] = set()
        for table in LOADED_TABLES:
            gone = con.execute(
                f"DELETE FROM {table} WHERE load_id IN ({undo}) OR load_id NOT IN (SELECT load_id FROM loads) "
                "RETURNING load_id, tenant"
            ).fetchall()
            for load_id, tenant in gone:
                removed[load_id] = removed.get(load_id, 0) + 1
                if table == "orders":
                    tenants.add(tenant)
        for tenant in sorted(tenants):
            refresh_dimensions(con, tenant)
        running = [r[0] for r in con.execute("SELECT load_id FROM loads WHERE status = 'running'").fetchall()]
        for load_id in running:
            n = removed.get(load_id, 0)
            con.execute(
                "UPDATE loads SET status = 'aborted', note = ? WHERE load_id = ?",
                [
                    "process ended before commit; nothing was stored"
                    if n == 0
                    else f"process ended before commit; {n} partially stored rows were removed on reopening",
                    load_id,
                ],
            )
        return removed

    def integrity(self) -> pd.DataFrame:
        """Loads marked ok whose tables do not hold exactly the rows they counted (never expected; reported by
        ``status`` rather than trusted silently)."""
        return self.query("""
            WITH o AS (SELECT load_id, count(*) AS n FROM orders WHERE tenant = $tenant GROUP BY 1),
                 r AS (SELECT load_id, count(*) AS n FROM reviews WHERE tenant = $tenant GROUP BY 1),
                 q AS (SELECT load_id, count(*) AS n FROM quarantine WHERE tenant = $tenant GROUP BY 1)
            SELECT l.load_id, l.kind, l.stored, coalesce(o.n, 0) + coalesce(r.n, 0) AS rows_found,
                   l.quarantined, coalesce(q.n, 0) AS quarantine_found
            FROM loads l LEFT JOIN o USING (load_id) LEFT JOIN r USING (load_id) LEFT JOIN q USING (load_id)
            WHERE l.tenant = $tenant AND l.status = 'ok'
              AND (l.stored <> coalesce(o.n, 0) + coalesce(r.n, 0) OR l.quarantined <> coalesce(q.n, 0))
            ORDER BY l.load_id""")

    @property
    def timezone(self) -> str:
        """The tenant's time zone: stored times are local times there (default UTC)."""
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", [f"timezone:{self.tenant}"]).fetchone()
        return row[0] if row else "UTC"

    def set_timezone(self, tz: str) -> None:
        """Set the tenant's time zone for later loads (already stored times are not moved)."""
        self.con.execute("SELECT timezone(?, TIMESTAMPTZ '2000-01-01 00:00:00+00')", [tz])  # raises if unknown
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [f"timezone:{self.tenant}", tz])

    @property
    def country(self) -> str | None:
        """The tenant's country (ISO code such as GB or CN): its public holidays are calendar days of the
        forecasts (None: not set)."""
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", [f"country:{self.tenant}"]).fetchone()
        return row[0] if row else None

    def set_country(self, country: str) -> None:
        """Set the tenant's country for later forecasts (ISO code). The store only keeps it: the forecasts' calendar
        (``supplyfit.demand.calendar.public_holidays``) says when no holidays are known for it."""
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [f"country:{self.tenant}", country.upper()])

    def events(self) -> pd.DataFrame:
        """The tenant's calendar events (``supplyfit ingest events``): name, start, end, scope, target, kind."""
        return self.query(
            'SELECT name, start, "end", scope, target, kind FROM events WHERE tenant = $tenant ORDER BY start, name'
        )

    def scoped(self, tenant: str, con: duckdb.DuckDBPyConnection | None = None) -> Store:
        """Another handle on the same open database for ``tenant``: its own cursor (or ``con``, one of this
        database's cursors to share), so another thread can read while this one writes (DuckDB's MVCC),
        without opening the file twice."""
        other = object.__new__(Store)
        other.path, other.tenant, other.read_only, other.secret = self.path, tenant, self.read_only, self.secret
        other.con = con if con is not None else self.con.cursor()
        return other

    # ---- personal data -------------------------------------------------------------------------------
    def _protect_personal_data(self) -> None:
        """Tie the store to its secret; a store from before pseudonymisation gets its ids replaced, once."""
        fp = privacy.fingerprint(self.key)
        row = self.con.execute("SELECT value FROM meta WHERE key = 'pii_fingerprint'").fetchone()
        if row and row[0] != fp:
            raise RuntimeError(
                f"{self.path} was pseudonymised with another secret than the one found "
                f"(${privacy.SECRET_ENV} or {self.path}.secret); restore that secret, or customers would split"
            )
        if row:
            return
        self.con.execute("INSERT OR REPLACE INTO meta VALUES ('pii_ids', 'whole-number')")  # privacy.WHOLE_NUMBER
        self.install_pseudonym_key()
        for (table,) in self.con.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE column_name = 'customer_id' AND table_schema = 'main'"
        ).fetchall():
            expr = privacy.pseudonym_sql("customer_id", "tenant")
            self.con.execute(f'UPDATE "{table}" SET customer_id = {expr}')
        rows = self.con.execute("SELECT rowid, tenant, raw FROM quarantine").fetchall()
        if rows:
            keys = {k for _, _, raw in rows for k in _json_keys(raw) if privacy.is_personal_header(k)}
            self.con.executemany(
                "UPDATE quarantine SET raw = ? WHERE rowid = ?",
                [[privacy.protect_raw_json(raw, keys, self.key, tenant, True), rid] for rid, tenant, raw in rows],
            )
        self.con.execute("INSERT INTO meta VALUES ('pii_fingerprint', ?)", [fp])
        self.drop_pseudonym_key()

    def install_pseudonym_key(self) -> None:
        """Put the HMAC pads in a temporary (never persisted) table for :func:`privacy.pseudonym_sql`."""
        ipad, opad = privacy.hmac_pads(self.key)
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE _pii_key AS SELECT ?::BLOB AS ipad, ?::BLOB AS opad, ?::BOOLEAN AS whole",
            [ipad, opad, self.whole_ids],
        )

    def drop_pseudonym_key(self) -> None:
        self.con.execute("DROP TABLE IF EXISTS _pii_key")

    @property
    def key(self) -> bytes:
        """The pseudonymisation secret (a read-only handle may have none)."""
        if self.secret is None:
            raise RuntimeError(f"no secret for {self.path}: set ${privacy.SECRET_ENV} or restore {self.path}.secret")
        return self.secret

    @property
    def whole_ids(self) -> bool:
        """The store's id rule: whether 13085.0 is pseudonymised as 13085 (:data:`privacy.WHOLE_NUMBER`); False in
        a store pseudonymised before that rule, whose stored pseudonyms new loads must keep joining."""
        row = self.con.execute("SELECT value FROM meta WHERE key = 'pii_ids'").fetchone()
        return row is not None and row[0] == "whole-number"

    def pseudonym(self, raw_id: str) -> str:
        """The pseudonym under which this tenant's customer ``raw_id`` is stored."""
        return privacy.pseudonym(self.key, self.tenant, str(raw_id).strip(), self.whole_ids)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    # ---- reading -------------------------------------------------------------------------------------
    def has_table(self, name: str) -> bool:
        return bool(scalar(self.con, "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]))

    def query(self, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Run SQL with named ``$params`` and return a DataFrame; ``$tenant`` is bound to this store's tenant."""
        named = dict(params or {})
        if "$tenant" in sql:
            named.setdefault("tenant", self.tenant)
        return (self.con.execute(sql, named) if named else self.con.execute(sql)).df()

    def table(self, name: str, where: str = "", columns: str = "*") -> pd.DataFrame:
        """Rows of a table for this tenant (without the tenant column)."""
        if not self.has_table(name):
            raise KeyError(f"table {name!r} does not exist yet; run the stage that writes it")
        sql = (
            f'SELECT {columns} EXCLUDE (tenant) FROM "{name}" WHERE tenant = $tenant'
            if columns == "*"
            else f'SELECT {columns} FROM "{name}" WHERE tenant = $tenant'
        )
        if where:
            sql += f" AND ({where})"
        return self.query(sql)

    def sales(self) -> pd.DataFrame:
        """Product lines (returns included, non-product lines excluded) with the product category."""
        return self.query(
            "SELECT o.order_id, o.line_no, o.sku, o.description, o.quantity, o.unit_price, o.ts, o.customer_id, "
            "o.region, o.channel, coalesce(o.category, p.category) AS category, o.is_return "
            "FROM orders o LEFT JOIN products p ON p.tenant = o.tenant AND p.sku = o.sku "
            "WHERE o.tenant = $tenant AND o.is_product ORDER BY o.ts, o.order_id, o.line_no"
        )

    # ---- result tables -------------------------------------------------------------------------------
    def has_result(self, name: str) -> bool:
        """Whether this tenant has rows in result table ``name`` (other tenants' rows do not count)."""
        return self.has_table(name) and bool(
            self.con.execute(f'SELECT 1 FROM "{name}" WHERE tenant = ? LIMIT 1', [self.tenant]).fetchall()
        )

    def write_result(self, name: str, df: pd.DataFrame) -> int:
        """Replace this tenant's rows of result table ``name`` with ``df``; other tenants are untouched.

        A table declared in :mod:`supplyfit.assets` must get its declared columns with types of the same kind
        (ValueError naming the table and the column otherwise); a declared column with no values, or one a wider
        declared type holds exactly, takes the declared type. An undeclared table takes the columns and types of
        the frame, an empty frame's text columns typed VARCHAR (DuckDB would infer INTEGER from no values and
        refuse every later write of text). When the types change and no other tenant has rows, the table is
        rebuilt; when they have, a column is widened for all of them. The write time goes to ``result_meta``."""
        if not is_result_table(name):
            raise ValueError(f"{name!r} is a source table; results go to their own tables")
        frame = df.copy(deep=False)  # the columns are only read: a result of millions of rows is not doubled
        frame.insert(0, "tenant", pd.Categorical.from_codes(np.zeros(len(df), np.int8), [self.tenant]))
        self.con.register("_result_df", frame)
        try:
            self._replace(name, frame, self._conform(name, frame, declared(name)))
        finally:
            self.con.unregister("_result_df")
        return len(frame)

    def _replace(self, name: str, frame: pd.DataFrame, select: str) -> None:
        """In one transaction: rebuild or widen the table if need be, replace the tenant's rows, note the time."""
        try:
            self.con.execute("BEGIN TRANSACTION")
            if self.has_table(name):
                existing = self.con.execute(f'DESCRIBE "{name}"').fetchall()
                wanted = self.con.execute(f"DESCRIBE SELECT {select} FROM _result_df").fetchall()
                same_names = [r[0] for r in existing] == [r[0] for r in wanted]
                if not same_names or [r[1] for r in existing] != [r[1] for r in wanted]:
                    others = scalar(self.con, f'SELECT count(*) FROM "{name}" WHERE tenant <> ?', [self.tenant])
                    if not others:
                        self.con.execute(f'DROP TABLE "{name}"')
                    elif not same_names:
                        raise ValueError(f"table {name!r} has other columns and other tenants' rows")
                    elif not frame.empty:
                        self._widen(name, existing, wanted)
            if not self.has_table(name):
                self.con.execute(f'CREATE TABLE "{name}" AS SELECT {select} FROM _result_df LIMIT 0')
            self.con.execute(f'DELETE FROM "{name}" WHERE tenant = ?', [self.tenant])
            if not frame.empty:
                self.con.execute(f'INSERT INTO "{name}" SELECT {select} FROM _result_df')
            self.con.execute(
                "INSERT OR REPLACE INTO result_meta VALUES (?, ?, ?)", [self.tenant, name, dt.datetime.now()]
            )  # the clock loads.finished is read on
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise

    def _conform(self, name: str, frame: pd.DataFrame, decl: Result | None) -> str:
        """The SELECT list that writes ``frame`` (registered as _result_df) to table ``name``: declared columns in
        their declared types where that changes no value; ValueError for a frame that breaks the declaration."""
        spec = decl.columns if decl else {}
        if decl:
            _check_names(name, decl, list(frame.columns[1:]))
        found = {c: t for c, t, *_ in self.con.execute("DESCRIBE SELECT * FROM _result_df").fetchall()}
        exprs = ['CAST("tenant" AS VARCHAR) AS "tenant"']
        for c in frame.columns[1:]:
            want, got = spec.get(c), found[c]
            if want and frame[c].isna().all():
                exprs.append(f'CAST(NULL AS {want}) AS "{c}"')  # no values: nothing to check, take the declared type
            elif want and _kind(want) != _kind(got):
                raise ValueError(
                    f"result table {name!r}: column {c!r} is {got}, declared {want} (in supplyfit/assets.py)"
                )
            elif want and want != got and _holds(want, got):
                exprs.append(f'CAST("{c}" AS {want}) AS "{c}"')
            elif frame.empty and frame[c].dtype == object:
                exprs.append(f'CAST("{c}" AS VARCHAR) AS "{c}"')
            else:
                exprs.append(f'"{c}"')
        return ", ".join(exprs)

    def _widen(self, name: str, existing: list, wanted: list) -> None:
        """Migrate columns of a shared result table, for all tenants at once, to a type holding both the stored
        and the new values (INTEGER -> DOUBLE, anything -> VARCHAR); never narrow, which would change values."""
        for (col, old, *_), (_, new, *_) in zip(existing, wanted):
            if old == new or _WIDTH.get(old, -1) > _WIDTH.get(new, 99) or old == "VARCHAR":
                continue  # the stored type already holds the new values
            if _WIDTH.get(new, -1) > _WIDTH.get(old, 99) or new == "VARCHAR":
                self.con.execute(f'ALTER TABLE "{name}" ALTER "{col}" SET DATA TYPE {new}')
                continue
            raise ValueError(f"table {name!r}: column {col!r} is {old} for other tenants and {new} here")

    # ---- overview ------------------------------------------------------------------------------------
    def tenants(self) -> list[str]:
        """Every tenant with a row in one of the store's tables (a misspelt one has none): one scan of each table's
        tenant column, so asked for by ``supplyfit status`` alone, not by every reader of :meth:`status`."""
        tables = [
            r[0]
            for r in self.con.execute(
                "SELECT DISTINCT table_name FROM information_schema.columns WHERE column_name = 'tenant' ORDER BY 1"
            ).fetchall()
            if r[0] not in INTERNAL_TABLES
        ]
        if not tables:
            return []
        union = " UNION ".join(f'SELECT tenant FROM "{t}"' for t in tables)
        return sorted(str(r[0]) for r in self.con.execute(union).fetchall())

    def status(self) -> dict[str, Any]:
        """Counts per table, recent loads, quarantine reasons and stale results (by stage) for this tenant."""
        tables = [
            r[0]
            for r in self.con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()
            if r[0] not in INTERNAL_TABLES
        ]
        counts = {}
        for t in tables:
            cols = {r[0] for r in self.con.execute(f'DESCRIBE "{t}"').fetchall()}
            if "tenant" in cols:
                counts[t] = scalar(self.con, f'SELECT count(*) FROM "{t}" WHERE tenant = ?', [self.tenant])
        loads = self.query(
            "SELECT load_id, kind, file, rows_read, stored, quarantined, duplicates, status, "
            "started, finished FROM loads WHERE tenant = $tenant ORDER BY load_id DESC LIMIT 10"
        )
        reasons = self.query(
            "SELECT reason, count(*) AS rows FROM quarantine WHERE tenant = $tenant "
            "GROUP BY reason ORDER BY rows DESC LIMIT 20"
        )
        classes = pd.DataFrame(
            [(t, c, k) for t, cols in privacy.COLUMN_CLASSES.items() for c, k in cols.items()],
            columns=["table", "column", "class"],
        )
        return {
            "path": self.path,
            "tenant": self.tenant,
            "schema_version": SCHEMA_VERSION,
            "tables": counts,
            "loads": loads,
            "quarantine_reasons": reasons,
            "column_classes": classes,
            "integrity": self.integrity(),
            "stale": stale_stages(self),
        }


def _check_names(name: str, decl: Result, columns: list[str]) -> None:
    """ValueError unless ``columns`` has every declared column and, unless the declaration allows more, no other."""
    missing = [c for c in decl.columns if c not in columns]
    unknown = [] if decl.extra else [c for c in columns if c not in decl.columns]
    if missing or unknown:
        what = (
            f"column {missing[0]!r} ({decl.columns[missing[0]]}) is missing"
            if missing
            else f"column {unknown[0]!r} is not declared"
        )
        raise ValueError(
            f"result table {name!r}: {what}; declared columns: {', '.join(decl.columns)}"
            f"{' and more' if decl.extra else ''} (in supplyfit/assets.py)"
        )


def _json_keys(raw: str | None) -> list[str]:
    try:
        row = json.loads(raw or "")
    except ValueError:
        return []
    return list(row) if isinstance(row, dict) else []
