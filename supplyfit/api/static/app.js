// supplyfit dashboard: the operator's workplace. One page, no build step; talks to the REST API with the key kept
// in sessionStorage. Labels and formats come from i18n.js and table.js.
"use strict";
let me = null; // the caller (whoami)
let hasData = false; // whether the tenant has a successful load: without one every view shows the guide
let names = new Map(); // SKU -> description, where the service offers /api/v1/products
const TOP = 10; // rows per list on the first screen; "see all" opens the full view
const LIVE_TOP = 25; // SKUs in the live view: the most unusual weeks so far
const FEED_EVERY_MS = 5000; // how often the live view asks for new signals
const WEAK_ANALOG = 0.3; // a best past-design similarity below this is a weak match (the launch view warns)
const FEED_KEEP = 200; // signals kept on screen, newest first
let feed = {next: "0", rows: []}; // the signal feed: the cursor of the next poll and the signals seen
let feedTimer = null;
let lastLaunch = null; // the last answer of the new-design form, shown again when the view reopens
let launchAsks = 0; // counts sends and edits of the new-design form: only the latest send's answer is shown

/** The answer of ``path`` as JSON; with ``withTotal``, {rows, total}: total is the X-Total-Count header, the rows
 * a list's filter matched however many its limit let through. */
async function api(path, init = {}, withTotal = false) {
  const r = await fetch(path, {...init, headers: {"X-API-Key": sessionStorage.getItem("sf-key") || "", ...init.headers}});
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    const err = new Error(typeof body.detail === "string" ? body.detail : r.statusText);
    err.status = r.status;
    throw err;
  }
  const rows = await r.json();
  return withTotal ? {rows, total: Number(r.headers.get("X-Total-Count") ?? rows.length)} : rows;
}

/** A result table's rows (with ``withTotal``, {rows, total}), or null when the stage that writes it has not run (404). */
async function result(path, withTotal = false) {
  try { return await api(path, {}, withTotal); } catch (e) { if (e.status === 404) return null; throw e; }
}

const desc = (sku) => names.get(String(sku)) || "";
const itemLabel = (sku) => (desc(sku) ? `${sku} · ${desc(sku)}` : String(sku));
/** A forecast series' name for people: the total and categories (ids "total", "category/NAME") in words. */
const seriesLabel = (id) => (id === "total" ? t("all_items")
  : String(id).startsWith("category/") ? `${t("category")}: ${category(String(id).slice(9))}` : itemLabel(id));
const idCols = () => [{key: "unique_id", label: "item", kind: "id"}]
  .concat(names.size ? [{key: "unique_id", label: "desc", show: (v) => desc(v)}] : []);

/** Show ``el`` holding a note that the results are missing, with a link to the data view. */
function notRun(id) {
  const el = $(id);
  el.className = "notice";
  el.innerHTML = `${t("not_run")} <a href="#data">${t("run_it")}</a>`;
}

const layout = (title, extra = {}) => ({title: {text: title}, margin: {l: 60, r: 20, t: 50, b: 40}, height: 340,
  font: {family: "Noto Sans CJK SC, Microsoft YaHei, Arial"}, legend: {orientation: "h"}, ...extra});
// Chinese month and day names on date axes (Plotly ships English only; its locale files are not bundled here)
Plotly.register({moduleType: "locale", name: "zh-CN", dictionary: {}, format: {
  days: ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"],
  shortDays: ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
  months: ["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月"],
  shortMonths: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"],
  date: "%Y-%m-%d"}});

/** The 80% band between ``lo`` and ``hi`` over ``x``, as one filled shape (no markers on its edges). */
const band = (x, lo, hi) => ({x: x.concat([...x].reverse()), y: hi.concat([...lo].reverse()), fill: "toself",
  opacity: 0.3, line: {width: 0}, mode: "lines", name: t("band")});
function plot(id, traces, title, extra) {
  $(id).hidden = false;
  return Plotly.react($(id), traces, layout(title, extra),
    {displaylogo: false, responsive: true, locale: lang === "zh" ? "zh-CN" : "en"});
}

function card(parent, metric, label, value, sub) {
  const div = document.createElement("div");
  div.className = "kpi";
  div.dataset.metric = metric;
  div.innerHTML = `<div class="l"></div><div class="v"></div>` + (sub ? `<div class="g"></div>` : "");
  div.querySelector(".l").textContent = label;
  div.querySelector(".v").textContent = value;
  if (sub) { div.querySelector(".g").textContent = sub.text; div.querySelector(".g").className = "g " + sub.cls; }
  parent.appendChild(div);
  return div;
}

const views = {
  async week() {
    const [b, events] = await Promise.all([api(`/api/v1/briefing?n=${TOP}`), api("/api/v1/events")]);
    const f = b.freshness;
    $("freshness").innerHTML = "";
    card($("freshness"), "fresh", t("fresh_latest"), f.last_load ? fmt(f.last_load, "time") : t("fresh_none"))
      .dataset.value = f.last_load ?? "";
    card($("freshness"), "orders_until", t("orders_until"), f.last_order ? fmt(f.last_order, "time") : t("none_yet"));
    card($("freshness"), "reviews_until", t("reviews_until"), f.last_review ? fmt(f.last_review, "time") : f.reviews ? t("undated", { n: fmt(f.reviews, "int") }) : t("none_yet"));
    if (b.week) weekCard(b.week);
    $("stale").hidden = !f.stale.length;
    const named = f.stale_stages.map((s) => t("stage_" + s)).join(lang === "zh" ? "、" : ", "); // stages, not tables
    $("stale").innerHTML = `${t("stale", {n: f.stale.length, s: named})} <a href="#data">${t("run_it")}</a>`;
    if (b.computed.reorders && b.reorders.length) {
      $("reorders-title").textContent = `${t("reorders")} · ` + t("top_lines", {n: b.reorders.length,
        m: fmt(b.reorder_total.lines, "int"), u: fmt(b.reorder_total.units, "int")});
      grid("reorders", b.reorders, [{key: "sku", label: "item", kind: "id"}, {key: "description", label: "desc"},
        {key: "qty", label: "qty", kind: "int"}, {key: "arrives", label: "arrives", kind: "date"},
        {key: "why", label: "reason", show: reason}], "reorders");
    } else if (b.computed.reorders) {
      $("reorders").textContent = t("reorders_none");
    } else notRun("reorders");
    if (b.computed.rising) {
      grid("rising", b.rising, [{key: "sku", label: "item", kind: "id"}, {key: "description", label: "desc"},
        {key: "category", label: "category", show: category}, {key: "why", label: "reason", show: reason}], "rising");
    } else notRun("rising");
    if (b.computed.complaints) {
      grid("urgent", b.complaints, [{key: "severity", label: "severity", show: (v) => t("sev_" + v), cls: (v) => "sev-" + v},
        {key: "category", label: "category", show: category}, {key: "reason", label: "reason", show: reason}, {key: "text", label: "text"}],
      "urgent-complaints");
    } else notRun("urgent");
    calendar(events, f.last_order);
  },

  async overview() {
    const months = await result("/api/v1/indicators?freq=M&table=totals");
    if (!months) { notRun("kpis"); return; }
    const done = months.filter((r) => r.complete); // an incomplete last month would read as a collapse
    const last = done[done.length - 1] || months[months.length - 1];
    const period = fmt(last.period, "date").slice(0, 7);
    $("kpis").className = "kpis";
    $("kpis").innerHTML = "";
    [["revenue", "money"], ["units", "int"], ["orders", "int"], ["customers", "int"], ["avg_basket", "money2"],
      ["return_rate", "pct"]].forEach(([k, kind]) => {
      const g = k === "return_rate" || !last.complete ? null : last[k + "_pop"];
      const sub = g == null ? null : {text: `${t("vs_prev")} ${fmt(g, "delta")}`, cls: g >= 0 ? "up" : "down"};
      const label = `${t(k)} · ${period} (${t(last.complete ? "complete_month" : "partial_month")})`;
      card($("kpis"), k, label, fmt(last[k], kind), sub).dataset.value = last[k];
    });
    const partial = months.filter((r) => !r.complete && r !== last).map((r) => fmt(r.period, "date").slice(0, 7));
    $("partial").textContent = (last.complete ? "" : t("partial_only", {p: period}) + " ") +
      partial.map((p) => t("partial_note", {p})).join(" ");
    const weeks = await api("/api/v1/indicators?freq=W&table=totals");
    const fc = ((await result("/api/v1/indicators?freq=W&table=forecast")) || []).filter((r) => r.metric === "revenue");
    const full = weeks.filter((r) => r.complete), part = weeks.filter((r) => !r.complete);
    plot("chart-revenue", [
      {x: full.map((r) => r.period), y: full.map((r) => r.revenue), name: t("history"),
       mode: full.length > 2 ? "lines" : "lines+markers"},
      {x: part.map((r) => r.period), y: part.map((r) => r.revenue), name: t("partial_week"), mode: "markers",
       marker: {symbol: "circle-open", size: 10}},
      band(fc.map((r) => r.period), fc.map((r) => r.yhat_q10), fc.map((r) => r.yhat_q90)),
      {x: fc.map((r) => r.period), y: fc.map((r) => r.yhat), name: t("fc"), mode: "lines+markers"},
    ], t("rev_trend"), {xaxis: {automargin: true}, yaxis: {tickformat: ",.0f", ticksuffix: " " + currency(), automargin: true}});
    const dims = await api("/api/v1/indicators?freq=M&table=by_dimension&dimension=category");
    const cats = dims.filter((r) => r.period === last.period).sort((a, b) => b.revenue - a.revenue);
    plot("chart-categories", [{type: "bar", x: cats.map((r) => category(r.value)), y: cats.map((r) => r.share),
      text: cats.map((r) => fmt(r.share, "pct")), textposition: "auto"}], t("cat_share", {p: period}),
    {xaxis: {type: "category"}, yaxis: {tickformat: ".0%"}});
  },

  async hotspots() {
    const hs = await result("/api/v1/hotspots?k=20");
    if (!hs) { notRun("table-hotspots"); return; }
    const top = hs.slice().reverse();
    plot("chart-hotspots", [{type: "bar", orientation: "h", x: top.map((r) => r.score), y: top.map((r) => itemLabel(r.unique_id)),
      hovertext: top.map((r) => reason(r.reason)), hoverinfo: "x+y+text"}], t("hs_title"),
    {height: 560, margin: {l: 20, r: 20, t: 50, b: 50}, yaxis: {type: "category", automargin: true},
      xaxis: {title: {text: t("hs_axis")}}});
    grid("table-hotspots", hs, [{key: "rank", label: "rank", kind: "int"}, ...idCols(),
      {key: "category", label: "category", show: category}, {key: "score", label: "score", kind: "num", digits: 3},
      {key: "last_units", label: "last_units", kind: "int"}, {key: "reason", label: "reason", show: reason}], "hotspots");
  },

  async complaints() {
    const side = (path) => result(path).catch(() => null); // a summary that fails leaves the queue shown
    const [got, summary, brief] = await Promise.all([result("/api/v1/complaints?limit=500", true),
      side("/api/v1/complaints/summary"), side("/api/v1/brief")]);
    if (!got) { ["table-complaint-summary", "table-needs", "table-complaints"].forEach(notRun); return; }
    // what customers complain about most, counted over every complaint, then what they say is missing
    grid("table-complaint-summary", summary || [], [{key: "category", label: "category", show: category},
      {key: "reason", label: "reason", show: reason}, {key: "complaints", label: "cs_count", kind: "int"},
      {key: "share", label: "cs_share", kind: "pct", digits: 0}, {key: "example", label: "cs_example", show: clip}],
      "complaint-summary");
    grid("table-needs", (brief || []).filter((r) => r.kind === "need"), [{key: "category", label: "category", show: category},
      {key: "aspect", label: "cs_aspect"}, {key: "mentions", label: "cs_mentions", kind: "int"},
      {key: "example", label: "cs_example", show: clip}], "needs");
    grid("table-complaints", got.rows, complaintCols(), "complaints", got.total);
  },

  async forecast() {
    const sel = $("series");
    if (!sel.options.length) {
      const agg = await result("/api/v1/forecasts?level=category&limit=100000");
      if (!agg) { notRun("table-forecast"); return; }
      const skus = await api("/api/v1/forecasts?level=sku&limit=100000");
      const ids = ["total", ...agg.map((r) => r.unique_id), ...skus.map((r) => r.unique_id)];
      [...new Set(ids)].forEach((id) => sel.add(new Option(seriesLabel(id), id)));
      sel.onchange = () => show("forecast");
    }
    [...sel.options].forEach((o) => { o.textContent = seriesLabel(o.value); }); // in the language now chosen
    const s = await api("/api/v1/series/" + encodeURIComponent(sel.value));
    const f = s.forecast;
    plot("chart-forecast", [
      {x: s.history.ds, y: s.history.y, name: t("history"), mode: "lines"},
      band(f.ds, f.yhat_q10, f.yhat_q90),
      {x: f.ds, y: f.yhat, name: t("fc"), mode: "lines+markers"},
    ], `${t("forecast")}: ${seriesLabel(s.unique_id)}`, {yaxis: {title: {text: t("units_wk")}, tickformat: ",.0f"}});
    grid("table-forecast", f.ds.map((d, i) => ({ds: d, yhat: f.yhat[i], q10: f.yhat_q10[i], q90: f.yhat_q90[i]})),
      [{key: "ds", label: "ds", kind: "date"}, // a decimal only where it tells something (under 10 a week)
        {key: "yhat", label: "fc_col", kind: "num", show: (v) => fmt(v, Math.abs(v) >= 10 ? "int" : "num")},
        {key: "q10", label: "q10", kind: "int"}, {key: "q90", label: "q90", kind: "int"}], `forecast-${s.unique_id}`);
  },

  async plan() {
    const [plan, fc, hs] = await Promise.all([result("/api/v1/plan?limit=100000"),
      result("/api/v1/forecasts?level=sku&limit=100000"), result("/api/v1/hotspots?k=100")]);
    if (!plan) { notRun("plan-weeks"); return; }
    const rows = withWhy(plan, fc, hs);
    const total = rows.reduce((s, r) => s + r.qty, 0);
    const weeks = [...new Set(rows.map((r) => r.ds))].sort();
    $("plan-total").textContent = t("plan_total", {n: fmt(total, "int"), s: new Set(rows.map((r) => r.unique_id)).size,
      w: weeks.length});
    $("plan-total").dataset.total = String(total);
    $("plan-weeks").className = "";
    $("plan-weeks").innerHTML = "";
    weeks.forEach((w, i) => {
      const these = rows.filter((r) => r.ds === w);
      const h = document.createElement("h3");
      h.textContent = `${t("week_of", {d: fmt(w, "date")})} · ${t("total")} ${fmt(these.reduce((s, r) => s + r.qty, 0), "int")}`;
      const box = Object.assign(document.createElement("div"), {id: `plan-week-${i}`});
      $("plan-weeks").append(h, box);
      grid(box.id, these, [...idCols(), {key: "qty", label: "qty", kind: "int"}, {key: "yhat", label: "fc_week", kind: "int"},
        {key: "why", label: "reason"}], `plan-${fmt(w, "date")}`);
    });
  },

  async live() {
    const w = await api("/api/v1/live");
    $("live-clock").innerHTML = "";
    if (!w.now) {
      $("live-skus").className = "notice";
      $("live-skus").textContent = t("live_none");
      $("live-categories").innerHTML = "";
    } else {
      card($("live-clock"), "live_week", t("live_week"), fmt(w.week, "date"),
        {text: t("live_elapsed", {p: fmt(w.elapsed, "pct", 0)}), cls: ""});
      card($("live-clock"), "live_now", t("live_now"), fmt(w.now, "time"));
      const units = w.skus.reduce((s, r) => s + r.units, 0);
      card($("live-clock"), "live_units", t("units"), fmt(units, "int")).dataset.value = units;
      const cols = [{key: "units", label: "units", kind: "int"}, {key: "revenue", label: "revenue", kind: "money2"},
        {key: "expected", label: "expected", kind: "int"}, {key: "forecast_week", label: "forecast_week", kind: "int"},
        {key: "score", label: "score", kind: "num", digits: 1, cls: scoreClass}];
      grid("live-categories", w.categories, [{key: "category", label: "category", show: category}, ...cols], "live-categories");
      const unusual = w.skus.slice().sort((a, b) => Math.abs(b.score ?? 0) - Math.abs(a.score ?? 0)).slice(0, LIVE_TOP);
      $("live-skus-title").textContent = `${t("live_skus")} · ${t("top_n", {n: unusual.length, m: w.skus.length})}`;
      grid("live-skus", unusual, [{key: "sku", label: "item", kind: "id"}, {key: "sku", label: "desc", show: (v) => desc(v)},
        {key: "category", label: "category", show: category}, ...cols], "live-skus");
    }
    await pollFeed(true);
    clearInterval(feedTimer);
    feedTimer = setInterval(() => pollFeed(false).catch((e) => { $("error").textContent = e.message; }), FEED_EVERY_MS);
  },

  async launch() {
    if (!$("l-cats").options.length) {
      const cats = (await result("/api/v1/forecasts?level=category&limit=100000")) || [];
      [...new Set(cats.map((r) => r.unique_id.replace(/^category\//, "")))].forEach((c) => $("l-cats").append(new Option(c)));
    }
    if (lastLaunch) showLaunch(lastLaunch);
  },

  async data() {
    const writer = me.role !== "reader";
    $("data-forms").hidden = !writer;
    $("reader-note").hidden = writer;
    const [loads, jobs] = await Promise.all([api("/api/v1/loads?limit=100"), api("/api/v1/jobs")]);
    grid("table-loads", loads, [{key: "load_id", label: "load_id", kind: "int"}, {key: "kind", label: "kind",
      show: (v) => t("kind_" + v)}, {key: "file", label: "file_col"}, {key: "rows_read", label: "rows_read", kind: "int"},
    {key: "stored", label: "stored", kind: "int"}, {key: "quarantined", label: "quarantined", kind: "int",
      open: (v, r) => (v > 0 ? () => loadReport(r).then(() => $("report").scrollIntoView()) : null)},
    {key: "duplicates", label: "duplicates", kind: "int"}, {key: "finished", label: "finished", kind: "time"},
    {key: "status", label: "status", show: (v) => t("st_" + v)}, {key: "note", label: "note", show: (v) => reason(v)}],
    "loads");
    grid("table-jobs", jobs, [{key: "stage", label: "stage", show: (v) => t("stage_" + v)},
      {key: "status", label: "status", show: (v) => t("st_" + v)}, {key: "progress", label: "progress", kind: "pct", digits: 0},
      {key: "created", label: "created", kind: "time"}, {key: "finished", label: "finished", kind: "time"},
      {key: "message", label: "message", show: (v) => jobMessage(v)}], "jobs");
  },
};

/** Weeks of ``ahead`` (forecast rows in week order) whose demand ``qty`` covers, week by week (a week forecast
 * at 0, such as a close-down, passes covered): an average would count a close-down against the order. */
function coveredWeeks(qty, ahead) {
  let left = qty, weeks = 0;
  for (const x of ahead) {
    if (x.yhat >= left) return weeks + (x.yhat > 0 ? left / x.yhat : 0);
    left -= x.yhat;
    weeks += 1;
  }
  return null; // more than the forecast's weeks
}

/** Plan rows with why each is made: the forecast weekly demand from the plan's week on, how many of those weeks
 * the quantity covers, and the item's hotspot rank when it is rising. */
function withWhy(rows, fc, hs) {
  const weekly = new Map();
  (fc || []).forEach((r) => weekly.set(r.unique_id, (weekly.get(r.unique_id) || []).concat([r])));
  const rank = new Map((hs || []).map((r) => [r.unique_id, r.rank]));
  return rows.map((r) => {
    const ahead = (weekly.get(r.unique_id) || []).filter((x) => x.ds >= r.ds).sort((a, b) => (a.ds < b.ds ? -1 : 1));
    const yhat = ahead.length ? ahead.reduce((s, x) => s + x.yhat, 0) / ahead.length : null;
    const weeks = coveredWeeks(r.qty, ahead);
    const fc = yhat ? fmt(yhat, "int") : "";
    const covers = weeks === null ? t("why_fc_more", {fc, n: ahead.length}) : t("why_fc", {fc, c: fmt(weeks, "num")});
    const why = [yhat ? covers : "",
      rank.has(r.unique_id) ? t("why_rising", {r: rank.get(r.unique_id)}) : ""].filter(Boolean).join(t("sep"));
    return {...r, yhat, why};
  });
}

/** This week's units against the forecast for the whole week, after ``days`` of its 7. */
function weekCard(w) {
  const share = w.forecast ? w.units / w.forecast : null;
  // part of a week: the share so far reads as "on track" at 97% after 4 days; its pace says 170% (days spread evenly)
  const pace = w.forecast && w.days < 7 && w.days > 0 ? t("week_pace", {q: fmt(share * 7 / w.days, "pct", 0)}) : "";
  const sub = w.forecast == null ? {text: t("no_week_fc"), cls: ""} : {cls: "",
    text: t("week_vs", {fc: fmt(w.forecast, "int"), p: fmt(share, "pct", 0), lo: fmt(w.low, "int"), hi: fmt(w.high, "int")}) + pace};
  card($("freshness"), "week_units", t("week_units", {d: fmt(w.start, "date"), n: w.days}), fmt(w.units, "int"), sub)
    .dataset.value = w.units;
}

/** The tenant's events that end at most 8 weeks before ``now`` (business time) or later, or how to load some. */
function calendar(events, now) {
  const box = $("events");
  if (!events.length) {
    box.className = "notice";
    box.innerHTML = t("events_none");
    return;
  }
  const from = now ? new Date(new Date(now).getTime() - 56 * 864e5).toISOString().slice(0, 10) : "";
  const rows = events.filter((e) => e.end >= from);
  $("events-title").textContent = `${t("events_title")} · ${t("events_of", {n: rows.length, m: events.length})}`;
  grid("events", rows, [{key: "name", label: "ev_name"}, {key: "kind", label: "kind", show: (v) => t("ev_" + v)},
    {key: "start", label: "ev_start", kind: "date"}, {key: "end", label: "ev_end", kind: "date"},
    {key: "scope", label: "ev_scope", show: (v) => t("ev_" + v)}, {key: "target", label: "ev_target"}], "events");
}

const scoreClass = (v) => (v == null ? "" : v >= 3 ? "above" : v <= -3 ? "below" : "");

/** New signals after the feed's cursor, newest first above the ones already shown; ``redraw`` draws even
 * when nothing is new (on opening the view). New signals also refresh the week's tables. */
async function pollFeed(redraw) {
  if (document.body.dataset.view !== "live") { clearInterval(feedTimer); return; }
  let fresh = [];
  for (;;) {
    const page = await api(`/api/v1/signals?since=${feed.next}&limit=1000`);
    fresh = fresh.concat(page.signals);
    feed.next = page.next;
    if (page.signals.length < 1000) break;
  }
  feed.rows = fresh.reverse().concat(feed.rows).slice(0, FEED_KEEP);
  if (fresh.length && !redraw) return views.live();
  if (!feed.rows.length) {
    $("feed").className = "notice";
    $("feed").textContent = t("feed_none");
    return;
  }
  grid("feed", feed.rows, [{key: "ts", label: "sig_ts", kind: "time"},
    {key: "kind", label: "kind", show: (v) => t("sig_" + v), cls: (v) => "sig-" + v},
    {key: "sku", label: "item", kind: "id"}, {key: "sku", label: "desc", show: (v) => desc(v)},
    {key: "detail", label: "what", show: signalText}], "signals");
}

/** What a signal says, in the page's language. */
function signalText(d, s) {
  if (s.kind === "reorder") {
    return t("sig_reorder_text", {d: fmt(d.needed_by, "date")}) + t("sep") + reason(d.reason);
  }
  return t("sig_demand_text", {u: fmt(d.units, "int"), e: fmt(d.expected, "int"), p: fmt(d.elapsed, "pct", 0),
    s: fmt(d.score, "num")});
}

/** Send the new-design form to POST /api/v1/launch and show the answer. */
async function sendLaunch(ev) {
  ev.preventDefault();
  const num = (id) => ($(id).value === "" ? undefined : Number($(id).value));
  const draft = {unique_id: $("l-id").value.trim(), description: $("l-desc").value.trim(), price: num("l-price"),
    category: $("l-category").value.trim() || undefined, preorders: num("l-pre"), preorder_weeks: num("l-preweeks")};
  const body = {drafts: [draft], moq: num("l-moq") ?? 0, capacity: num("l-capacity"),
    service_level: (num("l-service") ?? 50) / 100, weeks_cover: num("l-cover") ?? 2};
  $("l-send").disabled = true;
  $("l-status").textContent = t("l_working");
  document.body.dataset.ready = "0";
  const ask = ++launchAsks;
  try {
    const got = await api("/api/v1/launch", {method: "POST", headers: {"content-type": "application/json"},
      body: JSON.stringify(body)});
    if (ask !== launchAsks) return; // the form was edited while this was asked: the answer is to another draft
    lastLaunch = got;
    $("l-status").textContent = "";
    showLaunch(lastLaunch);
  } catch (e) {
    if (ask !== launchAsks) return;
    $("launch-out").hidden = true; lastLaunch = null;
    if (e.status === 404) $("l-status").innerHTML = `${t("l_need_fc")} <a href="#data">${t("run_it")}</a>`;
    else $("l-status").textContent = e.message;
  } finally {
    $("l-send").disabled = false;
    document.body.dataset.ready = "1";
  }
}

/** A launch answer: the first batch, the weekly forecast with its 80% band (chart and table), the analogs. */
function showLaunch(out) {
  $("launch-out").hidden = false;
  const fc = out.forecasts, batch = out.first_batches[0];
  const h = fc.length;
  $("launch-kpis").innerHTML = "";
  card($("launch-kpis"), "first_batch", t("l_batch"), fmt(batch.first_batch, "int"),
    {text: t("l_batch_sub", {d: fmt(batch.demand, "int")}), cls: ""}).dataset.value = batch.first_batch;
  const total = fc.reduce((s, r) => s + r.yhat, 0);
  card($("launch-kpis"), "launch_total", t("l_total", {h}), fmt(total, "int")).dataset.value = total;
  // past designs whose text barely matches: the forecast then rests on price and category, and says so
  const best = Math.max(0, ...out.analogs.map((a) => a.similarity));
  // and a price outside every past launch's: nothing learnt says what it sells at that price
  const notes = [best >= WEAK_ANALOG ? "" : t("l_weak", {s: fmt(best, "pct", 0)}), priceNote((out.notes || {})[batch.unique_id])];
  $("launch-note").textContent = notes.filter(Boolean).join(" ");
  $("launch-note").hidden = !$("launch-note").textContent;
  const weeks = fc.map((r) => t("l_week", {w: r.week}));
  plot("chart-launch", [
    band(weeks, fc.map((r) => r.yhat_q10), fc.map((r) => r.yhat_q90)),
    {x: weeks, y: fc.map((r) => r.yhat), name: t("fc"), mode: "lines+markers"},
  ], `${t("launch")}: ${batch.unique_id}`, {xaxis: {type: "category"}, yaxis: {title: {text: t("units_wk")}, tickformat: ",.0f"}});
  grid("launch-table", fc, [{key: "week", label: "l_week_col", kind: "int"}, {key: "yhat", label: "fc_col", kind: "int"},
    {key: "yhat_q10", label: "q10", kind: "int"}, {key: "yhat_q90", label: "q90", kind: "int"}], `launch-${batch.unique_id}`);
  if (out.analogs.length) {
    grid("launch-analogs", out.analogs, [{key: "analog_id", label: "item", kind: "id"}, {key: "description", label: "desc"},
      {key: "similarity", label: "similarity", kind: "pct", digits: 0},
      {key: "first_h_units", label: "first_h", kind: "int"}], `analogs-${batch.unique_id}`);
    $("launch-analogs-title").textContent = t("l_analogs", {h});
  } else {
    $("launch-analogs").className = "notice";
    $("launch-analogs").textContent = t("l_no_analogs");
  }
}

/** A long text cut to a glance (the whole of it is in the queue below and the CSV of the queue). */
const clip = (v) => (v == null ? "" : String(v).length > 120 ? String(v).slice(0, 119) + "…" : String(v));
const complaintCols = () => [{key: "rank", label: "rank", kind: "int"}, {key: "category", label: "category", show: category},
  {key: "reason", label: "reason", show: reason}, {key: "urgency", label: "urgency", kind: "num", digits: 2},
  {key: "p_negative", label: "p_negative", kind: "pct", digits: 0}, {key: "matched", label: "matched"},
  {key: "text", label: "text"}];

/** The upload form's optional load options as [field, value] pairs: each SOURCE=field of the mapping box (split on
 * commas, Chinese commas, semicolons or new lines), the decimal separator, the date format (the typed format before
 * the chosen order) and the time zone; an option left empty is not sent, so the server detects it. */
function uploadOptions() {
  const mapping = $("up-mapping").value.split(/[,，;；\n]/).map((m) => m.trim()).filter(Boolean);
  const dateFormat = $("up-date-fmt").value.trim() || $("up-date").value;
  return [...mapping.map((m) => ["mapping", m]), ["decimal", $("up-decimal").value], ["date_format", dateFormat],
    ["timezone", $("up-tz").value.trim()]].filter(([, v]) => v);
}

/** Show a failed upload's reason; when it names a form field that settles it, mark that input and say to retry. */
function uploadFailed(detail) {
  const fields = {"mapping field": "up-mapping", "decimal field": "up-decimal", "date_format field": "up-date"};
  const need = Object.keys(fields).find((f) => detail.includes(f));
  Object.values(fields).forEach((id) => $(id).classList.toggle("need", fields[need] === id));
  $("up-status").textContent = need ? `${storeError(detail)} ${t("up_retry")}` : storeError(detail);
  if (need) $(fields[need]).focus();
}

/** Upload the chosen file with XMLHttpRequest (for its upload progress), then show the load report. */
function upload(ev) {
  ev.preventDefault();
  const file = $("up-file").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  if ($("up-preset").value) form.append("preset", $("up-preset").value);
  uploadOptions().forEach(([k, v]) => form.append(k, v));
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/v1/uploads/" + $("up-kind").value);
  xhr.setRequestHeader("X-API-Key", sessionStorage.getItem("sf-key") || "");
  $("up-progress").hidden = false;
  $("up-progress").value = 0;
  $("up-status").textContent = t("uploading", {p: "0%"});
  $("up-send").disabled = true;
  xhr.upload.onprogress = (e) => {
    if (!e.lengthComputable) return;
    $("up-progress").value = e.loaded / e.total;
    $("up-status").textContent = e.loaded < e.total ? t("uploading", {p: fmt(e.loaded / e.total, "pct", 0)}) : t("loading_store");
  };
  xhr.upload.onload = () => { $("up-progress").value = 1; $("up-status").textContent = t("loading_store"); };
  xhr.onloadend = async () => {
    $("up-send").disabled = false;
    let body = {};
    try { body = JSON.parse(xhr.responseText || "{}"); } catch { body = {}; }
    if (xhr.status !== 200) { uploadFailed(String(body.detail || xhr.statusText)); return; }
    $("up-status").textContent = "";
    document.querySelectorAll("#up-options .need").forEach((el) => el.classList.remove("need"));
    hasData = hasData || body.stored > 0;
    await loadReport(body);
    await views.data();
  };
  xhr.send(form);
}

async function loadReport(rep) {
  $("report").hidden = false;
  $("report-title").textContent = `${t("load_report")} · ${rep.file}`;
  // a file sent again is not loaded again: say so first (its lines count as duplicates of the earlier load)
  const earlier = rep.status === "skipped" && /load (\d+)/.exec(rep.note || "");
  $("report-note").hidden = !earlier;
  $("report-note").textContent = earlier ? t("already_loaded", {id: earlier[1]}) : "";
  $("report-counts").innerHTML = "";
  ["rows_read", "stored", "quarantined", "duplicates"].forEach((k) => {
    card($("report-counts"), k, t(k), fmt(rep[k], "int")).dataset.value = rep[k];
  });
  const rows = rep.quarantined ? await api(`/api/v1/quarantine?load_id=${rep.load_id}&limit=1000`) : [];
  // an upload's answer counts its reasons; a past load from the table has them counted by the server
  const reasons = rep.reasons ? Object.entries(rep.reasons).map(([r, n]) => ({reason: r, count: n}))
    : rep.quarantined ? await api(`/api/v1/loads/${rep.load_id}/reasons`) : [];
  grid("report-reasons", reasons, [{key: "reason", label: "reason", show: reason}, {key: "count", label: "count", kind: "int"}],
    `reasons-${rep.load_id}`);
  // an admin key also gets each line as it was sent (scrubbed of personal data): what to fix, at a glance
  const raw = rows.some((r) => r.raw != null) ? [{key: "raw", label: "raw_line"}] : [];
  grid("report-rows", rows, [{key: "src_row", label: "src_row", kind: "int"}, {key: "reason", label: "reason", show: reason},
    ...raw], `quarantine-${rep.load_id}`, Math.max(rows.length, rep.quarantined || 0));
}

/** Start a stage job and follow its progress until it is done or failed. */
async function runJob(ev) {
  ev.preventDefault();
  $("job-run").disabled = true;
  let job = await api("/api/v1/jobs", {method: "POST", headers: {"content-type": "application/json"},
    body: JSON.stringify({stage: $("job-stage").value})});
  $("job-progress").hidden = false;
  while (true) {
    $("job-progress").value = job.progress;
    $("job-status").textContent = `${t("stage_" + job.stage)}: ${t("st_" + job.status)} ${fmt(job.progress, "pct", 0)}` +
      (job.message ? ` · ${jobMessage(job.message)}` : "");
    $("job-status").dataset.status = job.status;
    if (job.status === "done" || job.status === "failed") break;
    await new Promise((ok) => setTimeout(ok, 500));
    job = await api("/api/v1/jobs/" + job.job_id);
  }
  $("job-run").disabled = false;
  await loadNames();
  await views.data();
}

/** SKU descriptions from /api/v1/products ([{sku, name}]) when the service has that route. */
async function loadNames() {
  const spec = await fetch("/openapi.json").then((r) => r.json());
  if (!spec.paths["/api/v1/products"] || !hasData) return;
  const rows = (await result("/api/v1/products?limit=100000")) || [];
  names = new Map(rows.filter((r) => r.name).map((r) => [String(r.sku), r.name]));
}

function translate() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("option[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-ph]").forEach((el) => { el.placeholder = t(el.dataset.i18nPh); });
  document.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
}

async function show(view) {
  if (!views[view]) view = "week";
  clearInterval(feedTimer);
  const guide = !hasData && view !== "data";
  $("guide").hidden = !guide;
  document.querySelectorAll(".view").forEach((el) => { el.hidden = guide || el.id !== "view-" + view; });
  document.querySelectorAll("#tabs a").forEach((a) => a.classList.toggle("active", a.dataset.view === view));
  $("error").textContent = "";
  document.body.dataset.view = view;
  document.body.dataset.ready = "0";
  try { if (!guide) await views[view](); } catch (e) { $("error").textContent = e.message; }
  document.body.dataset.ready = "1";
}

async function login(key) {
  sessionStorage.setItem("sf-key", key);
  try {
    me = await api("/api/v1/whoami");
  } catch (e) {
    sessionStorage.removeItem("sf-key");
    $("login-error").textContent = t("bad_key");
    return;
  }
  $("who").textContent = `${me.tenant} · ${me.role}`;
  $("login").hidden = true; $("login-error").textContent = ""; $("tabs").hidden = false; $("logout").hidden = false;
  hasData = (await api("/api/v1/loads?limit=50")).some((l) => l.status === "ok" && l.stored > 0);
  await loadNames();
  await show(location.hash.slice(1) || "week");
}

$("login").addEventListener("submit", (ev) => { ev.preventDefault(); login($("key").value.trim()); });
$("logout").addEventListener("click", () => { sessionStorage.removeItem("sf-key"); location.hash = ""; location.reload(); });
$("lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("sf-lang", lang); translate();
  if (!$("tabs").hidden) show(document.body.dataset.view);
});
$("currency").value = currency();
$("currency").addEventListener("change", () => {
  localStorage.setItem("sf-currency", $("currency").value);
  if (!$("tabs").hidden) show(document.body.dataset.view);
});
$("upload").addEventListener("submit", upload);
$("launch-form").addEventListener("submit", sendLaunch);
// an answer stands for the draft it was asked for: edited inputs hide it until the next one
$("launch-form").addEventListener("input", () => {
  launchAsks++; lastLaunch = null; $("launch-out").hidden = true; $("l-status").textContent = "";
});
$("jobs").addEventListener("submit", (ev) => runJob(ev).catch((e) => { $("job-status").textContent = e.message; $("job-run").disabled = false; }));
window.addEventListener("hashchange", () => { if (!$("tabs").hidden) show(location.hash.slice(1)); });
translate();
if (sessionStorage.getItem("sf-key")) login(sessionStorage.getItem("sf-key"));
