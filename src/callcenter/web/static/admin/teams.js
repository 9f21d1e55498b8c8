// Teams (班组): the security work's Team model and REST API (GET /api/teams,
// wip/security: TeamOut = {id, name, description, active, leads: [{id,
// username, display_name}], members: [{user_id, username, display_name,
// interface, since}]}).  The section shows when the server has that API
// (/api/admin/config says "teams": true); changes are still made through
// the teams API itself — the hook to extend here once it is merged.
import { api } from "/static/common/api.js";
import { data, el, tx } from "./ui.js";

export async function renderTeams(view) {
  const teams = await api("/api/teams");
  const names = (people) => people.map((p) => p.display_name || p.username).join("、");
  const rows = teams.map((tm) => el("tr", { "data-team": tm.id },
    el("td", {}, data("span", tm.name)), el("td", {}, data("span", names(tm.leads || []))),
    el("td", {}, data("span", (tm.members || []).length)), el("td", {}, data("span", names(tm.members || [])))));
  const head = el("tr", {}, ...["adm.team.name", "adm.team.leads", "adm.team.members", "adm.team.who"].map((k) => el("th", {}, tx(k))));
  view.append(el("h2", {}, tx("adm.s.teams")), el("table", { class: "list", id: "teams" }, el("thead", {}, head), el("tbody", {}, ...rows)));
}
