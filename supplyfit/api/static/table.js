// supplyfit dashboard: number formats by kind, and tables every operator can sort, search and download as CSV.
"use strict";
const $ = (id) => document.getElementById(id);
const locale = () => (lang === "zh" ? "zh-CN" : "en-GB");
const currency = () => localStorage.getItem("sf-currency") || "GBP";

/** A value formatted by its kind: int (counts), num (decimals), money, pct (a share 0..1), delta (+/- share),
 * date (ISO date), text. Missing values show as an en dash, never as "null" or "NaN". */
function fmt(v, kind = "text", digits = 1) {
  if (v == null || v === "" || (typeof v === "number" && !Number.isFinite(v))) return "–";
  const n = Number(v);
  switch (kind) {
    case "int": return Math.round(n).toLocaleString(locale());
    case "num": return (Number(n.toFixed(digits)) || 0) // no "-0.0"
      .toLocaleString(locale(), {minimumFractionDigits: digits, maximumFractionDigits: digits});
    case "money": return n.toLocaleString(locale(), {style: "currency", currency: currency(), maximumFractionDigits: 0});
    case "money2": return n.toLocaleString(locale(), {style: "currency", currency: currency()});
    case "pct": { // a share too small to show at these digits reads "<1%", not "0%" (2 complaints of 1,385)
      const shown = (100 * n).toFixed(digits);
      return n > 0 && Number(shown) === 0 ? `<${(10 ** -digits).toFixed(digits)}%` : shown + "%";
    }
    case "delta": return (n >= 0 ? "+" : "") + (100 * n).toFixed(digits) + "%";
    case "date": return String(v).slice(0, 10);
    case "time": return String(v).slice(0, 16).replace("T", " ");
    default: return String(v);
  }
}
const NUMERIC = new Set(["int", "num", "money", "money2", "pct", "delta"]);
const PAGE = 100; // rows a table shows at first and adds per "show more"
const PROSE = new Set(["text", "reason", "why", "note", "message", "detail", "raw", "example"]); // columns that wrap; the others stay on one line

/** Render ``rows`` into the element ``id`` as a toolbar (search, row count, CSV) over a sortable table.
 * ``cols``: [{key, label, kind, show, cls}] where ``show(value, row)`` gives the text (default: fmt by kind) and
 * ``cls(value, row)`` an extra class for the cell (a colour), ``open(value, row)`` a function the cell's text calls
 * when clicked (or null: plain text);
 * the CSV holds the shown text of every matching row, with the headers in the current language. ``total``: the rows
 * the server holds when it sent only the first ones (the count then says "500 of 2,345"). */
function grid(id, rows, cols, name, total = rows.length) {
  const box = $(id);
  box.innerHTML = "";
  box.className = "grid";
  const bar = document.createElement("div");
  bar.className = "toolbar";
  const search = Object.assign(document.createElement("input"), {type: "search", placeholder: t("search")});
  const count = document.createElement("span");
  const csv = Object.assign(document.createElement("button"), {type: "button", textContent: t("csv")});
  csv.className = "csv";
  bar.append(search, count, csv);
  const tbl = document.createElement("table");
  tbl.className = "tbl";
  const scroll = document.createElement("div"); // a wide table scrolls within itself, not the page
  scroll.className = "scroll";
  scroll.append(tbl);
  box.append(bar, scroll);
  const shown = (c, r) => (c.show ? c.show(r[c.key], r) : fmt(r[c.key], c.kind || "text", c.digits));
  const state = {key: null, dir: 1, query: "", limit: PAGE};
  const head = tbl.createTHead().insertRow();
  cols.forEach((c) => {
    const th = document.createElement("th");
    th.textContent = t(c.label || c.key);
    th.dataset.key = c.key;
    if (NUMERIC.has(c.kind)) th.className = "num";
    th.onclick = () => { state.dir = state.key === c.key ? -state.dir : 1; state.key = c.key; draw(); };
    head.appendChild(th);
  });
  const body = tbl.createTBody();
  const visible = () => {
    const q = state.query.toLowerCase();
    let out = q ? rows.filter((r) => cols.some((c) => shown(c, r).toLowerCase().includes(q))) : rows.slice();
    if (state.key) {
      const c = cols.find((x) => x.key === state.key);
      const num = NUMERIC.has(c.kind);
      out.sort((a, b) => {
        const x = a[c.key], y = b[c.key];
        if (x == null) return 1;
        if (y == null) return -1;
        return state.dir * (num ? x - y : String(shown(c, a)).localeCompare(String(shown(c, b)), locale()));
      });
    }
    return out;
  };
  function draw() {
    const out = visible();
    body.innerHTML = "";
    out.slice(0, state.limit).forEach((r) => {
      const tr = body.insertRow();
      cols.forEach((c) => {
        const td = tr.insertCell();
        td.textContent = shown(c, r);
        if (NUMERIC.has(c.kind)) td.className = "num";
        if (c.kind === "id") td.className = "id";
        if (PROSE.has(c.key)) td.className = "prose";
        if (c.cls && c.cls(r[c.key], r)) td.classList.add(c.cls(r[c.key], r));
        const go = c.open && c.open(r[c.key], r); // a cell that opens what it counts (a load's quarantined lines)
        if (go) {
          const link = Object.assign(document.createElement("button"), {type: "button", textContent: td.textContent});
          link.className = "link";
          link.onclick = go;
          td.textContent = "";
          td.append(link);
        }
      });
    });
    if (!rows.length) { // nothing at all (not a search without hits, which the count says): a line says so
      const td = body.insertRow().insertCell();
      td.colSpan = cols.length; td.className = "empty"; td.textContent = t("table_empty");
    }
    if (out.length > state.limit) { // a long table shows a page at a time (search, sort and CSV see every row)
      const td = body.insertRow().insertCell();
      td.colSpan = cols.length; td.className = "more";
      const more = Object.assign(document.createElement("button"), {type: "button",
        textContent: t("show_more", {n: Math.min(PAGE, out.length - state.limit), left: out.length - state.limit})});
      more.onclick = () => { state.limit += PAGE; draw(); };
      td.append(more);
    }
    head.querySelectorAll("th").forEach((th) => {
      th.dataset.sort = th.dataset.key === state.key ? (state.dir > 0 ? "asc" : "desc") : "";
    });
    const n = out.length.toLocaleString(locale());
    const cut = total > rows.length; // the server holds more than it sent: say so, searched or not
    const first = rows.length.toLocaleString(locale());
    count.textContent = !cut ? t("rows", {n})
      : state.query ? t("rows_in_first", {n, first, total: total.toLocaleString(locale())})
      : t("rows_of", {n, total: total.toLocaleString(locale())});
    tbl.dataset.rows = String(out.length);
  }
  search.oninput = () => { state.query = search.value.trim(); state.limit = PAGE; draw(); };
  csv.onclick = () => {
    const cell = (s) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    const lines = [cols.map((c) => cell(t(c.label || c.key)))]
      .concat(visible().map((r) => cols.map((c) => cell(NUMERIC.has(c.kind) ? rawCsv(r[c.key]) : shown(c, r)))));
    const blob = new Blob(["\ufeff" + lines.map((l) => l.join(",")).join("\n") + "\n"], {type: "text/csv"});
    const a = Object.assign(document.createElement("a"), {href: URL.createObjectURL(blob), download: `${name}.csv`});
    document.body.appendChild(a); a.click(); a.remove();
  };
  draw();
  return tbl;
}

/** A number for a CSV cell: unformatted, so a spreadsheet reads it as a number. */
const rawCsv = (v) => (v == null ? "" : String(v));
