"""The ACD core on the shipped dialplan's real order (issue 11, the lead's
core tracker): each test runs the simulator's wire through the core and
states a fact a call tracker must get right."""

from __future__ import annotations


from callcenter.acd import events as ev
from callcenter.acd.core import Core, CoreConfig, QueueConfig
from callcenter.ami.normaliser import EventStream
from callcenter.simulator.clock import VirtualClock
from callcenter.simulator.pbx import PBX
from callcenter.simulator.server import encode



def close_wrap_up(core: Core, pbx: PBX, records: list[dict], interface: str = "PJSIP/8001") -> None:
    """The agent submits the disposition (the core writes the record at the end of wrap-up)."""
    wrap = core.wrap_up_of(interface)
    if wrap is not None:
        records.extend(core.apply(ev.DispositionSubmitted(pbx.now, interface, wrap["call_id"], "resolved")).records)


def wired(pbx: PBX) -> tuple[Core, list[dict]]:
    core = Core(CoreConfig(queues={"repairs": QueueConfig("repairs", wrap_up_s=60)}))
    stream, records = EventStream(), []
    pbx.sinks.append(lambda fields: [records.extend(core.apply(e).records) for e in stream.feed(encode(fields), pbx.now)])
    return core, records


def test_the_agents_call_counts_when_the_agent_hangs_up_not_after_the_survey() -> None:
    """Queue(...,c): the agent hangs up, the caller stays 6 s in the survey.
    The agent's part (handled, talk, the record) ends at AgentComplete."""
    pbx = PBX(clock=VirtualClock(), seed=1)
    core, records = wired(pbx)
    pbx.add_member("repairs", "PJSIP/8001", "王静")
    pbx.advance(0)
    pbx.new_call("repairs", "13800138000", answer=[{"agent": "PJSIP/8001", "after": 2}], talk=10, hangup="agent", survey=6)
    pbx.advance(13)  # 1 s after the agent's hang-up; the caller is in cc-survey
    close_wrap_up(core, pbx, records)
    assert core.agent_view("PJSIP/8001")["today"]["handled"] == 1
    assert [r["talk_s"] for r in records] == [10]


def test_the_recording_started_before_the_join_is_linked() -> None:
    """[cc-queue] runs MixMonitor before Queue(): MIXMONITOR_FILENAME and
    MixMonitorStart reach the core before QueueCallerJoin."""
    pbx = PBX(clock=VirtualClock(), seed=1)
    core, records = wired(pbx)
    pbx.add_member("repairs", "PJSIP/8001", "王静")
    pbx.advance(0)
    pbx.new_call("repairs", "13800138000", answer=[{"agent": "PJSIP/8001", "after": 2}], talk=10)
    pbx.run_until_idle()
    close_wrap_up(core, pbx, records)
    assert [r["recording_file"] for r in records] == ["/var/spool/asterisk/monitor/2023/11/14/repairs-1700000000.0.wav"]


def test_an_agent_complete_without_snapshots_still_ends_the_call() -> None:
    """3 of 22 AgentCompletes in the real 20.20.1 captures carry no Channel
    or Uniqueid (sent after both channels were gone)."""
    pbx = PBX(clock=VirtualClock(), seed=1)
    pbx.late_agent_complete = 1.0
    core, records = wired(pbx)
    pbx.add_member("repairs", "PJSIP/8001", "王静")
    pbx.advance(0)
    pbx.new_call("repairs", "13800138000", answer=[{"agent": "PJSIP/8001", "after": 2}], talk=10)
    pbx.run_until_idle()
    close_wrap_up(core, pbx, records)
    assert [(r["outcome"], r["talk_s"], r["agent"]) for r in records] == [("answered", 10, "PJSIP/8001")]
