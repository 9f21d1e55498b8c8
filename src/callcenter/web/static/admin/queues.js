// Queues: names, the service-level threshold, short abandons, how abandons
// count (abandon mode), the wrap-up limit and the dispositions agents pick
// from.  Saving reconfigures the running ACD core at once.
import { api } from "/static/common/api.js";
import { button, data, el, field, input, rowsEditor, saveBar, select, tx, markSaved } from "./ui.js";

export async function renderQueues(view, state) {
  const { config } = state;
  let selected = config.queues[0] || null;
  const list = el("tbody");
  const editor = el("div", { id: "queue-editor" });

  function fillList() {
    list.replaceChildren(...config.queues.map((q) => {
      const tr = el("tr", { class: "click", "data-queue": q.name });
      tr.classList.toggle("selected", !!selected && selected.name === q.name);
      tr.append(el("td", {}, data("span", q.name, { class: "mono" })), el("td", {}, data("span", q.display_name)),
        el("td", {}, data("span", q.display_name_en)), el("td", {}, data("span", `${q.sl_threshold_s} s`)),
        el("td", {}, tx("adm.q.mode." + q.abandon_mode)), el("td", {}, data("span", `${q.wrap_up_s} s`)));
      tr.onclick = () => { selected = q; fillList(); edit(q); };
      return tr;
    }));
  }

  function edit(q) {
    const isNew = !q;
    q = q || { name: "", display_name: "", display_name_en: "", sl_threshold_s: 20, short_abandon_s: 5, abandon_mode: "against", wrap_up_s: 60, dispositions: [] };
    const ro = !state.canEdit;
    const f = {
      name: input({ value: q.name, disabled: !isNew || ro, name: "name", maxLength: 64, placeholder: "repairs", translate: "no" }),
      display_name: input({ value: q.display_name, disabled: ro, name: "display_name", maxLength: 128 }),
      display_name_en: input({ value: q.display_name_en, disabled: ro, name: "display_name_en", maxLength: 128 }),
      sl: input({ type: "number", min: 1, max: 3600, value: q.sl_threshold_s, disabled: ro, name: "sl_threshold_s" }),
      short: input({ type: "number", min: 0, max: 600, value: q.short_abandon_s, disabled: ro, name: "short_abandon_s" }),
      mode: select(["against", "ignore", "favour"].map((m) => [m, "adm.q.mode." + m]), q.abandon_mode, { disabled: ro, name: "abandon_mode" }),
      wrap: input({ type: "number", min: 0, max: 3600, value: q.wrap_up_s, disabled: ro, name: "wrap_up_s" }),
    };
    const disp = rowsEditor(
      [{ key: "code", label: "adm.q.code" }, { key: "zh", label: "adm.q.zh" }, { key: "en", label: "adm.q.en" },
        { key: "note_required", label: "adm.q.noteRequired", type: "checkbox" }],
      q.dispositions, { readOnly: ro });
    editor.replaceChildren(
      el("h3", {}, isNew ? tx("adm.q.new") : data("span", `${q.display_name} (${q.name})`)),
      el("div", { class: "fields" },
        field("adm.q.name", f.name), field("adm.q.displayName", f.display_name), field("adm.q.displayNameEn", f.display_name_en),
        field("adm.q.sl", f.sl, "adm.q.slHint"), field("adm.q.short", f.short, "adm.q.shortHint"),
        field("adm.q.mode", f.mode, "adm.q.modeHint." + q.abandon_mode), field("adm.q.wrap", f.wrap, "adm.q.wrapHint")),
      el("h3", {}, tx("adm.q.dispositions")), disp.element,
      saveBar(async () => {
        const name = f.name.value.trim();
        const body = {
          display_name: f.display_name.value.trim(), display_name_en: f.display_name_en.value.trim(),
          sl_threshold_s: Number(f.sl.value), short_abandon_s: Number(f.short.value), abandon_mode: f.mode.value,
          wrap_up_s: Number(f.wrap.value), dispositions: disp.rows(),
        };
        if (!body.dispositions.length) delete body.dispositions; // a new queue gets the default list
        const saved = await api(`/api/queues/${encodeURIComponent(name)}`, { method: "PUT", body });
        await state.reload();
        Object.assign(config, state.config);
        selected = state.config.queues.find((x) => x.name === saved.name) || saved;
        fillList();
        edit(selected);
        markSaved(editor);
      }));
    f.mode.onchange = () => {
      const hint = f.mode.closest(".field").querySelector("small");
      hint.dataset.i18n = "adm.q.modeHint." + f.mode.value;
      hint.textContent = tx("adm.q.modeHint." + f.mode.value).textContent;
    };
  }

  const head = el("tr", {}, ...["adm.q.name", "adm.q.displayName", "adm.q.displayNameEn", "adm.q.sl", "adm.q.mode", "adm.q.wrap"].map((k) => el("th", {}, tx(k))));
  view.append(
    el("div", { class: "row" }, el("h2", {}, tx("adm.s.queues")), el("span", { class: "spacer" }),
      state.canEdit ? button("adm.q.add", () => { selected = null; fillList(); edit(null); }, "edit-only") : null),
    tx("adm.q.live", null, "p"),
    el("div", { class: "split2" }, el("div", { class: "scroll" }, el("table", { class: "list", id: "queues" }, el("thead", {}, head), list)), editor));
  view.querySelector("p").className = "muted";
  fillList();
  edit(selected);
}
