"""Sessions (issue 13): sign-out, password change and deactivation revoke
tokens and close websockets within 1 s; a password change needs the old
password; common passwords are refused; a password spray from one address
is throttled; the published development key signs nothing."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest
from sqlalchemy import update
from websockets.exceptions import ConnectionClosed

from callcenter.app import create_app
from callcenter.auth.models import Role, User
from callcenter.auth.service import issue_token
from callcenter.config import DEV_JWT_SECRET, load_settings

STRONG = "Kx9-long-enough-pass"


async def closed_within(ws, seconds: float) -> int:  # noqa: ANN001
    """The close code, which must arrive within `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                await ws.conn.recv()
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else -1


async def test_logout_revokes_the_token_and_closes_its_websocket(live, ws_connect, make_user):
    import httpx

    agent = await make_user(Role.agent)
    ws = await ws_connect(agent)
    async with httpx.AsyncClient(base_url=live.url) as c:
        assert (await c.get("/api/auth/me", headers=agent.headers)).status_code == 200
        assert (await c.post("/api/auth/logout", headers=agent.headers)).status_code == 204
        assert await closed_within(ws, 1.0) == 4401
        r = await c.get("/api/auth/me", headers=agent.headers)
        assert r.status_code == 401 and "signed out" in r.json()["detail"]


async def test_password_change_needs_the_old_one_and_ends_every_session(live, ws_connect, make_user, password):
    import httpx

    agent = await make_user(Role.agent)
    other_tab = issue_token(agent.user, live.app.state.settings.jwt_secret, 600)
    ws = await ws_connect(agent)
    url = f"/api/users/{agent.user.id}/password"
    async with httpx.AsyncClient(base_url=live.url) as c:
        r = await c.put(url, json={"password": STRONG}, headers=agent.headers)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "current_password"
        r = await c.put(url, json={"password": STRONG, "current_password": "not-it-at-all"}, headers=agent.headers)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "current_password"
        r = await c.put(url, json={"password": STRONG, "current_password": password}, headers=agent.headers)
        assert r.status_code == 204, r.text
        assert await closed_within(ws, 1.0) == 4401
        for token in (agent.token, other_tab):
            assert (await c.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401
        assert (await c.post("/api/auth/login", json={"username": agent.user.username, "password": STRONG})).status_code == 200


async def test_deactivation_closes_the_open_websocket_within_a_second(live, ws_connect, make_user):
    import httpx

    admin = await make_user(Role.admin)
    agent = await make_user(Role.agent)
    ws = await ws_connect(agent)
    await ws.subscribe("agent:" + agent.user.interface)
    async with httpx.AsyncClient(base_url=live.url) as c:
        r = await c.patch(f"/api/users/{agent.user.id}", json={"active": False}, headers=admin.headers)
        assert r.status_code == 200
    started = time.monotonic()
    assert await closed_within(ws, 1.0) == 4401
    assert time.monotonic() - started < 1.0


async def test_a_revocation_made_elsewhere_closes_the_websocket_at_the_next_check(settings, make_user, db):
    """Another node bumped the token version in the shared database."""
    from ..livesrv import LiveServer
    from ..realtime.conftest import WS

    from websockets.asyncio.client import connect

    srv = LiveServer(settings.model_copy(update={"ws_recheck_s": 0.2})).start()
    try:
        agent = await make_user(Role.agent)
        conn = await connect(srv.url.replace("http", "ws") + "/ws", additional_headers=agent.headers, open_timeout=5)
        ws = WS(conn)
        assert (await ws.recv())["type"] == "hello"
        async with db.sessions() as s:
            await s.execute(update(User).where(User.id == agent.user.id).values(token_version=User.token_version + 1))
            await s.commit()
        assert await closed_within(ws, 3.0) == 4401
    finally:
        srv.stop()


@pytest.mark.parametrize("weak", ["password", "12345678", "password123", "qwertyuiop", "agent0001"])
async def test_common_passwords_are_refused(client, make_user, password, weak):
    admin = await make_user(Role.admin)
    agent = await make_user(Role.agent, username="agent0001")
    body = {"username": "newbie", "password": weak, "display_name": "新人", "role": "agent"}
    r = await client.post("/api/users", json=body, headers=admin.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "password", r.text
    r = await client.put(f"/api/users/{agent.user.id}/password", json={"password": weak, "current_password": password}, headers=agent.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "password", r.text
    assert (await client.post("/api/users", json={**body, "password": STRONG}, headers=admin.headers)).status_code == 201


async def test_a_password_spray_from_one_address_is_throttled(client, make_user, settings):
    for i in range(20):
        await make_user(Role.agent, username=f"spray{i:02d}")
    codes = []
    for i in range(20):
        r = await client.post("/api/auth/login", json={"username": f"spray{i:02d}", "password": "Summer2026!"})
        codes.append(r.status_code)
    assert codes[: settings.login_max_failures_per_ip] == [401] * settings.login_max_failures_per_ip
    assert set(codes[settings.login_max_failures_per_ip :]) == {429}, codes
    assert int(r.headers["Retry-After"]) > 0


async def test_the_published_development_key_signs_nothing(db_url, make_user):
    """A token signed with the default key in the source, as admin for ten
    years, is refused: development signs with a random key of the process."""
    settings = load_settings(database_url=db_url, ami_enabled=False, log_format="console")
    assert settings.jwt_secret != DEV_JWT_SECRET
    admin = await make_user(Role.admin)
    forged = jwt.encode(
        {"sub": str(admin.user.id), "role": "admin", "name": "x", "tv": 0, "jti": "f" * 32, "exp": int(time.time()) + 10 * 365 * 86400},
        DEV_JWT_SECRET,
        "HS256",
    )
    import httpx

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            assert (await c.get("/api/audit", headers={"Authorization": f"Bearer {forged}"})).status_code == 401
