"""Serves the browser pages: static HTML, CSS and ES modules, no build step.

Pages are empty shells; every figure they show comes from the role-checked
API or websocket, so serving the shells themselves needs no sign-in.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse

STATIC_DIR = Path(__file__).parent / "static"
# npm-installed browser libraries (package.json at the repository root; `make` runs npm ci).
NODE_MODULES = Path(os.environ.get("CALLCENTER_NODE_MODULES") or Path(__file__).resolve().parents[3] / "node_modules")
VENDOR = {"echarts.min.js": "echarts/dist/echarts.min.js"}

router = APIRouter(include_in_schema=False)

# path -> file under static/; later pages (desktop, wallboard, qa) add a line.
PAGES = {
    "/login": "login.html",
    "/home": "home.html",
    "/qa": "qa.html",
    "/desktop": "desktop.html",
    "/wallboard": "wallboard.html",
    "/customers": "customers.html",
    "/outbound": "outbound.html",
    "/reports": "reports.html",
    "/workorders": "workorders.html",
    # The admin console; each path opens its section.
    "/admin": "admin.html",
    "/users": "admin.html",
    "/queues": "admin.html",
    "/settings": "admin.html",
}


@router.get("/")
async def index() -> RedirectResponse:
    return RedirectResponse("/home")


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    from callcenter.web.docs import ASSETS

    return FileResponse(ASSETS / "favicon.png", media_type="image/png", headers={"Cache-Control": "max-age=86400"})


@router.get("/vendor/{name}")
async def vendor(name: str) -> FileResponse:
    """A browser library from node_modules (Apache ECharts), never a CDN: intranets have no internet."""
    rel = VENDOR.get(name)
    path = NODE_MODULES / rel if rel else None
    if path is None or not path.is_file():
        raise HTTPException(404, f"{name}: not installed (run `npm ci` in the repository, as `make` does)")
    return FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})


def _page(file: str):  # noqa: ANN202
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / file, headers={"Cache-Control": "no-cache"})

    return page


for _path, _file in PAGES.items():
    router.add_api_route(_path, _page(_file), methods=["GET"])
