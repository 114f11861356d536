"""Small tables a planner brings beside the store (new designs' drafts, stock on hand): read from CSV, Excel or
Parquet, columns found by name as the store finds a file's, every bad value named at once (nothing guessed)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..store.encoding import detect_encoding
from ..store.mapping import match_headers
from ..store.readers import sniff_delimiter

Fields = dict[str, tuple[bool, tuple[str, ...]]]  # field -> (required, header synonyms)
Rules = Sequence[tuple[str, str, Callable[[float], bool]]]  # numeric field, what it must be, the check


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV (its encoding and delimiter found as the store finds them), Excel or Parquet file as it is, cells
    of a CSV as text."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xls"):
        return pd.read_excel(path, engine="calamine")
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    encoding = detect_encoding(path)
    with open(path, encoding=encoding, errors="replace") as f:
        header = f.readline().lstrip("\ufeff")
    return pd.read_csv(
        path, dtype=str, keep_default_na=False, encoding=encoding, sep=sniff_delimiter(header),
        skip_blank_lines=False,  # a blank line is a row (dropped as empty), so row numbers follow the file's lines
    )  # fmt: skip


def map_table(frame: pd.DataFrame, fields: Fields, rules: Rules, what: str) -> pd.DataFrame:
    """``frame`` with its columns renamed to ``fields`` (unique_id among them) and its ``rules`` numbers read; rows
    with every field empty are left out. ValueError naming every bad row (numbered from 1 after the header, as the
    store numbers a file's rows; blank lines count): an empty or repeated id, a number that is not finite or breaks
    its rule (a date or a yes/no is none). An empty number cell is "not given" (NaN), a wrong one an error."""
    found = match_headers(list(frame.columns), fields)
    missing = [f for f, (required, _) in fields.items() if required and f not in found]
    if missing:
        needed = "; ".join(f"{f} (e.g. {', '.join(fields[f][1][:3])})" for f in missing)
        raise ValueError(f"{what}s need column(s) {needed}; found {', '.join(map(str, frame.columns))}")
    out = frame[list(found.values())].rename(columns={c: f for f, c in found.items()})
    filled = ~out.map(_blank).all(axis=1).to_numpy()
    rows = np.arange(1, len(out) + 1)[filled]
    out = out[filled].reset_index(drop=True)
    if out.empty:
        raise ValueError(f"the file has no {what}s (a header only, or empty rows)")
    out["unique_id"] = [_text(v) for v in out["unique_id"]]
    problems = [(r, "", "no id") for r in rows[out["unique_id"].eq("").to_numpy()]]
    for uid, at in out.groupby("unique_id", sort=False).indices.items():
        if uid and len(at) > 1:
            problems.append((rows[at[0]], uid, f"id given more than once (rows {', '.join(map(str, rows[at]))})"))
    for col, rule, ok in rules:
        if col not in out:
            continue
        value = [np.nan if _blank(v) else _number(v) for v in out[col]]
        bad = [i for i, x in enumerate(value) if x is None or (np.isfinite(x) and not ok(x))]
        problems += [(rows[i], out["unique_id"][i], f"{col} '{_text(out[col][i])}' is not {rule}") for i in bad]
        out[col] = pd.array([np.nan if x is None else x for x in value], dtype="float64")
    if problems:
        problems.sort(key=lambda p: p[0])
        shown = "; ".join(f"row {r}{f' ({uid})' if uid else ''}: {why}" for r, uid, why in problems[:5])
        more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise ValueError(f"{len(problems)} bad {what} value(s): {shown}{more}")
    return out


def _blank(v: object) -> bool:
    """An empty cell: missing, or text of spaces only."""
    return bool(v.strip() == "") if isinstance(v, str) else bool(pd.api.types.is_scalar(v) and pd.isna(v))


def _number(v: object) -> float | None:
    """A cell as a finite number; None where it is none (text that does not read as one, a date, a yes/no, inf)."""
    if isinstance(v, bool | np.bool_):
        return None
    try:
        x = float(v.strip()) if isinstance(v, str) else float(v) if isinstance(v, int | float | np.number) else None
    except ValueError:
        return None
    return x if x is not None and np.isfinite(x) else None


def _text(v: object) -> str:
    """A cell as its user wrote it: a whole float (an id column that Excel read as numbers) without '.0'."""
    if _blank(v):
        return ""
    if isinstance(v, float | np.floating) and np.isfinite(v) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()
