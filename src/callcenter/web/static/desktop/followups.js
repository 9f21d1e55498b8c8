// Calls whose wrap-up ran out before a disposition was chosen: listed on
// the desktop ("no disposition") until the agent completes them.
import { api } from "/static/common/api.js";
import { lang, t } from "/static/common/i18n.js";

const $ = (id) => document.getElementById(id);

export class Followups {
  constructor({ skills, timezone, onResult }) {
    this.skills = skills; // [{queue, dispositions}]
    this.timezone = timezone;
    this.onResult = onResult;
    this.items = [];
  }

  async load() {
    try {
      this.items = (await api("/api/acd/undisposed?limit=20")).items;
    } catch {
      return; // shown again on the next load
    }
    this.render();
  }

  /** After a wrap-up ends the call is stored within a second or two: look twice. */
  soon() {
    for (const ms of [1500, 4000]) setTimeout(() => this.load(), ms);
  }

  render() {
    $("followups").classList.toggle("hidden", !this.items.length);
    $("fu-count").textContent = String(this.items.length);
    $("fu-list").replaceChildren(...this.items.map((c) => this.item(c)));
  }

  item(call) {
    const li = document.createElement("li");
    li.dataset.callId = call.call_id;
    const when = new Date(call.entered_at).toLocaleString(lang(), { timeZone: this.timezone, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
    const head = document.createElement("div");
    head.className = "row";
    const who = document.createElement("span");
    who.translate = false;
    who.className = "mono";
    who.textContent = `${when} ${call.caller_number || ""}`;
    const flag = document.createElement("span");
    flag.className = "badge bad";
    flag.dataset.i18n = "fu.flag";
    flag.textContent = t("fu.flag");
    head.append(who, flag);
    const skill = this.skills.find((s) => s.queue === call.queue);
    const select = document.createElement("select");
    select.className = "fu-code";
    const none = document.createElement("option");
    none.value = "";
    none.textContent = "—";
    select.append(none, ...((skill && skill.dispositions) || []).map((d) => {
      const o = document.createElement("option");
      o.value = d.code;
      o.textContent = lang() === "en" ? d.en : d.zh;
      return o;
    }));
    const note = document.createElement("input");
    note.className = "fu-note";
    note.maxLength = 2000;
    note.placeholder = t("fu.note");
    const save = document.createElement("button");
    save.className = "primary fu-save";
    save.textContent = t("fu.save");
    save.onclick = async () => {
      if (!select.value || !note.value.trim()) {
        this.onResult(() => t("wrap.need"), false);
        return;
      }
      save.disabled = true;
      try {
        await api(`/api/acd/calls/${encodeURIComponent(call.call_id)}/disposition`, { method: "POST", body: { code: select.value, note: note.value.trim() } });
        this.onResult(() => `${t("fu.save")}: ${t("ctl.ok")}`, true);
        await this.load();
      } catch (e) {
        this.onResult(() => `${t("fu.save")}: ${e.message}`, false);
        save.disabled = false;
      }
    };
    const form = document.createElement("div");
    form.className = "row";
    form.append(select, note, save);
    li.append(head, form);
    return li;
  }
}
