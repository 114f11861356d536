"""The report: one self-contained HTML file that opens with the week's briefing, then tells the chain in order.

The briefing (:mod:`supplyfit.monitor.briefing`) says what to do this week; the sections follow, built from the
store's tables. Charts are inline SVG (:mod:`supplyfit.monitor.svg`), so the file opens offline, has no script,
and its size follows its content (an empty store's report is a few kB). A section whose stage has not run says
so instead of disappearing; one whose stage's results are older than their inputs (see
:func:`supplyfit.assets.stale`) says which and what refreshes them.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

from ..assets import STAGES, stale
from ..store import Store
from .briefing import Briefing, briefing
from .sections import BUILDERS, SEVERITY_COLORS, SectionBuilder, html_table

CSS = (
    """
body{font-family:'Noto Sans CJK SC','Microsoft YaHei',Arial,sans-serif;margin:0;background:#f6f7f9;color:#222}
header{background:#1f3a5f;color:#fff;padding:18px 32px} header h1{margin:0;font-size:22px}
header div{font-size:13px;opacity:.85;margin-top:4px}
nav{padding:6px 32px;background:#e8edf3} nav a{margin-right:14px;color:#1f3a5f;text-decoration:none}
section{background:#fff;margin:18px 32px;padding:16px 24px;border-radius:6px;box-shadow:0 1px 3px #0002}
section.briefing{border-top:4px solid #1f3a5f} h3{font-size:15px;margin:16px 0 4px}
h2{margin-top:0;font-size:19px} .window{color:#666;font-size:13px;margin-bottom:8px}
.missing,.stale{color:#a15c00;background:#fff6e5;padding:10px;border-radius:4px} .stale{margin-bottom:8px}
table.tbl{border-collapse:collapse;font-size:13px;margin:8px 0}
.tbl th,.tbl td{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
.tbl .num{text-align:right;font-variant-numeric:tabular-nums} .heat td{min-width:44px}
.cap{color:#555;font-size:12px;margin:2px 0 12px} .chart{max-width:900px}
.sev{color:#fff;border-radius:3px;padding:0 6px;font-size:12px;white-space:nowrap}
.kpi{font-size:15px;margin:4px 0} .kpi b{font-size:18px}
"""
    + "".join(f".sev-{name}{{background:{color}}}" for name, color in SEVERITY_COLORS.items())
    + "\n"
)


def write_report(store: Store, path: str | Path, builders: list[SectionBuilder] | None = None) -> Path:
    """Build the briefing and every section from the store and write one self-contained HTML file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sections = [build(store) for build in (builders or BUILDERS)]
    nav = "<a href='#briefing'>This week · 本周</a>" + "".join(
        f"<a href='#{s.key}'>{html.escape(s.title)}</a>" for s in sections
    )
    notes = stale_notes(store)
    parts = [briefing_html(briefing(store))]
    for s in sections:
        body = f"<div class='missing'>{html.escape(s.missing)}</div>" if s.missing else "".join(s.blocks)
        if s.key in notes and not s.missing:
            body = f"<div class='stale' data-stale='1'>{html.escape(notes[s.key])}</div>{body}"
        window = f"<div class='window'>Data window · 数据区间: {html.escape(s.window)}</div>" if s.window else ""
        parts.append(
            f"<section id='{s.key}' data-section='{s.key}' data-missing='{int(bool(s.missing))}'>"
            f"<h2>{html.escape(s.title)}</h2>{window}{body}</section>"
        )
    doc = f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>supplyfit report</title><style>{CSS}</style></head>
<body><header><h1>supplyfit · 需求驱动供给报告 · demand-to-supply report</h1>
<div>tenant {html.escape(store.tenant)} · generated {dt.datetime.now():%Y-%m-%d %H:%M}</div></header>
<nav>{nav}</nav>{"".join(parts)}</body></html>"""
    path.write_text(doc, encoding="utf-8")
    return path


def _when(t: object) -> str:
    return "—" if t is None else f"{t:%Y-%m-%d %H:%M}"


def briefing_html(b: Briefing) -> str:
    """The briefing as the report's first section: each part says what to do, or why there is nothing yet."""
    title = "<h2>This week · 本周要做什么</h2>"
    if b.freshness.last_load is None:  # an empty store: one thing to do
        body = (
            "<p class='kpi'>No data loaded yet · 尚未导入数据: load orders with `supplyfit ingest orders FILE` "
            "(and reviews with `supplyfit ingest reviews FILE`), then run every stage with `supplyfit run`.</p>"
        )
    else:
        body = "".join(_briefing_parts(b))
    return f"<section class='briefing' id='briefing' data-section='briefing'>{title}{body}</section>"


def _briefing_parts(b: Briefing) -> list[str]:
    out = ["<h3>Re-orders to place · 需补货</h3>"]
    if b.reorders.empty:
        out.append("<p>No production plan yet · 尚无生产计划: run `supplyfit plan`.</p>")
    else:
        skus, units = b.reorder_total
        out.append(
            f"<p class='kpi'><b>{skus:,}</b> SKUs, <b>{units:,.0f}</b> units in the plan · 计划补货; "
            f"the largest {len(b.reorders)}:</p>{html_table(b.reorders)}"
        )
    out.append("<h3>Items likeliest to rise · 最可能上升的商品</h3>")
    out.append(html_table(b.rising) if len(b.rising) else "<p>No hotspots yet · 暂无热点: run `supplyfit monitor`.</p>")
    out.append("<h3>Urgent complaints · 紧急投诉</h3>")
    if b.complaints.empty:
        out.append("<p>No complaint queue yet · 暂无投诉队列: run `supplyfit voice`.</p>")
    else:
        out.append(html_table(b.complaints))
    out.append("<h3>Sales this week against the forecast · 本周销售与预测</h3>")
    w = b.week
    if w is None:
        out.append("<p>No weekly sales yet · 暂无周销售: run `supplyfit monitor`.</p>")
    else:
        span = f"week of {w.start:%Y-%m-%d}" + (
            f", {w.days} of 7 days so far · 本周已过 {w.days} 天" if w.days < 7 else ""
        )
        line = f"<b>{w.units:,.0f}</b> units sold · 已售 ({span})"
        if w.forecast is not None:
            ratio = w.units / w.forecast if w.forecast else 0.0
            line += (
                f" against <b>{w.forecast:,.0f}</b> forecast for the whole week · 全周预测 "
                f"(80% band {w.low:,.0f}–{w.high:,.0f}): <b>{ratio:.0%}</b> of the forecast"
            )
            if 0 < w.days < 7:  # 97% after 4 days is not "on track": at that pace the week ends near 170%
                pace = ratio * 7 / w.days
                line += (
                    f"; at this pace (its days spread evenly) about <b>{pace:.0%}</b> · "
                    f"按此速度全周约为预测的 {pace:.0%}"
                )
        else:
            line += "; no forecast for this week · 本周无预测 (run `supplyfit forecast`)"
        out.append(f"<p class='kpi'>{line}.</p>")
    f = b.freshness
    out.append("<h3>Data freshness · 数据新鲜度</h3>")
    undated = f.last_review is None and f.reviews
    review = f"— ({f.reviews:,} undated · 无日期)" if undated else _when(f.last_review)
    fresh = (
        f"Latest order · 最新订单 {_when(f.last_order)}; latest review · 最新评论 {review}; "
        f"last load · 最近导入 {_when(f.last_load)}."
    )
    if f.stale:
        fresh += f" Out of date · 已过期: {', '.join(f.stale)} (`supplyfit run` refreshes them)."
    out.append(f"<p>{html.escape(fresh)}</p>")
    return out


def stale_notes(store: Store) -> dict[str, str]:
    """Report section -> a line naming the stale results of the stage it shows and the command that refreshes them."""
    old = set(stale(store))
    notes = {}
    for st in STAGES:
        names = [r.name for r in st.writes if r.name in old]
        for key in st.sections if names else ():
            notes[key] = (
                f"Out of date · 数据已过期: {', '.join(names)} predate a change of their inputs; "
                f"run `supplyfit run {st.name}` to refresh."
            )
    return notes
