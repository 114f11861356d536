"""Sensing over a folder of drops: the local replay equals the server's own path, and Spark's equals the local."""

import contextlib
import io
import json
import os

import pandas as pd
import pytest

from supplyfit.live.events import store_events
from supplyfit.live.signals import Rules, raise_signals
from supplyfit.scale.sensing import drop_files, sense
from supplyfit.store import Store

WEEK = pd.Timestamp("2024-04-01")  # a Monday
FORECASTS = pd.DataFrame(
    {
        "unique_id": ["A1", "A2", "B1", "category/bags"],
        "ds": [WEEK] * 4,
        "yhat": [70.0, 70.0, 140.0, 280.0],
        "yhat_q10": [50.0, 50.0, 100.0, 220.0],
        "yhat_q90": [90.0, 90.0, 180.0, 340.0],
        "yhat_q50": [70.0, 70.0, 140.0, 280.0],
        "level": ["sku", "sku", "sku", "category"],
    }
)


def _drops() -> list[list[dict]]:
    """Five drops over the week: A1 spikes (and escalates), A2 sells as forecast, B1 sells nothing but an order
    cancelled within the day (below by the weekend); one event is sent twice, one line is postage, one a return
    (of no customer: it cancels nothing), one an earlier week's late line."""
    drops = []
    for day in range(5):
        ts = WEEK + pd.Timedelta(days=day, hours=10)
        lines = [
            {
                "event_id": f"a1-{day}",
                "order_id": f"O{day}",
                "sku": "A1",
                "quantity": (10, 30, 40, 60, 60)[day],
                "unit_price": 2.0,
                "ts": f"{ts:%Y-%m-%dT%H:%M:%S}",
                "category": "bags",
            },
            {
                "order_id": f"O{day}",
                "sku": "A2",
                "quantity": 10,
                "unit_price": 2.0,
                "ts": f"{ts + pd.Timedelta(minutes=5):%Y-%m-%dT%H:%M:%S}",
                "category": "bags",
            },
            {
                "order_id": f"O{day}",
                "sku": "POST",
                "quantity": 1,
                "unit_price": 18.0,
                "description": "POSTAGE",
                "ts": f"{ts:%Y-%m-%dT%H:%M:%S}",
            },
        ]
        if day == 2:
            lines.append(dict(drops[1][0]))  # a retried event: counted once
            lines.append(
                {
                    "order_id": f"C{day}",
                    "sku": "A2",
                    "quantity": -3,
                    "unit_price": 2.0,
                    "ts": f"{ts:%Y-%m-%dT%H:%M:%S}",
                    "category": "bags",
                }
            )
            lines.append(
                {
                    "order_id": "LATE",
                    "sku": "A1",
                    "quantity": 500,
                    "unit_price": 2.0,
                    "ts": f"{WEEK - pd.Timedelta(days=3):%Y-%m-%dT%H:%M:%S}",
                    "category": "bags",
                }
            )
        if day in (3, 4):  # B1 ordered on Thursday and cancelled that evening, the cancellation in the next drop
            lines.append(
                {
                    "order_id": f"B{day}",
                    "sku": "B1",
                    "quantity": 30 if day == 3 else -30,
                    "unit_price": 2.0,
                    "ts": f"{WEEK + pd.Timedelta(days=3, hours=10 if day == 3 else 20):%Y-%m-%dT%H:%M:%S}",
                    "category": "bags",
                    "customer_id": " c9" if day == 3 else "c9",  # trimmed, as the store keeps it
                }
            )
        drops.append(lines)
    return drops


def _write(folder, drops, parquet=False):
    folder.mkdir()
    for i, lines in enumerate(drops):
        path = folder / f"drop-{i}.{'parquet' if parquet else 'ndjson'}"
        if parquet:
            frame = pd.DataFrame(lines)
            frame["ts"] = pd.to_datetime(frame["ts"])
            frame.to_parquet(path, index=False, coerce_timestamps="us")  # Spark reads no nanoseconds
        else:
            path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
        os.utime(path, ns=(1_700_000_000_000_000_000 + i * 10**9,) * 2)  # arrival order
    return folder


def _key(signals: pd.DataFrame) -> list[tuple]:
    out = []
    for r in signals.itertuples(index=False):
        d = json.loads(r.detail)
        out.append((r.kind, r.sku, pd.Timestamp(r.week), r.severity, d["units"], d["expected"], d["score"]))
    return out


def test_local_replay_equals_the_servers_signals(tmp_path):
    drops = _drops()
    local = sense(_write(tmp_path / "in", drops), FORECASTS)
    with Store(tmp_path / "s.duckdb") as st:
        st.write_result("forecasts", FORECASTS)
        for lines in drops:
            store_events(st, [lines], contextlib.nullcontext())
            raise_signals(st, Rules())
        server = st.query(
            "SELECT kind, sku, week, severity, ts, detail FROM live_signals WHERE kind <> 'reorder' ORDER BY signal_id"
        )
    assert _key(local) == _key(server)
    kinds = set(zip(local.kind, local.sku))
    assert kinds == {("demand_above_forecast", "A1"), ("demand_below_forecast", "B1")}
    assert local[local.sku == "A1"].severity.tolist() == [1, 2, 3]  # told again only when it escalates
    # units so far when told: the retried event and the late line of the week before are not counted
    assert [json.loads(d)["units"] for d in local[local.sku == "A1"].detail] == [40.0, 80.0, 140.0]
    # B1's order was cancelled in the drop after it: not demand when the week is told
    assert [json.loads(d)["units"] for d in local[local.sku == "B1"].detail] == [0.0]


def test_drops_must_be_one_format(tmp_path):
    folder = _write(tmp_path / "in", _drops()[:1])
    (folder / "x.parquet").write_bytes(b"")
    with pytest.raises(ValueError, match="mixes Parquet and NDJSON"):
        drop_files(folder)
    with pytest.raises(ValueError, match="no .ndjson"):
        drop_files(_write(tmp_path / "empty", []))


@pytest.mark.parametrize("parquet", [False, True], ids=["ndjson", "parquet"])
def test_spark_structured_streaming_replay_equals_local(tmp_path, parquet):
    pytest.importorskip("pyspark")
    from supplyfit.scale import spark_session

    folder = _write(tmp_path / "in", _drops(), parquet=parquet)
    local = sense(folder, FORECASTS)
    remote = sense(folder, FORECASTS, engine="spark", spark=spark_session("local[2]"), output=tmp_path / "s.ndjson")
    assert len(local) == 4 and _key(remote) == _key(local)
    written = [json.loads(line) for line in (tmp_path / "s.ndjson").read_text().splitlines()]
    assert [(w["kind"], w["sku"], w["severity"], w["detail"]["units"]) for w in written] == [
        (k[0], k[1], k[3], k[4]) for k in _key(local)
    ]


@pytest.mark.parametrize("order", ["in time", "shuffled"])
def test_the_sensor_nets_across_micro_batches_as_the_panel_nets_the_whole_week(order):
    """Random sales and returns of one week, fed in 25 micro-batches (in time order, or in any order: a
    cancellation may arrive before its sale): the sensor's week equals :func:`demand_lines` over all the lines."""
    import numpy as np

    from supplyfit.demand import demand_lines
    from supplyfit.scale.sensing import Sensor

    rng = np.random.default_rng(3)
    n = 3000
    lines = pd.DataFrame(
        {
            "week": WEEK,
            "sku": rng.choice(["A1", "A2", "B1"], n),
            "customer_id": pd.array(rng.choice(["c1", "c2", "c3", None], n), dtype="string"),
            "quantity": rng.choice([1, 2, 3], n) * rng.choice([1, 1, 1, 1, -1], n),
            "unit_price": rng.choice([1.0, 2.0], n),
            "ts": WEEK + pd.to_timedelta(np.sort(rng.integers(0, 7 * 24 * 60, n)), unit="min"),
            "category": "bags",
        }
    )
    batches = np.array_split(np.arange(n) if order == "in time" else rng.permutation(n), 25)
    sensor = Sensor(FORECASTS)
    for rows in batches:
        sensor.add(lines.iloc[rows], lines["ts"].max() if order == "shuffled" else lines["ts"].iloc[rows].max())
    got = sensor.week().set_index("unique_id")[["units", "revenue"]]
    kept = demand_lines(lines)
    want = kept.assign(revenue=kept["quantity"] * kept["unit_price"]).groupby("sku")[["quantity", "revenue"]].sum()
    assert kept["quantity"].sum() < lines["quantity"].clip(lower=0).sum()  # some sales were cancelled
    assert np.allclose(got.loc[want.index, "units"], want["quantity"])
    assert np.allclose(got.loc[want.index, "revenue"], want["revenue"])


def test_ids_are_read_as_the_store_keeps_them():
    """A numeric id column with a gap comes as floats (13085.0): read as 13085, as the store reads it, so a sale and
    its cancellation in drops of either kind match; blanks are none."""
    from supplyfit.scale.sensing import _typed

    base = {"order_id": "O", "sku": "A1", "quantity": 1, "unit_price": 2.0, "ts": "2024-04-01T10:00:00"}
    gap = pd.read_json(
        io.StringIO(json.dumps([{**base, "customer_id": 13085}, {**base, "customer_id": None}])), dtype=False
    )
    full = pd.DataFrame(
        [{**base, "customer_id": 13085}, {**base, "customer_id": " 13086 "}, {**base, "customer_id": ""}]
    )
    assert gap["customer_id"].dtype == float  # what pandas makes of it
    assert _typed(gap)["customer_id"].tolist() == ["13085", pd.NA]
    assert _typed(full)["customer_id"].tolist() == ["13085", "13086", pd.NA]


def test_parquet_drops_that_type_a_column_differently_get_a_clear_error(tmp_path):
    from supplyfit.scale.sensing import _parquet_schema

    folder = tmp_path / "in"
    folder.mkdir()
    base = {"order_id": "O", "sku": "A1", "quantity": 1, "unit_price": 2.0, "ts": pd.Timestamp("2024-04-01")}
    pd.DataFrame([{**base, "customer_id": 13085}]).to_parquet(folder / "a.parquet")
    pd.DataFrame([{**base, "customer_id": "c1"}]).to_parquet(folder / "b.parquet")
    with pytest.raises(ValueError, match=r"type customer_id differently \(int64 in a.parquet; string in b.parquet\)"):
        _parquet_schema(folder, drop_files(folder), spark=None)
