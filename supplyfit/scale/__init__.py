"""Scale-out: the heavy stages (panel, forecasts, review scores, rule mining) and demand sensing over a stream of
drops, on the embedded engine or on Apache Spark, reading and writing Parquet (local paths or any
Hadoop-compatible URI)."""

from .engines import build_panel, forecast, mine_rules, score_reviews, spark_session
from .sensing import sense

__all__ = ["build_panel", "forecast", "score_reviews", "mine_rules", "sense", "spark_session"]
