// Small building blocks of the admin console: elements, labelled fields,
// and an editable table of rows (dispositions, skills, rules, ...).
import { t } from "/static/common/i18n.js";

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || ["for", "translate", "list"].includes(k)) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

/** A text that follows a language switch (data-i18n). */
export function tx(key, vars = null, tag = "span") {
  const e = el(tag, { "data-i18n": key });
  if (vars) e.dataset.i18nArgs = JSON.stringify(vars);
  e.textContent = t(key, vars || {});
  return e;
}

/** Data shown as it is (names, numbers, codes): never translated. */
export const data = (tag, text, attrs = {}) => el(tag, { ...attrs, translate: "no" }, text == null ? "" : String(text));

/** <label>text</label> + control, in one .field. */
export function field(key, control, hint = null) {
  if (!control.id) control.id = `f-${Math.random().toString(36).slice(2, 9)}`;
  return el("div", { class: "field" }, el("label", { for: control.id }, tx(key)), control, hint ? tx(hint, null, "small") : null);
}

export function input(attrs = {}) {
  return el("input", attrs);
}

export function select(options, value, attrs = {}) {
  // options: [[value, labelKey or {text}], ...]
  const s = el("select", attrs);
  for (const [v, lab] of options) {
    const o = el("option", { value: v });
    if (typeof lab === "string") o.append(tx(lab));
    else { o.textContent = lab.text; if (lab.data) o.setAttribute("translate", "no"); }
    s.append(o);
  }
  if (value != null) s.value = value;
  return s;
}

export function button(key, onClick, cls = "") {
  const b = el("button", { type: "button", class: cls }, tx(key));
  b.onclick = onClick;
  return b;
}

/**
 * An editable table.  columns: [{key, label, type: "text"|"number"|"checkbox"|"select",
 * options (for select), attrs}], rows: [{...}].  Returns {element, rows()}.
 */
export function rowsEditor(columns, rows, { readOnly = false, addKey = "adm.addRow", blank = {} } = {}) {
  const body = el("tbody");
  const addRow = (row) => {
    const tr = el("tr");
    for (const c of columns) {
      let ctl;
      const v = row[c.key];
      if (c.type === "checkbox") ctl = el("input", { type: "checkbox", checked: !!v });
      else if (c.type === "select") ctl = select(typeof c.options === "function" ? c.options() : c.options, v ?? "");
      else ctl = el("input", { type: c.type || "text", value: v ?? "", ...(c.attrs || {}) });
      ctl.dataset.key = c.key;
      ctl.disabled = readOnly;
      ctl.setAttribute("aria-label", t(c.label));
      tr.append(el("td", {}, ctl));
    }
    if (!readOnly) {
      const rm = el("button", { type: "button", class: "icon", title: t("adm.removeRow"), "aria-label": t("adm.removeRow") }, "×");
      rm.onclick = () => tr.remove();
      tr.append(el("td", {}, rm));
    }
    body.append(tr);
  };
  rows.forEach(addRow);
  const head = el("tr", {}, ...columns.map((c) => el("th", {}, tx(c.label))), readOnly ? null : el("th"));
  const table = el("table", { class: "rows" }, el("thead", {}, head), body);
  const add = readOnly ? null : button(addKey, () => addRow({ ...blank }), "add-row");
  return {
    element: el("div", { class: "rows-editor" }, table, add),
    rows() {
      return [...body.querySelectorAll("tr")].map((tr) => {
        const out = {};
        for (const ctl of tr.querySelectorAll("[data-key]")) {
          const c = columns.find((x) => x.key === ctl.dataset.key);
          out[c.key] = c.type === "checkbox" ? ctl.checked : c.type === "number" ? (ctl.value === "" ? null : Number(ctl.value)) : ctl.value.trim();
        }
        return out;
      });
    },
  };
}

/** A section's save bar: the button and where its result shows. */
export function saveBar(onSave, key = "adm.save") {
  const msg = el("span", { class: "save-msg", role: "status" });
  const b = button(key, async () => {
    b.disabled = true;
    msg.className = "save-msg";
    msg.replaceChildren(tx("adm.saving"));
    try {
      await onSave();
      msg.className = "save-msg good";
      msg.replaceChildren(tx("adm.saved"));
    } catch (e) {
      msg.className = "save-msg bad";
      msg.textContent = e.userMessage || e.message;
    } finally {
      b.disabled = false;
    }
  }, "primary save");
  return el("div", { class: "row save-bar" }, b, msg);
}

/** After a save re-rendered its section: say so in the new save bar. */
export function markSaved(root) {
  const msg = root.querySelector(".save-msg");
  if (!msg) return;
  msg.className = "save-msg good";
  msg.replaceChildren(tx("adm.saved"));
}
