"""Each CLI stage on generated stores of growing size: wall time and peak memory (RSS) per stage and size.

    python benchmarks/stages.py --skus 5000 20000 50000 [--stages forecast plan match monitor]
                                [--limit-gb 8] [--work DIR] [--forecast-model auto] [--customers N]

The store is ``benchmarks/scale.py``'s generator (two years of weekly history, one order line per order, no
customer ids; with ``--customers N`` the lines are grouped into orders of about 2.5 lines of N customers) loaded
with ``supplyfit ingest orders``; every stage then runs as ``supplyfit <stage>`` in a process of its own, its peak
RSS read from the kernel's accounting of that child (``os.wait4``), under ``ulimit -v`` (``--limit-gb``) so that a
runaway stage fails instead of taking the machine down. ``plan`` needs the
``forecasts`` table, so ``forecast`` runs first when it is asked for. With ``--work`` the generated stores are kept
and reused.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from supplyfit.scale.synthetic import build_store

STAGES = ("forecast", "plan", "match", "monitor")


def measure(args: list[str], limit_gb: float) -> dict:
    """Run a command in a child process under ``ulimit -v`` (address space): wall seconds, its peak RSS (the
    kernel's accounting of that child), its exit code and last line of output."""
    capped = ["bash", "-c", f'ulimit -v {int(limit_gb * 2**20)} && exec "$@"', "stage", *args]
    t0 = time.perf_counter()
    child = subprocess.Popen(
        capped,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "COLUMNS": "200"},
    )
    out = child.stdout.read().decode(errors="replace") if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return {
        "seconds": time.perf_counter() - t0,
        "peak_gib": usage.ru_maxrss / 2**20,
        "rc": child.returncode,
        "tail": out.strip().splitlines()[-1][:160] if out.strip() else "",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skus", type=int, nargs="+", default=[5000, 20000])
    ap.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    ap.add_argument("--limit-gb", type=float, default=8.0, help="address-space limit of each stage's process")
    ap.add_argument("--work", type=Path, help="keep (and reuse) the generated stores here")
    ap.add_argument("--forecast-model", default="auto", help="model of the forecast stage (plan reads its output)")
    ap.add_argument("--customers", type=int, help="group the lines into orders of this many customers")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp())
    work.mkdir(parents=True, exist_ok=True)
    cli = [sys.executable, "-m", "supplyfit.cli"]
    options = {"forecast": ["--model", args.forecast_model]}
    rows = []
    for n in args.skus:
        db = work / (f"stages-{n}.duckdb" if args.customers is None else f"stages-{n}-c{args.customers}.duckdb")
        if not db.exists():
            t0 = time.perf_counter()
            lines = build_store(db, n, customers=args.customers)
            print(f"{n:,} SKUs: {lines:,} lines stored in {time.perf_counter() - t0:.0f} s", flush=True)
        for stage in [s for s in STAGES if s in args.stages]:
            r = measure(cli + [stage, "--db", str(db)] + options.get(stage, []), args.limit_gb)
            rows.append({"skus": n, "customers": args.customers or 0, "stage": stage, **r})
            print(rows[-1], flush=True)
    df = pd.DataFrame(rows).drop(columns="tail")
    print(df.to_string(index=False, float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
