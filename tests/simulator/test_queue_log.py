"""The simulated app_queue writes the queue_log lines Asterisk writes
(apps/app_queue.c ast_queue_log calls): the same verbs, callids, agents and
fields, agreeing with its own AMI events; to a file in Asterisk's format
and to the realtime `queue_log` table on both databases."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from callcenter.ami.models import QueueLogEntry
from callcenter.ami.queue_log import QueueLogRow, from_columns, parse_line
from callcenter.simulator.clock import VirtualClock
from callcenter.simulator.pbx import PBX, Queue
from callcenter.simulator.queue_log import QueueLogFile, QueueLogTable
from tests.simulator.conftest import Events

T0 = 1_700_000_000


def day(pbx: PBX) -> None:
    """One of every way through a queue, on exact timings."""
    pbx.add_member("q", "PJSIP/8001", "王静")  # ADDMEMBER at 0
    pbx.add_member("q", "PJSIP/8002", "李伟")
    pbx.add_member("other", "PJSIP/8001", "王静")
    pbx.advance(0)
    # 1: 8001 rings out (RINGNOANSWER, autopause), 8002 answers, the caller hangs up.
    pbx.new_call("q", "13800000001", answer=[{"agent": "PJSIP/8002", "after": 2}], talk=30)
    pbx.advance(60)
    pbx.pause("PJSIP/8001", False)  # UNPAUSEALL + UNPAUSE in both queues
    pbx.advance(10)
    # 2: answered, the agent hangs up.
    pbx.new_call("q", "13800000002", answer=[{"agent": "PJSIP/8001", "after": 1}], talk=20, hangup="agent")
    pbx.advance(60)
    # 3: the caller hangs up while 8001 rings (RINGCANCELED, ABANDON).
    pbx.new_call("q", "13800000003", answer=[], patience=4)
    pbx.advance(30)
    # 4: blind transfer to the other queue, answered there.
    pbx.new_call("q", "13800000004", answer=[{"agent": "PJSIP/8001", "after": 1}],
                 transfer={"type": "blind", "at": 10, "to": "other", "talk": 15, "answer": [{"agent": "PJSIP/8001", "after": 2}]})  # fmt: skip
    pbx.advance(90)
    # 5: attended transfer to 8009.
    pbx.new_call("q", "13800000005", answer=[{"agent": "PJSIP/8002", "after": 1}],
                 transfer={"type": "attended", "at": 10, "to": "8009", "consult": 5, "answer_after": 2, "talk": 10})  # fmt: skip
    pbx.advance(90)
    # 6: an AgentDump (8002 picks up and drops), then 8001 answers.
    pbx.pause("PJSIP/8001", True, "小休", queue="q")  # PAUSE in q only
    pbx.new_call("q", "13800000006", answer=[{"agent": "PJSIP/8002", "after": 1, "dump": True}], timeout=20, after_timeout=1)
    pbx.advance(60)
    # 7: a key (9) while waiting.
    pbx.new_call("q", "13800000007", key=(3, "9"), after_timeout=1)
    pbx.advance(30)
    pbx.remove_member("q", "PJSIP/8002")  # REMOVEMEMBER
    pbx.run_until_idle()


def simulate() -> tuple[PBX, Events, list[QueueLogRow]]:
    queues = [Queue("q", strategy="linear", autopause="all", timeout=15, retry=2, keys="9"), Queue("other")]
    pbx = PBX(queues, clock=VirtualClock(), seed=1)
    events = Events(pbx)
    rows: list[QueueLogRow] = []
    pbx.queue_log.append(rows.append)
    day(pbx)
    return pbx, events, rows


def test_every_verb_with_app_queues_fields():
    _pbx, events, rows = simulate()
    lines = [(int(r.time) - T0, r.callid[-2:] if r.callid[0].isdigit() else r.callid, r.queuename, r.agent, r.event, r.data) for r in rows]
    uid = {e["CallerIDNum"][-1]: e["Uniqueid"] for e in events.of("QueueCallerJoin")}
    c = {n: u[-2:] for n, u in uid.items()}
    connects = [e["DestUniqueid"] for e in events.of("AgentConnect")]
    leg2 = connects[0]
    bridge5 = events.of("AttendedTransfer")[0]["OrigBridgeUniqueid"]
    assert lines == [
        (0, "MANAGER", "q", "王静", "ADDMEMBER", ()),
        (0, "MANAGER", "q", "李伟", "ADDMEMBER", ()),
        (0, "MANAGER", "other", "王静", "ADDMEMBER", ()),
        (0, c["1"], "q", "NONE", "ENTERQUEUE", ("", "13800000001", "1")),
        (15, c["1"], "q", "王静", "RINGNOANSWER", ("15000",)),  # linear: 8001 first, rings out
        (15, "NONE", "NONE", "王静", "PAUSEALL", ("Auto-Pause",)),  # autopause=all
        (15, "NONE", "q", "王静", "PAUSE", ("Auto-Pause",)),
        (15, "NONE", "other", "王静", "PAUSE", ("Auto-Pause",)),
        (19, c["1"], "q", "李伟", "CONNECT", ("19", leg2, "2")),  # retry 2 s, then 2 s of ringing
        (49, c["1"], "q", "李伟", "COMPLETECALLER", ("19", "30", "1")),
        (60, "NONE", "NONE", "王静", "UNPAUSEALL", ()),
        (60, "NONE", "q", "王静", "UNPAUSE", ()),
        (60, "NONE", "other", "王静", "UNPAUSE", ()),
        (70, c["2"], "q", "NONE", "ENTERQUEUE", ("", "13800000002", "1")),
        (71, c["2"], "q", "王静", "CONNECT", ("1", connects[1], "1")),
        (91, c["2"], "q", "王静", "COMPLETEAGENT", ("1", "20", "1")),
        (130, c["3"], "q", "NONE", "ENTERQUEUE", ("", "13800000003", "1")),
        (134, c["3"], "q", "王静", "RINGCANCELED", ("4000",)),
        (134, c["3"], "q", "NONE", "ABANDON", ("1", "1", "4")),
        (160, c["4"], "q", "NONE", "ENTERQUEUE", ("", "13800000004", "1")),
        (161, c["4"], "q", "王静", "CONNECT", ("1", connects[2], "1")),
        (171, c["4"], "q", "王静", "BLINDTRANSFER", ("other", "cc-queue", "1", "10", "1")),
        (171, c["4"], "other", "NONE", "ENTERQUEUE", ("", "13800000004", "1")),  # same callid
        (173, c["4"], "other", "王静", "CONNECT", ("2", connects[3], "2")),
        (188, c["4"], "other", "王静", "COMPLETECALLER", ("2", "15", "1")),
        (250, c["5"], "q", "NONE", "ENTERQUEUE", ("", "13800000005", "1")),
        (265, c["5"], "q", "王静", "RINGNOANSWER", ("15000",)),
        (265, "NONE", "NONE", "王静", "PAUSEALL", ("Auto-Pause",)),
        (265, "NONE", "q", "王静", "PAUSE", ("Auto-Pause",)),
        (265, "NONE", "other", "王静", "PAUSE", ("Auto-Pause",)),
        (268, c["5"], "q", "李伟", "CONNECT", ("18", connects[4], "1")),
        (285, c["5"], "q", "李伟", "ATTENDEDTRANSFER", ("BRIDGE", bridge5, "18", "17", "1")),  # 10 s, 2 s ring, 5 s consult
        (340, "NONE", "q", "王静", "PAUSE", ("小休",)),  # a queue given: no PAUSEALL
        (340, c["6"], "q", "NONE", "ENTERQUEUE", ("", "13800000006", "1")),
        (341, c["6"], "q", "李伟", "AGENTDUMP", ()),
        (358, c["6"], "q", "李伟", "RINGNOANSWER", ("15000",)),  # retry 2 s after the dump, then rings out
        (358, "NONE", "NONE", "李伟", "PAUSEALL", ("Auto-Pause",)),
        (358, "NONE", "q", "李伟", "PAUSE", ("Auto-Pause",)),
        (360, c["6"], "q", "NONE", "EXITWITHTIMEOUT", ("1", "1", "20")),
        (400, c["7"], "q", "NONE", "ENTERQUEUE", ("", "13800000007", "1")),
        (403, c["7"], "q", "NONE", "EXITWITHKEY", ("9", "1", "1", "3")),
        (430, "MANAGER", "q", "李伟", "REMOVEMEMBER", ()),
    ]  # fmt: skip


def test_queue_log_agrees_with_the_ami_events():
    _pbx, events, rows = simulate()
    enter = [r for r in rows if r.event == "ENTERQUEUE"]
    assert [r.callid for r in enter] == [e["Uniqueid"] for e in events.of("QueueCallerJoin")]
    connects = [r for r in rows if r.event == "CONNECT"]
    assert [(r.callid, r.data[0], r.data[1], r.data[2]) for r in connects] == [
        (e["Uniqueid"], e["HoldTime"], e["DestUniqueid"], e["RingTime"]) for e in events.of("AgentConnect")]  # fmt: skip
    ends = [r for r in rows if r.event in ("COMPLETECALLER", "COMPLETEAGENT", "BLINDTRANSFER", "ATTENDEDTRANSFER")]
    completes = events.of("AgentComplete")
    assert [r.data[-2] for r in ends] == [e["TalkTime"] for e in completes]
    reasons = {"COMPLETECALLER": "caller", "COMPLETEAGENT": "agent", "BLINDTRANSFER": "transfer", "ATTENDEDTRANSFER": "transfer"}
    assert [reasons[r.event] for r in ends] == [e["Reason"] for e in completes]
    rna = [r for r in rows if r.event == "RINGNOANSWER"]
    assert [r.data[0] for r in rna] == [e["RingTime"] for e in events.of("AgentRingNoAnswer")]
    # QueueCallerAbandon: ABANDON, EXITWITHTIMEOUT, EXITEMPTY; not EXITWITHKEY.
    assert len(events.of("QueueCallerAbandon")) == sum(r.event in ("ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY") for r in rows)


def test_leavewhenempty_writes_exitempty():
    pbx = PBX([Queue("q", leavewhenempty="yes")], clock=VirtualClock(), seed=1)
    events = Events(pbx)
    rows: list[QueueLogRow] = []
    pbx.queue_log.append(rows.append)
    pbx.add_member("q", "PJSIP/8001", "王静", paused=True)
    pbx.new_call("q", "13800000001", after_timeout=2)
    pbx.new_call("q", "13800000002", after_timeout=2)
    pbx.advance(5)
    pbx.remove_member("q", "PJSIP/8001")  # leavewhenempty=yes: penalty,invalid,paused: nobody left
    pbx.run_until_idle()
    exits = [(int(r.time) - T0, r.event, r.data) for r in rows if r.event == "EXITEMPTY"]
    assert exits == [(6, "EXITEMPTY", ("1", "1", "6")), (6, "EXITEMPTY", ("1", "2", "6"))]
    assert [e["Status"] for e in events.of("UserEvent") if e["UserEvent"] == "QueueResult"] == ["LEAVEEMPTY", "LEAVEEMPTY"]
    assert len(events.of("QueueCallerAbandon")) == 2


def test_the_file_is_asterisks_format(tmp_path: Path):
    pbx, _events, rows = simulate()
    path = tmp_path / "queue_log"
    writer = QueueLogFile(path)
    for r in rows:
        writer(r)
    writer.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == f"{T0}|MANAGER|q|王静|ADDMEMBER|"
    assert lines[3].startswith(f"{T0}|") and lines[3].endswith("|q|NONE|ENTERQUEUE||13800000001|1")
    assert [parse_line(line) for line in lines] == [QueueLogRow(float(int(r.time)), r.callid, r.queuename, r.agent, r.event, r.data) for r in rows]


async def test_the_realtime_table_gets_the_same_rows(db):
    """What res_config_pgsql inserts with the shipped extconfig.conf: data1..5, UTC time."""
    _pbx, _events, rows = simulate()
    table = QueueLogTable(db.url)
    for r in rows:
        table(r)
    assert await table.flush() == len(rows)
    await table.close()
    async with db.sessions() as s:
        stored = (await s.execute(select(QueueLogEntry).order_by(QueueLogEntry.id))).scalars().all()
    back = [from_columns({c: getattr(e, c) for c in ("time", "callid", "queuename", "agent", "event", "data1", "data2", "data3", "data4", "data5")})
            for e in stored]  # fmt: skip
    assert back == rows
    at = next(e for e in stored if e.event == "ATTENDEDTRANSFER")
    assert (at.data1, at.data3, at.data4, at.data5) == ("BRIDGE", "18", "17", "1")
    assert stored[0].time.isoformat() == "2023-11-14T22:13:20"
