// The customers page: find a customer by number, name or unit (房号),
// edit what agents keep up to date (unit, grade, VIP tier, notes), and
// work their open tickets and callback tasks.
import { api, signedIn, toast } from "/static/common/api.js";
import { addStrings, applyI18n, lang, t, tr } from "/static/common/i18n.js";

addStrings({
  "zh-CN": {
    "cu.title": "客户", "cu.search": "搜索", "cu.search.ph": "电话号码、姓名或房号", "cu.count": "共 {n} 位",
    "cu.name": "姓名", "cu.phones": "电话", "cu.unit": "房号", "cu.grade": "客户等级", "cu.tier": "客户类别",
    "cu.notes": "备注", "cu.save": "保存", "cu.saved": "已保存", "cu.tickets": "未结工单", "cu.callbacks": "回呼任务",
    "cu.none": "无", "cu.claim": "认领", "cu.complete": "完成", "cu.done": "已完成", "cu.claimed": "已认领", "cu.pending": "待处理",
    "cu.kind.repair": "报修", "cu.kind.complaint": "投诉", "cu.kind.enquiry": "咨询", "cu.kind.fee": "催费", "cu.kind.other": "其他",
    "cu.reason.requested": "来电要求回呼", "cu.reason.after_hours": "非工作时间留言", "cu.reason.abandoned": "未接通回访", "cu.reason.follow_up": "定期回访",
    "cu.tier.vip": "大客户", "cu.tier.key": "主要客户", "cu.tier.regular": "普通客户", "cu.tier.general": "一般客户", "cu.tier.potential": "潜在大客户",
    "cu.new": "新建客户", "cu.create": "创建", "cu.cancel": "取消", "cu.address": "地址", "cu.phones.ph": "多个号码用逗号分隔",
    "cu.created": "已创建客户", "cu.needName": "请填写客户姓名",
  },
  en: {
    "cu.title": "Customers", "cu.search": "Search", "cu.search.ph": "Phone number, name or unit", "cu.count": "{n} found",
    "cu.name": "Name", "cu.phones": "Phones", "cu.unit": "Unit", "cu.grade": "Grade", "cu.tier": "Tier",
    "cu.notes": "Notes", "cu.save": "Save", "cu.saved": "Saved", "cu.tickets": "Open tickets", "cu.callbacks": "Callback tasks",
    "cu.none": "None", "cu.claim": "Claim", "cu.complete": "Complete", "cu.done": "Done", "cu.claimed": "Claimed", "cu.pending": "Pending",
    "cu.kind.repair": "Repair", "cu.kind.complaint": "Complaint", "cu.kind.enquiry": "Enquiry", "cu.kind.fee": "Fees", "cu.kind.other": "Other",
    "cu.reason.requested": "Asked for a callback", "cu.reason.after_hours": "After hours", "cu.reason.abandoned": "Hung up waiting", "cu.reason.follow_up": "Follow-up",
    "cu.tier.vip": "VIP", "cu.tier.key": "Key", "cu.tier.regular": "Regular", "cu.tier.general": "General", "cu.tier.potential": "Potential VIP",
    "cu.new": "New customer", "cu.create": "Create", "cu.cancel": "Cancel", "cu.address": "Address", "cu.phones.ph": "several numbers: separate with commas",
    "cu.created": "Customer created", "cu.needName": "Enter the customer's name",
  },
});

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const me = await signedIn();
let current = null;

async function search() {
  const q = $("q").value.trim();
  let page;
  try { page = await api("/api/customers?" + new URLSearchParams({ q, page_size: 50 })); } catch (e) { toast(e.message, { error: true }); return; }
  $("count").replaceChildren(tr("span", "cu.count", { n: page.total }));
  const body = $("results");
  body.innerHTML = page.items.length ? "" : `<tr><td colspan="5" class="muted" data-i18n="cu.none">${t("cu.none")}</td></tr>`;
  for (const c of page.items) {
    const tr = document.createElement("tr");
    tr.className = "click";
    tr.dataset.id = c.id;
    tr.innerHTML = `<td translate="no">${esc(c.name)}</td><td class="mono" translate="no">${esc(c.phones.map((p) => p.number).join(", "))}</td>
      <td translate="no">${esc(c.unit)}</td><td translate="no">${esc(c.grade)}</td><td data-i18n="cu.tier.${esc(c.tier)}">${t("cu.tier." + c.tier)}</td>`;
    tr.onclick = () => open(c.id);
    body.appendChild(tr);
  }
  if (page.items.length === 1) open(page.items[0].id);
}

async function open(id) {
  try { current = await api(`/api/customers/${id}`); } catch (e) { toast(e.message, { error: true }); return; }
  for (const tr of $("results").querySelectorAll("tr")) tr.classList.toggle("selected", tr.dataset.id === String(id));
  $("detail").classList.remove("hidden");
  $("d-name").textContent = current.name;
  $("d-phones").textContent = current.phones.map((p) => p.number).join(" · ");
  const f = $("edit");
  f.elements.unit.value = current.unit;
  f.elements.grade.value = current.grade;
  f.elements.tier.value = current.tier;
  f.elements.notes.value = current.notes;
  await Promise.all([tickets(), callbacks()]);
}

async function tickets() {
  const list = await api(`/api/tickets?status=open&customer_id=${current.id}`);
  $("tickets").innerHTML = list.length ? "" : `<li class="muted" data-i18n="cu.none">${t("cu.none")}</li>`;
  for (const tk of list) {
    $("tickets").insertAdjacentHTML("beforeend", `<li><span class="badge" data-i18n="cu.kind.${esc(tk.kind)}">${esc(t("cu.kind." + tk.kind))}</span><span class="grow" translate="no">${esc(tk.subject)}</span>
      <span class="muted mono" translate="no">${esc(new Date(tk.created_at).toLocaleDateString(lang(), { timeZone: me.timezone }))}</span></li>`);
  }
}

async function callbacks() {
  const numbers = new Set(current.phones.map((p) => p.number));
  const list = (await api("/api/callbacks")).filter((cb) => cb.customer_id === current.id || numbers.has(cb.number));
  const ul = $("callbacks");
  ul.innerHTML = list.length ? "" : `<li class="muted" data-i18n="cu.none">${t("cu.none")}</li>`;
  for (const cb of list) {
    const li = document.createElement("li");
    const state = cb.status === "done" ? t("cu.done") : cb.status === "claimed" ? t("cu.claimed") : t("cu.pending");
    li.innerHTML = `<span class="mono" translate="no">${esc(cb.number)}</span><span class="grow muted"><span data-i18n="cu.reason.${esc(cb.reason)}">${esc(t("cu.reason." + cb.reason))}</span> · <span translate="no">${esc(cb.due_on)}</span></span><span class="badge">${state}</span>`;
    if (cb.status === "open" || (cb.status === "claimed" && cb.assigned_to !== me.id)) {
      li.appendChild(button(t("cu.claim"), () => api(`/api/callbacks/${cb.id}/claim`, { method: "POST" })));
    }
    if (cb.status !== "done" && (cb.assigned_to === me.id || me.role !== "agent")) {
      li.appendChild(button(t("cu.complete"), () => api(`/api/callbacks/${cb.id}/complete`, { method: "POST", body: { result: "reached" } })));
    }
    ul.appendChild(li);
  }
}

function button(label, action) {
  const b = document.createElement("button");
  b.textContent = label;
  b.onclick = async () => {
    try { await action(); await callbacks(); } catch (e) { toast(e.message, { error: true }); }
  };
  return b;
}

$("search").onsubmit = (e) => { e.preventDefault(); search(); };
$("edit").onsubmit = async (e) => {
  e.preventDefault();
  const f = e.target.elements;
  const body = { unit: f.unit.value.trim(), grade: f.grade.value, tier: f.tier.value, notes: f.notes.value };
  try {
    current = await api(`/api/customers/${current.id}`, { method: "PATCH", body });
    toast(t("cu.saved"));
    search();
  } catch (err) { toast(err.message, { error: true }); }
};
// --- create a customer ---------------------------------------------------------
$("new-btn").onclick = () => {
  $("create").classList.remove("hidden");
  $("create").elements.name.value = $("q").value.trim() && !/^[+\d\s-]+$/.test($("q").value) ? $("q").value.trim() : "";
  $("create").elements.phones.value = /^[+\d\s-]+$/.test($("q").value.trim()) ? $("q").value.trim() : "";
  $("c-name").focus();
};
$("cancel-btn").onclick = () => { $("create").classList.add("hidden"); $("create-error").textContent = ""; };
$("create").onsubmit = async (e) => {
  e.preventDefault();
  const f = e.target.elements;
  if (!f.name.value.trim()) { $("create-error").textContent = t("cu.needName"); return; }
  const body = {
    name: f.name.value.trim(), phones: f.phones.value.split(/[,，;\s]+/).map((p) => p.trim()).filter(Boolean),
    unit: f.unit.value.trim(), address: f.address.value.trim(), grade: f.grade.value, tier: f.tier.value, notes: f.notes.value,
  };
  try {
    const created = await api("/api/customers", { method: "POST", body });
    $("create").reset();
    $("create").classList.add("hidden");
    $("create-error").textContent = "";
    toast(t("cu.created"));
    $("q").value = created.phones[0] ? created.phones[0].number : created.name;
    await search();
    await open(created.id);
  } catch (err) {
    $("create-error").textContent = err.message;
  }
};
window.addEventListener("cc:lang", () => { if (current) open(current.id); });

const q = new URLSearchParams(location.search).get("q");
if (q) $("q").value = q;
applyI18n();
await search();
document.body.dataset.ready = "1";
