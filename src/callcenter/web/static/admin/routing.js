// Routing rules (dialled number + IVR key -> queue, and the VIP line's
// queue) and the test: what would this caller get now, or at a given time?
import { api } from "/static/common/api.js";
import { lang, t } from "/static/common/i18n.js";
import { reasonsText } from "/static/common/route.js";
import { data, el, field, input, rowsEditor, saveBar, tx } from "./ui.js";
import { queueOptions } from "./users.js";

export async function renderRouting(view, state) {
  const { config } = state;
  const ro = !state.canEdit;
  const rules = rowsEditor(
    [{ key: "dnis", label: "adm.r.dnis", attrs: { placeholder: "4008001234" } },
      { key: "choice", label: "adm.r.choice", attrs: { maxLength: 8 } },
      { key: "queue", label: "adm.r.queue", type: "select", options: () => queueOptions(config) },
      { key: "vip_queue", label: "adm.r.vipQueue", type: "select", options: () => queueOptions(config, true) },
      { key: "label", label: "adm.r.label" }],
    config.rules, { readOnly: ro, blank: { dnis: "", choice: "", queue: config.queues[0] ? config.queues[0].name : "", vip_queue: "", label: "" } });

  const f = {
    caller: input({ name: "caller", placeholder: "13800138000", inputMode: "tel" }),
    dnis: input({ name: "dnis", list: "dnis-list", placeholder: "4008001234" }),
    choice: input({ name: "choice", maxLength: 8 }),
    at: input({ name: "at", placeholder: "2026-10-01 09:00", maxLength: 16 }),
  };
  const dnisList = el("datalist", { id: "dnis-list" }, ...[...new Set(config.rules.map((r) => r.dnis).filter(Boolean))].map((d) => el("option", { value: d })));
  const out = el("div", { class: "result-box hidden", id: "route-result", role: "status" });
  const run = el("button", { type: "submit", class: "primary", id: "route-test" }, tx("adm.r.run"));
  const form = el("form", { id: "route-test-form" },
    el("div", { class: "fields" }, field("adm.r.caller", f.caller), field("adm.r.dnis", f.dnis), field("adm.r.choice", f.choice),
      field("adm.r.at", f.at, "adm.r.atHint")), dnisList, el("div", { class: "row save-bar-lite" }, run), out);
  form.onsubmit = async (e) => {
    e.preventDefault();
    const body = { caller: f.caller.value.trim(), dnis: f.dnis.value.trim(), choice: f.choice.value.trim() };
    // The centre's local time ("2026-10-01 09:00"); the server reads it in the centre's zone.
    if (f.at.value.trim()) body.at = f.at.value.trim().replace(" ", "T");
    out.classList.remove("hidden");
    try {
      show(out, await api("/api/admin/routing/test", { method: "POST", body }), config);
    } catch (err) {
      out.replaceChildren(el("span", { class: "bad" }, err.message));
    }
  };

  view.append(
    el("h2", {}, tx("adm.s.routing")), tx("adm.r.help", null, "p"),
    rules.element,
    ro ? "" : saveBar(async () => {
      await api("/api/routing/rules", { method: "PUT", body: { rules: rules.rows() } });
      await state.reload();
    }),
    el("h3", {}, tx("adm.r.test")), tx("adm.r.testHelp", null, "p"), form);
  for (const p of view.querySelectorAll("p")) p.className = "muted";
}

function queueLabel(config, name) {
  const q = config.queues.find((x) => x.name === name);
  return q ? `${lang() === "en" ? q.display_name_en || q.name : q.display_name} (${name})` : name;
}

function show(out, d, config) {
  const rows = [
    ["adm.r.outQueue", el("span", { class: "big" }, data("span", queueLabel(config, d.queue)))],
    ["adm.r.outAction", tx("adm.r.action." + d.action)],
    ["adm.r.outPriority", data("span", d.priority)],
    ["adm.r.outCustomer", d.customer_id ? data("span", d.customer_name) : tx("adm.r.unknown")],
    ["adm.r.outWhy", data("span", reasonsText(d.reasons) || "–")],
  ];
  if (d.action === "duty") rows.push(["adm.r.outDuty", data("span", d.duty)]);
  if (d.action === "voicemail") rows.push(["adm.r.outVoicemail", data("span", d.voicemail || "–")]);
  if (d.rule) rows.push(["adm.r.outRule", data("span", `${d.rule.dnis || t("adm.r.anyLine")} / ${d.rule.choice || t("adm.r.noKey")} → ${d.rule.queue}`)]);
  out.replaceChildren(el("dl", { class: "kv" }, ...rows.flatMap(([k, v]) => [el("dt", {}, tx(k)), el("dd", { "data-k": k.split(".").pop() }, v)])));
}
