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
import sys
from typing import Any

import pandas as pd

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
    builder = SparkSession.builder.appName(app).config("spark.ui.enabled", "false") \
        .config("spark.sql.session.timeZone", "UTC").config("spark.sql.execution.arrow.pyspark.enabled", "true")
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
def build_panel(orders: Any, engine: str = "local", output: str | os.PathLike | None = None,
                spark: Any = None, shards: int = 64) -> Any:
    """The weekly SKU panel (as :func:`supplyfit.demand.weekly_panel`) from order lines: sku, quantity,
    unit_price, ts (+ is_return, is_product, category). Returns pandas (local) or a Spark DataFrame (spark)."""
    from ..demand.panel import finish_panel, weekly_panel

    _check(engine)
    df = _read(orders, engine, spark)
    if engine == "local":
        return _write(weekly_panel(df), output)
    from pyspark.sql import functions as F

    cols = set(df.columns)
    df = df.where(F.col("quantity") > 0)
    if "is_return" in cols:
        df = df.where(~F.col("is_return"))
    if "is_product" in cols:
        df = df.where(F.col("is_product"))
    df = df.withColumn("ds", F.date_trunc("week", F.col("ts").cast("timestamp")))
    bounds = df.agg(F.max("ts").alias("ts_max"), F.max("ds").alias("last")).first()
    last = pd.Timestamp(bounds["last"])
    df = df.withColumn("unique_id", F.col("sku").cast("string"))
    weekly = df.groupBy("unique_id", "ds").agg(
        F.sum(F.col("quantity").cast("double")).alias("y"),
        F.sum((F.col("quantity") * F.col("unit_price")).cast("double")).alias("revenue"))
    if pd.Timestamp(bounds["ts_max"]) < last + pd.Timedelta(days=6, hours=23):
        weekly = weekly.where(F.col("ds") < F.lit(last.to_pydatetime()))
        last = last - pd.Timedelta(weeks=1)
    has_cat = "category" in cols
    if has_cat:  # each series' most frequent category, the smallest on ties (as pandas' mode)
        from pyspark.sql import Window

        counts = df.where(F.col("category").isNotNull()).groupBy("unique_id", "category").count()
        rank = F.row_number().over(Window.partitionBy("unique_id").orderBy(F.desc("count"), "category"))
        weekly = weekly.join(counts.withColumn("r", rank).where("r = 1").select("unique_id", "category"),
                             "unique_id", "left")
    schema = "unique_id string, ds timestamp, y double, revenue double, price double" + \
        (", category string" if has_cat else "")

    def per_shard(pdf: pd.DataFrame) -> pd.DataFrame:
        out = finish_panel(pdf[["unique_id", "ds", "y", "revenue"]], last)
        if has_cat:
            out["category"] = out["unique_id"].map(pdf.groupby("unique_id")["category"].first())
        return out

    sharded = weekly.withColumn("_shard", F.abs(F.hash("unique_id")) % shards)
    return _write(sharded.groupBy("_shard").applyInPandas(per_shard, schema), output)


# ---- forecasts ----------------------------------------------------------------------------------------------
def forecast(panel: Any, h: int = 8, model: str = "ses", engine: str = "local", calibrate: bool = True,
             shards: int = 64, output: str | os.PathLike | None = None, spark: Any = None) -> Any:
    """:class:`~supplyfit.demand.Forecaster` ``predict()`` for every series of a panel (unique_id, ds, y ...)."""
    from ..demand import Forecaster

    _check(engine)
    df = _read(panel, engine, spark)
    if engine == "local":
        return _write(Forecaster(h=h, model=model, calibrate=calibrate).fit(df).predict(), output)
    from pyspark.sql import functions as F

    from ..demand.core import raw_dispersion
    from ..demand.panel import Wide

    keep = [c for c in ("unique_id", "ds", "y", "revenue", "price", "category") if c in df.columns]
    sharded = df.select(*keep).withColumn("_shard", F.abs(F.hash("unique_id")) % shards)

    def shard_dispersion(pdf: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"a": raw_dispersion(Wide.from_long(pdf.drop(columns="_shard")).Y)})

    # The dispersion prior is the median over all series, as in one local fit: one pass to find it.
    a = sharded.groupBy("_shard").applyInPandas(shard_dispersion, "a double").toPandas()["a"]
    prior = float(a.median()) if a.notna().any() else 1.0
    schema = "unique_id string, ds timestamp, yhat double, yhat_q10 double, yhat_q50 double, yhat_q90 double"

    def per_shard(pdf: pd.DataFrame) -> pd.DataFrame:
        pdf = pdf.drop(columns="_shard")
        return Forecaster(h=h, model=model, calibrate=calibrate, dispersion_prior=prior).fit(pdf).predict()

    return _write(sharded.groupBy("_shard").applyInPandas(per_shard, schema), output)


# ---- review scores ------------------------------------------------------------------------------------------
def score_reviews(reviews: Any, engine: str = "local", output: str | os.PathLike | None = None,
                  spark: Any = None) -> Any:
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

    schema = StructType(df.schema.fields + [StructField("p_positive", DoubleType()),
                                            StructField("predicted", IntegerType())])

    def per_partition(frames):
        model = SentimentModel.pretrained()  # loaded once per partition, not per row
        for pdf in frames:
            yield score(pdf, model)

    return _write(df.mapInPandas(per_partition, schema), output)


# ---- rules --------------------------------------------------------------------------------------------------
def mine_rules(orders: Any, min_support: float = 0.01, min_confidence: float = 0.1, engine: str = "local",
               output: str | os.PathLike | None = None, spark: Any = None) -> pd.DataFrame:
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
        fi = model.freqItemsets.toPandas()
        fi = pd.DataFrame({"support": fi["freq"].to_numpy() / n, "itemsets": fi["items"].map(frozenset)})
        fi = fi[fi["support"] >= min_support].reset_index(drop=True)  # same threshold test as local
        rules = rules_from_itemsets(fi, min_confidence)
    if output is not None:
        flat = rules.assign(antecedents=rules["antecedents"].map(sorted), consequents=rules["consequents"].map(sorted))
        _write(flat, output)
    return rules
