"""What the list actions describe: QueueStatus/QueueSummary (app_queue.c),
CoreShowChannels and Status (main/manager.c), BridgeList/BridgeInfo
(main/manager_bridges.c).  Built from the live state, so a resync after a
blind window sees exactly the calls in progress: who is in which bridge,
since when, and who waits in which queue."""

from __future__ import annotations

from callcenter.simulator.base import PbxBase
from callcenter.simulator.model import NOT_INUSE, UNKNOWN, Bridge, Call, Channel, Fields, Member, Queue, unknown


def _hms(secs: int) -> str:
    return f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"


class Snapshots(PbxBase):
    def queue_params(self, q: Queue) -> Fields:
        perf = 100.0 * q.completed_in_sl / q.completed if q.completed else 0.0
        total = q.completed + q.abandoned
        perf2 = 100.0 * (q.completed_in_sl + q.abandoned_in_sl) / total if total else 0.0
        return [
            ("Queue", q.name),
            ("Max", "0"),
            ("Strategy", q.strategy),
            ("Calls", str(len(q.entries))),
            ("Holdtime", str(int(q.holdtime))),
            ("TalkTime", str(int(q.talktime))),
            ("Completed", str(q.completed)),
            ("Abandoned", str(q.abandoned)),
            ("ServiceLevel", str(q.servicelevel)),
            ("ServicelevelPerf", f"{perf:.1f}"),
            ("ServicelevelPerf2", f"{perf2:.1f}"),
            ("Weight", str(q.weight)),
        ]

    def queue_member(self, m: Member) -> Fields:
        """A QueueStatus QueueMember block: the member event's fields, with
        app_queue's other names for two of them and no Ringinuse."""
        names = {"MemberName": "Name", "Interface": "Location"}
        return [(names.get(k, k), v) for k, v in self.member_block(m) if k != "Ringinuse"]  # type: ignore[attr-defined]

    def queue_entry(self, q: Queue, call: Call) -> Fields:
        ch = call.caller
        return [
            ("Queue", q.name),
            ("Position", str(q.entries.index(call) + 1)),
            ("Channel", ch.name),
            ("Uniqueid", ch.uniqueid),
            ("CallerIDNum", unknown(ch.cid_num)),
            ("CallerIDName", unknown(ch.cid_name)),
            ("ConnectedLineNum", unknown(ch.conn_num)),
            ("ConnectedLineName", unknown(ch.conn_name)),
            ("Wait", str(int(self.now - call.joined))),
            ("Priority", str(call.priority)),
        ]

    def queue_summary(self, q: Queue) -> Fields:
        logged = len(q.members)
        avail = sum(1 for m in q.members.values() if not m.paused and self.device_state(m.state_interface) in (NOT_INUSE, UNKNOWN))
        longest = max((int(self.now - c.joined) for c in q.entries), default=0)
        return [
            ("Queue", q.name),
            ("LoggedIn", str(logged)),
            ("Available", str(avail)),
            ("Callers", str(len(q.entries))),
            ("HoldTime", str(int(q.holdtime))),
            ("TalkTime", str(int(q.talktime))),
            ("LongestHoldTime", str(longest)),
        ]

    def channel_list(self) -> list[Channel]:
        return sorted(self.channels.values(), key=lambda c: c.created)

    def core_show_channel(self, ch: Channel) -> Fields:
        """CoreShowChannel after its ActionID: the snapshot, the application, Duration, BridgeId."""
        return ch.snapshot() + [
            ("Application", ch.app),
            ("ApplicationData", ch.app_data),
            ("Duration", _hms(int(self.now - ch.created))),
            ("BridgeId", ch.bridge.uniqueid if ch.bridge else ""),
        ]

    def status(self, ch: Channel) -> Fields:
        """The Status action's event body (manager.c generate_status), before its ActionID."""
        eff_num, eff_name = unknown(ch.conn_num), unknown(ch.conn_name)
        return ch.snapshot() + [
            ("Type", ch.tech),
            ("DNID", ch.dnid),
            ("EffectiveConnectedLineNum", eff_num),
            ("EffectiveConnectedLineName", eff_name),
            ("TimeToHangup", "0"),
            ("BridgeID", ch.bridge.uniqueid if ch.bridge else ""),
            ("Application", ch.app),
            ("Data", ch.app_data),
            ("Nativeformats", "(alaw)"),
            ("Readformat", "alaw"),
            ("Readtrans", ""),
            ("Writeformat", "alaw"),
            ("Writetrans", ""),
            ("Callgroup", "1" if ch.device.startswith("PJSIP/") else "0"),
            ("Pickupgroup", "1" if ch.device.startswith("PJSIP/") else "0"),
            ("Seconds", str(int(self.now - ch.created))),
        ]

    def bridge_list(self) -> list[Bridge]:
        return sorted(self.bridges.values(), key=lambda b: b.created)
