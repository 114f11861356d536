"""The operator's briefing, live view, signal feed and new-design form: their JSON (briefing, calendar) per tenant,
and each view in headless Chromium in both languages on a copy of the demo store with a calendar loaded and order
events streamed in: the API's numbers on screen, no JavaScript error, no "NaN"/"undefined"/"null"."""

import shutil
import time

import httpx
import pytest
from browser import ARTIFACTS, browser_page, needs_browser
from servers import serving

from supplyfit.api import create_app, create_key
from supplyfit.api.routers.briefing import as_json
from supplyfit.monitor.briefing import briefing
from supplyfit.store import Store, ingest

from .test_dashboard import check_screen, guide_shot, open_view, sign_in

CALENDAR = """name,start,end,scope,target,kind
Spring sale,2010-03-01,2010-03-07,all,,promotion
Christmas lights week,2010-12-01,2010-12-12,category,candles & lighting,promotion
Warehouse closed,2010-12-24,2010-12-27,all,,closure
"""
NOW = "2010-12-09T20:{m:02d}:00"  # just after the demo's last order (2010-12-09 19:28): the current business week
DRAFT = {"unique_id": "NEW-1", "description": "RED HEART CANDLE HOLDER", "price": 3.5, "preorders": 40}


@pytest.fixture(scope="module")
def views_server(demo_store, tmp_path_factory):
    """Its own copy of the demo store (events are posted to it), with the calendar above for the default tenant."""
    tmp = tmp_path_factory.mktemp("views")
    db = tmp / "views.duckdb"
    shutil.copy(demo_store, db)
    shutil.copy(f"{demo_store}.secret", f"{db}.secret")
    (tmp / "calendar.csv").write_text(CALENDAR, encoding="utf-8")
    with Store(db) as st:
        ingest(st, tmp / "calendar.csv", "events")
        keys = {role: create_key(st, "default", role) for role in ("reader", "writer")}
        keys["b_reader"] = create_key(st, "brand-b", "reader")
        keys.update(c_writer=create_key(st, "brand-c", "writer"), c_reader=create_key(st, "brand-c", "reader"))
    app = create_app(db)
    with serving(app) as url:
        yield {"url": url, "keys": keys, "app": app}


def get(server, path: str, key: str = "reader"):
    r = httpx.get(server["url"] + path, headers={"X-API-Key": server["keys"][key]}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def stream_spike(server, skus: tuple[str, ...], minute: int = 0) -> list[dict]:
    """Post a big order of each SKU into the current week (idempotent: fixed event ids), then wait for signals."""
    lines = [
        {
            "order_id": f"LIVE-{sku}",
            "sku": sku,
            "quantity": 3000,
            "unit_price": 2.5,
            "ts": NOW.format(m=minute),
            "event_id": f"ev-{sku}",
        }
        for sku in skus
    ]
    r = httpx.post(server["url"] + "/api/v1/events/orders", json=lines, headers={"X-API-Key": server["keys"]["writer"]})
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 30  # generous: no timing is asserted
    while time.monotonic() < deadline:
        found = get(server, "/api/v1/signals?since=0")["signals"]
        if set(skus) <= {s["sku"] for s in found}:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no signal for {skus}")


def test_briefing_and_calendar_json_per_tenant(views_server):
    app = views_server["app"]
    body = get(views_server, "/api/v1/briefing")
    store = app.state.service.store.scoped("default")
    try:
        assert body == as_json(briefing(store), store)  # the report's function, serialised as is
    finally:
        store.close()
    assert [set(r) for r in body["reorders"]] == [{"sku", "description", "qty", "arrives", "why"}] * 8
    assert all(r["description"] and r["qty"] > 0 for r in body["reorders"])
    assert body["computed"] == {"reorders": True, "rising": True, "complaints": True}
    assert set(body["week"]) == {"start", "days", "units", "forecast", "low", "high"}
    assert body["freshness"]["reviews"] > 0  # the sample's reviews are undated: counted, with no latest one
    assert len(get(views_server, "/api/v1/briefing?n=3")["reorders"]) == 3
    assert get(views_server, "/api/v1/events") == [
        {
            "name": "Spring sale",
            "start": "2010-03-01",
            "end": "2010-03-07",
            "scope": "all",
            "target": "",
            "kind": "promotion",
        },
        {
            "name": "Christmas lights week",
            "start": "2010-12-01",
            "end": "2010-12-12",
            "scope": "category",
            "target": "candles & lighting",
            "kind": "promotion",
        },
        {
            "name": "Warehouse closed",
            "start": "2010-12-24",
            "end": "2010-12-27",
            "scope": "all",
            "target": "",
            "kind": "closure",
        },
    ]
    other = get(views_server, "/api/v1/briefing", "b_reader")  # another tenant sees none of it
    assert (other["reorders"], other["rising"], other["complaints"], other["week"]) == ([], [], [], None)
    assert other["reorder_total"] == {"lines": 0, "units": 0.0}
    assert other["computed"] == {"reorders": False, "rising": False, "complaints": False}
    assert other["freshness"] == {
        "last_order": None,
        "last_review": None,
        "last_load": None,
        "stale": [],
        "reviews": 0,
        "stale_stages": [],
    }
    assert get(views_server, "/api/v1/events", "b_reader") == []


@pytest.fixture
def page():
    with browser_page(height=1000) as pg:
        yield pg


def sign_in_lang(page, server, lang: str, key: str = "reader") -> None:
    page.goto(server["url"] + "/")
    page.evaluate(f"localStorage.setItem('sf-lang', '{lang}')")
    sign_in(page, server["url"], server["keys"][key])


@needs_browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_briefing_is_the_first_screen(page, views_server, lang):
    b = get(views_server, "/api/v1/briefing?n=10")
    sign_in_lang(page, views_server, lang)
    assert page.evaluate("document.body.dataset.view") == "week"
    first = page.eval_on_selector_all("#reorders tbody tr:first-child td", "tds => tds.map((td) => td.textContent)")
    assert first[:3] == [b["reorders"][0]["sku"], b["reorders"][0]["description"], f"{b['reorders'][0]['qty']:,.0f}"]
    assert page.get_attribute("#reorders table", "data-rows") == "10"
    why = {"zh": "本周至到货周（2 周）预测 ", "en": "forecast "}[lang]
    assert first[4].startswith(why), first[4]
    assert page.get_attribute(".kpi[data-metric='fresh']", "data-value") == b["freshness"]["last_load"]
    assert float(page.get_attribute(".kpi[data-metric='week_units']", "data-value")) == b["week"]["units"]
    week = b["week"]  # the sample ends on a Thursday: the share so far and the pace it sets for the week
    pace = f"{week['units'] / week['forecast'] * 7 / week['days']:.0%}"
    said = {"zh": f"按此速度全周约为预测的 {pace}", "en": f"on pace for {pace} of it"}[lang]
    assert week["days"] == 4 and said in page.inner_text(".kpi[data-metric='week_units']")
    assert page.get_attribute("#rising table", "data-rows") == str(len(b["rising"]))
    assert page.inner_text("#urgent tbody tr:first-child td:first-child") == {"zh": "高", "en": "High"}[lang]
    assert page.get_attribute("#events table", "data-rows") == "2"  # the spring sale is long past
    check_screen(page, f"briefing-{lang}")
    guide_shot(page, f"briefing-{lang}")
    page.locator("#events").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"operator-events-{lang}.png"))
    assert page.errors == []


@needs_browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_live_view_and_signal_feed(page, views_server, lang):
    signals = stream_spike(views_server, ("85123A", "84879"))
    sign_in_lang(page, views_server, lang)
    open_view(page, "live")
    assert page.get_attribute("#feed table", "data-rows") == str(len(signals))
    newest = page.eval_on_selector_all("#feed tbody tr:first-child td", "tds => tds.map((td) => td.textContent)")
    kinds = {
        "zh": {"reorder": "补货建议", "demand_above_forecast": "需求高于预测"},
        "en": {"reorder": "re-order", "demand_above_forecast": "demand above forecast"},
    }[lang]
    assert newest[1:3] == [kinds[signals[-1]["kind"]], signals[-1]["sku"]]
    live = get(views_server, "/api/v1/live")
    assert float(page.get_attribute(".kpi[data-metric='live_units']", "data-value")) == sum(
        r["units"] for r in live["skus"]
    )
    assert page.get_attribute("#live-categories table", "data-rows") == str(len(live["categories"]))
    top = max(live["skus"], key=lambda r: abs(r["score"] or 0))
    assert page.inner_text("#live-skus tbody tr:first-child td:first-child") == top["sku"]
    check_screen(page, f"live-{lang}")
    guide_shot(page, f"live-{lang}")
    if lang == "zh":  # the feed polls: a new spike shows up without reloading the page
        more = stream_spike(views_server, ("22086",), minute=5)
        page.wait_for_function(f"document.querySelector('#feed table').dataset.rows === '{len(more)}'")
        assert page.inner_text("#feed tbody tr:first-child td:nth-child(3)") == "22086"
    open_view(page, "week")  # the streamed orders are newer than the stored results: the briefing says so
    fresh = get(views_server, "/api/v1/briefing")["freshness"]
    stale = fresh["stale"]
    assert "forecasts" in stale and "demand" in fresh["stale_stages"] and page.is_visible("#stale")
    banner = page.inner_text("#stale")
    assert banner.startswith({"zh": f"{len(stale)} 项结果已过期", "en": f"{len(stale)} result(s)"}[lang])
    assert {"zh": "需求预测", "en": "Demand forecast"}[lang] in banner and "forecasts" not in banner  # stages named
    check_screen(page, f"briefing-stale-{lang}")
    assert page.errors == []


@needs_browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_new_design_form_forecasts_a_first_batch(page, views_server, lang):
    sign_in_lang(page, views_server, lang)
    open_view(page, "launch")
    page.fill("#l-id", DRAFT["unique_id"])
    page.fill("#l-desc", DRAFT["description"])
    page.fill("#l-price", str(DRAFT["price"]))
    page.fill("#l-pre", str(DRAFT["preorders"]))
    page.fill("#l-moq", "100")
    page.click("#l-send")
    page.wait_for_selector("#launch-out:not([hidden]) #launch-table table")
    want = httpx.post(
        views_server["url"] + "/api/v1/launch",
        json={"drafts": [DRAFT], "moq": 100, "service_level": 0.5, "weeks_cover": 2},
        headers={"X-API-Key": views_server["keys"]["reader"]},
        timeout=60,
    ).json()
    batch = want["first_batches"][0]["first_batch"]
    assert float(page.get_attribute(".kpi[data-metric='first_batch']", "data-value")) == batch >= 100
    assert page.get_attribute("#launch-table table", "data-rows") == str(len(want["forecasts"])) == "8"
    assert page.get_attribute("#launch-analogs table", "data-rows") == str(len(want["analogs"]))
    assert 0 < len(want["analogs"]) <= 5
    assert page.inner_text("#launch-analogs tbody tr:first-child td:first-child") == want["analogs"][0]["analog_id"]
    assert page.evaluate("document.getElementById('chart-launch')._fullLayout.xaxis.type") == "category"
    best = max(a["similarity"] for a in want["analogs"])  # a weak text match is said, a close one is not
    assert page.is_visible("#launch-note") == (best < 0.3)
    if best < 0.3:
        assert f"{round(100 * best)}%" in page.inner_text("#launch-note")
    check_screen(page, f"launch-{lang}")
    guide_shot(page, f"launch-{lang}")
    page.fill("#l-desc", "qqxv zzkw")  # text no past design shares: the view warns the match is weak
    page.click("#l-send")
    page.wait_for_selector("#launch-note:not([hidden])")
    weak = {"zh": "没有描述相近的历史款", "en": "No past design reads like this one"}[lang]
    assert weak in page.inner_text("#launch-note")
    assert want["notes"] == {}  # a draft priced among the past launches gets no price note
    page.fill("#l-price", "99999")  # a price no past launch had: said, in the page's language
    page.click("#l-send")
    page.wait_for_function("document.getElementById('launch-note').textContent.includes('99,999')")
    priced = {"zh": "高于所有历史新品", "en": "is above every past launch's"}[lang]
    assert priced in page.inner_text("#launch-note") and weak in page.inner_text("#launch-note")
    page.fill("#l-desc", "qqxv zzkw blue")  # an edited draft: the answer to the one before is no longer shown
    assert not page.is_visible("#launch-out")
    assert page.errors == []


@needs_browser
def test_live_and_new_design_before_any_forecast(page, views_server):
    """A tenant whose only data are a few streamed orders: the week so far without expectations, an empty feed
    that says why, and the new-design form answering why it cannot forecast yet."""
    lines = [{"order_id": f"B{i}", "sku": f"B-{i % 2}", "quantity": 2, "unit_price": 9.9, "ts": "2024-04-03T10:00:00",
              "event_id": f"b-{i}"} for i in range(4)]  # fmt: skip
    r = httpx.post(
        views_server["url"] + "/api/v1/events/orders",
        json=lines,
        headers={"X-API-Key": views_server["keys"]["c_writer"]},
    )
    assert r.status_code == 202, r.text
    sign_in_lang(page, views_server, "en", "c_reader")
    open_view(page, "live")
    assert page.get_attribute("#live-skus table", "data-rows") == "2"
    assert (
        page.inner_text("#feed")
        == "No signals yet: they appear here when this week's sales leave the forecast's range."
    )
    check_screen(page, "live-no-forecast-en")
    open_view(page, "launch")
    page.fill("#l-desc", "blue cup")
    page.click("#l-send")
    page.wait_for_selector("#l-status:not(:empty)")
    page.wait_for_function("document.body.dataset.ready === '1' && !document.getElementById('l-send').disabled")
    want = httpx.post(
        views_server["url"] + "/api/v1/launch",
        json={"drafts": [{"unique_id": "NEW-1", "description": "blue cup"}]},
        headers={"X-API-Key": views_server["keys"]["c_reader"]},
    )
    assert want.status_code == 404
    assert page.inner_text("#l-status") == (
        "No demand forecast yet: a new design is forecast from past sales. Run the analysis under “Data & jobs”"
    )
    assert not page.is_visible("#launch-out")
    check_screen(page, "launch-no-forecast-en")
    open_view(page, "data")  # no analysis run yet for this tenant: its empty jobs table says so
    assert page.get_attribute("#table-jobs table", "data-rows") == "0"
    assert page.inner_text("#table-jobs td.empty") == "Nothing here yet"
    assert [e for e in page.errors if "status of 404" not in e] == []  # the launch's 404, logged by the browser
