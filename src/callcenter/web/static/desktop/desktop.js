// The agent desktop: my state and stats, queue sign-in, pause, the screen-pop
// (kept through wrap-up), wrap-up with a disposition, calls left without
// one, and call controls.  Live state comes from the hub's agent:<me>
// topic; actions are POSTs whose result or error is shown in my language.
// Buttons work only in the states where they can (controls.js).
import { api, signedIn } from "/static/common/api.js";
import { addStrings, applyI18n, lang, mmss, pct, t } from "/static/common/i18n.js";
import { Hub, noteServerTime, serverNow } from "/static/common/hub.js";
import { enabledButtons, installShortcuts, isBusy, pendingPause, shortcutHelp } from "./controls.js";
import { Followups } from "./followups.js";
import { OutboundMode } from "./outbound.js";
import { renderOrderBox, setupOrderBox } from "./workorder.js";
import { Visits } from "./visits.js";
import { reasonsText } from "/static/common/route.js";

addStrings({
  "zh-CN": {
    "desk.queues": "我的技能队列", "desk.login": "签入", "desk.logout": "签出", "desk.availability": "状态",
    "desk.ready": "就绪", "desk.pause": "示忙", "desk.today": "今日统计", "desk.handled": "接听数",
    "desk.aht": "平均处理时长", "desk.dialing": "呼叫中", "desk.occupancy": "占用率", "desk.paused": "示忙时长", "desk.noPhone": "您的账号未绑定分机，无法签入",
    "state.logged_out": "未签入", "state.available": "空闲", "state.ringing": "振铃", "state.on_call": "通话中",
    "state.on_hold": "保持", "state.wrap_up": "话后处理", "state.paused": "示忙",
    "pop.none": "暂无来电", "pop.callback": "排队回电", "pop.wait": "已等待", "pop.customer": "客户资料", "pop.route": "路由决策",
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
    "ctl.dialNumber": "外呼号码", "ctl.xferTarget": "转接目标", "desk.pauseReason": "示忙原因",
    "pop.wrapUp": "话后处理", "wrap.submitShort": "提交话后", "keys.title": "快捷键", "keys.hold": "保持/取消保持",
    "pause.pending": "本次通话结束后示忙", "pause.pendingReason": "本次通话结束后示忙：{reason}",
    "pause.queued": "示忙：将在本次通话结束后生效", "desk.noQueues": "未签入任何队列",
    "fu.title": "待补处理结果", "fu.hint": "话后处理超时未选择处理结果的通话，请补填。", "fu.flag": "无处理结果",
    "fu.note": "备注", "fu.save": "补填",
    "hist.call": "来电", "hist.ticket": "工单", "hist.callback": "回呼",
    "hist.outcome.answered": "已接听", "hist.outcome.abandoned": "放弃", "hist.outcome.timeout": "超时",
    "hist.outcome.left_empty": "无人值守", "hist.outcome.exit_key": "按键离开", "hist.outcome.callback_requested": "要求回呼",
    "hist.kind.repair": "报修", "hist.kind.complaint": "投诉", "hist.kind.enquiry": "咨询", "hist.kind.fee": "催费", "hist.kind.other": "其他",
    "hist.kind.suggestion": "建议", "hist.kind.praise": "表扬", "hist.kind.request": "业务受理",
    "hist.reason.requested": "来电要求", "hist.reason.after_hours": "非工作时间", "hist.reason.abandoned": "未接通", "hist.reason.follow_up": "回访",
    "hist.status.open": "待处理", "hist.status.claimed": "已认领", "hist.status.done": "已完成",
  },
  en: {
    "desk.queues": "My queues", "desk.login": "Sign in", "desk.logout": "Log out", "desk.availability": "Availability",
    "desk.ready": "Ready", "desk.pause": "Pause", "desk.today": "Today", "desk.handled": "Handled",
    "desk.aht": "AHT", "desk.dialing": "dialling", "desk.occupancy": "Occupancy", "desk.paused": "Paused", "desk.noPhone": "Your user has no phone interface; you cannot sign in",
    "state.logged_out": "Logged out", "state.available": "Available", "state.ringing": "Ringing", "state.on_call": "On call",
    "state.on_hold": "On hold", "state.wrap_up": "Wrap-up", "state.paused": "Paused",
    "pop.none": "No call", "pop.callback": "Queued callback", "pop.wait": "Waited", "pop.customer": "Customer", "pop.route": "Routing",
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
    "ctl.dialNumber": "Number to call", "ctl.xferTarget": "Transfer target", "desk.pauseReason": "Pause reason",
    "pop.wrapUp": "Wrap-up", "wrap.submitShort": "Submit wrap-up", "keys.title": "Keyboard shortcuts", "keys.hold": "Hold / unhold",
    "pause.pending": "Pause after this call", "pause.pendingReason": "Pause after this call: {reason}",
    "pause.queued": "Pause: starts when this call is over", "desk.noQueues": "Not signed in to any queue",
    "fu.title": "No disposition", "fu.hint": "Calls whose wrap-up ran out without a disposition: please complete them.", "fu.flag": "no disposition",
    "fu.note": "Note", "fu.save": "Complete",
    "hist.call": "Call", "hist.ticket": "Ticket", "hist.callback": "Callback",
    "hist.outcome.answered": "answered", "hist.outcome.abandoned": "abandoned", "hist.outcome.timeout": "timed out",
    "hist.outcome.left_empty": "no agents", "hist.outcome.exit_key": "left by key", "hist.outcome.callback_requested": "callback asked",
    "hist.kind.repair": "repair", "hist.kind.complaint": "complaint", "hist.kind.enquiry": "enquiry", "hist.kind.fee": "fees", "hist.kind.other": "other",
    "hist.kind.suggestion": "suggestion", "hist.kind.praise": "praise", "hist.kind.request": "request",
    "hist.reason.requested": "asked for", "hist.reason.after_hours": "after hours", "hist.reason.abandoned": "hung up waiting", "hist.reason.follow_up": "follow-up",
    "hist.status.open": "pending", "hist.status.claimed": "claimed", "hist.status.done": "done",
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
// Data (names, numbers, codes) is not translated; the language test skips it.
const data = (tag, attrs, ...children) => el(tag, { ...attrs, translate: false }, ...children);
const label = (item) => (item ? (lang() === "en" ? item.en : item.zh) : "");

const me = await signedIn();
const ctx = await api("/api/desktop/context");
const iface = ctx.user.interface;
let agent = null; // agent_view
let pop = null; // {call_id, phase, call, lookup}; phase ringing | answered | wrap_up
let wrapCallId = null; // the call the wrap-up form was last set up for
let pauseAsked = null; // the reason of a pause asked for while busy (starts after the call)
const followups = new Followups({ skills: ctx.skills, timezone: me.timezone, onResult: (text, ok) => result(text, ok) });
setupOrderBox(() => pop, (text, ok) => result(text, ok));
const outbound = new OutboundMode({ onResult: (text, ok) => result(text, ok) });
const visits = new Visits({
  timezone: me.timezone, onResult: (text, ok) => result(text, ok),
  canDial: () => enabledButtons(agent, { hasInterface: !!iface, wantedQueues: checked() }).has("dial-btn"),
});

// --- static parts ---------------------------------------------------------------

function renderStatic() {
  const skills = $("skills");
  const checked = new Set([...skills.querySelectorAll("input")].filter((b) => !b.checked).map((b) => b.value));
  skills.replaceChildren(
    ...ctx.skills.map((s) =>
      el("label", {}, el("input", { type: "checkbox", value: s.queue, checked: !checked.has(s.queue) }),
        data("span", {}, `${lang() === "en" ? s.display_name_en : s.display_name} (${s.queue}) · P${s.penalty}`))),
  );
  for (const box of skills.querySelectorAll("input")) box.onchange = () => render();
  const chosen = $("pause-reason").value;
  $("pause-reason").replaceChildren(...ctx.pause_reasons.map((r) => el("option", { value: r.code }, label(r))));
  if (chosen) $("pause-reason").value = chosen;
  if (!iface) result(() => t("desk.noPhone"), false);
}

// --- live state -----------------------------------------------------------------

function render() {
  const state = agent ? agent.state : "logged_out";
  const badge = $("state");
  badge.dataset.state = state;
  badge.textContent = t("state." + state);
  const reason = agent && agent.reason ? ctx.pause_reasons.find((r) => r.code === agent.reason) : null;
  // "dialing": my outbound call (click-to-call, a return visit) still rings the other side.
  $("state-reason").textContent = agent && agent.reason ? (reason ? label(reason) : agent.reason === "dialing" ? t("desk.dialing") : agent.reason) : "";
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
  renderPending();
  renderPop();
  renderWrap();
  renderButtons();
  tick();
}

function renderPending() {
  if (!isBusy(agent)) pauseAsked = null;
  const show = isBusy(agent) && (pendingPause(agent) || pauseAsked) && !(agent.state === "wrap_up" && !pauseAsked);
  const box = $("pause-pending");
  box.classList.toggle("hidden", !show);
  if (!show) return;
  const reason = pauseAsked && ctx.pause_reasons.find((r) => r.code === pauseAsked);
  box.textContent = reason ? t("pause.pendingReason", { reason: label(reason) }) : t("pause.pending");
}

function renderButtons() {
  const on = enabledButtons(agent, { hasInterface: !!iface, wantedQueues: checked() });
  for (const id of ["login-btn", "logout-btn-q", "ready-btn", "pause-btn", "dial-btn", "hold-btn", "unhold-btn", "hangup-btn", "xfer-btn", "wrap-submit"]) {
    $(id).disabled = !on.has(id);
  }
  visits.buttons();
}

function renderPop() {
  $("pop").classList.toggle("hidden", !pop);
  $("pop-empty").classList.toggle("hidden", !!pop);
  if (!pop) return;
  renderOrderBox(pop, { timezone: me.timezone });
  const call = pop.call || {};
  const phase = { answered: ["pop.answered", "good"], wrap_up: ["pop.wrapUp", "wrap"] }[pop.phase] || ["pop.ringing", "ok"];
  // A queued callback (the caller pressed 9 and kept their place): the agent calls them.
  $("pop-phase").textContent = call.callback ? `${t(phase[0])} · ${t("pop.callback")}` : t(phase[0]);
  $("pop-phase").className = `badge ${phase[1]}`;
  $("pop-phase").dataset.phase = pop.phase;
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
      if (value) dl.append(el("dt", {}, t(key)), data("dd", {}, String(value)));
    }
    box.replaceChildren(
      el("div", { class: "row" }, data("span", { class: "customer-name", id: "pop-customer-name" }, c.name || ""),
        vipLabel(c) ? el("span", { class: "badge vip" }, vipLabel(c)) : null),
      dl);
  } else if (box.dataset.newFor !== pop.call_id || box.dataset.lang !== lang()) {
    // Re-rendered on every update: keep the form (and what is typed) for this call.
    const typed = box.querySelector("#new-name") ? [$("new-name").value, $("new-unit").value] : null;
    box.dataset.newFor = pop.call_id;
    box.dataset.lang = lang();
    box.replaceChildren(newCustomerForm(pop.call_id, call.caller_number || ""));
    if (typed) [$("new-name").value, $("new-unit").value] = typed;
  }
  if (!lookup || lookup.customer) delete box.dataset.newFor;
  const route = (lookup && lookup.route) || call.route || null;
  const rdl = $("pop-route");
  rdl.replaceChildren();
  const rows = [["pop.queue", queueLabel((route && route.queue) || call.queue)], ["pop.choices", route && route.choices && route.choices.join(" › ")],
    ["pop.priority", route ? route.priority : call.priority], ["pop.reason", route && reasonsText(route.reason)]];
  for (const [key, value] of rows) if (value != null && value !== "") rdl.append(el("dt", {}, t(key)), data("dd", {}, String(value)));
  const hist = (lookup && lookup.interactions) || [];
  $("pop-history").replaceChildren(...(hist.length ? hist.map(interaction) : [el("li", { class: "muted" }, t("pop.noHistory"))]));
  // A new caller has no tickets yet; "no store" only when the CRM is not there at all.
  const tickets = lookup ? (lookup.tickets ?? (lookup.crm ? [] : null)) : null;
  $("pop-tickets").replaceChildren(...(tickets == null ? [el("li", { class: "muted" }, t("pop.noStore"))]
    : tickets.length ? tickets.map((k) => data("li", {}, `#${k.id} ${k.title || k.subject || ""}`))
      : [el("li", { class: "muted" }, t("pop.noTickets"))]));
}

/** One past contact, told in the user's language from its fields. */
function interaction(i) {
  const at = i.at ? new Date(i.at).toLocaleString(lang(), { timeZone: me.timezone, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }) : "";
  let words;
  if (i.kind === "call") {
    const disp = i.disposition && ctx.skills.flatMap((s) => s.dispositions).find((d) => d.code === i.disposition);
    words = [t("hist.call"), queueLabel(i.queue), t("hist.outcome." + i.outcome), i.agent, disp ? label(disp) : ""];
  } else if (i.kind === "ticket") {
    words = [t("hist.ticket"), t("hist.kind." + i.ticket_kind), i.subject];
  } else {
    words = [t("hist.callback"), t("hist.reason." + i.reason), t("hist.status." + i.status)];
  }
  return el("li", {}, data("span", { class: "mono" }, at), " ", data("span", {}, words.filter(Boolean).join(" · ")));
}

/** A queue as people call it: 报修 / Repairs, not `repairs`. */
function queueLabel(name) {
  const s = ctx.skills.find((x) => x.queue === name);
  const q = queues.find((x) => x.name === name);
  if (s) return lang() === "en" ? s.display_name_en : s.display_name;
  if (q) return lang() === "en" ? q.display_name_en || q.name : q.display_name;
  return name;
}

/** Create the unknown caller as a customer in place, then ask the hub to look the pop up again. */
function newCustomerForm(callId, number) {
  const name = el("input", { id: "new-name", maxLength: 128, placeholder: t("pop.name") });
  const unit = el("input", { id: "new-unit", maxLength: 64, placeholder: t("pop.unitOptional") });
  const save = el("button", { class: "primary", id: "pop-create", type: "submit" }, t("pop.create"));
  const form = el("form", { class: "new-customer", id: "new-customer" },
    el("div", { class: "customer-name", id: "pop-customer-name" }, t("pop.new")),
    el("label", {}, t("pop.name"), name), el("label", {}, t("pop.unit"), unit),
    el("div", { class: "muted" }, `${t("pop.number")} `, data("span", {}, number)), save);
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
  const sel = $("disposition");
  const fresh = wrap.call_id !== wrapCallId;
  if (fresh || sel.dataset.lang !== lang()) {
    const skill = ctx.skills.find((s) => s.queue === wrap.queue);
    const chosen = fresh ? "" : sel.value;
    sel.dataset.lang = lang();
    sel.replaceChildren(el("option", { value: "" }, "—"),
      ...((skill && skill.dispositions) || []).map((d) => el("option", { value: d.code }, label(d))));
    sel.value = chosen;
  }
  if (fresh) {
    // A new call's wrap-up starts blank: the last call's code and note do not carry over.
    wrapCallId = wrap.call_id;
    $("wrap-note").value = "";
  }
}

function tick() {
  const now = serverNow();
  $("state-time").textContent = agent && agent.since ? mmss(now - agent.since) : "00:00";
  if (pop && pop.call) {
    const c = pop.call;
    const end = pop.phase !== "ringing" && c.answered_at ? c.answered_at : now;
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

// text: a function giving the message in the current language (so it
// follows a language switch); ok: true done, false failed, null under way.
let lastResult = null;
function result(text, ok) {
  lastResult = [typeof text === "function" ? text : () => text, ok];
  const r = $("result");
  r.textContent = lastResult[0]();
  r.className = `result ${ok === null ? "pending" : ok ? "ok" : "err"}`;
}

// key: the action's name in the strings table.
async function act(key, path, body, done = () => `${t(key)}: ${t("ctl.ok")}`) {
  result(() => `${t(key)}…`, null);
  try {
    await api(path, { method: "POST", body });
    result(done, true);
    return true;
  } catch (e) {
    result(() => `${t(key)}: ${e.message}`, false);
    return false;
  } finally {
    renderButtons();
  }
}

const checked = () => [...$("skills").querySelectorAll("input:checked")].map((b) => b.value);
$("login-btn").onclick = () => act("desk.login", "/api/desktop/queues/login", { queues: checked() });
$("logout-btn-q").onclick = () => act("desk.logout", "/api/desktop/queues/logout", {});
$("ready-btn").onclick = () => { pauseAsked = null; return act("desk.ready", "/api/desktop/ready"); };
$("pause-btn").onclick = async () => {
  const reason = $("pause-reason").value;
  const busy = isBusy(agent);
  if (await act("desk.pause", "/api/desktop/pause", { reason }, busy ? () => t("pause.queued") : undefined) && busy) {
    pauseAsked = reason;
    render();
  }
};
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
  await act("wrap.submit", "/api/acd/disposition", { call_id: wrap.call_id, code, note });
};

let queues = [];
api("/api/queues").then((qs) => { queues = qs; fillTargets(); }).catch(() => {});
function fillTargets() {
  const opts = $("xfer-to").value === "queue" ? queues.map((q) => el("option", { value: q.name }, label({ zh: q.display_name, en: q.display_name_en || q.name }))) : [];
  $("xfer-options").replaceChildren(...opts);
}
$("xfer-to").onchange = fillTargets;

// --- the hub --------------------------------------------------------------------

installShortcuts();
shortcutHelp($("keys"));
renderStatic();
render();
applyI18n();
followups.load();
outbound.load();
visits.load();
setInterval(() => visits.load(), 60_000); // new visits and retries come due
window.addEventListener("cc:lang", () => { renderStatic(); render(); fillTargets(); followups.render(); visits.render(); outbound.renderStatic(); outbound.render(); if (lastResult) result(...lastResult); });

if (iface) {
  const hub = new Hub({
    onStatus: (s) => $("conn").classList.toggle("hidden", s === "live"),
    onSettings: async (key) => {
      if (key !== "pause_reasons" && key !== "queues") return;
      Object.assign(ctx, await api("/api/desktop/context"));
      renderStatic();
      render();
    },
  });
  hub.subscribe(`agent:${iface}`, (msg) => {
    if (msg.type === "error") {
      result(() => t(`err.http_${msg.code}`), false);
      return;
    }
    if (msg.type === "delta") noteServerTime(msg.ts);
    const d = msg.data;
    const before = agent && agent.state;
    if (msg.type === "snapshot") {
      agent = d.agent;
      pop = d.pop;
    } else {
      if (d.agent) agent = d.agent;
      if (d.pop) pop = d.pop.phase === "cleared" ? (pop && pop.call_id !== d.pop.call_id ? pop : null) : d.pop;
    }
    if (before === "wrap_up" && agent && agent.state !== "wrap_up") followups.soon();
    if (pop) outbound.fromPop(pop);
    render();
  });
  hub.connect();
}
