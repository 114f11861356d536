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

import pandas as pd

from supplyfit.scale.synthetic import generate


def measure(step: str, engine: str, data: Path, work: Path, master: str) -> dict:
    """Run one step in a fresh process: wall seconds, the Python process's peak RSS and, on Spark, the JVM's."""
    code = f"""
import time, json, sys
from supplyfit.scale import build_panel, forecast, spark_session
spark = spark_session({master!r}) if {engine!r} == "spark" else None
t = time.perf_counter()
if {step!r} == "panel":
    r = build_panel({str(data)!r}, engine={engine!r}, spark=spark, output={str(work / f"panel-{engine}")!r})
else:
    r = forecast({str(work / "panel-local")!r}, h=8, model="ses", calibrate=False, engine={engine!r}, spark=spark,
                 output={str(work / f"fc-{engine}")!r})
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
