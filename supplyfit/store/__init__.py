"""The store: DuckDB schema, readers, validation, quarantine and idempotent loads."""

from .db import DEFAULT_DB, Store
from .errors import IngestError
from .ingest import LoadReport, ingest, ingest_orders, ingest_reviews, load_frame
from .mapping import PRESETS, parse_overrides

__all__ = [
    "DEFAULT_DB",
    "Store",
    "IngestError",
    "LoadReport",
    "ingest",
    "ingest_orders",
    "ingest_reviews",
    "load_frame",
    "PRESETS",
    "parse_overrides",
]
