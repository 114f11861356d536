// supplyfit dashboard: one page, no build step. Talks to the REST API with the key kept in sessionStorage.
"use strict";
const T = {
  zh: {title: "supplyfit · 数据中台", key: "API 密钥", login: "登录", logout: "退出", overview: "总览", hotspots: "热点",
       complaints: "投诉队列", forecast: "预测", plan: "生产计划", pick: "选择 SKU 或品类", revenue: "销售额", units: "销量",
       orders: "订单数", customers: "活跃客户", avg_basket: "客单价", return_rate: "退货率", vs_prev: "环比",
       rev_trend: "周销售额与预测", cat_share: "品类销售额占比（最近一月）", history: "历史", fc: "预测", band: "80% 区间",
       hs_title: "热点评分", rank: "排名", item: "商品", category: "品类", score: "评分", reason: "原因", urgency: "紧急度",
       text: "评论", week: "周", qty: "数量", total: "计划总量", last_units: "近8周销量", bad_key: "密钥无效或已吊销",
       lang: "English"},
  en: {title: "supplyfit · data middle platform", key: "API key", login: "Log in", logout: "Log out",
       overview: "Overview", hotspots: "Hotspots", complaints: "Complaints", forecast: "Forecasts",
       plan: "Production plan", pick: "Pick a SKU or category", revenue: "Revenue", units: "Units", orders: "Orders",
       customers: "Active customers", avg_basket: "Avg basket", return_rate: "Return rate", vs_prev: "vs prev.",
       rev_trend: "Weekly revenue and forecast", cat_share: "Revenue share by category (last month)",
       history: "history", fc: "forecast", band: "80% band", hs_title: "Hotspot score", rank: "Rank", item: "Item",
       category: "Category", score: "Score", reason: "Reason", urgency: "Urgency", text: "Review", week: "Week",
       qty: "Qty", total: "Planned units", last_units: "Units, last 8 weeks", bad_key: "Invalid or revoked key",
       lang: "中文"},
};
let lang = localStorage.getItem("sf-lang") || "zh";
const t = (k) => T[lang][k] || k;
const $ = (id) => document.getElementById(id);
const fmt = (v, d = 0) => v == null ? "–" : Number(v).toLocaleString(lang === "zh" ? "zh-CN" : "en-US",
  {maximumFractionDigits: d, minimumFractionDigits: d});
const pct = (v) => v == null ? "–" : (v >= 0 ? "+" : "") + (100 * v).toFixed(1) + "%";

async function api(path) {
  const r = await fetch(path, {headers: {"X-API-Key": sessionStorage.getItem("sf-key") || ""}});
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    const err = new Error(body.detail || r.statusText); err.status = r.status; throw err;
  }
  return r.json();
}

function table(id, rows, cols) {
  const el = $(id);
  el.innerHTML = "";
  const head = el.createTHead().insertRow();
  cols.forEach(([k, label]) => { const th = document.createElement("th"); th.textContent = t(label); head.appendChild(th); });
  const body = el.createTBody();
  rows.forEach((r) => {
    const tr = body.insertRow();
    cols.forEach(([k, , f]) => {
      const td = tr.insertCell();
      const v = r[k];
      td.textContent = f ? f(v) : (v == null ? "" : String(v));
      if (typeof v === "number") td.className = "num";
    });
  });
  el.dataset.rows = String(rows.length);
}

const layout = (title) => ({title: {text: title}, margin: {l: 60, r: 20, t: 50, b: 40}, height: 340,
  font: {family: "Noto Sans CJK SC, Microsoft YaHei, Arial"}, legend: {orientation: "h"}});
const plot = (id, traces, title) => Plotly.react($(id), traces, layout(title), {displaylogo: false, responsive: true});

const views = {
  async overview() {
    const months = await api("/api/v1/indicators?freq=M&table=totals");
    const done = months.filter((r) => r.complete);  // an incomplete last month would read as a collapse
    const last = done[done.length - 1] || months[months.length - 1];
    $("kpis").innerHTML = "";
    [["revenue", 0], ["units", 0], ["orders", 0], ["customers", 0], ["avg_basket", 2], ["return_rate", 3]]
      .forEach(([k, d]) => {
        const div = document.createElement("div");
        div.className = "kpi"; div.dataset.metric = k; div.dataset.value = last[k];
        const g = k === "return_rate" ? null : last[k + "_pop"];
        div.innerHTML = `<div class="l">${t(k)} · ${String(last.period).slice(0, 7)}</div>` +
          `<div class="v">${k === "return_rate" ? (100 * last[k]).toFixed(1) + "%" : fmt(last[k], d)}</div>` +
          (g == null ? "" : `<div class="g ${g >= 0 ? "up" : "down"}">${t("vs_prev")} ${pct(g)}</div>`);
        $("kpis").appendChild(div);
      });
    const weeks = await api("/api/v1/indicators?freq=W&table=totals");
    const fc = (await api("/api/v1/indicators?freq=W&table=forecast")).filter((r) => r.metric === "revenue");
    plot("chart-revenue", [
      {x: weeks.map((r) => r.period), y: weeks.map((r) => r.revenue), name: t("history"), mode: "lines"},
      {x: fc.map((r) => r.period).concat(fc.map((r) => r.period).reverse()),
       y: fc.map((r) => r.yhat_q90).concat(fc.map((r) => r.yhat_q10).reverse()), fill: "toself", opacity: 0.3,
       line: {width: 0}, name: t("band")},
      {x: fc.map((r) => r.period), y: fc.map((r) => r.yhat), name: t("fc"), mode: "lines+markers"},
    ], t("rev_trend"));
    const dims = await api("/api/v1/indicators?freq=M&table=by_dimension&dimension=category");
    const lastP = dims.reduce((m, r) => (r.period > m ? r.period : m), "");
    const cats = dims.filter((r) => r.period === lastP).sort((a, b) => b.revenue - a.revenue);
    plot("chart-categories", [{type: "bar", x: cats.map((r) => r.value), y: cats.map((r) => r.share),
      text: cats.map((r) => (100 * r.share).toFixed(1) + "%"), textposition: "auto"}], t("cat_share"));
  },
  async hotspots() {
    const hs = await api("/api/v1/hotspots?k=20");
    plot("chart-hotspots", [{type: "bar", orientation: "h", x: hs.map((r) => r.score).reverse(),
      y: hs.map((r) => String(r.unique_id)).reverse()}], t("hs_title"));
    table("table-hotspots", hs, [["rank", "rank"], ["unique_id", "item"], ["category", "category"],
      ["score", "score", (v) => fmt(v, 3)], ["last_units", "last_units", (v) => fmt(v)], ["reason", "reason"]]);
  },
  async complaints() {
    const rows = await api("/api/v1/complaints?limit=50");
    table("table-complaints", rows, [["rank", "rank"], ["category", "category"], ["urgency", "urgency", (v) => fmt(v, 2)],
      ["reason", "reason"], ["text", "text"]]);
  },
  async forecast() {
    const sel = $("series");
    if (!sel.options.length) {
      const agg = await api("/api/v1/forecasts?level=category&limit=100000");
      const skus = await api("/api/v1/forecasts?level=sku&limit=100000");
      const ids = ["total", ...new Set(agg.map((r) => r.unique_id)), ...new Set(skus.map((r) => r.unique_id))];
      [...new Set(ids)].forEach((id) => sel.add(new Option(id, id)));
      sel.onchange = () => views.forecast();
    }
    const s = await api("/api/v1/series/" + encodeURIComponent(sel.value));
    const f = s.forecast;
    plot("chart-forecast", [
      {x: s.history.ds, y: s.history.y, name: t("history"), mode: "lines"},
      {x: f.ds.concat([...f.ds].reverse()), y: f.yhat_q90.concat([...f.yhat_q10].reverse()), fill: "toself",
       opacity: 0.3, line: {width: 0}, name: t("band")},
      {x: f.ds, y: f.yhat, name: t("fc"), mode: "lines+markers"},
    ], `${t("forecast")}: ${s.unique_id}`);
    table("table-forecast", f.ds.map((d, i) => ({ds: d, yhat: f.yhat[i], q10: f.yhat_q10[i], q90: f.yhat_q90[i]})),
      [["ds", "week"], ["yhat", "fc", (v) => fmt(v, 1)], ["q10", "q10", (v) => fmt(v)], ["q90", "q90", (v) => fmt(v)]]);
  },
  async plan() {
    const rows = await api("/api/v1/plan?limit=1000");
    const total = rows.reduce((s, r) => s + r.qty, 0);
    $("plan-total").textContent = `${t("total")}: ${fmt(total)} (${rows.length} SKU)`;
    $("plan-total").dataset.total = String(total);
    table("table-plan", rows, [["unique_id", "item"], ["ds", "week", (v) => String(v).slice(0, 10)], ["qty", "qty", (v) => fmt(v)]]);
  },
};

function translate() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  $("lang").textContent = t("lang");
}

async function show(view) {
  if (!views[view]) view = "overview";
  document.querySelectorAll(".view").forEach((el) => { el.hidden = el.id !== "view-" + view; });
  document.querySelectorAll("#tabs a").forEach((a) => a.classList.toggle("active", a.dataset.view === view));
  $("error").textContent = "";
  document.body.dataset.view = view; document.body.dataset.ready = "0";
  try { await views[view](); } catch (e) { $("error").textContent = e.message; }
  document.body.dataset.ready = "1";
}

async function login(key) {
  sessionStorage.setItem("sf-key", key);
  try {
    const me = await api("/api/v1/whoami");
    $("who").textContent = `${me.tenant} · ${me.role}`;
    $("login").hidden = true; $("login-error").textContent = ""; $("tabs").hidden = false; $("logout").hidden = false;
    await show(location.hash.slice(1) || "overview");
  } catch (e) {
    sessionStorage.removeItem("sf-key");
    $("login-error").textContent = t("bad_key");
  }
}

$("login").addEventListener("submit", (ev) => { ev.preventDefault(); login($("key").value.trim()); });
$("logout").addEventListener("click", () => { sessionStorage.removeItem("sf-key"); location.hash = ""; location.reload(); });
$("lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("sf-lang", lang); translate();
  if (!$("tabs").hidden) show(document.body.dataset.view);
});
window.addEventListener("hashchange", () => { if (!$("tabs").hidden) show(location.hash.slice(1)); });
translate();
if (sessionStorage.getItem("sf-key")) login(sessionStorage.getItem("sf-key"));
