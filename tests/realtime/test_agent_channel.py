"""The core's agent view names the agent's own leg: the desktop's hold,
transfer and hang-up act on that channel (realtime.service.current_channel)."""

from __future__ import annotations

from callcenter.acd import events as ev
from callcenter.acd.core import Core

ME, LEG = "PJSIP/8001", "PJSIP/8001-0000002a"


def test_agent_view_call_carries_the_agents_channel():
    core = Core()
    core.apply(ev.MemberAdded(100.0, "repairs", ME, "王静", 0, False, "", 1))
    core.apply(ev.CallerJoined(101.0, "repairs", "c1", "c1", "PJSIP/trunk-00000029", "13912345678", "CHEN", 1, 1))
    core.apply(ev.AgentCalled(101.5, "repairs", "c1", "c1", ME, "王静", "a1", LEG, "13912345678", "CHEN"))
    core.apply(ev.CallerLeft(104.0, "repairs", "c1", "c1", 1, 0))
    core.apply(ev.AgentConnected(104.0, "repairs", "c1", "c1", ME, "王静", "a1", LEG, 3.0, 2.5))
    call = core.agent_view(ME)["call"]
    assert call["call_id"] and call["channel"] == LEG
