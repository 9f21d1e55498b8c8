"""Every page, as each role sees it, in real Chromium on both databases,
against the demo (seeded customers, live simulated traffic):

* in English no Chinese is left on the page, and in Chinese no English:
  the rendered DOM is read (text, placeholders, titles, labels), skipping
  only what is data (marked translate="no": names, numbers, codes);
* nothing is loaded from outside this server (every other host is blocked
  and recorded): the centres' intranets have no internet;
* screenshots at 1920x1080 and 1366x768 land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from callcenter.demo import seed

from ..conftest import make_settings, run_sync
from ..livesrv import LiveServer

pytestmark = pytest.mark.browser

ADMIN_SECTIONS = ["users", "queues", "routing", "hours", "pause", "wallboard", "forms", "followups", "audit"]
LEAD_SECTIONS = ["users", "queues", "routing", "hours", "pause", "wallboard", "forms", "followups"]
QA_VIEWS = ["/qa#/calls", "/qa#/evaluations", "/qa#/summary"]
PAGES = {
    ("admin", "demo-admin"): ["/home", *[f"/admin#{s}" for s in ADMIN_SECTIONS], "/wallboard", "/desktop", *QA_VIEWS, "/customers", "/outbound#setup", "/reports"],
    # the lead's pages are the admin's, cut to their queues: the read-only console and the board
    ("lead", "demo-lead"): ["/home", *[f"/admin#{s}" for s in LEAD_SECTIONS], "/wallboard", "/outbound#board", "/reports"],
    ("qa", "demo-qa"): ["/home", *QA_VIEWS, "/reports"],
    ("agent01", "demo-agent"): ["/home", "/desktop", *QA_VIEWS, "/customers", "/outbound"],
}
# Latin words that are the same in a Chinese UI: abbreviations and names of things.
SAME_IN_CHINESE = {"VIP", "IVR", "AMI", "API", "SL", "AHT", "ASA", "QA", "ID", "PJSIP", "SIP", "Local", "CSV", "KPI",
                   "Ctrl", "Enter", "English", "PBX", "P0", "OK", "Shift", "Home", "Space", "Esc", "Tab",
                   "Excel", "Erlang", "WAPE"}  # fmt: skip
SAME_IN_ENGLISH = {"中文"}  # the language switch names the other language
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
WORD = re.compile(r"[A-Za-z]{2,}")
# Identifiers shown as examples in help texts (PJSIP/8001, Local/8001@agents/n) are not words.
CODE = re.compile(r"[\w.-]*[/@][\w./@-]*")

# The page's words: text nodes and the attributes people read, outside data
# (translate="no") and code; hidden elements too (they show up later).
TEXTS_JS = """() => {
  const out = [];
  const walk = (n) => {
    if (n.nodeType === 1) {
      if (n.getAttribute('translate') === 'no' || ['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'svg'].includes(n.tagName)) return;
      for (const a of ['placeholder', 'title', 'aria-label', 'alt']) if (n.getAttribute(a)) out.push([a, n.getAttribute(a)]);
      if (n.tagName === 'INPUT' && ['button', 'submit'].includes(n.type) && n.value) out.push(['value', n.value]);
    } else if (n.nodeType === 3) {
      const s = n.textContent.trim();
      if (s) out.push(['text', s]);
    }
    for (const c of n.childNodes) walk(c);
  };
  walk(document.body);
  out.push(['title', document.title]);
  return out;
}"""


def wrong_language(texts: list[list[str]], lang: str) -> list[str]:
    bad = []
    for kind, s in texts:
        if lang == "en":
            rest = s
            for ok in SAME_IN_ENGLISH:
                rest = rest.replace(ok, "")
            if CJK.search(rest):
                bad.append(f"{kind}: {s[:80]}")
        else:
            words = [w for w in WORD.findall(CODE.sub(" ", s)) if w not in SAME_IN_CHINESE]
            if words:
                bad.append(f"{kind}: {s[:80]}")
    return sorted(set(bad))


@pytest.fixture
def demo(db_url, tmp_path):  # noqa: ANN001, ANN201
    """The demo on this database: seeded, with a few simulated agents taking live traffic."""
    settings = make_settings(database_url=db_url, simulator=True, simulator_agents=4, recordings_dir=tmp_path / "rec")
    run_sync(lambda: seed(settings))
    server = LiveServer(settings).start()
    yield server
    server.stop()


async def _sign_in(page: Any, base: str, user: str, password: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", user)
    await page.fill("#password", password)
    await page.click("#submit")
    await page.wait_for_url("**/home")


async def _settle(page: Any, path: str) -> None:
    await page.wait_for_load_state("networkidle")
    if path.startswith("/admin#"):
        await page.wait_for_function(f"document.body.dataset.ready === '{path.split('#')[1]}'")
    elif path in ("/customers", "/reports") or path.startswith("/outbound"):
        await page.wait_for_function("document.body && document.body.dataset.ready === '1'")
    await page.wait_for_timeout(300)  # a websocket snapshot's render


@pytest.mark.timeout(300)  # every page x 4 roles x 2 languages x 2 sizes: ~3 min on a loaded 2-core box
async def test_every_page_in_both_languages_offline(browser, demo, db_url, shot):
    base = demo.url
    base_db = db_url
    host = urlsplit(base).hostname
    outside: list[str] = []
    wrong: dict[str, list[str]] = {}
    errors: list[str] = []

    async def only_this_server(route: Any) -> None:
        if urlsplit(route.request.url).hostname in (host, "localhost"):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    for (user, password), paths in PAGES.items():
        for lang in ("zh-CN", "en"):
            # Screenshots from one database are enough to look at; both are walked.
            sizes = [(1920, 1080), (1366, 768)] if lang == "zh-CN" else [(1366, 768)]
            snap = "sqlite" in base_db
            ctx = await browser.new_context(viewport={"width": sizes[0][0], "height": sizes[0][1]})
            await ctx.route("**/*", only_this_server)
            await ctx.add_init_script(f"localStorage.setItem('cc.lang', '{lang}')")
            page = await ctx.new_page()
            page.on("pageerror", lambda e, u=user: errors.append(f"{u}: {e}"))
            await _sign_in(page, base, user, password)
            for path in paths:
                await page.goto(base + path)
                await _settle(page, path)
                bad = wrong_language(await page.evaluate(TEXTS_JS), lang)
                if bad:
                    wrong[f"{user} {lang} {path}"] = bad
                for w, h in sizes:
                    await page.set_viewport_size({"width": w, "height": h})
                    if snap:
                        await shot(page, f"{user}-{lang}-{w}x{h}-{path.strip('/').replace('/', '_').replace('#', '-')}")
                    if path == "/wallboard":
                        # the agent grid starts on the first screen, on a laptop too
                        await page.locator("#agents .agent").first.wait_for()
                        top = await page.evaluate("document.querySelector('#agents .agent').getBoundingClientRect().top")
                        assert top < h - 40, f"agent grid below the fold at {w}x{h}: {top}"
                await page.set_viewport_size({"width": sizes[0][0], "height": sizes[0][1]})
            await ctx.close()
    # the sign-in page, signed out, both languages
    for lang in ("zh-CN", "en"):
        page = await browser.new_page()
        await page.add_init_script(f"localStorage.setItem('cc.lang', '{lang}')")
        await page.goto(base + "/login")
        bad = wrong_language(await page.evaluate(TEXTS_JS), lang)
        if bad:
            wrong[f"anonymous {lang} /login"] = bad
        await page.close()
    assert outside == [], f"pages loaded from outside: {outside}"
    assert wrong == {}, "strings left in the other language:\n" + "\n".join(f"{k}: {v}" for k, v in wrong.items())
    assert errors == []


async def test_api_docs_work_offline(browser, demo, shot):
    """Swagger UI from the fastapi-offline package's assets, with every other host blocked; try an endpoint."""
    outside: list[str] = []
    ctx = await browser.new_context(viewport={"width": 1366, "height": 768})

    async def block(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await ctx.route("**/*", block)
    page = await ctx.new_page()
    await page.goto(demo.url + "/docs")
    await page.wait_for_selector(".swagger-ui .info .title:has-text('callcenter')")
    await page.wait_for_selector(".opblock-tag:has-text('admin')")
    await page.click("#operations-ops-healthz_healthz_get .opblock-summary")
    await page.click("#operations-ops-healthz_healthz_get .try-out__btn")
    await page.click("#operations-ops-healthz_healthz_get .execute")
    await page.wait_for_selector("#operations-ops-healthz_healthz_get .response-col_status:has-text('200')")
    await shot(page, "swagger")
    assert (await page.request.get(demo.url + "/redoc")).status == 404
    assert outside == []
    await ctx.close()
