"""Merchant (or supplier, brand) credit: a 0-100 score from what its buyers and its data say, with every
component shown. Without a merchant column, the same score per product line (category).

Each component is a rate, shrunk towards the platform's average (empirical Bayes, ``PRIOR_WEIGHT`` pseudo
observations) so that a merchant with three reviews is not judged on them, then turned into points lost:
``weight * min(1, rate / full_penalty_at)``. Score = 100 * (1 - points lost / weight of the components that
have data): a component without data neither helps nor hurts.
"""

from __future__ import annotations

import pandas as pd

from ..store import Store

# component -> (weight in points, rate at which all its points are lost, what it measures)
COMPONENTS: dict[str, tuple[float, float, str]] = {
    "complaint_rate": (30, 0.5, "share of its reviews that are negative"),
    "complaint_severity": (15, 1.0, "mean urgency of its complaints (0-1; safety and fraud weigh most)"),
    "return_rate": (25, 0.2, "returned units / sold units"),
    "quarantine_rate": (15, 0.1, "share of its uploaded rows that failed validation"),
    "finding_rate": (15, 0.5, "share of its SKUs with a high or medium product-information finding"),
}
PRIOR_WEIGHT = 20.0
GRADES = [(85, "A"), (70, "B"), (55, "C"), (0, "D")]


def _rate(events: pd.Series, exposure: pd.Series) -> pd.DataFrame:
    """Raw and shrunk rate per unit; exposure 0 means no data."""
    events, exposure = events.fillna(0.0), exposure.fillna(0.0)
    prior = events.sum() / exposure.sum() if exposure.sum() > 0 else 0.0
    shrunk = (events + PRIOR_WEIGHT * prior) / (exposure + PRIOR_WEIGHT)
    return pd.DataFrame(
        {"raw": events / exposure.where(exposure > 0), "rate": shrunk.where(exposure > 0), "n": exposure}
    )


def credit_scores(store: Store, findings: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per merchant (or category when no source names merchants): score, grade, and for every component
    its raw rate, shrunk rate, exposure and points lost. ``findings``: from ``verify_catalog`` (optional)."""
    by_merchant = (
        store.query("SELECT count(merchant) AS n FROM orders WHERE tenant = $tenant").n[0] > 0
        or store.query("SELECT count(merchant) AS n FROM reviews WHERE tenant = $tenant").n[0] > 0
    )
    unit = "merchant" if by_merchant else "category"
    key = "o.merchant" if by_merchant else "coalesce(o.category, p.category)"
    orders = store.query(f"""
        SELECT {key} AS unit, sum(CASE WHEN NOT is_return THEN quantity END) AS sold,
               -sum(CASE WHEN is_return THEN quantity END) AS returned, count(*) AS rows
        FROM orders o LEFT JOIN products p ON p.tenant = o.tenant AND p.sku = o.sku
        WHERE o.tenant = $tenant AND o.is_product GROUP BY 1""").set_index("unit")
    scored = store.has_table("review_scores")  # labels where the source had none: the voice model's verdict
    reviews = store.query(f"""
        SELECT {"r.merchant" if by_merchant else "r.category"} AS unit, count(*) AS reviews,
               count(*) FILTER (WHERE {"coalesce(r.label, s.predicted)" if scored else "r.label"} = 0) AS negative
        FROM reviews r {
        "LEFT JOIN review_scores s ON s.tenant = r.tenant AND s.review_id = r.review_id" if scored else ""
    }
        WHERE r.tenant = $tenant GROUP BY 1""").set_index("unit")
    severity = pd.Series(dtype=float)
    if store.has_table("complaints"):
        severity = store.query(f"""
            SELECT {"r.merchant" if by_merchant else "c.category"} AS unit, avg(c.urgency) / 10 AS severity,
                   count(*) AS complaints
            FROM complaints c LEFT JOIN reviews r ON r.tenant = c.tenant AND r.review_id = c.review_id
            WHERE c.tenant = $tenant GROUP BY 1""").set_index("unit")
    quarantine = store.query(f"""
        SELECT {"merchant" if by_merchant else "NULL"} AS unit, count(*) AS bad FROM quarantine
        WHERE tenant = $tenant GROUP BY 1""").set_index("unit")
    units = sorted(set(orders.index.dropna()) | set(reviews.index.dropna()))
    if not units:
        return pd.DataFrame(columns=[unit, "score", "grade"])
    idx = pd.Index(units, name=unit)
    parts = {
        "complaint_rate": _rate(reviews.negative.reindex(idx), reviews.reviews.reindex(idx)),
        "return_rate": _rate(orders.returned.reindex(idx), orders.sold.reindex(idx)),
        "quarantine_rate": _rate(
            quarantine.bad.reindex(idx) if by_merchant else pd.Series(0.0, idx),
            (orders.rows.reindex(idx) + quarantine.bad.reindex(idx).fillna(0)) if by_merchant else pd.Series(0.0, idx),
        ),
        "finding_rate": _finding_rate(store, findings, idx, key),
    }
    sev = severity.severity.reindex(idx) if len(severity) else pd.Series(float("nan"), idx)
    parts["complaint_severity"] = pd.DataFrame(
        {"raw": sev, "rate": sev.clip(0, 1), "n": severity.complaints.reindex(idx) if len(severity) else 0}
    )
    out = pd.DataFrame(index=idx)
    lost, weighed = pd.Series(0.0, idx), pd.Series(0.0, idx)
    for name, (weight, full, _) in COMPONENTS.items():
        p = parts[name]
        points = (weight * (p.rate / full).clip(upper=1)).fillna(0.0)
        out[name], out[f"{name}_n"], out[f"{name}_points"] = p.raw.round(4), p.n.fillna(0), points.round(2)
        lost += points
        weighed += weight * p.rate.notna()
    out.insert(0, "score", (100 * (1 - lost / weighed.where(weighed > 0))).round(1))
    out.insert(1, "grade", [next((g for floor, g in GRADES if s >= floor), "-") for s in out.score])
    out.insert(2, "basis", "merchant" if by_merchant else "product line (no merchant column in the data)")
    return out.sort_values("score").reset_index()


def _finding_rate(store: Store, findings: pd.DataFrame | None, idx: pd.Index, key: str) -> pd.DataFrame:
    skus = store.query(f"""SELECT DISTINCT {key} AS unit, o.sku FROM orders o LEFT JOIN products p
                           ON p.tenant = o.tenant AND p.sku = o.sku WHERE o.tenant = $tenant AND o.is_product""")
    flagged = (
        set()
        if findings is None or findings.empty
        else set(findings.loc[findings.severity.isin(["high", "medium"]), "sku"])
    )
    skus["flagged"] = skus.sku.isin(flagged)
    g = skus.groupby("unit")
    return _rate(g.flagged.sum().reindex(idx).astype(float), g.size().reindex(idx).astype(float))


def explain() -> pd.DataFrame:
    """The scoring rules as a table (for the report and `supplyfit verify --help`)."""
    return pd.DataFrame(
        [(n, w, f, what) for n, (w, f, what) in COMPONENTS.items()],
        columns=["component", "weight", "full_penalty_at", "measures"],
    )
