// Talking to the server: JSON over fetch with the HttpOnly cookie the
// log-in sets, and a header bar shared by every signed-in page.
import { applyI18n, lang, setLang, setTheme, theme } from "./i18n.js";
import { errorText } from "./errors.js";

// A failed request.  `message` is the server's answer in the user's
// language (from its code, see errors.js), worked out when read, so it
// follows a language switch; `detail` is the server's English text.
export class ApiError extends Error {
  constructor(status, detail, { code = "", params = {}, errors = null } = {}) {
    super();
    this.status = status;
    this.detail = detail || `HTTP ${status}`;
    this.code = code;
    this.params = params;
    this.errors = errors;
    Object.defineProperty(this, "message", { get: () => errorText(this) });
  }
}

export async function api(path, { method = "GET", body, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, "network error", { code: "network" });
  }
  if (res.status === 401 && !path.startsWith("/api/auth/login")) {
    location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
    throw new ApiError(401, "not signed in");
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!res.ok) {
    const body = data && typeof data === "object" ? data : {};
    const detail = typeof body.detail === "string" ? body.detail : text || res.statusText;
    throw new ApiError(res.status, detail, { code: body.code || "", params: body.params || {}, errors: body.errors || null });
  }
  return data;
}

let toastTimer;
export function toast(message, { error = false, ms = error ? 6000 : 2500 } = {}) {
  let el = document.querySelector(".toast");
  if (!el) {
    el = document.createElement("div");
    el.className = "toast";
    el.setAttribute("role", "status");
    document.body.appendChild(el);
  }
  el.textContent = message;
  el.classList.toggle("error", error);
  el.classList.remove("hidden");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.add("hidden"), ms);
}

// Pages each role may open; the server enforces the same on the data.
export const PAGES = [
  { href: "/admin", key: "nav.admin", roles: ["admin", "team_lead"] },
  { href: "/desktop", key: "nav.desktop", roles: ["agent", "team_lead", "admin"] },
  { href: "/wallboard", key: "nav.wallboard", roles: ["team_lead", "admin"] },
  { href: "/qa", key: "nav.qa", roles: ["qa", "team_lead", "admin", "agent"] },
  { href: "/reports", key: "nav.reports", roles: ["qa", "team_lead", "admin"] },
  { href: "/customers", key: "nav.customers", roles: ["agent", "team_lead", "admin"] },
  { href: "/outbound", key: "nav.outbound", roles: ["agent", "team_lead", "admin"] },
  { href: "/workorders", key: "nav.workorders", roles: ["agent", "team_lead", "admin", "department", "director"] },
  { href: "/docs", key: "nav.docs", roles: ["admin"] },
];

// Renders the shared header and returns the signed-in user.
export async function signedIn() {
  const me = await api("/api/auth/me");
  const bar = document.querySelector("header.bar") || document.body.insertBefore(document.createElement("header"), document.body.firstChild);
  bar.className = "bar";
  bar.innerHTML = `
    <a class="brand" href="/home" data-i18n="app.name"></a>
    <nav class="row" id="nav"></nav>
    <span class="spacer"></span>
    <span class="who"><span class="who-name" translate="no"></span> · <span class="who-role"></span></span>
    <button id="lang-btn" data-i18n="nav.lang"></button>
    <button id="theme-btn" data-i18n="nav.theme"></button>
    <button id="logout-btn" data-i18n="nav.logout"></button>`;
  bar.querySelector(".who-name").textContent = me.display_name;
  bar.querySelector(".who-role").dataset.i18n = "role." + me.role; // follows a language switch
  const nav = bar.querySelector("#nav");
  for (const p of PAGES.filter((p) => p.roles.includes(me.role))) {
    const a = document.createElement("a");
    a.href = p.href;
    a.dataset.i18n = p.key;
    if (location.pathname === p.href || (p.href === "/admin" && ["/users", "/queues", "/settings"].includes(location.pathname))) a.className = "active";
    nav.appendChild(a);
  }
  bar.querySelector("#lang-btn").onclick = () => setLang(lang() === "en" ? "zh-CN" : "en");
  bar.querySelector("#theme-btn").onclick = () => setTheme(theme() === "dark" ? "light" : "dark");
  bar.querySelector("#logout-btn").onclick = async () => {
    await api("/api/auth/logout", { method: "POST" });
    location.href = "/login";
  };
  applyI18n();
  return me;
}
