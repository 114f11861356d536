"""Product catalogue rules: which lines are not products, and a category and tags from a product name.

Sources rarely carry a clean category, so a keyword categoriser gives every SKU one (a source
``category`` column always wins). Non-product lines (postage, fees, adjustments, tests) are kept in
the store but flagged, so analytics can leave them out.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

# The rules are pure functions of a name, asked again for the same names at every load (a stream of event
# batches refreshes the same products each time): cached, they cost a dictionary lookup (26 µs a name without).
_NAMES = 1 << 16

NON_PRODUCT_SKU = re.compile(
    r"^(POST|DOT|M|C2|D|S|B|CRUK|PADS|AMAZONFEE|BANK CHARGES|ADJUST\d*|TEST\d*|GIFT.*|"
    r"运费|邮费|手续费|调整)$",
    re.IGNORECASE,
)
NON_PRODUCT_TEXT = re.compile(
    r"^\s*carriage\b|"  # "CARRIAGE" is postage; "CARRIAGE CLOCK" is a product
    r"\b(postage|manual|discount|bank charges|amazon fee|adjust(ment)?|test|dotcom|samples?|"
    r"fee|cruk commission)\b|运费|邮费|手续费|补差|调价|测试",
    re.IGNORECASE,
)

# First matching rule wins; ordered from specific to general.
CATEGORY_RULES: list[tuple[str, str]] = [
    ("christmas", r"christmas|xmas|advent|santa|reindeer|snowflake|圣诞"),
    ("candles & lighting", r"candle|t-light|tealight|lantern|\blights?\b|\blamps?\b|night light|蜡烛|灯"),
    ("bags", r"\bbag\b|bags|lunchbag|\btote|shopper|purse|backpack|rucksack|包"),
    (
        "kitchen & dining",
        r"\bmugs?\b|\bcups?\b|saucer|plate|bowl|\bjugs?\b|teapot|cake|baking|lunch box|napkin|cutlery|"
        r"spoon|\btrays?\b|kitchen|apron|tea towel|bottle|\bjars?\b|餐|杯|碗|厨",
    ),
    (
        "stationery & gift wrap",
        r"\bcards?\b|\bwrap|paper|notebook|pencil|\bpens?\b|sticker|ribbon|tissue|envelope|"
        r"journal|\btape\b|gift tag|纸|笔|本",
    ),
    (
        "home decor",
        r"\bsigns?\b|plaque|frame|clock|mirror|cushion|doormat|garland|bunting|hanging|heart|"
        r"decoration|ornament|wreath|vase|wall art|装饰|摆件",
    ),
    ("storage", r"\bbox\b|boxes|\btins?\b|basket|storage|drawer|\bcases?\b|crate|holder|收纳|盒"),
    ("toys & games", r"\btoys?\b|\bgames?\b|\bdolls?\b|jigsaw|puzzle|playhouse|skipping rope|spaceboy|\bplay|玩具"),
    (
        "jewellery & accessories",
        r"necklace|earring|bracelet|\brings?\b|brooch|\bhair|umbrella|scarf|glove|"
        r"首饰|项链|发",
    ),
    ("garden & outdoor", r"garden|\bplant|\bpots?\b|flower|\bbirds?\b|watering|花|园艺"),
]
_CATEGORY_RX = [(name, re.compile(rx)) for name, rx in CATEGORY_RULES]  # matched on lower-cased names

GROUP_RULES: list[tuple[str, str]] = [
    ("children", r"child|kid|baby|boy|girl|toy|doll|nursery|儿童|宝宝|婴"),
    ("students", r"school|student|pencil|ruler|notebook|lunch box|学生|文具"),
    ("seniors", r"reading glass|walking|senior|老人"),
    ("gifts & trend", r"gift|present|retro|vintage|party|birthday|wedding|礼"),
]
_GROUP_RX = [(name, re.compile(rx)) for name, rx in GROUP_RULES]


@lru_cache(maxsize=_NAMES)
def is_non_product(sku: str | None, description: str | None) -> bool:
    """True for lines that are not goods: postage, fees, manual adjustments, tests."""
    if sku and NON_PRODUCT_SKU.match(sku.strip()):
        return True
    return bool(description and NON_PRODUCT_TEXT.search(description))


@lru_cache(maxsize=_NAMES)
def categorize(name: str | None) -> str:
    """A coarse category from a product name; 'other' when no rule matches."""
    if not name:
        return "other"
    name = name.lower()
    for category, rx in _CATEGORY_RX:
        if rx.search(name):
            return category
    return "other"


def target_groups(name: str | None) -> list[str]:
    """Consumer groups a product name points at (children, students, seniors, gifts & trend)."""
    low = (name or "").lower()
    return [g for g, rx in _GROUP_RX if rx.search(low)]


@lru_cache(maxsize=_NAMES)
def attributes(name: str | None) -> str:
    """JSON attributes derived from a name, stored in ``products.attributes``."""
    return json.dumps({"groups": target_groups(name)}, ensure_ascii=False)
