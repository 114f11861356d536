"""The report as a person sees it: the briefing first, values formatted by kind, one severity colour scale, a size
that follows the content; rendered in headless Chromium, every section screenshotted, no JS errors."""

import re

import pytest
from browser import ARTIFACTS, browser_page, needs_browser

from supplyfit.monitor.report import write_report
from supplyfit.monitor.sections import SEVERITY_COLORS
from supplyfit.store import Store

SECTIONS = ["briefing", "data", "consumption", "hotspots", "voice", "demand", "supply", "match", "trust"]


@pytest.fixture(scope="module")
def demo_html(demo_store, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    with Store(demo_store, read_only=True) as st:
        write_report(st, out)
    return out.read_text(encoding="utf-8")


def _section(html: str, key: str) -> str:
    start = html.index(f"id='{key}'")
    return html[start : html.index("</section>", start)]


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_sizes_follow_content(demo_store, tmp_path):
    with Store(tmp_path / "empty.duckdb") as st:
        empty = write_report(st, tmp_path / "empty.html")
    with Store(demo_store, read_only=True) as st:
        demo = write_report(st, tmp_path / "demo.html")
    assert empty.stat().st_size <= 500_000 and demo.stat().st_size <= 2_000_000
    text = empty.read_text(encoding="utf-8")
    assert "<script" not in text  # no chart library at all
    assert "No data loaded yet · 尚未导入数据: load orders with `supplyfit ingest orders FILE`" in _section(
        text, "briefing"
    )


def test_briefing_comes_first_and_says_what_to_do(demo_store, demo_html):
    sections = re.findall(r"<section [^>]*id='(\w+)'", demo_html)
    assert sections == SECTIONS
    with Store(demo_store, read_only=True) as st:
        plan = st.table("production_plan").sort_values("qty", ascending=False, kind="stable").iloc[0]
        name = st.query("SELECT name FROM products WHERE sku = $s", {"s": plan.unique_id}).name[0]
        top_hotspot = st.table("hotspots").sort_values("rank").unique_id.iloc[0]
    brief = _section(demo_html, "briefing")
    row = f"<td>{plan.unique_id}</td><td>{name}</td><td class=num>{plan.qty:,.0f}</td>"
    assert row in brief.replace("&#x27;", "'")  # SKU, its description, the quantity as a whole number
    assert f"<td>{top_hotspot}</td>" in brief
    assert "<span class='sev sev-high'>high</span>" in brief  # the sample's most urgent complaints are safety ones
    assert "4 of 7 days so far" in brief and "of the forecast" in brief  # the sample ends on a Thursday
    sold, fc = (float(x.replace(",", "")) for x in re.findall(r"<b>([\d,]+)</b> (?:units sold|forecast)", brief))
    pace = float(re.search(r"at this pace .*?about <b>(\d+)%</b>", brief).group(1)) / 100
    assert pace == pytest.approx(sold / fc * 7 / 4, abs=0.006)  # the share so far, spread over the whole week
    assert "Latest order · 最新订单 2010-12-09 19:28" in brief
    assert "rows per table" not in demo_html.lower() and "Rows per table" not in demo_html


def test_no_nan_and_counts_are_whole(demo_html):
    text = _text(demo_html)
    assert not re.search(r"\bNaN\b|\bnan\b|\bNaT\b|\bNone\b", text)
    assert not re.search(r"\d\.000\b", demo_html)
    assert "4,811.000" not in demo_html


def test_one_severity_scale(demo_html):
    css = demo_html[demo_html.index("<style>") : demo_html.index("</style>")]
    assert SEVERITY_COLORS["high"] == "#c62828" and SEVERITY_COLORS["medium"] == "#e69500"  # red, amber
    for level, color in SEVERITY_COLORS.items():
        assert f".sev-{level}{{background:{color}}}" in css
    trust = _section(demo_html, "trust")
    for level in ("high", "medium", "low"):  # the findings chart draws each level in its colour, and only that
        fills = set(re.findall(rf"fill='(#\w+)'><title>[^<]* · {level}: ", trust))
        assert fills == {SEVERITY_COLORS[level]}, level
    assert set(re.findall(r"class='sev sev-(\w+)'>(\w+)<", demo_html)) <= {(s, s) for s in SEVERITY_COLORS}


def test_credit_per_kind_of_data_and_complete_months(demo_html):
    trust = _section(demo_html, "trust")
    reviews = trust[trust.index("Credit from reviews") : trust.index("Credit from orders")]
    orders = trust[trust.index("Credit from orders") :]
    assert "手机" in reviews and "bags" not in reviews and "complaint rate" in reviews and "return rate" not in reviews
    assert "bags" in orders and "手机" not in orders and "return rate" in orders and "complaint rate" not in orders
    assert "quarantine rate" not in trust  # no category has quarantine data in the sample (headers read as words)
    consumption = _section(demo_html, "consumption")
    assert "Contribution to revenue growth, 2010-11 (last complete month)" in consumption
    assert "<td>2010-12 (partial · 未完整)</td>" in consumption and "<td>2010-11</td>" in consumption


@needs_browser
def test_report_renders_every_section_without_errors(demo_store, tmp_path):
    out = tmp_path / "report.html"
    with Store(demo_store, read_only=True) as st:
        write_report(st, out)
    with browser_page() as page:
        page.goto(out.as_uri())
        for key in SECTIONS:
            sec = page.locator(f"section#{key}")
            assert sec.count() == 1, key
            assert sec.get_attribute("data-missing") in (None, "0"), f"section {key} has no content"
            sec.screenshot(path=str(ARTIFACTS / f"report-{key}.png"))
        charts = page.locator(".chart svg")
        assert charts.count() >= 15
        for i in range(charts.count()):  # every chart drew bars or lines, and has a size on screen
            assert charts.nth(i).locator("rect, polyline").count() > 0, i
            assert charts.nth(i).bounding_box()["height"] > 100, i
        assert page.errors == []


def test_section_of_a_stage_not_run_says_so(tmp_path, sample_orders):
    from supplyfit.store import ingest_orders

    with Store(tmp_path / "s.duckdb") as st:
        ingest_orders(st, sample_orders, preset="uci-online-retail")
        html = write_report(st, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "data-section='demand' data-missing='1'" in html and "Stage not run yet" in html
    assert "No production plan yet · 尚无生产计划: run `supplyfit plan`." in html


def test_demand_section_charts_the_panels_top_series_from_sums(demo_store, demo_html):
    """The section reads weekly sums and the top series from DuckDB, never the panel: its window, the three SKUs
    with most units and the week count are those of the whole panel."""
    with Store(demo_store, read_only=True) as st:
        panel, backtest = st.table("demand_panel"), st.table("backtest")
    demand = _section(demo_html, "demand")
    assert f"history {panel.ds.min():%Y-%m-%d} – {panel.ds.max():%Y-%m-%d}" in demand
    titles = list(dict.fromkeys(re.findall(r"Weekly units · 周销量: SKU (\S+) ·", demand)))  # title and label
    assert titles == panel.groupby("unique_id").y.sum().nlargest(3).index.tolist()
    assert "Weekly units · 周销量: total · 合计" in demand and len(backtest) > 0


def test_the_demand_section_shows_the_calendar_the_forecasts_knew(demo_html, tmp_path):
    import pandas as pd

    from supplyfit.store import ingest

    assert "Calendar · 日历: no events" in _text(_section(demo_html, "demand"))  # and how to load some
    weeks = pd.date_range("2024-01-01", periods=14, freq="W-MON")
    with Store(tmp_path / "s.duckdb") as st:
        st.write_result(
            "demand_panel",
            pd.DataFrame(
                {"unique_id": "A", "ds": weeks[:8], "y": 1.0, "revenue": 2.0, "price": 2.0, "category": "toys"}
            ),
        )
        st.write_result(
            "forecasts",
            pd.DataFrame({"unique_id": "A", "ds": weeks[8:], "yhat": 1.0, "yhat_q10": 0.0, "yhat_q50": 1.0,
                          "yhat_q90": 2.0, "level": "sku"}),
        )  # fmt: skip
        events = tmp_path / "events.csv"
        events.write_text(
            "name,start,end,scope,target,kind\nOld sale,2023-06-01,,all,,promotion\n"
            "Spring sale,2024-03-04,2024-03-10,all,,promotion\nStocktake,2024-02-12,,all,,closure\n"
        )
        ingest(st, events, "events")
        st.set_country("GB")
        demand = _text(_section(write_report(st, tmp_path / "r.html").read_text(encoding="utf-8"), "demand"))
    assert "Spring sale" in demand and "Stocktake" in demand and "Old sale" not in demand  # 8 weeks back at most
    assert "country GB" in demand and "public holidays in the forecast weeks: 03-29)" in demand  # Good Friday 2024


def test_indicator_notes_read_in_chinese_too(demo_html):
    """Each note the indicator stage writes carries its Chinese after the English (the demo's: its last week and
    month are partial)."""
    from supplyfit.monitor.sections import note_zh

    text = " ".join(_text(_section(demo_html, "consumption")).split())
    assert re.search(r"Note: the last week \(from [\d-]+\) is incomplete: data end [\d-]+\. · 注：最后一周（自 ", text)
    assert "Note: the last month (from " in text and "注：最后一个月（自 " in text
    written = [  # as supplyfit/monitor/indicators.py and stage.py word them
        "no region column in the orders: no breakdown by region",
        "no scored reviews: run the voice stage for the sentiment index",
        "reviews carry no dates: the sentiment index needs a review date column (ts)",
        "no complete week of sales yet: no hotspots",
    ]
    zh = [note_zh(n) for n in written]
    assert all(z and not re.search("[a-z]{3,}", z.replace("region", "")) for z in zh), zh
    assert zh[0] == "订单中没有 region 列：无法按它细分" and note_zh("something new") is None
