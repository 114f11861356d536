"""One function per heavy stage, each with ``engine="local" | "spark"``; local and Spark give the same results.

How the work is split on Spark (no home-made scheduler: Spark plans and runs it):
- panel: filters and weekly sums are Spark SQL; zero-filling and prices run on shards of series
  (``applyInPandas``) with the local code, so the result is the local panel.
- forecast: series are hashed into shards and each shard runs :class:`~supplyfit.demand.Forecaster`
  (``applyInPandas``). Per-series models (``ses``, ``tsb``, ``naive``, ``seasonal_naive``, ``window_average``)
  give exactly the local forecasts; global models (``auto``, ``lgbm``) learn one model per shard, and interval
  calibration (``calibrate=True``) is done per shard.
- review scores: the shipped sentiment model scores each partition (``mapInPandas``).
- rules: Spark ML's FPGrowth mines the frequent itemsets; the rules are then derived on the driver with the
  local rule generator, so they match ``association_rules`` exactly.
"""

from __future__ import annotations

import os
import secrets
import sys
from typing import Any

import pandas as pd

from ..store.sql import one, scalar

ENGINES = ("local", "spark")
PER_SERIES_MODELS = ("ses", "tsb", "naive", "seasonal_naive", "window_average")


def _check(engine: str) -> None:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")


def spark_session(master: str | None = None, app: str = "supplyfit") -> Any:
    """The active Spark session, or a new one (``master`` e.g. ``local[2]``; default: what spark-submit set).

    Python workers run this interpreter, so they see the same supplyfit and libraries as the driver."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = (
        SparkSession.builder.appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    if master:
        builder = builder.master(master).config("spark.sql.shuffle.partitions", "8")
    return builder.getOrCreate()


def _read(path_or_frame: Any, engine: str, spark: Any = None) -> Any:
    """A pandas frame (local) or a Spark DataFrame (spark) from a Parquet path or a frame."""
    if engine == "local":
        return pd.read_parquet(path_or_frame) if isinstance(path_or_frame, (str, os.PathLike)) else path_or_frame
    spark = spark or spark_session()
    if isinstance(path_or_frame, (str, os.PathLike)):
        return spark.read.parquet(str(path_or_frame))
    if isinstance(path_or_frame, pd.DataFrame):
        return spark.createDataFrame(path_or_frame)
    return path_or_frame


def _write(result: Any, output: str | os.PathLike | None) -> Any:
    if output is not None:
        if isinstance(result, pd.DataFrame):  # microsecond timestamps: Spark cannot read nanosecond ones
            result.to_parquet(output, index=False, coerce_timestamps="us", allow_truncated_timestamps=True)
        else:
            result.write.mode("overwrite").parquet(str(output))
    return result


# ---- panel ------------------------------------------------------------------------------------------------
def build_panel(
    orders: Any, engine: str = "local", output: str | os.PathLike | None = None, spark: Any = None, shards: int = 64
) -> Any:
    """The weekly SKU panel (as :func:`supplyfit.demand.weekly_panel`) from order lines: sku, quantity,
    unit_price, ts (+ is_return, is_product, category). Returns pandas (local) or a Spark DataFrame (spark)."""
    from ..demand.panel import finish_panel, last_complete_week, weekly_panel

    _check(engine)
    if engine == "local" and isinstance(orders, (str, os.PathLike)) and output is not None:
        return _duckdb_panel(orders, output)
    df = _read(orders, engine, spark)
    if engine == "local":
        return _write(weekly_panel(df), output)
    from pyspark.sql import functions as F

    cols = set(df.columns)
    df = _spark_demand_lines(df)
    df = df.withColumn("ds", F.date_trunc("week", F.col("ts").cast("timestamp")))
    bounds = df.agg(F.max("ts").alias("ts_max"), F.max("ds").alias("last")).first()
    last = last_complete_week(bounds["ts_max"], bounds["last"])
    df = df.withColumn("unique_id", F.col("sku").cast("string"))
    weekly = df.groupBy("unique_id", "ds").agg(
        F.sum(F.col("quantity").cast("double")).alias("y"),
        F.sum((F.col("quantity") * F.col("unit_price")).cast("double")).alias("revenue"),
    )
    weekly = weekly.where(F.col("ds") <= F.lit(last.to_pydatetime()))
    has_cat = "category" in cols
    if has_cat:  # each series' most frequent category, the smallest on ties (as pandas' mode)
        from pyspark.sql import Window

        counts = df.where(F.col("category").isNotNull()).groupBy("unique_id", "category").count()
        rank = F.row_number().over(Window.partitionBy("unique_id").orderBy(F.desc("count"), "category"))
        weekly = weekly.join(
            counts.withColumn("r", rank).where("r = 1").select("unique_id", "category"), "unique_id", "left"
        )
    schema = "unique_id string, ds timestamp, y double, revenue double, price double" + (
        ", category string" if has_cat else ""
    )

    def per_shard(pdf: pd.DataFrame) -> pd.DataFrame:
        out = finish_panel(pdf[["unique_id", "ds", "y", "revenue"]], last)
        if has_cat:
            out["category"] = out["unique_id"].map(pdf.groupby("unique_id")["category"].first())
        return out

    sharded = weekly.withColumn("_shard", F.abs(F.hash("unique_id")) % shards)
    return _write(sharded.groupBy("_shard").applyInPandas(per_shard, schema), output)


def _spark_demand_lines(df: Any) -> Any:
    """The sales of Spark order lines that are demand, as :func:`~supplyfit.demand.panel.demand_lines`: product
    lines, no returns, less the sales that returns cancelled (the same SQL, in Spark SQL)."""
    from pyspark.sql import functions as F

    from ..store.cancellations import cancelled_sql, net_sql

    cols = set(df.columns)
    if "is_product" in cols:
        df = df.where(F.col("is_product"))
    df = df.withColumn("ts", F.col("ts").cast("timestamp"))
    flagged = F.coalesce(F.col("is_return"), F.lit(False)) if "is_return" in cols else F.lit(False)
    df = df.withColumn("is_return", flagged | (F.col("quantity") < 0))
    sold = df.where((F.col("quantity") > 0) & ~F.col("is_return"))
    if "customer_id" not in cols:
        return sold
    spark, name = df.sparkSession, f"_lines_{secrets.token_hex(4)}"
    df.withColumn("customer_id", F.col("customer_id").cast("string")).createOrReplaceTempView(name)
    sold.withColumn("customer_id", F.col("customer_id").cast("string")).createOrReplaceTempView(name + "_sold")
    spark.sql(cancelled_sql(name)).createOrReplaceTempView(name + "_cancelled")
    return spark.sql(net_sql(name + "_sold", name + "_cancelled", sold.columns))


def _parquet_source(path: str | os.PathLike) -> str:
    p = str(path)
    return f"read_parquet('{p}/**/*.parquet')" if os.path.isdir(p) else f"read_parquet('{p}')"


def _duckdb_panel(path: str | os.PathLike, output: str | os.PathLike, memory_limit: str = "4GB") -> str:
    """The local panel out of core: DuckDB streams the Parquet lines and spills to disk past ``memory_limit``;
    same rules as :func:`~supplyfit.demand.weekly_panel` (tested equal). Returns ``output``."""
    import duckdb

    from ..demand.panel import last_complete_week
    from ..store.cancellations import cancelled_sql, net_sql

    con = duckdb.connect()
    con.execute(
        f"SET memory_limit = '{memory_limit}'; SET preserve_insertion_order = false; SET enable_progress_bar = false"
    )
    src = _parquet_source(path)
    cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
    con.execute(f"""CREATE TEMP VIEW product AS SELECT sku::VARCHAR AS sku, quantity, unit_price, ts::TIMESTAMP AS ts,
                    {_optional(cols, "customer_id", "customer_id::VARCHAR", "NULL::VARCHAR")},
                    {_optional(cols, "is_return", "coalesce(is_return, FALSE) OR quantity < 0", "FALSE")},
                    {_optional(cols, "category", "category", "NULL::VARCHAR")}
                    FROM {src}{" WHERE is_product" if "is_product" in cols else ""}""")
    con.execute(f"CREATE TEMP TABLE cancelled AS {cancelled_sql('product')}")
    sold = "(SELECT * FROM product WHERE NOT is_return AND quantity > 0)"
    net = net_sql(sold, "cancelled", ["sku", "ts", "quantity", "unit_price", "category"])
    con.execute(f"""CREATE TEMP VIEW lines AS SELECT sku AS unique_id, ts, date_trunc('week', ts) AS ds,
                    quantity::DOUBLE AS q, (quantity * unit_price)::DOUBLE AS rev, category FROM ({net})""")
    last = last_complete_week(*one(con, "SELECT max(ts), max(ds) FROM lines"))
    cat_join, cat_col = "", ""
    if "category" in cols:  # most frequent category, the smallest on ties (as pandas' mode)
        con.execute("""CREATE TEMP TABLE cats AS SELECT unique_id, category FROM (
                         SELECT unique_id, category, row_number() OVER (PARTITION BY unique_id
                                ORDER BY n DESC, category) AS r
                         FROM (SELECT unique_id, category, count(*) AS n FROM lines WHERE category IS NOT NULL
                               GROUP BY unique_id, category)) WHERE r = 1""")
        cat_join, cat_col = "LEFT JOIN cats c USING (unique_id)", ", c.category"
    con.execute(
        f"""COPY (
        WITH weekly AS (SELECT unique_id, ds, sum(q) AS y, sum(rev) AS revenue FROM lines
                        WHERE ds <= $last GROUP BY ALL),
             grid AS (SELECT unique_id, unnest(generate_series(min(ds), $last, INTERVAL 7 DAY)) AS ds
                      FROM weekly GROUP BY unique_id)
        SELECT g.unique_id, g.ds, coalesce(w.y, 0) AS y, coalesce(w.revenue, 0) AS revenue,
               last_value(CASE WHEN w.y > 0 THEN w.revenue / w.y END IGNORE NULLS) OVER (
                   PARTITION BY g.unique_id ORDER BY g.ds ROWS UNBOUNDED PRECEDING) AS price{cat_col}
        FROM grid g LEFT JOIN weekly w USING (unique_id, ds) {cat_join}
    ) TO '{output}' (FORMAT parquet)""",
        {"last": last.to_pydatetime()},
    )
    con.close()
    return str(output)


def _optional(cols: set[str], name: str, given: str, missing: str) -> str:
    """A select item for column ``name``: ``given`` when the source has it, else ``missing``."""
    return f"{given if name in cols else missing} AS {name}"


# ---- forecasts ----------------------------------------------------------------------------------------------
def forecast(
    panel: Any,
    h: int = 8,
    model: str = "ses",
    engine: str = "local",
    calibrate: bool = True,
    shards: int = 64,
    output: str | os.PathLike | None = None,
    spark: Any = None,
    chunk_series: int = 100_000,
) -> Any:
    """:class:`~supplyfit.demand.Forecaster` ``predict()`` for every series of a panel (unique_id, ds, y ...).

    Locally, a Parquet panel with an ``output`` is forecast ``chunk_series`` series at a time (memory bounded by
    the chunk, not the panel) and the path is returned; otherwise the result is a DataFrame."""
    from ..demand import Forecaster
    from ..demand.calendar import Calendar, shop_closures

    _check(engine)
    if engine == "local" and isinstance(panel, (str, os.PathLike)) and output is not None:
        return _chunked_forecast(panel, output, h, model, calibrate, chunk_series)
    df = _read(panel, engine, spark)
    if engine == "local":
        return _write(Forecaster(h=h, model=model, calibrate=calibrate).fit(df).predict(), output)
    from pyspark.sql import functions as F

    from ..demand.core import dispersion_prior, raw_dispersion
    from ..demand.panel import Wide

    keep = [c for c in ("unique_id", "ds", "y", "revenue", "price", "category") if c in df.columns]
    sharded = df.select(*keep).withColumn("_shard", F.abs(F.hash("unique_id")) % shards)
    total = df.groupBy("ds").agg(F.sum("y").alias("y")).toPandas()
    calendar = Calendar(closures=shop_closures(_weekly_total(total)))

    def shard_dispersion(pdf: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"a": raw_dispersion(Wide.from_long(pdf.drop(columns="_shard")).Y)})

    # The dispersion prior is the median over all series, as in one local fit: one pass to find it.
    prior = dispersion_prior(
        sharded.groupBy("_shard").applyInPandas(shard_dispersion, "a double").toPandas()["a"].to_numpy()
    )
    schema = "unique_id string, ds timestamp, yhat double, yhat_q10 double, yhat_q50 double, yhat_q90 double"

    def per_shard(pdf: pd.DataFrame) -> pd.DataFrame:
        pdf = pdf.drop(columns="_shard")
        fc = Forecaster(h=h, model=model, calibrate=calibrate, dispersion_prior=prior, calendar=calendar)
        return fc.fit(pdf).predict()

    return _write(sharded.groupBy("_shard").applyInPandas(per_shard, schema), output)


def _weekly_total(total: pd.DataFrame) -> pd.Series:
    """The shop's units per week (ds, y rows; weeks without a row are 0), for its close-downs (:mod:`..calendar`)."""
    t = total.assign(ds=pd.to_datetime(total["ds"])).groupby("ds")["y"].sum().sort_index()
    return t.reindex(pd.date_range(t.index.min(), t.index.max(), freq="W-MON"), fill_value=0.0)


def _chunked_forecast(
    path: str | os.PathLike, output: str | os.PathLike, h: int, model: str, calibrate: bool, chunk_series: int
) -> str:
    import duckdb
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..demand import Forecaster
    from ..demand.calendar import Calendar, shop_closures
    from ..demand.core import dispersion_prior, raw_dispersion
    from ..demand.panel import Wide

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    src = _parquet_source(path)
    n = scalar(con, f"SELECT count(DISTINCT unique_id) FROM {src}")
    k = max(1, -(-n // chunk_series))

    def chunk(i: int) -> pd.DataFrame:
        return con.execute(f"SELECT * FROM {src} WHERE hash(unique_id) % {k} = {i}").df()

    prior = dispersion_prior(np.concatenate([raw_dispersion(Wide.from_long(chunk(i)).Y) for i in range(k)]))
    calendar = Calendar(
        closures=shop_closures(_weekly_total(con.execute(f"SELECT ds, sum(y) AS y FROM {src} GROUP BY ds").df()))
    )
    writer = None
    for i in range(k):
        part = chunk(i)
        if part.empty:
            continue
        fc = Forecaster(h=h, model=model, calibrate=calibrate, dispersion_prior=prior, calendar=calendar)
        out = fc.fit(part).predict()
        table = pa.Table.from_pandas(out, preserve_index=False).cast(
            pa.schema(
                [("unique_id", pa.string()), ("ds", pa.timestamp("us")), *[(c, pa.float64()) for c in out.columns[2:]]]
            )
        )
        writer = writer or pq.ParquetWriter(str(output), table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()
    con.close()
    return str(output)


# ---- review scores ------------------------------------------------------------------------------------------
def score_reviews(
    reviews: Any, engine: str = "local", output: str | os.PathLike | None = None, spark: Any = None
) -> Any:
    """``p_positive`` and ``predicted`` (1/0) for each review (needs a ``text`` column) from the shipped model."""
    from ..voice import SentimentModel

    _check(engine)
    df = _read(reviews, engine, spark)

    def score(pdf: pd.DataFrame, model: SentimentModel) -> pd.DataFrame:
        p = model.predict_proba(pdf["text"].fillna("").astype(str).tolist())
        return pdf.assign(p_positive=p, predicted=(p >= 0.5).astype("int32"))

    if engine == "local":
        return _write(score(df, SentimentModel.pretrained()), output)
    from pyspark.sql.types import DoubleType, IntegerType, StructField, StructType

    schema = StructType(
        df.schema.fields + [StructField("p_positive", DoubleType()), StructField("predicted", IntegerType())]
    )

    def per_partition(frames):
        model = SentimentModel.pretrained()  # loaded once per partition, not per row
        for pdf in frames:
            yield score(pdf, model)

    return _write(df.mapInPandas(per_partition, schema), output)


# ---- rules --------------------------------------------------------------------------------------------------
def mine_rules(
    orders: Any,
    min_support: float = 0.01,
    min_confidence: float = 0.1,
    engine: str = "local",
    output: str | os.PathLike | None = None,
    spark: Any = None,
) -> pd.DataFrame:
    """:func:`~supplyfit.match.association_rules` over the invoices of order lines (order_id, sku, ...)."""
    from ..match.rules import association_rules, baskets_from_orders, rules_from_itemsets

    _check(engine)
    df = _read(orders, engine, spark)
    if engine == "local":
        rules = association_rules(baskets_from_orders(df), min_support, min_confidence)
    else:
        from pyspark.ml.fpm import FPGrowth
        from pyspark.sql import functions as F

        cols = set(df.columns)
        if "is_return" in cols:
            df = df.where(~F.col("is_return"))
        if "is_product" in cols:
            df = df.where(F.col("is_product"))
        baskets = df.groupBy("order_id").agg(F.array_sort(F.collect_set(F.col("sku").cast("string"))).alias("items"))
        n = baskets.count()
        model = FPGrowth(itemsCol="items", minSupport=min_support, minConfidence=1.0).fit(baskets)
        fi = pd.DataFrame(model.freqItemsets.toPandas())
        fi = pd.DataFrame({"support": fi["freq"].to_numpy() / n, "itemsets": fi["items"].map(frozenset)})
        fi = fi[fi["support"] >= min_support].reset_index(drop=True)  # same threshold test as local
        rules = rules_from_itemsets(fi, min_confidence)
    if output is not None:
        flat = rules.assign(antecedents=rules["antecedents"].map(sorted), consequents=rules["consequents"].map(sorted))
        _write(flat, output)
    return rules
