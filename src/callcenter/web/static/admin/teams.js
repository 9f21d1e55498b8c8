// Teams (the security work's Team model and REST API, GET /api/teams).
// Until that API is on this server (/api/admin/config says "teams": false)
// the section stays hidden: this module is the hook to fill in when it lands.
import { api } from "/static/common/api.js";
import { data, el, tx } from "./ui.js";

export async function renderTeams(view) {
  const teams = await api("/api/teams");
  const rows = (Array.isArray(teams) ? teams : teams.items || []).map((tm) =>
    el("tr", {}, el("td", {}, data("span", tm.name)), el("td", {}, data("span", (tm.queues || []).join(", "))),
      el("td", {}, data("span", (tm.members || tm.member_ids || []).length))));
  view.append(el("h2", {}, tx("adm.s.teams")),
    el("table", { class: "list" }, el("thead", {}, el("tr", {}, el("th", {}, tx("adm.team.name")), el("th", {}, tx("adm.team.queues")), el("th", {}, tx("adm.team.members")))),
      el("tbody", {}, ...rows)));
}
