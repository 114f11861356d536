"""The report as a person sees it: rendered in headless Chromium, every section screenshotted, no JS errors."""

from browser import ARTIFACTS, browser_page, needs_browser

from supplyfit.monitor.report import write_report
from supplyfit.store import Store

SECTIONS = ["data", "consumption", "hotspots", "voice", "demand", "supply", "match"]


@needs_browser
def test_report_renders_every_section_without_errors(demo_store, tmp_path):
    out = tmp_path / "report.html"
    with Store(demo_store, read_only=True) as st:
        write_report(st, out)
    with browser_page() as page:
        page.goto(out.as_uri())
        page.wait_for_timeout(1500)
        for key in SECTIONS:
            sec = page.locator(f"section#{key}")
            assert sec.count() == 1, key
            assert sec.get_attribute("data-missing") == "0", f"section {key} has no content"
            sec.screenshot(path=str(ARTIFACTS / f"report-{key}.png"))
        charts = page.locator(".chart .plotly-graph-div")
        assert charts.count() >= 8
        for i in range(charts.count()):  # every chart drew at least one trace
            assert charts.nth(i).locator(".trace, .hm, .barlayer .point, .scatterlayer path").count() > 0, i
        assert page.errors == []


def test_section_of_a_stage_not_run_says_so(tmp_path, sample_orders):
    from supplyfit.store import ingest_orders

    with Store(tmp_path / "s.duckdb") as st:
        ingest_orders(st, sample_orders, preset="uci-online-retail")
        html = write_report(st, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "data-section='demand' data-missing='1'" in html and "Stage not run yet" in html
