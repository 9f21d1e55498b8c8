// Opening hours per queue: a weekly calendar for the default (winter) and,
// if set, the summer season; who is on duty when closed; holidays and 调休
// (weekend days worked, with Monday's hours); voicemail or duty after hours.
import { api } from "/static/common/api.js";
import { lang } from "/static/common/i18n.js";
import { button, data, el, field, input, rowsEditor, saveBar, select, tx } from "./ui.js";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

export async function renderHours(view, state) {
  const { config } = state;
  const names = config.queues.map((q) => q.name);
  if (!names.length) {
    view.append(el("h2", {}, tx("adm.s.hours")), tx("adm.h.noQueues", null, "p"));
    return;
  }
  const pick = select(config.queues.map((q) => [q.name, { text: `${lang() === "en" ? q.display_name_en || q.name : q.display_name} (${q.name})`, data: true }]), names[0], { id: "hours-queue" });
  const box = el("div", { id: "hours-editor" });
  pick.onchange = () => edit(pick.value);
  view.append(el("h2", {}, tx("adm.s.hours")), tx("adm.h.help", null, "p"), field("adm.h.queue", pick), box);
  view.querySelector("p").className = "muted";

  function edit(queue) {
    const found = config.hours.find((h) => h.queue === queue);
    const cal = found ? found.calendar : { always_open: false, winter: { weekly: {}, duty: [] }, summer: null, summer_from: "05-01", summer_to: "09-30", holidays: [], workdays: [], after_hours: "duty", voicemail: "" };
    const ro = !state.canEdit;
    const always = input({ type: "checkbox", checked: cal.always_open, disabled: ro, id: "h-always" });
    const winter = season(cal.winter, ro, "winter");
    const hasSummer = input({ type: "checkbox", checked: !!cal.summer, disabled: ro, id: "h-has-summer" });
    const summer = season(cal.summer || { weekly: {}, duty: [] }, ro, "summer");
    const from = input({ value: cal.summer_from, disabled: ro, placeholder: "05-01", maxLength: 5, id: "h-summer-from" });
    const to = input({ value: cal.summer_to, disabled: ro, placeholder: "09-30", maxLength: 5, id: "h-summer-to" });
    const holidays = dates(cal.holidays, ro, "h-holidays");
    const workdays = dates(cal.workdays, ro, "h-workdays");
    const after = select([["duty", "adm.h.after.duty"], ["voicemail", "adm.h.after.voicemail"]], cal.after_hours, { disabled: ro, id: "h-after" });
    const mailbox = input({ value: cal.voicemail, disabled: ro, placeholder: "800@callcenter", id: "h-voicemail", translate: "no" });
    const summerBox = el("div", { class: summer.element.className }, field("adm.h.summerFrom", from), field("adm.h.summerTo", to), summer.element);
    const syncSummer = () => summerBox.classList.toggle("hidden", !hasSummer.checked);
    hasSummer.onchange = syncSummer;
    syncSummer();
    box.replaceChildren(
      field("adm.h.always", always),
      el("h3", {}, tx("adm.h.winter")), winter.element,
      field("adm.h.hasSummer", hasSummer), summerBox,
      el("h3", {}, tx("adm.h.holidays")), tx("adm.h.holidaysHint", null, "p"), holidays.element,
      el("h3", {}, tx("adm.h.workdays")), tx("adm.h.workdaysHint", null, "p"), workdays.element,
      el("h3", {}, tx("adm.h.afterHours")), el("div", { class: "fields" }, field("adm.h.after", after), field("adm.h.voicemail", mailbox)),
      saveBar(async () => {
        const body = {
          always_open: always.checked, winter: winter.value(), summer: hasSummer.checked ? summer.value() : null,
          summer_from: from.value.trim() || "05-01", summer_to: to.value.trim() || "09-30",
          holidays: holidays.value(), workdays: workdays.value(), after_hours: after.value, voicemail: mailbox.value.trim(),
        };
        await api(`/api/routing/hours/${encodeURIComponent(queue)}`, { method: "PUT", body });
        await state.reload();
      }));
    for (const p of box.querySelectorAll("p")) p.className = "muted";
  }
  edit(names[0]);
}

/** One season: opening windows per weekday ("08:30-12:00, 13:30-17:30") and the duty roster. */
function season(s, ro, name) {
  const inputs = {};
  const rows = DAYS.map((d) => {
    inputs[d] = input({ value: (s.weekly[d] || []).join(", "), disabled: ro, placeholder: "08:30-12:00, 13:30-17:30", "data-day": d, id: `h-${name}-${d}` });
    return el("tr", {}, el("th", {}, tx("adm.day." + d)), el("td", {}, inputs[d]));
  });
  const duty = rowsEditor(
    [{ key: "window", label: "adm.h.window", attrs: { placeholder: "17:30-08:30" } }, { key: "number", label: "adm.h.dutyNumber" }, { key: "label", label: "adm.h.dutyLabel" }],
    s.duty || [], { readOnly: ro, blank: { window: "", number: "", label: "" } });
  return {
    element: el("div", { class: "season", "data-season": name },
      el("table", { class: "weekly" }, el("tbody", {}, ...rows)), tx("adm.h.windowsHint", null, "small"),
      el("h3", {}, tx("adm.h.duty")), duty.element),
    value() {
      const weekly = {};
      for (const d of DAYS) {
        const w = inputs[d].value.split(/[,，\s]+/).map((x) => x.trim()).filter(Boolean);
        if (w.length) weekly[d] = w;
      }
      return { weekly, duty: duty.rows().filter((r) => r.window || r.number) };
    },
  };
}

/** A list of dates as chips, with a date picker to add one. */
function dates(list, ro, id) {
  let values = [...list].sort();
  const chips = el("div", { class: "chips", id });
  const render = () => chips.replaceChildren(...values.map((d) => {
    const c = data("span", d, { class: "chip" });
    if (!ro) {
      const x = el("button", { type: "button", "aria-label": "×" }, "×");
      x.onclick = () => { values = values.filter((v) => v !== d); render(); };
      c.append(x);
    }
    return c;
  }));
  render();
  const pickDate = input({ id: id + "-add", placeholder: "2026-10-01", maxLength: 10, pattern: "\\d{4}-\\d{2}-\\d{2}" });
  const add = button("adm.h.addDate", () => {
    const v = pickDate.value.trim();
    if (/^\d{4}-\d{2}-\d{2}$/.test(v) && !values.includes(v)) { values = [...values, v].sort(); render(); pickDate.value = ""; }
  }, "edit-only");
  return { element: el("div", {}, chips, ro ? null : el("div", { class: "row" }, pickDate, add)), value: () => values };
}
