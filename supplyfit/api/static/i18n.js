// supplyfit dashboard: labels in Chinese and English, and translators for the reasons the stages write in English.
"use strict";
const T = {
  zh: {
    title: "supplyfit · 数据中台", key: "API 密钥", login: "登录", logout: "退出", lang: "English",
    signin_title: "登录运营工作台", signin_hint: "输入管理员发给你的 API 密钥（sf_ 开头）。密钥只保存在本标签页，关闭即清除。",
    bad_key: "密钥无效或已吊销", currency: "数据币种", currency_note: "订单价格所用的币种：金额按此显示，不做汇率换算",
    week: "本周待办", overview: "总览", hotspots: "热点", complaints: "投诉队列", forecast: "预测", plan: "生产计划",
    data: "数据与任务",
    fresh: "数据新鲜度", fresh_latest: "最近一次加载", fresh_none: "还没有加载任何数据", data_until: "数据截至",
    reorders: "本周要下的补货单", reorders_none: "暂无补货计划", rising: "最可能上升的商品", urgent: "紧急投诉",
    sep: "；", why_fc: "预测平均每周约 {fc} 件，本单约够预测的 {c} 周", why_fc_more: "预测平均每周约 {fc} 件，本单超过预测的全部 {n} 周", table_empty: "暂无记录", hs_axis: "评分：越高，越可能是未来几周涨得最多的商品", show_more: "再显示 {n} 行（还有 {left} 行）", fc_week: "每周预测", why_rising: "热点第 {r} 名", see_all: "查看全部", top_n: "前 {n} 项（共 {m} 项）",
    not_run: "这部分结果还没有计算。", run_it: "去「数据与任务」运行分析",
    empty_title: "欢迎！先把数据放进来", empty_1: "上传订单文件（CSV、Excel、Parquet；识别中文表头）",
    empty_2: "（可选）上传评论文件，用于投诉队列和用户之声", empty_3: "运行全部分析，约一分钟", empty_go: "开始上传",
    revenue: "销售额", units: "销量", orders: "订单数", customers: "活跃客户", avg_basket: "客单价", return_rate: "退货率",
    vs_prev: "环比", complete_month: "完整月份", partial_month: "未完结月份", partial_only: "{p} 尚未结束，数字只到目前为止。", partial_note: "{p} 的数据不完整（月份未结束），未计入对比。",
    rev_trend: "周销售额与预测", cat_share: "品类销售额占比（{p}）", history: "历史", fc: "预测", band: "80% 区间",
    partial_week: "不完整周",
    hs_title: "热点评分（前 20）", rank: "排名", item: "商品", desc: "描述", category: "品类", score: "评分",
    cs_most: "顾客最常投诉什么（全部投诉按品类和原因计数）", cs_needs: "顾客说缺什么（差评里最常提到的方面）", cs_queue: "投诉队列（最紧急的在前）",
    units_wk: "每周件数", cs_count: "投诉数", cs_share: "占全部投诉", cs_example: "最紧急的一条", cs_aspect: "方面", cs_mentions: "提及次数",
    reason: "原因", urgency: "紧急度", p_negative: "差评概率", matched: "关键词", text: "评论", week_col: "周",
    qty: "数量", total: "合计", plan_total: "计划总量 {n} 件，{s} 个 SKU，{w} 周", week_of: "{d} 当周",
    last_units: "近8周销量", pick: "选择 SKU 或品类", q10: "下限（九成可能高于）", q90: "上限（九成可能低于）", ds: "周",
    search: "搜索…", csv: "下载 CSV", rows: "{n} 行", rows_of: "前 {n} 行，共 {total} 行", all_items: "全部商品（合计）", l_weak: "没有描述相近的历史款（最高相似度 {s}）：预测主要依据价格和品类，只宜作粗略参考，首批宜小。", rows_in_first: "{n} 行（只搜索了共 {total} 行中的前 {first} 行）",
    upload: "上传文件", kind: "类型", kind_orders: "订单", kind_reviews: "评论", preset: "格式预设", preset_none: "自动识别",
    file: "文件", send: "上传", uploading: "上传中 {p}", loading_store: "已上传，正在校验入库…",
    up_mapping: "列映射（可选）", up_mapping_ph: "源列=字段，如 单号=order_id, 金额=unit_price", up_decimal: "小数分隔符",
    up_auto: "自动识别", up_point: "小数点 (1.5)", up_comma: "逗号 (1,5)", up_date: "日期顺序", up_day_first: "日在前 (31/01/2024)",
    up_month_first: "月在前 (01/31/2024)", up_date_fmt: "或日期格式", up_tz: "时区", up_retry: "请填写标红的选项后重新上传。",
    load_report: "加载报告", rows_read: "读取行数", stored: "入库", quarantined: "隔离", duplicates: "重复",
    reasons: "隔离原因", count: "行数", src_row: "源文件行号（表头为第 0 行）", raw_line: "原始内容", loads: "加载记录", load_id: "编号", file_col: "文件",
    started: "开始", finished: "完成", status: "状态", note: "备注",
    jobs: "分析任务", run_stages: "运行分析", stage: "阶段", run: "运行", progress: "进度", message: "信息", created: "创建",
    reader_only: "你的密钥是只读的：上传和运行需要 writer 密钥。", docs: "API 文档",
    st_ok: "成功", st_aborted: "已中止", st_running: "运行中", st_queued: "排队中", st_done: "完成", st_failed: "失败", st_skipped: "已跳过（同一文件已载入）", already_loaded: "这个文件与第 {id} 次载入的内容相同，未重复载入：它的行都计为重复。",
    stage_all: "全部", stage_voice: "用户之声", stage_demand: "需求预测", stage_supply: "供应计划", stage_match: "匹配推荐",
    stage_trust: "信任核验", stage_monitor: "监测指标",
    c_safety: "安全问题", "c_fraud/fake": "假货/欺诈", c_service: "服务", c_other: "其他", "c_quality defect": "质量缺陷",
    c_delivery: "物流配送", "c_not as described": "与描述不符", "c_wrong or missing item": "错发漏发", "c_size or fit": "尺码不合",
    c_price: "价格", c_performance: "使用效果差",
    live: "实时", launch: "新品设计", orders_until: "订单数据截至", reviews_until: "评论数据截至", none_yet: "暂无", undated: "{n} 条（文件里没有评论日期）",
    stale: "{n} 项结果已过期（其输入在结果之后有更新），需重新运行：{s}。", top_lines: "前 {n} 项（计划共 {m} 行，{u} 件）",
    arrives: "到货周", severity: "严重度", sev_high: "高", sev_medium: "中", sev_low: "低",
    week_units: "{d} 当周销量（已过 {n}/7 天）", week_vs: "全周预测 {fc} 件，已完成 {p}（80% 区间 {lo}–{hi}）", week_pace: "；按此速度全周约为预测的 {q}",
    no_week_fc: "本周没有预测：运行需求预测",
    events_title: "近期与即将到来的活动", events_of: "{n} 项（日历共 {m} 项）", ev_name: "名称", ev_start: "开始",
    ev_end: "结束", ev_scope: "范围", ev_target: "对象", ev_promotion: "促销", ev_closure: "停业", ev_launch: "上新",
    ev_all: "全部", ev_category: "品类", ev_sku: "单品",
    events_none: "还没有活动日历。用 <code>supplyfit ingest events FILE</code> 导入促销、停业和上新（列：name, start, end, scope, target, kind），预测会把它们当作特征。",
    live_week: "当前业务周", live_elapsed: "已过 {p}", live_now: "最新订单时间", live_none: "本周还没有订单事件。由 POST /api/v1/events/orders 推送订单，或在「数据与任务」上传文件。",
    expected: "截至目前预期", forecast_week: "全周预测", live_skus: "本周最异常的 SKU", live_categories: "各品类本周至今",
    feed: "信号流", feed_hint: "每 5 秒自动刷新，最新在上。", feed_none: "还没有信号：本周销量偏离预测时会出现在这里。",
    sig_ts: "时间", what: "内容", sig_demand_above_forecast: "需求高于预测", sig_demand_below_forecast: "需求低于预测",
    sig_reorder: "补货建议", sig_reorder_text: "{d} 前需要", sig_demand_text: "已售 {u} 件，预期 {e} 件（已过 {p}，评分 {s}）",
    l_title: "新品设计：首批做多少", l_hint: "填写设计稿的描述和价格（可选品类与预售量），系统参考相似的历史新品给出每周预测和首批数量。",
    l_id: "编号", l_desc_ph: "例如：红色爱心烛台", l_price: "价格（数据币种）", l_cat_ph: "自动识别", l_pre: "预售/投票数",
    l_pre_weeks: "预售周数", l_moq: "最小起订量", l_capacity: "产能上限（件，全部设计稿）", l_service: "首批够卖的把握 (%)", fc_col: "预测", l_cover: "覆盖周数",
    l_send: "预测", l_working: "计算中…", l_batch: "建议首批", l_batch_sub: "服务水平下的需求 {d} 件",
    l_total: "前 {h} 周预测合计", l_week: "第 {w} 周", l_week_col: "上市周", l_weekly: "每周预测与 80% 区间",
    l_analogs: "参考的历史新品及其前 {h} 周销量", l_no_analogs: "没有找到相似的历史新品。", l_need_fc: "还没有需求预测，新品预测要参考历史销量。", similarity: "相似度",
    first_h: "前 8 周销量",
  },
  en: {
    title: "supplyfit · demand & supply desk", key: "API key", login: "Sign in", logout: "Sign out", lang: "中文",
    signin_title: "Sign in to the operator workplace",
    signin_hint: "Enter the API key your administrator gave you (starts with sf_). It is kept in this tab only.",
    bad_key: "Invalid or revoked key", currency: "Data currency", currency_note: "The currency your orders are priced in: amounts are shown in it, never converted",
    week: "This week", overview: "Overview", hotspots: "Hotspots", complaints: "Complaints", forecast: "Forecasts",
    plan: "Production plan", data: "Data & jobs",
    fresh: "Data freshness", fresh_latest: "Latest load", fresh_none: "No data loaded yet", data_until: "Data up to",
    reorders: "Re-orders to place", reorders_none: "No re-orders planned", rising: "Items likeliest to rise", urgent: "Urgent complaints",
    sep: "; ", why_fc: "forecast {fc} units a week on average: this order covers the forecast of about {c} weeks", why_fc_more: "forecast {fc} units a week on average: this order covers more than all {n} weeks forecast", table_empty: "Nothing here yet", hs_axis: "Score: the higher, the likelier among the coming weeks' biggest risers", show_more: "Show {n} more ({left} left)", fc_week: "Forecast a week", why_rising: "hotspot #{r}", see_all: "See all", top_n: "top {n} of {m}",
    not_run: "These results have not been computed yet.", run_it: "Run the analysis under “Data & jobs”",
    empty_title: "Welcome! Start by loading your data",
    empty_1: "Upload an orders file (CSV, Excel, Parquet; Chinese headers recognised)",
    empty_2: "(Optional) upload a reviews file, for the complaint queue and customer voice",
    empty_3: "Run all stages, about a minute", empty_go: "Start uploading",
    revenue: "Revenue", units: "Units", orders: "Orders", customers: "Active customers", avg_basket: "Avg basket",
    return_rate: "Return rate", vs_prev: "vs prev.", complete_month: "complete month", partial_month: "partial month",
    partial_only: "{p} is not over yet: the figures are month-to-date.",
    partial_note: "{p} is a partial month (data stop before its end) and is left out of the comparison.",
    rev_trend: "Weekly revenue and forecast", cat_share: "Revenue share by category ({p})", history: "history",
    fc: "forecast", band: "80% band", partial_week: "partial week",
    hs_title: "Hotspot score (top 20)", rank: "Rank", item: "Item", desc: "Description", category: "Category",
    cs_most: "What customers complain about most (every complaint, by category and reason)",
    cs_needs: "What customers say is missing (the aspects negative reviews mention most)",
    cs_queue: "Complaint queue (most urgent first)", cs_count: "Complaints", cs_share: "Share of all", cs_example: "Most urgent one",
    units_wk: "Units per week", cs_aspect: "Aspect", cs_mentions: "Mentions",
    score: "Score", reason: "Reason", urgency: "Urgency", p_negative: "Chance negative", matched: "Keywords", text: "Review",
    week_col: "Week", qty: "Qty", total: "Total", plan_total: "{n} units planned, {s} SKUs, {w} week(s)",
    week_of: "Week of {d}", last_units: "Units, last 8 weeks", pick: "Pick a SKU or category", q10: "Low (90% chance above)",
    q90: "High (90% chance below)", ds: "Week", search: "Search…", csv: "Download CSV", rows: "{n} rows", rows_of: "first {n} of {total} rows", all_items: "All items (total)", l_weak: "No past design reads like this one (best match {s}): the forecast rests mostly on price and category; treat it as rough and keep the first batch small.", rows_in_first: "{n} rows (searched the first {first} of {total})",
    upload: "Upload a file", kind: "Kind", kind_orders: "Orders", kind_reviews: "Reviews", preset: "Preset",
    preset_none: "Detect", file: "File", send: "Upload", uploading: "Uploading {p}",
    up_mapping: "Column mapping (optional)", up_mapping_ph: "SOURCE=field, e.g. Invoice=order_id, Amount=unit_price",
    up_decimal: "Decimal separator", up_auto: "Detect", up_point: "Point (1.5)", up_comma: "Comma (1,5)", up_date: "Date order",
    up_day_first: "Day first (31/01/2024)", up_month_first: "Month first (01/31/2024)", up_date_fmt: "or a date format",
    up_tz: "Time zone", up_retry: "Fill in the field marked red and upload again.",
    loading_store: "Uploaded; validating and storing…", load_report: "Load report", rows_read: "Rows read",
    stored: "Stored", quarantined: "Quarantined", duplicates: "Duplicates", reasons: "Quarantine reasons",
    count: "Rows", src_row: "Line in file (header = 0)", raw_line: "As sent", loads: "Loads", load_id: "Id", file_col: "File", started: "Started",
    finished: "Finished", status: "Status", note: "Note", jobs: "Analysis jobs", run_stages: "Run an analysis", stage: "Stage", run: "Run",
    progress: "Progress", message: "Message", created: "Created",
    reader_only: "Your key is read-only: uploading and running need a writer key.", docs: "API docs",
    st_ok: "ok", st_aborted: "aborted", st_running: "running", st_queued: "queued", st_done: "done", st_failed: "failed", st_skipped: "skipped (file already loaded)", already_loaded: "This file has the same content as load {id} and was not loaded again: its lines count as duplicates.",
    stage_all: "All stages", stage_voice: "Customer voice", stage_demand: "Demand forecast", stage_supply: "Supply plan",
    stage_match: "Matching", stage_trust: "Trust checks", stage_monitor: "Monitoring",
    c_safety: "Safety", "c_fraud/fake": "Fraud / fake", c_service: "Service", c_other: "Other",
    "c_quality defect": "Quality defect", c_delivery: "Delivery", "c_not as described": "Not as described",
    "c_wrong or missing item": "Wrong or missing item", "c_size or fit": "Size or fit", c_price: "Price",
    c_performance: "Performance",
    live: "Live", launch: "New design", orders_until: "Orders up to", reviews_until: "Reviews up to", none_yet: "none yet", undated: "{n} reviews (the file gave no dates)",
    stale: "{n} result(s) are older than their inputs; run again: {s}.", top_lines: "top {n} ({m} lines, {u} units in the plan)",
    arrives: "Arrival week", severity: "Severity", sev_high: "High", sev_medium: "Medium", sev_low: "Low",
    week_units: "Units, week of {d} ({n} of 7 days)", week_vs: "{p} of the week's forecast {fc} (80%: {lo}–{hi})", week_pace: "; on pace for {q} of it",
    no_week_fc: "No forecast for this week: run the demand forecast",
    events_title: "Upcoming and recent events", events_of: "{n} of {m} in the calendar", ev_name: "Name",
    ev_start: "Start", ev_end: "End", ev_scope: "Scope", ev_target: "Target", ev_promotion: "promotion",
    ev_closure: "closure", ev_launch: "launch", ev_all: "all", ev_category: "category", ev_sku: "SKU",
    events_none: "No calendar yet. Load your promotions, closures and launches with <code>supplyfit ingest events FILE</code> (columns name, start, end, scope, target, kind); the forecasts use them as features.",
    live_week: "Business week", live_elapsed: "{p} elapsed", live_now: "Latest order", live_none: "No orders this week yet. Send them to POST /api/v1/events/orders or upload a file under “Data & jobs”.",
    expected: "Expected so far", forecast_week: "Week forecast", live_skus: "Most unusual SKUs this week",
    live_categories: "Categories, week so far", feed: "Signal feed", feed_hint: "Refreshed every 5 seconds, newest first.",
    feed_none: "No signals yet: they appear here when this week's sales leave the forecast's range.",
    sig_ts: "Time", what: "What", sig_demand_above_forecast: "demand above forecast",
    sig_demand_below_forecast: "demand below forecast", sig_reorder: "re-order", sig_reorder_text: "needed by {d}",
    sig_demand_text: "{u} sold vs {e} expected ({p} of the week, score {s})",
    l_title: "New design: how many to make first", l_hint: "Describe the draft and give its price (category and pre-orders optional): the forecast leans on similar past launches.",
    l_id: "Id", l_desc_ph: "e.g. red heart candle holder", l_price: "Price (data currency)", l_cat_ph: "detect", l_pre: "Pre-orders / votes",
    l_pre_weeks: "Pre-order weeks", l_moq: "Minimum order (MOQ)", l_capacity: "Capacity (units, all drafts)", l_service: "Chance the batch lasts (%)", fc_col: "Forecast",
    l_cover: "Weeks covered", l_send: "Forecast", l_working: "Working…", l_batch: "Suggested first batch",
    l_batch_sub: "demand at the service level: {d}", l_total: "Forecast, first {h} weeks", l_week: "Week {w}",
    l_week_col: "Week after launch", l_weekly: "Weekly forecast and 80% band",
    l_analogs: "Past launches it leans on, with their first {h} weeks' units", l_no_analogs: "No similar past launch found.",
    l_need_fc: "No demand forecast yet: a new design is forecast from past sales.",
    similarity: "Similarity", first_h: "Units, first 8 weeks",
  },
};
let lang = localStorage.getItem("sf-lang") || "zh";

/** A label in the current language, with {name} placeholders filled from ``vars``. */
function t(key, vars = {}) {
  const s = T[lang][key] ?? T.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k]));
}

const FIELDS_ZH = {order_id: "订单号", sku: "商品编码", ts: "时间", quantity: "数量", unit_price: "单价", text: "评论文本"};
const field = (name) => FIELDS_ZH[name] || name;

// Reasons the stages write in English, clause by clause: [pattern, Chinese with $1… for the captured parts].
const REASONS_ZH = [
  [/^([\d,.]+) units in the last (\d+) weeks?$/, "近 $2 周销量 $1 件"],
  [/^(\d+)% of its past (\d+)-week spells sold clearly more: room to jump$/, "过去 $1% 的 $2 周时段销量明显更高：有上涨空间"],
  [/^below its 26-week level \(([\d,.]+) per 8 weeks\): demand returning$/, "低于 26 周水平（每 8 周 $1 件）：需求回升"],
  [/^new item ramping up \(first sale (\d+) weeks? ago\)$/, "新品爬坡中（$1 周前首次售出）"],
  [/^accelerating: last 4 weeks ([\d,.]+) vs ([\d,.]+) the 4 before$/, "加速：近 4 周 $1 件，之前 4 周 $2 件"],
  [/^season starting: rose (?:([\d,.]+)× )?in the same weeks last year \(\+([\d,.]+) units\)$/,
    (_, x, n) => `旺季开始：去年同期${x ? `增长到 ${x} 倍` : "上升"}（+${n} 件）`],
  [/^its category is growing \(([+-]?\d+)% over 8 weeks\)$/, "所在品类在增长（8 周 $1%）"],
  [/^forecast ([\d,.]+) units in the next (\d+) weeks?(?:, up to ([\d,.]+) \((\d+)% chance of no more\))?$/,
    (_, f, w, up, p) => `未来 ${w} 周预测 ${f} 件${up ? `，最多 ${up} 件（${p}% 的可能不会更多）` : ""}`],
  [/^but its forecast is lower: ([\d,.]+) units in the next (\d+) weeks?(?:, up to ([\d,.]+) \((\d+)% chance of no more\))?$/,
    (_, f, w, up, p) => `但预测走低：未来 ${w} 周预测 ${f} 件${up ? `，最多 ${up} 件（${p}% 的可能不会更多）` : ""}`],
  [/^(\d+)% of the week's units from one customer \(of ([\d,]+)\): a bulk order may not repeat$/,
    "本周 $1% 的销量来自同一位顾客（共 $2 位）：大宗订单未必会再来"],
  [/^promotion ahead: (.*) \((\d+) days in the next (\d+) weeks?\)$/, "即将促销：$1（未来 $3 周内有 $2 天）"],
  [/^forecast ([\d,.]+) units this week through the arrival week \((\d+) week\(s\)\), up to ([\d,.]+) in a strong case$/,
    "本周至到货周（$2 周）预测 $1 件，旺盛时可达 $3 件"],
  [/^sold ([\d,.]+) last week$/, "上周售出 $1 件"],
  [/^new item: a first batch$/, "新品：首批"],
  [/^rising \(hotspot\)$/, "正在上升（热点）"],
  [/^([\d,.]+) units sold by (\d+)% of the week against ([\d,.]+) expected \(score ([+-][\d.]+)\): the week heads for ([\d,.]+) against a forecast of ([\d,.]+)$/,
    "本周已过 $2% 时售出 $1 件，预期 $3 件（评分 $4）：全周将达 $5 件，预测为 $6 件"],
  [/^make ([\d,]+) more \(MOQ ([^,)]+)(?:, capacity ([^)]+))?\)$/, // as signals raised before 2026-12 say it
    (_, q, m, c) => `再生产 ${q} 件（最小起订量 ${m}${c ? `，产能 ${c}` : ""}）`],
  [/^make ([\d,]+) more on top of the ([\d,]+) in the plan(?: \((.*)\))?$/, (_, q, p, lim) => `在计划的 ${p} 件之外再生产 ${q} 件` +
    (lim ? `（${lim.replace("MOQ", "最小起订量").replace("capacity", "产能").replace(", ", "，")}）` : "")],
  [/^missing (\w+)$/, (_, f) => "缺少" + field(f)],
  [/^zero (\w+)$/, (_, f) => field(f) + "为零"],
  [/^negative (\w+)$/, (_, f) => field(f) + "为负数"],
  [/^unparsable ts: (.*)$/, "无法解析的时间：$1"],
  [/^(\w+) is not a number: (.*)$/, (_, f, v) => `${field(f)}不是数字：${v}`],
  [/^label is not 1\/0 or positive\/negative: (.*)$/, "标签不是 1/0 或 positive/negative：$1"],
  [/^rating outside 0-5: (.*)$/, "评分超出 0-5：$1"],
  [/^malformed CSV line: expected (\d+) fields, found (\d+)$/, "CSV 行格式错误：应有 $1 个字段，实有 $2 个"],
  [/^line (\d+) does not decode as (.*)$/, "第 $1 行无法按 $2 解码"],
];

/** ``text`` through the first [pattern, Chinese] of ``table`` it matches; unchanged when none does. */
function byPattern(text, table) {
  const hit = table.find(([re]) => re.test(text));
  return hit ? text.replace(hit[0], hit[1]) : text;
}

// The categories the store derives from product names (supplyfit/store/catalog.py), in Chinese; a category the
// data names itself is shown as written.
const CATEGORIES_ZH = {
  christmas: "圣诞", "candles & lighting": "蜡烛与灯具", bags: "包袋", "kitchen & dining": "厨房与餐具",
  "stationery & gift wrap": "文具与礼品包装", "home decor": "家居装饰", storage: "收纳", "toys & games": "玩具与游戏",
  "jewellery & accessories": "首饰与配饰", "garden & outdoor": "园艺与户外", other: "其他",
};
const category = (v) => (lang === "zh" && CATEGORIES_ZH[v]) || (v == null ? "" : String(v));

/** A reason in the current language: each "; "-separated clause translated when its pattern is known. */
function reason(text) {
  if (text == null) return "";
  if (T[lang]["c_" + text]) return T[lang]["c_" + text]; // a complaint class, labelled in either language
  if (lang !== "zh") return text;
  return String(text).split("; ").map((part) => byPattern(part, REASONS_ZH)).join("；");
}

/** The server's note on a draft priced outside every past launch's, in the page's language. */
function priceNote(note) {
  const m = /^price ([\d,.]+) is (above|below) every past launch's \(([\d,.]+)-([\d,.]+)\)/.exec(note || "");
  if (!m || lang !== "zh") return note || "";
  return `价格 ${m[1]} ${m[2] === "above" ? "高于" : "低于"}所有历史新品（${m[3]}–${m[4]}）：没有同价位的新品可参考，请核对价格，首批宜小。`;
}

// Why a file could not be loaded, as the store says it in English: the errors an upload meets most often, in Chinese.
const CONVENTIONS_ZH = {"a decimal point": "小数点", "a decimal comma": "小数逗号", "day-first": "日在前", "month-first": "月在前"};
const convention = (label) => CONVENTIONS_ZH[label] || label;
const STORE_ERRORS_ZH = [
  [/^(.*?)(?:, column '.*?')?: required column\(s\) not found: (.*?)\. Columns in the file: (.*?)\. Map a column to (\w+) .*$/s,
    (_, file, need, cols, f) => `${file}：没有找到必需的列：${need.replace(/(\w+) \(e\.g\. ([^)]*)\)/g,
      (__, name, eg) => `${field(name)}（例如 ${eg}）`).replace(/; /g, "；")}。文件中的列：${cols}。请在“列映射”中写 源列名=${f}。`],
  [/^(.*?), column '(.*?)': ambiguous: (.*?) reads with (.*?) and with (.*?), and no value in the file tells which\..*$/s,
    (_, file, col, v, a, b) => `${file}，列 ${col}：${v} 按${convention(a)}和按${convention(b)}都能读，文件中没有哪个值能说明是哪一种。`],
  [/^(.*?), column '(.*?)': mixes conventions: (.*?) reads only with (.*?), (.*?) only with (.*?)$/s,
    (_, file, col, x, a, y, b) => `${file}，列 ${col}：混用了两种写法：${x} 只能按${convention(a)}读，${y} 只能按${convention(b)}读。`],
  [/^(.*?): the file is empty \(0 bytes\)$/, "$1：文件是空的（0 字节）。"],
  [/^(.*?): the file has no header and no rows$/, "$1：文件既没有表头也没有数据行。"],
  [/^(.*?): duplicate column names in header(?:: (.*))?$/, (_, file, cols) => `${file}：表头中有重复的列名${cols ? "：" + cols : ""}。`],
  [/^(.*?): not a readable Parquet file: (.*)$/s, "$1：不是可读的 Parquet 文件（$2）。"],
  [/^(.*?): not an Excel workbook .*$/s, "$1：不是 Excel 工作簿（.xlsx 文件是 zip 压缩包，这个文件不是）。"],
  [/^(.*?): unknown encoding (.*?) \(.*\)$/s, "$1：未知的编码 $2（例如 utf-8、gb18030、cp1252）。"],
  [/^(.*?): unknown time zone (.*?) \(.*\)$/s, "$1：未知的时区 $2（例如 UTC、Asia/Shanghai、Europe/London）。"],
];

/** A store error in the current language (Chinese for the common ones; the English text otherwise). */
function storeError(text) {
  if (lang !== "zh") return text;
  return byPattern(text, STORE_ERRORS_ZH);
}

const FINDINGS_ZH = {sku_many_descriptions: "一个编码多种描述", description_many_skus: "一种描述多个编码",
  price_outlier: "价格异常", price_vs_category: "价格与品类不符", category_mismatch: "品类不符", risky_claim: "风险宣传用语",
  non_product: "非商品行"};

// What a stage job says it did (supplyfit/*/stage.py), in Chinese: "<stage>: <summary>" or "running <stage>".
const STAGE_SUMMARIES_ZH = [
  [/^([\d,]+) reviews scored, (\d+) aspects in (\d+) categories, ([\d,]+) complaints queued$/,
    "已为 $1 条评论打分，$3 个品类共 $2 个方面，$4 条投诉进入队列"],
  [/^([\d,]+) SKUs forecast (\d+) weeks from (\S+); backtest at (\d+) cut-off\(s\)(?: on ([\d,]+) of the ([\d,]+) SKUs)?$/,
    (_, n, h, d, c, on, of) => `${n} 个 SKU 自 ${d} 起预测 ${h} 周；在 ${c} 个截断点回测${on ? `（抽取 ${of} 个中的 ${on} 个）` : ""}`],
  [/^([\d,]+) SKUs forecast (\d+) weeks from (\S+); no backtest \((\d+) complete week\(s\); a cut-off needs more than (\d+)\)$/,
    "$1 个 SKU 自 $3 起预测 $2 周；未回测（只有 $4 个完整周，回测需要多于 $5 周）"],
  [/^([\d,]+) SKUs to make \(([\d,]+) units\) arriving (\S+); (no stock on hand given: quantities as if none|net of the stock of ([\d,]+) SKUs(?: \(([\d,]+) inventory SKU\(s\) not in the history\))?); (?:(\d+) policy settings replayed|history shorter than (\d+) weeks: no replay)$/,
    (_, n, u, d, stock, net, out, played, short) => `${n} 个 SKU 需生产（共 ${u} 件），${d} 到货；` +
      (net ? `已扣除 ${net} 个 SKU 的库存${out ? `（${out} 个库存 SKU 不在历史中）` : ""}` : "未提供现有库存：按无库存计算") +
      (played ? `；回放了 ${played} 种策略设置` : `；历史不足 ${short} 周，未回放策略`)],
  [/^([\d,]+) baskets → ([\d,]+) rules \(support ≥ (\S+)\); ([\d,]+) customers in (\d+) segments$/,
    "$1 个购物篮 → $2 条关联规则（支持度 ≥ $3）；$4 位顾客分为 $5 个群组"],
  [/^no product sales$/, "没有商品销售"],
  [/^([\d,]+) findings \((.*)\); (\d+) (merchant|product line) credit scores$/, (_, n, kinds, c, basis) =>
    `${n} 项检查发现（${kinds.replace(/(\d+) (\w+)/g, (__, k, what) => `${FINDINGS_ZH[what] || what} ${k} 项`)
      .replace(/, /g, "，")}）；${c} 个${basis === "merchant" ? "商家" : "产品线"}信用分`],
  [/^(\d+) weeks of indicators, (\d+) months; (\d+) hotspots \(top: (.*)\)$/, "$1 周、$2 个月的指标；$3 个热点（首位：$4）"],
  [/^(\d+) weeks of indicators, (\d+) months; (\d+) hotspots \(no complete week of sales yet\)$/,
    "$1 周、$2 个月的指标；$3 个热点（还没有完整一周的销售）"],
  [/^skipped: (.*)$/, "已跳过：$1"],
];
// Clauses a stage adds at the end of its summary ("…; <note>"), translated on their own.
const SUMMARY_NOTES_ZH = [
  [/^([\d,]+) sales cancelled within a day left out \(([\d,]+) units\)$/, "剔除一天内取消的 $1 笔销售（$2 件）"],
];

/** A job's message in the current language: "running voice", "voice: 3,000 reviews scored, …" (the stage's own
 * summary translated when its form is known; a failure's error stays as the stage raised it). */
function jobMessage(text) {
  if (!text || lang !== "zh") return text ?? "";
  const running = /^running (\w+)$/.exec(text);
  if (running) return `正在运行：${t("stage_" + running[1])}`;
  const done = /^(\w+): (.*)$/s.exec(text);
  if (!done || !T.zh["stage_" + done[1]]) return text;
  const [, stage, rest] = done;
  const clauses = rest.split("; ");
  const notes = [];
  while (clauses.length > 1 && SUMMARY_NOTES_ZH.some(([re]) => re.test(clauses.at(-1)))) {
    notes.unshift(byPattern(clauses.pop(), SUMMARY_NOTES_ZH));
  }
  return `${t("stage_" + stage)}：${[byPattern(clauses.join("; "), STAGE_SUMMARIES_ZH), ...notes].join("；")}`;
}
