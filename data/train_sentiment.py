"""Train the shipped sentiment model on the full 10-category review set (run from the repo root).

python data/train_sentiment.py [../shared/data/reviews_zh/online_shopping_10_cats_dev.csv]
"""

import sys
import time
from pathlib import Path

import pandas as pd

from supplyfit.voice import SentimentModel
from supplyfit.voice.sentiment import PRETRAINED

src = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/reviews_zh/online_shopping_10_cats_dev.csv")
reviews = pd.read_csv(src).dropna(subset=["review"])
t0 = time.time()
model = SentimentModel().fit(reviews["review"], reviews["label"])
out = Path("supplyfit/voice") / PRETRAINED
model.save(out)
print(f"trained on {len(reviews):,} reviews in {time.time() - t0:.1f}s -> {out} ({out.stat().st_size / 1e6:.1f} MB)")
