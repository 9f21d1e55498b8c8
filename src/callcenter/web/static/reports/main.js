// The report browser: pick a period, a dimension and who, see the chart and
// the table (each column's formula as its tooltip), export CSV/XLSX, print.
// Below: SL dispersion, abandons, today's unreturned abandons, the month's
// scorecard and next week's staffing.  Charts: Apache ECharts (window.echarts,
// served from node_modules at /vendor/echarts.min.js).
import "./strings.js";
import { api, signedIn, toast } from "/static/common/api.js";
import { applyI18n, lang, t } from "/static/common/i18n.js";

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const QUEUE_COLS = ["offered", "answered", "answer_rate", "service_level", "service_level_30", "abandoned", "abandon_rate", "asa_s", "aht_s",
  "avg_talk_s", "avg_hold_s", "avg_wrap_up_s", "transfer_rate", "max_wait_s",
  "callbacks_requested", "callbacks_made", "callbacks_reached", "callback_delay_s", "callback_same_day_share"];
const AGENT_COLS = ["handled", "logged_in_s", "talk_s", "wrap_s", "paused_s", "occupancy", "utilisation", "calls_per_hour", "agent_aht_s", "pause_s"];
const RATES = new Set(["answer_rate", "service_level", "service_level_30", "abandon_rate", "transfer_rate", "occupancy", "utilisation",
  "callback_reach_rate", "callback_same_day_share"]);
const DURATIONS = new Set(["logged_in_s", "talk_s", "wrap_s", "paused_s"]);
const charts = {};
let options = null;
let last = null;
let asked = 0;
let offset = 0; // the first row of the page shown (the API answers a page; totals and chart cover every row)

function chart(id) {
  charts[id] ||= echarts.init($(id), null, { renderer: "svg" });
  return charts[id];
}
window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
window.addEventListener("beforeprint", () => Object.values(charts).forEach((c) => c.resize()));

const hms = (s) => {
  s = Math.round(s || 0);
  return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
};
function fmt(col, v) {
  if (v === null || v === undefined) return "–";
  if (col === "pause_s") return Object.entries(v).map(([k, s]) => `${k} ${hms(s)}`).join(", ") || "–";
  if (RATES.has(col)) return (v * 100).toFixed(1) + "%";
  if (DURATIONS.has(col)) return hms(v);
  return typeof v === "number" ? v.toLocaleString(lang()) : String(v);
}

function dayStr(d) {
  return d.toLocaleDateString("sv-SE", { timeZone: options?.zone || "Asia/Shanghai" });
}

function params() {
  const f = new FormData($("pickers"));
  const p = new URLSearchParams({ from: f.get("from"), to: f.get("to"), by: f.get("by") });
  if (f.get("key")) p.set("key", f.get("key"));
  return [f.get("level"), p];
}

function fillKeys() {
  const by = $("p-by").value;
  const list = options[by === "queue" ? "queues" : by === "team" ? "teams" : "agents"];
  const sel = $("p-key");
  sel.innerHTML = `<option value="">${esc(t("rp.all"))}</option>` + list.map((o) => `<option value="${esc(o.key)}" translate="no">${esc(o.name)}</option>`).join("");
}

async function run() {
  const [level, p] = params();
  $("csv-link").href = `/api/reports/${level}?${p}&format=csv`; // the exports: every row
  $("xlsx-link").href = `/api/reports/${level}?${p}&format=xlsx`;
  p.set("limit", $("page-size").value);
  p.set("offset", String(offset));
  const mine = ++asked; // a quick next-next: only the last answer is shown
  let doc;
  try {
    doc = await api(`/api/reports/${level}?${p}`);
  } catch (e) {
    toast(e.message, "error");
    return;
  }
  if (mine !== asked) return;
  last = doc;
  render();
}

function render() {
  if (!last) return;
  const doc = last;
  const cols = doc.by === "queue" ? QUEUE_COLS : AGENT_COLS;
  $("print-title").textContent = t("rp.print.title", { level: t(`rp.level.${doc.level}`), from: doc.from, to: doc.to }) + ` · ${t("rp.by." + doc.by)}`;
  $("report-note").textContent = doc.row_count ? t("rp.note") + (doc.notes.length > 1 ? " " + t("rp.note.open") : "") : t("rp.none");
  $("page-info").textContent = doc.rows.length
    ? t("rp.page.info", { a: (doc.offset + 1).toLocaleString(lang()), b: (doc.offset + doc.rows.length).toLocaleString(lang()), n: doc.row_count.toLocaleString(lang()) })
    : t("rp.page.empty");
  $("page-prev").disabled = doc.offset <= 0;
  $("page-next").disabled = doc.offset + doc.rows.length >= doc.row_count;
  const head = `<tr><th>${esc(t("rp.period"))}</th><th>${esc(t("rp.name"))}</th>` +
    cols.map((c) => `<th class="num" title="${esc(t("f." + c))}">${esc(t("m." + c))}</th>`).join("") + "</tr>";
  const line = (r, cls = "") => `<tr class="${cls}"><td>${esc(r.period)}</td><td translate="no">${esc(r.name)}</td>` +
    cols.map((c) => `<td class="num"${c === "pause_s" ? ' translate="no"' : ""}>${esc(fmt(c, r.figures[c]))}</td>`).join("") + "</tr>";
  $("report-table").innerHTML = `<thead>${head}</thead><tbody>${doc.rows.map((r) => line(r)).join("")}` +
    line({ period: t("rp.total"), name: "", figures: doc.totals }, "total") + "</tbody>";
  // The chart: each period's totals over every row (every page), from the API's by_period.
  const periods = doc.by_period.map((x) => x.period);
  const pct = (v) => (v === null || v === undefined ? null : +(v * 100).toFixed(1));
  const [bar, rate] = doc.by === "queue" ? ["offered", "service_level_30"] : ["handled", "occupancy"];
  const series = [
    { name: t("m." + bar), type: "bar", data: doc.by_period.map((x) => x.figures[bar]) },
    { name: t("m." + rate), type: "line", yAxisIndex: 1, data: doc.by_period.map((x) => pct(x.figures[rate])), smooth: true },
  ];
  if (doc.by === "queue") series.push({ name: t("m.answer_rate"), type: "line", yAxisIndex: 1, data: doc.by_period.map((x) => pct(x.figures.answer_rate)) });
  chart("main-chart").setOption({
    animation: false, tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 50, right: 50, top: 36, bottom: 30 },
    xAxis: { type: "category", data: periods.map((p) => (doc.level === "interval" ? p.slice(5, 16).replace("T", " ") : p)) },
    yAxis: [{ type: "value" }, { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } }],
    series,
  }, true);
}

async function side() {
  const [, p] = params();
  const from = p.get("from");
  const month = from.slice(0, 7);
  const queue = $("p-by").value === "queue" && $("p-key").value ? `&queue=${encodeURIComponent($("p-key").value)}` : "";
  const today = dayStr(new Date());
  const [disp, ab, un, sc] = await Promise.all([
    api(`/api/reports/sl-dispersion?month=${month}&day=${p.get("to")}${queue}`),
    api(`/api/reports/abandons?from=${from}&to=${p.get("to")}${queue}`),
    api(`/api/reports/abandons/unreturned?day=${today}${queue}`),
    api(`/api/reports/scorecard?month=${month}`),
  ]).catch((e) => { toast(e.message, "error"); return []; });
  if (!disp) return;
  const badge = (d) => d.cv === null ? "–" : `${d.cv.toFixed(3)} <span class="badge ${d.alert ? "bg-bad bad" : "bg-good good"}">${esc(t(d.alert ? "rp.disp.alert" : "rp.disp.ok"))}</span>`;
  $("disp-figures").innerHTML = `<div class="figure"><span>${esc(t("rp.disp.days"))}</span><b>${badge(disp.across_days)}</b></div>` +
    `<div class="figure"><span>${esc(t("rp.disp.intervals"))}</span><b>${badge(disp.across_intervals)}</b></div>`;
  $("disp-formula").textContent = t("rp.disp.formula");
  chart("disp-chart").setOption({
    animation: false, tooltip: { trigger: "axis" }, grid: { left: 50, right: 20, top: 20, bottom: 30 },
    xAxis: { type: "category", data: disp.across_days.periods.map((x) => x.period.slice(5)) },
    yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
    series: [{ name: t("m.service_level_30"), type: "line", data: disp.across_days.periods.map((x) => +(x.service_level_30 * 100).toFixed(1)) }],
  }, true);
  chart("ab-chart").setOption({
    animation: false, title: { text: t("rp.ab.bywait"), textStyle: { fontSize: 12 } }, tooltip: {}, grid: { left: 50, right: 20, top: 30, bottom: 30 },
    xAxis: { type: "category", data: Object.keys(ab.by_wait).map((b) => b.replace("_", "–") + "s") }, yAxis: { type: "value" },
    series: [{ type: "bar", data: Object.values(ab.by_wait), itemStyle: { color: "#cf222e" } }],
  }, true);
  chart("hour-chart").setOption({
    animation: false, title: { text: t("rp.ab.byhour"), textStyle: { fontSize: 12 } }, tooltip: { trigger: "axis" }, grid: { left: 50, right: 20, top: 30, bottom: 30 },
    xAxis: { type: "category", data: ab.by_hour.map((h) => String(h.hour).padStart(2, "0")) }, yAxis: { type: "value" },
    series: [{ name: t("m.abandoned"), type: "bar", data: ab.by_hour.map((h) => h.abandoned), itemStyle: { color: "#cf222e" } }],
  }, true);
  $("un-rule").textContent = t("rp.un.rule");
  $("un-table").innerHTML = un.callers.length
    ? `<thead><tr>${["number", "queue", "at", "wait", "count"].map((k) => `<th>${esc(t("rp.un." + k))}</th>`).join("")}</tr></thead><tbody>` +
      un.callers.map((c) => `<tr><td class="mono" translate="no">${esc(c.number)}</td><td translate="no">${esc(c.queue)}</td><td>${esc(c.last_abandoned_at.slice(11, 19))}</td><td class="num">${c.wait_s}</td><td class="num">${c.abandons}</td></tr>`).join("") + "</tbody>"
    : `<tbody><tr><td class="muted">${esc(t("rp.un.none"))}</td></tr></tbody>`;
  $("sc-total").textContent = `${sc.total} / 100`;
  $("sc-rule").textContent = t("rp.sc.rule");
  const v = (x) => (x === null || x === undefined ? "–" : Math.abs(x) <= 1 ? (x * 100).toFixed(1) + "%" : x.toLocaleString(lang()));
  $("sc-table").innerHTML = `<thead><tr>${["code", "source", "weight", "value", "excellent", "target", "warning", "points", "owner"].map((k) => `<th>${esc(t("rp.sc." + k))}</th>`).join("")}<th></th></tr></thead><tbody>` +
    sc.indicators.map((i) => `<tr>${lang() === "en" && i.name_en ? `<td>${esc(i.name_en)}</td>` : `<td translate="no">${esc(i.name)}</td>`}<td>${esc(t(i.source === "manual" ? "rp.sc.manual" : "rp.sc.measure"))}</td>` +
      `<td class="num">${i.weight}</td><td class="num">${v(i.value)}</td><td class="num">${v(i.excellent)}</td><td class="num">${v(i.target)}</td><td class="num">${v(i.warning)}</td>` +
      `<td class="num band-${i.band}">${i.points.toFixed(2)}</td><td translate="no">${esc(i.owner)}</td><td class="band-${i.band}">${esc(t("band." + i.band))}</td></tr>`).join("") + "</tbody>";
}

async function staffing() {
  const q = $("st-queue").value;
  if (!q) return;
  let doc;
  try {
    doc = await api(`/api/reports/staffing?queue=${encodeURIComponent(q)}&week=${$("st-week").value}`);
  } catch (e) {
    toast(e.message, "error");
    return;
  }
  $("st-figures").innerHTML = `<div class="figure"><span>${esc(t("rp.st.weeks"))}</span><b>${doc.weeks_of_history}</b></div>` +
    `<div class="figure"><span>${esc(t("rp.st.wape"))}</span><b>${doc.error.wape === null ? "–" : (doc.error.wape * 100).toFixed(1) + "%"}</b></div>`;
  $("st-method").textContent = t("rp.st.method");
  chart("st-chart").setOption({
    animation: false, tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 50, right: 50, top: 36, bottom: 50 },
    dataZoom: [{ type: "slider", height: 16, bottom: 6 }],
    xAxis: { type: "category", data: doc.intervals.map((i) => i.start.slice(5, 16).replace("T", " ")) },
    yAxis: [{ type: "value" }, { type: "value" }],
    series: [
      { name: t("rp.st.needed"), type: "bar", data: doc.intervals.map((i) => i.agents_needed) },
      { name: t("rp.st.logged"), type: "line", step: "middle", data: doc.intervals.map((i) => i.logged_in_last_week) },
      { name: t("rp.st.offered"), type: "line", yAxisIndex: 1, data: doc.intervals.map((i) => i.offered), lineStyle: { type: "dashed" } },
    ],
  }, true);
}

await signedIn();
options = await api("/api/reports/options");
const now = new Date();
$("p-to").value = dayStr(now);
$("p-from").value = dayStr(new Date(now.getTime() - 6 * 86400000));
// Next Monday in the centre's zone, not the browser's: a browser in another zone (or near midnight) asked for a Tuesday.
const today = new Date(dayStr(now) + "T00:00:00Z");
const monday = new Date(today.getTime() + ((8 - today.getUTCDay()) % 7 || 7) * 86400000);
$("st-week").value = monday.toISOString().slice(0, 10);
$("st-queue").innerHTML = options.queues.map((o) => `<option value="${esc(o.key)}" translate="no">${esc(o.name)}</option>`).join("");
fillKeys();
$("p-by").onchange = fillKeys;
$("pickers").onsubmit = (e) => { e.preventDefault(); offset = 0; run(); side(); };
$("page-prev").onclick = () => { offset = Math.max(0, offset - Number($("page-size").value)); run(); };
$("page-next").onclick = () => { offset += Number($("page-size").value); run(); };
$("page-size").onchange = () => { offset = 0; run(); };
$("print-btn").onclick = () => window.print();
$("st-btn").onclick = staffing;
window.addEventListener("cc:lang", () => { fillKeys(); render(); side(); staffing(); });
applyI18n();
await Promise.all([run(), side(), staffing()]);
document.body.dataset.ready = "1";
