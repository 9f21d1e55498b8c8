"""Log-in, tokens, cookies, throttling and user administration."""

from __future__ import annotations

import time

import jwt
import pytest

from callcenter.auth.models import AuditEntry, Role, User
from callcenter.auth.service import LoginThrottle, hash_password, issue_token, verify_password
from sqlalchemy import select


async def test_password_hash_is_argon2():
    h = hash_password("s3cret-pass")
    assert h.startswith("$argon2id$")
    assert verify_password(h, "s3cret-pass")
    assert not verify_password(h, "wrong")
    assert not verify_password("not-a-hash", "wrong")


async def test_login_returns_token_and_httponly_cookie(client, make_user, password):
    agent = await make_user(Role.agent, username="wang")
    r = await client.post("/api/auth/login", json={"username": "wang", "password": password})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["username"] == "wang" and body["user"]["role"] == "agent"
    cookie = r.headers["set-cookie"]
    assert "cc_token=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    # the token works as a bearer header ...
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["id"] == agent.user.id and me.json()["timezone"] == "Asia/Shanghai"  # pages show the centre's times
    # ... and the cookie alone works too
    client.cookies.set("cc_token", body["access_token"])
    me2 = await client.get("/api/auth/me")
    assert me2.status_code == 200 and me2.json()["username"] == "wang"


async def test_wrong_password_and_unknown_user_look_the_same(client, make_user):
    await make_user(Role.agent, username="li")
    a = await client.post("/api/auth/login", json={"username": "li", "password": "nope-nope"})
    b = await client.post("/api/auth/login", json={"username": "ghost", "password": "nope-nope"})
    assert a.status_code == b.status_code == 401
    assert a.json()["detail"] == b.json()["detail"] == "wrong username or password"


async def test_repeated_failures_lock_out_with_clear_message(client, make_user, password, settings):
    await make_user(Role.agent, username="zhang")
    for _ in range(settings.login_max_failures):
        r = await client.post("/api/auth/login", json={"username": "zhang", "password": "bad-pass"})
        assert r.status_code == 401
    r = await client.post("/api/auth/login", json={"username": "zhang", "password": password})
    assert r.status_code == 429
    assert "too many failed sign-ins for zhang" in r.json()["detail"]
    assert int(r.headers["Retry-After"]) > 0
    # another user from the same address is not affected
    await make_user(Role.agent, username="zhao")
    ok = await client.post("/api/auth/login", json={"username": "zhao", "password": password})
    assert ok.status_code == 200


def test_throttle_expires():
    now = [1000.0]
    t = LoginThrottle(max_failures=3, lockout_s=60, clock=lambda: now[0])
    for _ in range(3):
        t.failed("u", "1.2.3.4")
    assert 0 < t.retry_after("u", "1.2.3.4") <= 61
    now[0] += 61
    assert t.retry_after("u", "1.2.3.4") == 0
    t.failed("u", "1.2.3.4")
    t.succeeded("u", "1.2.3.4")
    assert t.retry_after("u", "1.2.3.4") == 0


async def test_expired_and_forged_tokens_are_refused(client, make_user, settings):
    actor = await make_user(Role.admin)
    expired = issue_token(actor.user, settings.jwt_secret, 120, now=time.time() - 3600)
    r = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    forged = jwt.encode({"sub": str(actor.user.id), "role": "admin", "exp": time.time() + 60}, "x" * 32, "HS256")
    r = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and r.json()["detail"] == "invalid token"


async def test_deactivated_user_is_cut_off_at_once(client, make_user, db):
    actor = await make_user(Role.agent)
    assert (await client.get("/api/auth/me", headers=actor.headers)).status_code == 200
    async with db.sessions() as s:
        u = await s.get(User, actor.user.id)
        u.active = False
        await s.commit()
    assert (await client.get("/api/auth/me", headers=actor.headers)).status_code == 401


async def test_admin_creates_user_with_skills_and_it_is_audited(client, make_user, db, password):
    admin = await make_user(Role.admin)
    body = {
        "username": "agent8001",
        "password": "longenough1",
        "display_name": "陈静",
        "role": "agent",
        "interface": "PJSIP/8001",
        "skills": [{"queue": "repairs", "penalty": 0}, {"queue": "complaints", "penalty": 2}],
    }
    r = await client.post("/api/users", json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["display_name"] == "陈静"
    assert {(s["queue"], s["penalty"]) for s in out["skills"]} == {("repairs", 0), ("complaints", 2)}
    dup = await client.post("/api/users", json=body, headers=admin.headers)
    assert dup.status_code == 409
    async with db.sessions() as s:
        rows = (await s.execute(select(AuditEntry).where(AuditEntry.action == "user.create"))).scalars().all()
    assert [(a.actor, a.target) for a in rows] == [(admin.user.username, "agent8001")]


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"interface": "8001"}, "interface"),
        ({"role": "boss"}, "role"),
        ({"skills": [{"queue": "bad queue!", "penalty": 0}]}, "skills.0.queue"),
        ({"skills": [{"queue": "ok", "penalty": -1}]}, "skills.0.penalty"),
    ],
)
async def test_bad_user_input_names_the_field(client, make_user, patch, field):
    admin = await make_user(Role.admin)
    target = await make_user(Role.agent)
    r = await client.patch(f"/api/users/{target.user.id}", json=patch, headers=admin.headers)
    assert r.status_code == 422
    assert any(e["field"] == field for e in r.json()["errors"]), r.json()


async def test_update_replaces_skills(client, make_user):
    admin = await make_user(Role.admin)
    target = await make_user(Role.agent, queues=[("repairs", 0)])
    r = await client.patch(
        f"/api/users/{target.user.id}", json={"skills": [{"queue": "vip", "penalty": 1}]}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["skills"] == [{"queue": "vip", "penalty": 1}]


async def test_agent_may_change_own_password_only(client, make_user, password):
    a = await make_user(Role.agent, username="self")
    b = await make_user(Role.agent)
    new = {"password": "Kx9-another-pass", "current_password": password}
    r = await client.put(f"/api/users/{b.user.id}/password", json=new, headers=a.headers)
    assert r.status_code == 403
    r = await client.put(f"/api/users/{a.user.id}/password", json=new, headers=a.headers)
    assert r.status_code == 204
    ok = await client.post("/api/auth/login", json={"username": "self", "password": "Kx9-another-pass"})
    assert ok.status_code == 200
    old = await client.post("/api/auth/login", json={"username": "self", "password": password})
    assert old.status_code == 401
