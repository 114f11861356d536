"""DuckDB schema of the store, with a version number and forward migrations.

Every table carries a ``tenant`` so that one file can serve several brands or factories.
Result tables written by the analysis stages are created on first write (see ``Store.write_result``).
"""

from __future__ import annotations

import duckdb

SCHEMA_VERSION = 6

# Each entry migrates from version i to i + 1. Append, never edit: stores in the field run them in order.
MIGRATIONS: list[str] = [
    """
    CREATE SEQUENCE IF NOT EXISTS load_id_seq START 1;
    CREATE TABLE IF NOT EXISTS loads (
        load_id BIGINT PRIMARY KEY,
        tenant VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,              -- orders | reviews
        file VARCHAR NOT NULL,
        content_hash VARCHAR NOT NULL,
        rows_read BIGINT, stored BIGINT, quarantined BIGINT, duplicates BIGINT,
        started TIMESTAMP NOT NULL, finished TIMESTAMP,
        status VARCHAR NOT NULL,            -- running | ok | skipped | aborted
        note VARCHAR
    );
    CREATE TABLE IF NOT EXISTS quarantine (
        tenant VARCHAR NOT NULL,
        load_id BIGINT NOT NULL,
        src_row BIGINT NOT NULL,            -- 1-based data row in the source file (header not counted)
        raw VARCHAR,                        -- the row as read, JSON object of source columns
        reason VARCHAR NOT NULL
    );
    CREATE TABLE IF NOT EXISTS orders (
        tenant VARCHAR NOT NULL,
        order_id VARCHAR NOT NULL,
        line_no INTEGER NOT NULL,           -- the line's place in its source file (orders the lines)
        sku VARCHAR NOT NULL,
        description VARCHAR,
        quantity DOUBLE NOT NULL,
        unit_price DOUBLE NOT NULL,
        ts TIMESTAMP NOT NULL,
        customer_id VARCHAR,
        region VARCHAR,
        channel VARCHAR,
        category VARCHAR,                   -- as given by the source, if any
        is_return BOOLEAN NOT NULL,
        is_product BOOLEAN NOT NULL,
        load_id BIGINT NOT NULL,
        src_row BIGINT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS products (
        tenant VARCHAR NOT NULL, sku VARCHAR NOT NULL, name VARCHAR, category VARCHAR,
        attributes VARCHAR, is_product BOOLEAN, avg_price DOUBLE,
        first_sold TIMESTAMP, last_sold TIMESTAMP
    );
    CREATE TABLE IF NOT EXISTS customers (
        tenant VARCHAR NOT NULL, customer_id VARCHAR NOT NULL, region VARCHAR,
        first_order TIMESTAMP, last_order TIMESTAMP, orders BIGINT, revenue DOUBLE
    );
    CREATE TABLE IF NOT EXISTS reviews (
        tenant VARCHAR NOT NULL,
        review_id VARCHAR NOT NULL,
        sku VARCHAR,
        category VARCHAR,
        text VARCHAR NOT NULL,
        label INTEGER,                      -- 1 positive, 0 negative, NULL unknown
        rating DOUBLE,
        ts TIMESTAMP,
        lang VARCHAR,
        load_id BIGINT NOT NULL,
        src_row BIGINT NOT NULL
    );
    """,
    """
    CREATE TABLE IF NOT EXISTS api_keys (
        key_id VARCHAR PRIMARY KEY,         -- public prefix of the key, shown in listings
        tenant VARCHAR NOT NULL,
        role VARCHAR NOT NULL,              -- reader | writer | admin
        key_hash VARCHAR NOT NULL,          -- sha256 of the whole key; the key itself is never stored
        created TIMESTAMP NOT NULL,
        revoked TIMESTAMP
    );
    """,
    """
    ALTER TABLE orders ADD COLUMN merchant VARCHAR;     -- seller, brand or supplier of the line, if given
    ALTER TABLE reviews ADD COLUMN merchant VARCHAR;
    ALTER TABLE quarantine ADD COLUMN merchant VARCHAR;
    """,
    """
    -- real time (supplyfit.live): events seen by id, signals in order, webhooks and their durable outbox
    CREATE TABLE IF NOT EXISTS live_events (
        tenant VARCHAR NOT NULL, event_id VARCHAR NOT NULL, load_id BIGINT NOT NULL, src_row BIGINT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS live_signals (
        signal_id BIGINT PRIMARY KEY,
        tenant VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,              -- demand_above_forecast | demand_below_forecast | reorder
        sku VARCHAR NOT NULL,
        week TIMESTAMP NOT NULL,            -- the business week (Monday) it is about
        severity INTEGER NOT NULL,          -- a signal repeats within its week only at a higher severity
        ts TIMESTAMP NOT NULL,              -- business time when it was raised
        detail VARCHAR NOT NULL             -- JSON object
    );
    CREATE TABLE IF NOT EXISTS live_webhooks (
        webhook_id VARCHAR PRIMARY KEY, tenant VARCHAR NOT NULL, url VARCHAR NOT NULL, kinds VARCHAR NOT NULL,
        secret VARCHAR NOT NULL, created TIMESTAMP NOT NULL
    );
    CREATE TABLE IF NOT EXISTS live_outbox (
        signal_id BIGINT NOT NULL, webhook_id VARCHAR NOT NULL, tenant VARCHAR NOT NULL,
        attempts INTEGER NOT NULL, next_at TIMESTAMP NOT NULL, delivered TIMESTAMP, gave_up TIMESTAMP,
        last_error VARCHAR
    );
    """,
    """
    -- when each tenant's result table was last written (Store.write_result), to tell stale results
    CREATE TABLE IF NOT EXISTS result_meta (
        tenant VARCHAR NOT NULL, name VARCHAR NOT NULL, written TIMESTAMP NOT NULL, PRIMARY KEY (tenant, name)
    );
    """,
    """
    -- a tenant's own calendar (supplyfit ingest events): promotions, close-downs and launches, each over days
    CREATE TABLE IF NOT EXISTS events (
        tenant VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        start TIMESTAMP NOT NULL,           -- first day
        "end" TIMESTAMP NOT NULL,           -- last day (the start when not given)
        scope VARCHAR NOT NULL,             -- all | category | sku
        target VARCHAR NOT NULL,            -- the category or SKU ('' for all)
        kind VARCHAR NOT NULL,              -- promotion | closure | launch
        load_id BIGINT NOT NULL,
        src_row BIGINT NOT NULL
    );
    """,
]


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring the store to SCHEMA_VERSION; returns the version found before migrating.

    Runs in the caller's transaction: opening a store migrates, protects and recovers in one commit (each
    commit syncs the write-ahead log; seven of them made opening a new store ten times slower than connecting)."""
    con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    found = int(row[0]) if row else 0
    if found > SCHEMA_VERSION:
        raise RuntimeError(
            f"store schema version {found} is newer than this supplyfit ({SCHEMA_VERSION}); upgrade supplyfit"
        )
    for version in range(found, SCHEMA_VERSION):
        con.execute(MIGRATIONS[version])
    if found < SCHEMA_VERSION:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    return found
