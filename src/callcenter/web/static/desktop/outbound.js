// The agent's outbound mode inside the desktop (外呼模式): pick a campaign
// of one's queues, take the next card (name, number, the list's fields,
// attempt), read the script (话术, the version recorded on the dial), dial
// it (preview) or see it dialled (progressive/predictive), save a result and
// go on to the next.  The same /api/outbound endpoints as the outbound page.
import { api } from "/static/common/api.js";
import { t, tr } from "/static/common/i18n.js";
import { addOutboundStrings } from "/static/outbound/strings.js";

addOutboundStrings({
  "obd.title": ["外呼模式", "Outbound mode"],
  "obd.pick": ["选择外呼活动", "Choose a campaign"],
  "obd.dialled": ["正在呼叫 {n}", "Calling {n}"],
  "obd.predictive": ["预测式外呼已接通", "Predictive call put through"],
});

const RESULTS = ["normal_conversation", "success", "refused", "callback_later", "no_answer", "busy", "wrong_number", "invalid_number", "contacted", "do_not_call"];
const FIELDS = ["unit", "amount", "period", "due_on", "note"];
const $ = (id) => document.getElementById(id);

export class OutboundMode {
  constructor({ onResult }) {
    this.onResult = onResult; // (text, ok) -> the desktop's result line
    this.campaigns = [];
    this.card = null;
    this.predictive = null; // the Uniqueid of a predictive call put through to me (its card is shown)
    $("obd-campaign").addEventListener("change", () => { this.card = null; this.render(); });
    $("obd-next").addEventListener("click", () => this.next());
    $("obd-dial").addEventListener("click", () => this.dial());
    $("obd-form").addEventListener("submit", (ev) => this.save(ev));
    $("obd-result").addEventListener("change", () => $("obd-when").classList.toggle("hidden", $("obd-result").value !== "callback_later"));
  }

  async load() {
    try {
      this.campaigns = (await api("/api/outbound/campaigns")).filter((c) => c.status === "running");
    } catch {
      this.campaigns = [];
    }
    this.render();
  }

  campaignId() { return Number($("obd-campaign").value) || null; }

  renderStatic() {
    const keep = $("obd-campaign").value;
    const pick = tr("option", "obd.pick"); pick.value = "";
    $("obd-campaign").replaceChildren(pick, ...this.campaigns.map((c) => {
      const o = document.createElement("option"); o.value = c.id; o.textContent = `${c.name} · ${t("ob.mode." + c.mode)}`; o.translate = false; return o;
    }));
    if (keep) $("obd-campaign").value = keep;
    $("obd-result").replaceChildren(...RESULTS.map((r) => { const o = tr("option", "ob.r." + r); o.value = r; return o; }));
  }

  /** A predictive dial answered and put through to me: its card and script (the dial becomes mine). */
  async fromPop(pop) {
    const uid = pop && pop.call && pop.call.uniqueid;
    if (!uid || !uid.startsWith("cc-dial-") || pop.phase === "ringing" || this.predictive === uid) return;
    this.predictive = uid;
    try {
      this.card = await api(`/api/outbound/calls/${encodeURIComponent(uid)}/card`, { method: "POST" });
    } catch {
      this.predictive = null;
      return;
    }
    this.fromDialer = true;
    this.onResult(t("obd.predictive"), true);
    this.render();
  }

  render() {
    $("obd").classList.toggle("hidden", !this.campaigns.length && !this.card);
    if ($("obd-campaign").options.length !== this.campaigns.length + 1) this.renderStatic();
    const card = this.card;
    $("obd-next").disabled = !this.campaignId() || !!card;
    $("obd-dial").disabled = !card || card.dial.state !== "pending";
    $("obd-card").classList.toggle("hidden", !card);
    $("obd-form").classList.toggle("hidden", !card);
    $("obd-state").replaceChildren(card ? tr("span", "ob.state." + card.dial.state) : "");
    if (!card) return;
    $("obd-name").textContent = card.contact.name || "—";
    $("obd-number").textContent = card.contact.number;
    $("obd-data").replaceChildren(...Object.entries(card.contact.data || {}).flatMap(([k, v]) => {
      const dt = FIELDS.includes(k) ? tr("dt", "ob.f." + k) : Object.assign(document.createElement("dt"), { textContent: k, translate: false });
      const dd = Object.assign(document.createElement("dd"), { textContent: v, translate: false });
      return [dt, dd];
    }));
    $("obd-attempts").replaceChildren(tr("span", "ob.attempts", { n: card.contact.attempts }));
    $("obd-script").textContent = card.script ? card.script.body : "";
    $("obd-script-ver").replaceChildren(card.script ? tr("span", "ob.scriptVer", { v: card.script.version }) : tr("span", "ob.noScript"));
  }

  async next(quiet = false) {
    const id = this.campaignId();
    if (!id) return;
    try {
      this.card = await api(`/api/outbound/campaigns/${id}/next`, { method: "POST" });
    } catch (e) {
      this.onResult(e.message, false);
      return;
    }
    if (!this.card && !quiet) this.onResult(t("ob.none"), false);
    this.render();
  }

  async dial() {
    try {
      this.card.dial = await api(`/api/outbound/dials/${this.card.dial.id}/dial`, { method: "POST" });
      this.onResult(t("obd.dialled", { n: this.card.contact.number }), true);
    } catch (e) {
      this.onResult(e.message, false);
    }
    this.render();
  }

  async save(ev) {
    ev.preventDefault();
    const body = { result: $("obd-result").value, note: $("obd-note").value };
    if (body.result === "callback_later" && $("obd-at").value) body.callback_at = new Date($("obd-at").value).toISOString();
    try {
      await api(`/api/outbound/dials/${this.card.dial.id}/result`, { method: "POST", body });
    } catch (e) {
      this.onResult(e.message, false);
      return;
    }
    $("obd-note").value = "";
    this.card = null;
    if (this.fromDialer) { // the dialer puts the next one through: nothing to pull
      this.fromDialer = false;
      this.onResult(t("ob.saved"), true);
      this.render();
      return;
    }
    await this.next(true);
    this.onResult(this.card ? t("ob.saved") : `${t("ob.saved")} · ${t("ob.none")}`, true);
  }
}
