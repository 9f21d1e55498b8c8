"""The websocket protocol over a real socket: snapshot then ordered deltas,
resume with and without a gap, forbidden topics, coalescing, and no
database query per update."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from callcenter.auth.models import Role

ME = "PJSIP/8101"


async def test_snapshot_then_ordered_deltas(live, ws_connect, make_user):
    agent = await make_user(Role.agent, interface=ME)
    live.do("member_added", ME, "repairs", "王静")
    ws = await ws_connect(agent)
    assert ws.hello["user"]["interface"] == ME
    snap = await ws.subscribe("agent:" + ME)
    assert snap["type"] == "snapshot" and snap["data"]["agent"]["state"] == "available"
    base = snap["seq"]
    live.do("paused", ME, True, "break")
    live.do("paused", ME, False)
    d1, d2 = await ws.recv(), await ws.recv()
    assert [d1["type"], d2["type"]] == ["delta", "delta"]
    assert [d1["seq"], d2["seq"]] == [base + 1, base + 2]
    assert d1["data"]["agent"]["state"] == "paused" and d1["data"]["agent"]["reason"] == "break"
    assert d2["data"]["agent"]["state"] == "available"


async def test_reconnect_without_gap_gets_exactly_the_missed_deltas(live, ws_connect, make_user):
    agent = await make_user(Role.agent, interface=ME)
    live.do("member_added", ME, "repairs")
    ws = await ws_connect(agent)
    snap = await ws.subscribe("agent:" + ME)
    await ws.conn.close()
    live.do("paused", ME, True, "meal")  # missed while away
    live.do("paused", ME, False)
    ws2 = await ws_connect(agent)
    first = await ws2.subscribe("agent:" + ME, since=snap["seq"], epoch=snap["epoch"])
    assert first["type"] == "resumed" and first["seq"] == snap["seq"]
    got = [await ws2.recv(), await ws2.recv()]
    assert [m["seq"] for m in got] == [snap["seq"] + 1, snap["seq"] + 2]
    assert [m["data"]["agent"]["state"] for m in got] == ["paused", "available"]
    live.do("paused", ME, True, "training")  # and live deltas continue after them
    nxt = await ws2.recv()
    assert nxt["seq"] == snap["seq"] + 3 and nxt["data"]["agent"]["reason"] == "training"
    assert await ws2.quiet(0.2) == []


async def test_reconnect_with_a_gap_gets_a_fresh_snapshot(live, ws_connect, make_user):
    live.hub.history_len = 3
    agent = await make_user(Role.agent, interface=ME)
    live.do("member_added", ME, "repairs")
    ws = await ws_connect(agent)
    snap = await ws.subscribe("agent:" + ME)
    await ws.conn.close()
    for i in range(6):  # more than the history holds
        live.do("paused", ME, i % 2 == 0, "break")
    live.do("paused", ME, True, "meeting")
    ws2 = await ws_connect(agent)
    fresh = await ws2.subscribe("agent:" + ME, since=snap["seq"], epoch=snap["epoch"])
    assert fresh["type"] == "snapshot" and fresh["seq"] == snap["seq"] + 7
    assert fresh["data"]["agent"]["reason"] == "meeting"  # the current truth, not stale


async def test_reconnect_to_a_restarted_server_gets_a_snapshot(live, ws_connect, make_user):
    agent = await make_user(Role.agent, interface=ME)
    ws = await ws_connect(agent)
    snap = await ws.subscribe("agent:" + ME)
    # A seq from another server life (other epoch) must never be trusted.
    again = await ws.subscribe("agent:" + ME, since=snap["seq"], epoch="0123456789ab")
    assert again["type"] == "snapshot"


async def test_forbidden_topics(live, ws_connect, make_user, make_team):
    agent = await make_user(Role.agent, interface=ME)
    other = await make_user(Role.agent, interface="PJSIP/8102")
    lead = await make_user(Role.team_lead, queues=[("repairs", 0)])
    await make_team(lead, other)
    qa = await make_user(Role.qa)
    ws = await ws_connect(agent)
    for topic in ("wallboard", "supervisor", "centre", "agent:PJSIP/8102", "nonsense"):
        err = await ws.subscribe(topic)
        assert err["type"] == "error" and err["code"] == 403, err
    ok = await ws.subscribe("agent:" + ME)
    assert ok["type"] == "snapshot"
    qws = await ws_connect(qa)
    assert (await qws.subscribe("wallboard"))["code"] == 403
    lws = await ws_connect(lead)
    assert (await lws.subscribe("agent:PJSIP/8102"))["type"] == "snapshot"  # in the lead's team
    assert (await lws.subscribe("agent:" + ME))["code"] == 403  # not in the lead's team
    assert (await lws.subscribe("wallboard"))["type"] == "snapshot"
    # one site (no CALLCENTER_CLUSTER_SITES): no centre topic, and the refusal says why
    err = await lws.subscribe("centre")
    assert err["code"] == 403 and "one site" in err["message"], err
    # a forbidden topic never receives deltas
    live.do("member_added", "PJSIP/8102", "repairs")
    assert not [m for m in await ws.quiet(0.3) if m.get("topic") == "agent:PJSIP/8102"]
    del other


async def test_anonymous_and_bad_tokens_are_refused(live):
    url = live.url.replace("http", "ws") + "/ws"
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        async with connect(url, additional_headers=headers) as conn:
            with pytest.raises(ConnectionClosed) as info:
                await asyncio.wait_for(conn.recv(), 3)
            assert info.value.rcvd.code == 4401


async def test_wallboard_is_coalesced_and_scoped(live, ws_connect, make_user):
    lead = await make_user(Role.team_lead, queues=[("repairs", 0)])
    admin = await make_user(Role.admin)
    live.do("member_added", "PJSIP/8201", "repairs", "A")
    live.do("member_added", "PJSIP/8202", "complaints", "B")
    lws, aws = await ws_connect(lead), await ws_connect(admin)
    lsnap, asnap = await lws.subscribe("wallboard"), await aws.subscribe("wallboard")
    assert set(lsnap["data"]["queues"]) == {"repairs"} and set(lsnap["data"]["agents"]) == {"PJSIP/8201"}
    assert set(asnap["data"]["queues"]) == {"repairs", "complaints"}

    async def burst() -> None:
        for i in range(40):
            live.acd.do("caller_joined", f"call-{i}", "repairs", f"1380000{i:04d}")

    loop_t0 = asyncio.get_running_loop().time()
    live.call(burst())
    msgs = await lws.quiet(0.6)
    elapsed = asyncio.get_running_loop().time() - loop_t0
    assert 1 <= len(msgs) <= 1 + int(elapsed * 4) + 1, [m["seq"] for m in msgs]  # <= 4 per second
    last = msgs[-1]["data"]["queues"]["repairs"]
    assert last["waiting"] == 40  # coalesced, yet the final state is exact
    assert all("complaints" not in m["data"]["queues"] for m in msgs)
    seqs = [m["seq"] for m in msgs]
    assert seqs == sorted(seqs) and seqs[0] == lsnap["seq"] + 1


async def test_no_database_query_while_updates_flow(live, ws_connect, make_user):
    agent = await make_user(Role.agent, interface=ME)
    admin = await make_user(Role.admin)
    live.do("member_added", ME, "repairs")
    aws, bws = await ws_connect(agent), await ws_connect(admin)
    await aws.subscribe("agent:" + ME)
    await bws.subscribe("wallboard")
    await bws.subscribe("supervisor")
    statements: list[str] = []
    engine = live.app.state.db.engine.sync_engine
    listener = lambda *a: statements.append(a[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        for i in range(30):
            live.do("paused", ME, i % 2 == 0, "break")
            live.do("caller_joined", f"c{i}", "repairs", "13900000000")
        got = await aws.quiet(0.4)
        board = await bws.quiet(0.4)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len([m for m in got if m["type"] == "delta"]) == 30
    walls = [m for m in board if m.get("topic") == "wallboard"]
    sups = [m for m in board if m.get("topic") == "supervisor"]
    assert walls and walls[-1]["data"]["queues"]["repairs"]["waiting"] == 30
    assert sups and sups[-1]["data"]["agents"][ME]["state"] == "available"
    # The ACD's own 3 s save of the calls in progress may fall in the window on a loaded box: not the hub's doing.
    assert [q for q in statements if "acd_live_calls" not in q] == []


async def test_an_agent_leaving_the_leads_queues_is_removed_from_the_board(live, ws_connect, make_user):
    lead = await make_user(Role.team_lead, queues=[("repairs", 0)])
    live.do("member_added", "PJSIP/8201", "repairs", "A")
    live.do("member_added", "PJSIP/8202", "complaints", "B")
    ws = await ws_connect(lead)
    snap = await ws.subscribe("wallboard")
    assert set(snap["data"]["agents"]) == {"PJSIP/8201"}
    live.do("member_added", "PJSIP/8201", "complaints")
    live.do("member_removed", "PJSIP/8201", "repairs")
    live.do("paused", "PJSIP/8202", True, "break")  # out of scope all along: not sent at all
    msgs = [m for m in await ws.quiet(0.6) if m["type"] == "delta"]
    agents = {}
    for m in msgs:
        agents.update(m["data"]["agents"])
    assert agents == {"PJSIP/8201": None}



async def test_wallboard_resume_replays_the_missed_deltas_cut_to_my_scope(live, ws_connect, make_user):
    lead = await make_user(Role.team_lead, queues=[("repairs", 0)])
    live.do("member_added", "PJSIP/8201", "repairs", "A")
    ws = await ws_connect(lead)
    snap = await ws.subscribe("wallboard")
    await ws.conn.close()
    live.do("caller_joined", "w1", "repairs", "13800000001")
    live.do("caller_joined", "w2", "complaints", "13800000002")
    await asyncio.sleep(0.3)  # let the coalesced flush happen
    live.do("caller_joined", "w3", "repairs", "13800000003")
    await asyncio.sleep(0.3)
    ws2 = await ws_connect(lead)
    first = await ws2.subscribe("wallboard", since=snap["seq"], epoch=snap["epoch"])
    assert first["type"] == "resumed"
    missed = [m for m in await ws2.quiet(0.3) if m["type"] == "delta"]
    assert [m["seq"] for m in missed] == list(range(snap["seq"] + 1, snap["seq"] + 1 + len(missed)))
    assert missed[-1]["data"]["queues"]["repairs"]["waiting"] == 2
    assert all("complaints" not in m["data"]["queues"] for m in missed)


async def test_a_closed_websocket_is_freed_without_the_cycle_collector(live, ws_connect, make_user):
    """A node freezes what survives full collections (callcenter.gcfreeze):
    a closed connection must go by reference counting alone, or every
    reconnect would leave its whole stack behind until a clean pass."""
    import gc
    import weakref

    agent = await make_user(Role.agent, interface=ME)
    live.do("member_added", ME, "repairs", "王静")
    socks = [await ws_connect(agent) for _ in range(5)]
    for ws in socks:
        await ws.subscribe("agent:" + ME)

    async def held() -> list[weakref.ref]:
        return [weakref.ref(c) for c in live.hub.clients]

    refs = live.call(held())
    assert len(refs) == 5
    gc.disable()
    try:
        for ws in socks:
            await ws.conn.close()
        for _ in range(100):
            if not live.hub.clients:
                break
            await asyncio.sleep(0.05)
        assert not live.hub.clients
        await asyncio.sleep(0.2)  # the handlers unwind
        assert [r() for r in refs] == [None] * 5
    finally:
        gc.enable()
