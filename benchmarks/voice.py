"""Review sentiment quality and speed: supplyfit's SentimentModel next to SnowNLP and TF-IDF + LogisticRegression.

    python benchmarks/voice.py

Fixed stratified 80/20 split (by category × label, seed 42) of the 10-category Chinese review set; every model
is trained (where it trains) on the 80% and scored on the 20%, in the same run.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from _common import REVIEWS
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from supplyfit.voice import SentimentModel


def main() -> None:
    df = pd.read_csv(REVIEWS).dropna(subset=["review"])
    train, test = train_test_split(df, test_size=0.2, stratify=df["cat"] + df["label"].astype(str), random_state=42)
    print(f"train {len(train):,} / test {len(test):,} reviews")
    results = {}

    t0 = time.perf_counter()
    ours = SentimentModel().fit(train["review"], train["label"])
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    results["supplyfit SentimentModel"] = (ours.predict(test["review"]), t_train, time.perf_counter() - t0)

    tfidf = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2),
        LogisticRegression(C=4.0, max_iter=2000),
    )
    t0 = time.perf_counter()
    tfidf.fit(train["review"], train["label"])
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    results["TF-IDF char 1-3 + LogisticRegression"] = (tfidf.predict(test["review"]), t_train, time.perf_counter() - t0)

    from snownlp import SnowNLP

    sample = test["review"]
    t0 = time.perf_counter()
    snow = np.array([int(SnowNLP(t).sentiments >= 0.5) for t in sample])
    results["SnowNLP (off the shelf)"] = (snow, 0.0, time.perf_counter() - t0)

    rows = []
    for name, (pred, t_train, t_pred) in results.items():
        row = {
            "model": name,
            "accuracy": accuracy_score(test["label"], pred),
            "macro_f1": f1_score(test["label"], pred, average="macro"),
            "train_s": t_train,
            "predict_per_s": len(test) / t_pred,
        }
        for cat, grp in test.assign(pred=pred).groupby("cat"):
            row[cat] = accuracy_score(grp["label"], grp["pred"])
        rows.append(row)
    res = pd.DataFrame(rows)
    pd.set_option("display.width", 250)
    print(res.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    t0 = time.perf_counter()
    SentimentModel.pretrained()
    print(f"pretrained model load: {time.perf_counter() - t0:.2f}s (target < 2s)")
    o = res.iloc[0]
    worst = o.iloc[5:].astype(float)
    print(
        f"ours: accuracy {o.accuracy:.4f} (target >= 0.95), worst category {worst.idxmin()} {worst.min():.4f} "
        f"(target >= 0.90), {o.predict_per_s:,.0f} reviews/s (target >= 5,000)"
    )


if __name__ == "__main__":
    main()
