"""The app starts the bridge when ami_enabled and /readyz reports it."""

from __future__ import annotations

import httpx
import pytest

from callcenter.ami.bridge import Bridge
from callcenter.ami.gateway import NotConnected
from callcenter.app import create_app
from callcenter.simulator.server import AmiServer
from tests.ami.conftest import USER, ami_settings, until


async def _readyz(settings) -> tuple[int, dict, Bridge]:  # noqa: ANN001
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        bridge: Bridge = app.state.bridge
        assert app.state.gateway is bridge.gateway
        await until(lambda: bridge.resynced or bridge.error, what="first outcome")
        await until(lambda: bridge.state != "connecting" and bridge.state != "connected")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            r = await client.get("/readyz")
            metrics = (await client.get("/metrics")).text
        state = "authenticated" if bridge.resynced else "lost"
        assert f'callcenter_ami_link_state{{callcenter_ami_link_state="{state}"}} 1.0' in metrics
        return r.status_code, r.json(), bridge


async def test_readyz_reports_ami_ok(server: AmiServer, db_url: str) -> None:
    settings = ami_settings(server.port, database_url=db_url)
    status, body, bridge = await _readyz(settings)
    assert status == 200, body
    assert body["checks"]["ami"] == {"ok": True, "state": "authenticated", "server": f"127.0.0.1:{server.port}"}
    assert bridge.state == "stopped"  # the lifespan stopped it


async def test_readyz_reports_a_rejected_login(server: AmiServer, db_url: str) -> None:
    settings = ami_settings(server.port, ami_secret="wrong", database_url=db_url, ami_backoff_initial_s=5, ami_backoff_max_s=10)
    status, body, _ = await _readyz(settings)
    assert status == 503
    ami = body["checks"]["ami"]
    assert ami["ok"] is False and ami["error"] == f"AMI login rejected for user {USER}"


async def test_without_ami_the_gateway_refuses_actions(app) -> None:  # noqa: ANN001
    assert "ami" not in app.state.readiness
    with pytest.raises(NotConnected, match="link is down"):
        await app.state.gateway.queue_pause("PJSIP/8001", True, reason="x")
