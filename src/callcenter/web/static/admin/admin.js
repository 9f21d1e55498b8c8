// The admin console: users, queues, routing (with its test), opening
// hours, pause reasons, wallboard thresholds, QA forms, calls without a
// disposition, the audit log.  An admin changes things; a team lead sees,
// read-only, what applies to their teams (GET /api/admin/config is cut
// server-side).  Every change goes through its capability's API, which
// audits it and tells the running services (no restart).
import "./strings.js";
import { api, signedIn } from "/static/common/api.js";
import { applyI18n, t } from "/static/common/i18n.js";
import { $, el, tx } from "./ui.js";
import { renderUsers } from "./users.js";
import { renderQueues } from "./queues.js";
import { renderRouting } from "./routing.js";
import { renderHours } from "./hours.js";
import { renderPauseReasons, renderThresholds } from "./settings.js";
import { renderForms } from "./forms.js";
import { renderAudit } from "./audit.js";
import { renderFollowups } from "./followups.js";
import { renderTeams } from "./teams.js";

const me = await signedIn();
if (me.role !== "admin" && me.role !== "team_lead") {
  $("view").replaceChildren(tx("adm.notAllowed", null, "p"));
  throw new Error("not a console user");
}

const state = {
  me,
  config: null,
  canEdit: false,
  async reload() {
    this.config = await api("/api/admin/config");
    this.canEdit = this.config.can_edit;
    return this.config;
  },
};
await state.reload();
document.body.classList.toggle("readonly", !state.canEdit);
$("readonly").classList.toggle("hidden", state.canEdit);

const SECTIONS = [
  ["users", "adm.s.users", renderUsers],
  ["teams", "adm.s.teams", renderTeams, () => state.config.teams],
  ["queues", "adm.s.queues", renderQueues],
  ["routing", "adm.s.routing", renderRouting],
  ["hours", "adm.s.hours", renderHours],
  ["pause", "adm.s.pause", renderPauseReasons],
  ["wallboard", "adm.s.wallboard", renderThresholds],
  ["forms", "adm.s.forms", renderForms],
  ["followups", "adm.s.followups", renderFollowups],
  ["audit", "adm.s.audit", renderAudit, () => me.role === "admin"],
];

// /users, /queues, /settings open their section; the hash picks one after that.
const BY_PATH = { "/users": "users", "/queues": "queues", "/settings": "pause", "/admin": "users" };

function visible() {
  return SECTIONS.filter((s) => !s[3] || s[3]());
}

function current() {
  const want = location.hash.slice(1) || BY_PATH[location.pathname] || "users";
  return visible().find((s) => s[0] === want) || visible()[0];
}

async function show() {
  const [id, , render] = current();
  for (const a of $("sections").querySelectorAll("a")) a.classList.toggle("active", a.dataset.section === id);
  const view = $("view");
  view.replaceChildren();
  view.dataset.section = id;
  try {
    await render(view, state);
  } catch (e) {
    view.append(el("p", { class: "bad" }, e.message));
  }
  applyI18n(view);
  document.body.dataset.ready = id;
}

$("sections").replaceChildren(...visible().map(([id, key]) => {
  const a = el("a", { href: `#${id}`, "data-section": id });
  a.append(tx(key));
  return a;
}));
window.addEventListener("hashchange", show);
await show();
