"""The PBX's ground floor: simulated time, emitting events, channels,
bridges, device states, and how a hang-up travels through a bridge.

Everything above (app_queue, the dialplan, transfers, Local channels)
builds calls from these few moves, so every path hangs up, leaves bridges
and updates device states the same way.
"""

from __future__ import annotations

import functools
import random
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from callcenter.ami.queue_log import QueueLogRow
from callcenter.simulator.clock import RealClock, Schedule, Timer, VirtualClock
from callcenter.simulator.model import (
    CAUSES,
    INUSE,
    NOT_INUSE,
    RINGING,
    Bridge,
    Call,
    Channel,
    Fields,
    Member,
    Phone,
    Queue,
    Recording,
    Sink,
)

# Where MixMonitor writes on a PBX installed from asterisk/ (CC_MONITOR_DIR).
MONITOR_DIR = Path("/var/spool/asterisk/monitor")


def outside(method: Callable[..., Any]) -> Callable[..., Any]:
    """An action from outside the schedule (a test, an AMI action): time is
    brought up to date first, and its immediate consequences run before it
    returns."""

    @functools.wraps(method)
    def run(self: PbxBase, *args: Any, **kw: Any) -> Any:
        self.sync()
        try:
            return method(self, *args, **kw)
        finally:
            self.settle()

    return run


class PbxBase:
    def __init__(
        self,
        queues: list[Queue] | None = None,
        *,
        clock: VirtualClock | RealClock | None = None,
        seed: int = 0,
        recordings_dir: Path | None = None,
        version: str = "7.0.3",
        systemname: str = "",
        record: bool = True,
    ) -> None:
        self.clock = clock or VirtualClock()
        # asterisk.conf systemname: prefixes Uniqueids and adds SystemName to events.
        self.systemname = systemname
        self.schedule = Schedule(self.clock.start)
        self.rng = random.Random(f"pbx-{seed}")
        self.version = version
        # Absolute, like the MIXMONITOR_FILENAME of a real Asterisk.  Without
        # a directory the dialplan still records (events), nothing is written.
        self.recordings_dir = recordings_dir.resolve() if recordings_dir is not None else None
        self.monitor_dir = self.recordings_dir or MONITOR_DIR
        self.record = record  # the shipped dialplan records every queue and outbound call
        # Which Local half sees media first and asks to be optimised away: "two"
        # (the phone's side talks first) or "one" (the caller's side).
        self.local_first_writer = "two"
        # Media flows on Local channels (real phones): the pair optimises away.
        # False models silent endpoints (no frame, no optimisation).
        self.local_media = True
        # Share of AgentCompletes sent after both channels are gone, so without
        # their snapshots (as on a real Asterisk under load); 0 = always with them.
        self.late_agent_complete = 0.0
        self.sinks: list[Sink] = []
        # [cc-callback]'s /hooks/callback (dialplan.py _callback_offer): None = the simulator answers.
        self.callback_hook: Callable[[dict[str, str]], dict[str, str] | None] | None = None
        self.callback_tasks = 0
        self.queue_log: list[Callable[[QueueLogRow], None]] = []  # app_queue's queue_log rows
        self.queues: dict[str, Queue] = {}
        for q in queues if queues is not None else _demo_queues():
            self.queues[q.name] = q
        self.phones: dict[str, Phone] = {}
        self.default_phone = Phone()  # how a newly seen interface behaves (QueueAdd from the bridge)
        self.devices: dict[str, int] = {}  # device state by device ("PJSIP/8001")
        self.by_state: dict[str, list[Member]] = {}  # members by state interface
        self.channels: dict[str, Channel] = {}  # by name
        self.bridges: dict[str, Bridge] = {}  # by BridgeUniqueid
        self.calls: dict[str, Call] = {}  # queue callers, by caller uniqueid
        self.recordings: dict[str, Recording] = {}  # running MixMonitors, by channel name
        self.others: list[Any] = []  # DirectCalls in progress
        self.started = self.clock.start
        self._uid = 0
        self._chan = 0
        self._member_order = 0
        self._optimisations = 0
        self.wav_writer: Callable[[Recording, float], None] | None = None
        self.recordings_written: list[Path] = []
        self.on_member_free: list[Callable[[Member], None]] = []
        self.on_autopause: list[Callable[[Member], None]] = []
        # Called with every channel whose hang-up is requested (app_queue's
        # stasis subscription on hangup requests: AgentComplete).
        self.hangup_watchers: list[Callable[[Channel], None]] = []
        self.watching: dict[str, Call] = {}  # connected queue calls by the uniqueids app_queue watches
        self._kicked = False
        self._stamp_at, self._stamp_text = -1.0, ""
        self.device_channels: dict[str, list[Channel]] = {}  # live channels by device

    # -- time -------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.schedule.now

    def sync(self) -> None:
        """Bring simulated time up to the wall clock before an outside action."""
        if self.clock.realtime:
            self.schedule.now = max(self.schedule.now, self.clock.wall(self.schedule))

    def settle(self) -> None:
        """Run what an outside action sets off at this instant (e.g. ringing
        a member after new_call), so callers see its whole effect at once."""
        if not self.schedule.firing:
            self.schedule.run_until(self.schedule.now)

    def advance(self, seconds: float) -> int:
        """Virtual time: run everything due in the next `seconds`."""
        return self.schedule.run_until(self.schedule.now + seconds)

    def run_until_idle(self, limit: float = 86400.0) -> None:
        """Virtual time: run until no timer is left (or `limit` seconds pass)."""
        end = self.schedule.now + limit
        while (t := self.schedule.next_time()) is not None and t <= end:
            self.schedule.run_until(t)

    def after(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        return self.schedule.after(delay, fn, *args)

    # -- emitting -----------------------------------------------------------------

    def emit(self, event: str, privilege: str, body: Fields) -> None:
        now = self.schedule.now
        if now != self._stamp_at:  # many events share an instant: format it once
            self._stamp_at, self._stamp_text = now, f"{now:.6f}"
        msg = [("Event", event), ("Privilege", privilege + ",all"), ("Timestamp", self._stamp_text)]
        if self.systemname:
            msg.append(("SystemName", self.systemname))
        msg.extend(body)
        for sink in list(self.sinks):
            sink(msg)

    def log(self, queue: str, callid: str, agent: str, event: str, *data: object) -> None:
        """One queue_log line, as app_queue's ast_queue_log writes it."""
        if self.queue_log:
            fields = tuple(str(d) for d in data)
            row = QueueLogRow(self.now, callid, queue, agent, event, () if fields == ("",) else fields)
            for sink in list(self.queue_log):
                sink(row)

    def _chan_event(self, event: str, ch: Channel, extra: Fields = (), privilege: str = "call") -> None:  # type: ignore[assignment]
        self.emit(event, privilege, ch.snapshot() + list(extra))

    def _dial(self, ev: str, src: Channel, dst: Channel, extra: Fields) -> None:
        self.emit(ev, "call", src.snapshot() + dst.snapshot("Dest") + list(extra))

    def _dial_end(self, src: Channel, dst: Channel, status: str, cause: int | None = None) -> None:
        """DialEnd; with a cause the dialled channel is hung up (not answered)."""
        if src.dialing is dst:
            src.dialing = None
        self._dial("DialEnd", src, dst, [("DialStatus", status), ("Forward", "")])
        if cause is not None and dst.alive:
            dst.dying = True
            self._hangup(dst, cause)

    # -- ids and channels -----------------------------------------------------------

    def _uniqueid(self) -> str:
        uid = f"{int(self.now)}.{self._uid}"
        if self.systemname:
            uid = f"{self.systemname}-{uid}"
        self._uid += 1
        return uid

    def new_channel(
        self, tech: str, cid_num: str, cid_name: str, *, linkedid: str | None = None, name: str = "", device: str = "",
        uniqueid: str = "", **kw: Any,
    ) -> Channel:  # fmt: skip
        """A channel of `tech` ("PJSIP/8001": named PJSIP/8001-0000002a) and its Newchannel.
        `uniqueid`: the one Originate's ChannelId asked for (else the next)."""
        self._chan += 1
        uid = uniqueid or self._uniqueid()
        ch = Channel(
            name=name or f"{tech}-{self._chan:08x}",
            uniqueid=uid,
            linkedid=linkedid or uid,
            cid_num=cid_num,
            cid_name=cid_name,
            created=self.now,
            device=device,
            tech=tech.split("/", 1)[0],
            **kw,
        )
        self.channels[ch.name] = ch
        if device:
            self.device_channels.setdefault(device, []).append(ch)
        self._chan_event("Newchannel", ch)
        return ch

    def _newstate(self, ch: Channel, state: int) -> None:
        ch.state = state
        self._chan_event("Newstate", ch)

    def _newexten(self, ch: Channel, app: str, data: str, *, context: str | None = None, exten: str | None = None, priority: int | None = None) -> None:
        """The channel runs the next dialplan priority (or `context`,`exten`,1)."""
        if context is not None:
            ch.context, ch.priority = context, 1
            if exten is not None:
                ch.exten = exten
        elif priority is not None:
            ch.priority = priority
        elif ch.app:
            ch.priority += 1
        ch.app, ch.app_data = app, data
        self._chan_event("Newexten", ch, [("Extension", ch.exten), ("Application", app), ("AppData", data)], "dialplan")

    def _varset(self, ch: Channel, name: str, value: str) -> None:
        self._chan_event("VarSet", ch, [("Variable", name), ("Value", value)], "dialplan")

    def _user_event(self, ch: Channel, name: str, fields: Fields) -> None:
        """UserEvent(name,Key: value,...): the channel's snapshot, UserEvent:, then the fields."""
        self.emit("UserEvent", "user", ch.snapshot() + [("UserEvent", name)] + list(fields))

    # -- hang-ups ---------------------------------------------------------------------

    def _hangup_request(self, ch: Channel, cause: int = 16, soft: bool = False) -> None:
        """HangupRequest (the device or an action) or SoftHangupRequest (Asterisk
        ends it), then app_queue's watchers, as its stasis subscription sees them."""
        if ch.dying:
            return
        ch.dying = True
        self._chan_event("SoftHangupRequest" if soft else "HangupRequest", ch, [("Cause", str(cause))])
        for watch in list(self.hangup_watchers):
            watch(ch)

    def _gone(self, ch: Channel, cause: int = 16, soft: bool = False) -> None:
        """`ch` hangs up: its hang-up request, out of its bridge (whose others
        follow: `_bridge_ends`), then its Hangup."""
        if not ch.alive:
            return
        self._hangup_request(ch, cause, soft)
        b = ch.bridge
        if b is not None:
            self._bridge_leave(b, ch)
            self._bridge_ends(b, ch)
        self._hangup(ch, cause)

    def _bridge_ends(self, b: Bridge, left: Channel) -> None:
        """A basic two-party bridge dissolves when a party leaves: the other
        goes on in the dialplan (its `after_bridge`, once this instant's
        hang-up is out) or is hung up."""
        if len(b.channels) > 1 or b.uniqueid not in self.bridges:
            return
        for other in list(b.channels):
            if other.after_bridge is not None and not other.dying:
                self._bridge_leave(b, other)
                self.after(0, self._continue, other)
            else:
                self._gone(other, 16, soft=True)
        self._bridge_destroy(b)

    def _continue(self, ch: Channel) -> None:
        fn, ch.after_bridge = ch.after_bridge, None
        if fn is not None and ch.alive and ch.bridge is None:
            fn(ch)

    def _hangup(self, ch: Channel, cause: int = 16) -> None:
        """The Hangup event; MixMonitor stops first; the device's state and a
        Local channel's other half follow."""
        if not ch.alive:
            return
        if ch.dialing is not None:  # its Dial() is cut short: the ringing leg goes
            self._dial_end(ch, ch.dialing, "CANCEL", 16)
        if ch.before_hangup is not None:
            fn, ch.before_hangup = ch.before_hangup, None
            fn(ch)
        if ch.name in self.recordings:
            self._stop_recording(ch)
        if ch.local is not None:
            self._local_going(ch.local, ch)
        ch.alive = False
        ch.dying = True
        if ch.bridge is not None:
            self._bridge_leave(ch.bridge, ch)
        self._chan_event("Hangup", ch, [("Cause", str(cause)), ("Cause-txt", CAUSES.get(cause, "Unknown"))])
        self.channels.pop(ch.name, None)
        if ch.device:
            live = self.device_channels.get(ch.device)
            if live is not None and ch in live:
                live.remove(ch)
            self._device_refresh(ch.device)
        if ch.on_gone is not None:
            ch.on_gone(ch)
        pair = ch.local
        if pair is not None:
            self._local_gone(pair, ch)

    # -- bridges ------------------------------------------------------------------------

    def _bridge_create(self, swap_inhibit_from: bool = False) -> Bridge:
        b = Bridge(str(uuid.UUID(int=self.rng.getrandbits(128), version=4)), created=self.now, swap_inhibit_from=swap_inhibit_from)
        self.bridges[b.uniqueid] = b
        self.emit("BridgeCreate", "call", b.snapshot())
        return b

    def _bridge_enter(self, b: Bridge, ch: Channel, swap: str = "") -> None:
        b.channels.append(ch)
        ch.bridge = b
        if ch.name in self.recordings:  # MixMonitor b: recording while bridged
            self.recordings[ch.name].bridged.append([self.now, -1.0])
        extra = [("SwapUniqueid", swap)] if swap else []
        self.emit("BridgeEnter", "call", b.snapshot() + ch.snapshot() + extra)

    def _bridge_leave(self, b: Bridge, ch: Channel) -> None:
        if ch in b.channels:
            b.channels.remove(ch)
            ch.bridge = None
            rec = self.recordings.get(ch.name)
            if rec is not None and rec.bridged and rec.bridged[-1][1] == -1.0:
                rec.bridged[-1][1] = self.now
            self.emit("BridgeLeave", "call", b.snapshot() + ch.snapshot())

    def _bridge_destroy(self, b: Bridge) -> None:
        if self.bridges.pop(b.uniqueid, None) is None:
            return
        for ch in list(b.channels):
            self._bridge_leave(b, ch)
        self.emit("BridgeDestroy", "call", b.snapshot())

    def _bridge_two(self, first: Channel, second: Channel, swap_inhibit_from: bool = False) -> Bridge:
        b = self._bridge_create(swap_inhibit_from)
        self._bridge_enter(b, first)
        self._bridge_enter(b, second)
        return b

    # -- devices ------------------------------------------------------------------------

    def phone(self, interface: str) -> Phone:
        if interface not in self.phones:
            d = self.default_phone
            self.phones[interface] = Phone(d.answer_after, d.answer_jitter, d.miss_prob, d.talk_s)
        return self.phones[interface]

    def set_phone(self, interface: str, **behaviour: Any) -> Phone:
        p = self.phone(interface)
        for k, v in behaviour.items():
            setattr(p, k, v)
        return p

    def device_state(self, device: str) -> int:
        return self.devices.get(device, NOT_INUSE)

    def _device(self, device: str, status: int) -> None:
        """A device-state change: one QueueMemberStatus per membership that
        follows this device."""
        if self.devices.get(device, NOT_INUSE) == status:
            return
        self.devices[device] = status
        members = self.by_state.get(device, ())
        for m in members:
            self.emit("QueueMemberStatus", "agent", self.member_block(m))  # type: ignore[attr-defined]
        if status == NOT_INUSE:
            self._kick()

    def _device_refresh(self, device: str) -> None:
        """After a channel of `device` hangs up: what its other channels say."""
        live = self.device_channels.get(device)
        if not live:
            self._device(device, NOT_INUSE)
        elif any(c.state == 6 for c in live):
            self._device(device, INUSE)

    # -- hooks for the layers above -------------------------------------------------------

    def _kick(self) -> None:  # pragma: no cover - app_queue's dispatch
        raise NotImplementedError

    def _stop_recording(self, ch: Channel) -> None:  # pragma: no cover - monitor
        raise NotImplementedError

    def _local_gone(self, pair: Any, half: Channel) -> None:  # pragma: no cover - Local channels
        raise NotImplementedError

    def _local_going(self, pair: Any, half: Channel) -> None:  # pragma: no cover - Local channels
        raise NotImplementedError


def _demo_queues() -> list[Queue]:
    from callcenter.simulator.pbx import demo_queues

    return demo_queues()
