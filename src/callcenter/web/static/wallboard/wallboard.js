// The wallboard: per-queue KPIs coloured by configurable thresholds, an
// agent grid, alerts, and (for leads) supervisor actions on an agent.
// Everything live comes from the hub's "wallboard" topic (coalesced to at
// most 4 updates a second by the server); nothing here polls.
import { api, signedIn } from "/static/common/api.js";
import { addStrings, applyI18n, lang, mmss, pct, t, tNodes } from "/static/common/i18n.js";
import { Hub, noteServerTime, serverNow } from "/static/common/hub.js";

addStrings({
  "zh-CN": {
    "wb.title": "实时监控大屏", "wb.fullscreen": "全屏", "wb.agents": "坐席状态", "wb.waiting": "排队",
    "wb.longest": "最长等待", "wb.sl": "服务水平", "wb.abandon": "放弃率", "wb.asa": "平均应答", "wb.aht": "平均处理",
    "wb.window.today": "今日", "wb.window.15m": "近 15 分钟", "wb.window.60m": "近 60 分钟", "wb.window.interval": "本时段",
    "wb.offered": "进线", "wb.answered": "接通",
    "alert.sl": "{queue} 服务水平 {value} 低于警戒线 {limit}", "alert.wait": "{queue} 最长等待 {value} 超过 {limit}",
    "alert.busy": "{queue} 全部坐席忙", "alert.paused": "{name} 示忙（{reason}）已 {value}，超过 {limit}",
    "alert.wrap": "{name} 话后处理超时 {value}",
    "state.logged_out": "未签入", "state.available": "空闲", "state.ringing": "振铃", "state.on_call": "通话",
    "state.on_hold": "保持", "state.wrap_up": "话后", "state.paused": "示忙",
    "sup.listen": "监听", "sup.whisper": "耳语", "sup.barge": "强插", "sup.pause": "强制示忙", "sup.unpause": "强制就绪",
    "sup.logout": "强制签出", "sup.ok": "成功", "sup.reason": "示忙原因", "sup.close": "关闭",
    "wb.sl.against": "服务水平 = {t} 秒内接通 ÷（接通 + {s} 秒后放弃 + 超时）",
    "wb.sl.ignore": "服务水平 = {t} 秒内接通 ÷ 接通",
    "wb.sl.favour": "服务水平 =（{t} 秒内接通 + {t} 秒内放弃）÷（接通 + 放弃 + 超时）",
    "wb.site": "站点", "wb.site.all": "整个中心（全部站点）", "wb.site.one": "站点 {site}", "wb.site.waiting": "{site} 暂无数据（等待该站点的主节点）",
  },
  en: {
    "wb.title": "Live wallboard", "wb.fullscreen": "Full screen", "wb.agents": "Agents", "wb.waiting": "Waiting",
    "wb.longest": "Longest wait", "wb.sl": "Service level", "wb.abandon": "Abandoned", "wb.asa": "ASA", "wb.aht": "AHT",
    "wb.window.today": "Today", "wb.window.15m": "Last 15 min", "wb.window.60m": "Last 60 min", "wb.window.interval": "This interval",
    "wb.offered": "Offered", "wb.answered": "Answered",
    "alert.sl": "{queue} service level {value} below warning {limit}", "alert.wait": "{queue} longest wait {value} over {limit}",
    "alert.busy": "{queue}: all agents busy", "alert.paused": "{name} paused ({reason}) for {value}, over {limit}",
    "alert.wrap": "{name} over the wrap-up limit by {value}",
    "state.logged_out": "Logged out", "state.available": "Available", "state.ringing": "Ringing", "state.on_call": "On call",
    "state.on_hold": "On hold", "state.wrap_up": "Wrap-up", "state.paused": "Paused",
    "sup.listen": "Listen", "sup.whisper": "Whisper", "sup.barge": "Barge", "sup.pause": "Force pause", "sup.unpause": "Force ready",
    "sup.logout": "Force log out", "sup.ok": "done", "sup.reason": "Pause reason", "sup.close": "Close",
    "wb.sl.against": "SL = answered within {t} s ÷ (answered + abandoned after {s} s + timed out)",
    "wb.sl.ignore": "SL = answered within {t} s ÷ answered",
    "wb.sl.favour": "SL = (answered + abandoned within {t} s) ÷ (answered + abandoned + timed out)",
    "wb.site": "Site", "wb.site.all": "Whole centre (all sites)", "wb.site.one": "Site {site}", "wb.site.waiting": "{site}: no data yet (waiting for the site's leader)",
  },
});

const $ = (id) => document.getElementById(id);
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}
const label = (item) => (item ? (lang() === "en" ? item.en : item.zh) : "");
const STATES = ["available", "ringing", "on_call", "on_hold", "wrap_up", "paused"];

await signedIn();
// The settings an admin may change while the board is open: fetched
// again when the hub says so (no reload).
let thresholds, reasons, queueNames, W;
async function loadSettings() {
  const [th, rs, queueList] = await Promise.all([
    api("/api/realtime/wallboard-thresholds"),
    api("/api/realtime/pause-reasons").then((r) => r.reasons),
    api("/api/queues").catch(() => []),
  ]);
  [thresholds, reasons, W] = [th, rs, th.window || "today"];
  queueNames = Object.fromEntries(queueList.map((q) => [q.name, q]));
  $("menu-reason").replaceChildren(...reasons.map((r) => el("option", { value: r.code }, label(r))));
}
await loadSettings();
const users = await api("/api/users").catch(() => []);
const userByIface = Object.fromEntries(users.filter((u) => u.interface).map((u) => [u.interface, u]));

const queues = {}; // name -> queue_view (+ _at: server time it was computed)
const agents = {}; // interface -> board agent
let site = ""; // several sites: the one shown, "" = the whole centre

// "excellent" | "target" | "warning" | "bad" for a KPI value.
function band(kpi, value) {
  const b = thresholds.kpi[kpi];
  if (!b || value == null) return "";
  const better = (x, y) => (b.higher_is_better ? x >= y : x <= y);
  if (better(value, b.excellent)) return "excellent";
  if (better(value, b.target)) return "target";
  if (better(value, b.warning)) return "warning";
  return "bad";
}

function metric(key, value, text, { small = false, title = "", id = "" } = {}) {
  const box = el("div", { class: `metric ${small ? "small" : ""} band-${band(key, value)}`, title },
    el("div", { class: "v", id }, text), el("div", { class: "k" }, t(`wb.${{ service_level: "sl", abandon_rate: "abandon", asa_s: "asa", aht_s: "aht", longest_wait_s: "longest" }[key] || key}`)));
  return box;
}

/** How this queue's service level is counted, in the user's language. */
function slFormula(q) {
  if (q.sl_threshold_s == null) return "";
  return t(`wb.sl.${q.abandon_mode || "against"}`, { t: q.sl_threshold_s, s: q.short_abandon_s ?? 0 });
}

function longestNow(q) {
  if (!q.waiting) return 0;
  return (q.longest_wait_s || 0) + Math.max(0, serverNow() - (q._at || serverNow()));
}

/** A queue's name to show; on the whole centre's board, after its site's. */
function queueTitle(name) {
  const q = queues[name] || {};
  const raw = q._q || name;
  const qn = queueNames[raw];
  const title = qn ? (lang() === "en" ? qn.display_name_en || raw : qn.display_name) : raw;
  return q._site && site === "" ? `${q._site} · ${title}` : title;
}

function renderQueues() {
  const tiles = Object.keys(queues).sort().map((name) => {
    const q = queues[name];
    const k = (q.kpi && q.kpi[W]) || {};
    const title = queueTitle(name);
    const wait = longestNow(q);
    const states = STATES.map((s) => el("span", { class: "chip" }, `${t("state." + s)} ${(q.agents || {})[s] || 0}`));
    return el("div", { class: "tile", "data-queue": name },
      el("h2", {}, el("span", {}, title), el("span", { class: "muted" }, `${t("wb.offered")} ${k.offered ?? 0} · ${t("wb.answered")} ${k.answered ?? 0}`)),
      el("div", { class: "big" },
        el("div", { class: `metric band-${q.waiting ? "warning" : "excellent"}` }, el("div", { class: "v", "data-k": "waiting" }, String(q.waiting ?? 0)), el("div", { class: "k" }, t("wb.waiting"))),
        metric("longest_wait_s", wait, mmss(wait)),
        metric("service_level", k.service_level, pct(k.service_level), { title: slFormula(q) }),
        metric("abandon_rate", k.abandon_rate, pct(k.abandon_rate))),
      el("div", { class: "four" },
        metric("asa_s", k.asa_s, mmss(k.asa_s), { small: true }),
        metric("aht_s", k.aht_s, mmss(k.aht_s), { small: true })),
      el("div", { class: "states" }, ...states));
  });
  $("queues").replaceChildren(...tiles);
}

function pauseLimit(code) {
  const r = reasons.find((x) => x.code === code);
  const max = r ? r.max_s : thresholds.alerts.default_pause_max_s;
  return max || null;
}

function renderAgents() {
  const now = serverNow();
  const cards = Object.values(agents)
    .filter((a) => a.state !== "logged_out")
    .sort((a, b) => (a.name || "").localeCompare(b.name || ""))
    .map((a) => {
      const inState = a.since ? now - a.since : 0;
      const limit = a.state === "paused" ? pauseLimit(a.reason) : null;
      const over = (limit && inState > limit) || (a.state === "wrap_up" && a.wrap_up_deadline && now > a.wrap_up_deadline + thresholds.alerts.wrap_up_over_s);
      const reason = a.state === "paused" ? label(reasons.find((r) => r.code === a.reason)) || a.reason || "" : "";
      const caller = a.caller ? `${a.caller.number || ""} ${a.caller.name || ""}`.trim() : "";
      const card = el("div", { class: `agent ${over ? "over" : ""}`, "data-state": a.state, "data-iface": a.interface },
        el("span", { class: "t" }, mmss(inState)),
        el("div", { class: "name", translate: false }, a.name || a.interface),
        el("div", { class: "sub" }, [a._site && site === "" ? a._site : "", t("state." + a.state), reason].filter(Boolean).join(" · "),
          caller ? el("span", { translate: false }, ` · ${caller}`) : null));
      card.onclick = (ev) => openMenu(a, ev);
      return card;
    });
  $("agents").replaceChildren(...cards);
}

function renderAlerts() {
  const now = serverNow();
  const out = [];
  for (const [name, q] of Object.entries(queues)) {
    const k = (q.kpi && q.kpi[W]) || {};
    const sl = thresholds.kpi.service_level;
    const title = queueTitle(name);
    if (sl && k.service_level != null && k.service_level < sl.warning) out.push(["bad", t("alert.sl", { queue: title, value: pct(k.service_level), limit: pct(sl.warning) })]);
    const wait = longestNow(q);
    if (wait > thresholds.alerts.longest_wait_s) out.push(["bad", t("alert.wait", { queue: title, value: mmss(wait), limit: mmss(thresholds.alerts.longest_wait_s) })]);
    const s = q.agents || {};
    const busy = (s.on_call || 0) + (s.ringing || 0) + (s.on_hold || 0) + (s.wrap_up || 0);
    if (busy > 0 && !s.available) out.push(["warn", t("alert.busy", { queue: title })]);
  }
  for (const a of Object.values(agents)) {
    const inState = a.since ? now - a.since : 0;
    const limit = a.state === "paused" ? pauseLimit(a.reason) : null;
    if (limit && inState > limit) {
      out.push(["warn", tNodes("alert.paused", { name: a.name, reason: label(reasons.find((r) => r.code === a.reason)) || a.reason, value: mmss(inState), limit: mmss(limit) }, ["name"])]);
    }
    if (a.state === "wrap_up" && a.wrap_up_deadline && now > a.wrap_up_deadline + thresholds.alerts.wrap_up_over_s) {
      out.push(["warn", tNodes("alert.wrap", { name: a.name, value: mmss(now - a.wrap_up_deadline) }, ["name"])]);
    }
  }
  $("alerts").replaceChildren(...out.map(([kind, text]) => el("div", { class: `alert ${kind === "warn" ? "warn" : ""}` }, ...[text].flat())));
}

function renderAll() {
  renderQueues();
  renderAgents();
  renderAlerts();
}

// --- supervisor menu ---------------------------------------------------------------

let menuAgent = null;
function openMenu(a, ev) {
  const user = userByIface[a.interface];
  if (!user) return;
  menuAgent = user;
  const m = $("menu");
  $("menu-title").textContent = `${a.name} · ${a.interface}`;
  m.classList.remove("hidden");
  placeMenu(m, ev.currentTarget);
  $("menu-result").textContent = "";
  ev.stopPropagation();
}

// The menu opens beside the card, never over it or its neighbours' names;
// it closes on Escape, its × or a click elsewhere.
function placeMenu(m, card) {
  const r = card.getBoundingClientRect();
  const w = m.offsetWidth, h = m.offsetHeight;
  let left = r.right + 8;
  if (left + w > innerWidth - 8) left = Math.max(8, r.left - w - 8);
  const top = Math.min(Math.max(8, r.top), innerHeight - h - 8);
  m.style.left = `${left}px`;
  m.style.top = `${top}px`;
}
const closeMenu = () => $("menu").classList.add("hidden");
document.addEventListener("click", (ev) => { if (!$("menu").contains(ev.target)) closeMenu(); });
document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") closeMenu(); });
$("menu-close").onclick = closeMenu;
async function supervise(path, body, name) {
  const out = $("menu-result");
  out.className = "menu-result";
  out.textContent = `${name}…`;
  try {
    await api(`/api/supervisor/agents/${menuAgent.id}/${path}`, { method: "POST", body });
    out.textContent = `${name}: ${t("sup.ok")}`;
    out.classList.add("good");
  } catch (e) {
    out.textContent = `${name}: ${e.message}`;
    out.classList.add("bad");
  }
}
for (const b of document.querySelectorAll("[data-spy]")) b.onclick = () => supervise("spy", { mode: b.dataset.spy }, t("sup." + b.dataset.spy));
$("menu-pause").onclick = () => supervise("pause", { reason: $("menu-reason").value }, t("sup.pause"));
$("menu-unpause").onclick = () => supervise("unpause", undefined, t("sup.unpause"));
$("menu-logout").onclick = () => supervise("logout", undefined, t("sup.logout"));

// --- chrome -------------------------------------------------------------------------

$("fs-btn").onclick = () => (document.fullscreenElement ? document.exitFullscreen() : document.documentElement.requestFullscreen());
function clock() {
  $("clock").textContent = new Date().toLocaleTimeString(lang() === "en" ? "en-GB" : "zh-CN", { hour12: false });
  $("window").textContent = t(`wb.window.${W}`);
}
setInterval(() => { clock(); renderAgents(); renderAlerts(); }, 1000);
window.addEventListener("cc:lang", () => { loadSettings().then(() => { renderAll(); clock(); }); });
clock();
applyI18n();

// --- the hub --------------------------------------------------------------------------

// While reconnecting the figures are dimmed: they may be old, and say so.
const hub = new Hub({
  onStatus: (s) => {
    $("conn").classList.toggle("hidden", s === "live");
    document.body.classList.toggle("stale", s !== "live");
  },
  onSettings: async (key) => {
    if (["pause_reasons", "wallboard_thresholds", "queues"].includes(key)) {
      await loadSettings();
      renderAll();
      clock();
    }
  },
});
function showError(msg) {
  $("alerts").replaceChildren(el("div", { class: "alert" }, msg.message));
}

// One site (the embedded default, or a cluster with one PBX): the "wallboard" topic.
// Several sites (CALLCENTER_CLUSTER_SITES): the "centre" topic, every site's board,
// and a picker: the whole centre (queues and agents named per site) or one site.
const sites = await api("/api/realtime/sites").catch(() => ({ sites: [], centre: false }));
const boards = {}; // site -> {queues, agents}

function project() {
  for (const k of Object.keys(queues)) delete queues[k];
  for (const k of Object.keys(agents)) delete agents[k];
  for (const [pbx, b] of Object.entries(boards)) {
    if (site && pbx !== site) continue;
    const key = (name) => (site ? name : `${pbx}/${name}`);
    for (const [name, q] of Object.entries(b.queues)) queues[key(name)] = { ...q, _site: pbx, _q: name };
    for (const [iface, a] of Object.entries(b.agents)) agents[key(iface)] = { ...a, _site: pbx };
  }
  document.body.classList.toggle("all-sites", !site); // longer titles ("north · repairs"): the counts get a line of their own
  const waiting = Object.entries(boards).filter(([pbx, b]) => !b.ready && (!site || pbx === site)).map(([pbx]) => pbx);
  renderAll();
  if (waiting.length) $("alerts").append(...waiting.map((pbx) => el("div", { class: "alert warn" }, t("wb.site.waiting", { site: pbx }))));
}

if (sites.centre) {
  const picker = $("site");
  const fromUrl = new URLSearchParams(location.search).get("site") || "";
  site = sites.sites.includes(fromUrl) ? fromUrl : "";
  const options = () => picker.replaceChildren(
    el("option", { value: "" }, t("wb.site.all")),
    ...sites.sites.map((pbx) => el("option", { value: pbx, translate: false }, pbx)));
  options();
  picker.value = site;
  picker.classList.remove("hidden");
  picker.onchange = () => {
    site = picker.value;
    const url = new URL(location.href);
    if (site) url.searchParams.set("site", site);
    else url.searchParams.delete("site");
    history.replaceState(null, "", url);
    project();
  };
  window.addEventListener("cc:lang", () => { options(); picker.value = site; });
  hub.subscribe("centre", (msg) => {
    if (msg.type === "error") return showError(msg);
    if (msg.type === "delta") noteServerTime(msg.ts);
    const at = msg.ts || serverNow();
    if (msg.type === "snapshot") for (const k of Object.keys(boards)) delete boards[k];
    for (const [pbx, d] of Object.entries(msg.data.sites || {})) {
      const b = (boards[pbx] ||= { queues: {}, agents: {}, ready: false });
      if (d.ready !== undefined) b.ready = d.ready;
      else b.ready = true;
      for (const [name, q] of Object.entries(d.queues || {})) b.queues[name] = { ...q, _at: at };
      for (const [iface, a] of Object.entries(d.agents || {})) {
        if (a === null) delete b.agents[iface];
        else b.agents[iface] = a;
      }
    }
    project();
  });
} else {
  hub.subscribe("wallboard", (msg) => {
    if (msg.type === "error") return showError(msg);
    if (msg.type === "delta") noteServerTime(msg.ts);
    const d = msg.data;
    if (msg.type === "snapshot") {
      for (const k of Object.keys(queues)) delete queues[k];
      for (const k of Object.keys(agents)) delete agents[k];
    }
    const at = msg.ts || serverNow();
    for (const [name, q] of Object.entries(d.queues || {})) queues[name] = { ...q, _at: at };
    for (const [iface, a] of Object.entries(d.agents || {})) {
      if (a === null) delete agents[iface];
      else agents[iface] = a;
    }
    renderAll();
  });
}
hub.connect();
