// The login page's script (a file, not inline: the CSP allows only our own scripts).
import { api } from "/static/common/api.js";
import { applyI18n, lang, setLang, t } from "/static/common/i18n.js";
applyI18n();
document.getElementById("lang").onclick = () => setLang(lang() === "en" ? "zh-CN" : "en");
document.getElementById("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const err = document.getElementById("error");
  err.textContent = "";
  try {
    const res = await api("/api/auth/login", {
      method: "POST",
      body: { username: document.getElementById("username").value, password: document.getElementById("password").value },
    });
    if (!localStorage.getItem("cc.lang")) setLang(res.user.language);
    const next = new URLSearchParams(location.search).get("next");
    location.href = next && next.startsWith("/") && !next.startsWith("//") ? next : "/home";
  } catch (ex) {
    err.textContent = `${t("login.failed")}: ${ex.status === 401 ? t("login.wrong") : ex.message}`;
  }
});
