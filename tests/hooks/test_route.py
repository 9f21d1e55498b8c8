"""/hooks/route: the routing decision, its formats, its budget and fallbacks,
its correlation by Uniqueid, and the hook's own authentication."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, unquote
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select, text

from callcenter.acd.events import RouteDecided
from callcenter.acd.models import CallRecord, Outcome
from callcenter.app import create_app
from callcenter.crm.models import Customer, CustomerPhone, Grade, Ticket, TicketKind, Tier
from callcenter.db import Database
from callcenter.demo import COMPLAINT_LINE, HOTLINE, NIGHT_DUTY
from callcenter.hooks.models import RouteDecision
from callcenter.hooks.service import decision_for
from callcenter.hooks.writes import DECISION
from callcenter.spool import Spool

from ..conftest import make_settings

SH = ZoneInfo("Asia/Shanghai")
WEDNESDAY_10AM = datetime(2026, 1, 14, 10, 0, tzinfo=SH)


def fields(text: str) -> dict[str, str]:
    """What func_curl's hashcompat makes of a reply (it URI-decodes values)."""
    return {k: unquote(v) for k, v in (p.split("=", 1) for p in text.split("&"))}


async def add_customer(db, name: str, number: str, tier=Tier.regular, grade=Grade.C, language="zh", **kw) -> int:  # noqa: ANN001
    async with db.sessions() as s:
        c = Customer(name=name, tier=tier, grade=grade, language=language, phones=[CustomerPhone(number=number, raw=number)], **kw)
        s.add(c)
        await s.commit()
        return c.id


async def route(client, headers, **params) -> httpx.Response:  # noqa: ANN001
    params.setdefault("uniqueid", "1700000000.1")
    return await client.get("/hooks/route", params=params, headers=headers)


async def test_known_vip_goes_to_the_vip_line_with_priority_and_name(client, db, hook_headers, routing, acd):
    cid = await add_customer(db, "张建国", "13800138000", tier=Tier.vip, grade=Grade.A)
    r = await route(client, hook_headers, caller="+86 138 0013 8000", dnis=HOTLINE, choice="1", uniqueid="1700000000.7")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert "%E5%BC%A0" in r.text  # 张, URL-encoded for hashcompat
    f = fields(r.text)
    assert f["queue"] == "vip" and f["action"] == "queue"
    assert f["name"] == "张建国" and f["customer_id"] == str(cid) and f["lang"] == "zh"
    assert int(f["priority"]) == 10 + 3  # tier vip + grade A
    assert "tier:vip" in f["reason"] and "grade:A" in f["reason"] and "vip_line" in f["reason"]
    assert f["recording"].endswith("-1700000000.7-13800138000.wav") and f["fallback"] == "0"
    # Correlation: handed to the ACD core, and stored against the Uniqueid.
    [event] = acd.events
    assert isinstance(event, RouteDecided) and event.uniqueid == "1700000000.7" and event.queue == "vip"
    assert event.priority == 13 and event.customer_id == cid and event.choices == ("1",)
    await routing.log.flush()
    async with db.sessions() as s:
        stored = await decision_for(s, "1700000000.7")
    assert stored["queue"] == "vip" and stored["priority"] == 13 and stored["choices"] == ["1"]
    assert "tier:vip" in stored["reasons"]


async def test_ivr_choice_and_dnis_pick_the_queue(client, hook_headers, routing):
    cases = [(HOTLINE, "1", "repairs"), (HOTLINE, "2", "complaints"), (HOTLINE, "4", "fees"), (HOTLINE, "9", "enquiries"),
             (COMPLAINT_LINE, "", "complaints"), ("02012345678", "", "enquiries")]  # fmt: skip
    for dnis, choice, queue in cases:
        now = WEDNESDAY_10AM
        d = await routing.decide("13900000001", dnis, "1.1", choice, now=now.astimezone(UTC))
        assert d.queue == queue, (dnis, choice)


async def test_unknown_caller_gets_the_line_default(client, hook_headers, routing):
    r = await route(client, hook_headers, caller="13912345678", dnis=HOTLINE, choice="3", format="json")
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["queue"] == "enquiries" and body["priority"] == "0" and body["name"] == ""
    assert "unknown_caller" in body["reason"] and body["fallback"] == "0"


async def test_withheld_number(client, hook_headers, routing):
    r = await route(client, hook_headers, caller="", dnis=HOTLINE, choice="1")
    f = fields(r.text)
    assert f["queue"] == "repairs" and "anonymous" in f["reason"] and f["customer_id"] == ""
    # Inside opening hours (the HTTP call above may fall in the lunch break): recorded as anonymous.
    d = await routing.decide("", HOTLINE, "1.3", "1", now=WEDNESDAY_10AM.astimezone(UTC))
    assert d.action == "queue" and d.recording.endswith("-anonymous.wav")


async def test_json_by_accept_header(client, hook_headers, routing):
    r = await client.get("/hooks/route", params={"uniqueid": "1.2"}, headers={**hook_headers, "Accept": "application/json"})
    assert r.json()["queue"] == "enquiries"


async def test_recent_abandon_open_complaint_and_priority_flag_raise_priority(client, db, hook_headers, routing):
    now = datetime.now(UTC)
    cid = await add_customer(
        db, "李秀兰", "01065521234", priority_until=now + timedelta(hours=2), priority_reason="未接通回访"
    )
    async with db.sessions() as s:
        s.add(CallRecord(call_id="c1", uniqueid="1.0", queue="repairs", caller_number="+861065521234",
                         entered_at=now - timedelta(hours=1), outcome=Outcome.abandoned, wait_s=40))  # fmt: skip
        s.add(Ticket(customer_id=cid, number="01065521234", kind=TicketKind.complaint, subject="电梯噪音"))
        await s.commit()
    r = await route(client, hook_headers, caller="010-6552 1234", dnis=HOTLINE, choice="1")
    f = fields(r.text)
    assert int(f["priority"]) == 2 + 1 + 5 + 5 + 5  # regular, C, flag, abandon, complaint
    assert {"recent_abandon", "open_complaint", "priority_flag:未接通回访"} <= set(f["reason"].split(" "))
    assert f["open_ticket"] == "1"


async def test_old_abandons_and_expired_flags_do_not_count(client, db, hook_headers, routing, settings):
    now = datetime.now(UTC)
    await add_customer(db, "周明", "13700000000", priority_until=now - timedelta(minutes=1))
    async with db.sessions() as s:
        s.add(CallRecord(call_id="c2", uniqueid="2.0", queue="repairs", caller_number="13700000000",
                         entered_at=now - timedelta(hours=settings.priority_boost_hours + 1), outcome=Outcome.abandoned))  # fmt: skip
        s.add(CallRecord(call_id="c3", uniqueid="3.0", queue="repairs", caller_number="13700000000",
                         entered_at=now - timedelta(minutes=5), outcome=Outcome.abandoned, short_abandon=True))  # fmt: skip
        await s.commit()
    f = fields((await route(client, hook_headers, caller="13700000000", dnis=HOTLINE, choice="1")).text)
    assert f["priority"] == "3" and "recent_abandon" not in f["reason"] and "priority_flag" not in f["reason"]


async def test_after_hours_routes_to_the_duty_roster_or_voicemail(routing):
    night = datetime(2026, 1, 14, 22, 0, tzinfo=SH).astimezone(UTC)
    d = await routing.decide("13900000001", HOTLINE, "9.1", "1", now=night)
    assert (d.action, d.duty, d.queue) == ("duty", NIGHT_DUTY, "repairs") and "closed:winter" in d.reasons
    assert d.recording == ""
    d = await routing.decide("13900000001", HOTLINE, "9.2", "3", now=night)
    assert (d.action, d.voicemail) == ("voicemail", "800@callcenter")


async def test_slow_lookup_gets_the_safe_default_within_budget(client, hook_headers, routing, app, monkeypatch):
    async def slow(*args):  # noqa: ANN002, ANN202
        await asyncio.sleep(5)

    monkeypatch.setattr(app.state.settings, "hook_budget_ms", 300)

    await route(client, hook_headers, caller="13800138000")  # warm up: first-request imports are not the hook's
    app.state.routes.lookup = slow
    budget = app.state.settings.hook_budget_ms / 1000
    start = time.perf_counter()
    r = await route(client, hook_headers, caller="13800138000", dnis=HOTLINE, choice="1", uniqueid="1.slow")
    # The hook's own time is the promise; the test client's is only bounded
    # (a busy CI box can pause it, a hang would take the 5 s).
    assert time.perf_counter() - start < budget + 0.5
    f = fields(r.text)
    assert r.status_code == 200 and f["queue"] == "repairs" and f["fallback"] == "1" and "fallback:slow_lookup" in f["reason"]
    await routing.log.flush()
    async with app.state.db.sessions() as s:
        row = (await s.execute(select(RouteDecision).where(RouteDecision.uniqueid == "1.slow"))).scalar_one()
    assert 0.8 * budget * 1000 <= row.elapsed_ms < budget * 1000, row.elapsed_ms


async def test_lookup_error_gets_the_safe_default(client, hook_headers, routing, app):
    async def broken(*args):  # noqa: ANN002, ANN202
        raise RuntimeError("boom")

    app.state.routes.lookup = broken
    f = fields((await route(client, hook_headers, caller="13800138000", dnis=HOTLINE, choice="2")).text)
    assert f["queue"] == "complaints" and f["fallback"] == "1" and "fallback:lookup_error" in f["reason"]


async def test_database_down_still_answers(tmp_path):
    """No database at all (nothing listens on the port): the app starts, the
    hook answers the fallback queue inside its budget, never a 500."""
    settings = make_settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:9/none", hook_fallback_queue="repairs")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            await c.get("/hooks/route", params={"uniqueid": "1.8"}, headers={"X-Hook-Secret": settings.hook_secret})
            start = time.perf_counter()
            r = await c.get("/hooks/route", params={"caller": "13800138000", "uniqueid": "1.9", "dnis": HOTLINE},
                            headers={"X-Hook-Secret": settings.hook_secret})  # fmt: skip
            elapsed = time.perf_counter() - start
            # The failure opened the breaker: the next caller is not made to wait on a connect.
            again = await c.get("/hooks/route", params={"caller": "13800138001", "uniqueid": "1.10", "dnis": HOTLINE},
                                headers={"X-Hook-Secret": settings.hook_secret})  # fmt: skip
        # The lookup gives up at 80 % of the budget; the margin is the test
        # client and a busy CI box, not the hook (a hang would take seconds).
        assert r.status_code == 200 and elapsed < settings.hook_budget_ms / 1000 + 0.5, elapsed
        f = fields(r.text)
        assert f["queue"] == "repairs" and f["fallback"] == "1"
        f = fields(again.text)
        assert again.status_code == 200 and f["fallback"] == "1" and "fallback:database_down" in f["reason"], f
        await app.state.routes.log.flush()
        assert app.state.spool.busy(DECISION)  # kept, on disk, for when the database is back


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({}, "uniqueid"),
        ({"uniqueid": "1.1", "choice": "12a"}, "choice"),
        ({"uniqueid": "bad id"}, "uniqueid"),
        ({"uniqueid": "1.1", "format": "xml"}, "format"),
    ],
)
async def test_bad_parameters_are_400_naming_them(client, hook_headers, routing, params, name):
    r = await client.get("/hooks/route", params=params, headers=hook_headers)
    assert r.status_code == 400 and r.json()["detail"].startswith(name + ":")


async def test_hook_secret_header_or_query(client, settings, routing):
    assert (await client.get("/hooks/route", params={"uniqueid": "1.1"})).status_code == 401
    r = await client.get("/hooks/route", params={"uniqueid": "1.1"}, headers={"X-Hook-Secret": "wrong-secret-xxxxxxxx"})
    assert r.status_code == 401
    r = await client.get("/hooks/route", params={"uniqueid": "1.1", "secret": settings.hook_secret})
    assert r.status_code == 200
    # User tokens are not hook credentials.
    r = await client.get("/hooks/route", params={"uniqueid": "1.1"}, headers={"Authorization": "Bearer x"})
    assert r.status_code == 401


@pytest.mark.parametrize(("allow", "code"), [("10.0.0.0/8", 403), ("127.0.0.1", 200), ("10.1.2.3,127.0.0.0/24", 200)])
async def test_ip_allowlist(tmp_path, db_url, allow, code):
    settings = make_settings(database_url=db_url, hook_allowlist=allow)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            r = await c.get("/hooks/route", params={"uniqueid": "1.1"}, headers={"X-Hook-Secret": settings.hook_secret})
    assert r.status_code == code


async def test_decision_api_explains_a_call(client, make_user, hook_headers, routing):
    from callcenter.auth.models import Role

    lead = await make_user(Role.team_lead, queues=[("fees", 0)])
    await route(client, hook_headers, caller="13912345678", dnis=HOTLINE, choice="4", uniqueid="1700.55")
    r = await client.get("/api/routing/decisions/1700.55", headers=lead.headers)
    assert r.status_code == 200 and r.json()["queue"] == "fees" and r.json()["choices"] == ["4"]
    assert (await client.get("/api/routing/decisions/none.1", headers=lead.headers)).status_code == 404


def test_hashcompat_reply_round_trips_special_characters():
    from callcenter.hooks.api import reply

    text = reply({"name": "王 静&Co=1", "queue": "vip"}, as_json=False).body.decode()
    assert dict(parse_qsl(text)) == {"name": "王 静&Co=1", "queue": "vip"}
    assert fields(text)["name"] == "王 静&Co=1"


async def test_a_bug_in_the_decision_still_answers_the_fallback_queue(client, hook_headers, routing, app, monkeypatch):
    async def broken(*args, **kw):  # noqa: ANN002, ANN003, ANN202
        raise KeyError("oops")

    monkeypatch.setattr(app.state.routes, "decide", broken)
    r = await route(client, hook_headers, caller="13800138000", dnis=HOTLINE, choice="1")
    f = fields(r.text)
    assert r.status_code == 200 and f["queue"] == app.state.settings.hook_fallback_queue and f["fallback"] == "1"


async def test_lookup_recovers_from_a_dropped_database_connection(db_url, db, routing):
    """PostgreSQL: the server drops the hook's connection (a restart) and the
    next lookup replaces it on the spot; a server that refuses opens the
    breaker, so later callers get the default at once until it retries.
    SQLite: a lookup over its budget is stopped inside SQLite."""
    await add_customer(db, "李秀兰", "13800138000", tier=Tier.key, grade=Grade.B)
    d = await routing.decide("13800138000", HOTLINE, "2.1", "1")
    assert not d.fallback and d.name == "李秀兰"
    reader = routing.reader
    if db_url.startswith("sqlite"):
        with pytest.raises(TimeoutError):
            await reader.fetch("13800138000", ["13800138000"], datetime.now(UTC), -1.0)
        assert (await routing.decide("13800138000", HOTLINE, "2.2", "1")).name == "李秀兰"
        return
    async with db.engine.connect() as conn:
        killed = (await conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = 'callcenter-hooks' AND datname = current_database()"
        ))).scalar()  # fmt: skip
    assert killed == 1
    d = await routing.decide("13800138000", HOTLINE, "2.2", "1")
    assert not d.fallback and d.name == "李秀兰"

    good, reader.dsn, reader.retry_s = reader.dsn, "postgresql://postgres@127.0.0.1:9/none", 0.2
    for slot in [reader.slots.get_nowait() for _ in range(reader.slots.qsize())]:
        if slot is not None:
            slot[0].terminate()
        reader.slots.put_nowait(None)
    assert "fallback:lookup_error" in (await routing.decide("13800138000", HOTLINE, "2.3", "1")).reasons
    assert "fallback:database_down" in (await routing.decide("13800138000", HOTLINE, "2.4", "1")).reasons
    reader.dsn = good
    await asyncio.sleep(0.25)
    d = await routing.decide("13800138000", HOTLINE, "2.5", "1")
    assert not d.fallback and d.name == "李秀兰"


async def test_decisions_wait_out_a_database_outage(db_url, db, routing, tmp_path):
    """What the decision log could not write goes to the spool, later
    decisions queue behind it, and the spool writes them all when the
    database is back: nothing is lost, nothing written twice."""
    log = routing.log
    log.spool = spool = Spool(tmp_path / "spool.db")  # not the app's: its replayer would race this test
    await routing.decide("13800138000", HOTLINE, "3.1", "1")
    if db_url.startswith("postgresql"):
        good, log._pg_dsn = log._pg_dsn, "postgresql://postgres@127.0.0.1:9/none"
        await log.close()
    else:
        (tmp_path / "dir.db").mkdir()  # SQLite cannot open a directory
        good, log.db = log.db, Database(f"sqlite+aiosqlite:///{tmp_path / 'dir.db'}")
    await log.flush()
    assert not log.pending and spool.busy(DECISION) and len(spool) == 1
    await routing.decide("13800138000", HOTLINE, "3.2", "1")
    assert not log.pending and len(spool) == 2  # in order, behind the first
    if db_url.startswith("postgresql"):
        log._pg_dsn = good
    else:
        await log.db.dispose()
        log.db = good
    assert await spool.replay(db) == 2
    assert not spool.busy(DECISION) and await spool.replay(db) == 0
    await routing.decide("13800138000", HOTLINE, "3.3", "1")
    assert [r["uniqueid"] for r in log.pending] == ["3.3"]  # direct again
    await log.flush()
    async with db.sessions() as s:
        stored = (await s.execute(select(RouteDecision.uniqueid).where(RouteDecision.uniqueid.in_(["3.1", "3.2", "3.3"])))).scalars()
        assert sorted(stored) == ["3.1", "3.2", "3.3"]
        assert (await decision_for(s, "3.2"))["reasons"][0] == "unknown_caller"
