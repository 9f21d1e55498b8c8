"""Reconciling the core with Asterisk's own lists after every (re)connect.

The bridge gathers QueueStatus (members, waiting callers) and
CoreShowChannels (every live channel: its state, application, bridge and
age) into one `Resync` event, slotted into the stream exactly where the
snapshot was taken.  From it, in this order:

1. queue membership and pauses become what Asterisk says;
2. callers waiting now are in their queues (a join we missed is made);
   callers we had waiting who are gone left while we were blind: their
   outcome is inferred and kept out of the KPIs;
3. channels we knew that Asterisk no longer has hung up while we were away:
   their Hangup is played through the core now, so their calls end (at the
   resync's time, the latest they can have ended; the queue_log backfill
   corrects it when it knows better);
4. calls in progress we never saw (answered while we were blind, or before
   a restart) are rebuilt from the channels: a caller in Queue() bridged
   with a member's leg is an answered queue call of that queue (the agent
   from the leg's device); other bridged pairs are direct calls.  Their
   times are estimates from the channels' ages and they are marked
   `source="resync"`;
5. nothing already known is counted twice: a call is matched by the
   caller's Uniqueid before anything is made.

On hold is not in Asterisk's lists; a call on hold at the resync shows as
talking until its Unhold.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from callcenter.acd import events as ev
from callcenter.acd.calls import Connected, Party
from callcenter.acd.channels import UP, Channel, interface_of
from callcenter.acd.common import WRAP_REASON, Output, PauseMember

if TYPE_CHECKING:
    from callcenter.acd.agents import Agent
    from callcenter.acd.core import Core


def apply_resync(core: Core, e: ev.Resync, out: Output) -> None:
    _members(core, e, out)
    alive = {c.uniqueid: c for c in e.channels}
    # Callers in a queue now, waiting or talking: a stay of theirs in
    # another queue ended while we were blind (a transfer between queues).
    where = {c.uniqueid: c.application_data.split(",", 1)[0] for c in e.channels if c.application == "Queue"}
    where.update((x.uniqueid, x.queue) for x in e.entries)
    for uid, queue_now in where.items():
        if queue_now:
            _left_while_blind(core, uid, queue_now, e.ts, out)
    _waiting(core, e, alive, out)
    if e.channels_listed:
        _gone(core, e, alive, out)
        _graph(core, e)
        _answered_in_progress(core, e, out)
        _direct_in_progress(core, e, out)
    for a in core.agent_states.by_interface.values():
        core.agent_states.refresh(a, e.ts, out)
    _wrap_pauses(core, e, out)
    for qn in _covered(e):
        core.queue_acd.queue(qn)
        out.queues.add(qn)


def _wrap_pauses(core: Core, e: ev.Resync, out: Output) -> None:
    """Our own wrap-up pauses as they should be now: a wrap-up that ended
    while the link was down left its unpause unsent (the agent would stay
    paused at the PBX, taking no calls); one that began then never paused."""
    paused = {s.interface for s in e.members if s.paused and s.paused_reason == WRAP_REASON}
    members = {s.interface for s in e.members}
    for a in core.agent_states.by_interface.values():
        if a.interface not in members:
            continue
        if a.wrap is None and a.interface in paused and a.interface not in core.qcallbacks.by_agent:
            out.actions.append(PauseMember(a.interface, False, WRAP_REASON))
        elif a.wrap is not None and a.wrap.paused_by_us and a.interface not in paused and not a.not_ready():
            out.actions.append(PauseMember(a.interface, True, WRAP_REASON))


def _covered(e: ev.Resync) -> set[str]:
    return set(e.queues) | {m.queue for m in e.members} | {x.queue for x in e.entries}


def _members(core: Core, e: ev.Resync, out: Output) -> None:
    agents, qa = core.agent_states, core.queue_acd
    covered = _covered(e)
    seen: set[tuple[str, str]] = set()
    for s in e.members:
        a = agents.agent(s.interface, s.member_name, e.ts)
        agents.learn_device(a, s.state_interface)
        m = agents.member(a, s.queue)
        m.penalty = s.penalty
        if (m.paused, m.reason) != (s.paused, s.paused_reason if s.paused else ""):
            agents.set_pause(a, m, s.paused, s.paused_reason, e.ts, out)
        seen.add((s.queue, s.interface))
        if a.call is None and not a.others:
            a.busy_unknown = s.in_call
    for a in agents.by_interface.values():
        for qn in [qn for qn in a.queues if qn in covered and (qn, a.interface) not in seen]:
            del a.queues[qn]
            qa.queue(qn).members.discard(a.interface)


def _waiting(core: Core, e: ev.Resync, alive: dict[str, ev.ChannelSnapshot], out: Output) -> None:
    qa, ts = core.queue_acd, e.ts
    covered = _covered(e)
    entries = {(x.queue, x.uniqueid) for x in e.entries}
    for x in e.entries:
        call = qa.own(x.uniqueid)
        if call is not None and call.queue == x.queue and call.left_at is None:
            call.position, call.priority = x.position, x.priority
            continue
        snap = alive.get(x.uniqueid)
        call = qa.new_call(ts - x.wait_s, x.queue, x.uniqueid, (snap.linkedid if snap else "") or x.uniqueid, x.channel, x.caller_number, x.caller_name, x.position)
        call.priority = x.priority
        call.source = "resync"
        call.note(ts, "queued", queue=x.queue, position=x.position, via="resync")
        qa.queue(x.queue).waiting[call.call_id] = call
        qa.count_offered(call)
        out.calls.add(call.call_id)
    for call in list(qa.calls.values()):
        if call.queue in covered and call.left_at is None and (call.queue, call.uniqueid) not in entries:
            snap = alive.get(call.uniqueid)
            if snap is not None and snap.application == "Queue" and snap.bridge_id:
                continue  # answered while we were away: step 4 connects it
            # Left the queue while we were disconnected: how, we cannot know.
            call.inferred = True
            call.note(ts, "resync", note="left the queue while the AMI link was down; outcome inferred")
            qa.resolve(call, "abandoned" if call.uniqueid not in alive else "timeout", ts, out)


def _gone(core: Core, e: ev.Resync, alive: dict[str, ev.ChannelSnapshot], out: Output) -> None:
    """Hang up, in the core, every channel Asterisk no longer has."""
    graph = core.tracker.graph
    gone = [ch for uid, ch in graph.channels.items() if uid not in alive]
    for call in core.queue_acd.calls.values():
        for uid in (call.uniqueid, call.phone_uid or call.member_uid):
            if uid and uid not in alive and graph.get(uid) is None:
                # Never in the graph (a stream without channel events): still gone.
                gone.append(Channel(uid, call.legs.get(uid, {}).get("channel", ""), call.linkedid, e.ts))
    seen: set[str] = set()
    # A PBX that restarted took its calls down with it, at about the last
    # event we heard; otherwise they ended some time in the blind window
    # (the queue_log backfill says when).
    end = e.ts if core.crashed_at is None else core.crashed_at
    why = "gone at resync" if core.crashed_at is None else "the PBX restarted"
    for ch in gone:
        if ch.uniqueid in seen:
            continue
        seen.add(ch.uniqueid)
        call = core.queue_acd.call(ch.uniqueid)
        if call is not None and call.answered_at is not None and call.talk_end is None:
            call.estimated = call.end_inferred = True
            call.note(e.ts, "resync", note=f"ended while the AMI link was down ({why}); end time inferred")
        core.route(ev.Hangup(end, ch.uniqueid, ch.linkedid, ch.name, 16, why), out)


def _graph(core: Core, e: ev.Resync) -> None:
    """The live channels, their Local pairs and bridges into the tracker's graph."""
    graph = core.tracker.graph
    halves: dict[str, dict[int, Channel]] = defaultdict(dict)
    for c in e.channels:
        ch = graph.get(c.uniqueid)
        if ch is None:
            ch = graph.ensure(c.uniqueid, c.channel, c.linkedid, e.ts - c.duration_s, c.state)
            ch.caller_number, ch.caller_name = c.caller_number, c.caller_name
            ch.connected_number = c.connected_number
            ch.calling = c.uniqueid == c.linkedid
        if c.state == UP and ch.up_at is None:
            ch.up_at = e.ts - c.duration_s
        ch.state = c.state
        if c.bridge_id and (ch.bridge is None or ch.bridge.uniqueid != c.bridge_id):
            graph.enter(ch, c.bridge_id)
        if ch.local and ch.partner is None:
            halves[c.channel[:-2]][ch.half] = ch
    for pair in halves.values():
        if 1 in pair and 2 in pair:
            graph.local_pair(pair[1], pair[2])


def _agent_of(core: Core, channel: str) -> Agent | None:
    """The agent whose phone or member leg this channel is."""
    iface = interface_of(channel)
    a = core.agent_states.of_device(iface)
    if a is not None:
        return a
    for a in core.agent_states.by_interface.values():
        if _bare(a.interface) == iface:
            return a
    return None


def _bare(interface: str) -> str:
    """A Local member's interface without its options: Local/8001@agents/n -> Local/8001@agents."""
    if interface.startswith("Local/") and interface.count("/") > 1:
        return interface.rsplit("/", 1)[0]
    return interface


def _answered_in_progress(core: Core, e: ev.Resync, out: Output) -> None:
    qa, ts = core.queue_acd, e.ts
    by_bridge: dict[str, list[ev.ChannelSnapshot]] = defaultdict(list)
    for c in e.channels:
        if c.bridge_id:
            by_bridge[c.bridge_id].append(c)
    for c in e.channels:
        if c.application != "Queue" or not c.bridge_id:
            continue
        call = qa.own(c.uniqueid)
        queue_now = c.application_data.split(",", 1)[0]
        if call is not None and call.answered_at is not None and (not queue_now or queue_now == call.queue):
            continue  # known and answered: nothing to make
        legs = [m for m in by_bridge[c.bridge_id] if m.uniqueid != c.uniqueid]
        leg = next((m for m in legs if m.application == "AppQueue"), legs[0] if legs else None)
        if leg is None:
            continue
        a = _agent_of(core, leg.channel)
        if call is None:
            queue = c.application_data.split(",", 1)[0] or "unknown"
            call = qa.new_call(ts - c.duration_s, queue, c.uniqueid, c.linkedid, c.channel, c.caller_number, c.caller_name, 1)
            call.source = "resync"
            call.inferred = True  # its wait and answer are estimates: kept out of the KPIs
            call.note(ts, "queued", queue=queue, via="resync")
        answered = max(call.entered_at, ts - leg.duration_s)
        call.estimated = True
        if not call.inferred:
            # Known since its join: answered while we were away, at about the
            # time its member leg was made (queue_log's CONNECT says exactly).
            qa.left_queue(call, answered, out, cancel=True)
            wait = answered - call.entered_at
            qa.kpi_exit(call.queue, answered, "answered", wait, int(wait), False)
        call.pending = None
        call.outcome = "answered"
        call.answered_at = answered
        call.state = "talking"
        call.member_uid = leg.uniqueid
        call.legs.setdefault(leg.uniqueid, {"uniqueid": leg.uniqueid, "channel": leg.channel, "role": "agent", "start": answered, "end": None})
        qa.by_uid[leg.uniqueid] = call
        if not leg.channel.startswith("Local/"):
            call.phone_uid = leg.uniqueid
        call.note(ts, "answered", agent=a.interface if a else "", via="resync", note="answered while the AMI link was down; time estimated")
        if a is not None:
            call.agent, call.agent_name = a.interface, a.name
            core.agent_states.connected(a, call, ts, out)
        out.calls.add(call.call_id)
        out.queues.add(call.queue)


def _left_while_blind(core: Core, uniqueid: str, queue_now: str, ts: float, out: Output) -> None:
    """The caller is in another queue now (transferred there while we were
    blind): the answered stays it had are over.  Their end is estimated; the
    queue_log backfill puts in the transfer's time."""
    qa = core.queue_acd
    for old in [k for k in qa.calls.values() if k.uniqueid == uniqueid and k.answered_at is not None and k.ended_at is None and k.queue != queue_now]:
        old.estimated = True
        old.note(ts, "resync", note="left its queue while the AMI link was down; end time inferred")
        if old.talk_end is None:
            old.end_inferred = True
            qa.talk.end_talk(old, ts, out, "gone at resync")
        old.ended_at = old.talk_end if old.talk_end is not None else ts
        if qa.by_uid.get(uniqueid) is old:
            del qa.by_uid[uniqueid]
        qa.maybe_finish(old, out)


def _direct_in_progress(core: Core, e: ev.Resync, out: Output) -> None:
    """Bridged pairs outside any queue that no call of ours covers."""
    graph, tracker = core.tracker.graph, core.tracker
    for bridge in list(graph.bridges.values()):
        peers = graph.peers(next(iter(bridge.members))) if bridge.members else set()
        if len(peers) != 2:
            continue
        a, b = sorted(peers, key=lambda p: (not p.calling, p.created))
        if core.queue_acd.call(a.uniqueid) or core.queue_acd.call(b.uniqueid) or core.direct.by_phone.get(a.uniqueid) or core.direct.by_phone.get(b.uniqueid):
            continue
        a.calling = True
        call = tracker.call_of(a, a.created)
        if call.queue_calls or call.talking_to:
            continue
        leg = tracker._add_leg(call, b, b.created)
        leg.answered_at = leg.answered_at or b.up_at or e.ts
        leg.result = "answered"
        call.talking_to = b.uniqueid
        call.answered_at = call.answered_at or leg.answered_at
        a.up_reported = True
        fact = Connected(call, Party.of(a), Party.of(b))
        out.facts.append(fact)
        core.direct.facts([fact], leg.answered_at, out)
        d = core.direct.live.get(call.call_id)
        if d is not None:
            d.source = "resync"
            d.timeline.append({"t": e.ts, "kind": "resync", "note": "in progress at a resync; answer time estimated"})
