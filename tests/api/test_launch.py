"""POST /api/v1/launch over real HTTP: drafts in, launch forecasts, first batches and analogs out."""

from .conftest import h


def test_drafts_get_forecasts_first_batches_and_analogs(client, keys):
    body = {
        "drafts": [
            {"unique_id": "D1", "description": "RED RETROSPOT LUNCH BAG", "price": 1.65},
            {"unique_id": "D2", "description": "儿童 保温杯 卡通", "price": 39, "preorders": 120, "preorder_weeks": 2},
        ],
        "moq": 24,
        "capacity": 500,
    }
    r = client.post("/api/v1/launch", json=body, headers=h(keys["a_reader"]))
    assert r.status_code == 200, r.text
    out = r.json()
    assert [(f["unique_id"], f["week"]) for f in out["forecasts"]] == [
        (d, w) for d in ("D1", "D2") for w in range(1, 9)
    ]
    assert all(f["yhat_q10"] <= f["yhat_q50"] <= f["yhat_q90"] for f in out["forecasts"])
    batches = {b["unique_id"]: b["first_batch"] for b in out["first_batches"]}
    # capacity shared, largest first; a batch is 0 or at least the MOQ
    assert set(batches) == {"D1", "D2"} and sum(batches.values()) <= 500
    assert all(b == 0 or b >= 24 for b in batches.values()) and max(batches.values()) > 0
    analogs = [a for a in out["analogs"] if a["unique_id"] == "D1"]
    assert 1 <= len(analogs) <= 5 and all(a["first_h_units"] >= 0 for a in analogs)
    bare = {"drafts": [{"unique_id": "D3", "price": 2.0}]}  # no description: price and category carry it, as in the CLI
    r = client.post("/api/v1/launch", json=bare, headers=h(keys["a_reader"]))
    assert r.status_code == 200 and [f["week"] for f in r.json()["forecasts"]] == list(range(1, 9)), r.text


def test_bad_drafts_are_422_and_a_tenant_without_history_404(client, keys):
    bad = [
        {"drafts": []},
        {"drafts": [{"unique_id": "D1", "description": "x", "price": -1}]},
        {"drafts": [{"unique_id": "D1", "description": "x"}, {"unique_id": "D1", "description": "y"}]},
        {"drafts": [{"unique_id": "D1", "description": "x"}], "service_level": 1.5},
        {"drafts": [{"unique_id": "  ", "description": "x"}]},  # blank id, as the CLI refuses it
    ]
    for body in bad:
        assert client.post("/api/v1/launch", json=body, headers=h(keys["a_reader"])).status_code == 422, body
    for number in ("Infinity", "NaN"):  # what Python's and JavaScript's encoders can send for inf and nan
        raw = f'{{"drafts": [{{"unique_id": "D1", "description": "x", "preorders": {number}}}]}}'
        r = client.post(
            "/api/v1/launch", content=raw, headers={**h(keys["a_reader"]), "content-type": "application/json"}
        )
        assert r.status_code == 422, (number, r.text)
    r = client.post(
        "/api/v1/launch", json={"drafts": [{"unique_id": "D1", "description": "x"}]}, headers=h(keys["b_reader"])
    )
    assert r.status_code == 404 and "run `supplyfit forecast` first" in r.json()["detail"]
    assert client.post("/api/v1/launch", json={"drafts": [{"unique_id": "D1", "description": "x"}]}).status_code == 401
