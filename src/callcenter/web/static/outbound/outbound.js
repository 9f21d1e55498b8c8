// Outbound (外呼): the agent's outbound mode (card, script, dial, result,
// next), campaign setup and list import for leads and admins, and the
// campaign wallboard.  Every figure comes from /api/outbound (role- and
// scope-checked); the page only arranges it.
import { api, ApiError, signedIn, toast } from "/static/common/api.js";
import { addStrings, applyI18n, mmss, pct, t, tr } from "/static/common/i18n.js";

const RESULTS = ["normal_conversation", "success", "refused", "callback_later", "no_answer", "busy", "wrong_number", "invalid_number", "contacted", "do_not_call"];
const TYPES = ["service", "sales", "collection", "retention", "return_visit", "survey"];
const MODES = ["preview", "progressive", "predictive"];

addStrings({
  "zh-CN": {
    "ob.title": "外呼", "ob.tab.work": "外呼工作台", "ob.tab.setup": "活动设置", "ob.tab.board": "活动看板", "ob.campaign": "外呼活动",
    "ob.next": "下一位", "ob.dial": "拨号", "ob.none": "当前没有可拨打的客户（时段外、已在拨打、或名单已完成）", "ob.result": "结果",
    "ob.callbackAt": "预约回拨时间", "ob.note": "备注", "ob.saveNext": "保存并继续", "ob.script": "话术", "ob.scriptVer": "话术第 {v} 版",
    "ob.noScript": "本活动尚无话术", "ob.attempts": "第 {n} 次拨打", "ob.state.pending": "待拨号", "ob.state.sent": "正在呼叫",
    "ob.state.answered": "通话中", "ob.state.ended": "已结束", "ob.saved": "结果已保存",
    "ob.new": "新建外呼活动", "ob.name": "活动名称", "ob.type": "类型", "ob.mode": "拨号方式", "ob.queue": "坐席队列", "ob.team": "班组",
    "ob.noTeam": "（不限）", "ob.window": "呼叫时段", "ob.cap": "放弃率上限 %", "ob.create": "创建", "ob.created": "活动已创建",
    "ob.start": "开始", "ob.pause": "暂停", "ob.import": "导入名单", "ob.file": "名单文件", "ob.strict": "有错误则全部不导入",
    "ob.upload": "上传", "ob.report": "共 {rows} 行，导入 {imported} 行，{errors} 行有误（编码 {encoding}）", "ob.notApplied": "有错误行，未导入任何数据",
    "ob.errorReport": "下载错误报告", "ob.line": "第 {line} 行 {field}：{reason}", "ob.saveScript": "保存为新版本", "ob.scriptSaved": "已保存话术第 {v} 版",
    "ob.meta": "{type} · {mode} · {status} · 时段 {window}", "ob.agent": "坐席", "ob.pickFile": "请选择名单文件",
    "ob.k.dials": "拨打", "ob.k.contacts": "接触", "ob.k.contact_rate": "接触率", "ob.k.conversations": "正常通话", "ob.k.successes": "成功",
    "ob.k.success_rate": "成功率", "ob.k.list_utilisation": "名单使用率", "ob.k.talk": "通话时长", "ob.k.abandon_rate": "接通放弃率",
    "ob.k.list_size": "名单数量", "ob.noCampaign": "没有可见的外呼活动",
    "ob.type.service": "服务回访", "ob.type.sales": "营销", "ob.type.collection": "催收/催费", "ob.type.retention": "维系挽留",
    "ob.type.return_visit": "回访", "ob.type.survey": "满意度调查",
    "ob.mode.preview": "预览式", "ob.mode.progressive": "渐进式", "ob.mode.predictive": "预测式",
    "ob.status.draft": "草稿", "ob.status.running": "进行中", "ob.status.paused": "已暂停", "ob.status.closed": "已结束",
    "ob.r.normal_conversation": "正常通话", "ob.r.success": "成功", "ob.r.refused": "拒绝", "ob.r.callback_later": "预约回拨",
    "ob.r.no_answer": "无人接听", "ob.r.busy": "忙线", "ob.r.wrong_number": "非本人", "ob.r.invalid_number": "无效号码",
    "ob.r.contacted": "已接触", "ob.r.do_not_call": "要求不再来电",
    "ob.tab.callbacks": "今日回访", "ob.cb.sync": "刷新名单", "ob.cb.number": "号码", "ob.cb.since": "未接通时间", "ob.cb.attempts": "已拨次数",
    "ob.cb.status": "状态", "ob.cb.dial": "拨号", "ob.cb.reached": "已联系上", "ob.cb.no_answer": "无人接听", "ob.cb.busy": "忙线",
    "ob.cb.wrong_number": "号码错误", "ob.cb.st.open": "待回访", "ob.cb.st.claimed": "处理中", "ob.cb.st.done": "已完成", "ob.cb.dialled": "正在呼叫 {n}",
    "ob.cb.k.due": "应回访", "ob.cb.k.made": "已回访", "ob.cb.k.reached": "已联系上", "ob.cb.k.same_day": "当日清零率", "ob.cb.k.wait": "放弃→回访（中位）",
    "ob.f.unit": "房号", "ob.f.amount": "金额", "ob.f.period": "账期", "ob.f.due_on": "到期日", "ob.f.note": "备注",
  },
  en: {
    "ob.title": "Outbound", "ob.tab.work": "Outbound desk", "ob.tab.setup": "Campaign setup", "ob.tab.board": "Campaign board", "ob.campaign": "Campaign",
    "ob.next": "Next", "ob.dial": "Dial", "ob.none": "Nobody to call now (outside the window, being dialled, or the list is done)", "ob.result": "Result",
    "ob.callbackAt": "Call back at", "ob.note": "Note", "ob.saveNext": "Save and go on", "ob.script": "Script", "ob.scriptVer": "Script version {v}",
    "ob.noScript": "This campaign has no script yet", "ob.attempts": "Attempt {n}", "ob.state.pending": "Ready to dial", "ob.state.sent": "Calling",
    "ob.state.answered": "On the call", "ob.state.ended": "Ended", "ob.saved": "Result saved",
    "ob.new": "New campaign", "ob.name": "Name", "ob.type": "Type", "ob.mode": "Dialling mode", "ob.queue": "Agents' queue", "ob.team": "Team",
    "ob.noTeam": "(any)", "ob.window": "Calling window", "ob.cap": "Abandon cap %", "ob.create": "Create", "ob.created": "Campaign created",
    "ob.start": "Start", "ob.pause": "Pause", "ob.import": "Import a list", "ob.file": "List file (CSV or XLSX)", "ob.strict": "Import nothing if any row is bad",
    "ob.upload": "Upload", "ob.report": "{rows} rows, {imported} imported, {errors} with errors (encoding {encoding})", "ob.notApplied": "Some rows are bad: nothing was imported",
    "ob.errorReport": "Download the error report", "ob.line": "Line {line}, {field}: {reason}", "ob.saveScript": "Save as a new version", "ob.scriptSaved": "Script version {v} saved",
    "ob.meta": "{type} · {mode} · {status} · window {window}", "ob.agent": "Agent", "ob.pickFile": "Choose a list file",
    "ob.k.dials": "Dials", "ob.k.contacts": "Contacts", "ob.k.contact_rate": "Contact rate", "ob.k.conversations": "Conversations", "ob.k.successes": "Successes",
    "ob.k.success_rate": "Success rate", "ob.k.list_utilisation": "List used", "ob.k.talk": "Talk time", "ob.k.abandon_rate": "Abandon rate (connected)",
    "ob.k.list_size": "List size", "ob.noCampaign": "No campaign to show",
    "ob.type.service": "Service", "ob.type.sales": "Sales", "ob.type.collection": "Collection", "ob.type.retention": "Retention",
    "ob.type.return_visit": "Return visit", "ob.type.survey": "Survey",
    "ob.mode.preview": "Preview", "ob.mode.progressive": "Progressive", "ob.mode.predictive": "Predictive",
    "ob.status.draft": "Draft", "ob.status.running": "Running", "ob.status.paused": "Paused", "ob.status.closed": "Closed",
    "ob.r.normal_conversation": "Conversation", "ob.r.success": "Success", "ob.r.refused": "Refused", "ob.r.callback_later": "Call back later",
    "ob.r.no_answer": "No answer", "ob.r.busy": "Busy", "ob.r.wrong_number": "Wrong person", "ob.r.invalid_number": "Invalid number",
    "ob.r.contacted": "Contacted", "ob.r.do_not_call": "Do not call again",
    "ob.tab.callbacks": "Today's callbacks", "ob.cb.sync": "Refresh the list", "ob.cb.number": "Number", "ob.cb.since": "Missed at", "ob.cb.attempts": "Attempts",
    "ob.cb.status": "Status", "ob.cb.dial": "Dial", "ob.cb.reached": "Reached", "ob.cb.no_answer": "No answer", "ob.cb.busy": "Busy",
    "ob.cb.wrong_number": "Wrong number", "ob.cb.st.open": "To call", "ob.cb.st.claimed": "In progress", "ob.cb.st.done": "Done", "ob.cb.dialled": "Calling {n}",
    "ob.cb.k.due": "Due", "ob.cb.k.made": "Made", "ob.cb.k.reached": "Reached", "ob.cb.k.same_day": "Cleared today", "ob.cb.k.wait": "Abandon → callback (median)",
    "ob.f.unit": "Unit", "ob.f.amount": "Amount", "ob.f.period": "Period", "ob.f.due_on": "Due", "ob.f.note": "Note",
  },
});

const $ = (id) => document.getElementById(id);
const me = await signedIn();
const lead = me.role === "admin" || me.role === "team_lead";
let campaigns = [];
let card = null;
let boardTimer = null;

function options(select, values, prefix) {
  select.replaceChildren(...values.map((v) => { const o = tr("option", prefix + v); o.value = v; return o; }));
}

function campaignId() { return Number($("campaign").value) || null; }

async function loadCampaigns(selectId) {
  campaigns = await api("/api/outbound/campaigns");
  const sel = $("campaign");
  const keep = selectId || campaignId();
  sel.replaceChildren(...campaigns.map((c) => { const o = document.createElement("option"); o.value = c.id; o.textContent = c.name; return o; }));
  if (keep) sel.value = String(keep);
  if (!campaigns.length) { const o = tr("option", "ob.noCampaign"); o.value = ""; sel.appendChild(o); }
  showSelected();
}

// --- the agent's outbound mode ----------------------------------------------------------

function showCard() {
  $("card").classList.toggle("hidden", !card);
  $("no-card").classList.toggle("hidden", !!card);
  $("result").classList.toggle("hidden", !card);
  $("dial-btn").disabled = !card || card.dial.state !== "pending";
  $("card-state").replaceChildren(card ? tr("span", "ob.state." + card.dial.state) : "");
  if (!card) { $("script").textContent = ""; $("script-ver").replaceChildren(); return; }
  $("c-name").textContent = card.contact.name || "—";
  $("c-number").textContent = card.contact.number;
  const dl = $("c-data");
  dl.replaceChildren();
  for (const [k, v] of Object.entries(card.contact.data || {})) {
    const known = ["unit", "amount", "period", "due_on", "note"].includes(k);
    const dt = known ? tr("dt", "ob.f." + k) : document.createElement("dt");
    if (!known) { dt.textContent = k; dt.translate = false; }
    const dd = document.createElement("dd"); dd.textContent = v; dd.translate = false;
    dl.append(dt, dd);
  }
  $("c-attempts").replaceChildren(tr("span", "ob.attempts", { n: card.contact.attempts }));
  $("script").textContent = card.script ? card.script.body : "";
  $("script-ver").replaceChildren(card.script ? tr("span", "ob.scriptVer", { v: card.script.version }) : tr("span", "ob.noScript"));
}

async function next() {
  if (!campaignId()) return;
  try { card = await api(`/api/outbound/campaigns/${campaignId()}/next`, { method: "POST" }); } catch (e) { toast(e.message, { error: true }); return; }
  showCard();
}

async function dial() {
  try { card.dial = await api(`/api/outbound/dials/${card.dial.id}/dial`, { method: "POST" }); } catch (e) { toast(e.message, { error: true }); }
  showCard();
}

async function saveResult(ev) {
  ev.preventDefault();
  const body = { result: $("r-result").value, note: $("r-note").value };
  if (body.result === "callback_later" && $("r-at").value) body.callback_at = new Date($("r-at").value).toISOString();
  try { await api(`/api/outbound/dials/${card.dial.id}/result`, { method: "POST", body }); } catch (e) { toast(e.message, { error: true }); return; }
  toast(t("ob.saved"));
  $("r-note").value = "";
  card = null;
  await next();
}

// --- setup ------------------------------------------------------------------------------

function showSelected() {
  const c = campaigns.find((x) => x.id === campaignId());
  $("selected").classList.toggle("hidden", !c);
  if (!c) return;
  $("s-name").textContent = c.name;
  $("s-meta").replaceChildren(tr("span", "ob.meta", { type: t("ob.type." + c.type), mode: t("ob.mode." + c.mode), status: t("ob.status." + c.status), window: c.window }));
}

async function createCampaign(ev) {
  ev.preventDefault();
  const body = { name: $("n-name").value.trim(), type: $("n-type").value, mode: $("n-mode").value, queue: $("n-queue").value.trim(),
    window: $("n-window").value.trim(), abandon_cap: Number($("n-cap").value) / 100 };
  if ($("n-team").value) body.team_id = Number($("n-team").value);
  $("create-error").textContent = "";
  try {
    const c = await api("/api/outbound/campaigns", { method: "POST", body });
    toast(t("ob.created"));
    await loadCampaigns(c.id);
  } catch (e) { $("create-error").textContent = e.message; }
}

async function setStatus(status) {
  try { await api(`/api/outbound/campaigns/${campaignId()}`, { method: "PATCH", body: { status } }); } catch (e) { toast(e.message, { error: true }); return; }
  await loadCampaigns();
}

async function upload(ev) {
  ev.preventDefault();
  const file = $("i-file").files[0];
  if (!file) { toast(t("ob.pickFile"), { error: true }); return; }
  const form = new FormData();
  form.append("file", file);
  form.append("strict", $("i-strict").checked ? "true" : "false");
  const res = await fetch(`/api/outbound/campaigns/${campaignId()}/imports`, { method: "POST", body: form, credentials: "same-origin" });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) { toast(new ApiError(res.status, data.detail, { code: data.code || "" }).message, { error: true }); return; }
  const report = $("i-report");
  report.replaceChildren(tr("span", "ob.report", { rows: data.rows, imported: data.imported, errors: data.errors.length, encoding: data.encoding }));
  if (!data.applied) report.append(" ", tr("strong", "ob.notApplied"));
  if (data.errors.length) {
    const a = tr("a", "ob.errorReport", null, { href: `/api/outbound/imports/${data.id}/errors.csv`, download: "" });
    report.append(" ", a);
  }
  $("i-errors").replaceChildren(...data.errors.slice(0, 200).map((e) => { const li = document.createElement("li"); li.translate = false; li.textContent = `${e.line} · ${e.field} · ${e.reason}`; return li; }));
}

async function saveScript() {
  const body = $("s-body").value.trim();
  if (!body) return;
  try {
    const s = await api(`/api/outbound/campaigns/${campaignId()}/scripts`, { method: "POST", body: { body } });
    $("s-ver").replaceChildren(tr("span", "ob.scriptSaved", { v: s.version }));
  } catch (e) { toast(e.message, { error: true }); }
}

// --- the board ----------------------------------------------------------------------------

const TILES = [["dials", (k) => k.dials], ["contacts", (k) => k.contacts], ["contact_rate", (k) => pct(k.contact_rate)],
  ["conversations", (k) => k.conversations], ["successes", (k) => k.successes], ["success_rate", (k) => pct(k.success_rate)],
  ["list_size", (k) => k.list_size], ["list_utilisation", (k) => pct(k.list_utilisation)], ["talk", (k) => mmss(k.talk_s)],
  ["abandon_rate", (k) => pct(k.abandon_rate)]];

async function board() {
  if (!campaignId()) return;
  let k;
  try { k = await api(`/api/outbound/campaigns/${campaignId()}/kpis`); } catch (e) { toast(e.message, { error: true }); return; }
  $("tiles").replaceChildren(...TILES.map(([key, f]) => {
    const d = document.createElement("div");
    d.className = "tile" + (key === "abandon_rate" && k.abandon_rate > k.campaign.abandon_cap ? " bad" : "");
    const v = document.createElement("div"); v.className = "v"; v.textContent = f(k); v.translate = false;
    d.append(tr("div", "ob.k." + key), v);
    return d;
  }));
  $("agents").replaceChildren(...k.agents.map((a) => {
    const row = document.createElement("tr");
    for (const v of [a.name || `#${a.user_id}`, a.dials, a.contacts, a.conversations, a.successes, mmss(a.talk_s)]) {
      const td = document.createElement("td"); td.textContent = v; td.translate = false; row.appendChild(td);
    }
    return row;
  }));
}

// --- same-day callbacks ----------------------------------------------------------------

async function callbacksTab() {
  let day;
  try { day = await api("/api/outbound/callbacks/today"); } catch (e) { toast(e.message, { error: true }); return; }
  if (lead) {
    const k = await api("/api/outbound/callbacks/kpis").catch(() => null);
    if (k) {
      const tiles = [["due", k.due], ["made", k.made], ["reached", k.reached], ["same_day", pct(k.same_day_share)],
        ["wait", k.abandon_to_callback_median_s == null ? "—" : mmss(k.abandon_to_callback_median_s)]];
      $("cb-tiles").replaceChildren(...tiles.map(([key, v]) => {
        const d = document.createElement("div"); d.className = "tile";
        const val = document.createElement("div"); val.className = "v"; val.textContent = v; val.translate = false;
        d.append(tr("div", "ob.cb.k." + key), val);
        return d;
      }));
    }
  }
  $("cb-rows").replaceChildren(...day.tasks.map((task) => {
    const row = document.createElement("tr");
    const cells = [task.number, new Date(task.created_at).toLocaleTimeString(), task.attempts];
    for (const v of cells) { const td = document.createElement("td"); td.textContent = v; td.translate = false; row.appendChild(td); }
    const st = document.createElement("td"); st.appendChild(tr("span", "ob.cb.st." + task.status)); row.appendChild(st);
    const act = document.createElement("td");
    if (task.status !== "done") {
      const dialBtn = tr("button", "ob.cb.dial");
      dialBtn.onclick = async () => {
        try {
          await api("/api/desktop/dial", { method: "POST", body: { number: task.number, callback_task: task.id } });
          toast(t("ob.cb.dialled", { n: task.number }));
        } catch (e) { toast(e.message, { error: true }); }
      };
      act.appendChild(dialBtn);
      for (const result of ["reached", "no_answer", "busy", "wrong_number"]) {
        const b = tr("button", "ob.cb." + result);
        b.dataset.result = result;
        b.onclick = async () => {
          try { await api(`/api/outbound/callbacks/${task.id}/result`, { method: "POST", body: { result } }); } catch (e) { toast(e.message, { error: true }); return; }
          await callbacksTab();
        };
        act.appendChild(b);
      }
    }
    row.appendChild(act);
    return row;
  }));
}

// --- tabs ---------------------------------------------------------------------------------

function route() {
  let tab = (location.hash || "#work").slice(1);
  if (!lead && !["work", "callbacks"].includes(tab)) tab = "work";
  for (const s of document.querySelectorAll("section.tab")) s.classList.toggle("hidden", s.id !== tab);
  for (const a of document.querySelectorAll("#tabs a")) a.classList.toggle("active", a.dataset.tab === tab);
  clearInterval(boardTimer);
  if (tab === "board") { board(); boardTimer = setInterval(board, 5000); }
  if (tab === "callbacks") callbacksTab();
}

for (const el of document.querySelectorAll(".lead-only")) el.classList.toggle("hidden", !lead);
options($("r-result"), RESULTS, "ob.r.");
options($("n-type"), TYPES, "ob.type.");
options($("n-mode"), MODES, "ob.mode.");
$("r-result").onchange = () => $("r-when").classList.toggle("hidden", $("r-result").value !== "callback_later");
$("next-btn").onclick = next;
$("dial-btn").onclick = dial;
$("result").onsubmit = saveResult;
$("create").onsubmit = createCampaign;
$("import").onsubmit = upload;
$("script-btn").onclick = saveScript;
$("start-btn").onclick = () => setStatus("running");
$("pause-btn").onclick = () => setStatus("paused");
$("cb-sync").onclick = async () => {
  try { await api("/api/outbound/callbacks/sync", { method: "POST" }); } catch (e) { toast(e.message, { error: true }); return; }
  await callbacksTab();
};
$("campaign").onchange = () => { card = null; showCard(); showSelected(); route(); };
window.addEventListener("hashchange", route);
window.addEventListener("cc:lang", () => { showSelected(); applyI18n(); });
if (lead) {
  const teams = await api("/api/teams").catch(() => []);
  const none = tr("option", "ob.noTeam"); none.value = "";
  $("n-team").replaceChildren(...(me.role === "admin" ? [none] : []), ...teams.map((x) => { const o = document.createElement("option"); o.value = x.id; o.textContent = x.name; return o; }));
}
await loadCampaigns();
showCard();
route();
applyI18n();
document.body.dataset.ready = "1";
