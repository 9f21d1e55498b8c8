// The scorecard beside the player: fill in a draft, submit it, and the
// workflow after that (acknowledge / dispute / resolve / revise).
import { api, toast } from "/static/common/api.js";
import { lang, t } from "/static/common/i18n.js";

const REVIEWERS = ["qa", "team_lead", "admin"];
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const L = (o, base = "") => (lang() === "en" ? o[base + "en"] : o[base + "zh"]) || o[base + "zh"] || o[base + "en"] || "";

function allItems(def) { return def.sections.flatMap((s) => s.items); }

// Same maths as callcenter.qa.scoring.score, for live feedback while typing.
export function liveScore(def, answers) {
  let earned = 0, possible = 0, vetoed = false, missing = 0;
  for (const it of allItems(def)) {
    const a = answers[it.key] || {};
    if (it.veto) { vetoed ||= !!a.violated; continue; }
    if (a.na) continue;
    if (a.score == null || a.score === "") { missing++; continue; }
    earned += Number(a.score); possible += it.weight;
  }
  if (vetoed) return { total: 0, vetoed, missing };
  if (missing || !possible) return { total: null, vetoed, missing };
  return { total: Math.round((earned / possible) * 10000) / 100, vetoed, missing };
}

export class Scorecard {
  constructor(el, me, onChange, timeZone) {
    this.el = el;
    this.me = me;
    this.timeZone = timeZone; // the centre's (settings.timezone)
    this.onChange = onChange;
    this.reviewer = REVIEWERS.includes(me.role);
  }

  async show(call, evalId) {
    this.call = call;
    const visible = call.evaluations.filter((e) => !e.superseded);
    const current = evalId ? call.evaluations.find((e) => e.id === evalId) : visible[visible.length - 1];
    if (!current) return this.empty();
    this.ev = await api(`/api/qa/evaluations/${current.id}`);
    this.answers = structuredClone(this.ev.answers || {});
    this.render();
  }

  empty() {
    this.ev = null;
    this.el.innerHTML = `<h2>${t("qa.sc.title")}</h2><p class="muted">${t("qa.sc.none")}</p>
      ${this.reviewer && this.call.agent ? `<button class="primary" id="sc-start">${t("qa.sc.start")}</button>` : ""}`;
    const b = this.el.querySelector("#sc-start");
    if (b) b.onclick = async () => {
      try {
        const ev = await api(`/api/qa/calls/${encodeURIComponent(this.call.call_id)}/evaluations`, { method: "POST", body: {} });
        await this.onChange(ev.id);
      } catch (e) { toast(e.message, { error: true }); }
    };
  }

  editable() { return this.reviewer && this.ev.status === "draft" && !this.ev.superseded; }

  render() {
    const ev = this.ev, def = ev.form.definition, edit = this.editable();
    const s = liveScore(def, this.answers);
    const totalCls = s.vetoed ? "bad" : s.total == null ? "muted" : s.total >= 90 ? "good" : s.total >= 75 ? "ok" : "bad";
    let html = `<div class="sc-sticky">
      <div class="row between sc-head">
        <div><h2>${esc(L(ev.form, "name_"))} <span class="muted small">v${ev.form.version}</span></h2>
          <div class="muted small">${t("qa.sc.by", { who: esc(ev.evaluator_name || "–"), rev: ev.revision })}</div></div>
        <div class="total ${totalCls}" id="sc-total" title="${t("qa.sc.total")}">${s.total == null ? "–" : String(s.total)}</div>
      </div>
      <div class="row sc-status"><span class="badge st-${ev.status}" id="sc-status">${t("qa.status." + ev.status)}</span>
        ${ev.superseded ? `<span class="badge">${t("qa.sc.superseded")}</span>` : ""}
        <span class="muted small" id="sc-note">${s.vetoed ? t("qa.sc.vetoed") : s.missing ? t("qa.sc.incomplete", { n: s.missing }) : ""}</span></div></div>`;
    html += this.workflow();
    if (edit) html += `<div class="row"><button id="sc-full">${t("qa.sc.full")}</button></div>`;
    html += `<div class="sections">`;
    for (const sec of def.sections) {
      const veto = sec.items.every((i) => i.veto);
      html += `<fieldset class="section ${veto ? "veto" : ""}"><legend>${esc(L(sec))}</legend>`;
      for (const it of sec.items) {
        const a = this.answers[it.key] || {};
        const hint = L(it, "hint_");
        const lost = it.veto ? a.violated : (a.score != null && a.score !== "" && Number(a.score) < it.weight);
        html += `<div class="item ${lost ? "lost" : ""}" data-key="${esc(it.key)}">
          <div class="label" ${hint ? `title="${esc(hint)}"` : ""}>${esc(L(it))}${hint ? ' <span class="hint">ⓘ</span>' : ""}</div>
          <div class="ctl">`;
        if (it.veto) {
          html += `<label class="inline veto-box"><input type="checkbox" data-f="violated" ${a.violated ? "checked" : ""} ${edit ? "" : "disabled"}> ${t("qa.sc.violated")}</label>`;
        } else if (edit) {
          html += `<input type="number" class="pts" data-f="score" min="0" max="${it.weight}" step="0.5" value="${a.na || a.score == null ? "" : a.score}" ${a.na ? "disabled" : ""} aria-label="${esc(L(it))}"><span class="muted">/ ${it.weight}</span>`;
          if (it.na_allowed) html += `<label class="inline na"><input type="checkbox" data-f="na" ${a.na ? "checked" : ""}> ${t("qa.sc.na")}</label>`;
        } else {
          html += a.na ? `<span class="muted">${t("qa.sc.na")}</span>` : `<b>${a.score ?? "–"}</b><span class="muted">/ ${it.weight}</span>`;
        }
        html += `</div>`;
        if (edit) html += `<input class="why ${lost ? "" : "hidden"}" data-f="comment" maxlength="2000" placeholder="${t("qa.sc.item.comment")}" value="${esc(a.comment || "")}">`;
        else if (a.comment) html += `<div class="why-ro">${esc(a.comment)}</div>`;
        html += `</div>`;
      }
      html += `</fieldset>`;
    }
    html += `</div>`;
    html += `<label for="sc-comment">${t("qa.sc.comment")}</label>`;
    html += edit
      ? `<textarea id="sc-comment" rows="2" maxlength="5000">${esc(ev.comment)}</textarea>
         <div class="row sc-actions"><button id="sc-save">${t("qa.sc.save")}</button><button class="primary" id="sc-submit">${t("qa.sc.submit")}</button></div>`
      : `<div class="comment-ro">${esc(ev.comment) || "–"}</div>`;
    html += this.historyHtml();
    this.el.innerHTML = html;
    this.wire();
  }

  workflow() {
    const ev = this.ev;
    let html = "";
    if (ev.agent_comment) html += `<div class="agent-comment"><b>${t("qa.sc.agentcomment")}:</b> ${esc(ev.agent_comment)}</div>`;
    if (ev.resolution) html += `<div class="agent-comment"><b>${t("qa.sc.resolution")}:</b> ${t("qa.sc." + ev.resolution)} — ${esc(ev.resolution_comment)}</div>`;
    if (this.me.role === "agent" && ev.status === "submitted" && ev.agent_user_id === this.me.id) {
      html += `<div class="agent-box"><textarea id="sc-agent-comment" rows="2" maxlength="2000" placeholder="${t("qa.sc.ack.ph")}"></textarea>
        <div class="row"><button class="primary" id="sc-ack">${t("qa.sc.ack")}</button><button class="danger" id="sc-dispute">${t("qa.sc.dispute")}</button></div></div>`;
    }
    if (this.reviewer && ev.status === "disputed") {
      html += `<div class="agent-box"><h3>${t("qa.sc.resolve")}</h3><textarea id="sc-res-comment" rows="2" maxlength="2000" placeholder="${t("qa.sc.resolution.ph")}"></textarea>
        <div class="row"><button id="sc-upheld">${t("qa.sc.upheld")}</button><button class="primary" id="sc-amended">${t("qa.sc.amended")}</button></div></div>`;
    }
    if (this.reviewer && !ev.superseded && ["submitted", "acknowledged", "resolved"].includes(ev.status)) {
      html += `<div class="row sc-actions"><button id="sc-revise">${t("qa.sc.revise")}</button></div>`;
    }
    return html;
  }

  historyHtml() {
    const ev = this.ev;
    const revs = ev.revisions.map((r) => `<a href="#/call/${encodeURIComponent(this.call.call_id)}/${r.id}" class="badge ${r.id === ev.id ? "current" : ""}">v${r.revision} · ${t("qa.status." + r.status)} · ${r.total ?? "–"}</a>`).join(" ");
    const trail = ev.trail.map((a) => `<li><span class="mono">${new Date(a.at).toLocaleString(lang(), { timeZone: this.timeZone })}</span> ${esc(a.actor)} · ${esc(a.action.replace("evaluation.", ""))}</li>`).join("");
    return `<details class="history"><summary>${t("qa.sc.history")}</summary><div class="row">${revs}</div><ol>${trail}</ol></details>`;
  }

  wire() {
    const $ = (id) => this.el.querySelector(id);
    for (const row of this.el.querySelectorAll(".item")) {
      const key = row.dataset.key;
      const item = allItems(this.ev.form.definition).find((i) => i.key === key);
      for (const input of row.querySelectorAll("[data-f]")) {
        input.addEventListener(input.type === "checkbox" ? "change" : "input", () => {
          const a = (this.answers[key] ||= {});
          const f = input.dataset.f;
          if (f === "score") a.score = input.value === "" ? null : Number(input.value);
          else if (f === "na") {
            a.na = input.checked;
            const pts = row.querySelector('[data-f="score"]');
            if (a.na) { a.score = null; pts.value = ""; }
            pts.disabled = a.na;
          } else if (f === "violated") a.violated = input.checked;
          else if (f === "comment") a.comment = input.value;
          const lost = item.veto ? !!a.violated : a.score != null && a.score < item.weight;
          row.classList.toggle("lost", lost);
          row.querySelector(".why")?.classList.toggle("hidden", !lost);
          this.refreshTotal();
        });
      }
    }
    const on = (id, fn) => { const b = $(id); if (b) b.onclick = () => fn().catch((e) => toast(e.message, { error: true })); };
    on("#sc-full", async () => {
      for (const it of allItems(this.ev.form.definition)) {
        this.answers[it.key] = it.veto ? { violated: false } : { score: it.weight };
      }
      this.keepComment();
      this.render();
    });
    on("#sc-save", async () => { await this.save(); toast(t("qa.sc.saved")); });
    on("#sc-submit", async () => {
      if (!confirm(t("qa.sc.confirm"))) return;
      await this.save();
      await api(`/api/qa/evaluations/${this.ev.id}/submit`, { method: "POST" });
      toast(t("qa.sc.submitted"));
      await this.onChange(this.ev.id);
    });
    on("#sc-ack", async () => {
      await api(`/api/qa/evaluations/${this.ev.id}/acknowledge`, { method: "POST", body: { comment: $("#sc-agent-comment").value } });
      toast(t("qa.sc.acked"));
      await this.onChange(this.ev.id);
    });
    on("#sc-dispute", async () => {
      await api(`/api/qa/evaluations/${this.ev.id}/dispute`, { method: "POST", body: { comment: $("#sc-agent-comment").value } });
      toast(t("qa.sc.disputed"));
      await this.onChange(this.ev.id);
    });
    const resolve = (decision) => async () => {
      const r = await api(`/api/qa/evaluations/${this.ev.id}/resolve`, { method: "POST", body: { decision, comment: $("#sc-res-comment").value } });
      await this.onChange(r.revision ? r.revision.id : this.ev.id);
    };
    on("#sc-upheld", resolve("upheld"));
    on("#sc-amended", resolve("amended"));
    on("#sc-revise", async () => {
      const r = await api(`/api/qa/evaluations/${this.ev.id}/revisions`, { method: "POST" });
      await this.onChange(r.id);
    });
  }

  keepComment() {
    const c = this.el.querySelector("#sc-comment");
    if (c) this.ev.comment = c.value;
  }

  refreshTotal() {
    const s = liveScore(this.ev.form.definition, this.answers);
    const el = this.el.querySelector("#sc-total");
    el.textContent = s.total == null ? "–" : String(s.total);
    el.className = "total " + (s.vetoed ? "bad" : s.total == null ? "muted" : s.total >= 90 ? "good" : s.total >= 75 ? "ok" : "bad");
    this.el.querySelector("#sc-note").textContent = s.vetoed ? t("qa.sc.vetoed") : s.missing ? t("qa.sc.incomplete", { n: s.missing }) : "";
  }

  async save() {
    // A reason only belongs to an item that lost points.
    for (const it of allItems(this.ev.form.definition)) {
      const a = this.answers[it.key];
      if (!a) continue;
      const lost = it.veto ? !!a.violated : a.score != null && a.score < it.weight;
      if (!lost) delete a.comment;
    }
    const body = { answers: this.answers, comment: this.el.querySelector("#sc-comment")?.value ?? this.ev.comment };
    const r = await api(`/api/qa/evaluations/${this.ev.id}`, { method: "PATCH", body });
    Object.assign(this.ev, r);
  }
}
