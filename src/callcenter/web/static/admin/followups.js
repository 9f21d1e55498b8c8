// Calls whose wrap-up ran out without a disposition, in the lead's queues
// (every queue for an admin): who, when, the caller; completed from here
// or by the agent on the desktop.
import { api } from "/static/common/api.js";
import { lang } from "/static/common/i18n.js";
import { data, el, tx } from "./ui.js";

export async function renderFollowups(view, state) {
  const page = await api("/api/acd/undisposed?limit=200");
  const rows = page.items.map((c) => el("tr", { "data-call": c.call_id },
    el("td", {}, data("span", new Date(c.entered_at).toLocaleString(lang(), { timeZone: state.me.timezone, hour12: false }), { class: "mono" })),
    el("td", {}, data("span", c.queue)), el("td", {}, data("span", c.agent_name || c.agent)), el("td", {}, data("span", c.caller_number, { class: "mono" })),
    el("td", {}, tx("fu.flag"))));
  const head = el("tr", {}, ...["adm.n.at", "adm.n.queue", "adm.n.agent", "adm.n.caller", "adm.n.state"].map((k) => el("th", {}, tx(k))));
  view.append(el("h2", {}, tx("adm.s.followups")), tx("adm.n.help", null, "p"),
    el("p", {}, tx("adm.n.count", { n: page.total })),
    rows.length ? el("table", { class: "list", id: "followup-rows" }, el("thead", {}, head), el("tbody", {}, ...rows)) : tx("adm.n.none", null, "p"));
  view.querySelector("p").className = "muted";
}
