// The audit log: who changed what, when, from where; searchable by words,
// action and time, newest first, 100 at a time.
import { api } from "/static/common/api.js";
import { lang } from "/static/common/i18n.js";
import { button, data, el, field, input, select, tx } from "./ui.js";

export async function renderAudit(view, state) {
  const q = input({ id: "audit-q", type: "search", maxLength: 100 });
  const action = select([["", "adm.a.anyAction"]], "", { id: "audit-action" });
  const since = input({ id: "audit-since", placeholder: "2026-10-01", maxLength: 10 });
  const until = input({ id: "audit-until", placeholder: "2026-10-31", maxLength: 10 });
  const body = el("tbody", { id: "audit-rows" });
  const count = el("span", { class: "muted", id: "audit-count" });
  let before = null;
  const more = button("adm.a.more", () => load(false), "");
  const day = (d, end) => (d ? new Date(`${d}T00:00:00`).getTime() + (end ? 86400000 : 0) : null);

  async function load(fresh) {
    if (fresh) { before = null; body.replaceChildren(); }
    const p = new URLSearchParams({ limit: "100" });
    if (q.value.trim()) p.set("q", q.value.trim());
    if (action.value) p.set("action", action.value);
    if (since.value) p.set("since", new Date(day(since.value)).toISOString());
    if (until.value) p.set("until", new Date(day(until.value, true)).toISOString());
    if (before) p.set("before_id", before);
    const page = await api(`/api/admin/audit?${p}`);
    if (action.options.length === 1) action.append(...page.actions.map((a) => el("option", { value: a, translate: "no" }, a)));
    count.replaceChildren(tx("adm.a.count", { n: page.total }));
    for (const e of page.items) {
      const when = new Date(e.at).toLocaleString(lang(), { timeZone: state.me.timezone, hour12: false });
      body.append(el("tr", {}, el("td", {}, data("span", when, { class: "mono" })), el("td", {}, data("span", e.actor)),
        el("td", {}, data("span", e.action, { class: "mono" })), el("td", {}, data("span", e.target)),
        el("td", {}, data("span", Object.keys(e.details || {}).length ? JSON.stringify(e.details) : "", { class: "mono small" })),
        el("td", {}, data("span", e.ip, { class: "mono" }))));
    }
    before = page.items.length ? page.items[page.items.length - 1].id : before;
    more.classList.toggle("hidden", page.items.length < 100);
  }

  const form = el("form", { class: "row", id: "audit-search" }, field("adm.a.q", q), field("adm.a.action", action), field("adm.a.since", since),
    field("adm.a.until", until), el("button", { type: "submit", class: "primary" }, tx("adm.a.search")), count);
  form.onsubmit = (e) => { e.preventDefault(); load(true); };
  const head = el("tr", {}, ...["adm.a.at", "adm.a.actor", "adm.a.action", "adm.a.target", "adm.a.details", "adm.a.ip"].map((k) => el("th", {}, tx(k))));
  view.append(el("h2", {}, tx("adm.s.audit")), form, el("table", { class: "list" }, el("thead", {}, head), body), el("div", { class: "pager" }, more));
  await load(true);
}
