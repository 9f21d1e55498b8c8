// Outbound (外呼): the agent's outbound mode (card, script, dial, result,
// next), campaign setup and list import for leads and admins, and the
// campaign wallboard.  Every figure comes from /api/outbound (role- and
// scope-checked); the page only arranges it.
import { api, ApiError, signedIn, toast } from "/static/common/api.js";
import { applyI18n, mmss, pct, t, tr } from "/static/common/i18n.js";
import { addOutboundStrings } from "/static/outbound/strings.js";

const RESULTS = ["normal_conversation", "success", "refused", "callback_later", "no_answer", "busy", "wrong_number", "invalid_number", "contacted", "do_not_call"];
const TYPES = ["service", "sales", "collection", "retention", "return_visit", "survey"];
const MODES = ["preview", "progressive", "predictive"];

addOutboundStrings();

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
  $("close-btn").disabled = c.status === "closed";
  if (lead) showSegment(c);
}

async function showSegment(c) {
  $("seg-body").value = Object.keys(c.segment || {}).length ? JSON.stringify(c.segment) : "";
  $("export-link").href = `/api/outbound/campaigns/${c.id}/contacts.csv`;
  try {
    const n = await api(`/api/outbound/campaigns/${c.id}/segment`);
    $("seg-count").replaceChildren(tr("span", "ob.segmentCount", { total: n.total, selected: n.selected, pending: n.pending }));
  } catch { $("seg-count").replaceChildren(); }
}

async function saveSegment() {
  let segment = {};
  const text = $("seg-body").value.trim();
  if (text) {
    try { segment = JSON.parse(text); } catch { toast(t("ob.segmentBad"), { error: true }); return; }
  }
  try { await api(`/api/outbound/campaigns/${campaignId()}`, { method: "PATCH", body: { segment } }); } catch (e) { toast(e.message, { error: true }); return; }
  await loadCampaigns();
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
$("close-btn").onclick = () => setStatus("closed");
$("seg-btn").onclick = saveSegment;
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
