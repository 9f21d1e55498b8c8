// Create a work order during the call (and through its wrap-up): the form
// is prefilled from the screen-pop (customer, unit, number) and the order
// is linked to the call, so the disposition "ticket" links a real order.
import { api } from "/static/common/api.js";
import { addStrings, lang, t } from "/static/common/i18n.js";

addStrings({
  "zh-CN": {
    "wo.new": "新建工单", "wo.create": "提交工单", "wo.cancel": "取消", "wo.kind": "类型", "wo.severity": "投诉级别", "wo.category": "报修类别",
    "wo.customer": "客户", "wo.unit": "房号", "wo.number": "电话", "wo.subject": "内容摘要", "wo.description": "详细描述",
    "wo.kind.repair": "报修", "wo.kind.complaint": "投诉", "wo.kind.enquiry": "咨询", "wo.kind.suggestion": "建议", "wo.kind.praise": "表扬",
    "wo.kind.fee": "催费", "wo.kind.request": "业务受理", "wo.sev.serious": "重大", "wo.sev.important": "重要", "wo.sev.minor": "轻微",
    "wo.cat.other": "其他维修", "wo.cat.leak": "渗漏水", "wo.cat.safety_facility": "安全设施", "wo.made": "已建工单 #{id}，期限 {due}",
    "wo.needSubject": "请填写内容摘要",
  },
  en: {
    "wo.new": "New work order", "wo.create": "Create order", "wo.cancel": "Cancel", "wo.kind": "Kind", "wo.severity": "Severity", "wo.category": "Repair category",
    "wo.customer": "Customer", "wo.unit": "Unit", "wo.number": "Phone", "wo.subject": "Summary", "wo.description": "Details",
    "wo.kind.repair": "Repair", "wo.kind.complaint": "Complaint", "wo.kind.enquiry": "Enquiry", "wo.kind.suggestion": "Suggestion", "wo.kind.praise": "Praise",
    "wo.kind.fee": "Fees", "wo.kind.request": "Request", "wo.sev.serious": "Serious", "wo.sev.important": "Important", "wo.sev.minor": "Minor",
    "wo.cat.other": "Other repair", "wo.cat.leak": "Leak", "wo.cat.safety_facility": "Safety facility", "wo.made": "Order #{id} created, due {due}",
    "wo.needSubject": "Enter a summary",
  },
});

const $ = (id) => document.getElementById(id);
let forCall = null;
let made = null; // {call_id, id, due}
let onResult = () => {};
let ticketSetFor = null; // the call whose wrap-up got "ticket" chosen for it (once: the agent may change it)

function kindChanged() {
  $("wo-sev-l").classList.toggle("hidden", $("wo-kind").value !== "complaint");
  $("wo-cat-l").classList.toggle("hidden", $("wo-kind").value !== "repair");
}

/** Called on every render of the pop: a new call resets and prefills the form. */
export function renderOrderBox(pop, { timezone } = {}) {
  if (!pop) return;
  if (pop.call_id !== forCall) {
    forCall = pop.call_id;
    $("wo-form").classList.add("hidden");
    $("wo-new").classList.remove("hidden");
    for (const id of ["wo-subject", "wo-description"]) $(id).value = "";
    $("wo-kind").value = "repair";
    kindChanged();
  }
  const c = (pop.lookup && pop.lookup.customer) || {};
  const call = pop.call || {};
  // Prefill what the pop knows, unless the agent already typed something.
  for (const [id, v] of [["wo-name", c.name || call.caller_name], ["wo-unit", c.unit], ["wo-number", call.caller_number]]) {
    if (!$(id).value || $(id).dataset.auto === "1") { $(id).value = v || ""; $(id).dataset.auto = "1"; }
  }
  if (made && made.call_id === pop.call_id && pop.phase === "wrap_up" && ticketSetFor !== pop.call_id) {
    // after this render has set up the wrap-up form (it starts blank)
    setTimeout(() => {
      const disp = document.getElementById("disposition");
      if (!disp || disp.value || ticketSetFor === pop.call_id || ![...disp.options].some((o) => o.value === "ticket")) return;
      disp.value = "ticket";
      disp.dispatchEvent(new Event("change"));
      ticketSetFor = pop.call_id;
    }, 0);
  }
  $("wo-made").textContent = made && made.call_id === pop.call_id
    ? t("wo.made", { id: made.id, due: new Date(made.due).toLocaleString(lang() === "en" ? "en-GB" : "zh-CN", { timeZone: timezone, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }) })
    : "";
}

export function setupOrderBox(getPop, result) {
  onResult = result;
  $("wo-kind").onchange = kindChanged;
  for (const id of ["wo-name", "wo-unit", "wo-number"]) $(id).oninput = () => { $(id).dataset.auto = "0"; };
  $("wo-new").onclick = () => {
    $("wo-form").classList.remove("hidden");
    $("wo-new").classList.add("hidden");
    $("wo-subject").focus();
  };
  $("wo-cancel").onclick = () => {
    $("wo-form").classList.add("hidden");
    $("wo-new").classList.remove("hidden");
  };
  $("wo-form").onsubmit = async (e) => {
    e.preventDefault();
    const pop = getPop();
    if (!pop) return;
    if (!$("wo-subject").value.trim()) { onResult(() => t("wo.needSubject"), false); $("wo-subject").focus(); return; }
    const kind = $("wo-kind").value;
    const c = (pop.lookup && pop.lookup.customer) || {};
    const body = {
      kind, subject: $("wo-subject").value.trim(), description: $("wo-description").value.trim(), channel: "phone_in",
      customer_name: $("wo-name").value.trim(), unit: $("wo-unit").value.trim(), number: $("wo-number").value.trim(), uniqueid: pop.call_id,
    };
    if (c.id) body.customer_id = c.id;
    if (kind === "complaint") body.severity = $("wo-severity").value;
    if (kind === "repair") body.category = $("wo-category").value;
    $("wo-create").disabled = true;
    try {
      const order = await api("/api/workorders", { method: "POST", body });
      made = { call_id: pop.call_id, id: order.id, due: order.resolve_by };
      $("wo-form").classList.add("hidden");
      $("wo-new").classList.remove("hidden");
      onResult(() => t("wo.made", { id: order.id, due: new Date(order.resolve_by).toLocaleString(lang() === "en" ? "en-GB" : "zh-CN") }), true);
      renderOrderBox(pop);
    } catch (err) {
      onResult(() => `${t("wo.create")}: ${err.message}`, false);
    } finally {
      $("wo-create").disabled = false;
    }
  };
}
