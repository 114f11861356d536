"""Monitoring: consumption indicators, hotspots and the report."""

from .hotspots import hotspots
from .indicators import Indicators, indicators, sentiment_index
from .report import write_report

__all__ = ["hotspots", "indicators", "Indicators", "sentiment_index", "write_report"]
