"""Report sections for each stage of the chain, built only from the store's result tables.

A section whose stage has not run for the tenant says which command to run instead of disappearing, and one whose
tables hold too little for a chart (a week of data, no categories, no customers) says so in a line. Values are
formatted by kind (counts as whole numbers, shares as %, no NaN: a missing value is a dash), SKU codes carry their
descriptions, and severities have one colour scale (:data:`SEVERITY_COLORS`) wherever they appear.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

import pandas as pd

from ..store import Store
from . import svg
from .briefing import SEVERITY_OF_REASON, descriptions
from .svg import Series, percent

SEVERITY_COLORS = {"high": "#c62828", "medium": "#e69500", "low": "#78909c", "info": "#b0bec5"}
SHARE_SUFFIXES = ("share", "rate", "_pop", "_yoy", "coverage_80", "confidence", "support", "positive")


def cell(value: object, column: str, whole: bool = False) -> tuple[str, bool]:
    """A value as shown in a table, and whether it is a number (right-aligned): a dash for a missing value, shares
    (columns named *share, *rate, *_pop …) as %, numbers of a ``whole`` column (counts) without decimals, others
    with two, dates without a zero time."""
    if value is None or (not isinstance(value, str | list | dict) and pd.isna(value)):  # type: ignore[arg-type]
        return "—", False
    if column == "severity" and value in SEVERITY_COLORS:
        return f"<span class='sev sev-{value}'>{html.escape(str(value))}</span>", False
    if isinstance(value, pd.Timestamp):
        return (f"{value:%Y-%m-%d}" if value == value.normalize() else f"{value:%Y-%m-%d %H:%M}"), False
    if isinstance(value, bool) or not isinstance(value, int | float):
        return html.escape(str(value)), False
    if column.endswith(SHARE_SUFFIXES):
        return percent(float(value)), True
    return (f"{value:,.0f}" if whole else f"{value:,.2f}"), True


def is_whole(col: pd.Series) -> bool:
    """A number column whose values are all whole (counts, units): shown without decimals."""
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return False
    vals = col.dropna()
    return bool((vals == vals.round()).all())


# Column names a reader should not have to decode; the others are shown with spaces for underscores
HEADERS = {
    "unique_id": "item",
    "ds": "week",
    "yhat": "forecast",
    "yhat_q10": "low (10%)",
    "yhat_q50": "median",
    "yhat_q90": "high (90%)",
    "qty": "quantity",
    "revenue_pop": "revenue vs previous period",
    "units_pop": "units vs previous period",
    "p_negative": "chance negative",
    "load_id": "load",
}


def header(column: object) -> str:
    """A table column's name as the report shows it (:data:`HEADERS`, else underscores as spaces)."""
    name = str(column)
    return HEADERS.get(name, name.replace("_", " "))


def html_table(df: pd.DataFrame) -> str:
    """``df`` as an HTML table with :func:`cell` formatting; number columns (headers too) are right-aligned."""
    whole = [is_whole(df[c]) for c in df.columns]
    rows = [
        [cell(v, str(c), w) for c, v, w in zip(df.columns, r, whole, strict=True)] for r in df.itertuples(index=False)
    ]
    numeric = [any(r[i][1] for r in rows) for i in range(len(df.columns))]
    head = "".join(
        f"<th{' class=num' if n else ''}>{html.escape(header(c))}</th>"
        for c, n in zip(df.columns, numeric, strict=True)
    )
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if n else ''}>{v}</td>" for (v, _), n in zip(r, numeric, strict=True))
        + "</tr>"
        for r in rows
    )
    return f"<table class='tbl'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def heat_table(matrix: pd.DataFrame, fmt: Callable[[float], str] = svg.number) -> str:
    """A matrix as a table whose cells are shaded by value (a heatmap that stays text)."""
    top = float(matrix.max().max()) if matrix.size else 0.0
    head = "<th></th>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in matrix.columns)
    body = ""
    for idx, row in matrix.iterrows():
        tds = "".join(
            "<td>—</td>"
            if pd.isna(v)
            else f"<td class=num style='background:rgba(31,111,178,{0.08 + 0.72 * v / top if top else 0:.2f})'>"
            f"{fmt(v)}</td>"
            for v in row
        )
        body += f"<tr><th>{html.escape(str(idx))}</th>{tds}</tr>"
    return f"<table class='tbl heat'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@dataclass
class Section:
    """One part of the report: a title, the data window, and blocks of HTML (charts, tables, text)."""

    key: str
    title: str
    window: str = ""
    blocks: list[str] = field(default_factory=list)
    missing: str | None = None  # why the section has no content (stage not run)

    def text(self, s: str) -> Section:
        self.blocks.append(f"<p>{html.escape(s)}</p>")
        return self

    def table(self, df: pd.DataFrame, caption: str = "", limit: int = 20) -> Section:
        cap = f"<div class='cap'>{html.escape(caption)}</div>" if caption else ""
        self.blocks.append(f"{cap}{html_table(df.head(limit))}")
        return self

    def chart(self, chart: str, caption: str = "") -> Section:
        """An inline SVG chart (see :mod:`supplyfit.monitor.svg`) with a caption that gives its numbers."""
        cap = f"<div class='cap'>{html.escape(caption)}</div>" if caption else ""
        self.blocks.append(f"<div class='chart'>{chart}</div>{cap}")
        return self

    def html(self, block: str) -> Section:
        self.blocks.append(block)
        return self


def with_descriptions(df: pd.DataFrame, names: dict[str, str], column: str) -> pd.DataFrame:
    """``df`` with a ``description`` column right after its SKU ``column``."""
    out = df.copy()
    out.insert(list(out.columns).index(column) + 1, "description", out[column].astype(str).map(names).fillna(""))
    return out


def window_of(ts: pd.Series) -> str:
    """'first – last' dates of a timestamp column, for section headers."""
    if ts.empty:
        return "no data"
    return f"{pd.Timestamp(ts.min()):%Y-%m-%d} – {pd.Timestamp(ts.max()):%Y-%m-%d}"


SectionBuilder = Callable[[Store], Section]


def _has_rows(store: Store, table: str) -> bool:
    return store.has_table(table) and bool(store.table(table, columns="count(*) AS n")["n"].iloc[0])


def section(
    key: str, title: str, command: str, *tables: str
) -> Callable[[Callable[[Store, Section], None]], SectionBuilder]:
    """Make a section builder from ``fill(store, sec)``, which runs once the stage has run for the tenant (one of
    its ``tables`` has rows); before that the section says which command (``supplyfit forecast`` …) to run."""

    def wrap(fill: Callable[[Store, Section], None]) -> SectionBuilder:
        @wraps(fill)
        def build(store: Store) -> Section:
            sec = Section(key, title)
            if any(_has_rows(store, t) for t in tables):
                fill(store, sec)
            else:
                sec.missing = (
                    f"Stage not run yet for tenant {store.tenant} (no {' or '.join(tables)} rows): run "
                    f"`{command}`, or `supplyfit run` for every stage."
                )
            return sec

        return build

    return wrap


def store_section(store: Store) -> Section:
    """What was loaded: loads, quarantine reasons, monthly order lines."""
    sec = Section("data", "Data loaded · 数据接入")
    info = store.status()
    if not info["tables"].get("orders") and not info["tables"].get("reviews"):
        sec.missing = "No data loaded yet · 尚未导入数据: run `supplyfit ingest orders FILE`."
        return sec
    monthly = store.query(
        "SELECT date_trunc('month', ts) AS month, count(*) AS lines, "
        "sum(CASE WHEN is_return THEN 1 ELSE 0 END) AS return_lines FROM orders "
        "WHERE tenant = $tenant GROUP BY 1 ORDER BY 1"
    )
    span = store.query("SELECT min(ts) AS lo, max(ts) AS hi FROM orders WHERE tenant = $tenant")
    sec.window = window_of(pd.Series([span.lo[0], span.hi[0]]).dropna())
    loads = info["loads"].assign(file=lambda d: d["file"].astype(str).str.rsplit("/", n=1).str[-1])
    cols = ["load_id", "kind", "file", "rows_read", "stored", "quarantined", "duplicates", "finished", "status"]
    sec.table(
        loads[[c for c in cols if c in loads]],
        "Recent loads · 最近导入 (rows read = stored + quarantined + duplicates)",
    )
    if len(info["quarantine_reasons"]):
        sec.table(info["quarantine_reasons"], "Why rows were quarantined · 隔离原因")
    if len(monthly):
        lo, hi = pd.Timestamp(span.lo[0]), pd.Timestamp(span.hi[0])
        first = monthly.month.min()  # a month is partial when the data start or end within it
        partial = [
            (m == first and lo.day > 1) or (m + pd.offsets.MonthEnd(0)).date() > hi.date() for m in monthly.month
        ]
        months = [f"{m:%Y-%m}{'*' if p else ''}" for m, p in zip(monthly.month, partial, strict=True)]
        chart = svg.bars(
            "Order lines per month · 每月订单行",
            months,
            [Series("order lines · 订单行", monthly.lines), Series("return lines · 退货行", monthly.return_lines)],
        )
        sec.chart(
            chart,
            "Numbers: "
            + ", ".join(f"{m} {n:,}" for m, n in zip(months, monthly.lines, strict=True))
            + (" (* partial month: the data start or end within it)" if any(partial) else ""),
        )
    return sec


@section("voice", "Voice of the customer · 用户之声", "supplyfit voice", "review_scores")
def voice_section(store: Store, sec: Section) -> None:
    scores = store.table("review_scores")
    by_cat = scores.groupby("category").agg(reviews=("review_id", "size"), positive=("predicted", "mean"))
    chart = svg.bars(
        "Share of positive reviews by category · 各品类好评率",
        by_cat.index,
        [Series("positive · 好评", by_cat.positive)],
        fmt=percent,
    )
    sec.chart(chart, "Numbers: " + ", ".join(f"{c} {p:.1%} of {n:,}" for c, n, p in by_cat.itertuples()))
    aspects = store.table("aspects")
    if aspects.empty:
        sec.text("No aspect is named often enough in these reviews to rank it.")
    else:
        top = aspects.sort_values("mentions", ascending=False).groupby("category").head(4)
        top = top.sort_values(["category", "mentions"], ascending=[True, False])
        chart = svg.bars(
            "Aspects people mention, by polarity · 评论关注点",
            top.category.astype(str) + " · " + top.aspect.astype(str),
            [
                Series("positive · 正面", top.mentions * top.positive_share),
                Series("negative · 负面", top.mentions * top.negative_share),
            ],
            stacked=True,
            horizontal=True,
        )
        sec.chart(chart, "Mentions = reviews naming the aspect; split by the sentiment of the clause that names it.")
    brief = store.table("design_brief")
    sec.table(brief[brief["rank"] <= 3], "Design brief · 设计简报: top unmet needs and praised attributes", limit=60)
    queue = store.table("complaints").sort_values("rank").head(15)
    queue.insert(1, "severity", [SEVERITY_OF_REASON.get(r, "low") for r in queue.reason])
    sec.table(
        queue[["rank", "severity", "category", "reason", "matched", "text"]],
        "Complaint queue · 投诉队列 (most urgent first; severity from the reason: safety and fraud are high)",
    )


def _weekly_units(store: Store, where: str = "true", params: dict | None = None) -> pd.Series:
    """Units per week of the panel's series matching ``where``, summed by DuckDB (the panel holds SKUs x weeks
    rows: the report reads sums, never the panel)."""
    sums = store.query(
        f"SELECT ds, sum(y) AS y FROM demand_panel WHERE tenant = $tenant AND ({where}) GROUP BY ds ORDER BY ds",
        params,
    )
    return sums.set_index("ds").y


@section("demand", "Demand forecasts · 需求预测", "supplyfit forecast", "forecasts")
def demand_section(store: Store, sec: Section) -> None:
    span = store.query(
        "SELECT min(ds) AS lo, max(ds) AS hi, count(DISTINCT ds) AS weeks FROM demand_panel WHERE tenant = $tenant"
    )
    fc_span = store.query("SELECT min(ds) AS lo, max(ds) AS hi FROM forecasts WHERE tenant = $tenant")
    window = [window_of(pd.Series([f.lo[0], f.hi[0]]).dropna()) for f in (span, fc_span)]
    sec.window = f"history {window[0]}; forecast {window[1]}"
    names = descriptions(store)
    series = [("total", "total · 合计", _weekly_units(store))]
    cats = store.query(
        "SELECT unique_id, sum(yhat) AS yhat FROM forecasts WHERE tenant = $tenant AND level = 'category' "
        "GROUP BY unique_id"
    ).sort_values("unique_id")
    panel_cats = (
        set(store.query("SELECT DISTINCT category FROM demand_panel WHERE tenant = $tenant").category.dropna())
        if "category" in store.query("SELECT * FROM demand_panel LIMIT 0").columns
        else set()
    )
    for c in cats.set_index("unique_id").yhat.nlargest(3).index:
        name = c.split("/", 1)[1]
        if name in panel_cats:
            series.append((c, f"category · 品类 {name}", _weekly_units(store, "category = $c", {"c": name})))
    top = store.query(
        "SELECT unique_id FROM demand_panel WHERE tenant = $tenant GROUP BY unique_id "
        "ORDER BY coalesce(sum(y), 0) DESC, unique_id LIMIT 3"
    )
    for s in top.unique_id:
        label = f"SKU {s} · {names.get(str(s), '')}"
        series.append((s, label, _weekly_units(store, "unique_id = $s", {"s": s})))
    fc = store.query(
        "SELECT * EXCLUDE (tenant) FROM forecasts WHERE tenant = $tenant AND list_contains($ids, unique_id)",
        {"ids": [uid for uid, _, _ in series]},
    )
    for uid, label, hist in series:
        f = fc[fc.unique_id == uid].sort_values("ds")
        chart = svg.lines(
            f"Weekly units · 周销量: {label}",
            [
                Series("history · 历史", hist.values, x=list(hist.index)),
                Series("forecast · 预测", f.yhat, x=list(f.ds), color=svg.PALETTE[1]),
            ],
            band=(list(f.ds), f.yhat_q10, f.yhat_q90),
        )
        sec.chart(
            chart,
            "Forecast (shaded: 80% band · 区间): "
            + ", ".join(f"{d:%m-%d} {v:,.0f}" for d, v in zip(f.ds, f.yhat, strict=True)),
        )
    _calendar(store, sec, pd.Timestamp(span.hi[0]), pd.Timestamp(fc_span.hi[0]) + pd.Timedelta(days=6))
    backtest = store.table("backtest") if store.has_table("backtest") else pd.DataFrame()
    if len(backtest):
        sec.table(backtest, "Backtest (rolling origin, M5 WRMSSE, 80% interval coverage)")
    else:
        sec.text(f"No backtest: {span.weeks[0]} complete week(s) of history, too few for a cut-off.")


def _calendar(store: Store, sec: Section, last: pd.Timestamp, end: pd.Timestamp) -> None:
    """The calendar the forecasts and hotspots knew: the tenant's events (and, in China, the shopping festivals)
    from 8 weeks before the history's last week to the forecast's end, and the country's public holidays ahead;
    or how to give it one."""
    from ..demand.calendar import Calendar, public_holidays, store_calendar

    if pd.isna(last) or pd.isna(end):
        return
    known = store_calendar(store) or Calendar()
    events, country = known.all_events(range(last.year, end.year + 1)), known.country
    shown = events[(pd.to_datetime(events.end) >= last - pd.Timedelta(weeks=8)) & (pd.to_datetime(events.start) <= end)]
    where = f"country {country}" if country else "no country set (`supplyfit forecast --country GB`)"
    if country:
        days = public_holidays(country, range(last.year, end.year + 1))
        ahead = days[(days > last + pd.Timedelta(days=6)) & (days <= end)]
        where += f"; public holidays in the forecast weeks: {', '.join(f'{d:%m-%d}' for d in ahead) or 'none'}"
    if len(shown):
        table = shown[["name", "kind", "scope", "target", "start", "end"]].sort_values(["start", "name"])
        sec.table(table, f"Calendar · 日历 (promotions are features of the forecasts and hotspots; {where})")
    else:
        sec.text(
            f"Calendar · 日历: no events from {last - pd.Timedelta(weeks=8):%Y-%m-%d} to {end:%Y-%m-%d} "
            f"(`supplyfit ingest events FILE` loads promotions, closures, launches); {where}."
        )


@section("supply", "Flexible production · 柔性生产", "supplyfit plan", "production_plan", "policy_comparison")
def supply_section(store: Store, sec: Section) -> None:
    plan = store.table("production_plan").sort_values("qty", ascending=False)
    plan = plan.rename(columns={"unique_id": "sku", "ds": "arrives"})
    sec.table(
        with_descriptions(plan.head(15), descriptions(store), "sku"),
        f"Production plan · 生产计划: {len(plan):,} SKUs, {plan.qty.sum():,.0f} units (largest 15)",
    )
    comp = store.table("policy_comparison")
    if comp.empty:
        sec.text("No policy comparison: the history is too short to replay the last 8 weeks.")
        return
    chart = svg.lines(
        "Fill rate vs leftover rate · 满足率与剩余率 (x: leftover units / units made; replay of the last 8 weeks)",
        [Series(str(policy), g.fill_rate, x=list(g.leftover_rate)) for policy, g in comp.groupby("policy")],
        fmt=percent,
        markers=True,
        xfmt=percent,
    )
    sec.chart(chart, "Each point is a service level (0.7, 0.8, 0.9, 0.95); up and left is better.")
    sec.table(comp, "Policy comparison (replayed on the last 8 weeks of actual demand)")


@section("match", "Matching and segments · 匹配与客群", "supplyfit match", "rules", "segments", "group_demand")
def match_section(store: Store, sec: Section) -> None:
    rules = store.table("rules") if store.has_table("rules") else pd.DataFrame()
    if rules.empty:
        sec.text("No basket rule reaches the minimum support and confidence.")
    else:
        _rules(sec, rules, descriptions(store))
    summary = store.table("segment_summary") if store.has_table("segment_summary") else pd.DataFrame()
    if summary.empty:
        sec.text("No segments: the orders carry no customer ids.")
    else:
        _segments(store, sec, summary)
    groups = store.table("group_demand") if store.has_table("group_demand") else pd.DataFrame()
    if len(groups):
        chart = svg.lines(
            "Demand by consumer group · 目标人群需求 (share of revenue)",
            [Series(str(g), d.revenue_share, x=list(d.period)) for g, d in groups.groupby("group")],
            fmt=percent,
        )
        sec.chart(
            chart,
            "Groups are read from product names (children, students, seniors, gifts & trend); "
            "'general' = no group named.",
        )


def _rules(sec: Section, rules: pd.DataFrame, names: dict[str, str]) -> None:
    def named(items: str) -> str:
        return " + ".join(f"{i} {names.get(i, '')}".strip() for i in items.split(" + "))

    top = rules.head(15)[["antecedents", "consequents", "support", "confidence", "lift"]]
    sec.table(
        top.assign(antecedents=top.antecedents.map(named), consequents=top.consequents.map(named)),
        "Strongest basket rules · 购物篮规则 (by lift: how many times more often the items are bought together "
        "than by chance)",
    )


def _segments(store: Store, sec: Section, summary: pd.DataFrame) -> None:
    chart = svg.bars(
        "Segments: share of customers and revenue · 客群占比",
        summary.segment,
        [Series("customers · 客户", summary.customer_share), Series("revenue · 销售额", summary.revenue_share)],
        fmt=percent,
    )
    sec.chart(
        chart,
        "Numbers: "
        + ", ".join(
            f"{s} {c:,} customers, {r:.0%} of revenue"
            for s, c, r in zip(summary.segment, summary.customers, summary.revenue_share, strict=True)
        ),
    )
    if store.has_table("segment_structure"):
        st = store.table("segment_structure")
        cat = st[st.dimension == "category"].pivot_table(index="segment", columns="value", values="share")
        sec.html("<div class='cap'>What each segment buys · 客群 × 品类 (share of segment revenue)</div>")
        sec.html(heat_table(cat, percent))
    if store.has_table("recommendations"):
        recs = store.table("recommendations")
        ex = recs.groupby("customer_id").sku.agg(lambda s: ", ".join(s.head(5))).head(8).reset_index()
        sec.table(ex, "Example recommendations for top customers · 个性化推荐")


# the indicator stage's notes (monitor/indicators.py, monitor/stage.py) in Chinese: [pattern, Chinese with \1 …]
NOTES_ZH = [
    (r"^the last week \(from (\S+)\) is incomplete: data end (\S+)$", r"最后一周（自 \1 起）不完整：数据截至 \2"),
    (r"^the last month \(from (\S+)\) is incomplete: data end (\S+)$", r"最后一个月（自 \1 起）不完整：数据截至 \2"),
    (r"^no (\w+) column in the orders: no breakdown by \w+$", r"订单中没有 \1 列：无法按它细分"),
    (
        r"^no scored reviews: run the voice stage for the sentiment index$",
        "没有已评分的评论：运行客户之声阶段后才有情感指数",
    ),
    (r"^reviews carry no dates: .*$", "评论没有日期：情感指数需要评论日期列（ts）"),
    (r"^no complete week of sales yet: no hotspots$", "还没有完整一周的销售：暂无热点"),
]


def note_zh(note: str) -> str | None:
    """A note of the indicator stage in Chinese; None for one without a pattern (it stays in English alone)."""
    for pattern, zh in NOTES_ZH:
        if re.match(pattern, note):
            return re.sub(pattern, zh, note)
    return None


def _ind(store: Store, name: str, freq: str) -> pd.DataFrame:
    df = store.table(f"ind_{name}", where=f"freq = '{freq}'").drop(columns="freq")
    return df.sort_values("period", kind="stable") if "period" in df.columns else df


def _complete_months(store: Store) -> set[pd.Timestamp]:
    """Months whose data covers the whole month: "last month" and growth are read from these only."""
    monthly = _ind(store, "totals", "M")
    return set(monthly.period[monthly.complete]) if "complete" in monthly else set(monthly.period)


@section("consumption", "Consumption scale and structure · 消费规模与结构", "supplyfit monitor", "ind_totals")
def consumption_section(store: Store, sec: Section) -> None:
    monthly, weekly = _ind(store, "totals", "M"), _ind(store, "totals", "W")
    sec.window = f"{weekly.period.min():%Y-%m-%d} – {weekly.period.max() + pd.Timedelta(days=6):%Y-%m-%d}"
    for note in store.table("ind_notes").note:
        zh = note_zh(note)
        sec.text(f"Note: {note}." + (f" · 注：{zh}。" if zh else ""))
    fc = _ind(store, "forecast", "W")
    rev = fc[fc.metric == "revenue"]
    chart = svg.lines(
        "Weekly net revenue and forecast · 周销售额与预测",
        [
            Series("net revenue · 销售额", weekly.revenue, x=list(weekly.period)),
            Series("forecast · 预测", rev.yhat, x=list(rev.period), color=svg.PALETTE[1]),
        ],
        band=(list(rev.period), rev.yhat_q10, rev.yhat_q90) if len(rev) else None,
    )
    sec.chart(
        chart,
        "Numbers (last 8 weeks; the latest may be partial): "
        + ", ".join(f"{p:%m-%d} {v:,.0f}" for p, v in zip(weekly.period.tail(8), weekly.revenue.tail(8), strict=True)),
    )
    complete = _complete_months(store)
    cols = ["period", "revenue", "units", "orders", "customers", "avg_basket", "return_rate", "revenue_pop"]
    table = monthly[[*cols, "revenue_yoy"]].assign(
        period=[f"{p:%Y-%m}" + ("" if p in complete else " (partial · 未完整)") for p in monthly.period]
    )
    sec.table(
        table,
        "Monthly indicators · 月度指标 (pop = vs previous month, yoy = vs same month a year before; a partial "
        "month has none: its days so far are not a month)",
    )
    _structure(store, sec, complete)
    conc, cust = _ind(store, "concentration", "M"), _ind(store, "customers", "M")
    months = [f"{p:%Y-%m}" for p in cust.period]
    chart = svg.bars(
        "New and returning customers · 新老客户",
        months,
        [Series("new · 新客", cust.new_customers), Series("returning · 老客", cust.returning_customers)],
        stacked=True,
    )
    sec.chart(
        chart,
        "Top-10 SKU share of revenue by month: "
        + ", ".join(f"{p:%Y-%m} {v:.0%}" for p, v in zip(conc.period, conc.top10_share, strict=True)),
    )
    bands = _ind(store, "price_bands", "M")
    pb = bands.pivot_table(index="period", columns="band", values="share", sort=False).fillna(0.0)
    chart = svg.bars(
        "Price-band structure of revenue · 价格带结构",
        [f"{p:%Y-%m}" for p in pb.index],
        [Series(str(b), pb[b]) for b in pb.columns],
        stacked=True,
        fmt=percent,
    )
    sec.chart(chart)
    senti = _ind(store, "sentiment", "M")
    if len(senti):
        s_all = senti[senti.category == "all"]
        chart = svg.lines(
            "Consumer-sentiment index · 消费者信心指数 (100 = balanced)",
            [Series("index · 指数", s_all["index"], x=list(s_all.period))],
        )
        sec.chart(chart)


def _structure(store: Store, sec: Section, complete: set[pd.Timestamp]) -> None:
    """Category shares by month and each category's contribution to the growth of the last complete month."""
    dims = _ind(store, "by_dimension", "M")
    cat = dims[dims.dimension == "category"].pivot_table(index="period", columns="value", values="share").fillna(0.0)
    if cat.empty:
        sec.text("No category breakdown: the orders and products carry no categories.")
        return
    order = cat.mean().sort_values(ascending=False).index
    chart = svg.bars(
        "Category share of revenue · 品类结构",
        [f"{p:%Y-%m}" for p in cat.index],
        [Series(str(c), cat[c]) for c in order[:7]]
        + ([Series("other categories · 其他", cat[order[7:]].sum(axis=1))] if len(order) > 7 else []),
        stacked=True,
        fmt=percent,
    )
    done = [p for p in cat.index if p in complete]
    caption = (
        f"Last complete month ({done[-1]:%Y-%m}): "
        + ", ".join(f"{c} {v:.0%}" for c, v in cat.loc[done[-1]].nlargest(6).items())
        if done
        else "No complete month yet."
    )
    sec.chart(chart, caption)
    contrib = _ind(store, "contribution", "M")
    contrib = contrib[contrib.period.isin(complete)]
    if contrib.empty:
        sec.text("No growth contribution yet: it compares a complete month with the one before.")
        return
    last = contrib[contrib.period == contrib.period.max()].sort_values("contribution", ascending=False)
    chart = svg.bars(
        f"Contribution to revenue growth, {last.period.max():%Y-%m} (last complete month) · 增长贡献",
        last.category,
        [Series("contribution · 贡献", last.contribution)],
        horizontal=True,
        fmt=lambda v: f"{v:+.1%}",
    )
    sec.chart(
        chart,
        "Numbers: " + ", ".join(f"{c} {v:+.1%}" for c, v in zip(last.category, last.contribution, strict=True)),
    )


@section("hotspots", "Hotspots · 热点商品", "supplyfit monitor", "ind_totals")
def hotspot_section(store: Store, sec: Section) -> None:
    hs = store.table("hotspots").sort_values("rank") if store.has_table("hotspots") else pd.DataFrame()
    if hs.empty:
        sec.text("No hotspots yet: they need at least one complete week of sales.")
        return
    sec.text(
        "Items most likely to be among the biggest unit risers of the next 8 weeks (learned ranker; "
        "see docs/benchmarks.md for its precision), with the evidence behind each."
    )
    names = descriptions(store)
    labels = [f"{u} · {names.get(str(u), '')}" for u in hs.unique_id]
    chart = svg.bars("Hotspot score · 热度评分", labels, [Series("score · 评分", hs.score)], horizontal=True)
    sec.chart(chart)
    sec.table(
        with_descriptions(hs[["rank", "unique_id", "category", "score", "last_units", "reason"]], names, "unique_id"),
        "Hotspots and why · 热点原因",
    )


# The credit metrics each kind of data yields: a review category and an order category are scored on different
# evidence, so each gets its own table (rows of one kind would show only dashes in the other's columns).
CREDIT_KINDS = {
    "reviews · 评论": ("complaint_rate", "complaint_severity"),
    "orders · 订单": ("return_rate", "quarantine_rate", "finding_rate"),
}


@section("trust", "Trust · 可信: product information and credit", "supplyfit verify", "verification", "credit")
def trust_section(store: Store, sec: Section) -> None:
    findings = store.table("verification")
    if findings.empty:
        sec.text("No product-information findings.")
    else:
        counts = findings.groupby(["kind", "severity"]).size().unstack(fill_value=0)
        levels = [s for s in SEVERITY_COLORS if s in counts]
        chart = svg.bars(
            "Product-information findings · 商品信息核查 (by severity)",
            counts.index,
            [Series(sev, counts[sev], color=SEVERITY_COLORS[sev]) for sev in levels],
            stacked=True,
            horizontal=True,
        )
        sec.chart(chart, "Numbers: " + ", ".join(f"{k} {n:,}" for k, n in counts.sum(axis=1).items()))
        worst = findings[findings.severity != "info"].copy()
        worst["order"] = worst.severity.map({s: i for i, s in enumerate(SEVERITY_COLORS)})
        sec.table(
            with_descriptions(worst.sort_values("order", kind="stable").head(15), descriptions(store), "sku")[
                ["severity", "kind", "sku", "description", "reason"]
            ],
            "Most severe findings · 最严重的问题 (all: `supplyfit verify` or GET /api/v1/verification)",
        )
    credit = store.table("credit")
    if credit.empty:
        return
    who = credit.columns[0]
    sec.text(f"Credit per {credit.basis.iloc[0]}: 100 × (1 − points lost / points with data), lowest first.")
    for kind, metrics in CREDIT_KINDS.items():
        has = [m for m in metrics if f"{m}_n" in credit]
        rows = credit[(credit[[f"{m}_n" for m in has]].fillna(0) > 0).any(axis=1)] if has else credit.iloc[:0]
        has = [m for m in has if (rows[f"{m}_n"].fillna(0) > 0).any()]  # a metric no row has data for says nothing
        if len(rows):
            cols = [who, "score", "grade", *(c for m in has for c in (m, f"{m}_points"))]
            sec.table(rows[cols], f"Credit from {kind} · 信用分", limit=30)


BUILDERS: list[SectionBuilder] = [
    store_section,
    consumption_section,
    hotspot_section,
    voice_section,
    demand_section,
    supply_section,
    match_section,
    trust_section,
]  # the report's order
