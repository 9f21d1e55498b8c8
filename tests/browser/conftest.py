"""Real headless Chromium (Debian's package) driven by Playwright.

Never `playwright install`: it downloads a browser, which fails here.
Screenshots go to test-artifacts/screenshots/ for people to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ..conftest import IN_CI

CHROMIUM = os.environ.get("CALLCENTER_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture
async def browser():  # noqa: ANN201
    """Playwright's async API, so browser tests share pytest-asyncio's loop
    (the sync API would leave its own loop running for later tests)."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        msg = f"Chromium not found at {CHROMIUM}; install Debian's chromium package"
        if IN_CI:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield _CspBypass(b)
        await b.close()


class _CspBypass:
    """The browser, with pages that let the tests' own `wait_for_function`
    predicates run (Playwright polls them with eval, which the pages'
    Content-Security-Policy forbids).  tests/browser/test_csp.py passes
    bypass_csp=False and checks the pages under the real policy."""

    def __init__(self, browser) -> None:  # noqa: ANN001
        self._browser = browser

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._browser, name)

    async def new_context(self, **kw):  # noqa: ANN003, ANN201
        kw.setdefault("bypass_csp", True)
        return await self._browser.new_context(**kw)

    async def new_page(self, **kw):  # noqa: ANN003, ANN201
        kw.setdefault("bypass_csp", True)
        return await self._browser.new_page(**kw)


@pytest.fixture
def shot(request):  # noqa: ANN001, ANN201
    """`await shot(page, "name")` saves a screenshot as a test artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    async def take(page, name: str) -> Path:  # noqa: ANN001
        path = ARTIFACTS / f"{request.node.name}-{name}.png".replace("[", "-").replace("]", "")
        await page.screenshot(path=str(path), full_page=False)
        return path

    return take
