"""The voice stage of the pipeline: score and mine the store's reviews, write the result tables."""

from __future__ import annotations

from ..store import Store
from .mine import mine


def run(store: Store) -> str:
    """Write ``review_scores``, ``aspects``, ``design_brief`` and ``complaints``."""
    reviews = store.table("reviews")
    if reviews.empty:
        return "no reviews loaded"
    insights = mine(reviews)
    for name, table in insights.tables().items():
        store.write_result(name, table)
    return (f"{len(reviews):,} reviews scored, {len(insights.aspects)} aspects in "
            f"{reviews['category'].nunique()} categories, {len(insights.complaints):,} complaints queued")
