"""Report sections for each stage of the chain, built only from the store's result tables.

A section whose stage has not run for the tenant says which command to run instead of disappearing, and one whose
tables hold too little for a chart (a week of data, no categories, no customers) says so in a line.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

import pandas as pd
import plotly.graph_objects as go

from ..store import Store


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
        body = df.head(limit).to_html(
            index=False, float_format=lambda v: f"{v:,.3f}", border=0, classes="tbl", escape=True
        )
        cap = f"<div class='cap'>{html.escape(caption)}</div>" if caption else ""
        self.blocks.append(f"{cap}{body}")
        return self

    def chart(self, fig: go.Figure, caption: str = "") -> Section:
        fig.update_layout(
            template="plotly_white",
            height=360,
            margin={"l": 50, "r": 20, "t": 50, "b": 40},
            font={"family": "Noto Sans CJK SC, Microsoft YaHei, Arial, sans-serif"},
        )
        cap = f"<div class='cap'>{html.escape(caption)}</div>" if caption else ""
        div = fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
        self.blocks.append(f"<div class='chart'>{div}</div>{cap}")
        return self


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
        sec.missing = "No data loaded yet: run `supplyfit ingest orders FILE`."
        return sec
    monthly = store.query(
        "SELECT date_trunc('month', ts) AS month, count(*) AS lines, "
        "sum(CASE WHEN is_return THEN 1 ELSE 0 END) AS return_lines FROM orders "
        "WHERE tenant = $tenant GROUP BY 1 ORDER BY 1"
    )
    span = store.query("SELECT min(ts) AS lo, max(ts) AS hi FROM orders WHERE tenant = $tenant")
    sec.window = window_of(pd.Series([span.lo[0], span.hi[0]]).dropna())
    counts = ", ".join(f"{k}: {v:,}" for k, v in info["tables"].items())
    sec.text(f"Rows per table — {counts}.")
    sec.table(info["loads"], "Recent loads (rows read = stored + quarantined + duplicates)")
    if len(info["quarantine_reasons"]):
        sec.table(info["quarantine_reasons"], "Why rows were quarantined")
    if len(monthly):
        fig = go.Figure(
            [
                go.Bar(x=monthly.month, y=monthly.lines, name="order lines"),
                go.Bar(x=monthly.month, y=monthly.return_lines, name="return lines"),
            ]
        )
        fig.update_layout(title="Order lines per month · 每月订单行", barmode="overlay")
        sec.chart(fig, "Numbers: " + ", ".join(f"{m:%Y-%m} {n:,}" for m, n in zip(monthly.month, monthly.lines)))
    return sec


@section("voice", "Voice of the customer · 用户之声", "supplyfit voice", "review_scores")
def voice_section(store: Store, sec: Section) -> None:
    scores = store.table("review_scores")
    by_cat = scores.groupby("category").agg(reviews=("review_id", "size"), positive=("predicted", "mean"))
    fig = go.Figure(go.Bar(x=by_cat.index, y=by_cat.positive, text=[f"{v:.0%}" for v in by_cat.positive]))
    fig.update_layout(title="Share of positive reviews by category · 各品类好评率", yaxis_tickformat=".0%")
    sec.chart(fig, "Numbers: " + ", ".join(f"{c} {p:.1%} of {n}" for c, n, p in by_cat.itertuples()))
    aspects = store.table("aspects")
    if aspects.empty:
        sec.text("No aspect is named often enough in these reviews to rank it.")
    else:
        top = aspects.sort_values("mentions", ascending=False).groupby("category").head(4)
        label = top.category.astype(str) + " · " + top.aspect.astype(str)
        fig = go.Figure(
            [
                go.Bar(name="positive · 正面", y=label, x=top.mentions * top.positive_share, orientation="h"),
                go.Bar(name="negative · 负面", y=label, x=top.mentions * top.negative_share, orientation="h"),
            ]
        )
        fig.update_layout(title="Aspects people mention, by polarity · 评论关注点", barmode="stack", height=700)
        sec.chart(fig, "Mentions = reviews naming the aspect; split by the sentiment of the clause that names it.")
    brief = store.table("design_brief")
    sec.table(brief[brief["rank"] <= 3], "Design brief · 设计简报: top unmet needs and praised attributes", limit=60)
    sec.table(
        store.table("complaints").head(15)[["rank", "category", "urgency", "reason", "matched", "text"]],
        "Complaint queue · 投诉队列 (most urgent first)",
    )


@section("demand", "Demand forecasts · 需求预测", "supplyfit forecast", "forecasts")
def demand_section(store: Store, sec: Section) -> None:
    panel, fc = store.table("demand_panel"), store.table("forecasts")
    sec.window = f"history {window_of(panel.ds)}; forecast {window_of(fc.ds)}"
    hist_total = panel.groupby("ds").y.sum()
    cat_hist = panel.groupby(["category", "ds"]).y.sum() if "category" in panel.columns else None
    series = [("total", "total", hist_total)]
    top_cats = fc[fc.level == "category"].groupby("unique_id").yhat.sum().nlargest(3).index
    for c in top_cats:
        name = c.split("/", 1)[1]
        if cat_hist is not None and name in cat_hist.index.get_level_values(0):
            series.append((c, f"category {name}", cat_hist.loc[name]))
    top_skus = panel.groupby("unique_id").y.sum().nlargest(3).index
    for s in top_skus:
        series.append((s, f"SKU {s}", panel[panel.unique_id == s].set_index("ds").y))
    for uid, label, hist in series:
        f = fc[fc.unique_id == uid].sort_values("ds")
        fig = go.Figure(
            [
                go.Scatter(x=hist.index, y=hist.values, name="history · 历史", mode="lines"),
                go.Scatter(
                    x=list(f.ds) + list(f.ds[::-1]),
                    y=list(f.yhat_q90) + list(f.yhat_q10[::-1]),
                    fill="toself",
                    name="80% band · 区间",
                    line={"width": 0},
                    opacity=0.3,
                ),
                go.Scatter(x=f.ds, y=f.yhat, name="forecast · 预测", mode="lines+markers"),
            ]
        )
        fig.update_layout(title=f"Weekly units · 周销量: {label}")
        sec.chart(fig, "Forecast: " + ", ".join(f"{d:%m-%d} {v:,.0f}" for d, v in zip(f.ds, f.yhat)))
    backtest = store.table("backtest") if store.has_table("backtest") else pd.DataFrame()
    if len(backtest):
        sec.table(backtest, "Backtest (rolling origin, M5 WRMSSE, 80% interval coverage)")
    else:
        sec.text(f"No backtest: {panel.ds.nunique()} complete week(s) of history, too few for a cut-off.")


@section("supply", "Flexible production · 柔性生产", "supplyfit plan", "production_plan", "policy_comparison")
def supply_section(store: Store, sec: Section) -> None:
    plan = store.table("production_plan").sort_values("qty", ascending=False)
    sec.table(plan.head(15), f"Production plan · 生产计划: {len(plan)} SKUs, {plan.qty.sum():,.0f} units")
    comp = store.table("policy_comparison")
    if comp.empty:
        sec.text("No policy comparison: the history is too short to replay the last 8 weeks.")
        return
    fig = go.Figure()
    for policy, g in comp.groupby("policy"):
        fig.add_trace(
            go.Scatter(
                x=g.leftover_rate,
                y=g.fill_rate,
                mode="lines+markers+text",
                name=policy,
                text=[f"SL {s:.2f}" for s in g.service_level],
                textposition="top center",
            )
        )
    fig.update_layout(
        title="Fill rate vs leftover rate · 满足率与剩余率 (replay of the last 8 weeks)",
        xaxis_title="leftover units / units made",
        yaxis_title="fill rate",
    )
    sec.chart(fig)
    sec.table(comp, "Policy comparison (replayed on the last 8 weeks of actual demand)")


@section("match", "Matching and segments · 匹配与客群", "supplyfit match", "rules", "segments", "group_demand")
def match_section(store: Store, sec: Section) -> None:
    rules = store.table("rules") if store.has_table("rules") else pd.DataFrame()
    if rules.empty:
        sec.text("No basket rule reaches the minimum support and confidence.")
    else:
        _rules(sec, rules)
    summary = store.table("segment_summary") if store.has_table("segment_summary") else pd.DataFrame()
    if summary.empty:
        sec.text("No segments: the orders carry no customer ids.")
    else:
        _segments(store, sec, summary)
    groups = store.table("group_demand") if store.has_table("group_demand") else pd.DataFrame()
    if len(groups):
        fig = go.Figure(
            [
                go.Scatter(name=g, x=d.period, y=d.revenue_share, mode="lines+markers")
                for g, d in groups.groupby("group")
            ]
        )
        fig.update_layout(title="Demand by consumer group · 目标人群需求 (share of revenue)", yaxis_tickformat=".0%")
        sec.chart(
            fig,
            "Groups are read from product names (children, students, seniors, gifts & trend); "
            "'general' = no group named.",
        )


def _rules(sec: Section, rules: pd.DataFrame) -> None:
    sec.table(
        rules.head(15)[["antecedents", "consequents", "support", "confidence", "lift"]],
        "Strongest basket rules · 购物篮规则 (by lift)",
    )
    top = rules.head(40)
    items = sorted(set(top.antecedents) | set(top.consequents))[:25]
    lift = top.pivot_table(index="antecedents", columns="consequents", values="lift", aggfunc="max")
    lift = lift.reindex(index=[i for i in items if i in lift.index], columns=[i for i in items if i in lift.columns])
    fig = go.Figure(go.Heatmap(z=lift.values, x=lift.columns, y=lift.index, colorscale="Blues"))
    fig.update_layout(title="Lift of the strongest rules · 关联提升度", height=500)
    sec.chart(fig)


def _segments(store: Store, sec: Section, summary: pd.DataFrame) -> None:
    fig = go.Figure(
        [
            go.Bar(name="customers", x=summary.segment, y=summary.customer_share),
            go.Bar(name="revenue", x=summary.segment, y=summary.revenue_share),
        ]
    )
    fig.update_layout(title="Segments: share of customers and revenue · 客群占比", yaxis_tickformat=".0%")
    sec.chart(
        fig,
        "Numbers: "
        + ", ".join(
            f"{s} {c:,} customers, {r:.0%} of revenue"
            for s, c, r in zip(summary.segment, summary.customers, summary.revenue_share)
        ),
    )
    if store.has_table("segment_structure"):
        st = store.table("segment_structure")
        cat = st[st.dimension == "category"].pivot_table(index="segment", columns="value", values="share")
        fig = go.Figure(go.Heatmap(z=cat.values, x=cat.columns, y=cat.index, colorscale="Blues"))
        fig.update_layout(title="What each segment buys · 客群 × 品类 (share of segment revenue)", height=420)
        sec.chart(fig)
    if store.has_table("recommendations"):
        recs = store.table("recommendations")
        ex = recs.groupby("customer_id").sku.agg(lambda s: ", ".join(s.head(5))).head(8).reset_index()
        sec.table(ex, "Example recommendations for top customers · 个性化推荐")


def _ind(store: Store, name: str, freq: str) -> pd.DataFrame:
    df = store.table(f"ind_{name}", where=f"freq = '{freq}'").drop(columns="freq")
    return df.sort_values("period", kind="stable") if "period" in df.columns else df


@section("consumption", "Consumption scale and structure · 消费规模与结构", "supplyfit monitor", "ind_totals")
def consumption_section(store: Store, sec: Section) -> None:
    monthly, weekly = _ind(store, "totals", "M"), _ind(store, "totals", "W")
    sec.window = f"{weekly.period.min():%Y-%m-%d} – {weekly.period.max() + pd.Timedelta(days=6):%Y-%m-%d}"
    for note in store.table("ind_notes").note:
        sec.text(f"Note: {note}.")
    fc = _ind(store, "forecast", "W")
    fig = go.Figure(go.Scatter(x=weekly.period, y=weekly.revenue, name="net revenue · 销售额", mode="lines"))
    rev = fc[fc.metric == "revenue"]
    if len(rev):
        fig.add_trace(
            go.Scatter(
                x=list(rev.period) + list(rev.period[::-1]),
                y=list(rev.yhat_q90) + list(rev.yhat_q10[::-1]),
                fill="toself",
                opacity=0.3,
                line={"width": 0},
                name="80% band · 区间",
            )
        )
        fig.add_trace(go.Scatter(x=rev.period, y=rev.yhat, name="forecast · 预测", mode="lines+markers"))
    fig.update_layout(title="Weekly net revenue and forecast · 周销售额与预测")
    sec.chart(
        fig,
        "Numbers (last 8 weeks): "
        + ", ".join(f"{p:%m-%d} {v:,.0f}" for p, v in zip(weekly.period.tail(8), weekly.revenue.tail(8))),
    )
    cols = [
        "period",
        "revenue",
        "units",
        "orders",
        "customers",
        "avg_basket",
        "return_rate",
        "revenue_pop",
        "revenue_yoy",
    ]
    sec.table(
        monthly[cols].assign(period=monthly.period.dt.strftime("%Y-%m")),
        "Monthly indicators · 月度指标 (pop = vs previous month, yoy = vs same month a year before)",
    )
    _structure(store, sec)
    conc, cust = _ind(store, "concentration", "M"), _ind(store, "customers", "M")
    fig = go.Figure(
        [
            go.Bar(x=cust.period, y=cust.new_customers, name="new · 新客"),
            go.Bar(x=cust.period, y=cust.returning_customers, name="returning · 老客"),
        ]
    )
    fig.update_layout(title="New and returning customers · 新老客户", barmode="stack")
    sec.chart(
        fig,
        "Top-10 SKU share of revenue by month: "
        + ", ".join(f"{p:%Y-%m} {v:.0%}" for p, v in zip(conc.period, conc.top10_share)),
    )
    bands = _ind(store, "price_bands", "M")
    pb = bands.pivot_table(index="period", columns="band", values="share", sort=False)
    fig = go.Figure([go.Bar(x=pb.index, y=pb[b], name=b) for b in pb.columns])
    fig.update_layout(title="Price-band structure of revenue · 价格带结构", barmode="stack", yaxis_tickformat=".0%")
    sec.chart(fig)
    senti = _ind(store, "sentiment", "M")
    if len(senti):
        s_all = senti[senti.category == "all"]
        fig = go.Figure(go.Scatter(x=s_all.period, y=s_all["index"], mode="lines+markers"))
        fig.update_layout(title="Consumer-sentiment index · 消费者信心指数 (100 = balanced)")
        sec.chart(fig)


def _structure(store: Store, sec: Section) -> None:
    """Category shares by month and each category's contribution to the last month's growth, when known."""
    dims = _ind(store, "by_dimension", "M")
    cat = dims[dims.dimension == "category"].pivot_table(index="period", columns="value", values="share")
    if cat.empty:
        sec.text("No category breakdown: the orders and products carry no categories.")
        return
    fig = go.Figure([go.Scatter(x=cat.index, y=cat[c], stackgroup="one", name=c) for c in cat.columns])
    fig.update_layout(title="Category share of revenue · 品类结构", yaxis_tickformat=".0%")
    sec.chart(fig, "Last month: " + ", ".join(f"{c} {v:.0%}" for c, v in cat.iloc[-1].nlargest(6).items()))
    contrib = _ind(store, "contribution", "M")
    if contrib.empty:
        sec.text("No growth contribution yet: it compares a month with the one before.")
        return
    last = contrib[contrib.period == contrib.period.max()].sort_values("contribution")
    fig = go.Figure(go.Bar(x=last.contribution, y=last.category, orientation="h"))
    fig.update_layout(
        title=f"Contribution to revenue growth, {last.period.max():%Y-%m} · 增长贡献", xaxis_tickformat=".1%"
    )
    sec.chart(fig, "Numbers: " + ", ".join(f"{c} {v:+.1%}" for c, v in zip(last.category, last.contribution)))


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
    fig = go.Figure(
        go.Bar(
            x=hs.score[::-1],
            y=hs.unique_id[::-1].astype(str),
            orientation="h",
            text=hs.category[::-1],
            textposition="auto",
        )
    )
    fig.update_layout(title="Hotspot score · 热度评分", height=520)
    sec.chart(fig)
    sec.table(hs[["rank", "unique_id", "category", "score", "last_units", "reason"]], "Hotspots and why")


@section("trust", "Trust · 可信: product information and credit", "supplyfit verify", "verification", "credit")
def trust_section(store: Store, sec: Section) -> None:
    findings = store.table("verification")
    if findings.empty:
        sec.text("No product-information findings.")
    else:
        counts = findings.groupby(["kind", "severity"]).size().unstack(fill_value=0)
        fig = go.Figure(
            [
                go.Bar(name=sev, y=counts.index, x=counts[sev], orientation="h")
                for sev in ("high", "medium", "low", "info")
                if sev in counts
            ]
        )
        fig.update_layout(title="Product-information findings · 商品信息核查", barmode="stack")
        sec.chart(fig, "Numbers: " + ", ".join(f"{k} {n}" for k, n in counts.sum(axis=1).items()))
        sec.table(
            findings[findings.severity != "info"].head(15)[["severity", "kind", "sku", "reason"]],
            "Most severe findings (all: `supplyfit verify` or GET /api/v1/verification)",
        )
    credit = store.table("credit")
    if len(credit):
        points = [c for c in credit.columns if c.endswith("_points")]
        sec.table(
            credit[[credit.columns[0], "score", "grade", *points]],
            f"Credit per {credit.basis.iloc[0]}: 100 × (1 − points lost / points with data), lowest first",
            limit=30,
        )


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
