"""The report: one self-contained HTML file that tells the chain in order, from the store's tables.

Charts are Plotly figures with plotly.js embedded once, so the file opens offline. A section whose stage has
not run says so instead of disappearing; one whose stage's results are older than their inputs (see
:func:`supplyfit.assets.stale`) says which and what refreshes them.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

from plotly.offline import get_plotlyjs

from ..assets import STAGES, stale
from ..store import Store
from .sections import BUILDERS, SectionBuilder

CSS = """
body{font-family:'Noto Sans CJK SC','Microsoft YaHei',Arial,sans-serif;margin:0;background:#f6f7f9;color:#222}
header{background:#1f3a5f;color:#fff;padding:18px 32px} header h1{margin:0;font-size:22px}
nav{padding:6px 32px;background:#e8edf3} nav a{margin-right:14px;color:#1f3a5f;text-decoration:none}
section{background:#fff;margin:18px 32px;padding:16px 24px;border-radius:6px;box-shadow:0 1px 3px #0002}
h2{margin-top:0;font-size:19px} .window{color:#666;font-size:13px;margin-bottom:8px}
.missing,.stale{color:#a15c00;background:#fff6e5;padding:10px;border-radius:4px} .stale{margin-bottom:8px}
table.tbl{border-collapse:collapse;font-size:13px;margin:8px 0}
.tbl th,.tbl td{padding:3px 8px;border-bottom:1px solid #eee;text-align:left}
.cap{color:#555;font-size:12px;margin:2px 0 12px} .chart{min-height:360px}
"""


def write_report(store: Store, path: str | Path, builders: list[SectionBuilder] | None = None) -> Path:
    """Build every section from the store and write one self-contained HTML file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sections = [build(store) for build in (builders or BUILDERS)]
    nav = "".join(f"<a href='#{s.key}'>{html.escape(s.title)}</a>" for s in sections)
    notes = stale_notes(store)
    parts = []
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
<title>supplyfit report</title><style>{CSS}</style><script type="text/javascript">{get_plotlyjs()}</script></head>
<body><header><h1>supplyfit · 需求驱动供给报告 · demand-to-supply report</h1>
<div>store {html.escape(store.path)} · tenant {html.escape(store.tenant)} · generated {dt.datetime.now():%Y-%m-%d %H:%M}
</div></header><nav>{nav}</nav>{"".join(parts)}</body></html>"""
    path.write_text(doc, encoding="utf-8")
    return path


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
