"""Production and replenishment: plan orders under MOQ and shared capacity, and simulate policies on actuals.

Policies:
- ``season-buy``: one order at the start covering the whole horizon, at the service-level quantile;
- ``naive-reorder``: each review, re-order what sold in the last review period;
- ``test-and-reorder``: a small first batch (base stock over lead time + review period only), then each review
  period re-forecast with the demand seen so far and order up to the base-stock level.
New items (no history) get a small first batch, the quantile at the service level of their demand over lead time +
review period from a :class:`~supplyfit.demand.LaunchForecaster` fitted on the history's launches (comparable
items of the same category and similar price when the history has too few launches); re-orders follow from the
demand seen, as for every item.
A plan reads the forecasts the demand stage stored (or fits a model when given none); a replay re-forecasts at
each of its weeks, once per week for all the policies and service levels played on it (:class:`Replay`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals
from scipy import stats

from ..demand import Forecaster, LaunchForecaster
from ..demand.core import nb_quantiles
from ..demand.launch import TooFewLaunches
from ..demand.models import LOCAL_MODELS
from .errors import MissingForecasts
from .refit import local_outlook, units_matrix

POLICIES = ("season-buy", "naive-reorder", "test-and-reorder")
LAUNCHES = 2000  # the latest past launches a plan's launch forecasts learn from: a bounded cost at any catalogue size


@dataclass
class SimulationResult:
    metrics: dict
    orders: pd.DataFrame  # unique_id, ds (arrival week), qty
    trace: pd.DataFrame  # unique_id, ds, start, arrivals, demand, served, lost, end


def launch_rates(history: pd.DataFrame, new: pd.DataFrame, weeks: int = 4) -> pd.Series:
    """Expected weekly demand of new items from comparable launches in ``history``.

    ``new`` has unique_id (+ category, price). Comparable = the items of the history, in their first ``weeks``
    weeks of sales, of the same category and with a price within x0.5-x2 when known (each filter applies when it
    leaves at least 3 items); their median mean weekly demand in those weeks.
    """
    h = history.assign(unique_id=history["unique_id"].astype("category"))
    first = h.groupby("unique_id", observed=True)["ds"].transform("min")
    stats_ = h[h["ds"] < first + pd.Timedelta(weeks=weeks)].groupby("unique_id", observed=True).agg(rate=("y", "mean"))
    for col in ("category", "price"):
        if col in h.columns:  # the value of the latest week that has one
            known = h.dropna(subset=[col])
            latest = known.loc[known.groupby("unique_id", observed=True)["ds"].idxmax()]
            stats_[col] = latest.set_index("unique_id")[col].reindex(stats_.index)
    stats_.index = stats_.index.astype(str)
    overall = float(stats_["rate"].median()) if len(stats_) else 0.0
    by_price = stats_.sort_values("price", kind="stable") if "price" in stats_.columns else stats_
    pools = {None: by_price}
    if "category" in by_price.columns:
        pools.update({c: g for c, g in by_price.groupby("category", sort=False) if len(g) >= 3})
    rates = {}
    for r in new.itertuples(index=False):
        pool = pools.get(getattr(r, "category", None), pools[None])
        rate = pool["rate"].to_numpy()
        price = getattr(r, "price", None)
        if "price" in pool.columns and price is not None and np.isfinite(price):
            lo = pool["price"].searchsorted(price / 2, side="left")
            hi = pool["price"].searchsorted(price * 2, side="right")
            rate = rate[lo:hi] if hi - lo >= 3 else rate
        rates[r.unique_id] = float(np.median(rate)) if len(rate) else overall
    return pd.Series(rates, dtype=float)


def _values(x: pd.Series | pd.Index | pd.Categorical | np.ndarray) -> np.ndarray:
    """Plain values (a categorical's values, not its codes): ids read compactly index like the strings they are."""
    return np.asarray(x.astype(object) if isinstance(x.dtype, pd.CategoricalDtype) else x)


def _by_id(per_id: pd.Series) -> pd.Series:
    """A per-item aggregate indexed by the plain ids (a groupby over categorical ids indexes by categories)."""
    return per_id.set_axis(_values(per_id.index))


def _item_attributes(panel: pd.DataFrame) -> pd.DataFrame:
    """unique_id, description, price, category of a panel's items from its optional columns: the latest description
    and category, the median positive price (else the panel's median, else 1)."""
    uid = panel["unique_id"]
    last = ~uid.duplicated(keep="last").to_numpy()  # each item's latest row, without a copy of the whole panel
    latest = panel.loc[last, [c for c in ("description", "category") if c in panel.columns]]
    latest.index = pd.Index(uid[last].astype(str).to_numpy())
    out = pd.DataFrame({"unique_id": latest.index.to_numpy()})
    text = latest["description"] if "description" in latest.columns else pd.Series("", index=latest.index)
    out["description"] = text.astype(object).fillna("").astype(str).to_numpy()
    price = pd.to_numeric(panel["price"], errors="coerce") if "price" in panel.columns else pd.Series(np.nan, uid.index)
    positive = price.where(price > 0)
    fill = float(positive.median()) if positive.notna().any() else 1.0
    median = positive.groupby(uid.astype(str) if uid.dtype == object else uid, observed=True).median()
    out["price"] = median.set_axis(median.index.astype(str)).reindex(out["unique_id"]).fillna(fill).to_numpy()
    if "category" in latest.columns:
        out["category"] = latest["category"].astype(object).fillna("other").astype(str).to_numpy()
    return out


def launch_forecast(
    history: pd.DataFrame, new: pd.DataFrame, h: int = 8, items: pd.DataFrame | None = None
) -> pd.DataFrame | None:
    """Weekly launch forecasts (LaunchForecaster's unique_id, week, yhat, yhat_q10/50/90) of the drafts in ``new``
    (unique_id, price, + description, category; a missing price takes the history's median) from the launches in
    ``history`` (a weekly panel). The history's items take their description, price and category from ``items``
    (unique_id + any of those, e.g. the store's products) or else from the panel's columns of those names. None
    when the history has too few launches; a ValueError for drafts with a price that is not positive."""
    fitted = launch_model(history, h, items)
    return None if fitted is None else fitted[0].predict(drafts_frame(new, fitted[1]))


def launch_model(
    history: pd.DataFrame, h: int = 8, items: pd.DataFrame | None = None
) -> tuple[LaunchForecaster, float] | None:
    """A LaunchForecaster fitted on the launches in ``history`` (items as for :func:`launch_forecast`) and the
    history's median price (what a draft without one takes); None when the history has too few launches."""
    attrs = _item_attributes(history)
    if items is not None:
        given = items.assign(unique_id=items["unique_id"].astype(str)).drop_duplicates("unique_id")
        given, attrs = given.set_index("unique_id").reindex(attrs["unique_id"]), attrs.set_index("unique_id")
        if "price" in given.columns:
            price = pd.to_numeric(given["price"], errors="coerce")
            given["price"] = price.where(price > 0)
        for col in ("description", "price", "category"):
            if col in given.columns:
                attrs[col] = given[col].fillna(attrs[col]) if col in attrs.columns else given[col]
        attrs = attrs.reset_index()
    try:
        lf = LaunchForecaster(h=h, max_launches=LAUNCHES).fit(launch_rows(history), attrs)
    except TooFewLaunches:
        return None
    return lf, float(attrs["price"].median())


def launch_rows(history: pd.DataFrame) -> pd.DataFrame:
    """unique_id, ds, y of the rows of ``history`` a LaunchForecaster learns from: those with units (a zero week
    adds nothing to a launch's first weeks nor to an item's sales) and the first row of each week, so that the
    history spans the same weeks (its first, its last, the last before each validation window). Of a zero-filled
    panel, under half the rows: the fit's pivots and copies shrink with them."""
    keep = (history["y"].to_numpy(float) != 0) | ~history["ds"].duplicated().to_numpy()
    return history.loc[keep, ["unique_id", "ds", "y"]]


def drafts_frame(new: pd.DataFrame, median_price: float) -> pd.DataFrame:
    """Drafts as LaunchForecaster.predict takes them: one row per id, a blank description, the median price where
    none is given."""
    drafts = new.drop_duplicates("unique_id").assign(unique_id=lambda d: d["unique_id"].astype(str))
    return drafts.assign(
        description=drafts["description"].fillna("") if "description" in drafts.columns else "",
        price=pd.to_numeric(drafts["price"], errors="coerce").fillna(median_price)
        if "price" in drafts.columns
        else median_price,
    )


def cover_quantile(forecast: pd.DataFrame, weeks: int, service_level: float) -> pd.Series:
    """Per item, the ``service_level`` quantile of its demand over its first ``weeks`` weeks from a launch forecast:
    lognormal through the sums of the weekly medians and 10%/90% quantiles (weeks beyond the forecast's last repeat
    its last week)."""
    f = forecast.sort_values(["unique_id", "week"])
    last = f.groupby("unique_id")["week"].transform("max")
    extra = np.where(f["week"] == last, np.maximum(weeks - last, 0), 0) + (f["week"] <= weeks)
    sums = f[["yhat_q10", "yhat_q50", "yhat_q90"]].mul(extra, axis=0).groupby(f["unique_id"], sort=False).sum()
    z = float(stats.norm.ppf(service_level))
    lo, mid, hi = (np.log1p(sums[c].to_numpy()) for c in ("yhat_q10", "yhat_q50", "yhat_q90"))
    spread = np.where(z >= 0, hi - mid, mid - lo) / stats.norm.ppf(0.9)
    return pd.Series(np.expm1(mid + z * spread), index=sums.index.astype(str))


def first_batches(
    forecast: pd.DataFrame,
    moq: float = 0,
    capacity: float | None = None,
    service_level: float = 0.9,
    weeks_cover: int = 2,
) -> pd.DataFrame:
    """The suggested first batch of each new item of a launch forecast (:meth:`LaunchForecaster.predict`): its
    demand over the first ``weeks_cover`` weeks (lead time + review period: a small test batch, re-orders follow
    the demand seen) at ``service_level``, rounded up to the MOQ, a shared ``capacity`` going first to the
    largest. Returns unique_id, demand (that quantile), first_batch."""
    if not 0 < service_level < 1:
        raise ValueError("service_level must be between 0 and 1")
    if weeks_cover < 1:
        raise ValueError("weeks_cover must be at least 1")
    demand = cover_quantile(forecast, weeks_cover, service_level)
    batch = apply_moq_capacity(np.ceil(demand - 1e-9), moq, capacity, demand)
    return pd.DataFrame({"unique_id": demand.index, "demand": demand.to_numpy(), "first_batch": batch.to_numpy()})


def _new_item_quantiles(rates: np.ndarray, weeks: int, q: float) -> np.ndarray:
    """First batches of new items: quantile q of demand over ``weeks`` at each weekly rate (negative binomial)."""
    mu = np.asarray(rates, dtype=float) * weeks
    return np.where(mu > 0, nb_quantiles(np.maximum(mu, 1e-9), np.ones(len(mu)), q), 0.0)


@dataclass
class Outlook:
    """Expected demand of each series over the coming weeks: mean and variance per series (row) and week ahead
    (column), from a fitted :class:`Forecaster` or from the forecasts table the demand stage stored."""

    ids: pd.Index
    mean: np.ndarray
    var: np.ndarray

    @classmethod
    def fit(cls, panel: pd.DataFrame, steps: int, model: str = "auto") -> Outlook:
        """Fit ``model`` on ``panel``: the negative binomial's mean and variance of each week ahead."""
        fc = Forecaster(h=max(steps, 1), model=model).fit(panel)
        a = (fc.dispersion_ * fc.scale_)[:, None]
        return cls(pd.Index(fc.wide_.ids), fc.mean_, fc.mean_ + a * fc.mean_**2)

    @classmethod
    def local(cls, ids: np.ndarray, units: np.ndarray, steps: int, model: str) -> Outlook:
        """:meth:`fit` of a local model on a units matrix (series ``ids`` x weeks, as :func:`.refit.units_matrix`
        makes it), in blocks of series: the same numbers without a long panel to pivot."""
        rows, mean, var = local_outlook(units, max(steps, 1), model)
        return cls(pd.Index(ids[rows]), mean, var)

    @classmethod
    def stored(cls, forecasts: pd.DataFrame, start: pd.Timestamp) -> Outlook:
        """From a stored forecasts table (unique_id, ds, yhat, yhat_q10, yhat_q90 [, level]) whose SKU rows must
        start at week ``start``; a week's variance is read off its 80% interval as a normal's,
        ((q90 - q10) / (2 z_0.9))^2."""
        fc = forecasts[forecasts["level"] == "sku"] if "level" in forecasts.columns else forecasts
        if fc.empty:
            raise MissingForecasts("no stored SKU forecasts: run `supplyfit forecast` first")
        first = pd.Timestamp(fc["ds"].min())
        if first != pd.Timestamp(start):
            raise MissingForecasts(
                f"the stored forecasts start {first:%Y-%m-%d}, the plan {start:%Y-%m-%d}: "
                "run `supplyfit forecast` first"
            )
        spread = (fc["yhat_q90"] - fc["yhat_q10"]) / (2 * stats.norm.ppf(0.9))
        wide = fc.assign(var=spread**2).pivot(index="unique_id", columns="ds", values=["yhat", "var"]).fillna(0.0)
        return cls(pd.Index(_values(wide.index)), wide["yhat"].to_numpy(float), wide["var"].to_numpy(float))

    def quantile(self, steps: int, q: float) -> pd.Series:
        """Per series, quantile ``q`` of total demand over the first ``steps`` weeks (a negative binomial with the
        summed mean and variance); what a base-stock level over lead time + review period needs."""
        if steps > self.mean.shape[1]:
            raise MissingForecasts(
                f"the forecasts cover {self.mean.shape[1]} weeks, the plan needs {steps}: "
                f"run `supplyfit forecast --h {steps}` first"
            )
        mu = self.mean[:, :steps].sum(axis=1)
        var = self.var[:, :steps].sum(axis=1)
        a_sum = np.where(mu > 0, np.maximum(var - mu, 1e-9) / np.maximum(mu, 1e-9) ** 2, 1.0)
        return pd.Series(np.where(mu > 0, nb_quantiles(mu, a_sum, q), 0.0), index=self.ids)


def apply_moq_capacity(want: pd.Series, moq: float, capacity: float | None, priority: pd.Series) -> pd.Series:
    """Round orders up to the MOQ, then share a weekly capacity by priority (highest first), never below MOQ: the
    first orders in priority are made in full while they fit, the one that does not fit gets what is left if that
    reaches the MOQ, and the rest nothing."""
    qty = want.clip(lower=0).round()
    qty = qty.where(qty <= 0, np.maximum(qty, moq))
    if capacity is None or qty.sum() <= capacity:
        return qty
    order = priority.reindex(qty.index).fillna(0).sort_values(ascending=False, kind="stable").index
    q = qty.reindex(order).to_numpy()
    made = np.cumsum(q)
    full = made <= capacity
    out = np.where(full, q, 0.0)
    cut = np.argmin(full)  # the first order that does not fit
    left = float(capacity) - (made[cut - 1] if cut else 0.0)
    if left >= moq and left >= 1:
        out[cut] = np.floor(left)
    return pd.Series(out, index=order).reindex(qty.index)


class Replay:
    """Policies played week by week against actual demand (``actuals``) after ``history``. The forecasts made at
    each week are fitted once and shared by every policy and service level played on the same replay; a local
    model's on one units matrix, in blocks of series (:mod:`.refit`), the history itself is not kept."""

    def __init__(self, history: pd.DataFrame, actuals: pd.DataFrame, model: str = "auto"):
        known = pd.Index(_values(history["unique_id"].unique()))
        if known.empty:
            raise ValueError("history is empty: simulate needs the weeks before the plan starts")
        self.model = model
        self.weeks = pd.DatetimeIndex(sorted(pd.to_datetime(actuals["ds"]).unique()))
        demand = actuals.pivot_table(index="unique_id", columns="ds", values="y", aggfunc="sum", observed=True)
        demand = demand.set_axis(_values(demand.index)).sort_index().reindex(columns=self.weeks).fillna(0.0)
        self.ids, self.demand = demand.index, demand.to_numpy()
        new = ~self.ids.isin(known)
        self.launch_week = np.where(new, np.argmax(self.demand > 0, axis=1), -1)
        attrs = actuals.drop_duplicates("unique_id")
        attrs = attrs.set_index(_values(attrs["unique_id"])).drop(columns="unique_id")
        launches = pd.DataFrame({"unique_id": self.ids[new]})
        for col in ("category", "price", "description"):
            if col in attrs.columns:
                launches[col] = launches["unique_id"].map(pd.Series(_values(attrs[col]), index=attrs.index))
        self.launch_fc = launch_forecast(history, launches) if len(launches) else None
        rates = launch_rates(history, launches) if len(launches) and self.launch_fc is None else pd.Series(dtype=float)
        self.rates = rates.reindex(self.ids).fillna(0.0).to_numpy()
        price = attrs["price"] if "price" in attrs.columns else pd.Series(1.0, index=self.ids)
        self.price = price.reindex(self.ids).fillna(1.0).to_numpy()
        # what naive-reorder orders first: the mean of the history's last 4 weeks (the history is not kept)
        recent = history[history["ds"] >= history["ds"].max() - pd.Timedelta(weeks=3)]
        self.recent_rate = _by_id(recent.groupby("unique_id", observed=True)["y"].mean())
        if model in LOCAL_MODELS:  # refitted in blocks of series on a units matrix (.refit)
            self.ids_seen, dates, self.units = units_matrix([history, actuals])
            weeks_with_rows = np.flatnonzero(~np.all(np.isnan(self.units), axis=0))
            # the weeks a refit sees: those before the week played, up to the last that has rows (as a pivot has)
            before = dates.searchsorted(self.weeks)
            self.seen = np.array([weeks_with_rows[weeks_with_rows < b].max(initial=-1) + 1 for b in before])
        else:  # a global model reads the panel's other columns too: the actual weeks follow the history in week
            # order, so that what is seen at a week is a slice (no copy), and the ids are categories
            columns = ["unique_id", "ds", "y"] + [c for c in ("price", "revenue", "category") if c in history.columns]
            later = actuals[columns].sort_values("ds", kind="stable")
            ids = union_categoricals(
                [pd.Categorical(history["unique_id"]), pd.Categorical(later["unique_id"])], sort_categories=True
            )
            self.panel = pd.concat([history[columns[1:]], later[columns[1:]]], ignore_index=True)
            self.panel.insert(0, "unique_id", ids)
            self.seen = len(history) + pd.DatetimeIndex(later["ds"]).searchsorted(self.weeks)
        self.outlooks: dict[tuple[int, int], Outlook] = {}

    def outlook(self, t: int, steps: int) -> Outlook:
        """The forecast made at week ``t`` of the replay (the history and the weeks before ``t`` seen)."""
        if (t, steps) not in self.outlooks:
            self.outlooks[(t, steps)] = (
                Outlook.local(self.ids_seen, self.units[:, : self.seen[t]], steps, self.model)
                if self.model in LOCAL_MODELS
                else Outlook.fit(self.panel.iloc[: self.seen[t]], steps, self.model)
            )
        return self.outlooks[(t, steps)]

    def first_batch(self, launching: np.ndarray, weeks: int, service_level: float) -> np.ndarray:
        """First batches of the items in ``launching`` (a mask of ids): the quantile of their launch forecast's
        demand over ``weeks``, or of comparable launches' rates when the history has too few launches."""
        if self.launch_fc is None:
            return _new_item_quantiles(self.rates[launching], weeks, service_level)
        demand = cover_quantile(self.launch_fc, weeks, service_level)
        return demand.reindex(self.ids[launching].astype(str)).fillna(0.0).to_numpy()

    def simulate(
        self,
        policy: str = "test-and-reorder",
        lead_time: int = 1,
        review_period: int = 1,
        service_level: float = 0.9,
        moq: float = 0,
        capacity: float | None = None,
    ) -> SimulationResult:
        """Play ``policy``; every unit is made, served, lost or left over."""
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}")
        weeks, ids, H = self.weeks, self.ids, len(self.weeks)
        on_hand = np.zeros(len(ids))
        pipeline = np.zeros((len(ids), H + lead_time + 1))  # arrivals by week index
        orders: list[pd.DataFrame] = []
        trace: dict[str, list[np.ndarray]] = {k: [] for k in ("start", "arrivals", "demand", "served", "end")}
        cover = lead_time + review_period

        def place(want: np.ndarray, arrive: int) -> None:
            risk = np.clip(want - on_hand, 0, None) * self.price  # expected lost margin if not made
            qty = apply_moq_capacity(pd.Series(want, index=ids), moq, capacity, pd.Series(risk, index=ids))
            qty = qty.to_numpy()
            pipeline[:, arrive] += qty
            ds = weeks[arrive] if arrive < H else weeks[-1] + pd.Timedelta(weeks=arrive - H + 1)
            orders.append(pd.DataFrame({"unique_id": ids[qty > 0], "ds": ds, "qty": qty[qty > 0].astype(float)}))

        def forecast(t: int, steps: int) -> np.ndarray:
            return self.outlook(t, steps).quantile(steps, service_level).reindex(ids).fillna(0.0).to_numpy()

        for t in range(H):
            if policy == "season-buy" and t == 0:
                place(forecast(0, H), 0)
            elif policy == "test-and-reorder" and t % review_period == 0 and (t == 0 or t + lead_time < H):
                # base stock over lead time + review period, cut at the season's end: nothing is made for after it
                position = on_hand + pipeline[:, t:].sum(axis=1)
                base = forecast(t, min(cover, H - t))
                if t == 0:
                    place(base, 0)  # first batch: lead time + one review period of cover
                else:
                    place(np.clip(base - position, 0, None), t + lead_time)
            elif policy == "naive-reorder":
                if t == 0:
                    place(self.recent_rate.reindex(ids).fillna(0.0).to_numpy() * min(cover, H), 0)
                elif t % review_period == 0 and t + lead_time < H:
                    place(self.demand[:, t - review_period : t].sum(axis=1), t + lead_time)
            launching = self.launch_week == t
            if launching.any():  # new items: first batch from comparable launches
                weeks_cover = H - t if policy == "season-buy" else min(cover, H - t)
                batch = np.zeros(len(ids))
                batch[launching] = self.first_batch(launching, weeks_cover, service_level)
                place(batch, t)
            start, arrivals, d = on_hand, pipeline[:, t].copy(), self.demand[:, t]
            served = np.minimum(start + arrivals, d)
            on_hand = start + arrivals - served
            for key, value in (
                ("start", start),
                ("arrivals", arrivals),
                ("demand", d),
                ("served", served),
                ("end", on_hand),
            ):
                trace[key].append(value)
        tr = pd.DataFrame(
            {
                "unique_id": np.tile(ids.to_numpy(), H),
                "ds": np.repeat(weeks, len(ids)),
                **{k: np.concatenate(v) for k, v in trace.items()},
            }
        )
        tr.insert(6, "lost", tr["demand"] - tr["served"])
        od = pd.concat(orders, ignore_index=True) if orders else pd.DataFrame(columns=["unique_id", "ds", "qty"])
        made = float(od["qty"].sum())
        leftover = float(on_hand.sum() + pipeline[:, H:].sum())
        metrics = {
            "fill_rate": float(tr["served"].sum() / max(tr["demand"].sum(), 1e-9)),
            "lost_units": float(tr["lost"].sum()),
            "leftover_units": leftover,
            "leftover_rate": leftover / made if made else 0.0,
            "avg_inventory": float(tr.groupby("ds")["end"].sum().mean()),
            "production_runs": int((od["qty"] > 0).sum()),
            "units_made": made,
        }
        return SimulationResult(metrics, od, tr)


def simulate(
    history: pd.DataFrame,
    actuals: pd.DataFrame,
    policy: str = "test-and-reorder",
    lead_time: int = 1,
    review_period: int = 1,
    service_level: float = 0.9,
    moq: float = 0,
    capacity: float | None = None,
    model: str = "auto",
) -> SimulationResult:
    """Play a policy week by week against actual demand; every unit is made, served, lost or left over. To play
    several policies or service levels on the same weeks, use one :class:`Replay` (it fits each week's forecast
    once)."""
    return Replay(history, actuals, model).simulate(policy, lead_time, review_period, service_level, moq, capacity)


def plan(
    panel: pd.DataFrame,
    asof,
    policy: str = "test-and-reorder",
    lead_time: int = 1,
    service_level: float = 0.9,
    moq: float = 0,
    capacity: float | None = None,
    inventory: pd.DataFrame | None = None,
    review_period: int = 1,
    horizon: int = 8,
    model: str = "auto",
    forecasts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Orders to place at ``asof``: unique_id, ds (arrival week), qty.

    ``forecasts`` is the demand stage's stored table, starting at ``asof`` (the plan then fits nothing); without
    it ``model`` is fitted on the weeks before ``asof``. ``inventory`` (unique_id, on_hand [, on_order]) is netted
    off; new items (in ``panel`` with a price, and a description and category when known, but no sales yet) get
    a first batch from their launch forecast (:func:`launch_forecast`) over lead time + review period.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}")
    asof = pd.Timestamp(asof)
    before = (pd.to_datetime(panel["ds"]) < asof).to_numpy()
    hist = panel if before.all() else panel[before]  # the stage's panel ends before asof: no copy of it
    sold = _by_id(hist.groupby("unique_id", observed=True)["y"].sum())
    ids = pd.Index(sorted(_values(panel["unique_id"].unique())))
    active = sold[sold > 0].index
    position = pd.Series(0.0, index=ids)
    if inventory is not None:
        inv = inventory.set_index("unique_id")
        position = position.add(inv.get("on_hand", 0.0), fill_value=0).add(inv.get("on_order", 0.0), fill_value=0)
    cover = horizon if policy == "season-buy" else lead_time + review_period
    if policy == "naive-reorder":
        recent = hist[hist["ds"] >= asof - pd.Timedelta(weeks=review_period)]
        want = _by_id(recent.groupby("unique_id", observed=True)["y"].sum())
    else:
        outlook = (
            Outlook.stored(forecasts, asof)
            if forecasts is not None
            else Outlook.fit(hist[hist["unique_id"].isin(active)], cover, model)
        )
        want = outlook.quantile(cover, service_level)
    want = want.reindex(ids).fillna(0.0)
    new_ids = ids.difference(active)
    if len(new_ids):
        attrs = panel.drop_duplicates("unique_id").assign(unique_id=lambda f: _values(f["unique_id"]))
        attrs = attrs.set_index("unique_id").reindex(new_ids).rename_axis("unique_id")
        attrs = attrs.reset_index()
        fc = launch_forecast(hist, attrs)
        if fc is None:
            rates = launch_rates(hist, attrs).reindex(new_ids).fillna(0.0)
            want[new_ids] = _new_item_quantiles(rates.to_numpy(), cover, service_level)
        else:
            want[new_ids] = cover_quantile(fc, cover, service_level).reindex(new_ids.astype(str)).fillna(0.0).to_numpy()
    need = (want - position.reindex(ids).fillna(0.0)).clip(lower=0)
    has_price = "price" in panel.columns
    price = _by_id(panel.groupby("unique_id", observed=True)["price"].last()) if has_price else pd.Series(1.0, ids)
    qty = apply_moq_capacity(need, moq, capacity, need * price.reindex(ids).fillna(1.0))
    arrive = asof + pd.Timedelta(weeks=lead_time)
    out = pd.DataFrame({"unique_id": qty.index, "ds": arrive, "qty": qty.to_numpy()})
    return out[out["qty"] > 0].reset_index(drop=True)
