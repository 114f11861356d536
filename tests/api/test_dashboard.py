"""The dashboard in headless Chromium: log in with a key, open every view, numbers match the API, no errors."""

import pytest
from browser import ARTIFACTS, browser_page, needs_browser

VIEWS = ["overview", "hotspots", "complaints", "forecast", "plan"]


@pytest.fixture
def page(server):
    with browser_page(height=1000) as pg:
        yield pg


def _open(page, view: str) -> None:
    page.click(f"#tabs a[data-view='{view}']")
    page.wait_for_function(f"document.body.dataset.view === '{view}' && document.body.dataset.ready === '1'")


@needs_browser
def test_dashboard_views_match_the_api(page, server, client):
    key = server["keys"]["a_reader"]
    api = lambda path: client.get(path, headers={"X-API-Key": key}).json()
    page.goto(server["url"] + "/")
    page.fill("#key", "sf_wrong_key")
    page.click("#login button[type=submit]")
    page.wait_for_selector("#login-error:not(:empty)")
    page.errors.clear()  # the 401 of the wrong key is logged by the browser; that is the expected path
    page.fill("#key", key)
    page.click("#login button[type=submit]")
    page.wait_for_function("document.body.dataset.ready === '1'")
    assert page.inner_text("#who").startswith("default")
    for view in VIEWS:
        _open(page, view)
        assert page.inner_text("#error") == "", view
        page.screenshot(path=str(ARTIFACTS / f"dashboard-{view}.png"), full_page=True)
        if view == "overview":
            last = [m for m in api("/api/v1/indicators?freq=M&table=totals") if m["complete"]][-1]
            shown = float(page.get_attribute(".kpi[data-metric='revenue']", "data-value"))
            assert shown == pytest.approx(last["revenue"])
            assert page.locator("#chart-revenue .scatterlayer .trace").count() == 3
        if view == "hotspots":
            assert page.get_attribute("#table-hotspots", "data-rows") == str(len(api("/api/v1/hotspots")))
            first = page.inner_text("#table-hotspots tbody tr:first-child td:nth-child(2)")
            assert first == str(api("/api/v1/hotspots")[0]["unique_id"])
        if view == "complaints":
            assert page.locator("#table-complaints tbody tr").count() == len(api("/api/v1/complaints?limit=50"))
        if view == "forecast":
            assert page.locator("#series option").count() > 10
            page.select_option("#series", index=3)
            page.wait_for_function("document.body.dataset.ready === '1'")
            uid = page.eval_on_selector("#series", "s => s.value")
            assert page.locator("#table-forecast tbody tr").count() == len(
                api(f"/api/v1/series/{uid}")["forecast"]["ds"]
            )
            page.screenshot(path=str(ARTIFACTS / "dashboard-forecast-sku.png"), full_page=True)
        if view == "plan":
            total = sum(r["qty"] for r in api("/api/v1/plan"))
            assert float(page.get_attribute("#plan-total", "data-total")) == pytest.approx(total)
    page.click("#lang")  # English, then back: every label switches language
    page.wait_for_function("document.body.dataset.ready === '1'")
    assert page.inner_text("nav a[data-view='plan']") == "Production plan"
    page.screenshot(path=str(ARTIFACTS / "dashboard-plan-en.png"), full_page=True)
    assert page.errors == []
