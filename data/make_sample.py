"""Cut the bundled demo sample from the full datasets in ../shared/data (run from the repo root).

Orders: the 120 best-selling products by revenue plus 25 products launched Aug–Oct 2010, on 60% of their
invoices (seeded), with the postage/fee lines of those invoices kept so non-product handling is exercised.
Reviews: 300 reviews per category (seeded, stratified) of the 10-category Chinese review set.
"""

from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path("../shared/data")
OUT = Path("supplyfit/data")


def main() -> None:
    df = pd.read_parquet(SHARED / "online_retail/online_retail_II_2009_2010.parquet")
    goods = df[df.StockCode.str.match(r"^\d{5}")]
    revenue = (goods.Quantity * goods.Price).groupby(goods.StockCode).sum()
    first = goods.groupby("StockCode").InvoiceDate.min()
    launched = first[(first >= "2010-08-01") & (first < "2010-10-15")].index
    launch_top = goods[goods.StockCode.isin(launched)].groupby("StockCode").Quantity.sum().nlargest(25).index
    keep = set(revenue.nlargest(120).index) | set(launch_top)
    invoices = df[df.StockCode.isin(keep)].Invoice.unique()
    rng = np.random.default_rng(7)
    chosen = set(rng.choice(invoices, size=int(len(invoices) * 0.6), replace=False))
    sample = df[df.Invoice.isin(chosen) & (df.StockCode.isin(keep) | ~df.StockCode.str.match(r"^\d{5}"))]
    sample.to_parquet(OUT / "sample_orders.parquet", index=False)

    reviews = pd.read_csv(SHARED / "reviews_zh/online_shopping_10_cats_dev.csv")
    picked = reviews.groupby("cat", group_keys=False).apply(lambda g: g.sample(n=min(300, len(g)), random_state=7))
    picked.to_csv(OUT / "sample_reviews.csv", index=False)
    print(f"orders: {len(sample)} lines, reviews: {len(picked)}")


if __name__ == "__main__":
    main()
