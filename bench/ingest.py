"""Ingest throughput: raw AMI bytes -> domain events, against panoramisk 1.4.

Both sides get the same realistic byte stream (queue calls with the channel,
bridge, Newexten and VarSet noise a real Asterisk 18 sends, Chinese caller
names, ~65 events per call, CRLF, Timestamp headers) in the same process
and run, cut into TCP-read-sized chunks:

- ours: callcenter.ami.normaliser.EventStream.feed (framing, UTF-8 decode,
  filtering, parsing and normalisation into acd.events), i.e. everything the
  bridge does per chunk before handing events to the consumer;
- baseline: panoramisk 1.4 AMIProtocol.data_received with a no-op dispatch
  (decode, split, Message parse; no normalisation at all).

Prints raw events per second for both (median and p99 = slowest run over
repeated, interleaved runs) and the ratio of medians.

    .venv/bin/python bench/ingest.py [--calls 2000] [--runs 15] [--chunk 16384]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from panoramisk.ami_protocol import AMIProtocol

from callcenter.acd.events import Event
from callcenter.ami.normaliser import EventStream

NAMES = ["王先生", "李女士", "张伟", "刘芳", "陈静", "杨洋", "赵磊", "黄敏", "周杰", "吴婷",
         "上海浦东物业管理有限公司", "北京朝阳区业主委员会", "<unknown>", "", "Zhang San"]  # fmt: skip


class Stream:
    """A deterministic Asterisk-18-like event stream."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.t = 1_700_000_000.0
        self.uid = 0
        self.chan = 0
        self.out: list[bytes] = []

    def emit(self, event: str, priv: str, *fields: tuple[str, str]) -> None:
        lines = [f"Event: {event}", f"Privilege: {priv},all", f"Timestamp: {self.t:.6f}"]
        lines += [f"{k}: {v}" for k, v in fields]
        self.out.append(("\r\n".join(lines) + "\r\n\r\n").encode())

    def snap(self, ch: dict[str, str], prefix: str = "") -> list[tuple[str, str]]:
        return [(prefix + k, v) for k, v in (
            ("Channel", ch["name"]), ("ChannelState", ch["state"]), ("ChannelStateDesc", {"4": "Ring", "5": "Ringing", "6": "Up"}.get(ch["state"], "Down")),
            ("CallerIDNum", ch["num"]), ("CallerIDName", ch["cid"]), ("ConnectedLineNum", "<unknown>"), ("ConnectedLineName", "<unknown>"),
            ("Language", "zh"), ("AccountCode", ""), ("Context", ch["ctx"]), ("Exten", ch["exten"]), ("Priority", "1"),
            ("Uniqueid", ch["uid"]), ("Linkedid", ch["linked"]))]  # fmt: skip

    def channel(self, tech: str, num: str, cid: str, linked: str | None = None) -> dict[str, str]:
        self.uid += 1
        self.chan += 1
        uid = f"{int(self.t)}.{self.uid}"
        ch = {"name": f"{tech}-{self.chan:08x}", "state": "0", "num": num, "cid": cid, "ctx": "from-pstn", "exten": "s", "uid": uid, "linked": linked or uid}
        self.emit("Newchannel", "call", *self.snap(ch))
        return ch

    def tick(self, s: float) -> None:
        self.t += s

    def call(self, queue: str, agent: int) -> None:
        rng = self.rng
        num = f"1{rng.randint(3000000000, 9999999999)}"
        caller = self.channel("PJSIP/trunk", num, rng.choice(NAMES))
        for var, val in (("__FROM_DID", "4008208820"), ("CHANNEL(language)", "zh"), ("CDR(userfield)", "")):
            self.emit("VarSet", "dialplan", *self.snap(caller), ("Variable", var), ("Value", val))
        for app, data in (("Answer", ""), ("Set", "CHANNEL(language)=zh"), ("Playback", "welcome"), ("Background", "ivr-menu"),
                          ("WaitExten", "5"), ("Set", "CC_IVR=1"), ("Gosub", "route,s,1"), ("Set", "QUEUE_PRIO=0")):  # fmt: skip
            self.emit("Newexten", "dialplan", *self.snap(caller), ("Extension", "s"), ("Application", app), ("AppData", data))
            self.tick(0.4)
        caller["state"] = "6"
        self.emit("Newstate", "call", *self.snap(caller))
        self.emit("VarSet", "dialplan", *self.snap(caller), ("Variable", "CC_IVR"), ("Value", "1"))
        self.emit("VarSet", "dialplan", *self.snap(caller), ("Variable", "QUEUE_PRIO"), ("Value", "0"))
        self.emit("QueueCallerJoin", "agent", *self.snap(caller), ("Queue", queue), ("Position", "1"), ("Count", "1"))
        self.emit("MusicOnHoldStart", "call", *self.snap(caller), ("Class", "default"))
        joined = self.t
        iface = f"PJSIP/{8000 + agent}"
        member = [("Queue", queue), ("MemberName", f"坐席{agent}"), ("Interface", iface), ("StateInterface", iface), ("Membership", "dynamic"),
                  ("Penalty", "0"), ("CallsTaken", "3"), ("LastCall", str(int(self.t) - 90)), ("LastPause", "0"), ("LoginTime", str(int(self.t) - 3600)),
                  ("InCall", "0"), ("Status", "6"), ("Paused", "0"), ("PausedReason", ""), ("Ringinuse", "0"), ("Wrapuptime", "0")]  # fmt: skip
        leg = self.channel(iface, str(8000 + agent), f"坐席{agent}", caller["uid"])
        self.emit("QueueMemberStatus", "agent", *member)
        agent_f = [("Queue", queue), ("Interface", iface), ("MemberName", f"坐席{agent}")]
        self.emit("AgentCalled", "agent", *self.snap(caller), *self.snap(leg, "Dest"), *agent_f)
        self.emit("DialBegin", "call", *self.snap(caller), *self.snap(leg, "Dest"), ("DialString", iface[6:]))
        self.emit("NewConnectedLine", "call", *self.snap(leg))
        leg["state"] = "5"
        self.emit("Newstate", "call", *self.snap(leg))
        self.emit("DialState", "call", *self.snap(caller), *self.snap(leg, "Dest"), ("DialStatus", "RINGING"))
        abandon = rng.random() < 0.15
        ring = rng.uniform(2, 12)
        self.tick(ring)
        if abandon:
            self.emit("DialEnd", "call", *self.snap(caller), *self.snap(leg, "Dest"), ("DialStatus", "CANCEL"))
            self.emit("Hangup", "call", *self.snap(leg), ("Cause", "0"), ("Cause-txt", "Unknown"))
            self.emit("QueueCallerAbandon", "agent", *self.snap(caller), ("Queue", queue), ("Position", "1"), ("OriginalPosition", "1"), ("HoldTime", str(int(self.t - joined))))
            self.emit("QueueCallerLeave", "agent", *self.snap(caller), ("Queue", queue), ("Position", "1"), ("Count", "0"))
            self.emit("Hangup", "call", *self.snap(caller), ("Cause", "16"), ("Cause-txt", "Normal Clearing"))
            self.emit("QueueMemberStatus", "agent", *[(k, "1" if k == "Status" else v) for k, v in member])
            return
        self.emit("QueueMemberStatus", "agent", *[(k, "2" if k == "Status" else v) for k, v in member])
        leg["state"] = "6"
        self.emit("Newstate", "call", *self.snap(leg))
        self.emit("DialEnd", "call", *self.snap(caller), *self.snap(leg, "Dest"), ("DialStatus", "ANSWER"))
        self.emit("MusicOnHoldStop", "call", *self.snap(caller))
        self.emit("QueueCallerLeave", "agent", *self.snap(caller), ("Queue", queue), ("Position", "1"), ("Count", "0"))
        hold = int(self.t - joined)
        self.emit("AgentConnect", "agent", *self.snap(caller), *self.snap(leg, "Dest"), *agent_f, ("HoldTime", str(hold)), ("RingTime", str(int(ring))))
        for var, val in (("BRIDGEPEER", leg["name"]), ("DIALSTATUS", "ANSWER"), ("ANSWEREDTIME", "0"), ("DIALEDTIME", str(int(ring))),
                         ("MEMBERINTERFACE", iface), ("MIXMONITOR_FILENAME", f"/var/spool/asterisk/monitor/{caller['uid']}.wav")):  # fmt: skip
            self.emit("VarSet", "dialplan", *self.snap(caller), ("Variable", var), ("Value", val))
        bridge = [("BridgeUniqueid", f"b{caller['uid']}"), ("BridgeType", "basic"), ("BridgeTechnology", "simple_bridge"), ("BridgeCreator", "<unknown>"),
                  ("BridgeName", "<unknown>"), ("BridgeNumChannels", "1"), ("BridgeVideoSourceMode", "none")]  # fmt: skip
        self.emit("BridgeCreate", "call", *bridge)
        self.emit("BridgeEnter", "call", *bridge, *self.snap(leg))
        self.emit("BridgeEnter", "call", *bridge, *self.snap(caller))
        self.emit("MixMonitorStart", "call", *self.snap(caller))
        talk = rng.uniform(30, 300)
        if rng.random() < 0.3:
            self.tick(talk / 2)
            self.emit("Hold", "call", *self.snap(leg), ("MusicClass", "default"))
            self.emit("MusicOnHoldStart", "call", *self.snap(caller), ("Class", "default"))
            self.tick(20)
            self.emit("MusicOnHoldStop", "call", *self.snap(caller))
            self.emit("Unhold", "call", *self.snap(leg))
        self.tick(talk)
        self.emit("HangupRequest", "call", *self.snap(caller), ("Cause", "16"))
        self.emit("AgentComplete", "agent", *self.snap(caller), *self.snap(leg, "Dest"), *agent_f, ("HoldTime", str(hold)), ("TalkTime", str(int(talk))), ("Reason", "caller"))
        self.emit("BridgeLeave", "call", *bridge, *self.snap(caller))
        self.emit("SoftHangupRequest", "call", *self.snap(leg), ("Cause", "16"))
        self.emit("BridgeLeave", "call", *bridge, *self.snap(leg))
        self.emit("BridgeDestroy", "call", *bridge)
        for i in range(4):
            self.emit("VarSet", "dialplan", *self.snap(caller if i % 2 else leg), ("Variable", "RTPAUDIOQOS"), ("Value", "ssrc=1;themssrc=2;lp=0;rxjitter=0.001;rxcount=1500"))
        self.emit("MixMonitorStop", "call", *self.snap(caller))
        for ch in (caller, leg):
            self.emit("Newexten", "dialplan", *self.snap(ch), ("Extension", "h"), ("Application", "Hangup"), ("AppData", ""))
        self.emit("Hangup", "call", *self.snap(caller), ("Cause", "16"), ("Cause-txt", "Normal Clearing"))
        self.emit("Hangup", "call", *self.snap(leg), ("Cause", "16"), ("Cause-txt", "Normal Clearing"))
        self.emit("QueueMemberStatus", "agent", *[(k, "1" if k == "Status" else v) for k, v in member])

    def build(self, calls: int) -> bytes:
        for i in range(calls):
            self.call(self.rng.choice(["报修", "投诉", "回访", "催费"]), i % 40)
            self.tick(self.rng.uniform(0, 5))
        return b"Asterisk Call Manager/7.0.3\r\n" + b"".join(self.out)


class _NoopFactory:
    save_stream = None
    dispatched = 0

    def dispatch(self, message: object) -> None:
        self.dispatched += 1


def run_ours(chunks: list[bytes]) -> tuple[float, int]:
    stream = EventStream()
    n = 0
    t0 = time.perf_counter()
    for chunk in chunks:
        n += len(stream.feed(chunk, 0.0))
    return time.perf_counter() - t0, n


def run_panoramisk(chunks: list[bytes]) -> tuple[float, int]:
    protocol = AMIProtocol()
    protocol.connection_made(None)
    factory = _NoopFactory()
    protocol.factory = factory
    protocol.encoding = "utf8"  # what Manager sets; the class default is ascii
    t0 = time.perf_counter()
    for chunk in chunks:
        protocol.data_received(chunk)
    return time.perf_counter() - t0, factory.dispatched


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--chunk", type=int, default=16384, help="bytes per TCP read")
    a = ap.parse_args()

    source = Stream()
    data = source.build(a.calls)
    raw_events = len(source.out)
    chunks = [data[i : i + a.chunk] for i in range(0, len(data), a.chunk)]
    print(f"stream: {a.calls} calls, {raw_events} raw events ({raw_events / a.calls:.0f}/call), {len(data) / 1e6:.1f} MB, {len(chunks)} reads of {a.chunk} B")

    _, delivered = run_ours(chunks)
    _, dispatched = run_panoramisk(chunks)
    assert dispatched == raw_events, (dispatched, raw_events)
    events = [e for e in EventStream().feed(data, 0.0) if isinstance(e, Event)]
    print(f"domain events out: {delivered} ({len(events)} when fed whole); panoramisk dispatched {dispatched}")

    ours: list[float] = []
    base: list[float] = []
    for i in range(a.runs):  # interleaved, so drift hits both alike
        for fn, acc in ((run_ours, ours), (run_panoramisk, base)) if i % 2 == 0 else ((run_panoramisk, base), (run_ours, ours)):
            acc.append(raw_events / fn(chunks)[0])

    def describe(xs: list[float]) -> str:
        p99 = sorted(xs)[max(0, int(len(xs) * 0.01) - 1)] if len(xs) >= 100 else min(xs)
        return f"median {statistics.median(xs):>12,.0f} ev/s   p99 (slowest run) {p99:>12,.0f} ev/s"

    print(f"callcenter EventStream   {describe(ours)}")
    print(f"panoramisk 1.4 raw       {describe(base)}")
    print(f"ratio (median, ours / panoramisk): {statistics.median(ours) / statistics.median(base):.2f}x")


if __name__ == "__main__":
    main()
