"""Matching: basket rules, next-item and per-customer recommendations, customer segments."""

from .recommend import BasketRecommender
from .rules import association_rules, baskets_from_orders, frequent_itemsets
from .segments import segment_summary, segments

__all__ = [
    "BasketRecommender",
    "association_rules",
    "baskets_from_orders",
    "frequent_itemsets",
    "segment_summary",
    "segments",
]
