"""The HTTP SMS provider against a local fake gateway (a real HTTP server
on a free port), and the app's outbound background round."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from callcenter.outbound.sms import HttpSender, LoggingSender, make_sender


class FakeGateway(BaseHTTPRequestHandler):
    received: list[tuple[dict, str]] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeGateway.received.append((body, self.headers.get("Authorization", "")))
        self.send_response(FakeGateway.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": "m-1"}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_gateway():  # noqa: ANN201
    FakeGateway.received = []
    FakeGateway.status = 200
    srv = ThreadingHTTPServer(("127.0.0.1", 0), FakeGateway)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/sms"
    srv.shutdown()
    srv.server_close()


async def test_http_sender_posts_json_with_the_token(fake_gateway):
    sender = HttpSender(fake_gateway, token="s3cret")
    sent = await sender.send("13800138001", "您好，我们将尽快回电。", ref="callback:1")
    assert sent.ok and sent.provider == "http" and sent.detail.startswith("200")
    assert FakeGateway.received == [({"to": "13800138001", "text": "您好，我们将尽快回电。", "ref": "callback:1"}, "Bearer s3cret")]


async def test_http_sender_reports_refusals_and_a_dead_gateway(fake_gateway):
    FakeGateway.status = 503
    sent = await HttpSender(fake_gateway).send("13800138001", "x")
    assert not sent.ok and sent.detail.startswith("503")
    dead = await HttpSender("http://127.0.0.1:9/sms", timeout_s=1).send("13800138001", "x")
    assert not dead.ok


def test_make_sender_and_logging_sender():
    assert isinstance(make_sender("log"), LoggingSender)
    assert isinstance(make_sender("http", "http://127.0.0.1/sms"), HttpSender)
    with pytest.raises(ValueError, match="sms_url"):
        make_sender("http", "")


async def test_the_background_round_syncs_callbacks(db, settings, make_user):
    from datetime import UTC, datetime, timedelta

    from callcenter.acd.models import CallKind, CallRecord, Outcome
    from callcenter.app import create_app
    from callcenter.crm.models import CallbackTask
    from callcenter.outbound import jobs
    from sqlalchemy import select

    settings = settings.model_copy(update={"callback_sync_s": 0.05})
    async with db.sessions() as s:
        s.add(CallRecord(call_id="c1", uniqueid="u1", kind=CallKind.queue, queue="sales", caller_number="13800138001",
                         entered_at=datetime.now(UTC) - timedelta(minutes=5), wait_s=60, outcome=Outcome.abandoned, legs=[]))  # fmt: skip
        await s.commit()
    app = create_app(settings)
    import asyncio

    async with app.router.lifespan_context(app):
        for _ in range(100):
            async with db.sessions() as s:
                if (await s.scalars(select(CallbackTask))).first() is not None:
                    break
            await asyncio.sleep(0.05)
        assert [m[0] for m in app.state.sms_sender.sent] == ["13800138001"]
    del jobs
