"""Screen-pops: pushed at once to the rung agent only, enriched by one
customer lookup per call (shared by every agent it rings), updated on
answer, cleared on hang-up; an unknown caller pops as a new customer."""

from __future__ import annotations

import asyncio
import json
import sys
import types

import pytest

from callcenter.auth.models import Role
from callcenter.realtime.hub import Hub
from callcenter.realtime.screenpop import CustomerLookup

from .fakes import FakeAcd
from .test_backpressure import StubWS, principal

A, B = "PJSIP/8401", "PJSIP/8402"


@pytest.fixture
def crm(monkeypatch):  # noqa: ANN001, ANN201
    """A CRM with one known customer, standing in for callcenter.crm.service."""
    calls: list[str] = []
    mod = types.ModuleType("callcenter.crm.service")

    async def find_by_number(session, number, default_area_code=""):  # noqa: ANN001, ANN202
        calls.append(number)
        if number != "13912345678":
            return None
        return {"id": 7, "name": "陈先生", "address": "阳光花园", "unit": "3-2-501", "grade": "A",
                "vip_tier": "gold", "account_manager": "李经理", "notes": "prefers mornings"}

    async def recent_interactions(session, number, default_area_code="", limit=5):  # noqa: ANN001, ANN202
        return [{"at": f"2026-11-{20 - i:02d}T09:00:00", "kind": "call", "summary": f"报修 {i}"} for i in range(limit + 3)][:limit]

    async def open_tickets(session, customer_id):  # noqa: ANN001, ANN202
        return [{"id": 42, "title": "漏水", "status": "open"}]

    mod.find_by_number, mod.recent_interactions, mod.open_tickets = find_by_number, recent_interactions, open_tickets
    monkeypatch.setitem(sys.modules, "callcenter.crm.service", mod)
    return calls


async def _agent(hub: Hub, iface: str) -> tuple[StubWS, asyncio.Task]:
    ws = StubWS()
    task = asyncio.create_task(hub.serve(ws, principal(Role.agent, iface)))
    ws.inbox.put_nowait(json.dumps({"op": "subscribe", "topic": "agent:" + iface}))
    await asyncio.sleep(0.02)
    return ws, task


def pops(ws: StubWS) -> list[dict]:
    return [m["data"]["pop"] for m in ws.sent if m["type"] == "delta" and "pop" in m["data"]]


async def settle(cond, timeout_s: float = 5.0) -> None:  # noqa: ANN001
    """Wait until cond() holds: a loaded CI box may take longer than a fixed sleep."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not cond():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def has_lookup(ws: StubWS) -> bool:
    return bool(pops(ws)) and pops(ws)[-1].get("lookup") is not None


async def test_pop_lifecycle_and_one_lookup_per_call(db, crm):
    hub = Hub(lookup=CustomerLookup(db))
    acd = FakeAcd()
    hub.attach(acd)
    for iface in (A, B):
        acd.do("member_added", iface, "repairs")
    wa, ta = await _agent(hub, A)
    wb, tb = await _agent(hub, B)

    acd.do("caller_joined", "call-1", "repairs", "13912345678", "CHEN")
    acd.do("ring", A, "call-1")
    await settle(lambda: pops(wa))
    first = pops(wa)[0]  # at once, before any lookup finished
    assert first["phase"] == "ringing" and first["call"]["caller_number"] == "13912345678"
    assert first["call"]["caller_name"] == "CHEN" and first["lookup"] is None
    acd.do("ring", B, "call-1")  # ringall: B rings too
    await settle(lambda: has_lookup(wa) and has_lookup(wb))
    enriched = pops(wa)[-1]["lookup"]
    assert enriched["customer"]["name"] == "陈先生" and enriched["customer"]["vip_tier"] == "gold"
    assert len(enriched["interactions"]) == 5 and enriched["tickets"][0]["title"] == "漏水"
    assert pops(wb)[-1]["lookup"]["customer"]["unit"] == "3-2-501"
    assert crm == ["13912345678"]  # one lookup for the call, not per agent

    acd.do("answer", A, "call-1")
    await settle(lambda: pops(wa)[-1]["phase"] == "answered")
    answered = pops(wa)[-1]
    assert answered["phase"] == "answered" and answered["lookup"]["customer"]["id"] == 7  # no new lookup
    # reconnecting mid-call gets the pop in the snapshot
    assert hub.snapshot_data(next(iter(hub.clients)), "agent:" + A)["pop"]["phase"] == "answered"
    acd.do("hangup", A, "call-1")
    # the card stays through wrap-up (the agent writes the note with the caller in view) ...
    await settle(lambda: pops(wa)[-1]["phase"] == "wrap_up")
    assert pops(wa)[-1]["lookup"]["customer"]["name"] == "陈先生"
    assert hub.snapshot_data(next(iter(hub.clients)), "agent:" + A)["pop"]["phase"] == "wrap_up"
    acd.do("member_added", B, "complaints")  # another agent's change leaves it alone
    assert pops(wa)[-1]["phase"] == "wrap_up"
    # ... and goes when the wrap-up is over
    acd.do("disposition", A)
    await settle(lambda: pops(wa)[-1]["phase"] == "cleared")
    assert pops(wa)[-1] == {"call_id": "call-1", "phase": "cleared"}
    assert hub.pops.get(A) is None
    assert crm == ["13912345678"]
    # B never saw A's answer or A's clear
    assert all(p["phase"] == "ringing" for p in pops(wb))
    ta.cancel(), tb.cancel()


async def test_unknown_caller_still_pops_as_new_customer(db, crm):
    hub = Hub(lookup=CustomerLookup(db))
    acd = FakeAcd()
    hub.attach(acd)
    acd.do("member_added", A, "repairs")
    wa, ta = await _agent(hub, A)
    acd.do("caller_joined", "call-2", "repairs", "075500000000")
    acd.do("ring", A, "call-2")
    await settle(lambda: has_lookup(wa))
    last = pops(wa)[-1]
    assert last["phase"] == "ringing" and last["lookup"]["customer"] is None and last["lookup"]["crm"] is True
    ta.cancel()


async def test_pop_without_a_crm(db):
    hub = Hub(lookup=CustomerLookup(db))
    acd = FakeAcd()
    hub.attach(acd)
    acd.do("member_added", A, "repairs")
    wa, ta = await _agent(hub, A)
    acd.do("caller_joined", "call-3", "repairs", "13912345678", "CHEN")
    acd.do("ring", A, "call-3")
    await settle(lambda: has_lookup(wa))
    last = pops(wa)[-1]
    assert last["lookup"] == {"customer": None, "interactions": [], "tickets": None, "route": None,
                              "crm": "callcenter.crm.service" in sys.modules}
    ta.cancel()


async def test_a_lookup_in_flight_is_finished_before_the_database_closes(settings):
    """The app stops while a pop's customer lookup holds a database
    connection: the lookup unwinds while the database is still open, so
    nothing is left waiting on a closed connection when the loop ends."""
    from sqlalchemy import text

    from callcenter.app import create_app

    app = create_app(settings)
    started = asyncio.Event()
    async with app.router.lifespan_context(app):
        hub, db = app.state.hub, app.state.db

        async def slow_lookup(call_id, call):  # noqa: ANN001, ANN202 - a query the shutdown interrupts
            async with db.sessions() as s:
                await s.execute(text("SELECT 1"))
                started.set()
                await asyncio.sleep(30)

        hub.lookup = slow_lookup
        call = {"call_id": "c1", "caller_number": "13912345678"}
        hub.pops["PJSIP/8001"] = {"call_id": "c1", "phase": "ringing", "call": call, "lookup": None}  # on a screen: looked up
        hub._start_lookup("c1", call)
        await asyncio.wait_for(started.wait(), 5)
    left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert left == []


async def test_lookups_are_bounded_and_skipped_once_off_screen():
    """A resync pops every call it finds at once: at most LOOKUP_CONCURRENCY
    lookups hold a database connection (unbounded, they took the whole pool
    and the ACD's writes waited out its timeout), and one whose call left
    every screen while it waited is not run at all."""
    from callcenter.realtime.hub import LOOKUP_CONCURRENCY, Hub

    running, most, ran = 0, 0, []
    release = asyncio.Event()

    async def lookup(call_id, call):  # noqa: ANN001, ANN202
        nonlocal running, most
        running += 1
        most = max(most, running)
        ran.append(call_id)
        await release.wait()
        running -= 1
        return {"customer": None}

    hub = Hub(lookup=lookup)
    for i in range(20):
        hub.pops[f"PJSIP/{8000 + i}"] = {"call_id": f"c{i}", "phase": "ringing", "call": {"call_id": f"c{i}"}, "lookup": None}
        hub._start_lookup(f"c{i}", {"call_id": f"c{i}"})
    await asyncio.sleep(0.05)
    assert most == LOOKUP_CONCURRENCY
    del hub.pops["PJSIP/8019"]  # that caller hung up while its lookup queued
    release.set()
    await asyncio.wait(list(hub._lookup_tasks), timeout=5)
    assert most == LOOKUP_CONCURRENCY and "c19" not in ran and len(ran) == 19
    assert hub.pops["PJSIP/8000"]["lookup"] == {"customer": None}
