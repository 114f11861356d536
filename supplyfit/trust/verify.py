"""Product-information checks: what a platform should look at before it publishes or analyses a listing.

Each check returns findings with a kind, a severity, a reason a person can read and the rows behind it
(``evidence``, JSON). Checks are deliberately conservative: a finding should be one a reviewer agrees with.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

import numpy as np
import pandas as pd

from ..demand.panel import product_lines, returns_mask
from ..store import Store
from ..store.catalog import NON_PRODUCT_SKU, categorize, is_non_product
from . import stored

COLUMNS = ["kind", "severity", "sku", "reason", "lines", "evidence"]
SEVERITIES = ("high", "medium", "low", "info")

RISKY_CLAIM = re.compile(
    r"最(好|佳|强|优|低价?|便宜|高级|先进)|第一|全网最|销量冠军|100%|百分百|治疗|治愈|疗效|根治|特效|包治|药用|"
    r"无副作用|国家级|顶级|绝对|永久|\b(cure[sd]?|heals?|treats?|miracle|guaranteed|clinically|"
    r"world'?s (best|first|no\.? ?1)|the best|no\.? ?1|#1|number one|100 ?% (natural|pure|safe|effective))\b",
    re.IGNORECASE,
)
MEDICAL = re.compile(r"治疗|治愈|疗效|根治|包治|药用|无副作用|\b(cure[sd]?|heals?|treats?|clinically)\b", re.IGNORECASE)

MIN_LINES_PRICE = 8  # a SKU needs this many sale lines before its own price history is a reference
OUTLIER_RATIO = 3.0  # a line is out of line when its price is 3x above or below the reference ...
OUTLIER_Z = 4.0  # ... and 4 robust standard deviations away from it
CATEGORY_RATIO = 10.0  # a SKU's median price 10x away from its category's median is worth a look
QTY_BINS = [0, 2, 11, 23, 99, np.inf]


def _lines(source: pd.DataFrame) -> pd.DataFrame:
    """An order-lines frame with what the checks read: line_no, is_return, is_product and category."""
    df = source.copy()
    if "line_no" not in df:
        df["line_no"] = df.groupby("order_id").cumcount() + 1
    df["is_return"] = returns_mask(df)
    if "is_product" not in df:
        df["is_product"] = [not is_non_product(s, d) for s, d in zip(df["sku"], df.get("description", ""))]
    if "category" not in df or df["category"].isna().all():
        df["category"] = [categorize(d) for d in df["description"]]
    return df


def _norm(text: Any) -> str:
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]+", " ", str(text).lower()).strip()


def _finding(kind: str, severity: str, sku: Any, reason: str, lines: int, evidence: Any) -> dict:
    return {
        "kind": kind,
        "severity": severity,
        "sku": None if sku is None else str(sku),
        "reason": reason,
        "lines": int(lines),
        "evidence": json.dumps(evidence, ensure_ascii=False, default=str),
    }


def _variants(sold: pd.DataFrame) -> pd.DataFrame:
    """Volumes of every (sku, description) pair, biggest first: the rows behind description findings."""
    pairs = (
        sold.groupby(["sku", "description"])
        .agg(lines=("order_id", "size"), units=("quantity", "sum"), first=("ts", "min"), last=("ts", "max"))
        .reset_index()
    )
    return by_volume(pairs)


def by_volume(pairs: pd.DataFrame) -> pd.DataFrame:
    """(sku, description) pairs in key order, then biggest first (one order, whatever computed the pairs)."""
    return pairs.sort_values(["sku", "description"], ignore_index=True).sort_values("lines", ascending=False)


def _how_different(names: list[str]) -> tuple[str, bool]:
    """How a SKU's descriptions differ from its main one, and whether only in writing (not in words)."""
    norm = [_norm(n) for n in names]
    if len(set(norm)) == 1:
        return "the same words, written differently (case, spacing, punctuation)", True
    joined = [n.replace(" ", "") for n in norm]
    if len(set(joined)) == 1:
        return "the same words, joined or split (e.g. LUNCHBAG / LUNCH BAG)", True
    if min(difflib.SequenceMatcher(None, joined[0], j).ratio() for j in joined[1:]) >= 0.92:
        return "spelling variants", True
    return "different wording (renamed or relabelled)", False


def check_descriptions(lines: pd.DataFrame) -> list[dict]:
    """One SKU under several descriptions; one description (up to case, spacing, punctuation) under several SKUs."""
    return description_findings(_variants(lines[lines.is_product & lines.description.notna()]))


def description_findings(pairs: pd.DataFrame) -> list[dict]:
    """:func:`check_descriptions` from the volumes of the product lines' (sku, description) pairs (sku,
    description, lines, units, first, last; in :func:`by_volume` order)."""
    out = []
    for sku, v in pairs.groupby("sku", sort=False):
        if len(v) < 2:
            continue
        how, minor = _how_different(v.description.tolist())
        out.append(
            _finding(
                "sku_many_descriptions",
                "low" if minor else "medium",
                sku,
                f"SKU {sku} is sold under {len(v)} descriptions — {how}: "
                + "; ".join(f"'{r.description}' ({r.lines} lines)" for r in v.head(4).itertuples()),
                v.lines.sum(),
                v.head(10).to_dict("records"),
            )
        )
    pairs["key"] = pairs.description.map(_norm)
    for _, v in pairs.groupby("key", sort=False):
        if v.sku.nunique() < 2:
            continue
        per_sku = (
            v.groupby("sku", sort=False)
            .agg(lines=("lines", "sum"), units=("units", "sum"), first=("first", "min"), last=("last", "max"))
            .reset_index()
        )
        case_only = per_sku.sku.str.upper().nunique() == 1
        out.append(
            _finding(
                "description_many_skus",
                "high" if case_only else "medium",
                per_sku.sku.iloc[0],
                f"'{v.description.iloc[0].strip()}' is sold under {len(per_sku)} SKUs"
                + (
                    " that differ only in letter case — one item's sales, forecasts and stock are split"
                    if case_only
                    else ""
                )
                + ": "
                + "; ".join(f"{r.sku} ({r.lines} lines)" for r in per_sku.head(4).itertuples()),
                per_sku.lines.sum(),
                per_sku.head(10).to_dict("records"),
            )
        )
    return out


def _robust_scale(values: pd.Series, groups: list[pd.Series]) -> pd.Series:
    """Per-group robust standard deviation (1.4826 x median absolute deviation), floored at 0.05."""
    dev = (values - values.groupby(groups).transform("median")).abs()
    return (1.4826 * dev.groupby(groups).transform("median")).clip(lower=0.05)


def check_prices(lines: pd.DataFrame) -> tuple[list[dict], int]:
    """Sale prices out of line with the SKU's own prices at similar quantities, and SKUs out of line with their
    category. A price far from the SKU's median but usual for its quantity is tier pricing, not an outlier:
    those lines are counted (second value), not reported."""
    outliers, per_sku, tiered = price_outliers(product_lines(lines))
    return outliers + price_vs_category(per_sku), tiered


def price_outliers(sold: pd.DataFrame) -> tuple[list[dict], pd.DataFrame, int]:
    """The price outliers among sale lines ``sold``, their SKUs' median log prices (sku, category, lp, lines,
    description: the input of :func:`price_vs_category`) and the lines explained by quantity tiers. Every
    statistic is per SKU, so the lines may come in chunks of whole SKUs (in SKU order, as the findings are)."""
    sold = sold[sold.unit_price > 0].copy()
    sold["lp"] = np.log(sold.unit_price)
    sold["tier"] = pd.cut(sold.quantity, QTY_BINS, labels=False)
    n = sold.groupby("sku").lp.transform("size")
    sold = sold[n >= MIN_LINES_PRICE]
    out = []
    sku_med = sold.groupby("sku").lp.transform("median")
    tier_n = sold.groupby(["sku", "tier"]).lp.transform("size")
    tier_med = sold.groupby(["sku", "tier"]).lp.transform("median")
    ref = np.where(tier_n >= 5, tier_med, sku_med)  # the usual price at this quantity, where it is known
    scale = _robust_scale(sold.lp, [sold.sku])
    dev = sold.lp - ref
    q = sold.groupby("sku").quantity
    bulk = sold.quantity >= np.maximum(4 * q.transform("median"), q.transform(lambda x: x.quantile(0.9)))
    bad = (dev.abs() >= np.log(OUTLIER_RATIO)) & (dev.abs() / scale >= OUTLIER_Z) & ~((dev < 0) & bulk)
    sold["ref_price"] = np.exp(ref)
    sold["ratio"] = np.exp(dev)
    tiered = int(((sold.lp - sku_med).abs() >= np.log(OUTLIER_RATIO)).sum() - bad.sum())
    for (sku, up), g in sold[bad].groupby(["sku", dev[bad] > 0]):
        usual = float(np.median(g.ref_price))
        lo, hi = g.ratio.min(), g.ratio.max()
        span = f"{lo:.2g}×" if np.isclose(lo, hi, rtol=0.05) else f"{lo:.2g}–{hi:.2g}×"
        extreme = hi >= 10 if up else lo <= 0.1
        out.append(
            _finding(
                "price_outlier",
                "high" if extreme else "medium",
                sku,
                f"{len(g)} sale line(s) of {sku} ('{g.description.iloc[0]}') at {span} its usual price "
                f"{usual:.2f} for that quantity ({'above' if up else 'below'}); not explained by quantity tiers",
                len(g),
                g.sort_values("ts")[["order_id", "line_no", "ts", "quantity", "unit_price", "ref_price"]]
                .head(10)
                .round(4)
                .to_dict("records"),
            )
        )
    per_sku = (
        sold.groupby(["sku", "category"])
        .agg(lp=("lp", "median"), lines=("lp", "size"), description=("description", "first"))
        .reset_index()
    )
    return out, per_sku, tiered


def price_vs_category(per_sku: pd.DataFrame) -> list[dict]:
    """SKUs whose median price is far from their category's (``per_sku`` from :func:`price_outliers`)."""
    out = []
    cat = per_sku.groupby("category").lp
    per_sku["dev"] = per_sku.lp - cat.transform("median")
    per_sku["z"] = per_sku.dev / _robust_scale(per_sku.lp, [per_sku.category])
    per_sku["n_cat"] = cat.transform("size")
    odd = per_sku[
        (per_sku.dev.abs() >= np.log(CATEGORY_RATIO)) & (per_sku.z.abs() >= OUTLIER_Z) & (per_sku.n_cat >= 20)
    ]
    for r in odd.itertuples():
        med = float(np.exp(r.lp - r.dev))
        out.append(
            _finding(
                "price_vs_category",
                "low",
                r.sku,
                f"{r.sku} ('{r.description}') sells at {np.exp(r.lp):.2f}, {np.exp(abs(r.dev)):.0f}× "
                f"{'above' if r.dev > 0 else 'below'} the {med:.2f} median of its category '{r.category}' — "
                "check the price or the category",
                r.lines,
                {
                    "median_price": round(float(np.exp(r.lp)), 4),
                    "category_median": round(med, 4),
                    "category": r.category,
                    "skus_in_category": int(r.n_cat),
                },
            )
        )
    return out


def check_categories(lines: pd.DataFrame, k: int = 5, min_similarity: float = 0.5) -> list[dict]:
    """Listings whose nearest listings by name (a k-nearest-neighbour text classifier over the store's own
    categorised listings, each listing left out of its own vote) all sit in one other category."""
    items = (
        lines[lines.is_product & lines.description.notna() & lines.category.notna()]
        .groupby("sku")
        .agg(
            name=("description", lambda s: s.mode().iloc[0]), category=("category", "first"), lines=("order_id", "size")
        )
        .reset_index()
    )
    return category_findings(items, k, min_similarity)


def category_findings(items: pd.DataFrame, k: int = 5, min_similarity: float = 0.5) -> list[dict]:
    """:func:`check_categories` from the listings (sku, name: its most frequent description, the smallest of
    ties; category: that of its first line; lines) in SKU order."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.neighbors import NearestNeighbors

    items = items[items.category != "other"].reset_index(drop=True)
    if len(items) <= k or items.category.nunique() < 2:
        return []
    x = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=2).fit_transform(
        items.name.map(_norm)
    )
    dist, idx = NearestNeighbors(n_neighbors=k + 1, metric="cosine").fit(x).kneighbors(x)
    cats = items.category.to_numpy()
    out = []
    for i in range(len(items)):
        nb = [j for j in idx[i] if j != i][:k]
        sim = 1 - dist[i][[list(idx[i]).index(j) for j in nb]]
        votes = pd.Series(cats[nb]).value_counts()
        if votes.iloc[0] < k or votes.index[0] == cats[i] or sim.mean() < min_similarity:
            continue
        other = votes.index[0]
        out.append(
            _finding(
                "category_mismatch",
                "low",
                items.sku[i],
                f"'{items.name[i].strip()}' is listed under '{cats[i]}', but its {k} most similar listings are all "
                f"under '{other}' (e.g. '{items.name[nb[0]].strip()}'): list alike items alike",
                items.lines[i],
                {
                    "name": items.name[i],
                    "category": cats[i],
                    "neighbours": [
                        {
                            "sku": items.sku[j],
                            "name": items.name[j],
                            "category": cats[j],
                            "similarity": round(float(s), 3),
                        }
                        for j, s in zip(nb, sim)
                    ],
                },
            )
        )
    return out


def check_claims(lines: pd.DataFrame) -> list[dict]:
    """Descriptions with superlative, absolute or medical claims (最, 第一, 100%, 治疗, cure, ...)."""
    names = lines[lines.description.notna()].groupby(["sku", "description"]).size().reset_index(name="lines")
    return claim_findings(names)


def claim_findings(names: pd.DataFrame) -> list[dict]:
    """:func:`check_claims` from the lines per (sku, description), every line counted, in key order."""
    out = []
    for r in names.itertuples():
        hits = sorted({m.group(0) for m in RISKY_CLAIM.finditer(r.description)})
        if hits:
            medical = bool(MEDICAL.search(r.description))
            out.append(
                _finding(
                    "risky_claim",
                    "high" if medical else "medium",
                    r.sku,
                    f"'{r.description}' makes {'a medical' if medical else 'an absolute or superlative'} claim "
                    f"({', '.join(hits)}): check it can be substantiated",
                    r.lines,
                    {"description": r.description, "claims": hits},
                )
            )
    return out


def check_non_products(lines: pd.DataFrame) -> list[dict]:
    """Fees, postage, manual adjustments and test lines: the rule that caught each, and what it kept out of
    product analytics (or would have, where a source marked them as products)."""
    np_lines = lines[~lines.is_product]
    out = []
    for sku, g in np_lines.groupby("sku"):
        desc = g.description.mode().iloc[0] if g.description.notna().any() else ""
        rule = "SKU code" if NON_PRODUCT_SKU.match(str(sku).strip()) else "description"
        revenue = float((g.quantity * g.unit_price).sum())
        out.append(
            _finding(
                "non_product",
                "info",
                sku,
                f"{sku} ('{desc}') is not a product (matched by its {rule}): {len(g)} lines, revenue {revenue:,.2f} "
                "kept out of product analytics",
                len(g),
                g.sort_values("ts")[["order_id", "line_no", "ts", "quantity", "unit_price"]]
                .head(10)
                .to_dict("records"),
            )
        )
    return out


def verify_catalog(source: Store | pd.DataFrame) -> pd.DataFrame:
    """Every finding on a store's (or an order-lines frame's) product information, most severe first.

    Columns: finding_id, kind, severity, sku, reason, lines (rows behind it), evidence (JSON of those rows).
    ``df.attrs["tier_priced_lines"]`` counts the price deviations explained by quantity tiers.
    """
    found, tiered = _store_checks(source) if isinstance(source, Store) else _frame_checks(_lines(source))
    df = pd.DataFrame(found, columns=COLUMNS)
    df["severity"] = pd.Categorical(df.severity, SEVERITIES, ordered=True)
    df = df.sort_values(["severity", "lines"], ascending=[True, False]).reset_index(drop=True)
    df["severity"] = df.severity.astype(str)
    df.insert(0, "finding_id", np.arange(1, len(df) + 1))
    df.attrs["tier_priced_lines"] = tiered
    return df


def _frame_checks(lines: pd.DataFrame) -> tuple[list[dict], int]:
    prices, tiered = check_prices(lines)
    found = (
        check_descriptions(lines) + prices + check_categories(lines) + check_claims(lines) + check_non_products(lines)
    )
    return found, tiered


def _store_checks(store: Store) -> tuple[list[dict], int]:
    """The checks of :func:`_frame_checks` without a store's order lines in memory: aggregates per (sku,
    description) and per SKU from DuckDB, the sale lines of SKUs with a price history in chunks of whole SKUs,
    and the (few) non-product lines as they are; lines in their stored order (``rowid``)."""
    outliers: list[dict] = []
    per_sku: list[pd.DataFrame] = []
    tiered = 0
    for sold in stored.sale_chunks(store, MIN_LINES_PRICE):
        found, skus, n = price_outliers(sold)
        outliers, tiered = outliers + found, tiered + n
        per_sku.append(skus)
    prices = outliers + (price_vs_category(pd.concat(per_sku, ignore_index=True)) if per_sku else [])
    found = (
        description_findings(by_volume(stored.variants(store)))
        + prices
        + category_findings(stored.listings(store))
        + claim_findings(stored.names(store))
        + check_non_products(stored.non_product_lines(store))
    )
    return found, tiered
