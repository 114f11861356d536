"""Small answers are encoded from row tuples (no DataFrame); they read exactly as pandas' JSON writer has them."""

import json

import pytest

from supplyfit.api.answers import encode, encode_rows
from supplyfit.api.routers.results import EXPORTABLE


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def test_row_encoding_matches_pandas_on_every_result_table(server):
    service = server["app"].state.service
    cursor, checked = service.cursor(), 0
    for table in sorted(t for t in EXPORTABLE if service.store.has_table(t)):
        sql = f'SELECT * EXCLUDE (tenant) FROM "{table}" WHERE tenant = ? LIMIT 300'
        result = cursor.execute(sql, ["default"])
        names, rows = [d[0] for d in result.description], result.fetchall()
        df = cursor.execute(sql, ["default"]).df()
        for one in (False, True):
            ours, theirs = json.loads(encode_rows(names, rows, one) or "null"), json.loads(encode(df, one) or "null")
            assert _same(ours, theirs) or (one and not rows), (table, one)
        checked += bool(rows)
    assert checked >= 15
