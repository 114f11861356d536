"""Mine reviews into what a product team and a service desk can act on.

Aspects are the nouns people write about in each category (found with jieba part-of-speech tags, plus English
nouns and a seed list), scored clause by clause with the sentiment model, so "屏幕很好，电池不行" counts the
screen as praised and the battery as a complaint. Needs = most-complained aspects; praise = most-praised;
the complaint queue ranks negative reviews by what is at stake (safety first) and says why, in the return and
dispute reasons a service desk files them under.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .sentiment import SentimentModel, normalize

SEED_ASPECTS = [
    "屏幕",
    "电池",
    "物流",
    "快递",
    "价格",
    "服务",
    "客服",
    "味道",
    "质量",
    "包装",
    "外观",
    "尺码",
    "做工",
    "系统",
    "键盘",
    "散热",
    "声音",
    "房间",
    "早餐",
    "位置",
    "前台",
    "环境",
    "口感",
    "效果",
    "发货",
    "性价比",
    "颜色",
    "面料",
    "内容",
    "印刷",
    "温度",
    "安装",
    "screen",
    "battery",
    "delivery",
    "price",
    "service",
    "quality",
    "size",
    "taste",
    "packaging",
]
STOP_NOUNS = set(
    "东西 问题 时候 感觉 朋友 京东 商品 产品 宝贝 卖家 买家 评价 好评 差评 时间 地方 事情 人 样子 "
    "东东 机器 电脑 手机 酒店 衣服 书 水果 平板 热水器 洗发水 蒙牛 牛奶 次 天 年 月 元 块 个 点 "
    "什么 一个 这个 那个 自己 大家 感觉 不错 还是 已经 没有 有点 垃圾 个人 一下 希望 下次 总体".split()
)

# Safety words that also say something harmless: "烂到爆炸" (terrible to bits) and "卡(是)过期的" (a card or coupon
# that has run out) are not hazards; an exploding battery and expired food are (a walk-through of the queue found both)
_NOT_HAZARD = (
    r"(?<!到)(?<!得)爆炸|(?<!卡)(?<!券)(?<!卡是)(?<!券是)(?<!卡已)(?<!券已)(?<!卡已经)(?<!券已经)"
    r"过期(?!的?(会员)?卡|的?(优惠)?券)"
)
# Mould, bugs or a foreign body: a hazard in food (:func:`urgency` files them as safety where the review or its
# category speaks of food), a defect elsewhere (a hotel carpet, inside a screen: a walk-through of the demo's queue
# found both filed as safety)
_SPOILT = "(发霉|霉变|长霉|长毛|虫子|长虫|蛆|异物|mou?ld|maggot|insect)"
_FOOD = re.compile(
    r"吃|喝|食|水果|苹果|橙|香蕉|芒果|火龙果|猕猴桃|葡萄|牛奶|奶粉|酸奶|肉|面包|蛋糕|零食|饼干|大米|蔬菜|茶叶|饮料|"
    r"\bfood|fruit|milk|bread|\beat|\bate\b|drink|snack",
    re.IGNORECASE,
)
_SPOILT_RX = re.compile(_SPOILT, re.IGNORECASE)
URGENCY = [  # (reason, weight, pattern); the heaviest reason found wins, and among equals the first listed
    (
        "safety",
        5.0,
        _NOT_HAZARD + r"|起火|着火|漏电|触电|过敏|中毒|受伤(?!的)|烫伤|(?<!要)(?<!得)冒烟|烧焦|变质|拉肚子|安全隐患|"
        r"fire|burn|injur|allerg|unsafe|poison|expired",
    ),
    (  # not a bare 骗: "有种被欺骗的感觉" about a promotion or "说明书上都是骗人的" is no fraud claim
        "fraud/fake",
        4.0,
        r"假货|(?<!真)(?<!真的)假的|骗子|诈骗|骗钱|被骗了|行骗|欺诈|山寨|翻新|二手|不是正品|盗版|以次充好|虚假|"
        r"fake|scam|counterfeit|fraud",
    ),
    (
        "quality defect",
        3.0,
        r"坏了|坏的|质量差|质量太差|破损|故障|死机|漏水|(?<!歪瓜)裂(?!枣)|不能用|用不了|开不了机|黑屏|蓝屏|"
        r"掉色|起球|缩水|不亮|异响|烂了|烂的|腐烂|坏果|烂果|不新鲜|做工粗糙|做工差|做工一般|粗糙|脱漆|掉漆|开线|脱线|"
        r"漏光|漏液|漏了|瑕疵|划痕|破旧|破了|有洞|次品|不合格|脏(?!话)|不干净|蟑螂|有虫|异味|臭(?!脸)|"
        rf"{_SPOILT}|霉味|卫生(很|太|非常|极)?差|坏点|faded|poor quality|cheaply made|"
        r"质量[^，。！？,.!?]{0,6}(差|不好|不行|一般)|"
        r"印刷(差|不清|模糊|质量差)|纸张(差|太差|太薄|很薄)|纸质(差|太差)|"
        r"broken|defect|stopped working|doesn'?t work|crack",
    ),
    (
        "not as described",
        3.0,
        r"(图片|描述|宣传|介绍|实物|页面|网上|说明|图上|照片|广告)[^，。！？,.!?]{0,6}(不符|不一样|不同|相差|差太|差距|不一致|两回事)|"
        r"(不符|不一样|相差|差距)[^，。！？,.!?]{0,4}(图片|描述|宣传|照片)|色差|货不对板|名不副实|"
        r"not as described|not as (pictured|advertised)|(different|differs) from the (picture|photo|description)|"
        r"(doesn'?t|does not|didn'?t) (match|look like) the (picture|photo|description)",
    ),
    (
        "wrong or missing item",
        3.0,
        r"发错|错发|少发|漏发|缺件|少了一(个|件|瓶|本|袋|条|盒|箱|只|双|根|块|张)|少一个|少了个|"
        r"赠品[^，。！？,.!?]{0,8}(没|无|未|少|不送|不给)|(没|无|未|不送|不给|少)[^，。！？,.!?]{0,6}赠品|"
        r"没有(耳机|发票|说明书|配件|光盘|驱动盘)|没送[^，。！？,.!?]{0,4}(卡|赠品|配件|耳机|充电器|数据线)|"
        r"(耳机|充电器|充电头|数据线|说明书|存储卡|内存卡|配件)[^，。！？,.!?]{0,3}都?没有|"
        r"说好的[^，。！？,.!?]{0,10}(没|无)|wrong (item|colou?r|size|model)|missing (parts?|items?|pieces?)|"
        r"(sent|shipped|received) the wrong",
    ),
    (
        "size or fit",
        2.0,
        r"尺码|尺寸不(对|合|符|准|标准)|不合身|码数|大一号|小一号|大一码|小一码|(码|号|穿|衣服|裤子|鞋|腰|袖)[^，。！？,.!?]{0,4}偏(大|小)|"
        r"too (small|big|large|tight|loose)|doesn'?t fit",
    ),
    (  # listed after size or fit: a return is often how a wrong size ends ("尺码不准…想退货")
        "service",
        2.0,
        r"客服|态度|服务差|不理(?!想|解|智)|售后|退款|退货|换货|投诉|前台|refund|rude|customer service|return",
    ),
    (
        "delivery",
        2.0,
        r"物流|快递|送货|发货|配送|丢件|没收到|迟迟|延迟|等了|delivery|shipping|courier|\blate\b|never arrived",
    ),
    (
        "price",
        1.5,
        r"降价|差价|价保|太贵|好贵|偏贵|略贵|贵了|不值|值不了|性价比(低|不高|差|太低)|坑钱|"
        r"价格(?![^，。！？,.!?]{0,3}不)[^，。！？,.!?]{0,4}(高|贵)|overpriced|\bexpensive|price drop",
    ),
    (  # the product does not do its job well: taste, speed, heat, noise, a book's content
        "performance",
        1.5,
        r"不好用|难用|没效果|没有效果|效果不好|效果差|效果一般|不好吃|难吃|太酸|很酸|不甜|不熟|咬不动|难喝|不好喝|卡顿|很卡|"
        r"有点卡|太卡|卡得要死|卡的要死|卡得不行|卡的不行|发热|发烫|散热(不好|不行|差|一般)|噪音|噪声|太吵|续航|耗电|"
        r"信号(差|不好)|(信号|短信|彩信|消息|无线|网络)[^，。！？,.!?]{0,4}收不到|收不到(信号|短信|彩信|消息)|"
        r"头皮(痒|发痒)|头皮屑|掉发|干枯|毛躁|反应慢|运行慢|速度慢|太慢了|隔音|不舒服|没意思|无聊|看不下去|看不懂|"
        r"内容(空洞|一般|太少|太浅|肤浅)|不好看|too loud|slow|noisy|tastes? (bad|awful)|"
        r"battery (life|drains)|(doesn'?t|does not) last|useless|(doesn'?t|does not|didn'?t) work well",
    ),
]
_URGENCY_RX = [(name, w, re.compile(rx, re.IGNORECASE)) for name, w, rx in URGENCY]
_ESCALATION = re.compile(r"投诉|12315|律师|起诉|曝光|再也不|骗子|!!|！！|lawyer|sue|never again", re.IGNORECASE)
_CLAUSE = re.compile(r"[，。！？；,.!?;~\n]+|\s{2,}")
_EN_NOUN = re.compile(r"[a-z]{3,}")


@dataclass
class Insights:
    """Tables returned by :func:`mine`."""

    scores: pd.DataFrame  # review_id, category, p_positive, predicted, label
    aspects: pd.DataFrame  # category, aspect, mentions, share, positive_share, negative_share, examples
    brief: pd.DataFrame  # category, kind (need|praise), rank, aspect, mentions, share, example
    complaints: pd.DataFrame  # rank, review_id, category, urgency, reason, matched, p_negative, text

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "review_scores": self.scores,
            "aspects": self.aspects,
            "design_brief": self.brief,
            "complaints": self.complaints,
        }


def clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE.split(normalize(text)) if c.strip()]


def _nouns(texts: list[str]) -> list[list[str]]:
    import logging

    import jieba
    import jieba.posseg as pseg

    jieba.setLogLevel(logging.WARNING)
    out = []
    for t in texts:
        words = [w for w, flag in pseg.cut(t) if flag in ("n", "nz", "vn", "ng") and len(w) >= 2]
        words += _EN_NOUN.findall(t)
        out.append(words)
    return out


def discover_aspects(texts: list[str], top: int = 12, min_share: float = 0.01, sample: int = 2000) -> list[str]:
    """The nouns most reviews of a category mention (seed aspects that occur are always candidates).

    Nouns are counted on a seeded sample of at most ``sample`` reviews: enough to rank them, and it bounds
    the part-of-speech tagging time on large categories."""
    if len(texts) > sample:
        texts = [texts[i] for i in np.random.default_rng(0).choice(len(texts), sample, replace=False)]
    docs = _nouns(texts)
    df = Counter(w for words in docs for w in set(words) if w not in STOP_NOUNS)
    low = [normalize(t) for t in texts]
    for seed in SEED_ASPECTS:
        n = sum(seed in t for t in low)
        if n:
            df[seed] = max(df[seed], n)
    floor = max(2, int(min_share * len(texts)))
    return [w for w, n in df.most_common() if n >= floor][:top]


def urgency(text: str, p_negative: float, category: str | None = None) -> tuple[float, str, str]:
    """Urgency score, the main reason, and the words that triggered it. ``category``: the review's, to tell
    mouldy food (a hazard) from a mouldy carpet (a defect) where the text does not say it is food."""
    low = normalize(text)
    hits = [(name, w, m.group(0)) for name, w, rx in _URGENCY_RX if (m := rx.search(low))]
    if (spoilt := _SPOILT_RX.search(low)) and _FOOD.search(f"{category or ''} {low}"):
        hits.insert(0, ("safety", URGENCY[0][1], spoilt.group(0)))
    base = max((w for _, w, _ in hits), default=1.0)
    reason = next((n for n, w, _ in hits if w == base), "other")
    score = base * (0.5 + p_negative) + (1.0 if _ESCALATION.search(low) else 0.0) + 0.1 * len(hits)
    return round(score, 3), reason, ", ".join(m for _, _, m in hits)


def mine(
    reviews: pd.DataFrame,
    model: SentimentModel | None = None,
    top_aspects: int = 12,
    top_needs: int = 5,
    examples: int = 2,
) -> Insights:
    """Sentiment per review, aspects per category, a design brief and a complaint queue.

    ``reviews`` has ``text`` and ``category`` (+ optional ``review_id``, ``sku``, ``ts``, ``label``).
    """
    if "text" not in reviews.columns:
        raise ValueError("reviews need a 'text' column")
    df = reviews.copy()
    df["category"] = df["category"].fillna("all") if "category" in df.columns else "all"
    if "review_id" not in df.columns:
        df["review_id"] = [f"r{i}" for i in range(len(df))]
    df["text"] = df["text"].fillna("").astype(str)
    model = model or SentimentModel.pretrained()
    df["p_positive"] = model.predict_proba(df["text"])
    scores = df[["review_id", "category", "p_positive"]].assign(predicted=(df["p_positive"] >= 0.5).astype(int))
    if "label" in df.columns:
        scores["label"] = df["label"]

    aspect_rows = []
    for cat, grp in df.groupby("category", sort=True):
        texts = grp["text"].tolist()
        found = discover_aspects(texts, top=top_aspects)
        parts = [(rid, c) for rid, t in zip(grp["review_id"], texts) for c in clauses(t)]
        clause_p = model.predict_proba([c for _, c in parts]) if parts else np.zeros(0)
        hits: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
        for (rid, c), p in zip(parts, clause_p):
            for a in found:
                if a in c:
                    hits[a].append((rid, c, float(p)))
        for a in found:
            h = hits.get(a, [])
            reviews_with = len({rid for rid, _, _ in h})
            if not reviews_with:
                continue
            pos = sum(p >= 0.5 for _, _, p in h) / len(h)
            best = sorted(h, key=lambda x: -x[2])[:examples]
            worst = sorted(h, key=lambda x: x[2])[:examples]
            aspect_rows.append(
                {
                    "category": cat,
                    "aspect": a,
                    "mentions": reviews_with,
                    "share": reviews_with / len(grp),
                    "positive_share": pos,
                    "negative_share": 1 - pos,
                    "positive_examples": " | ".join(c for _, c, _ in best),
                    "negative_examples": " | ".join(c for _, c, _ in worst),
                }
            )
    aspects = pd.DataFrame(
        aspect_rows,
        columns=[
            "category",
            "aspect",
            "mentions",
            "share",
            "positive_share",
            "negative_share",
            "positive_examples",
            "negative_examples",
        ],
    )

    brief_rows = []
    for cat, grp in aspects.groupby("category"):
        neg = grp.assign(weight=grp.mentions * grp.negative_share).sort_values("weight", ascending=False)
        pos = grp.assign(weight=grp.mentions * grp.positive_share).sort_values("weight", ascending=False)
        for kind, ranked, ex in (("need", neg, "negative_examples"), ("praise", pos, "positive_examples")):
            for rank, r in enumerate(ranked.head(top_needs).itertuples(), 1):
                brief_rows.append(
                    {
                        "category": cat,
                        "kind": kind,
                        "rank": rank,
                        "aspect": r.aspect,
                        "mentions": int(round(r.weight)),
                        "share": r.share,
                        "example": getattr(r, ex).split(" | ")[0],
                    }
                )
    brief = pd.DataFrame(brief_rows, columns=["category", "kind", "rank", "aspect", "mentions", "share", "example"])

    predicted_negative = df["p_positive"] < 0.5
    if "label" in df.columns:  # a given label wins; the model decides where there is none
        predicted_negative = df["label"].eq(0) | (df["label"].isna() & predicted_negative)
    negative = df[predicted_negative]
    queue = [
        (*urgency(t, 1 - p, str(cat)), rid, cat, 1 - p, t)
        for t, p, rid, cat in zip(negative["text"], negative["p_positive"], negative["review_id"], negative["category"])
    ]
    complaints = pd.DataFrame(
        queue, columns=["urgency", "reason", "matched", "review_id", "category", "p_negative", "text"]
    )
    complaints = complaints.sort_values(["urgency", "p_negative"], ascending=False, ignore_index=True)
    complaints.insert(0, "rank", np.arange(1, len(complaints) + 1))
    return Insights(
        scores,
        aspects,
        brief,
        complaints[["rank", "review_id", "category", "urgency", "reason", "matched", "p_negative", "text"]],
    )
