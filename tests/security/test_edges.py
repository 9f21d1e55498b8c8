"""Hooks take the caller IDs Asterisk really sends; Big5 is told from GBK;
security headers and the websocket Origin check (issue 13)."""

from __future__ import annotations

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from callcenter.auth.models import Role
from callcenter.crm.imports import decode


@pytest.mark.parametrize(
    ("caller", "number"),
    [
        ("anonymous", ""),
        ("Anonymous", ""),
        ("withheld", ""),
        ("Unknown", ""),
        ("Restricted", ""),
        ("<unknown>", ""),
        ("", ""),
        ("sip:anonymous@anonymous.invalid", ""),
        ("sip:13812348000@10.0.0.1:5060;user=phone", "13812348000"),
        ("<sip:+8613812348000@carrier.example>", "13812348000"),
        ("tel:+86-10-6552-1234", "01065521234"),
        ("+8613812348000", "13812348000"),
        ("008613812348000", "13812348000"),
        ("13812348000;drop", ""),
    ],
)
async def test_route_answers_real_caller_ids(client, settings, caller, number):
    r = await client.get("/hooks/route", params={"uniqueid": "1.1", "caller": caller, "format": "json"}, headers={"X-Hook-Secret": settings.hook_secret})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["queue"] and body["action"] == "queue"
    if not number:
        assert "anonymous" in body["reason"]


async def test_a_withheld_caller_can_book_a_callback_with_a_keyed_number(client, settings):
    h = {"X-Hook-Secret": settings.hook_secret}
    r = await client.get("/hooks/callback", params={"uniqueid": "1.2", "caller": "anonymous", "number": "13812348000", "format": "json"}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "created" and r.json()["task"]
    r = await client.get("/hooks/survey", params={"uniqueid": "1.2", "score": "5", "caller": "Restricted"}, headers=h)
    assert r.status_code == 200


def test_big5_is_told_from_gbk():
    big5 = "姓名,電話\n陳大文,13800138000\n".encode("big5")
    gbk = "姓名,电话\n陈大文,13800138000\n".encode("gbk")
    gb_trad = "name,phones\n陳大文,13800138000\n".encode("gb18030")
    assert decode(big5) == ("姓名,電話\n陳大文,13800138000\n", "big5")
    assert decode(gbk) == ("姓名,电话\n陈大文,13800138000\n", "gb18030")
    assert decode(gb_trad)[0].startswith("name,phones\n陳大文")
    assert decode("\ufeff姓名,电话\n".encode("utf-8"))[1] == "utf-8"
    assert decode("姓名,电话\n".encode("utf-16"))[1] == "utf-16"
    with pytest.raises(ValueError, match="NUL"):
        decode(b"name,phones\n\x00\x01\x02,1\n")


async def test_a_big5_file_imports_as_written(client, make_user):
    admin = await make_user(Role.admin)
    data = "姓名,電話,地址\n陳大文,13800138000,香港九龍彌敦道1號\n".encode("big5")
    r = await client.post("/api/customers/import", files={"file": ("客戶.csv", data, "text/csv")}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["encoding"] == "big5" and r.json()["imported"] == 1
    found = (await client.get("/api/customers", params={"q": "陳大文"}, headers=admin.headers)).json()["items"]
    assert [c["name"] for c in found] == ["陳大文"]


async def test_pages_and_api_carry_the_security_headers(client):
    for path in ("/login", "/wallboard", "/healthz", "/api/auth/me"):
        r = await client.get(path)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["x-content-type-options"] == "nosniff"


async def test_no_page_needs_an_inline_script():
    from pathlib import Path
    import re

    static = Path(__file__).resolve().parents[2] / "src" / "callcenter" / "web" / "static"
    for page in static.glob("*.html"):
        html = page.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, f"{page.name}: inline <script> is refused by the CSP"
        assert not re.search(r"\son[a-z]+=\"", html), f"{page.name}: inline event handler"


async def test_websocket_origin_is_checked_against_the_public_url(settings, make_user):
    from ..livesrv import LiveServer

    agent = await make_user(Role.agent)
    srv = LiveServer(settings.model_copy(update={"public_url": "https://cc.example.cn"})).start()
    try:
        url = srv.url.replace("http", "ws") + "/ws"
        with pytest.raises(InvalidStatus) as err:
            await connect(url, additional_headers=agent.headers, origin="https://evil.example", open_timeout=5)
        assert err.value.response.status_code == 403
        ok = await connect(url, additional_headers=agent.headers, origin="https://cc.example.cn", open_timeout=5)
        assert '"hello"' in await ok.recv()
        await ok.close()
        no_origin = await connect(url, additional_headers=agent.headers, open_timeout=5)  # not a browser
        await no_origin.close()
    finally:
        srv.stop()
    # Without a public URL: the page's own host only.
    srv = LiveServer(settings).start()
    try:
        url = srv.url.replace("http", "ws") + "/ws"
        with pytest.raises(InvalidStatus):
            await connect(url, additional_headers=agent.headers, origin="http://evil.example", open_timeout=5)
        ok = await connect(url, additional_headers=agent.headers, origin=srv.url, open_timeout=5)
        await ok.close()
    finally:
        srv.stop()
