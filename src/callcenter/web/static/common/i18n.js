// Bilingual UI (zh-CN, en).  Each page registers its own strings with
// `addStrings`; elements with data-i18n="key" are filled by `applyI18n`.

const STRINGS = {
  "zh-CN": {
    "app.name": "呼叫中心",
    "title.home": "呼叫中心", "title.login": "登录 · 呼叫中心", "title.desktop": "坐席工作台 · 呼叫中心",
    "title.wallboard": "大屏监控 · 呼叫中心", "title.admin": "管理控制台 · 呼叫中心", "title.customers": "客户 · 呼叫中心",
    "title.qa": "质检 · 呼叫中心", "title.reports": "报表 · 呼叫中心", "title.workorders": "工单 · 呼叫中心",
    "login.title": "登录",
    "login.username": "用户名",
    "login.password": "密码",
    "login.submit": "登录",
    "login.failed": "登录失败",
    "login.wrong": "用户名或密码错误",
    "nav.home": "首页",
    "nav.desktop": "坐席工作台",
    "nav.wallboard": "大屏监控",
    "nav.qa": "质检",
    "nav.reports": "报表",
    "nav.customers": "客户",
    "nav.outbound": "外呼",
    "nav.workorders": "工单",
    "nav.admin": "管理控制台",
    "nav.docs": "API 文档",
    "nav.logout": "退出",
    "nav.lang": "English",
    "nav.theme": "深色/浅色",
    "home.title": "欢迎",
    "home.pages": "可用页面",
    "role.agent": "坐席",
    "role.team_lead": "班长",
    "role.qa": "质检员",
    "role.admin": "管理员",
    "role.department": "部门人员",
    "role.director": "主任",
    "common.reconnecting": "正在重新连接…",
    "common.error": "出错了",
  },
  en: {
    "app.name": "Call Center",
    "title.home": "Call Center", "title.login": "Sign in · Call Center", "title.desktop": "Agent desktop · Call Center",
    "title.wallboard": "Wallboard · Call Center", "title.admin": "Admin console · Call Center", "title.customers": "Customers · Call Center",
    "title.qa": "Quality · Call Center", "title.reports": "Reports · Call Center", "title.workorders": "Work orders · Call Center",
    "login.title": "Sign in",
    "login.username": "Username",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.failed": "Sign-in failed",
    "login.wrong": "Wrong username or password",
    "nav.home": "Home",
    "nav.desktop": "Agent desktop",
    "nav.wallboard": "Wallboard",
    "nav.qa": "Quality",
    "nav.reports": "Reports",
    "nav.customers": "Customers",
    "nav.outbound": "Outbound",
    "nav.workorders": "Work orders",
    "nav.admin": "Admin console",
    "nav.docs": "API docs",
    "nav.logout": "Sign out",
    "nav.lang": "中文",
    "nav.theme": "Dark/light",
    "home.title": "Welcome",
    "home.pages": "Your pages",
    "role.agent": "Agent",
    "role.team_lead": "Team lead",
    "role.qa": "QA",
    "role.admin": "Admin",
    "role.department": "Department staff",
    "role.director": "Director",
    "common.reconnecting": "Reconnecting…",
    "common.error": "Something went wrong",
  },
};

export function lang() {
  const saved = localStorage.getItem("cc.lang");
  if (saved === "en" || saved === "zh-CN") return saved;
  return navigator.language && navigator.language.toLowerCase().startsWith("zh") ? "zh-CN" : "zh-CN";
}

// Pages re-render what they built from data on "cc:lang" (window event).
export function setLang(l) {
  localStorage.setItem("cc.lang", l);
  document.documentElement.lang = l;
  applyI18n();
  window.dispatchEvent(new CustomEvent("cc:lang", { detail: l }));
}

// t(key, vars) as nodes, with the values named in `data` (people's names,
// numbers) in spans marked translate="no": the rest is the UI's words.
export function tNodes(key, vars = {}, data = []) {
  const s = (STRINGS[lang()] && STRINGS[lang()][key]) ?? STRINGS.en[key] ?? key;
  return s.split(/(\{\w+\})/).filter(Boolean).map((part) => {
    const m = part.match(/^\{(\w+)\}$/);
    if (!m || !(m[1] in vars)) return part;
    if (!data.includes(m[1])) return String(vars[m[1]]);
    const span = document.createElement("span");
    span.translate = false;
    span.textContent = String(vars[m[1]]);
    return span;
  });
}

// An element whose text is t(key, vars) and stays translated: applyI18n
// fills it again after a language switch.
export function tr(tag, key, vars = null, attrs = {}) {
  const e = document.createElement(tag);
  e.dataset.i18n = key;
  if (vars) e.dataset.i18nArgs = JSON.stringify(vars);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.textContent = t(key, vars || {});
  return e;
}

export function addStrings(table) {
  for (const [l, entries] of Object.entries(table)) Object.assign(STRINGS[l] ||= {}, entries);
}

export function t(key, vars = {}) {
  const s = (STRINGS[lang()] && STRINGS[lang()][key]) ?? STRINGS.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? vars[k] : `{${k}}`));
}

export function applyI18n(root = document) {
  document.documentElement.lang = lang();
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n, el.dataset.i18nArgs ? JSON.parse(el.dataset.i18nArgs) : {});
  }
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
}

// Durations the way people read them: mm:ss, or h:mm:ss past an hour.
export function mmss(seconds) {
  if (seconds == null || !isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(r)}` : `${pad(m)}:${pad(r)}`;
}

// A fraction 0..1 as a percentage with one decimal; null shows a dash.
export function pct(fraction) {
  if (fraction == null || !isFinite(fraction)) return "–";
  return `${(fraction * 100).toFixed(1)}%`;
}

export function theme() {
  return localStorage.getItem("cc.theme") || "light";
}

export function setTheme(name) {
  localStorage.setItem("cc.theme", name);
  document.documentElement.dataset.theme = name;
}

document.documentElement.dataset.theme = theme();
