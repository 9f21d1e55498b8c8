// The home page's script (a file, not inline: the CSP allows only our own scripts).
import { PAGES, signedIn } from "/static/common/api.js";
import { applyI18n, t } from "/static/common/i18n.js";
const me = await signedIn();
const who = document.getElementById("whoami");
const data = (text) => Object.assign(document.createElement("span"), { textContent: text, translate: false });
const role = Object.assign(document.createElement("span"), { textContent: t("role." + me.role) });
role.dataset.i18n = "role." + me.role;
who.replaceChildren(data(`${me.display_name} (${me.username})`), " · ", role, ...(me.interface ? [" · ", data(me.interface)] : []));
const ul = document.getElementById("pages");
for (const p of PAGES.filter((p) => p.roles.includes(me.role))) {
  const li = document.createElement("li");
  li.innerHTML = `<a href="${p.href}" data-i18n="${p.key}"></a>`;
  ul.appendChild(li);
}
applyI18n();
