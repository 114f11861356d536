"""Complaint reasons on real negative reviews: how many get a reason, per category, and seeded examples to read.

    python benchmarks/complaint_reasons.py [--read REASON] [--n 30]

There is no labelled reason set to score against, so precision is read by eye: ``--read`` prints ``--n`` random
negative reviews filed under a reason with the words that matched (docs/benchmarks.md records what was read).
"""

from __future__ import annotations

import argparse

import pandas as pd
from _common import REVIEWS

from supplyfit.voice import urgency


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--read", help="print examples filed under this reason")
    ap.add_argument("--n", type=int, default=30)
    args = ap.parse_args()
    df = pd.read_csv(REVIEWS).dropna(subset=["review"])
    neg = df[df["label"] == 0].copy()
    found = [urgency(str(t), 0.9, str(c)) for t, c in zip(neg["review"], neg["cat"], strict=True)]
    neg["reason"], neg["matched"] = [f[1] for f in found], [f[2] for f in found]
    print(f"{len(neg):,} negative reviews; share under each reason:")
    print(neg["reason"].value_counts(normalize=True).round(3).to_string())
    print("\nshare left 'other' (no reason named), per category:")
    print(neg.groupby("cat")["reason"].apply(lambda s: (s == "other").mean()).round(2).to_string())
    if args.read:
        some = neg[neg["reason"] == args.read]
        for row in some.sample(min(args.n, len(some)), random_state=2).itertuples():
            print(f"{row.cat} | {row.matched} | {str(row.review)[:100]}")


if __name__ == "__main__":
    main()
