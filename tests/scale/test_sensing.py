"""Sensing over a folder of drops: the local replay equals the server's own path, and Spark's equals the local."""

import contextlib
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


def test_only_lines_that_share_a_return_key_go_through_the_matching_and_the_result_is_the_same():
    import numpy as np

    from supplyfit.demand import demand_lines
    from supplyfit.scale.sensing import _demand

    rng = np.random.default_rng(3)
    n = 3000
    lines = pd.DataFrame(
        {
            "week": WEEK,
            "sku": rng.choice(["A1", "A2", "B1"], n),
            "customer_id": pd.array(rng.choice(["c1", "c2", "c3", None], n), dtype="string"),
            "quantity": rng.choice([1, 2, 3], n) * rng.choice([1, 1, 1, 1, -1], n),
            "unit_price": 2.0,
            "ts": WEEK + pd.to_timedelta(np.sort(rng.integers(0, 7 * 24 * 60, n)), unit="min"),
            "category": "bags",
        }
    )
    got, want = _demand(lines), demand_lines(lines)
    assert len(want) < (lines["quantity"] > 0).sum()  # some sales were cancelled
    cols = ["sku", "customer_id", "quantity", "ts"]
    assert got[cols].sort_values(cols, ignore_index=True).equals(want[cols].sort_values(cols, ignore_index=True))
