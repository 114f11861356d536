"""Scale-out: the heavy stages (panel, forecasts, review scores, rule mining) on the embedded engine or on
Apache Spark, reading and writing Parquet (local paths or any Hadoop-compatible URI)."""

from .engines import build_panel, forecast, mine_rules, score_reviews, spark_session

__all__ = ["build_panel", "forecast", "score_reviews", "mine_rules", "spark_session"]
