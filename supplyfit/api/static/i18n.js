// supplyfit dashboard: labels in Chinese and English, and translators for the reasons the stages write in English.
"use strict";
const T = {
  zh: {
    title: "supplyfit · 数据中台", key: "API 密钥", login: "登录", logout: "退出", lang: "English",
    signin_title: "登录运营工作台", signin_hint: "输入管理员发给你的 API 密钥（sf_ 开头）。密钥只保存在本标签页，关闭即清除。",
    bad_key: "密钥无效或已吊销", currency: "币种",
    week: "本周待办", overview: "总览", hotspots: "热点", complaints: "投诉队列", forecast: "预测", plan: "生产计划",
    data: "数据与任务",
    fresh: "数据新鲜度", fresh_latest: "最近一次加载", fresh_none: "还没有加载任何数据", data_until: "数据截至",
    reorders: "本周要下的补货单", reorders_none: "暂无补货计划", rising: "正在上升的商品", urgent: "紧急投诉",
    sep: "；", why_fc: "预测每周约 {fc} 件，本单约够 {c} 周", fc_week: "每周预测", why_rising: "热点第 {r} 名", see_all: "查看全部", top_n: "前 {n} 项（共 {m} 项）",
    not_run: "这部分结果还没有计算。", run_it: "去「数据与任务」运行分析",
    empty_title: "欢迎！先把数据放进来", empty_1: "上传订单文件（CSV、Excel、Parquet；识别中文表头）",
    empty_2: "（可选）上传评论文件，用于投诉队列和用户之声", empty_3: "运行全部分析，约一分钟", empty_go: "开始上传",
    revenue: "销售额", units: "销量", orders: "订单数", customers: "活跃客户", avg_basket: "客单价", return_rate: "退货率",
    vs_prev: "环比", complete_month: "完整月份", partial_month: "未完结月份", partial_only: "{p} 尚未结束，数字只到目前为止。", partial_note: "{p} 的数据不完整（月份未结束），未计入对比。",
    rev_trend: "周销售额与预测", cat_share: "品类销售额占比（{p}）", history: "历史", fc: "预测", band: "80% 区间",
    partial_week: "不完整周",
    hs_title: "热点评分（前 20）", rank: "排名", item: "商品", desc: "描述", category: "品类", score: "评分",
    reason: "原因", urgency: "紧急度", p_negative: "负面概率", matched: "关键词", text: "评论", week_col: "周",
    qty: "数量", total: "合计", plan_total: "计划总量 {n} 件，{s} 个 SKU，{w} 周", week_of: "{d} 当周",
    last_units: "近8周销量", pick: "选择 SKU 或品类", q10: "下限 (10%)", q90: "上限 (90%)", ds: "周",
    search: "搜索…", csv: "下载 CSV", rows: "{n} 行",
    upload: "上传文件", kind: "类型", kind_orders: "订单", kind_reviews: "评论", preset: "格式预设", preset_none: "自动识别",
    file: "文件", send: "上传", uploading: "上传中 {p}", loading_store: "已上传，正在校验入库…",
    load_report: "加载报告", rows_read: "读取行数", stored: "入库", quarantined: "隔离", duplicates: "重复",
    reasons: "隔离原因", count: "行数", src_row: "源文件行号", loads: "加载记录", load_id: "编号", file_col: "文件",
    started: "开始", finished: "完成", status: "状态", note: "备注",
    jobs: "分析任务", stage: "阶段", run: "运行", progress: "进度", message: "信息", created: "创建",
    reader_only: "你的密钥是只读的：上传和运行需要 writer 密钥。", docs: "API 文档",
    st_ok: "成功", st_aborted: "已中止", st_running: "运行中", st_queued: "排队中", st_done: "完成", st_failed: "失败",
    stage_all: "全部", stage_voice: "用户之声", stage_demand: "需求预测", stage_supply: "供应计划", stage_match: "匹配推荐",
    stage_trust: "信任核验", stage_monitor: "监测指标",
    c_safety: "安全问题", "c_fraud/fake": "假货/欺诈", c_service: "服务", c_other: "其他", "c_quality defect": "质量缺陷",
    c_delivery: "物流配送",
  },
  en: {
    title: "supplyfit · data middle platform", key: "API key", login: "Sign in", logout: "Sign out", lang: "中文",
    signin_title: "Sign in to the operator workplace",
    signin_hint: "Enter the API key your administrator gave you (starts with sf_). It is kept in this tab only.",
    bad_key: "Invalid or revoked key", currency: "Currency",
    week: "This week", overview: "Overview", hotspots: "Hotspots", complaints: "Complaints", forecast: "Forecasts",
    plan: "Production plan", data: "Data & jobs",
    fresh: "Data freshness", fresh_latest: "Latest load", fresh_none: "No data loaded yet", data_until: "Data up to",
    reorders: "Re-orders to place", reorders_none: "No re-orders planned", rising: "Items rising", urgent: "Urgent complaints",
    sep: "; ", why_fc: "forecast {fc} units a week: this order covers about {c} weeks", fc_week: "Forecast a week", why_rising: "hotspot #{r}", see_all: "See all", top_n: "top {n} of {m}",
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
    score: "Score", reason: "Reason", urgency: "Urgency", p_negative: "P(negative)", matched: "Keywords", text: "Review",
    week_col: "Week", qty: "Qty", total: "Total", plan_total: "{n} units planned, {s} SKUs, {w} week(s)",
    week_of: "Week of {d}", last_units: "Units, last 8 weeks", pick: "Pick a SKU or category", q10: "Low (10%)",
    q90: "High (90%)", ds: "Week", search: "Search…", csv: "Download CSV", rows: "{n} rows",
    upload: "Upload a file", kind: "Kind", kind_orders: "Orders", kind_reviews: "Reviews", preset: "Preset",
    preset_none: "Detect", file: "File", send: "Upload", uploading: "Uploading {p}",
    loading_store: "Uploaded; validating and storing…", load_report: "Load report", rows_read: "Rows read",
    stored: "Stored", quarantined: "Quarantined", duplicates: "Duplicates", reasons: "Quarantine reasons",
    count: "Rows", src_row: "Line in file", loads: "Loads", load_id: "Id", file_col: "File", started: "Started",
    finished: "Finished", status: "Status", note: "Note", jobs: "Analysis jobs", stage: "Stage", run: "Run",
    progress: "Progress", message: "Message", created: "Created",
    reader_only: "Your key is read-only: uploading and running need a writer key.", docs: "API docs",
    st_ok: "ok", st_aborted: "aborted", st_running: "running", st_queued: "queued", st_done: "done", st_failed: "failed",
    stage_all: "All stages", stage_voice: "Customer voice", stage_demand: "Demand forecast", stage_supply: "Supply plan",
    stage_match: "Matching", stage_trust: "Trust checks", stage_monitor: "Monitoring",
    c_safety: "safety", "c_fraud/fake": "fraud / fake", c_service: "service", c_other: "other",
    "c_quality defect": "quality defect", c_delivery: "delivery",
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
  [/^([\d,.]+) units in the last (\d+) weeks$/, "近 $2 周销量 $1 件"],
  [/^(\d+)% of its past (\d+)-week spells sold clearly more: room to jump$/, "过去 $1% 的 $2 周时段销量明显更高：有上涨空间"],
  [/^below its 26-week level \(([\d,.]+) per 8 weeks\): demand returning$/, "低于 26 周水平（每 8 周 $1 件）：需求回升"],
  [/^new item ramping up \(first sale (\d+) weeks ago\)$/, "新品爬坡中（$1 周前首次售出）"],
  [/^accelerating: last 4 weeks ([\d,.]+) vs ([\d,.]+) the 4 before$/, "加速：近 4 周 $1 件，之前 4 周 $2 件"],
  [/^season starting: the same weeks a year ago rose by ([\d,.]+)$/, "旺季开始：去年同期增加 $1 件"],
  [/^its category is growing \(([+-]?\d+)% over 8 weeks\)$/, "所在品类在增长（8 周 $1%）"],
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

/** A reason in the current language: each "; "-separated clause translated when its pattern is known. */
function reason(text) {
  if (text == null || lang !== "zh") return text ?? "";
  if (T.zh["c_" + text]) return T.zh["c_" + text];
  return String(text).split("; ").map((part) => {
    for (const [re, zh] of REASONS_ZH) if (re.test(part)) return part.replace(re, zh);
    return part;
  }).join("；");
}
