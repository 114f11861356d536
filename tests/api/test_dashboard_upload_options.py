"""The upload form's load options in headless Chromium: a file with odd headers, decimal commas and day-first dates
fails naming the input that settles it, marked on the form, and loads once the mapping and formats are filled in."""

import pytest
from browser import ARTIFACTS, browser_page, needs_browser

from .conftest import tenant_keys
from .test_dashboard import check_screen, sign_in
from .test_upload_options import MAPPING, ODD

LABELS = {
    "zh": ["列映射（可选）", "小数分隔符", "日期顺序", "或日期格式", "时区"],
    "en": ["Column mapping (optional)", "Decimal separator", "Date order", "or a date format", "Time zone"],
}


@needs_browser
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_upload_form_options_settle_an_odd_file(server, tmp_path, lang):
    key = tenant_keys(server, f"form-options-{lang}", "writer")["writer"]
    odd = tmp_path / "odd.csv"
    odd.write_bytes(ODD)
    with browser_page(height=900) as page:
        page.goto(server["url"] + "/")
        page.evaluate(f"localStorage.setItem('sf-lang', '{lang}')")
        sign_in(page, server["url"], key)
        page.click("#guide a.button")  # a new tenant: the guide leads to the upload form
        page.wait_for_function("document.body.dataset.view === 'data' && document.body.dataset.ready === '1'")
        assert page.locator("#up-options label > span").all_inner_texts() == LABELS[lang]
        page.set_input_files("#up-file", str(odd))
        page.click("#up-send")
        page.wait_for_selector("#up-options .need")
        assert page.get_attribute("#up-mapping", "class") == "need"
        status = page.inner_text("#up-status")  # why, in the page's language, and what to fill in
        assert {"en": "mapping field SOURCE=order_id", "zh": "请在“列映射”中写 源列名=order_id"}[lang] in status
        assert lang == "en" or "required column" not in status
        page.locator("#upload").screenshot(path=str(ARTIFACTS / f"dashboard-upload-form-{lang}.png"))
        page.fill("#up-mapping", ", ".join(MAPPING))
        page.click("#up-send")  # mapped, but its numbers read two ways: the decimal field is asked for
        page.wait_for_selector("#up-decimal.need")
        status = page.inner_text("#up-status")
        why = {"en": "no value in the file tells which", "zh": "文件中没有哪个值能说明是哪一种"}[lang]
        assert why in status, status
        page.select_option("#up-decimal", ",")
        page.select_option("#up-date", "day-first")
        page.click("#up-send")
        page.wait_for_selector("#report:not([hidden]) #report-rows table")
        counts = [
            page.get_attribute(f"#report-counts .kpi[data-metric='{m}']", "data-value")
            for m in ("rows_read", "stored", "quarantined", "duplicates")
        ]
        assert counts == ["5", "3", "1", "1"] and page.locator("#up-options .need").count() == 0
        check_screen(page, f"upload-options-{lang}")
        assert [e for e in page.errors if "status of 422" not in e] == []  # the first upload's 422, logged
