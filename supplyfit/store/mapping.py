"""Column mapping: which source column feeds which store field.

Users bring their own schemas, so a mapping is resolved from (in order of precedence) explicit
``source=field`` overrides, a named preset, and recognition of common English and Chinese headers.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

MERCHANT_HEADERS = (
    "merchant",
    "seller",
    "supplier",
    "vendor",
    "brand",
    "merchant_id",
    "seller_id",
    "supplier_id",
    "商家",
    "卖家",
    "供应商",
    "品牌",
    "商家名称",
    "店铺名称",
)

# field -> (required, header synonyms; compared after normalisation)
ORDER_FIELDS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "order_id": (
        True,
        (
            "order_id",
            "orderid",
            "order",
            "order_no",
            "order_number",
            "invoice",
            "invoiceno",
            "invoice_no",
            "订单号",
            "订单编号",
            "订单id",
            "单号",
        ),
    ),
    "sku": (
        True,
        (
            "sku",
            "stockcode",
            "stock_code",
            "product_id",
            "productid",
            "item_id",
            "itemid",
            "item",
            "product_code",
            "lineitem_sku",  # a Shopify orders export
            "商品编码",
            "商品编号",
            "商品id",
            "货号",
            "sku编码",
        ),
    ),
    "description": (
        False,
        (
            "description",
            "product_name",
            "productname",
            "name",
            "item_name",
            "lineitem_name",
            "title",
            "商品名称",
            "商品名",
            "品名",
            "商品标题",
        ),
    ),
    "quantity": (
        True,
        ("quantity", "qty", "units", "amount_units", "lineitem_quantity", "数量", "购买数量", "销量", "件数"),
    ),
    "unit_price": (True, ("unit_price", "unitprice", "price", "lineitem_price", "单价", "价格", "售价", "成交价")),
    "ts": (
        True,
        (
            "ts",
            "timestamp",
            "date",
            "datetime",
            "order_date",
            "invoicedate",
            "invoice_date",
            "created_at",
            "order_time",
            "下单时间",
            "订单时间",
            "时间",
            "日期",
            "下单日期",
            "付款时间",
        ),
    ),
    "customer_id": (
        False,
        (
            "customer_id",
            "customerid",
            "customer",
            "user_id",
            "userid",
            "buyer_id",
            "member_id",
            "客户编号",
            "客户id",
            "用户id",
            "会员id",
            "买家id",
            "客户",
        ),
    ),
    "region": (
        False,
        ("region", "country", "province", "city", "state", "shipping_country", "地区", "省份", "国家", "城市", "区域"),
    ),
    "channel": (False, ("channel", "platform", "store", "shop", "渠道", "平台", "店铺")),
    "category": (False, ("category", "cat", "product_category", "类别", "品类", "类目", "分类")),
    "merchant": (False, MERCHANT_HEADERS),
}

REVIEW_FIELDS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "review_id": (False, ("review_id", "reviewid", "comment_id", "id", "评论id", "评价id")),
    "sku": (False, ("sku", "stockcode", "product_id", "item_id", "商品编码", "商品id", "货号")),
    "category": (False, ("category", "cat", "类别", "品类", "类目", "分类")),
    "text": (
        True,
        ("text", "review", "review_text", "comment", "content", "body", "评论", "评价", "评论内容", "评价内容", "内容"),
    ),
    "label": (False, ("label", "sentiment", "polarity", "标签", "情感", "极性")),
    "rating": (False, ("rating", "stars", "score", "star", "评分", "星级", "打分")),
    "ts": (
        False,
        ("ts", "timestamp", "date", "datetime", "created_at", "review_date", "评论时间", "评价时间", "时间", "日期"),
    ),
    "lang": (False, ("lang", "language", "语言")),
    "merchant": (False, MERCHANT_HEADERS),
}

# the calendar of a tenant's own events: promotions, close-downs, launches (supplyfit.demand.calendar)
EVENT_FIELDS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "name": (True, ("name", "event", "event_name", "title", "活动", "活动名称", "事件", "名称")),
    "start": (True, ("start", "start_date", "from", "begin", "date", "开始", "开始日期", "开始时间", "日期")),
    "end": (False, ("end", "end_date", "to", "until", "结束", "结束日期", "结束时间")),
    "scope": (False, ("scope", "applies_to", "范围")),
    "target": (False, ("target", "category", "sku", "对象", "品类", "商品")),
    "kind": (False, ("kind", "type", "event_type", "类型", "活动类型")),
}

PERSONAL_FIELDS = frozenset({"customer_id"})  # the fields header recognition may give a personal column

FIELDS = {"orders": ORDER_FIELDS, "reviews": REVIEW_FIELDS, "events": EVENT_FIELDS}

PRESETS: dict[str, dict[str, str]] = {
    # UCI Online Retail II (xlsx/csv/parquet as published): source column -> field
    "uci-online-retail": {
        "Invoice": "order_id",
        "StockCode": "sku",
        "Description": "description",
        "Quantity": "quantity",
        "InvoiceDate": "ts",
        "Price": "unit_price",
        "Customer ID": "customer_id",
        "Country": "region",
    },
    # online_shopping_10_cats (ChineseNlpCorpus): cat, label, review
    "reviews-10cats": {"cat": "category", "label": "label", "review": "text"},
}

# Presets may also switch on source conventions that are not column renames.
PRESET_OPTIONS: dict[str, dict[str, str]] = {"uci-online-retail": {"return_prefix": "C", "date_format": "month-first"}}


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-./()]+", "_", str(name).strip().lower()).strip("_")


@dataclass(frozen=True)
class Mapping:
    """Resolved mapping: store field -> source column name."""

    kind: str
    columns: dict[str, str]

    def missing_required(self) -> list[str]:
        return [f for f, (req, _) in FIELDS[self.kind].items() if req and f not in self.columns]


def parse_overrides(pairs: list[str] | None) -> dict[str, str]:
    """Parse CLI ``--map source=field`` pairs into {source: field}."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ValueError(f"--map expects SOURCE=FIELD, got {pair!r}")
        src, field = pair.rsplit("=", 1)
        out[src.strip()] = field.strip()
    return out


def resolve(
    source_columns: list[str],
    kind: str,
    preset: str | None = None,
    overrides: dict[str, str] | None = None,
    personal: Collection[str] = (),
) -> Mapping:
    """Match source columns to store fields; unknown fields in overrides or presets raise ValueError.

    Header recognition gives ``personal`` columns (a buyer's "Name", an address) to no field but customer_id: a
    person's name is not a product's description. Mapped explicitly, they feed the field (as pseudonyms)."""
    fields = FIELDS[kind]
    columns: dict[str, str] = {}  # field -> source column
    if preset:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; known: {', '.join(sorted(PRESETS))}")
        columns.update({f: src for src, f in PRESETS[preset].items() if src in source_columns})
        if wrong := sorted(set(columns) - set(fields)):
            raise ValueError(f"preset {preset!r} is not for {kind} (no {kind} field {wrong[0]!r})")
    given: set[str] = set()  # fields the overrides set: an override replaces the preset's choice, never a sibling's
    for src, field in (overrides or {}).items():
        if src not in source_columns:
            raise ValueError(
                f"the mapping (--map, or the API's mapping field) names column {src!r}, which the file does not have "
                f"(columns: {', '.join(map(str, source_columns))})"
            )
        if field not in fields:
            raise ValueError(f"unknown {kind} field {field!r}; fields: {', '.join(fields)}")
        if field in given:
            raise ValueError(f"the mapping gives field {field!r} two columns, {columns[field]!r} and {src!r}: one")
        columns = {f: c for f, c in columns.items() if c != src}  # the column moves to the field it is given
        columns[field] = src
        given.add(field)
    return Mapping(kind, match_headers(source_columns, fields, columns, personal))


def match_headers(
    source_columns: list[str],
    fields: dict[str, tuple[bool, tuple[str, ...]]],
    columns: dict[str, str] | None = None,
    personal: Collection[str] = (),
) -> dict[str, str]:
    """``columns`` (field -> source column, given explicitly) completed by header recognition: each other field
    takes the first of its synonyms found among the source columns not yet taken (compared after normalisation);
    ``personal`` columns only for the fields in PERSONAL_FIELDS."""
    columns = dict(columns or {})
    taken = set(columns.values())
    by_norm = {_norm(c): c for c in source_columns if c not in taken}
    for field, (_, synonyms) in fields.items():
        if field in columns:
            continue
        avoid = set() if field in PERSONAL_FIELDS else set(personal)
        for syn in synonyms:
            found = by_norm.get(_norm(syn))
            if found is not None and found not in taken and found not in avoid:
                columns[field] = found
                taken.add(found)
                break
    return columns
