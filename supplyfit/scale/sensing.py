"""Demand sensing over a folder of order-event drops (NDJSON or Parquet), locally or on Spark Structured Streaming.

The server's sensing (:mod:`supplyfit.live.sensing`, :mod:`supplyfit.live.signals`) for a stream that does not go
through one store: after each drop (one micro-batch; Spark's file source with ``maxFilesPerTrigger=1``, files
oldest first, ties by name), business "now" is the latest event time seen, the week so far per SKU is scored
against its forecast, and ``demand_above_forecast`` / ``demand_below_forecast`` signals are raised at most once per
SKU, week and kind unless they escalate. An event is counted once: by ``event_id``, else by its natural key
(order_id, sku, quantity, unit_price). Goods only (not postage or fees: the store's catalogue rules); a sale that
the same customer's return cancels within a day is not demand, as in the panel the forecasts were fitted on
(:func:`supplyfit.demand.demand_lines`; drops without ``customer_id`` cannot be matched). Reorders need the store's
production plan, so they stay with the server.

On Spark the de-duplication is Spark's streaming state (``dropDuplicates``, checkpointed) and each micro-batch's
goods are selected in Spark SQL; the driver keeps the current week's sums and its lines of known customers (a
return may cancel a sale of an earlier micro-batch, so sums alone do not do), nets them and scores them with the
same functions as the server, so a replay gives the same signals on either engine (``tests/scale``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..demand import demand_lines
from ..live.sensing import elapsed, scored
from ..live.signals import Rules, demand_signal
from ..store.catalog import NON_PRODUCT_SKU, NON_PRODUCT_TEXT, is_non_product
from ..store.parsing import MISSING_MARKERS
from ..store.privacy import WHOLE_NUMBER, id_text
from .engines import _check, spark_session

KEY = ("order_id", "sku", "quantity", "unit_price")
SIGNAL_COLUMNS = ["kind", "sku", "week", "severity", "ts", "detail"]
DROP_COLUMNS = ("order_id", "sku", "quantity", "unit_price", "ts", "customer_id", "category", "description", "event_id")
LINE_COLUMNS = ["week", "sku", "customer_id", "quantity", "unit_price", "ts", "category"]  # a drop's goods lines


class Sensor:
    """The state between micro-batches: the current week's sales per SKU, its lines of known customers (a return
    may cancel a sale of an earlier micro-batch), the sales its returns cancel, each SKU's category, business now,
    and the signals already told. ``forecasts``: unique_id, ds, yhat, yhat_q10, yhat_q90 (SKU level).

    Netting is incremental: a micro-batch re-matches only the (customer, SKU, quantity) keys its own lines share
    with a return, over the lines of those keys kept so far (found through ``where``, key -> micro-batches), so a
    micro-batch costs what its own lines do, however far into the week (re-matching the whole week each time made
    300 drops of 1,000 lines take 60 s instead of 9)."""

    def __init__(self, forecasts: pd.DataFrame, rules: Rules | None = None):
        fc = forecasts[forecasts["level"] == "sku"] if "level" in forecasts else forecasts
        fc = fc.assign(ds=pd.to_datetime(fc["ds"]))
        self.forecasts = fc[["unique_id", "ds", "yhat", "yhat_q10", "yhat_q90"]]
        self.rules = rules or Rules()
        self.category: dict[str, str] = {}
        self.now: pd.Timestamp | None = None
        self.told: dict[tuple[Any, str, str], int] = {}
        self._start(None)

    def _start(self, week: pd.Timestamp | None) -> None:
        """Forget the week that is over: sensing looks at the current one only."""
        self.current = week
        self.sales = pd.DataFrame({"units": [], "revenue": []}, index=pd.Index([], name="sku"))
        self.chunks: list[pd.DataFrame] = []  # each micro-batch's lines of known customers, with their key
        self.where: dict[str, list[int]] = {}  # key -> the chunks holding its lines
        self.returned: set[str] = set()  # keys with a return
        self.taken = pd.DataFrame(  # sales cancelled, per key
            {"key": pd.Series(dtype=object), "sku": pd.Series(dtype=object), "units": 0.0, "revenue": 0.0}
        ).iloc[:0]
        self.sold = pd.DataFrame(columns=["week", "sku", "units", "revenue"])

    def add(self, lines: pd.DataFrame, now: pd.Timestamp | None) -> list[dict]:
        """Take one micro-batch (``lines``: its goods, sales and returns, with :data:`LINE_COLUMNS`; ``now``: its
        latest event time) and return the signals it raises."""
        if now is None or pd.isna(now):
            return []
        self.now = now if self.now is None else max(self.now, now)
        for sku, cat in zip(lines["sku"], lines["category"]):
            if isinstance(cat, str) and cat:
                self.category.setdefault(sku, cat)
        week, _ = elapsed(self.now)
        if week != self.current:
            self._start(week)
        lines = lines.loc[lines["week"] == week, LINE_COLUMNS]  # a late line of a week that is over: not sensed
        self.sales = _sums(pd.concat([self.sales.reset_index(), _sums(lines[lines["quantity"] > 0]).reset_index()]))
        self._net(lines[lines["customer_id"].notna()])
        taken = self.taken.groupby("sku")[["units", "revenue"]].sum()
        net = self.sales.sub(taken.reindex(self.sales.index).fillna(0.0))
        self.sold = net.reset_index().assign(week=week)
        return self._signals()

    def _net(self, keyed: pd.DataFrame) -> None:
        """Keep a micro-batch's lines of known customers and re-match the keys they share with a return."""
        if keyed.empty:
            return
        key = keyed["customer_id"].astype(str) + "\x1f" + keyed["sku"] + "\x1f" + keyed["quantity"].abs().astype(str)
        keyed = keyed.assign(key=key)
        self.chunks.append(keyed)
        for k in key.unique():
            self.where.setdefault(k, []).append(len(self.chunks) - 1)
        self.returned.update(key[keyed["quantity"] < 0])
        touched = self.returned.intersection(key)
        if not touched:
            return
        held = sorted({i for k in touched for i in self.where[k]})
        group = pd.concat([self.chunks[i] for i in held], ignore_index=True)
        group = group[group["key"].isin(touched)]
        sold = group[group["quantity"] > 0]
        gone = sold.loc[sold.index.difference(demand_lines(group).index)]
        mine = self.taken[~self.taken["key"].isin(touched)]
        taken = _sums(gone, ["key", "sku"]).reset_index()
        self.taken = pd.concat([mine, taken], ignore_index=True) if len(mine) else taken

    def week(self) -> pd.DataFrame:
        """The week so far per SKU, as :func:`supplyfit.live.sensing.live` gives it."""
        assert self.now is not None
        week, f = elapsed(self.now)
        sold = self.sold[self.sold["week"] == week].rename(columns={"sku": "unique_id"}).drop(columns="week")
        fc = self.forecasts[self.forecasts["ds"] == week].drop(columns="ds")
        df = sold.merge(fc, on="unique_id", how="outer").sort_values("unique_id", ignore_index=True)
        df["units"] = df["units"].fillna(0.0)
        df["revenue"] = df["revenue"].fillna(0.0)
        df["category"] = df["unique_id"].map(self.category)
        df["expected"] = df["yhat"] * f
        df = df.rename(columns={"yhat": "forecast_week"}).assign(elapsed=f, week=week, now=self.now)
        return scored(df)

    def _signals(self) -> list[dict]:
        out = []
        for r in self.week().itertuples(index=False):
            signal = demand_signal(r, self.rules)
            if signal is None:
                continue
            told = (signal["week"], signal["kind"], signal["sku"])
            if signal["severity"] > self.told.get(told, 0):
                self.told[told] = signal["severity"]
                out.append(signal)
        return out


def _sums(lines: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Units and revenue of ``lines`` (quantity, unit_price; or units, revenue already) per ``by`` (default SKU)."""
    if "units" not in lines:
        lines = lines.assign(units=lines["quantity"].astype(float), revenue=lines["quantity"] * lines["unit_price"])
    return lines.groupby(by or ["sku"])[["units", "revenue"]].sum()


def sense(
    drops: str | os.PathLike,
    forecasts: pd.DataFrame | str | os.PathLike,
    output: str | os.PathLike | None = None,
    engine: str = "local",
    spark: Any = None,
    rules: Rules | None = None,
) -> pd.DataFrame:
    """Replay the drops in ``drops`` (a folder of ``*.ndjson``/``*.json`` or ``*.parquet`` files with order events:
    order_id, sku, quantity, unit_price, ts [, customer_id, category, description, event_id]) against
    ``forecasts`` (a frame or Parquet path) and return the signals raised, in order: kind, sku, week, severity, ts,
    detail (JSON).
    With ``output`` they are also written there as NDJSON, one signal a line."""
    _check(engine)
    fc = pd.read_parquet(forecasts) if isinstance(forecasts, (str, os.PathLike)) else forecasts
    sensor = Sensor(fc, rules)
    if engine == "local":
        signals = [s for frame in _local_batches(Path(drops)) for s in sensor.add(*_goods(frame))]
    else:
        signals = _spark(Path(drops), sensor, spark or spark_session())
    result = pd.DataFrame(
        [{**s, "detail": json.dumps(s["detail"], default=str)} for s in signals], columns=SIGNAL_COLUMNS
    )
    if output is not None:
        with open(output, "w", encoding="utf-8") as out:
            for sig in signals:  # as the webhooks send them: detail a JSON object, times in ISO 8601
                line = {**sig, "week": f"{sig['week']:%Y-%m-%d}", "ts": pd.Timestamp(sig["ts"]).isoformat()}
                out.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
    return result


def drop_files(folder: Path) -> list[Path]:
    """The drops in the order a file-source stream takes them: oldest first, ties by name."""
    if not folder.is_dir():
        raise ValueError(f"no folder {folder}")
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix in (".ndjson", ".json", ".parquet")]
    if not files:
        raise ValueError(f"no .ndjson, .json or .parquet drops in {folder}")
    kinds = {p.suffix == ".parquet" for p in files}
    if len(kinds) > 1:
        raise ValueError(f"{folder} mixes Parquet and NDJSON drops; use one format per folder")
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


def _local_batches(folder: Path) -> Iterable[pd.DataFrame]:
    seen: set[str] = set()
    for path in drop_files(folder):
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_json(path, lines=True, dtype=False)
        frame = _typed(frame)
        key = _keys(frame)
        fresh = ~key.duplicated() & ~key.isin(seen)
        seen.update(key[fresh])
        yield frame[fresh.to_numpy()]


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in KEY + ("ts",) if c not in frame]
    if missing:
        raise ValueError(f"drop without column(s) {', '.join(missing)}")
    out = pd.DataFrame(
        {
            "order_id": frame["order_id"].astype(str),
            "sku": frame["sku"].astype(str).str.strip(),
            "quantity": pd.to_numeric(frame["quantity"], errors="coerce"),
            "unit_price": pd.to_numeric(frame["unit_price"], errors="coerce"),
            "ts": pd.to_datetime(frame["ts"], format="ISO8601", utc=True).dt.tz_localize(None),
        }
    )
    for col in ("category", "description", "event_id"):
        out[col] = frame[col].astype("string") if col in frame else pd.Series(pd.NA, index=frame.index, dtype="string")
    out["customer_id"] = (
        frame["customer_id"].map(_id).astype("string")
        if "customer_id" in frame
        else pd.Series(pd.NA, index=frame.index, dtype="string")
    )
    return out


def _id(value: Any) -> Any:
    """An id as the store keeps it: trimmed text, blank or a missing-value marker (NA, N/A, NULL ...) as none, and
    a whole number written as a float as its integer (13085.0: how pandas reads 13085 from a column with a gap;
    the store pseudonymises it as 13085, :func:`~supplyfit.store.privacy.id_text`)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return pd.NA
    text = str(value).strip()
    return pd.NA if text.lower() in MISSING_MARKERS else id_text(text)


def _keys(frame: pd.DataFrame) -> pd.Series:
    natural = frame[list(KEY)].astype(str).agg("\x1f".join, axis=1) if len(frame) else frame["order_id"]
    return frame["event_id"].fillna(natural).astype(str)


def _goods(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """A micro-batch's goods lines, sales and returns (as the store's ``is_product``, a price above 0), with their
    week, and its latest event time (over all its lines, goods or not)."""
    goods = [not is_non_product(s, d) for s, d in zip(frame["sku"], frame["description"].fillna(""))]
    g = frame[((frame["quantity"] != 0) & (frame["unit_price"] > 0)).to_numpy() & np.array(goods, dtype=bool)]
    g = g.assign(week=g["ts"].dt.normalize() - pd.to_timedelta(g["ts"].dt.weekday, unit="D"))
    return g[LINE_COLUMNS], (frame["ts"].max() if len(frame) else None)


def _spark_id(kind: Any, col: Any) -> Any:
    """:func:`_id` in Spark SQL, for a column of Spark type ``kind``."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, FloatType

    if isinstance(kind, (DoubleType, FloatType)):
        whole = (col == F.floor(col)) & (F.abs(col) < 1e15)
        return F.when(whole, col.cast("bigint").cast("string")).otherwise(col.cast("string"))
    text = F.trim(col.cast("string"))
    whole = F.regexp_replace(text, WHOLE_NUMBER, "$1")  # id_text
    return F.when(F.lower(text).isin(*MISSING_MARKERS), F.lit(None).cast("string")).otherwise(whole)


def _parquet_schema(folder: Path, files: list[Path], spark: Any) -> Any:
    """The stream's schema: the columns the replay reads, as every drop that has them types them (a column that
    only later drops carry, a customer id, is read from them too; other columns are not read, so they may change
    type). A ValueError when drops type a column differently, even one all null in a drop (Spark's Parquet reader
    reads no column as another type: not int64 ids as double, not a null column as text), or hold nanosecond
    timestamps."""
    import pyarrow.parquet as pq
    from pyspark.sql.types import StructType

    kinds: dict[str, dict[str, list[Path]]] = {}
    for path in files:
        for field in pq.read_schema(path):
            if field.name in DROP_COLUMNS:
                kinds.setdefault(field.name, {}).setdefault(str(field.type), []).append(path)
    for name, typed in kinds.items():
        if len(typed) > 1:
            seen = "; ".join(f"{t} in {', '.join(p.name for p in paths[:3])}" for t, paths in typed.items())
            raise ValueError(
                f"{folder}: the drops type {name} differently ({seen}); Spark reads a Parquet column with one type "
                f"only: write it so (pandas: astype({{{name!r}: 'string'}})), or send NDJSON drops"
            )
    fields = []
    for name, typed in kinds.items():
        (paths,) = typed.values()
        try:
            fields.append(spark.read.parquet(str(paths[0])).schema[name])
        except Exception as e:  # pyspark's AnalysisException, without importing its internals
            if "PARQUET_TYPE_ILLEGAL" not in str(e):
                raise
            raise ValueError(
                f"{folder}: Spark reads Parquet timestamps in microseconds at most; write the drops with "
                "microsecond timestamps (pandas: to_parquet(..., coerce_timestamps='us'))"
            ) from None
    return StructType(fields)


def _spark(folder: Path, sensor: Sensor, spark: Any) -> list[dict]:
    """Spark Structured Streaming over ``folder``: file source, one drop per micro-batch, streaming
    de-duplication, goods selected in Spark SQL, netting and scoring on the driver (see the module docstring)."""
    from pyspark.sql import functions as F

    files = drop_files(folder)
    parquet = files[0].suffix == ".parquet"
    reader = spark.readStream.option("maxFilesPerTrigger", 1)
    if parquet:
        stream = reader.schema(_parquet_schema(folder, files, spark)).parquet(str(folder))
    else:
        stream = reader.schema(", ".join(f"{c} STRING" for c in DROP_COLUMNS)).json(str(folder))
    for col in ("customer_id", "category", "description", "event_id"):
        if col not in stream.columns:
            stream = stream.withColumn(col, F.lit(None).cast("string"))
    typed = stream.select(
        F.col("order_id").cast("string").alias("order_id"),
        F.trim(F.col("sku").cast("string")).alias("sku"),
        F.col("quantity").cast("double").alias("quantity"),
        F.col("unit_price").cast("double").alias("unit_price"),
        F.to_timestamp(F.col("ts")).alias("ts"),
        _spark_id(stream.schema["customer_id"].dataType, F.col("customer_id")).alias("customer_id"),
        F.col("category").cast("string").alias("category"),
        F.col("description").cast("string").alias("description"),
        F.col("event_id").cast("string").alias("event_id"),
    )
    natural = F.concat_ws("\x1f", *[F.col(c).cast("string") for c in KEY])
    unique = typed.withColumn("_key", F.coalesce(F.col("event_id"), natural)).dropDuplicates(["_key"])
    signals: list[dict] = []

    def batch(df: Any, _batch_id: int) -> None:
        now = df.agg(F.max("ts")).first()[0]
        goods = df.where(
            (F.col("quantity") != 0)
            & (F.col("unit_price") > 0)
            & ~F.col("sku").rlike(f"(?i){NON_PRODUCT_SKU.pattern}")
            & ~F.coalesce(F.col("description"), F.lit("")).rlike(f"(?i){NON_PRODUCT_TEXT.pattern}")
        )
        lines = goods.withColumn("week", F.date_trunc("week", F.col("ts"))).select(*LINE_COLUMNS).toPandas()
        signals.extend(sensor.add(lines, None if now is None else pd.Timestamp(now)))

    with tempfile.TemporaryDirectory() as checkpoint:
        query = (
            unique.writeStream.foreachBatch(batch)
            .option("checkpointLocation", checkpoint)
            .trigger(availableNow=True)
            .start()
        )
        query.awaitTermination()
        if query.exception() is not None:
            raise RuntimeError(f"Spark sensing failed: {query.exception()}")
    return signals
