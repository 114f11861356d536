"""Past launches and their analogs: each item's first weeks in a history, text features of descriptions in Chinese or
English, the nearest past items of a new one by description, category and price, and the features built on them."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from .panel import wall_times, week_start

MIN_LAUNCHES = 30  # fewer launches after the burn-in: every item of the history counts as one
# pseudo-launches at the overall median added to each word's launches before taking their median (1 / 2 / 4 tried:
# mean ratio over the benchmark's seven validation windows 0.967 / 0.961 / 0.959, see docs/benchmarks.md)
WORD_PRIOR = 2
_CJK = re.compile(r"[\u3400-\u9fff]")
GAP = 4  # weeks: past items launched this close to a past launch are not its analogs (see nearest)
K_ANALOGS, K_WIDE, PRICE_WINDOW = 5, 20, 50
FEATURES = (
    *("catalogue_20", "catalogue_5", "analogs_5", "analogs_20", "similarity", "category", "price_band", "level"),
    *("log_price", "season_sin", "season_cos", "family", "word_max", "word_mean"),
)
FAMILY = 0.3  # text cosine from which two items launched in the same week count as one range (colours, sizes)
RANGE_CELLS = 4_000_000  # similarities computed at once by ranges (32 MB)


def require(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    """A ValueError that names the missing columns."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {', '.join(missing)}; it needs {', '.join(columns)}")


def weekly_history(history: pd.DataFrame) -> pd.DataFrame:
    """``history`` with each week dated by its Monday (in the shop's wall time), whatever day labels it (pandas'
    ``resample("W")`` labels Sundays), and without rows of unknown units (a week without a row is no sale, and so
    is a row without units): the same weeks give the same launches, ages and seasons however they are dated."""
    ds = pd.to_datetime(history["ds"])
    if ds.isna().any():
        raise ValueError(f"history: {int(ds.isna().sum())} row(s) have no date (ds)")
    y = pd.to_numeric(history["y"], errors="coerce")
    if np.isinf(y).any():
        raise ValueError(f"history: {int(np.isinf(y).sum())} row(s) have an infinite y: units sold are finite numbers")
    return history.assign(ds=week_start(wall_times(ds)), y=y)[y.notna().to_numpy()]


def attributes(items: pd.DataFrame, name: str, drop_unpriced: bool = False) -> pd.DataFrame:
    """unique_id, description, logp (log price), category (keyword rules when not given) of ``items``, checked: an
    item without a positive price is an error, or, with ``drop_unpriced`` (a catalogue to learn from, where a free
    sample is no launch to compare with), left out with a warning."""
    require(items, ("unique_id", "description", "price"), name)
    price = pd.to_numeric(items["price"], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(price) | (price <= 0)
    if bad.any() and not drop_unpriced:
        raise ValueError(f"{name}: price must be a positive number (item {items['unique_id'].iloc[bad.argmax()]!r})")
    if bad.any():
        warnings.warn(
            f"{name}: {int(bad.sum())} item(s) without a positive price left out (e.g. "
            f"{items['unique_id'].iloc[bad.argmax()]!r})",
            stacklevel=3,
        )
        items, price = items[~bad], price[~bad]
    out = pd.DataFrame(
        {"unique_id": items["unique_id"].astype(str), "description": items["description"].fillna("").astype(str)}
    )
    out["logp"] = np.log(price)
    if "category" in items.columns:
        out["category"] = items["category"].fillna("other").astype(str).to_numpy()
    else:
        from ..store.catalog import categorize

        out["category"] = out["description"].map(categorize)
    return out.reset_index(drop=True)


def past_launches(history: pd.DataFrame, h: int, max_launches: int = 5000, burn_in: int = 4) -> pd.DataFrame:
    """Items of ``history`` whose first h weeks (from the first week with a sale) are all in it: unique_id, launch
    (that week) and w1..wh (units). Items already selling in the first ``burn_in`` weeks were likely launched
    before the history starts and are left out while at least MIN_LAUNCHES others remain; the most recent
    ``max_launches`` are kept, so that the fit's cost is bounded whatever the catalogue's size."""
    ds, uid, y = pd.to_datetime(history["ds"]), history["unique_id"].astype(str), history["y"].to_numpy(float)
    first = ds[y > 0].groupby(uid[y > 0]).min()
    complete = first + pd.Timedelta(weeks=h - 1) <= ds.max()
    fresh = complete & (first >= ds.min() + pd.Timedelta(weeks=burn_in))
    first = first[fresh] if fresh.sum() >= MIN_LAUNCHES else first[complete]
    first = first.reset_index().sort_values(["ds", "unique_id"], ascending=[False, True]).head(max_launches)
    launch = first.set_index("unique_id")["ds"]
    keep = uid.isin(launch.index).to_numpy()
    week = ((ds[keep] - uid[keep].map(launch)) // pd.Timedelta(weeks=1)).to_numpy()
    inside = (week >= 0) & (week < h)
    Y = np.zeros((len(launch), h))
    np.add.at(Y, (launch.index.get_indexer(uid[keep][inside]), week[inside]), y[keep][inside])
    out = pd.DataFrame(np.clip(Y, 0, None), columns=[f"w{i + 1}" for i in range(h)])
    out.insert(0, "launch", launch.to_numpy())
    out.insert(0, "unique_id", launch.index.to_numpy())
    return out.sort_values(["launch", "unique_id"], ignore_index=True)


def catalogue_rates(history: pd.DataFrame, h: int, max_items: int = 10000) -> pd.DataFrame:
    """Every item of ``history``, launched in it or not: unique_id, launch (first week with a sale) and logR,
    log1p of h x its mean weekly units since then; the ``max_items`` with the most weeks of sales. How similar
    items sell in the whole catalogue, beyond the few launches, is a hint of how a new one will do."""
    y = history["y"].to_numpy(float)
    sold = history[y > 0]
    uid = sold["unique_id"].astype(str)
    first = pd.to_datetime(sold["ds"]).groupby(uid).min()
    weeks = ((pd.to_datetime(history["ds"]).max() - first) // pd.Timedelta(weeks=1) + 1).clip(lower=1)
    agg = sold.groupby(uid)["y"].agg(["sum", "size"]).assign(weeks=weeks)
    agg = agg.sort_values(["size", "sum"], ascending=False, kind="stable").head(max_items).sort_index()
    logR = np.log1p(h * agg["sum"] / agg["weeks"]).to_numpy()
    return pd.DataFrame(
        {"unique_id": agg.index.to_numpy(), "launch": first.reindex(agg.index).to_numpy(), "logR": logR}
    )


class TextSpace:
    """TF-IDF of word unigrams/bigrams and character 1-3-grams within words (what makes Chinese, written without
    spaces, comparable too), each block L2-normalised and joined with equal weight."""

    def fit(self, texts: pd.Series) -> TextSpace:
        t = texts.fillna("").astype(str).str.lower()
        t = t if t.str.strip().any() else pd.Series(["_"])  # a vocabulary even when no item has a description
        self.word = TfidfVectorizer(
            analyzer="word", ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b", sublinear_tf=True
        )
        self.char = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)
        self.word.fit(t)
        self.char.fit(t)
        return self

    def transform(self, texts: pd.Series) -> sparse.csr_matrix:
        t = texts.fillna("").astype(str).str.lower()
        blocks = [normalize(v.transform(t)) for v in (self.word, self.char)]
        return sparse.csr_matrix(sparse.hstack(blocks) / np.sqrt(2.0))


@dataclass
class Items:
    """Items in the feature space: attributes (unique_id, category, logp, launch, ...) and their texts' TF-IDF."""

    frame: pd.DataFrame
    X: sparse.csr_matrix

    def subset(self, mask: np.ndarray) -> Items:
        return Items(self.frame[mask].reset_index(drop=True), self.X[np.flatnonzero(mask)])


def nearest(
    q: Items, past: Items, k: int, allowed: np.ndarray | None = None, training: bool = False, chunk: int = 2000
) -> tuple[np.ndarray, np.ndarray]:
    """The k best past items per query: indices and scores, best first (-inf: none left). The score is the text
    cosine plus 0.1 for the same category and 0.1 x price closeness (1 at the same price, 0 at a factor of 4),
    so that items without a description still find analogs. ``allowed`` masks the past items that may be used.
    When ``training`` (the queries are past launches learning from each other) items launched within GAP weeks of
    a query are left out: its siblings (colours, sizes launched together) must not stand in for analogs that a new
    item, whose siblings are new too, will not have; this leaves out the item itself too."""
    k = min(k, past.X.shape[0])
    codes = pd.factorize(pd.concat([q.frame["category"], past.frame["category"]], ignore_index=True))[0]
    qcat, xcat = codes[: len(q.frame)], codes[len(q.frame) :]
    qlogp, xlogp = (f["logp"].to_numpy(np.float32) for f in (q.frame, past.frame))
    qweek, xweek = (weeks(f["launch"]).astype(np.int32) for f in (q.frame, past.frame))
    idx, val = np.zeros((q.X.shape[0], k), dtype=int), np.zeros((q.X.shape[0], k))
    for a in range(0, q.X.shape[0], chunk):
        b = min(a + chunk, q.X.shape[0])
        s = (q.X[a:b] @ past.X.T).toarray().astype(np.float32)
        close = np.abs(qlogp[a:b, None] - xlogp[None, :])  # price closeness: 0.1 at the same price, 0 at x4 apart
        close *= np.float32(-0.1 / np.log(4))
        close += np.float32(0.1)
        s += np.maximum(close, 0, out=close)
        np.add(s, np.float32(0.1), out=s, where=qcat[a:b, None] == xcat[None, :])
        if allowed is not None:
            s[:, ~allowed] = -np.inf
        if training:
            s[np.abs(qweek[a:b, None] - xweek[None, :]) < GAP] = -np.inf
        top = np.argpartition(-s, k - 1, axis=1)[:, :k]
        score = np.take_along_axis(s, top, axis=1).astype(float)
        order = np.lexsort((top, -score), axis=1)  # best first, ties to the lower index (an older launch)
        idx[a:b], val[a:b] = np.take_along_axis(top, order, axis=1), np.take_along_axis(score, order, axis=1)
    return idx, val


def weeks(ds: pd.Series) -> np.ndarray:
    """Week numbers (days since 1970 // 7)."""
    return pd.to_datetime(ds).to_numpy("datetime64[D]").astype(np.int64) // 7


def _median(values: np.ndarray, valid: np.ndarray, fallback: float) -> np.ndarray:
    """Row medians of the valid entries; ``fallback`` for a row with none."""
    masked = np.where(valid, values, np.nan)
    masked[~valid.any(axis=1)] = fallback
    return np.nanmedian(masked, axis=1)


def _rolling_median(values: np.ndarray, w: int) -> np.ndarray:
    """Medians of the runs of w consecutive values (one per start position)."""
    return np.median(np.lib.stride_tricks.sliding_window_view(values, w), axis=1)


def ranges(q: Items) -> np.ndarray:
    """Per item of ``q``: log1p of the other items of ``q`` launched in the same week with a similar description
    (text cosine >= FAMILY): the range it is launched in (colours, sizes, motifs of one design), which is how the
    biggest launches start. For drafts, read from those given to predict with the same launch week (all of them
    without one): related drafts sent together make a range, unrelated ones do not move each other (a count of
    all same-week launches did: a planner's batch of unrelated drafts was forecast 1.85x its total)."""
    week = weeks(q.frame["launch"])
    out = np.zeros(len(week))
    for w in np.unique(week):
        rows = np.flatnonzero(week == w)
        step = max(1, RANGE_CELLS // len(rows))  # a few rows at a time: 20,000 drafts of one week took 8 GB at once
        for i in range(0, len(rows), step):
            part = rows[i : i + step]
            out[part] = ((q.X[part] @ q.X[rows].T).toarray() >= FAMILY).sum(axis=1) - 1
    return np.log1p(np.maximum(out, 0))


def words(text: str) -> list[str]:
    """The words of a description, lower case, from 2 letters, no numbers; a run of Chinese characters (written
    without spaces) as its character bigrams."""
    out = []
    for token in re.findall(r"(?u)\b[^\W\d]\w+\b", text.lower()):
        out += [token[i : i + 2] for i in range(len(token) - 1)] if _CJK.search(token) else [token]
    return out


def word_scores(q: Items, past: Items, logT: np.ndarray, allowed: np.ndarray, training: bool) -> np.ndarray:
    """Per item of ``q``: the best and the mean, over its description's :func:`words`, of the median log1p h-week
    total of the allowed past launches with that word, with WORD_PRIOR pseudo-launches at their overall median (a
    word of one launch says little); medians, so that one huge order moves a word no more than one big launch
    does. Analogs compare whole descriptions; a word shared by many launches (a motif, a product type, a season's
    theme) carries what they sold even where the rest of the text differs. When ``training``, launches within GAP
    weeks of the query are left out, as in :func:`nearest`."""
    from sklearn.feature_extraction.text import CountVectorizer

    pool = np.flatnonzero(allowed)
    prior = float(np.median(logT[pool]))
    out = np.full((len(q.frame), 2), prior)
    vec = CountVectorizer(analyzer=words, binary=True)
    try:
        Wp = vec.fit_transform(past.frame["description"].iloc[pool].fillna("").astype(str)).tocsc()
    except ValueError:  # no description has a word
        return out
    Wq = vec.transform(q.frame["description"].fillna("").astype(str)).tocsr()
    word = np.repeat(np.arange(Wp.shape[1]), np.diff(Wp.indptr))  # one entry per (word, launch), by word and total
    value = logT[pool][Wp.indices]
    order = np.lexsort((value, word))
    word, value, week = word[order], value[order], weeks(past.frame["launch"])[pool][Wp.indices][order]
    qweek = weeks(q.frame["launch"])
    for w in np.unique(qweek) if training else [None]:
        rows = np.flatnonzero(qweek == w) if training else np.arange(len(q.frame))
        keep = np.abs(week - w) >= GAP if training else np.ones(len(word), bool)  # siblings do not vouch for it
        median = _medians(word[keep], value[keep], Wp.shape[1], prior)
        sub = Wq[rows]
        for j, r in enumerate(rows):
            cols = sub.indices[sub.indptr[j] : sub.indptr[j + 1]]
            if len(cols):
                out[r] = median[cols].max(), median[cols].mean()
    return out


def _medians(word: np.ndarray, value: np.ndarray, n_words: int, prior: float) -> np.ndarray:
    """Per word, the median of its values (``word``-sorted, ascending within a word) and WORD_PRIOR values at
    ``prior``: the sorted list is the values below the prior, the prior's copies, then the rest."""
    m = int(WORD_PRIOR)
    k = np.bincount(word, minlength=n_words)
    start = np.cumsum(k) - k
    below = np.bincount(word, weights=value < prior, minlength=n_words).astype(int)

    def at(p: np.ndarray) -> np.ndarray:
        real = np.clip(start + np.where(p < below, p, p - m), 0, max(len(value) - 1, 0))
        got = value[real] if len(value) else np.full(n_words, prior)
        return np.where((p >= below) & (p < below + m), prior, got)

    n = k + m
    return (at((n - 1) // 2) + at(n // 2)) / 2


def features(
    q: Items, past: Items, logT: np.ndarray, allowed: np.ndarray, catalogue: Items, training: bool, h: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The analogs (indices, scores) of ``q`` among the ``allowed`` past launches, and the learned model's
    FEATURES: the median rate of the 20 and 5 nearest items of the ``catalogue``; medians of log1p first-h-week
    totals of the 5 and 20 analogs, of the category, of the PRICE_WINDOW launches nearest in price and of the
    PRICE_WINDOW latest launches whose h weeks were over by the item's launch (the market's level); the analogs'
    mean score; log price; launch season; the size of its range (see ranges); what launches sharing its words sold
    (see word_scores)."""
    idx, val = nearest(q, past, K_WIDE, allowed, training)
    near, near_val = nearest(q, catalogue, K_WIDE, None, training)
    pool = np.flatnonzero(allowed)  # in launch order, as past launches are
    fallback = float(np.median(logT[pool]))
    w = min(PRICE_WINDOW, len(pool))
    by_price = pool[np.argsort(past.frame["logp"].to_numpy()[pool], kind="stable")]
    at_price = np.searchsorted(past.frame["logp"].to_numpy()[by_price], q.frame["logp"].to_numpy()) - w // 2
    seen = np.searchsorted(weeks(past.frame["launch"])[pool] + h, weeks(q.frame["launch"]), side="right") - w
    cat_med = pd.Series(logT[pool]).groupby(past.frame["category"].to_numpy()[pool]).median()
    rate = catalogue.frame["logR"].to_numpy()
    angle = 2 * np.pi * pd.to_datetime(q.frame["launch"]).dt.isocalendar().week.to_numpy(float) / 52.18
    first = np.isfinite(val[:, :K_ANALOGS])
    F = np.c_[
        _median(rate[near], np.isfinite(near_val), fallback),
        _median(rate[near[:, :K_ANALOGS]], np.isfinite(near_val[:, :K_ANALOGS]), fallback),
        _median(logT[idx[:, :K_ANALOGS]], first, fallback),
        _median(logT[idx], np.isfinite(val), fallback),
        np.where(first, val[:, :K_ANALOGS], 0).mean(axis=1),
        q.frame["category"].map(cat_med).fillna(fallback).to_numpy(float),
        _rolling_median(logT[by_price], w)[np.clip(at_price, 0, len(pool) - w)],
        _rolling_median(logT[pool], w)[np.clip(seen, 0, len(pool) - w)],
        q.frame["logp"].to_numpy(),
        np.sin(angle),
        np.cos(angle),
        ranges(q),
        word_scores(q, past, logT, allowed, training),
    ]
    return idx, val, F
