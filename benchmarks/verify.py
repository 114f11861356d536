"""Product-information verification on the 2009–2010 orders: counts by kind, examples, and a seeded sample
of 50 findings for a hand check (``--sample FILE`` writes it as CSV with an empty ``agree`` column).

    python benchmarks/verify.py [--sample docs/verification_sample.csv]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import pandas as pd
from _common import UCI

from supplyfit.store import Store, ingest_orders
from supplyfit.trust import verify_catalog


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", help="write a seeded sample of 50 findings (non-info) to this CSV")
    ap.add_argument("--examples", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Store(f"{tmp}/s.duckdb") as st:
        ingest_orders(st, UCI, preset="uci-online-retail")
        t0 = time.perf_counter()
        f = verify_catalog(st)
        took = time.perf_counter() - t0
        lines = st.query("SELECT count(*) AS n FROM orders").n[0]
    print(
        f"{lines:,} order lines checked in {took:.1f} s; {len(f):,} findings; "
        f"{f.attrs['tier_priced_lines']:,} price deviations explained by quantity tiers (not reported)\n"
    )
    counts = f.groupby(["kind", "severity"]).size().unstack(fill_value=0)
    print("| kind | " + " | ".join(counts.columns) + " | total |\n|---" * 1 + "|---:" * (len(counts.columns) + 1) + "|")
    for kind, row in counts.iterrows():
        print(f"| {kind} | " + " | ".join(str(v) for v in row) + f" | {row.sum()} |")
    print()
    for kind, g in f.groupby("kind"):
        print(f"### {kind}\n")
        for r in g.head(args.examples).itertuples():
            print(f"- **{r.severity}** `{r.sku}`: {r.reason}")
        print()
    if args.sample:
        pool = f[f.severity != "info"]
        sample = pool.sample(50, random_state=7).sort_values("finding_id")
        sample.assign(agree="")[["finding_id", "kind", "severity", "sku", "reason", "evidence", "agree"]].to_csv(
            args.sample, index=False
        )
        print(f"sample of 50 written to {args.sample}: kinds {sample.kind.value_counts().to_dict()}")


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    main()
