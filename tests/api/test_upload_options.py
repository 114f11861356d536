"""The upload's load options (mapping, decimal, date_format, timezone) on a real server: a file whose columns and
formats the store cannot settle alone fails, each time naming the form field that settles it, and loads with them."""

import pytest

from .conftest import h, tenant_keys

# Headers no alias knows, decimal commas (every price, such as "2,500", reads either way) and day-first dates
# (every day <= 12); one zero quantity (quarantined) and one repeated line (a duplicate).
ODD = (
    b"Beleg Nr;Artikel;Stueck;Preis EUR;Datum\n"
    b"B1;S-1;2;1,234;11/01/2024 10:00\n"
    b"B1;S-2;1;2,500;11/01/2024 10:00\n"
    b"B2;S-1;0;1,234;12/01/2024 09:30\n"
    b"B3;S-2;3;12,750;05/02/2024 15:00\n"
    b"B3;S-2;3;12,750;05/02/2024 15:00\n"
)
MAPPING = ["Beleg Nr=order_id", "Artikel=sku", "Stueck=quantity", "Preis EUR=unit_price", "Datum=ts"]
OPTIONS = {"mapping": MAPPING, "decimal": ",", "date_format": "day-first", "timezone": "Europe/Berlin"}


@pytest.fixture(scope="module")
def writer(server) -> dict:
    return h(tenant_keys(server, "upload-options", "writer")["writer"])


def post(client, writer, data: dict, body: bytes = ODD):
    return client.post(
        "/api/v1/uploads/orders", files={"file": ("odd.csv", body, "text/csv")}, data=data, headers=writer
    )


def test_each_failure_names_the_field_that_settles_it_then_the_file_loads(client, writer, server):
    steps = [
        ({}, "(CLI: --map SOURCE=order_id; API/dashboard: mapping field SOURCE=order_id)"),
        ({"mapping": MAPPING}, "(CLI: --decimal . or --decimal ,; API/dashboard: decimal field)"),
        ({"mapping": MAPPING, "decimal": ","}, "API/dashboard: date_format field)"),
    ]
    for data, fix in steps:
        r = post(client, writer, data)
        assert r.status_code == 422 and r.json()["detail"].endswith(fix) and "\n" not in r.json()["detail"], r.text
    r = post(client, writer, OPTIONS)
    assert r.status_code == 200, r.text
    rep = r.json()
    assert (rep["rows_read"], rep["stored"], rep["quarantined"], rep["duplicates"]) == (5, 3, 1, 1)
    assert rep["rows_read"] == rep["stored"] + rep["quarantined"] + rep["duplicates"]
    service = server["app"].state.service
    with service.write_lock:
        rows = service.cursor().execute(
            "SELECT order_id, unit_price, strftime(ts, '%Y-%m-%d %H:%M') FROM orders "
            "WHERE tenant = 'upload-options' ORDER BY order_id, sku"
        )
        assert rows.fetchall() == [
            ("B1", 1.234, "2024-01-11 10:00"),
            ("B1", 2.5, "2024-01-11 10:00"),
            ("B3", 12.75, "2024-02-05 15:00"),
        ]


def test_a_strftime_date_format_loads_as_the_cli_option_does(client, writer):
    body = ODD.replace(b";B", b";F").replace(b"\nB", b"\nF")  # new content: not skipped as the same file
    r = post(client, writer, {**OPTIONS, "date_format": "%d/%m/%Y %H:%M"}, body)
    assert r.status_code == 200 and r.json()["stored"] == 3, r.text


@pytest.mark.parametrize(
    "field, value, says",
    [
        ("decimal", ";", "decimal must be '.' or ','"),
        ("date_format", "yesterday", "date_format must be day-first, month-first or a format such as %d/%m/%Y"),
        ("date_format", "%Q/%m", "date_format must be"),
        ("timezone", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_an_invalid_option_is_a_422_of_one_line(client, writer, field, value, says):
    r = post(client, writer, {**OPTIONS, field: value})
    assert r.status_code == 422 and says in r.json()["detail"] and "\n" not in r.json()["detail"], r.text
