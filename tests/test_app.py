"""Health, readiness, metrics, request ids, configuration errors."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

from callcenter.app import create_app
from callcenter.config import SettingsError, load_settings
from callcenter.logs import JsonFormatter, request_id

from .conftest import make_settings


async def test_healthz_and_readyz(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"]["database"] == {"ok": True}


async def test_readyz_reports_a_dead_database(tmp_path):
    # a directory where the database file should be: SQLite cannot open it
    bad = tmp_path / "dir.db"
    bad.mkdir()
    app = create_app(make_settings(database_url=f"sqlite+aiosqlite:///{bad}"))
    import httpx

    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            r = await c.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["database"]["ok"] is False


async def test_request_id_is_echoed_or_made(client):
    r = await client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert r.headers["x-request-id"] == "abc123"
    r = await client.get("/healthz")
    assert len(r.headers["x-request-id"]) == 16


async def test_access_log_keeps_answered_routes_at_debug(client, settings, caplog):
    """Every request gets a line, except an answered /hooks/route, which is
    in route_decisions already: its line is DEBUG, a refused one INFO."""
    with caplog.at_level(logging.DEBUG, logger="callcenter.http"):
        ok = await client.get("/hooks/route", params={"uniqueid": "1.1"}, headers={"X-Hook-Secret": settings.hook_secret})
        refused = await client.get("/hooks/route", params={"uniqueid": "1.2"})
        await client.get("/api/queues")
    assert (ok.status_code, refused.status_code) == (200, 401)
    assert [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "callcenter.http"] == [
        (logging.DEBUG, "GET /hooks/route 200"),
        (logging.INFO, "GET /hooks/route 401"),
        (logging.INFO, "GET /api/queues 401"),
    ]


async def test_metrics_count_requests(client):
    await client.get("/api/queues")
    text = (await client.get("/metrics")).text
    assert 'callcenter_http_requests_total{method="GET",route="/api/queues",status="401"}' in text


async def test_openapi_lists_the_api(client):
    spec = (await client.get("/openapi.json")).json()
    assert "/api/auth/login" in spec["paths"]
    assert (await client.get("/docs")).status_code == 200


def test_json_log_lines_carry_the_request_id():
    rec = logging.LogRecord("callcenter.http", logging.INFO, "f", 1, "GET %s", ("/x",), None)
    rec.status = 200
    tok = request_id.set("rid-1")
    try:
        line = json.loads(JsonFormatter().format(rec))
    finally:
        request_id.reset(tok)
    assert line["msg"] == "GET /x" and line["request_id"] == "rid-1" and line["status"] == 200


@pytest.mark.parametrize(
    "env, needle",
    [
        ({"CALLCENTER_DATABASE_URL": "mysql://x"}, "CALLCENTER_DATABASE_URL: must use an async driver"),
        ({"CALLCENTER_TIMEZONE": "Mars/Olympus"}, "CALLCENTER_TIMEZONE: unknown time zone"),
        ({"CALLCENTER_AMI_PORT": "99999"}, "CALLCENTER_AMI_PORT"),
        ({"CALLCENTER_JWT_SECRET": "short"}, "CALLCENTER_JWT_SECRET"),
        ({"CALLCENTER_HOOK_ALLOWLIST": "10.0.0.0/8,not-an-ip"}, "'not-an-ip' is not an IP address"),
    ],
)
def test_bad_setting_is_named(env, needle, monkeypatch):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SettingsError) as e:
        load_settings()
    assert needle in str(e.value)


def test_cli_reports_bad_setting_without_traceback(tmp_path):
    env = {**os.environ, "CALLCENTER_DATABASE_URL": "mysql://nope", "CALLCENTER_ENV_FILE": str(tmp_path / "none")}
    p = subprocess.run(
        [sys.executable, "-m", "callcenter", "migrate"], env=env, capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 2
    assert "CALLCENTER_DATABASE_URL: must use an async driver" in p.stderr
    assert "Traceback" not in p.stderr


def test_env_file_is_read(tmp_path, monkeypatch):
    f = tmp_path / "cc.env"
    f.write_text("CALLCENTER_AMI_HOST=pbx.example\nCALLCENTER_HOOK_ALLOWLIST=127.0.0.1,10.1.0.0/16\n")
    from callcenter.config import Settings

    s = Settings(_env_file=str(f))
    assert s.ami_host == "pbx.example"
    assert s.hook_allowlist == ["127.0.0.1", "10.1.0.0/16"]
