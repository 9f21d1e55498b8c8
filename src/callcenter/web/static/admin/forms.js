// QA forms: sections of items, each with a weight (the scored items add
// up to 100) or marked veto (致命项: violated zeroes the total; no weight).
// Saving makes a new version; evaluations keep the version they used.
import { api } from "/static/common/api.js";
import { lang, t } from "/static/common/i18n.js";
import { button, data, el, field, input, rowsEditor, saveBar, select, tx, markSaved } from "./ui.js";

const ITEM_COLUMNS = [
  { key: "key", label: "adm.f.key" }, { key: "zh", label: "adm.f.zh" }, { key: "en", label: "adm.f.en" },
  { key: "weight", label: "adm.f.weight", type: "number", attrs: { min: 0, max: 100, step: "any" } },
  { key: "veto", label: "adm.f.veto", type: "checkbox" }, { key: "na_allowed", label: "adm.f.na", type: "checkbox" },
];

export async function renderForms(view, state) {
  const forms = state.config.forms;
  const pick = select([...forms.map((f) => [String(f.id), { text: `${lang() === "en" ? f.name_en : f.name_zh} · v${f.version}`, data: true }]),
    ...(state.canEdit ? [["new", "adm.f.new"]] : [])], forms[0] ? String(forms[0].id) : "new", { id: "form-pick" });
  const box = el("div", { id: "form-editor" });
  pick.onchange = () => edit(forms.find((f) => String(f.id) === pick.value) || null);
  view.append(el("h2", {}, tx("adm.s.forms")), tx("adm.f.help", null, "p"), field("adm.f.form", pick), box);
  view.querySelector("p").className = "muted";

  function edit(form) {
    const ro = !state.canEdit;
    const def = form ? form.definition : { sections: [{ key: "s1", zh: "", en: "", items: [{ key: "i1", zh: "", en: "", weight: 100, veto: false, na_allowed: false }] }] };
    const code = input({ value: form ? form.code : "", disabled: ro || !!form, id: "f-code", placeholder: "hotline", translate: "no" });
    const nameZh = input({ value: form ? form.name_zh : "", disabled: ro, id: "f-name-zh" });
    const nameEn = input({ value: form ? form.name_en : "", disabled: ro, id: "f-name-en" });
    const total = el("span", { class: "total", id: "f-total" });
    const sections = el("div", { id: "f-sections" });
    const editors = [];
    const addSection = (s) => {
      const key = input({ value: s.key, disabled: ro }), zh = input({ value: s.zh, disabled: ro }), en = input({ value: s.en, disabled: ro });
      const items = rowsEditor(ITEM_COLUMNS, s.items, { readOnly: ro, blank: { key: "", zh: "", en: "", weight: 0, veto: false, na_allowed: false } });
      const box = el("div", { class: "form-section" },
        el("div", { class: "fields" }, field("adm.f.sectionKey", key), field("adm.f.sectionZh", zh), field("adm.f.sectionEn", en)), items.element);
      const entry = { box, value: () => ({ key: key.value.trim(), zh: zh.value.trim(), en: en.value.trim(), items: items.rows() }) };
      if (!ro) box.append(button("adm.f.removeSection", () => { box.remove(); editors.splice(editors.indexOf(entry), 1); updateTotal(); }, "danger"));
      editors.push(entry);
      sections.append(box);
    };
    const definition = () => ({
      sections: editors.map((e) => e.value()).map((s) => ({
        ...s, items: s.items.map((i) => ({ ...i, weight: i.veto ? 0 : i.weight || 0, hint_zh: "", hint_en: "" })),
      })),
    });
    const problem = () => {
      const d = definition();
      const keys = new Set();
      let sum = 0;
      for (const s of d.sections) {
        if (!s.items.length) return t("adm.f.errEmpty", { section: s.key });
        for (const i of s.items) {
          if (!i.key || !i.zh || !i.en) return t("adm.f.errItem");
          if (keys.has(i.key)) return t("adm.f.errDup", { key: i.key });
          keys.add(i.key);
          if (!i.veto && !(i.weight > 0)) return t("adm.f.errWeight", { key: i.key });
          sum += i.veto ? 0 : i.weight;
        }
      }
      if (Math.abs(sum - 100) > 1e-6) return t("adm.f.errTotal", { total: Math.round(sum * 100) / 100 });
      return "";
    };
    const updateTotal = () => {
      const sum = definition().sections.flatMap((s) => s.items).reduce((a, i) => a + (i.veto ? 0 : i.weight || 0), 0);
      total.textContent = t("adm.f.total", { total: Math.round(sum * 100) / 100 });
      total.classList.toggle("bad", Math.abs(sum - 100) > 1e-6);
    };
    def.sections.forEach(addSection);
    sections.addEventListener("input", updateTotal);
    sections.addEventListener("click", () => setTimeout(updateTotal));
    box.replaceChildren(...[
      el("div", { class: "fields" }, field("adm.f.code", code), field("adm.f.nameZh", nameZh), field("adm.f.nameEn", nameEn)),
      form ? tx("adm.f.version", { v: form.version }, "p") : null,
      sections, ro ? null : button("adm.f.addSection", () => addSection({ key: `s${editors.length + 1}`, zh: "", en: "", items: [] }), "edit-only"),
      el("p", {}, total), tx("adm.f.vetoHint", null, "p"),
      ro ? null : saveBar(async () => {
        const why = problem();
        if (why) throw Object.assign(new Error(why), { userMessage: why });
        const saved = await api("/api/qa/forms", { method: "POST", body: { code: code.value.trim(), name_zh: nameZh.value.trim(), name_en: nameEn.value.trim(), definition: definition() } });
        await state.reload();
        forms.splice(0, forms.length, ...state.config.forms);
        pick.replaceChildren(...forms.map((f) => el("option", { value: String(f.id), translate: "no" }, `${lang() === "en" ? f.name_en : f.name_zh} · v${f.version}`)),
          el("option", { value: "new" }, tx("adm.f.new")));
        pick.value = String(saved.id);
        edit(forms.find((f) => f.id === saved.id) || saved);
        markSaved(box);
      }, "adm.f.saveVersion")].filter(Boolean));
    updateTotal();
  }
  edit(forms[0] || null);
}
