"""Local vs Spark at growing sizes: a seeded synthetic order generator, then the panel and SES forecasts on each
engine, with wall time and peak memory. Each measurement runs in a fresh process.

    python benchmarks/scale.py --series 1000 10000 50000 [--engines local spark] [--master local[2]]
    python benchmarks/scale.py --generate 1000000 --out /data/orders   # just write the Parquet data

Generated data: 104 weeks from 2009-01-05; per SKU a log-normal base rate, an intermittency level (share of
weeks with a sale), a yearly season with a Christmas peak, a trend and negative-binomial noise; each week's units
are split over 1-3 order lines. Written as Parquet in chunks of series, so memory stays flat while generating.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

WEEKS = 104
START = pd.Timestamp("2009-01-05")
CATEGORIES = np.array(["home", "kitchen", "toys", "gifts", "garden", "stationery", "bags", "christmas"])


def generate(n_series: int, out: Path, seed: int = 0, chunk: int = 20_000) -> int:
    """Write order lines for ``n_series`` SKUs under ``out/`` (part-*.parquet); returns the number of lines."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    weeks = np.arange(WEEKS)
    season = 1 + 0.4 * np.sin(2 * np.pi * (weeks - 13) / 52) + 1.5 * np.isin(weeks % 52, np.arange(44, 51))
    total = 0
    for part, lo in enumerate(range(0, n_series, chunk)):
        m = min(chunk, n_series - lo)
        base = rng.lognormal(0.5, 1.0, m)
        active = rng.beta(2, 3, m)                                   # share of weeks with a sale
        launch = np.where(rng.random(m) < 0.2, rng.integers(0, WEEKS - 8, m), 0)
        trend = 1 + rng.normal(0, 0.004, m)[:, None] * weeks
        mu = base[:, None] * season[None, :] ** rng.uniform(0, 1, m)[:, None] * np.clip(trend, 0.1, None)
        sells = (rng.random((m, WEEKS)) < active[:, None]) & (weeks[None, :] >= launch[:, None])
        units = np.where(sells, rng.negative_binomial(2, 2 / (2 + mu)) + 1, 0)
        s, w = np.nonzero(units)
        q = units[s, w]
        lines = rng.integers(1, 4, len(q))
        s, w, q = np.repeat(s, lines), np.repeat(w, lines), np.maximum(np.repeat(q, lines) // np.repeat(lines, lines), 1)
        sku = lo + s
        ts = START + pd.to_timedelta(w * 7 + rng.integers(0, 7, len(w)), unit="D") \
            + pd.to_timedelta(rng.integers(8 * 3600, 18 * 3600, len(w)), unit="s")
        price = np.round(np.exp(rng.normal(1, 0.8, n_series))[sku], 2)
        frame = pd.DataFrame({"order_id": [f"O{part}-{i}" for i in range(len(q))],
                              "sku": [f"S{x:07d}" for x in sku], "quantity": q.astype(float), "unit_price": price,
                              "ts": ts, "category": CATEGORIES[sku % len(CATEGORIES)]})
        frame.to_parquet(out / f"part-{part:05d}.parquet", index=False, coerce_timestamps="us")
        total += len(frame)
    return total


def synthetic_panel(n_series: int, seed: int) -> pd.DataFrame:
    """The weekly panel of ``generate``'s orders, built in a temporary folder."""
    from supplyfit.scale import build_panel

    with tempfile.TemporaryDirectory() as tmp:
        generate(n_series, Path(tmp) / "orders", seed=seed)
        return build_panel(str(Path(tmp) / "orders"), engine="local")


def measure(step: str, engine: str, data: Path, work: Path, master: str) -> dict:
    """Run one step in a fresh process: wall seconds, the Python process's peak RSS and, on Spark, the JVM's."""
    code = f"""
import time, json, sys
from supplyfit.scale import build_panel, forecast, spark_session
spark = spark_session({master!r}) if {engine!r} == "spark" else None
t = time.perf_counter()
if {step!r} == "panel":
    r = build_panel({str(data)!r}, engine={engine!r}, spark=spark, output={str(work / f'panel-{engine}')!r})
else:
    r = forecast({str(work / 'panel-local')!r}, h=8, model="ses", calibrate=False, engine={engine!r}, spark=spark,
                 output={str(work / f'fc-{engine}')!r})
seconds = time.perf_counter() - t
import resource
jvm = 0.0
if spark is not None:  # the JVM's own peak (VmHWM); Spark's Python workers are not counted
    status = open(f"/proc/{{spark.sparkContext._gateway.proc.pid}}/status").read()
    jvm = int(status.split("VmHWM:")[1].split()[0]) / 1e6
print(json.dumps({{"seconds": seconds, "python_peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
                  "jvm_peak_gb": jvm}}))
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(p.stderr[-3000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--engines", nargs="+", default=["local", "spark"])
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--generate", type=int, help="only write data for this many series to --out")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.generate:
        t0 = time.perf_counter()
        n = generate(args.generate, args.out)
        print(f"{n:,} lines for {args.generate:,} series in {time.perf_counter() - t0:.0f} s → {args.out}")
        return
    rows = []
    for n in args.series:
        with tempfile.TemporaryDirectory() as tmp:
            data, work = Path(tmp) / "orders", Path(tmp)
            lines = generate(n, data)
            for step in ("panel", "forecast"):
                for engine in ["local"] + [e for e in args.engines if e != "local"]:
                    r = measure(step, engine, data, work, args.master)
                    rows.append(dict(series=n, lines=lines, step=step, engine=engine, **r))
                    print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    print(df.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    wide = df.pivot_table(index=["series", "step"], columns="engine", values="seconds")
    if {"local", "spark"} <= set(wide.columns):
        print("\nspark / local time:\n" + (wide["spark"] / wide["local"]).round(2).to_string())


if __name__ == "__main__":
    main()
