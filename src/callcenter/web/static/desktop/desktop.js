// The agent desktop: my state and stats, queue sign-in, pause, the screen-pop,
// wrap-up with a disposition, and call controls.  Live state comes from the
// hub's agent:<me> topic; actions are POSTs whose result or error is shown.
import { api, signedIn } from "/static/common/api.js";
import { addStrings, applyI18n, lang, mmss, pct, t } from "/static/common/i18n.js";
import { Hub, noteServerTime, serverNow } from "/static/common/hub.js";

addStrings({
  "zh-CN": {
    "desk.queues": "我的技能队列", "desk.login": "签入", "desk.logout": "签出", "desk.availability": "状态",
    "desk.ready": "就绪", "desk.pause": "示忙", "desk.today": "今日统计", "desk.handled": "接听数",
    "desk.aht": "平均处理时长", "desk.occupancy": "占用率", "desk.paused": "示忙时长", "desk.noPhone": "您的账号未绑定分机，无法签入",
    "state.logged_out": "未签入", "state.available": "空闲", "state.ringing": "振铃", "state.on_call": "通话中",
    "state.on_hold": "保持", "state.wrap_up": "话后处理", "state.paused": "示忙",
    "pop.none": "暂无来电", "pop.wait": "已等待", "pop.customer": "客户资料", "pop.route": "路由决策",
    "pop.history": "最近 5 次接触", "pop.tickets": "未结工单", "pop.loading": "正在查询…", "pop.new": "新客户",
    "pop.create": "新建客户", "pop.name": "姓名", "pop.unitOptional": "如 3-2-501（可选）",
    "pop.number": "来电号码", "pop.tier.vip": "VIP 大客户", "pop.tier.key": "主要客户", "pop.needName": "请填写客户姓名", "pop.ringing": "振铃中", "pop.answered": "通话中", "pop.noTickets": "无",
    "pop.noStore": "工单系统未启用", "pop.noHistory": "无记录", "pop.address": "地址", "pop.unit": "房号",
    "pop.grade": "等级", "pop.vip": "VIP", "pop.manager": "客户经理", "pop.notes": "备注", "pop.queue": "队列",
    "pop.choices": "IVR 选择", "pop.priority": "优先级", "pop.reason": "原因",
    "wrap.title": "话后处理", "wrap.left": "剩余", "wrap.code": "处理结果", "wrap.note": "备注（必填）",
    "wrap.submit": "提交并结束话后", "wrap.need": "请选择处理结果并填写备注",
    "ctl.title": "通话控制", "ctl.dial": "外呼", "ctl.hold": "保持", "ctl.unhold": "取消保持", "ctl.hangup": "挂断",
    "ctl.transfer": "转接", "ctl.blind": "盲转", "ctl.attended": "咨询转", "ctl.toQueue": "到队列",
    "ctl.toAgent": "到坐席", "ctl.toNumber": "到号码", "ctl.doTransfer": "转接", "ctl.ok": "成功",
  },
  en: {
    "desk.queues": "My queues", "desk.login": "Sign in", "desk.logout": "Log out", "desk.availability": "Availability",
    "desk.ready": "Ready", "desk.pause": "Pause", "desk.today": "Today", "desk.handled": "Handled",
    "desk.aht": "AHT", "desk.occupancy": "Occupancy", "desk.paused": "Paused", "desk.noPhone": "Your user has no phone interface; you cannot sign in",
    "state.logged_out": "Logged out", "state.available": "Available", "state.ringing": "Ringing", "state.on_call": "On call",
    "state.on_hold": "On hold", "state.wrap_up": "Wrap-up", "state.paused": "Paused",
    "pop.none": "No call", "pop.wait": "Waited", "pop.customer": "Customer", "pop.route": "Routing",
    "pop.history": "Last 5 interactions", "pop.tickets": "Open tickets", "pop.loading": "Looking up…", "pop.new": "New customer",
    "pop.create": "Create customer", "pop.name": "Name", "pop.unitOptional": "e.g. 3-2-501 (optional)",
    "pop.number": "Number", "pop.tier.vip": "VIP", "pop.tier.key": "Key customer", "pop.needName": "Enter the customer's name", "pop.ringing": "Ringing", "pop.answered": "Answered", "pop.noTickets": "None",
    "pop.noStore": "No ticket store yet", "pop.noHistory": "None", "pop.address": "Address", "pop.unit": "Unit",
    "pop.grade": "Grade", "pop.vip": "VIP", "pop.manager": "Account manager", "pop.notes": "Notes", "pop.queue": "Queue",
    "pop.choices": "IVR choices", "pop.priority": "Priority", "pop.reason": "Why",
    "wrap.title": "Wrap-up", "wrap.left": "Left", "wrap.code": "Disposition", "wrap.note": "Note (required)",
    "wrap.submit": "Submit and finish wrap-up", "wrap.need": "Pick a disposition and write a note",
    "ctl.title": "Call controls", "ctl.dial": "Call", "ctl.hold": "Hold", "ctl.unhold": "Unhold", "ctl.hangup": "Hang up",
    "ctl.transfer": "Transfer", "ctl.blind": "Blind", "ctl.attended": "Attended", "ctl.toQueue": "to a queue",
    "ctl.toAgent": "to an agent", "ctl.toNumber": "to a number", "ctl.doTransfer": "Transfer", "ctl.ok": "done",
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

await signedIn();
const ctx = await api("/api/desktop/context");
const iface = ctx.user.interface;
let agent = null; // agent_view
let pop = null; // {call_id, phase, call, lookup}

// --- static parts ---------------------------------------------------------------

function renderStatic() {
  const skills = $("skills");
  skills.replaceChildren(
    ...ctx.skills.map((s) =>
      el("label", {}, el("input", { type: "checkbox", value: s.queue, checked: true }),
        `${lang() === "en" ? s.display_name_en : s.display_name} (${s.queue}) · P${s.penalty}`)),
  );
  $("pause-reason").replaceChildren(...ctx.pause_reasons.map((r) => el("option", { value: r.code }, label(r))));
  if (!iface) result(() => t("desk.noPhone"), false);
}

// --- live state -----------------------------------------------------------------

function render() {
  const state = agent ? agent.state : "logged_out";
  const badge = $("state");
  badge.dataset.state = state;
  badge.textContent = t("state." + state);
  const reason = agent && agent.reason ? ctx.pause_reasons.find((r) => r.code === agent.reason) : null;
  $("state-reason").textContent = agent && agent.reason ? (reason ? label(reason) : agent.reason) : "";
  const today = (agent && agent.today) || {};
  $("st-handled").textContent = today.handled ?? "–";
  $("st-aht").textContent = mmss(today.aht_s);
  $("st-occ").textContent = pct(today.occupancy);
  const paused = Object.entries(today.paused_s || {});
  $("st-paused").textContent = paused.length
    ? paused.map(([code, s]) => `${label(ctx.pause_reasons.find((r) => r.code === code)) || code} ${mmss(s)}`).join(" · ")
    : "–";
  const inQueues = new Set(((agent && agent.queues) || []).map((q) => q.queue));
  for (const box of $("skills").querySelectorAll("input")) box.closest("label").classList.toggle("good", inQueues.has(box.value));
  renderPop();
  renderWrap();
  tick();
}

function renderPop() {
  $("pop").classList.toggle("hidden", !pop);
  $("pop-empty").classList.toggle("hidden", !!pop);
  if (!pop) return;
  const call = pop.call || {};
  $("pop-phase").textContent = t(pop.phase === "answered" ? "pop.answered" : "pop.ringing");
  $("pop-phase").className = `badge ${pop.phase === "answered" ? "good" : "ok"}`;
  $("pop-number").textContent = call.caller_number || "";
  $("pop-callername").textContent = call.caller_name || "";
  const lookup = pop.lookup;
  const box = $("pop-customer");
  if (!lookup) {
    box.replaceChildren(el("span", { class: "muted" }, t("pop.loading")));
  } else if (lookup.customer) {
    const c = lookup.customer;
    const dl = el("dl", { class: "kv" });
    for (const [key, value] of [["pop.address", c.address], ["pop.unit", c.unit], ["pop.grade", c.grade],
      ["pop.vip", c.vip_tier], ["pop.manager", c.account_manager], ["pop.notes", c.notes]]) {
      if (value) dl.append(el("dt", {}, t(key)), el("dd", {}, String(value)));
    }
    box.replaceChildren(
      el("div", { class: "row" }, el("span", { class: "customer-name", id: "pop-customer-name" }, c.name || ""),
        vipLabel(c) ? el("span", { class: "badge vip" }, vipLabel(c)) : null),
      dl);
  } else if (box.dataset.newFor !== pop.call_id) {
    // Re-rendered on every update: keep the form (and what is typed) for this call.
    box.dataset.newFor = pop.call_id;
    box.replaceChildren(newCustomerForm(pop.call_id, call.caller_number || ""));
  }
  if (!lookup || lookup.customer) delete box.dataset.newFor;
  const route = (lookup && lookup.route) || call.route || null;
  const rdl = $("pop-route");
  rdl.replaceChildren();
  const rows = [["pop.queue", (route && route.queue) || call.queue], ["pop.choices", route && route.choices && route.choices.join(" › ")],
    ["pop.priority", route ? route.priority : call.priority], ["pop.reason", route && route.reason]];
  for (const [key, value] of rows) if (value != null && value !== "") rdl.append(el("dt", {}, t(key)), el("dd", {}, String(value)));
  const hist = (lookup && lookup.interactions) || [];
  $("pop-history").replaceChildren(...(hist.length ? hist.map((i) =>
    el("li", {}, `${(i.at || i.started_at || "").replace("T", " ").slice(0, 16)} ${i.kind || i.channel || ""} ${i.summary || i.disposition || ""}`))
    : [el("li", { class: "muted" }, t("pop.noHistory"))]));
  // A new caller has no tickets yet; "no store" only when the CRM is not there at all.
  const tickets = lookup ? (lookup.tickets ?? (lookup.crm ? [] : null)) : null;
  $("pop-tickets").replaceChildren(...(tickets == null ? [el("li", { class: "muted" }, t("pop.noStore"))]
    : tickets.length ? tickets.map((k) => el("li", {}, `#${k.id} ${k.title || k.subject || ""} · ${k.status || ""}`))
      : [el("li", { class: "muted" }, t("pop.noTickets"))]));
}

/** Create the unknown caller as a customer in place, then ask the hub to look the pop up again. */
function newCustomerForm(callId, number) {
  const name = el("input", { id: "new-name", maxLength: 128, placeholder: t("pop.name") });
  const unit = el("input", { id: "new-unit", maxLength: 64, placeholder: t("pop.unitOptional") });
  const save = el("button", { class: "primary", id: "pop-create", type: "submit" }, t("pop.create"));
  const form = el("form", { class: "new-customer", id: "new-customer" },
    el("div", { class: "customer-name", id: "pop-customer-name" }, t("pop.new")),
    el("label", {}, t("pop.name"), name), el("label", {}, t("pop.unit"), unit),
    el("div", { class: "muted" }, `${t("pop.number")} ${number}`), save);
  form.onsubmit = async (e) => {
    e.preventDefault();
    if (!name.value.trim()) { result(() => t("pop.needName"), false); name.focus(); return; }
    save.disabled = true;
    try {
      await api("/api/customers", { method: "POST", body: { name: name.value.trim(), phones: number ? [number] : [], unit: unit.value.trim() } });
      await api("/api/desktop/pop/refresh", { method: "POST", body: { call_id: callId } });
      result(() => `${t("pop.create")}: ${t("ctl.ok")}`, true);
    } catch (err) {
      result(() => `${t("pop.create")}: ${err.message}`, false);
      save.disabled = false;
    }
  };
  return form;
}

/** The VIP badge: the CRM's value tier (大客户/主要客户), or a legacy vip_tier text. */
function vipLabel(c) {
  if (c.vip_tier) return `VIP ${c.vip_tier}`;
  return c.tier === "vip" || c.tier === "key" ? t(`pop.tier.${c.tier}`) : "";
}

function renderWrap() {
  const wrap = agent && agent.state === "wrap_up" ? agent.wrap_up : null;
  $("wrap").classList.toggle("hidden", !wrap);
  if (!wrap) return;
  const skill = ctx.skills.find((s) => s.queue === wrap.queue);
  const sel = $("disposition");
  if (sel.dataset.queue !== wrap.queue) {
    sel.dataset.queue = wrap.queue;
    sel.replaceChildren(el("option", { value: "" }, "—"),
      ...((skill && skill.dispositions) || []).map((d) => el("option", { value: d.code }, label(d))));
  }
}

function tick() {
  const now = serverNow();
  $("state-time").textContent = agent && agent.since ? mmss(now - agent.since) : "00:00";
  if (pop && pop.call) {
    const c = pop.call;
    const end = pop.phase === "answered" && c.answered_at ? c.answered_at : now;
    $("pop-wait").textContent = c.entered_at ? mmss(end - c.entered_at) : mmss(c.wait_s);
  }
  const wrap = agent && agent.state === "wrap_up" ? agent.wrap_up : null;
  if (wrap && wrap.deadline) {
    const left = wrap.deadline - now;
    $("wrap-countdown").textContent = (left < 0 ? "-" : "") + mmss(Math.abs(left));
    $("wrap-countdown").classList.toggle("over", left < 0);
  }
}
setInterval(tick, 1000);

// --- actions --------------------------------------------------------------------

// text: a string, or a function giving it in the current language (so the
// message follows a language switch); ok: true done, false failed, null under way.
let lastResult = null;
function result(text, ok) {
  lastResult = [typeof text === "function" ? text : () => text, ok];
  const r = $("result");
  r.textContent = lastResult[0]();
  r.className = `result ${ok === null ? "pending" : ok ? "ok" : "err"}`;
}

// key: the action's name in the strings table.
async function act(key, path, body) {
  result(() => `${t(key)}…`, null);
  try {
    await api(path, { method: "POST", body });
    result(() => `${t(key)}: ${t("ctl.ok")}`, true);
    return true;
  } catch (e) {
    result(() => `${t(key)}: ${e.message}`, false);
    return false;
  }
}

const checked = () => [...$("skills").querySelectorAll("input:checked")].map((b) => b.value);
$("login-btn").onclick = () => act("desk.login", "/api/desktop/queues/login", { queues: checked() });
$("logout-btn-q").onclick = () => act("desk.logout", "/api/desktop/queues/logout", {});
$("ready-btn").onclick = () => act("desk.ready", "/api/desktop/ready");
$("pause-btn").onclick = () => act("desk.pause", "/api/desktop/pause", { reason: $("pause-reason").value });
$("dial-btn").onclick = () => act("ctl.dial", "/api/desktop/dial", { number: $("dial-number").value.trim() });
$("hold-btn").onclick = () => act("ctl.hold", "/api/desktop/hold");
$("unhold-btn").onclick = () => act("ctl.unhold", "/api/desktop/unhold");
$("hangup-btn").onclick = () => act("ctl.hangup", "/api/desktop/hangup");
$("xfer-btn").onclick = () => act("ctl.transfer", "/api/desktop/transfer",
  { kind: $("xfer-kind").value, to: $("xfer-to").value, target: $("xfer-target").value.trim() });
$("wrap-submit").onclick = async () => {
  const wrap = agent && agent.wrap_up;
  const code = $("disposition").value;
  const note = $("wrap-note").value.trim();
  if (!wrap || !code || !note) {
    result(() => t("wrap.need"), false);
    return;
  }
  if (await act("wrap.submit", "/api/acd/disposition", { call_id: wrap.call_id, code, note })) {
    $("wrap-note").value = "";
  }
};

let queues = [];
api("/api/queues").then((qs) => { queues = qs; fillTargets(); }).catch(() => {});
function fillTargets() {
  const opts = $("xfer-to").value === "queue" ? queues.map((q) => el("option", { value: q.name }, label({ zh: q.display_name, en: q.display_name_en || q.name }))) : [];
  $("xfer-options").replaceChildren(...opts);
}
$("xfer-to").onchange = fillTargets;

// --- the hub --------------------------------------------------------------------

renderStatic();
render();
applyI18n();
document.getElementById("lang-btn").addEventListener("click", () => { renderStatic(); render(); if (lastResult) result(...lastResult); });

if (iface) {
  const hub = new Hub({
    onStatus: (s) => $("conn").classList.toggle("hidden", s === "live"),
  });
  hub.subscribe(`agent:${iface}`, (msg) => {
    if (msg.type === "error") {
      result(msg.message, false);
      return;
    }
    if (msg.type === "delta") noteServerTime(msg.ts);
    const d = msg.data;
    if (msg.type === "snapshot") {
      agent = d.agent;
      pop = d.pop;
    } else {
      if (d.agent) agent = d.agent;
      if (d.pop) pop = d.pop.phase === "cleared" ? (pop && pop.call_id !== d.pop.call_id ? pop : null) : d.pop;
    }
    render();
  });
  hub.connect();
}
