"""The demand stage's tables read back compactly: what the supply stage needs of them, without a Python string per
row.

Read whole into pandas, ``demand_panel`` (SKUs x weeks rows) holds its ids and categories as one Python string per
row: 2.7 GB of the 9 GB the supply stage took at 200k SKUs. Here DuckDB numbers the ids and texts, the rows come in
blocks of SKUs, and the ids and texts become pandas categoricals (sorted categories): a few bytes a row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..store import Store

BLOCK = 2_000  # SKUs per query: bounds what DuckDB holds for a result (its sort, its conversion) at any catalogue size


def _distinct(store: Store, table: str, column: str, where: str, params: dict) -> np.ndarray:
    """The distinct non-null values of a text column, in DuckDB's order (that of ``ORDER BY``)."""
    sql = f'SELECT DISTINCT {column} AS v FROM "{table}" WHERE tenant = $tenant AND {column} IS NOT NULL{where}'
    sql += " ORDER BY v"
    return store.query(sql, params)["v"].to_numpy(dtype=object)


def _categorical(codes: np.ndarray, values: np.ndarray) -> pd.Categorical:
    """Codes into ``values`` (DuckDB's order; -1 for null) as a categorical with sorted categories (Python's order,
    what sorting the strings in pandas gives)."""
    order = np.argsort(values, kind="stable")
    rank = np.empty(len(values), dtype=np.int32)
    rank[order] = np.arange(len(values), dtype=np.int32)
    recoded = rank[np.maximum(codes, 0)] if len(values) else np.full(len(codes), -1, dtype=np.int32)
    recoded[codes < 0] = -1
    return pd.Categorical.from_codes(recoded, categories=pd.Index(values[order], dtype=object))


def read_compact(
    store: Store,
    table: str,
    numbers: tuple[str, ...],
    texts: tuple[str, ...] = (),
    where: str = "",
    params: dict | None = None,
    block: int = BLOCK,
) -> pd.DataFrame:
    """This tenant's rows of ``table`` (optionally filtered by the SQL condition ``where`` with ``params``) ordered
    by unique_id then ds: unique_id and the ``texts`` columns as categoricals, ``ds`` and the ``numbers`` columns as
    stored. Read ``block`` SKUs at a time into arrays allocated once."""
    params = dict(params or {})
    cond = f" AND ({where})" if where else ""
    ids = _distinct(store, table, "unique_id", cond, params)
    labels = {c: _distinct(store, table, c, cond, params) for c in texts}
    total = int(store.query(f'SELECT count(*) AS n FROM "{table}" WHERE tenant = $tenant{cond}', params)["n"].iloc[0])
    ds = np.empty(total, dtype="datetime64[ns]")
    uid = np.empty(total, dtype=np.int32)
    num = {c: np.empty(total, dtype=float) for c in numbers}
    code = {c: np.empty(total, dtype=np.int32) for c in texts}
    # texts numbered in SQL: their position in the sorted distinct values (a list parameter), -1 for null
    text_sql = "".join(
        f", coalesce(list_position($labels_{c}, {c}) - 1, -1)::INTEGER AS {c}" if len(labels[c]) else f", -1 AS {c}"
        for c in texts
    )
    number_sql = "".join(f", {c}::DOUBLE AS {c}" for c in numbers)
    at = 0
    for lo in range(0, len(ids), block):
        hi = min(lo + block, len(ids)) - 1
        part = store.query(
            f"SELECT (dense_rank() OVER (ORDER BY unique_id) - 1 + {lo})::INTEGER AS uid, ds{number_sql}{text_sql} "
            f'FROM "{table}" WHERE tenant = $tenant AND unique_id BETWEEN $lo AND $hi{cond} ORDER BY unique_id, ds',
            {
                **params,
                "lo": ids[lo],
                "hi": ids[hi],
                **{f"labels_{c}": list(labels[c]) for c in texts if len(labels[c])},
            },
        )
        n = len(part)
        uid[at : at + n] = part["uid"].to_numpy()
        ds[at : at + n] = part["ds"].to_numpy(dtype="datetime64[ns]")
        for c in numbers:
            num[c][at : at + n] = part[c].to_numpy(dtype=float, na_value=np.nan)
        for c in texts:
            code[c][at : at + n] = part[c].to_numpy()
        at += n
    columns = {"unique_id": _categorical(uid[:at], ids), "ds": ds[:at], **{c: num[c][:at] for c in numbers}}
    columns.update({c: _categorical(code[c][:at], labels[c]) for c in texts})
    frame = pd.DataFrame(columns, copy=False)  # the arrays as they are: no second copy of the rows
    return frame
