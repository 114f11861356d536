"""The report: one self-contained HTML file that tells the chain in order, from the store's tables.

Charts are Plotly figures with plotly.js embedded once, so the file opens offline. A section whose stage has
not run says so instead of disappearing.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from ..store import Store


@dataclass
class Section:
    """One part of the report: a title, the data window, and blocks of HTML (charts, tables, text)."""

    key: str
    title: str
    window: str = ""
    blocks: list[str] = field(default_factory=list)
    missing: str | None = None  # why the section has no content (stage not run)

    def text(self, s: str) -> "Section":
        self.blocks.append(f"<p>{html.escape(s)}</p>")
        return self

    def table(self, df: pd.DataFrame, caption: str = "", limit: int = 20) -> "Section":
        body = df.head(limit).to_html(index=False, float_format=lambda v: f"{v:,.3f}", border=0, classes="tbl",
                                      escape=True)
        cap = f"<div class='cap'>{html.escape(caption)}</div>" if caption else ""
        self.blocks.append(f"{cap}{body}")
        return self

    def chart(self, fig: go.Figure, caption: str = "") -> "Section":
        fig.update_layout(template="plotly_white", height=360, margin=dict(l=50, r=20, t=50, b=40),
                          font=dict(family="Noto Sans CJK SC, Microsoft YaHei, Arial, sans-serif"))
        cap = f"<div class='cap'>{html.escape(caption)}</div>" if caption else ""
        div = fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
        self.blocks.append(f"<div class='chart'>{div}</div>{cap}")
        return self


def window_of(ts: pd.Series) -> str:
    """'first – last' dates of a timestamp column, for section headers."""
    if ts.empty:
        return "no data"
    return f"{pd.Timestamp(ts.min()):%Y-%m-%d} – {pd.Timestamp(ts.max()):%Y-%m-%d}"


def store_section(store: Store) -> Section:
    """What was loaded: loads, quarantine reasons, monthly order lines."""
    sec = Section("data", "Data loaded · 数据接入")
    info = store.status()
    if not info["tables"].get("orders") and not info["tables"].get("reviews"):
        sec.missing = "No data loaded yet: run `supplyfit ingest orders FILE`."
        return sec
    monthly = store.query("SELECT date_trunc('month', ts) AS month, count(*) AS lines, "
                          "sum(CASE WHEN is_return THEN 1 ELSE 0 END) AS return_lines FROM orders "
                          "WHERE tenant = $tenant GROUP BY 1 ORDER BY 1")
    span = store.query("SELECT min(ts) AS lo, max(ts) AS hi FROM orders WHERE tenant = $tenant")
    sec.window = window_of(pd.Series([span.lo[0], span.hi[0]]).dropna())
    counts = ", ".join(f"{k}: {v:,}" for k, v in info["tables"].items())
    sec.text(f"Rows per table — {counts}.")
    sec.table(info["loads"], "Recent loads (rows read = stored + quarantined + duplicates)")
    if len(info["quarantine_reasons"]):
        sec.table(info["quarantine_reasons"], "Why rows were quarantined")
    if len(monthly):
        fig = go.Figure([go.Bar(x=monthly.month, y=monthly.lines, name="order lines"),
                         go.Bar(x=monthly.month, y=monthly.return_lines, name="return lines")])
        fig.update_layout(title="Order lines per month · 每月订单行", barmode="overlay")
        sec.chart(fig, "Numbers: " + ", ".join(f"{m:%Y-%m} {n:,}" for m, n in zip(monthly.month, monthly.lines)))
    return sec


SectionBuilder = Callable[[Store], Section]


def section_builders() -> list[SectionBuilder]:
    """Report sections in chain order; each reads only the store's tables."""
    from . import sections as s

    return [store_section, s.consumption_section, s.hotspot_section, s.voice_section, s.demand_section, s.supply_section,
            s.match_section, s.trust_section]


CSS = """
body{font-family:'Noto Sans CJK SC','Microsoft YaHei',Arial,sans-serif;margin:0;background:#f6f7f9;color:#222}
header{background:#1f3a5f;color:#fff;padding:18px 32px} header h1{margin:0;font-size:22px}
nav{padding:6px 32px;background:#e8edf3} nav a{margin-right:14px;color:#1f3a5f;text-decoration:none}
section{background:#fff;margin:18px 32px;padding:16px 24px;border-radius:6px;box-shadow:0 1px 3px #0002}
h2{margin-top:0;font-size:19px} .window{color:#666;font-size:13px;margin-bottom:8px}
.missing{color:#a15c00;background:#fff6e5;padding:10px;border-radius:4px}
table.tbl{border-collapse:collapse;font-size:13px;margin:8px 0} .tbl th,.tbl td{padding:3px 8px;border-bottom:1px solid #eee;text-align:left}
.cap{color:#555;font-size:12px;margin:2px 0 12px} .chart{min-height:360px}
"""


def write_report(store: Store, path: str | Path, builders: list[SectionBuilder] | None = None) -> Path:
    """Build every section from the store and write one self-contained HTML file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sections = [build(store) for build in (builders or section_builders())]
    nav = "".join(f"<a href='#{s.key}'>{html.escape(s.title)}</a>" for s in sections)
    parts = []
    for s in sections:
        body = (f"<div class='missing'>{html.escape(s.missing)}</div>" if s.missing else "".join(s.blocks))
        window = f"<div class='window'>Data window · 数据区间: {html.escape(s.window)}</div>" if s.window else ""
        parts.append(f"<section id='{s.key}' data-section='{s.key}' data-missing='{int(bool(s.missing))}'>"
                     f"<h2>{html.escape(s.title)}</h2>{window}{body}</section>")
    doc = f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>supplyfit report</title><style>{CSS}</style><script type="text/javascript">{get_plotlyjs()}</script></head>
<body><header><h1>supplyfit · 需求驱动供给报告 · demand-to-supply report</h1>
<div>store {html.escape(store.path)} · tenant {html.escape(store.tenant)} · generated {dt.datetime.now():%Y-%m-%d %H:%M}
</div></header><nav>{nav}</nav>{''.join(parts)}</body></html>"""
    path.write_text(doc, encoding="utf-8")
    return path
