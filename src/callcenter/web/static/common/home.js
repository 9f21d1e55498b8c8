// The home page's script (a file, not inline: the CSP allows only our own scripts).
import { PAGES, signedIn } from "/static/common/api.js";
import { applyI18n, t } from "/static/common/i18n.js";
const me = await signedIn();
document.getElementById("whoami").textContent = `${me.display_name} (${me.username}) · ${t("role." + me.role)}${me.interface ? " · " + me.interface : ""}`;
const ul = document.getElementById("pages");
for (const p of PAGES.filter((p) => p.roles.includes(me.role))) {
  const li = document.createElement("li");
  li.innerHTML = `<a href="${p.href}" data-i18n="${p.key}"></a>`;
  ul.appendChild(li);
}
applyI18n();
