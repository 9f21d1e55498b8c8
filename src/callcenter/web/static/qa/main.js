// The QA page: find calls, replay and score them, follow the evaluation
// workflow, and see the summaries.  Hash routes keep the back button and
// links working: #/calls, #/call/<call id>[/<evaluation id>],
// #/evaluations, #/summary.
import "./strings.js";
import { api, signedIn, toast } from "/static/common/api.js";
import { applyI18n, lang, mmss, t } from "/static/common/i18n.js";
import { EVENT_COLOURS, Player } from "./player.js";
import { Scorecard } from "./scorecard.js";
import { drawTrend } from "./summary.js";

const REVIEWERS = ["qa", "team_lead", "admin"];
const PAGE = 25;
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const $ = (id) => document.getElementById(id);
// Times in the centre's zone (settings.timezone), whatever the browser's.
const when = (iso) => new Date(iso).toLocaleString(lang(), { timeZone: ctx.timezone, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
// "mm:ss" or plain seconds -> seconds; "" -> null
const secs = (v) => {
  v = v.trim();
  if (!v) return null;
  const parts = v.split(":").map(Number);
  if (parts.some((n) => !Number.isFinite(n))) return null;
  return parts.reduce((acc, n) => acc * 60 + n, 0);
};

const me = await signedIn();
const ctx = await api("/api/qa/context");
const reviewer = REVIEWERS.includes(me.role);
document.body.classList.toggle("is-reviewer", reviewer);
const queues = await api("/api/queues");
const queueName = (q) => { const x = queues.find((y) => y.name === q); return x ? (lang() === "en" ? x.display_name_en || x.display_name : x.display_name) : q; };
const player = new Player($("player"));
const scorecard = new Scorecard($("scorecard"), me, async (evalId) => { await openCall(current.call_id, evalId, true); }, ctx.timezone);
let current = null;
const dispositions = new Map();
const dispName = (code) => { const d = dispositions.get(code); return d ? (lang() === "en" ? d.en : d.zh) : code || ""; };
let offset = 0;

// --- filters and results ---------------------------------------------------
function fillSelects() {
  const q = $("f-queue");
  for (const x of queues) q.insertAdjacentHTML("beforeend", `<option value="${esc(x.name)}">${esc(queueName(x.name))}</option>`);
  for (const x of queues) for (const d of x.dispositions) dispositions.set(d.code, d);
  for (const d of dispositions.values()) $("f-disp").insertAdjacentHTML("beforeend", `<option value="${esc(d.code)}">${esc(lang() === "en" ? d.en : d.zh)}</option>`);
  for (const o of ["answered", "abandoned", "timeout", "left_empty", "exit_key", "callback_requested"]) {
    $("f-outcome").insertAdjacentHTML("beforeend", `<option value="${o}" data-i18n="qa.outcome.${o}"></option>`);
  }
  for (const s of ["draft", "submitted", "acknowledged", "disputed", "resolved"]) {
    if (me.role === "agent" && s === "draft") continue;
    $("e-status").insertAdjacentHTML("beforeend", `<option value="${s}" data-i18n="qa.status.${s}"></option>`);
  }
  applyI18n();
}

function params() {
  const p = new URLSearchParams();
  const f = $("filters");
  for (const name of ["date_from", "date_to", "queue", "agent", "outcome", "caller", "disposition", "min_score", "max_score", "min_survey", "max_survey", "evaluated"]) {
    const v = f.elements[name].value.trim();
    if (v) p.set(name, v);
  }
  const dmin = secs(f.elements.min_duration.value), dmax = secs(f.elements.max_duration.value);
  if (dmin != null) p.set("min_duration_s", dmin);
  if (dmax != null) p.set("max_duration_s", dmax);
  if (f.elements.assigned_to_me.checked) p.set("assigned_to_me", "true");
  p.set("limit", PAGE);
  p.set("offset", offset);
  return p;
}

function scoreBadge(ev) {
  if (!ev) return "";
  if (ev.total == null) return `<span class="muted">–</span>`;
  const cls = ev.vetoed ? "bg-bad bad" : ev.total >= 90 ? "bg-good good" : ev.total >= 75 ? "bg-ok ok" : "bg-bad bad";
  return `<span class="badge ${cls}">${ev.total}</span>`;
}

async function search() {
  let data;
  try { data = await api("/api/qa/calls?" + params()); } catch (e) { toast(e.message, { error: true }); return; }
  const body = $("calls-body");
  body.innerHTML = data.calls.length ? "" : `<tr><td colspan="10" class="muted empty">${t("qa.none")}</td></tr>`;
  for (const c of data.calls) {
    const tr = document.createElement("tr");
    tr.className = "click";
    tr.dataset.call = c.call_id;
    const status = c.evaluation ? `<span class="badge st-${c.evaluation.status}">${t("qa.status." + c.evaluation.status)}</span>`
      : c.assignment ? `<span class="badge st-assigned">${t("qa.assigned")}</span>` : "";
    tr.innerHTML = `<td class="mono">${when(c.entered_at)}</td><td>${esc(queueName(c.queue))}</td>
      <td>${esc(c.agent_name || c.agent || "–")}</td><td class="mono">${esc(c.caller_number)}${c.caller_name ? ` <span class="muted">${esc(c.caller_name)}</span>` : ""}</td>
      <td class="mono">${mmss(c.talk_s)}</td><td>${t("qa.outcome." + c.outcome)}</td><td>${esc(dispName(c.disposition))}</td>
      <td>${scoreBadge(c.evaluation)}</td><td class="mono">${c.survey ? `${c.survey.score}/${c.survey.scale}` : ""}</td><td>${status}${c.has_recording ? ' <span title="rec" class="rec">●</span>' : ""}</td>`;
    tr.onclick = () => { location.hash = `#/call/${encodeURIComponent(c.call_id)}`; };
    body.appendChild(tr);
  }
  const pages = Math.max(1, Math.ceil(data.total / PAGE));
  $("result-count").textContent = t("qa.count", { n: data.total });
  $("page-info").textContent = t("qa.page", { p: Math.floor(offset / PAGE) + 1, n: pages });
  $("prev-page").disabled = offset === 0;
  $("next-page").disabled = offset + PAGE >= data.total;
}

$("filters").onsubmit = (e) => { e.preventDefault(); offset = 0; search(); };
$("reset-btn").onclick = () => { $("filters").reset(); offset = 0; search(); };
$("prev-page").onclick = () => { offset = Math.max(0, offset - PAGE); search(); };
$("next-page").onclick = () => { offset += PAGE; search(); };
$("sample-btn").onclick = async () => {
  try {
    // the server picks this month in the centre's zone
    const r = await api("/api/qa/sampling", { method: "POST", body: {} });
    toast(t("qa.sampled", { n: r.created }));
    search();
  } catch (e) { toast(e.message, { error: true }); }
};

// --- one call ------------------------------------------------------------------
function renderEvents(call) {
  const ol = $("events");
  ol.innerHTML = "";
  for (const e of call.timeline) {
    const li = document.createElement("li");
    const before = e.at_s < 0;
    li.innerHTML = `<span class="dot" style="background:${EVENT_COLOURS[e.kind] || "#888"}"></span>
      <span class="mono">${before ? "−" + mmss(-e.at_s) : mmss(e.at_s)}</span> ${t("qa.ev." + e.kind)}
      ${e.target ? `<span class="muted">→ ${esc(e.target)}</span>` : ""}${before ? ` <span class="muted small">(${t("qa.before")})</span>` : ""}`;
    if (!before) { li.className = "click"; li.onclick = () => player.seek(e.at_s); }
    ol.appendChild(li);
  }
}

function renderNotes(notes) {
  const ul = $("notes");
  ul.innerHTML = notes.length ? "" : `<li class="muted">${t("qa.note.none")}</li>`;
  for (const n of notes) {
    const li = document.createElement("li");
    li.className = "click";
    li.innerHTML = `<a class="mono badge jump">${mmss(n.at_s)}</a> <span class="text">${esc(n.text)}</span> <span class="muted small">${esc(n.author)}</span>`;
    li.onclick = () => { player.seek(n.at_s); };
    ul.appendChild(li);
  }
  player.setNotes(notes);
}

async function openCall(callId, evalId, keepAudio = false) {
  let call;
  try { call = await api(`/api/qa/calls/${encodeURIComponent(callId)}`); } catch (e) { toast(e.message, { error: true }); location.hash = "#/calls"; return; }
  const same = current && current.call_id === call.call_id;
  current = call;
  $("call-title").textContent = `${queueName(call.queue)} · ${when(call.entered_at)}`;
  $("call-meta").textContent = t("qa.meta", {
    queue: call.call_id, agent: call.agent_name || call.agent || "–", caller: call.caller_number || "–", wait: mmss(call.wait_s), talk: mmss(call.talk_s),
  });
  renderEvents(call);
  renderNotes(call.annotations);
  if (!(keepAudio && same)) {
    let peaks = null;
    const base = `/api/qa/calls/${encodeURIComponent(call.call_id)}`;
    $("no-audio").hidden = true;
    $("player").classList.toggle("no-audio", !call.can_play);
    if (call.can_play) {
      try { peaks = await api(`${base}/peaks`); } catch (e) { $("no-audio").hidden = false; $("no-audio").textContent = e.status === 415 ? t("qa.no.wave") : e.message; }
      player.load(`${base}/audio`, peaks, call.timeline, call.annotations);
      $("download").href = `${base}/audio?download=true`;
      $("download").classList.remove("hidden");
    } else {
      player.load(null, null, call.timeline, call.annotations);
      $("no-audio").hidden = false;
      $("no-audio").textContent = t("qa.no.audio");
      $("download").classList.add("hidden");
    }
    const legend = [...new Set(call.timeline.map((e) => e.kind))];
    $("legend").innerHTML = legend.map((k) => `<span><span class="dot" style="background:${EVENT_COLOURS[k]}"></span>${t("qa.ev." + k)}</span>`).join("");
  }
  await scorecard.show(call, evalId);
}

player.onTime = (s) => { $("note-at").textContent = mmss(s); };
$("note-form").onsubmit = async (e) => {
  e.preventDefault();
  const text = $("note-text").value.trim();
  if (!text || !current) return;
  try {
    await api(`/api/qa/calls/${encodeURIComponent(current.call_id)}/annotations`, { method: "POST", body: { at_s: Math.round(player.time() * 10) / 10, text } });
    $("note-text").value = "";
    $("note-text").blur();
    const call = await api(`/api/qa/calls/${encodeURIComponent(current.call_id)}`);
    current.annotations = call.annotations;
    renderNotes(call.annotations);
  } catch (err) { toast(err.message, { error: true }); }
};

// --- evaluations list -------------------------------------------------------------
async function listEvaluations() {
  const p = new URLSearchParams();
  if ($("e-status").value) p.set("status", $("e-status").value);
  if ($("e-mine").checked) p.set("mine", "true");
  const rows = await api("/api/qa/evaluations?" + p);
  const body = $("evals-body");
  body.innerHTML = rows.length ? "" : `<tr><td colspan="8" class="muted empty">${t("qa.none")}</td></tr>`;
  for (const e of rows) {
    const tr = document.createElement("tr");
    tr.className = "click";
    tr.innerHTML = `<td class="mono">${when(e.call.entered_at)}</td><td>${esc(e.call.agent_name || e.agent)}</td><td>${esc(queueName(e.queue))}</td>
      <td class="mono">${mmss(e.call.talk_s)}</td><td>${scoreBadge(e)}</td>
      <td><span class="badge st-${e.status}">${t("qa.status." + e.status)}</span></td><td>${esc(e.evaluator_name)}</td><td>v${e.revision}</td>`;
    tr.onclick = () => { location.hash = `#/call/${encodeURIComponent(e.call.call_id)}/${e.id}`; };
    body.appendChild(tr);
  }
}
$("e-status").onchange = listEvaluations;
$("e-mine").onchange = listEvaluations;

// --- summaries -----------------------------------------------------------------------
async function summary() {
  const group = $("s-group").value;
  const p = new URLSearchParams({ group });
  if ($("s-from").value) p.set("month_from", $("s-from").value);
  if ($("s-to").value) p.set("month_to", $("s-to").value);
  $("s-csv").href = "/api/qa/summary.csv?" + p;
  const trendP = new URLSearchParams(p);
  trendP.set("group", "month");
  const [rows, trend] = await Promise.all([api("/api/qa/summary?" + p), api("/api/qa/summary?" + trendP)]);
  drawTrend($("trend"), trend);
  const table = $("s-table");
  if (!rows.length) { table.innerHTML = `<tr><td class="muted empty">${t("qa.s.empty")}</td></tr>`; return; }
  if (group === "item") {
    table.innerHTML = `<thead><tr><th>${t("qa.s.name")}</th><th>${t("qa.s.count")}</th><th>${t("qa.s.avg")}</th><th>${t("qa.s.violations")}</th></tr></thead><tbody>` +
      rows.map((r) => `<tr><td>${esc(lang() === "en" ? r.en : r.zh)}${r.veto ? ` <span class="badge bad">${t("qa.sc.veto")}</span>` : ""}</td><td>${r.count}</td>
        <td>${r.average == null ? "–" : `<div class="meter"><span style="width:${r.average}%"></span><b>${r.average}</b></div>`}</td><td>${r.veto ? r.violations : ""}</td></tr>`).join("") + "</tbody>";
    return;
  }
  const name = (r) => (group === "queue" ? queueName(r.key) : r.name || r.key);
  table.innerHTML = `<thead><tr><th>${t("qa.s.name")}</th><th>${t("qa.s.count")}</th><th>${t("qa.s.avg")}</th><th>${t("qa.s.min")}</th><th>${t("qa.s.max")}</th><th>${t("qa.s.vetoed")}</th><th>${t("qa.s.disputed")}</th></tr></thead><tbody>` +
    rows.map((r) => `<tr><td>${esc(name(r))}${group === "agent" ? ` <span class="muted small">${esc(r.key)}</span>` : ""}</td><td>${r.count}</td>
      <td><div class="meter"><span style="width:${r.average ?? 0}%"></span><b>${r.average ?? "–"}</b></div></td><td>${r.min ?? "–"}</td><td>${r.max ?? "–"}</td><td>${r.vetoed}</td><td>${r.disputed}</td></tr>`).join("") + "</tbody>";
}
for (const id of ["s-group", "s-from", "s-to"]) $(id).onchange = () => summary().catch((e) => toast(e.message, { error: true }));

// --- routing -------------------------------------------------------------------------
async function route() {
  const [, view, id, evalId] = location.hash.split("/");
  const name = view === "call" && id ? "call" : ["calls", "evaluations", "summary"].includes(view) ? view : me.role === "agent" ? "evaluations" : "calls";
  for (const s of document.querySelectorAll(".view")) s.classList.toggle("hidden", s.id !== `view-${name}`);
  for (const a of document.querySelectorAll(".tabs a")) a.classList.toggle("active", a.dataset.tab === name || (name === "call" && a.dataset.tab === "calls"));
  if (name !== "call") player.audio.pause();
  if (name === "calls") await search();
  else if (name === "evaluations") await listEvaluations();
  else if (name === "summary") await summary();
  else await openCall(decodeURIComponent(id), evalId ? Number(evalId) : undefined);
}

fillSelects();
window.addEventListener("hashchange", () => route().catch((e) => toast(e.message, { error: true })));
document.getElementById("lang-btn").addEventListener("click", () => route());
await route();
document.body.dataset.ready = "1";
