"""Each CLI stage on generated stores of growing size: wall time and peak memory (RSS) per stage and size.

    python benchmarks/stages.py --skus 5000 20000 50000 [--stages ingest forecast plan match verify monitor report]
                                [--limit-gb 8] [--work DIR] [--forecast-model auto] [--customers N]
                                [--real ../shared/data/online_retail/online_retail_II_2009_2010.parquet]

The data is :mod:`supplyfit.scale.synthetic`'s generator (two years of weekly history, one order line per order,
no customer ids; with ``--customers N`` the lines are grouped into orders of about 2.5 lines of N customers), or
with ``--real FILE`` a real shop's orders replicated with SKU suffixes and varied volumes (:func:`write_replicated`),
written as one Parquet file and loaded with ``supplyfit ingest orders`` (the ``ingest`` stage); every stage then
runs as ``supplyfit <stage>`` in a process of its own, its peak RSS read from the kernel's accounting of that child
(``os.wait4``), under ``ulimit -v`` (``--limit-gb``) so that a runaway stage fails instead of taking the machine
down. Stages run in chain order (``plan`` reads ``forecast``'s table, ``report`` every result). With ``--work`` the
generated files and stores are kept and reused (``ingest`` then loads into a fresh copy). At the end: a table, and
how each stage's time and memory grew against the SKUs between the smallest and the largest size (1.0 = linear).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from supplyfit.scale.synthetic import write_orders

STAGES = ("ingest", "forecast", "plan", "match", "verify", "monitor", "report")
CURVES = (("wall seconds per stage, by SKUs", "seconds"), ("peak GiB per stage, by SKUs", "peak_gib"))


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
    ap.add_argument("--svg", type=Path, help="also draw time and memory against SKUs per stage (an SVG file)")
    ap.add_argument(
        "--plot",
        type=Path,
        nargs="+",
        help="draw --svg from these stages.csv files of earlier runs instead of running anything",
    )
    ap.add_argument(
        "--real",
        type=Path,
        help="instead of the generator: this UCI Online Retail II file replicated to the SKUs asked for",
    )
    args = ap.parse_args()
    if args.plot:
        draw(pd.concat([pd.read_csv(f) for f in args.plot], ignore_index=True), args.svg or Path("stages.svg"))
        return
    work = args.work or Path(tempfile.mkdtemp())
    work.mkdir(parents=True, exist_ok=True)
    cli = [sys.executable, "-m", "supplyfit.cli"]
    options = {"forecast": ["--model", args.forecast_model]}
    rows = []
    for n in args.skus:
        tag = f"{n}" if args.customers is None else f"{n}-c{args.customers}"
        tag = f"real-{n}" if args.real else tag
        data, db = work / f"orders-{tag}.parquet", work / f"stages-{tag}.duckdb"
        if not data.exists():
            t0 = time.perf_counter()
            # in a process of its own: a stage's peak RSS counts its parent's at the fork (Linux keeps the high-water
            # mark across exec), so this process must not hold the generated lines
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                job = (
                    pool.submit(write_replicated, data, n, args.real)
                    if args.real
                    else pool.submit(write_orders, data, n, customers=args.customers)
                )
                lines = job.result()
            print(f"{n:,} SKUs: {lines:,} lines generated in {time.perf_counter() - t0:.0f} s", flush=True)
        if "ingest" in args.stages or not db.exists():
            for stale in (db, Path(f"{db}.secret"), Path(f"{db}.wal")):
                stale.unlink(missing_ok=True)
        for stage in [s for s in STAGES if s in args.stages or (s == "ingest" and not db.exists())]:
            cmd = {
                "ingest": ["ingest", "orders", str(data)] + (["--preset", "uci-online-retail"] if args.real else []),
                "report": ["report", "--out", str(work / f"report-{tag}.html")],
            }.get(stage, [stage])
            r = measure(cli + cmd + ["--db", str(db)] + options.get(stage, []), args.limit_gb)
            if stage == "report" and r["rc"] == 0:
                r["report_mib"] = (work / f"report-{tag}.html").stat().st_size / 2**20
            rows.append({"skus": n, "customers": args.customers or 0, "stage": stage, **r})
            print(rows[-1], flush=True)
    df = pd.DataFrame(rows).drop(columns="tail")
    df.to_csv(work / "stages.csv", mode="a", header=not (work / "stages.csv").exists(), index=False)
    print(df.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print_growth(df)
    if args.svg:
        draw(df, args.svg)


def draw(df: pd.DataFrame, path: Path) -> None:
    """Wall time and peak memory of each stage against the SKUs (the last run of each stage and size), as two
    line charts in one SVG file (the report's own chart code: no plotting library needed)."""
    from supplyfit.monitor.svg import Series, lines

    ok = df[df.rc == 0].drop_duplicates(["skus", "customers", "stage"], keep="last").sort_values("skus")
    charts = [
        lines(
            title,
            [Series(stage, g[column].tolist(), g["skus"].tolist()) for stage, g in ok.groupby("stage", sort=False)],
            markers=True,
        )
        for title, column in CURVES
    ]
    path.write_text("<div>" + "".join(charts) + "</div>" if path.suffix == ".html" else _stack(charts))
    print(f"curves: {path}")


def _stack(charts: list[str]) -> str:
    """The charts (each an <svg> sized by its viewBox) one under the other in a single SVG document."""
    sizes = [[int(float(v)) for v in c.split("viewBox='", 1)[1].split("'", 1)[0].split()[2:]] for c in charts]
    placed = [
        c.replace("<svg ", f"<svg x='0' y='{sum(h for _, h in sizes[:i])}' width='{w}' height='{h}' ", 1).replace(
            "width='100%' ", "", 1
        )
        for i, (c, (w, h)) in enumerate(zip(charts, sizes))
    ]
    width, height = max(w for w, _ in sizes), sum(h for _, h in sizes)
    return f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}'>{''.join(placed)}</svg>"


def write_replicated(path: Path, skus: int, source: Path, seed: int = 0) -> int:
    """Real orders at another scale: copies of a UCI Online Retail II file, each with its own SKUs, invoices and
    customers (ids suffixed ``~k``), until the copies hold about ``skus`` SKUs. Volumes vary by copy: each keeps
    a share of the invoices (40–100%, whole invoices, so baskets stay real) and multiplies quantities by 1, 2 or
    3, prices by 0.8–1.25. Dates, basket shapes, returns, postage lines and seasons are the real shop's."""
    real = pd.read_parquet(source)
    copies = max(1, round(skus / real["StockCode"].nunique()))
    rng = np.random.default_rng(seed)
    invoices = real["Invoice"].astype(str)
    parts = []
    for k in range(copies):
        keep = invoices.isin(invoices.drop_duplicates().sample(frac=rng.uniform(0.4, 1.0), random_state=seed + k))
        part = real[keep.to_numpy()].copy()
        suffix = f"~{k}"
        part["Invoice"] = part["Invoice"].astype(str) + suffix  # a C-prefix (cancellation) stays in front
        part["StockCode"] = part["StockCode"].astype(str) + suffix
        part["Customer ID"] = (part["Customer ID"].astype("Int64").astype(str) + suffix).where(
            part["Customer ID"].notna()
        )
        part["Quantity"] = part["Quantity"] * int(rng.integers(1, 4))
        part["Price"] = (part["Price"] * rng.uniform(0.8, 1.25)).round(2)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out.to_parquet(path, index=False)
    return len(out)


def print_growth(df: pd.DataFrame) -> None:
    """Per stage, the exponent b of time ~ SKUs^b (and memory) between the smallest and largest size: 1 is linear,
    0 flat. Read from two points only, so a stage dominated by fixed cost at the small size shows b < 1."""
    sizes = sorted(df.skus.unique())
    if len(sizes) < 2:
        return
    lo, hi = sizes[0], sizes[-1]
    print(f"growth from {lo:,} to {hi:,} SKUs (x{hi / lo:.0f}); exponent b in cost ~ SKUs^b")
    for stage, g in df[df.rc == 0].groupby("stage", sort=False):
        a, b = g[g.skus == lo], g[g.skus == hi]
        if len(a) and len(b):
            scale = np.log(hi / lo)
            t = np.log(b.seconds.iloc[0] / a.seconds.iloc[0]) / scale
            m = np.log(b.peak_gib.iloc[0] / a.peak_gib.iloc[0]) / scale
            print(f"  {stage:<9} time b = {t:.2f}   memory b = {m:.2f}")


if __name__ == "__main__":
    main()
