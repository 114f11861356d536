"""The voice stage of the pipeline: score and mine the store's reviews, write the result tables."""

from __future__ import annotations

from ..store import Store
from .mine import mine


def run(store: Store) -> str:
    """Write ``review_scores``, ``aspects``, ``design_brief`` and ``complaints`` (the pipeline checks first that
    the tenant has reviews, see :data:`supplyfit.pipeline.STAGES`)."""
    insights = mine(store.table("reviews"))
    for name, table in insights.tables().items():
        store.write_result(name, table)
    return (
        f"{len(insights.scores):,} reviews scored, {len(insights.aspects)} aspects in "
        f"{insights.scores['category'].nunique()} categories, {len(insights.complaints):,} complaints queued"
    )
