// Work orders (工单): my tasks (orders, return visits, follow-ups, due
// first), the lead's board (overdue, escalated, by department and by age,
// with chase and reassign), and the department page (department staff see
// the board of their own department).  Live: a work-order notice on the
// websocket reloads what is shown.
import { api, signedIn, toast } from "/static/common/api.js";
import { addStrings, applyI18n, lang, t } from "/static/common/i18n.js";

addStrings({
  "zh-CN": {
    "title.workorders": "工单 · 呼叫中心", "nav.workorders": "工单",
    "wo.tab.mine": "我的任务", "wo.tab.board": "工单看板", "wo.tab.dept": "部门工单", "wo.live": "实时更新",
    "wo.myOrders": "我的工单", "wo.myTasks": "回访与跟进", "wo.kind": "类型", "wo.subject": "内容", "wo.state": "状态", "wo.due": "期限",
    "wo.level": "升级", "wo.task": "任务", "wo.for": "对象", "wo.attempts": "尝试", "wo.result": "结果", "wo.open": "未结",
    "wo.overdue": "超期", "wo.escalated": "已升级", "wo.byDept": "按部门", "wo.byAge": "按滞留时间", "wo.dept": "部门",
    "wo.overdueList": "超期工单", "wo.escalatedList": "升级工单", "wo.close": "关闭", "wo.timeline": "处理记录", "wo.none": "无",
    "wo.chase": "催办", "wo.chased": "已催办", "wo.reassign": "改派", "wo.noDept": "未派部门", "wo.moved": "状态已更新",
    "wo.kind.repair": "报修", "wo.kind.complaint": "投诉", "wo.kind.enquiry": "咨询", "wo.kind.suggestion": "建议", "wo.kind.praise": "表扬",
    "wo.kind.fee": "催费", "wo.kind.request": "业务受理",
    "wo.sev.serious": "重大", "wo.sev.important": "重要", "wo.sev.minor": "轻微", "wo.sev.normal": "一般",
    "wo.lv.0": "—", "wo.lv.1": "班长", "wo.lv.2": "部门主管", "wo.lv.3": "主任",
    "wo.age.lt_1d": "1 天内", "wo.age.1_3d": "1–3 天", "wo.age.3_7d": "3–7 天", "wo.age.gt_7d": "7 天以上",
    "wo.task.return_visit": "回访", "wo.task.follow_up": "客户跟进", "wo.order": "工单 #{id}", "wo.customer": "客户 #{id}",
    "wo.r.satisfied": "满意", "wo.r.not_satisfied": "不满意", "wo.r.unreachable": "联系不上", "wo.r.done": "已跟进", "wo.saved": "已记录",
    "wo.st.NEW": "新建", "wo.st.DISPATCHED": "已派工", "wo.st.ON_SITE": "已上门", "wo.st.DONE": "已完工", "wo.st.LEAK_TEST": "试漏",
    "wo.st.RETURN_VISIT_DUE": "待回访", "wo.st.RETURN_VISITED": "已回访", "wo.st.REWORK": "返工", "wo.st.RECEIVED": "已受理",
    "wo.st.CLASSIFIED": "已分类", "wo.st.ESCALATED": "已呈报", "wo.st.ASSIGNED": "已分派", "wo.st.IN_PROGRESS": "处理中",
    "wo.st.ANSWERED": "已答复", "wo.st.RESOLVED": "已解决", "wo.st.RESULT_NOTIFIED": "已反馈结果", "wo.st.RETURN_VISIT": "回访中",
    "wo.st.REOPENED": "重新处理", "wo.st.CLOSED": "已结案",
    "wo.f.severity": "级别", "wo.f.customer": "客户", "wo.f.unit": "房号", "wo.f.number": "电话", "wo.f.owner": "首问负责人",
    "wo.f.created": "受理时间", "wo.f.resolve": "办结期限", "wo.f.calls": "关联通话",
    "wo.a.created": "受理", "wo.a.state": "状态变更", "wo.a.assign": "派工/改派", "wo.a.chase": "催办", "wo.a.escalate": "升级",
    "wo.a.rectify": "整改通知", "wo.a.overdue_plan": "超期说明", "wo.a.return_visit": "回访", "wo.a.return_visit_due": "生成回访任务", "wo.a.call": "关联通话",
    "wo.a.return_visit_dial": "回访外呼", "wo.a.rectify_ack": "整改通知已签收", "wo.a.rectify_missed": "整改逾期未完成",
    "wo.call": "通话 {id}，{s} 秒", "wo.recording": "录音", "wo.tab.followups": "逾期跟进", "wo.tab.reports": "报表",
    "wo.rect.title": "整改通知", "wo.rect.order": "工单", "wo.rect.text": "整改要求", "wo.rect.deadline": "整改期限", "wo.rect.status": "状态",
    "wo.rect.issue": "下发整改通知", "wo.rect.send": "下发", "wo.rect.sent": "整改通知已下发", "wo.rect.open": "待签收", "wo.rect.acked": "已签收",
    "wo.rect.missed": "逾期未整改", "wo.rect.ack": "签收", "wo.rect.ackNote": "整改措施", "wo.rect.ackDone": "已签收整改通知",
    "wo.od.title": "超期说明", "wo.od.reason": "超期原因", "wo.od.plan": "处理计划", "wo.od.deadline": "新的完成期限", "wo.od.save": "提交超期说明",
    "wo.od.saved": "超期说明已记录",
    "wo.fu.title": "逾期未跟进的客户", "wo.fu.hint": "按客户等级（A–E 每 1/7/15/30/365 天）应跟进而未跟进的任务，以中心所在时区的当日 24 点为期限。",
    "wo.fu.assignee": "负责人", "wo.fu.unassigned": "未分配",
    "wo.rep.title": "工单报表（CSV）", "wo.rep.since": "从", "wo.rep.until": "到", "wo.rep.intake": "受理量", "wo.rep.intakeHint": "按类型、渠道、部门",
    "wo.rep.performance": "办理质量", "wo.rep.performanceHint": "按时办结率、回访率、按时回访率、满意率、重开率",
    "wo.rep.weekly": "主任周报", "wo.rep.weeklyHint": "每周受理、督办、反馈、回访",
  },
  en: {
    "title.workorders": "Work orders · Call Center", "nav.workorders": "Work orders",
    "wo.tab.mine": "My tasks", "wo.tab.board": "Board", "wo.tab.dept": "Department orders", "wo.live": "Live",
    "wo.myOrders": "My orders", "wo.myTasks": "Return visits and follow-ups", "wo.kind": "Kind", "wo.subject": "Subject", "wo.state": "State",
    "wo.due": "Due", "wo.level": "Escalated to", "wo.task": "Task", "wo.for": "For", "wo.attempts": "Tries", "wo.result": "Result",
    "wo.open": "Open", "wo.overdue": "Overdue", "wo.escalated": "Escalated", "wo.byDept": "By department", "wo.byAge": "By age",
    "wo.dept": "Department", "wo.overdueList": "Overdue orders", "wo.escalatedList": "Escalated orders", "wo.close": "Close",
    "wo.timeline": "Timeline", "wo.none": "None", "wo.chase": "Chase", "wo.chased": "Chased", "wo.reassign": "Reassign",
    "wo.noDept": "No department", "wo.moved": "State updated",
    "wo.kind.repair": "Repair", "wo.kind.complaint": "Complaint", "wo.kind.enquiry": "Enquiry", "wo.kind.suggestion": "Suggestion",
    "wo.kind.praise": "Praise", "wo.kind.fee": "Fees", "wo.kind.request": "Request",
    "wo.sev.serious": "Serious", "wo.sev.important": "Important", "wo.sev.minor": "Minor", "wo.sev.normal": "Normal",
    "wo.lv.0": "—", "wo.lv.1": "Team lead", "wo.lv.2": "Department head", "wo.lv.3": "Director",
    "wo.age.lt_1d": "Under 1 day", "wo.age.1_3d": "1–3 days", "wo.age.3_7d": "3–7 days", "wo.age.gt_7d": "Over 7 days",
    "wo.task.return_visit": "Return visit", "wo.task.follow_up": "Follow-up", "wo.order": "Order #{id}", "wo.customer": "Customer #{id}",
    "wo.r.satisfied": "Satisfied", "wo.r.not_satisfied": "Not satisfied", "wo.r.unreachable": "Unreachable", "wo.r.done": "Done", "wo.saved": "Saved",
    "wo.st.NEW": "New", "wo.st.DISPATCHED": "Dispatched", "wo.st.ON_SITE": "On site", "wo.st.DONE": "Done", "wo.st.LEAK_TEST": "Leak test",
    "wo.st.RETURN_VISIT_DUE": "Return visit due", "wo.st.RETURN_VISITED": "Return visited", "wo.st.REWORK": "Rework", "wo.st.RECEIVED": "Received",
    "wo.st.CLASSIFIED": "Classified", "wo.st.ESCALATED": "Escalated", "wo.st.ASSIGNED": "Assigned", "wo.st.IN_PROGRESS": "In progress",
    "wo.st.ANSWERED": "Answered", "wo.st.RESOLVED": "Resolved", "wo.st.RESULT_NOTIFIED": "Result told", "wo.st.RETURN_VISIT": "Return visit",
    "wo.st.REOPENED": "Reopened", "wo.st.CLOSED": "Closed",
    "wo.f.severity": "Severity", "wo.f.customer": "Customer", "wo.f.unit": "Unit", "wo.f.number": "Phone", "wo.f.owner": "First owner",
    "wo.f.created": "Received", "wo.f.resolve": "Resolve by", "wo.f.calls": "Calls",
    "wo.a.created": "Received", "wo.a.state": "State", "wo.a.assign": "Dispatch / reassign", "wo.a.chase": "Chase", "wo.a.escalate": "Escalated",
    "wo.a.rectify": "Rectification notice", "wo.a.overdue_plan": "Overdue plan", "wo.a.return_visit": "Return visit",
    "wo.a.return_visit_due": "Return visit scheduled", "wo.a.call": "Call linked",
    "wo.a.return_visit_dial": "Return visit call", "wo.a.rectify_ack": "Rectification acknowledged", "wo.a.rectify_missed": "Rectification missed",
    "wo.call": "call {id}, {s} s", "wo.recording": "Recording", "wo.tab.followups": "Overdue follow-ups", "wo.tab.reports": "Reports",
    "wo.rect.title": "Rectification notices", "wo.rect.order": "Order", "wo.rect.text": "What must be put right", "wo.rect.deadline": "By",
    "wo.rect.status": "Status", "wo.rect.issue": "Issue a rectification notice", "wo.rect.send": "Issue", "wo.rect.sent": "Rectification notice issued",
    "wo.rect.open": "Not acknowledged", "wo.rect.acked": "Acknowledged", "wo.rect.missed": "Missed", "wo.rect.ack": "Acknowledge",
    "wo.rect.ackNote": "What we will do", "wo.rect.ackDone": "Rectification notice acknowledged",
    "wo.od.title": "Overdue: reason and plan", "wo.od.reason": "Why it is late", "wo.od.plan": "Plan", "wo.od.deadline": "New deadline",
    "wo.od.save": "Record reason and plan", "wo.od.saved": "Reason and plan recorded",
    "wo.fu.title": "Overdue customer follow-ups", "wo.fu.hint": "Follow-ups due by grade (A–E every 1/7/15/30/365 days) and not yet made; each is due by midnight in the centre's time zone.",
    "wo.fu.assignee": "Assigned to", "wo.fu.unassigned": "Not assigned",
    "wo.rep.title": "Work-order reports (CSV)", "wo.rep.since": "From", "wo.rep.until": "To", "wo.rep.intake": "Intake", "wo.rep.intakeHint": "by kind, channel and department",
    "wo.rep.performance": "Performance", "wo.rep.performanceHint": "on-time rate, return-visit rate, on-time return visits, satisfaction, reopen rate",
    "wo.rep.weekly": "Director's weekly summary", "wo.rep.weeklyHint": "intake, chases, feedback and return visits per week",
  },
});

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const me = await signedIn();
const isLead = me.role === "team_lead" || me.role === "admin";
const isDept = me.role === "department";
const isDirector = me.role === "director";
const isOverseer = isLead || isDirector; // chase, rectification notices, reports
const canAck = isDept || me.role === "admin"; // a notice is acknowledged by its department
let tab = new URLSearchParams(location.search).get("tab") || (isDept ? "board" : "mine");
let departments = [];
let detailId = null;

function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return d.toLocaleString(lang() === "en" ? "en-GB" : "zh-CN", { timeZone: me.timezone, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}
const deptName = (id) => {
  const d = departments.find((x) => x.id === id);
  return d ? (lang() === "en" ? d.name_en : d.name_zh) : t("wo.noDept");
};

function orderRow(o, actions) {
  const tr = document.createElement("tr");
  tr.className = "click" + (o.is_open && o.late ? " late" : "");
  tr.dataset.id = o.id;
  tr.innerHTML = `<td class="mono">${o.id}</td><td>${esc(t("wo.kind." + o.kind))}${o.kind === "complaint" ? " · " + esc(t("wo.sev." + o.severity)) : ""}</td>
    <td translate="no">${esc(o.subject)}</td><td>${esc(t("wo.st." + o.state))}</td><td class="due mono">${esc(when(o.resolve_by))}</td>
    <td>${esc(t("wo.lv." + o.escalation_level))}</td>`;
  if (actions) {
    const dept = document.createElement("td");
    dept.textContent = deptName(o.department_id);
    tr.appendChild(dept);
    const td = document.createElement("td");
    if (isOverseer) {
      const box = document.createElement("div");
      box.className = "row";
      const chase = Object.assign(document.createElement("button"), { type: "button", className: "chase", textContent: t("wo.chase") });
      chase.onclick = async (ev) => {
        ev.stopPropagation();
        try { await api(`/api/workorders/${o.id}/chase`, { method: "POST", body: { text: "" } }); toast(t("wo.chased")); load(); } catch (e) { toast(e.message, { error: true }); }
      };
      const sel = document.createElement("select");
      sel.className = "reassign";
      sel.title = t("wo.reassign");
      sel.innerHTML = `<option value="">${esc(t("wo.reassign"))}…</option>` + departments.map((d) => `<option value="${d.id}">${esc(lang() === "en" ? d.name_en : d.name_zh)}</option>`).join("");
      sel.onclick = (ev) => ev.stopPropagation();
      sel.onchange = async () => {
        if (!sel.value) return;
        try {
          await api(`/api/workorders/${o.id}/assign`, { method: "POST", body: { version: o.version, department_id: Number(sel.value), assignee_id: o.assignee_id } });
          toast(t("wo.saved")); load();
        } catch (e) { toast(e.message, { error: true }); }
      };
      box.append(chase, sel);
      td.appendChild(box);
    }
    tr.appendChild(td);
  }
  tr.onclick = () => openDetail(o.id);
  return tr;
}

function fill(tbody, rows, cols) {
  tbody.replaceChildren(...rows);
  if (!rows.length) tbody.innerHTML = `<tr><td colspan="${cols}" class="muted">${esc(t("wo.none"))}</td></tr>`;
}

async function loadMine() {
  const data = await api("/api/workorders/mine");
  fill($("my-orders"), data.orders.map((o) => orderRow(o, false)), 6);
  fill($("my-tasks"), data.tasks.map(taskRow), 5);
}

function taskRow(task) {
  const tr = document.createElement("tr");
  if (new Date(task.due_at) < new Date()) tr.className = "late";
  const target = task.order_id ? t("wo.order", { id: task.order_id }) : t("wo.customer", { id: task.customer_id });
  tr.innerHTML = `<td>${esc(t("wo.task." + task.kind))}</td><td translate="no">${esc(target)} <span class="mono">${esc(task.number)}</span></td>
    <td class="due mono">${esc(when(task.due_at))}</td><td class="mono">${task.attempts}</td><td></td>`;
  const box = document.createElement("div");
  box.className = "row";
  const results = task.kind === "follow_up" ? ["done"] : ["satisfied", "not_satisfied", "unreachable"];
  for (const r of results) {
    const b = Object.assign(document.createElement("button"), { type: "button", textContent: t("wo.r." + r) });
    b.dataset.result = r;
    b.onclick = async () => {
      try { await api(`/api/workorders/tasks/${task.id}/result`, { method: "POST", body: { result: r } }); toast(t("wo.saved")); load(); } catch (e) { toast(e.message, { error: true }); }
    };
    box.appendChild(b);
  }
  tr.lastElementChild.appendChild(box);
  return tr;
}

async function loadBoard() {
  const b = await api("/api/workorders/board");
  $("t-open").textContent = b.totals.open;
  $("t-overdue").textContent = b.totals.overdue;
  $("t-escalated").textContent = b.totals.escalated;
  fill($("by-dept"), b.by_department.map((d) => {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td>${esc(d.name ? (lang() === "en" ? d.name.en : d.name.zh) : t("wo.noDept"))}</td><td class="mono">${d.open}</td><td class="mono">${d.overdue}</td><td class="mono">${d.escalated}</td>`;
    return tr;
  }), 4);
  fill($("by-age"), Object.entries(b.by_age).map(([k, n]) => {
    const tr = document.createElement("tr");
    tr.innerHTML = `<th>${esc(t("wo.age." + k))}</th><td class="mono">${n}</td>`;
    return tr;
  }), 2);
  fill($("overdue"), b.overdue.map((o) => orderRow(o, true)), 8);
  fill($("escalated"), b.escalated.map((o) => orderRow(o, true)), 8);
  const notices = await api("/api/workorders/rectifications?limit=50");
  fill($("notices"), notices.map((n) => {
    const tr = document.createElement("tr");
    tr.dataset.notice = n.id;
    tr.innerHTML = `<td class="mono">#${n.order_id}</td><td>${esc(deptName(n.department_id))}</td><td translate="no">${esc(n.text)}</td>
      <td class="mono">${esc(when(n.deadline_at))}</td><td></td><td></td>`;
    tr.children[4].appendChild(noticeBadge(n));
    if (canAck && !n.acknowledged_at) tr.children[5].appendChild(ackForm(n));
    tr.children[0].onclick = () => openDetail(n.order_id);
    return tr;
  }), 6);
}

function noticeBadge(n) {
  const key = n.missed_at ? "wo.rect.missed" : n.acknowledged_at ? "wo.rect.acked" : "wo.rect.open";
  return Object.assign(document.createElement("span"), { className: "badge" + (n.missed_at ? " missed" : ""), textContent: t(key) });
}

function ackForm(n) {
  const box = document.createElement("div");
  box.className = "row ack";
  const note = Object.assign(document.createElement("input"), { className: "ack-note", maxLength: 5000, placeholder: t("wo.rect.ackNote") });
  const b = Object.assign(document.createElement("button"), { type: "button", className: "primary ack-btn", textContent: t("wo.rect.ack") });
  b.onclick = async (ev) => {
    ev.stopPropagation();
    b.disabled = true;
    try {
      await api(`/api/workorders/rectifications/${n.id}/acknowledge`, { method: "POST", body: { note: note.value.trim() } });
      toast(t("wo.rect.ackDone"));
      load();
    } catch (e) { toast(e.message, { error: true }); b.disabled = false; }
  };
  box.append(note, b);
  return box;
}

let agents = null; // the agents a lead may hand follow-ups to (their teams')
async function loadFollowups() {
  const [tasks, people] = await Promise.all([api("/api/workorders/follow-ups/overdue"), agents || api("/api/users?role=agent").catch(() => [])]);
  agents = people;
  fill($("fu-overdue"), tasks.map((task) => {
    const tr = document.createElement("tr");
    tr.className = "late";
    tr.dataset.task = task.id;
    tr.innerHTML = `<td translate="no">${esc(t("wo.customer", { id: task.customer_id }))}</td><td class="mono">${esc(task.number)}</td>
      <td class="due mono">${esc(when(task.due_at))}</td><td></td>`;
    const sel = document.createElement("select");
    sel.className = "fu-assign";
    sel.innerHTML = `<option value="">${esc(t("wo.fu.unassigned"))}</option>`
      + agents.map((u) => `<option value="${u.id}" translate="no">${esc(u.display_name)}</option>`).join("");
    sel.value = task.assigned_to ? String(task.assigned_to) : "";
    sel.onchange = async () => {
      if (!sel.value) return;
      try { await api(`/api/workorders/tasks/${task.id}/assign`, { method: "POST", body: { assigned_to: Number(sel.value) } }); toast(t("wo.saved")); load(); }
      catch (e) { toast(e.message, { error: true }); }
    };
    tr.lastElementChild.appendChild(sel);
    return tr;
  }), 4);
}

function isoDay(d) { return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10); }

function reportLinks() {
  const since = $("rep-since").value, until = $("rep-until").value;
  for (const a of document.querySelectorAll("a[data-report]")) {
    const q = new URLSearchParams();
    if (since) q.set("since", new Date(since + "T00:00").toISOString());
    if (until) q.set("until", new Date(new Date(until + "T00:00").getTime() + 86400000).toISOString()); // to the end of that day
    a.href = `/api/workorders/reports/${a.dataset.report}.csv?${q}`;
  }
}

async function openDetail(id) {
  detailId = id;
  let o, tl;
  try { [o, tl] = await Promise.all([api(`/api/workorders/${id}`), api(`/api/workorders/${id}/timeline`)]); } catch (e) { toast(e.message, { error: true }); return; }
  $("workorders").classList.add("with-detail");
  $("detail").classList.remove("hidden");
  $("d-title").textContent = `#${o.id} ${o.subject}`;
  const kv = [["wo.kind", t("wo.kind." + o.kind)], ["wo.f.severity", t("wo.sev." + o.severity)], ["wo.state", t("wo.st." + o.state)],
    ["wo.f.customer", o.customer_name], ["wo.f.unit", o.unit], ["wo.f.number", o.number], ["wo.dept", deptName(o.department_id)],
    ["wo.f.created", when(o.created_at)], ["wo.f.resolve", when(o.resolve_by)], ["wo.level", t("wo.lv." + o.escalation_level)],
    ["wo.f.calls", o.calls.join(", ")]];
  $("d-kv").innerHTML = kv.map(([k, v]) => `<dt>${esc(t(k))}</dt><dd translate="no">${esc(v || "–")}</dd>`).join("");
  const moves = $("d-moves");
  moves.replaceChildren(...o.moves.map((s) => {
    const b = Object.assign(document.createElement("button"), { type: "button", textContent: "→ " + t("wo.st." + s) });
    b.dataset.state = s;
    b.onclick = async () => {
      try { await api(`/api/workorders/${id}/state`, { method: "POST", body: { state: s, version: o.version } }); toast(t("wo.moved")); load(); } catch (e) { toast(e.message, { error: true }); }
    };
    return b;
  }));
  $("d-timeline").innerHTML = tl.map((e) => {
    const extra = e.action === "state" ? `${t("wo.st." + e.detail.from)} → ${t("wo.st." + e.detail.to)}` : e.action === "escalate" ? t("wo.lv." + e.detail.level)
      : e.action === "overdue_plan" ? `${e.detail.reason} · ${e.detail.plan} → ${when(e.detail.new_deadline)}`
      : e.action === "rectify_missed" ? when(e.detail.deadline_at)
      : e.detail.result ? t("wo.r." + e.detail.result) + (e.detail.note ? ` · ${e.detail.note}` : "") : e.detail.text || e.detail.number || "";
    const c = e.detail.call;
    const call = c ? ` <span class="call" translate="no">· ${esc(t("wo.call", { id: c.call_id, s: Math.round(c.talk_s) }))}</span>`
      + (c.recording ? `<a class="rec" href="/api/qa/calls/${encodeURIComponent(c.call_id)}/audio" target="_blank" rel="noopener">${esc(t("wo.recording"))}</a>` : "") : "";
    return `<li data-action="${esc(e.action)}"><span class="at">${esc(when(e.at))}</span>${esc(t("wo.a." + e.action))} <span translate="no">${esc(extra)}</span>${call}</li>`;
  }).join("");
  // Past its deadline: why, what next, by when.  A rectification notice to the department; its acknowledgement.
  if (detailOrder && detailOrder.id !== o.id) { $("f-overdue").reset(); $("f-rectify").reset(); }
  detailOrder = o; // before the notices load: the forms shown above act on this order at once
  $("f-overdue").classList.toggle("hidden", !(o.is_open && o.late));
  $("f-rectify").classList.toggle("hidden", !(isOverseer && o.is_open && o.department_id));
  let notices = [];
  try { notices = await api(`/api/workorders/${id}/rectifications`); } catch { notices = []; }
  $("d-notices-box").classList.toggle("hidden", !notices.length);
  $("d-notices").replaceChildren(...notices.map((n) => {
    const li = document.createElement("li");
    li.dataset.notice = n.id;
    const head = document.createElement("div");
    head.className = "row";
    head.append(noticeBadge(n), Object.assign(document.createElement("span"), { className: "mono small", textContent: when(n.deadline_at) }));
    const text = Object.assign(document.createElement("div"), { translate: false, textContent: n.text + (n.ack_note ? ` — ${n.ack_note}` : "") });
    li.append(head, text);
    if (canAck && !n.acknowledged_at) li.append(ackForm(n));
    return li;
  }));
}

let detailOrder = null;
const fromLocal = (v) => new Date(v).toISOString();
$("f-overdue").onsubmit = async (e) => {
  e.preventDefault();
  if (!detailOrder) return;
  try {
    await api(`/api/workorders/${detailOrder.id}/overdue-plan`, { method: "POST", body: {
      version: detailOrder.version, reason: $("od-reason").value.trim(), plan: $("od-plan").value.trim(), new_deadline: fromLocal($("od-deadline").value) } });
    toast(t("wo.od.saved"));
    $("f-overdue").reset();
    load();
  } catch (err) { toast(err.message, { error: true }); }
};
$("f-rectify").onsubmit = async (e) => {
  e.preventDefault();
  if (!detailOrder) return;
  try {
    await api(`/api/workorders/${detailOrder.id}/rectify`, { method: "POST", body: { text: $("rc-text").value.trim(), deadline_at: fromLocal($("rc-deadline").value) } });
    toast(t("wo.rect.sent"));
    $("f-rectify").reset();
    load();
  } catch (err) { toast(err.message, { error: true }); }
};

async function load() {
  try {
    if (tab === "board") await loadBoard();
    else if (tab === "followups") await loadFollowups();
    else if (tab === "reports") reportLinks();
    else await loadMine();
    if (detailId) await openDetail(detailId);
  } catch (e) { toast(e.message, { error: true }); }
}

function show(name) {
  tab = name;
  for (const b of document.querySelectorAll("#tabs button[data-tab]")) b.classList.toggle("active", b.dataset.tab === name);
  for (const id of ["mine", "board", "followups", "reports"]) $(id).classList.toggle("hidden", name !== id);
  return load();
}

if (isOverseer || isDept) $("tab-board").classList.remove("hidden");
if (isLead) $("tab-followups").classList.remove("hidden");
if (isOverseer) $("tab-reports").classList.remove("hidden");
$("rep-until").value = isoDay(new Date());
$("rep-since").value = isoDay(new Date(Date.now() - 30 * 86400000));
$("rep-since").onchange = $("rep-until").onchange = reportLinks;
if (isDept) $("tab-board").dataset.i18n = "wo.tab.dept";
for (const b of document.querySelectorAll("#tabs button[data-tab]")) b.onclick = () => show(b.dataset.tab);
$("d-close").onclick = () => { detailId = null; $("detail").classList.add("hidden"); $("workorders").classList.remove("with-detail"); };
window.addEventListener("cc:lang", () => { applyI18n(); load(); });
try { departments = await api("/api/workorders/departments"); } catch { departments = []; }
applyI18n();
await show(tab);
document.body.dataset.ready = "1";

// Live: any work-order notice for me reloads the view.
const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
ws.onmessage = (m) => {
  let msg;
  try { msg = JSON.parse(m.data); } catch { return; }
  if (msg.type === "workorder") {
    if (msg.event.what === "escalated") toast(`${t("wo.a.escalate")}: #${msg.event.order_id} → ${t("wo.lv." + msg.event.level)}`);
    else if (msg.event.what === "rectify_missed") toast(`${t("wo.a.rectify_missed")}: #${msg.event.order_id}`, { error: true });
    load();
  }
};
