// Users: roles, AMI interface (PJSIP/8001 or Local/8001@agents/n),
// skills with their level (the queue penalty: lower is rung first),
// language, active; a new user's password, and password resets.
import { api } from "/static/common/api.js";
import { lang, t } from "/static/common/i18n.js";
import { button, data, el, field, input, rowsEditor, saveBar, select, tx, markSaved } from "./ui.js";

const ROLES = ["agent", "team_lead", "qa", "admin", "department", "director"];

export function queueOptions(config, withNone = false) {
  const opts = config.queues.map((q) => [q.name, { text: `${lang() === "en" ? q.display_name_en || q.name : q.display_name} (${q.name})`, data: true }]);
  return withNone ? [["", "adm.none"], ...opts] : opts;
}

export async function renderUsers(view, state) {
  const { config } = state;
  let selected = null;
  const list = el("tbody");
  const editor = el("div", { class: "panel-lite", id: "user-editor" });

  function fillList() {
    list.replaceChildren(...config.users.map((u) => {
      const tr = el("tr", { class: "click", "data-user": u.username });
      tr.classList.toggle("selected", selected && selected.id === u.id);
      tr.classList.toggle("muted-row", !u.active);
      tr.append(
        el("td", {}, data("span", u.username)),
        el("td", {}, data("span", u.display_name)),
        el("td", {}, tx("role." + u.role)),
        el("td", {}, data("span", u.interface || "", { class: "mono" })),
        el("td", {}, el("div", { class: "chips" }, ...u.skills.map((s) => data("span", `${s.queue} · ${s.penalty}`, { class: "chip" })))),
        el("td", {}, tx(u.active ? "adm.yes" : "adm.no")),
      );
      tr.onclick = () => { selected = u; fillList(); edit(u); };
      return tr;
    }));
  }

  function edit(u) {
    const isNew = !u;
    u = u || { username: "", display_name: "", role: "agent", interface: "", language: "zh-CN", active: true, skills: [] };
    const ro = !state.canEdit;
    const f = {
      username: input({ value: u.username, disabled: !isNew || ro, maxLength: 64, name: "username", autocomplete: "off", translate: "no" }),
      display_name: input({ value: u.display_name, disabled: ro, maxLength: 128, name: "display_name" }),
      role: select(ROLES.map((r) => [r, "role." + r]), u.role, { disabled: ro, name: "role" }),
      interface: input({ value: u.interface || "", disabled: ro, placeholder: "PJSIP/8001", name: "interface", autocomplete: "off", translate: "no" }),
      language: select([["zh-CN", { text: "中文" }], ["en", { text: "English" }]], u.language, { disabled: ro, name: "language" }),
      active: input({ type: "checkbox", checked: u.active, disabled: ro || isNew, name: "active" }),
      password: input({ type: "password", disabled: ro, autocomplete: "new-password", name: "password" }),
    };
    f.language.querySelectorAll("option").forEach((o) => o.setAttribute("translate", "no"));
    const skills = rowsEditor(
      [{ key: "queue", label: "adm.u.queue", type: "select", options: () => queueOptions(config) },
        { key: "penalty", label: "adm.u.level", type: "number", attrs: { min: 0, max: 100 } }],
      u.skills, { readOnly: ro, blank: { queue: config.queues[0] ? config.queues[0].name : "", penalty: 0 } });
    const save = saveBar(async () => {
      const body = {
        display_name: f.display_name.value.trim(), role: f.role.value, interface: f.interface.value.trim() || null,
        language: f.language.value, skills: skills.rows().map((s) => ({ queue: s.queue, penalty: s.penalty ?? 0 })),
      };
      try {
        if (isNew) {
          selected = await api("/api/users", { method: "POST", body: { ...body, username: f.username.value.trim(), password: f.password.value } });
        } else {
          if (f.password.value) await api(`/api/users/${u.id}/password`, { method: "PUT", body: { password: f.password.value } });
          selected = await api(`/api/users/${u.id}`, { method: "PATCH", body: { ...body, active: f.active.checked } });
        }
      } catch (e) {
        if (e.status === 409) e.code = "user_conflict";
        throw e;
      }
      await state.reload();
      Object.assign(config, state.config);
      fillList();
      edit(config.users.find((x) => x.id === selected.id) || selected);
      markSaved(editor);
    });
    editor.replaceChildren(
      el("h3", {}, isNew ? tx("adm.u.new") : data("span", `${u.display_name} (${u.username})`)),
      el("div", { class: "fields" },
        field("adm.u.username", f.username), field("adm.u.name", f.display_name), field("adm.u.role", f.role),
        field("adm.u.interface", f.interface, "adm.u.interfaceHint"), field("adm.u.language", f.language),
        field("adm.u.active", f.active), field(isNew ? "adm.u.password" : "adm.u.newPassword", f.password, "adm.u.passwordHint")),
      el("h3", {}, tx("adm.u.skills")), tx("adm.u.levelHint", null, "p"), skills.element, save);
    editor.querySelector("p").className = "muted";
  }

  const head = el("tr", {}, ...["adm.u.username", "adm.u.name", "adm.u.role", "adm.u.interface", "adm.u.skills", "adm.u.active"].map((k) => el("th", {}, tx(k))));
  view.append(
    el("div", { class: "row" }, el("h2", {}, tx("adm.s.users")), el("span", { class: "spacer" }),
      state.canEdit ? button("adm.u.add", () => { selected = null; fillList(); edit(null); }, "edit-only") : null),
    el("div", { class: "split2" }, el("div", { class: "scroll" }, el("table", { class: "list", id: "users" }, el("thead", {}, head), list)), editor));
  fillList();
  edit(config.users[0] && !state.canEdit ? config.users[0] : null);
  if (!state.canEdit && config.users[0]) { selected = config.users[0]; fillList(); }
}
