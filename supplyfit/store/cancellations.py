"""Orders cancelled soon after they were placed are not demand: the SQL that takes them out of the demand panel
(and, with the returns that cancelled them, out of the indicators).

A shop's return lines mix two things: goods sent back after use, days or weeks later, and orders cancelled before
they shipped, minutes or hours after they were placed. The first were demand; the second never were. On UCI Online
Retail one order of 74,215 units (item 23166, 2011-01-18) was cancelled 16 minutes later; counted as a sale, it
made that week the SKU's whole history and a launch analog of 74k units.

A return line **cancels** a sale when it is the same customer's, of the same SKU and the same quantity, at most
:data:`CANCEL_WITHIN_HOURS` after it; it cancels the latest such sale before it, and a sale is cancelled at most
once (two returns pointing at one sale cancel one). The cancelled sale leaves the panel; the return stays a
return. Lines without a customer are never matched. Why a day: of the UCI 2009-2010 returns that match an earlier
sale this way, 640 follow it within an hour, 110 more within six hours and 45 more within the day; after that
they come at a steady 50-100 a day out to weeks, returns rather than cancellations.

The statements are plain SQL that DuckDB (the store, DataFrames, the out-of-core panel) and Spark SQL (the cluster
panel) both run, so every panel builder nets the same lines.
"""

from __future__ import annotations

from collections.abc import Sequence

CANCEL_WITHIN_HOURS = 24
KEY = ("customer_id", "sku", "quantity", "ts")  # what ties a cancellation to its sale
_ON = " AND ".join(f"s.{c} = c.{c}" for c in KEY)  # a sold line ``s`` of a cancelled key ``c``


def _matches(lines: str, hours: int) -> str:
    """The CTEs shared by both statements, ending in ``used``: each return that cancels a sale (customer_id, sku,
    q its absolute quantity, quantity as given, ts) with the sale's time ``sale``. The returns of one sale count in
    time order up to the number of equal sales at that time (a sale is cancelled once)."""
    return f"""
    r AS (SELECT DISTINCT customer_id, sku, abs(quantity) AS q FROM {lines}
          WHERE (is_return OR quantity < 0) AND quantity <> 0 AND customer_id IS NOT NULL),
    seq AS (SELECT l.customer_id, l.sku, abs(l.quantity) AS q, l.quantity, l.ts, (l.is_return OR l.quantity < 0) AS ret
            FROM {lines} l JOIN r ON l.customer_id = r.customer_id AND l.sku = r.sku AND abs(l.quantity) = r.q),
    m AS (SELECT customer_id, sku, q, quantity, ts, ret,
                 max(CASE WHEN NOT ret THEN ts END) OVER (PARTITION BY customer_id, sku, q ORDER BY ts, ret
                                                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS sale
          FROM seq),
    matched AS (SELECT customer_id, sku, q, quantity, ts, sale,
                       row_number() OVER (PARTITION BY customer_id, sku, q, sale ORDER BY ts) AS j
                FROM m WHERE ret AND ts <= sale + INTERVAL {int(hours)} HOUR),
    k AS (SELECT customer_id, sku, q, ts AS sale, count(*) AS k FROM seq WHERE NOT ret
          GROUP BY customer_id, sku, q, ts),
    used AS (SELECT m.customer_id, m.sku, m.q, m.quantity, m.ts, m.sale FROM matched m
             JOIN k ON m.customer_id = k.customer_id AND m.sku = k.sku AND m.q = k.q AND m.sale = k.sale
             WHERE m.j <= k.k)"""


def cancelled_sql(lines: str, hours: int = CANCEL_WITHIN_HOURS) -> str:
    """A SELECT of ``customer_id, sku, quantity, ts, n``: ``n`` sales of that key are cancelled.

    ``lines`` names a relation of product lines, sales and returns, with columns customer_id, sku, quantity, ts
    and is_return (a line is a return when flagged or of negative quantity). Only the lines of a
    (customer, SKU, quantity) that has a return are ordered in time, a small part of a shop's lines."""
    return f"""
    WITH {_matches(lines, hours)}
    SELECT customer_id, sku, q AS quantity, sale AS ts, count(*) AS n FROM used GROUP BY customer_id, sku, q, sale"""


def both_sides_sql(lines: str, hours: int = CANCEL_WITHIN_HOURS) -> str:
    """As :func:`cancelled_sql`, and also the returns that cancelled them (their own quantity and time): the lines
    that :func:`net_sql` then takes out so that a cancelled order counts as neither a sale nor a return (what the
    indicators count)."""
    return f"""
    WITH {_matches(lines, hours)},
    sides AS (SELECT customer_id, sku, q AS quantity, sale AS ts FROM used
              UNION ALL SELECT customer_id, sku, quantity, ts FROM used)
    SELECT customer_id, sku, quantity, ts, count(*) AS n FROM sides GROUP BY customer_id, sku, quantity, ts"""


def net_sql(sold: str, cancelled: str, columns: Sequence[str], kept: str | None = None) -> str:
    """A SELECT of ``columns`` of the lines of ``sold`` less those ``cancelled`` (a relation that
    :func:`cancelled_sql` or :func:`both_sides_sql` made) takes out: of the lines of a key, the ``n`` cheapest.
    ``kept``: a relation holding :func:`kept_sql` already, for a caller that reads the result many times."""
    return f"""
    SELECT {", ".join(f"s.{c}" for c in columns)} FROM {sold} s LEFT JOIN {cancelled} c ON {_ON} WHERE c.n IS NULL
    UNION ALL
    SELECT {", ".join(columns)} FROM {kept or f"({kept_sql(sold, cancelled, columns)})"}"""


def kept_sql(sold: str, cancelled: str, columns: Sequence[str]) -> str:
    """A SELECT of ``columns`` of the lines of ``sold`` whose key is in ``cancelled`` but that are not taken out
    (a key's lines beyond its ``n``): the second part of :func:`net_sql`, a handful of lines."""
    return _ranked(sold, cancelled, columns, ">")


def taken_sql(sold: str, cancelled: str, columns: Sequence[str]) -> str:
    """A SELECT of ``columns`` of the lines of ``sold`` that :func:`net_sql` takes out (of a key's lines, the
    ``n`` cheapest): for a caller that only sums, all lines less these are the net, and a join with the few
    cancelled keys costs less than :func:`net_sql`'s anti-join of every line."""
    return _ranked(sold, cancelled, columns, "<=")


def _ranked(sold: str, cancelled: str, columns: Sequence[str], op: str) -> str:
    return f"""
    SELECT {", ".join(f"s.{c}" for c in columns)}
    FROM (SELECT s.*, c.n AS _n, row_number() OVER (
              PARTITION BY s.customer_id, s.sku, s.quantity, s.ts ORDER BY s.unit_price NULLS LAST) AS _k
          FROM {sold} s JOIN {cancelled} c ON {_ON}) s
    WHERE s._k {op} s._n"""


def cancelled_totals_sql(sold: str, cancelled: str) -> str:
    """A SELECT of one row, ``lines, units``: how many lines of ``sold`` :func:`net_sql` takes out, and their units."""
    return f"""
    SELECT coalesce(sum(least(c.n, s.k)), 0) AS lines, coalesce(sum(least(c.n, s.k) * c.quantity), 0) AS units
    FROM {cancelled} c JOIN (SELECT s.customer_id, s.sku, s.quantity, s.ts, count(*) AS k
                             FROM {sold} s JOIN {cancelled} c ON {_ON}
                             GROUP BY s.customer_id, s.sku, s.quantity, s.ts) s ON {_ON}"""
