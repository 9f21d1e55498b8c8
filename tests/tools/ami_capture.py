"""Drive a running Asterisk over AMI and record fixtures for tests/fixtures/asterisk/.

This script does not build or install Asterisk: it connects to one that is
already running with the shipped config (asterisk/) plus the capture-only
contexts described in tests/fixtures/asterisk/<version>/README.md, and for
each scenario writes:

- <out>/<scenario>.ami        every byte AMI sent on the connection, banner
                              first (what `callcenter replay FILE` reads);
- <out>/<scenario>.queue_log  the lines Asterisk appended to queue_log while
                              the scenario ran.

Callers, agent phones and outside numbers are Local channels (no PJSIP):
  caller      Originate Local/<number>@sim-caller -> from-trunk,4008001234
              (;1 is the "trunk" channel that runs our dialplan, ;2 the handset)
  agent phone Local/<ext>@sim-phone;1 (the "PJSIP/<ext>" stand-in; ;2 is the
              handset, which rings/answers/is busy as the global SIM_<ext> says)
  outside     Local/<number>@sim-pstn, same rules as sim-phone
It also answers /hooks/route, /hooks/survey and /hooks/callback itself (a stub
with the real hook's reply shape), unless --no-hook.

  python tests/tools/ami_capture.py --out DIR --queue-log /path/queue_log \
      --secret S [--list] [scenario ...]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

DID = "4008001234"
AGENT_NAMES = {"8001": "王芳", "8002": "李娜", "8003": "张强"}
# caller number -> (name, priority, queue override) as the stub hook answers
CALLERS = {
    "13900000001": ("张伟", 0, ""),
    "13900000002": ("刘洋", 0, ""),
    "13900000003": ("陈静", 0, "leaveempty"),
    "13900000004": ("周敏", 0, "duty:8020"),
    "13900000005": ("吴磊", 0, "duty:13800000009"),
    "13900000088": ("黄金客户", 5, ""),
    "13900000099": ("赵贵宾", 10, "vip"),
}
CHOICE_QUEUE = {"1": "repairs", "2": "complaints", "3": "enquiries", "4": "fees"}


# --- a raw AMI client that records every byte -------------------------------------


Frame = dict[str, Any]


def parse_frame(raw: bytes) -> Frame:
    f: Frame = {}
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        k, sep, v = line.partition(":")
        if not sep:
            continue
        k, v = k.strip(), v.strip()
        if k in f:
            f[k] = (f[k] if isinstance(f[k], list) else [f[k]]) + [v]
        else:
            f[k] = v
    return f


class Ami:
    def __init__(self, record: Path):
        self.record = record.open("wb")
        self.frames: list[Frame] = []
        self.changed = asyncio.Condition()
        self.seq = 0
        self.last_sent = 0  # frames seen before the last action: event() waits from here
        self.channels: dict[str, str] = {}  # uniqueid -> name, live ones

    async def connect(self, host: str, port: int, user: str, secret: str) -> None:
        self.reader, self.writer = await asyncio.open_connection(host, port)
        banner = await self.reader.readline()
        self.record.write(banner)
        self.task = asyncio.create_task(self._read())
        r = await self.action("Login", Username=user, Secret=secret)
        if r.get("Response") != "Success":
            raise SystemExit(f"AMI login failed: {r}")
        await self.wait(lambda f: f.get("Event") == "FullyBooted", since=0)

    async def _read(self) -> None:
        buf = b""
        while True:
            data = await self.reader.read(65536)
            if not data:
                break
            self.record.write(data)
            buf += data
            *done, buf = buf.split(b"\r\n\r\n")
            if done:
                async with self.changed:
                    for raw in done:
                        f = parse_frame(raw)
                        self._track(f)
                        self.frames.append(f)
                    self.changed.notify_all()

    def _track(self, f: Frame) -> None:
        e = f.get("Event")
        if e == "Newchannel":
            self.channels[f["Uniqueid"]] = f["Channel"]
        elif e == "Hangup":
            self.channels.pop(f.get("Uniqueid", ""), None)
        elif e == "Rename":
            if f.get("Uniqueid") in self.channels:
                self.channels[f["Uniqueid"]] = f["Newname"]

    async def send(self, name: str, **fields: Any) -> str:
        self.seq += 1
        self.last_sent = len(self.frames)
        aid = f"cap-{self.seq}"
        lines = [f"Action: {name}", f"ActionID: {aid}"]
        for k, v in fields.items():
            for x in v if isinstance(v, list) else [v]:
                lines.append(f"{k}: {x}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()
        return aid

    async def action(self, name: str, timeout: float = 10, **fields: Any) -> Frame:
        mark = len(self.frames)
        aid = await self.send(name, **fields)
        return await self.wait(lambda f: f.get("ActionID") == aid and "Response" in f, since=mark, timeout=timeout)

    async def list_action(self, name: str, timeout: float = 10, **fields: Any) -> list[Frame]:
        mark = len(self.frames)
        aid = await self.send(name, **fields)
        first = await self.wait(lambda f: f.get("ActionID") == aid and "Response" in f, since=mark, timeout=timeout)
        if first.get("Response") != "Success":
            return [first]
        await self.wait(lambda f: f.get("ActionID") == aid and f.get("EventList") == "Complete", since=mark, timeout=timeout)
        return [f for f in self.frames[mark:] if f.get("ActionID") == aid]

    async def wait(self, pred: Callable[[Frame], bool], since: int | None = None, timeout: float = 30) -> Frame:
        start = len(self.frames) if since is None else since

        def found() -> Frame | None:
            for f in self.frames[start:]:
                if pred(f):
                    return f
            return None

        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(lambda: found() is not None), timeout)
            except TimeoutError:
                raise TimeoutError(f"no matching frame in {timeout}s") from None
            return found()  # type: ignore[return-value]

    def mark(self) -> int:
        return len(self.frames)

    async def event(self, name: str, since: int | None = None, timeout: float = 30, **match: str) -> Frame:
        def pred(f: Frame) -> bool:
            if f.get("Event") != name:
                return False
            for k, v in match.items():
                got = f.get(k, "")
                if v.endswith("*") and isinstance(got, str):
                    if not got.startswith(v[:-1]):
                        return False
                elif got != v:
                    return False
            return True

        return await self.wait(pred, since=self.last_sent if since is None else since, timeout=timeout)

    async def idle(self, timeout: float = 60) -> None:
        """Until every channel seen on this connection has hung up."""
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: not self.channels), timeout)

    def live(self, prefix: str, suffix: str = "") -> list[str]:
        return [n for n in self.channels.values() if n.startswith(prefix) and n.endswith(suffix)]

    async def close(self) -> None:
        try:
            await self.action("Logoff", timeout=3)
        except (TimeoutError, ConnectionError):
            pass
        await asyncio.sleep(0.2)
        self.writer.close()
        self.task.cancel()
        self.record.close()


# --- the hook stub ------------------------------------------------------------------


class HookStub:
    """Answers like callcenter's /hooks (key=value&..., percent-encoded values,
    read with CURLOPT(hashcompat)); decisions from CALLERS / CHOICE_QUEUE."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.tasks = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        line = head.split(b"\r\n", 1)[0].decode()
        target = line.split(" ")[1]
        self.log.append(target)
        url = urlsplit(target)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path.endswith("/route"):
            caller = q.get("caller", "")
            name, prio, queue = CALLERS.get(caller, ("", 0, ""))
            duty = queue[5:] if queue.startswith("duty:") else ""
            queue = "" if duty else queue
            queue = queue or CHOICE_QUEUE.get(q.get("choice", ""), "enquiries")
            now = dt.datetime.now()
            uid = re.sub(r"[^0-9A-Za-z._-]", "_", q.get("uniqueid", ""))
            data = {
                "queue": queue, "action": "duty" if duty else "queue", "priority": str(prio), "name": name, "lang": "",
                "open_ticket": "0", "recording": f"{now:%Y%m%d}/{now:%Y%m%d-%H%M%S}-{uid}-{caller or 'anonymous'}.wav",
                "duty": duty, "voicemail": "", "customer_id": "", "reason": "vip" if prio else "unknown_caller", "fallback": "0",
            }
        elif url.path.endswith("/survey"):
            data = {"status": "ok", "score": q.get("score", "")}
        elif url.path.endswith("/callback"):
            self.tasks += 1
            data = {"status": "created", "task": str(self.tasks), "due": f"{dt.datetime.now() + dt.timedelta(hours=2):%H:%M}"}
        else:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        body = "&".join(f"{k}={quote(v, safe='')}" for k, v in data.items()).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        await writer.drain()
        writer.close()


# --- scenario helpers ----------------------------------------------------------------


class Run:
    def __init__(self, ami: Ami, hook: HookStub | None):
        self.ami = ami
        self.hook = hook
        self.members: list[tuple[str, str]] = []
        self.serve_hook = "http://127.0.0.1:18081/hooks"

    async def phones(self, **modes: str) -> None:
        """SIM_<ext> globals: 'answer:<ring s>[:talk]', 'noanswer', 'busy'."""
        for ext, mode in modes.items():
            await self.ami.action("Setvar", Variable=f"SIM_{ext.lstrip('_')}", Value=mode)

    async def setglobal(self, name: str, value: str) -> None:
        await self.ami.action("Setvar", Variable=name, Value=value)

    async def login(self, queue: str, ext: str, style: str = "phone", paused: bool = False, penalty: int = 0) -> str:
        iface = {"phone": f"Local/{ext}@sim-phone/n", "agents_n": f"Local/{ext}@agents/n", "agents": f"Local/{ext}@agents"}[style]
        fields = {"Queue": queue, "Interface": iface, "MemberName": AGENT_NAMES[ext], "Penalty": penalty}
        if paused:
            fields.update(Paused="true", Reason="休息")
        r = await self.ami.action("QueueAdd", **fields)
        assert r.get("Response") == "Success", r
        self.members.append((queue, iface))
        return iface

    async def logout_all(self) -> None:
        for queue, iface in self.members:
            await self.ami.action("QueueRemove", Queue=queue, Interface=iface)
        self.members.clear()

    async def pause(self, iface: str, paused: bool, reason: str = "", queue: str = "") -> Frame:
        fields: dict[str, Any] = {"Interface": iface, "Paused": "true" if paused else "false"}
        if reason:
            fields["Reason"] = reason
        if queue:
            fields["Queue"] = queue
        return await self.ami.action("QueuePause", **fields)

    async def call(self, number: str, choice: str = "1", audio: str = "silent") -> "Caller":
        """A caller dials the hotline; picks `choice` in the IVR (None: waits for the timeout)."""
        mark = self.ami.mark()
        await self.ami.action(
            "Originate", Channel=f"Local/{number}@sim-caller", Context="from-trunk", Exten=DID, Priority=1,
            CallerID=number, Async="true", Timeout=10000, Variable=f"SIM_AUDIO={audio}",
        )
        nc = await self.ami.event("Newchannel", since=mark, Channel=f"Local/{number}@sim-caller-*")
        c = Caller(nc["Channel"], nc["Channel"][:-1] + "2", nc["Uniqueid"])
        if choice:
            await self.ami.event("VarSet", since=mark, Channel=c.trunk, Variable="CC_TRIES")
            await self.ami.action("PlayDTMF", Channel=c.handset, Digit=choice, Duration=120)
        return c

    def device(self, ext: str) -> str:
        """The agent phone's live channel (the PJSIP stand-in, sim-phone ;1)."""
        found = self.ami.live(f"Local/{ext}@sim-phone-", ";1")
        assert found, f"no live phone channel for {ext}: {self.ami.channels}"
        return found[-1]

    def handset(self, ext: str) -> str:
        """The phone's handset (sim-phone ;2): hanging it up makes ;1 end the
        way a PJSIP BYE does (the channel queues its own hangup request)."""
        return self.device(ext)[:-1] + "2"

    async def hangup(self, channel: str) -> None:
        await self.ami.action("Hangup", Channel=channel, Cause=16)

    async def hangup_all(self) -> None:
        for name in list(self.ami.channels.values()):
            await self.ami.action("Hangup", Channel=name, Cause=16)


class Caller:
    def __init__(self, trunk: str, handset: str, uniqueid: str):
        self.trunk, self.handset, self.uniqueid = trunk, handset, uniqueid


sleep = asyncio.sleep

# --- scenarios ----------------------------------------------------------------------
# Each gets a Run with a fresh AMI connection; it logs in what it needs and the
# runner logs everyone out and waits for every channel to end afterwards.


async def answered_caller_hangup(r: Run) -> None:
    """repairs: 王芳 answers after 2 s ringing; talk 4 s; the caller hangs up."""
    await r.phones(_8001="answer:2")
    await r.login("repairs", "8001")
    c = await r.call("13900000001", "1")
    await r.ami.event("AgentConnect", Queue="repairs")
    await sleep(4)
    await r.hangup(c.handset)


async def answered_agent_hangup(r: Run) -> None:
    """repairs: 王芳 answers; talk 4 s; the agent hangs up; the caller scores 5 in cc-survey."""
    await r.phones(_8001="answer:2")
    await r.login("repairs", "8001")
    c = await r.call("13900000001", "1")
    await r.ami.event("AgentConnect", Queue="repairs")
    await sleep(4)
    m = r.ami.mark()
    await r.hangup(r.handset("8001"))
    await r.ami.event("AgentComplete", since=m)
    await sleep(1.5)
    await r.ami.action("PlayDTMF", Channel=c.handset, Digit="5", Duration=120)
    await r.ami.event("Hangup", Channel=c.trunk, timeout=20)


async def agent_hangup_desktop(r: Run) -> None:
    """repairs: 王芳 answers; talk 4 s; the desktop hangs her phone channel up
    with AMI Hangup (not a BYE from the phone); the caller sits out the survey
    prompt (5 s, no key)."""
    await r.phones(_8001="answer:2")
    await r.login("repairs", "8001")
    c = await r.call("13900000001", "1")
    await r.ami.event("AgentConnect", Queue="repairs")
    await sleep(4)
    await r.hangup(r.device("8001"))
    await r.ami.event("Hangup", Channel=c.trunk, timeout=20)


async def join_empty(r: Run) -> None:
    """enquiries with no member signed in (joinempty = unavailable,invalid):
    Queue() refuses the caller (no QueueCallerJoin); cc-queue offers the callback."""
    c = await r.call("13900000002", "3")
    await r.ami.event("Hangup", Channel=c.trunk, timeout=20)


async def abandon_waiting(r: Run) -> None:
    """repairs: the only agent is paused (休息); the caller waits ~5 s and hangs up."""
    await r.login("repairs", "8001", paused=True)
    c = await r.call("13900000001", "1")
    await r.ami.event("QueueCallerJoin", Queue="repairs")
    await sleep(5)
    await r.hangup(c.handset)


async def abandon_ringing(r: Run) -> None:
    """repairs: 王芳's phone rings (never answers); the caller hangs up after 4 s of ringing."""
    await r.phones(_8001="noanswer")
    await r.login("repairs", "8001")
    c = await r.call("13900000001", "1")
    await r.ami.event("AgentCalled", Queue="repairs")
    await sleep(4)
    await r.hangup(c.handset)


async def ring_no_answer_then_second(r: Run) -> None:
    """repairs (rrmemory, timeout 15, retry 3, autopause): 王芳 rings out, is
    auto-paused; 李娜 answers after 2 s; talk 3 s; the agent hangs up."""
    await r.phones(_8001="noanswer", _8002="answer:2")
    a = await r.login("repairs", "8001")
    await r.login("repairs", "8002")
    c = await r.call("13900000001", "1")
    await r.ami.event("AgentConnect", Queue="repairs", timeout=40)
    await sleep(3)
    await r.hangup(r.handset("8002"))
    await r.ami.event("Hangup", Channel=c.trunk)
    await r.pause(a, False)


async def member_busy(r: Run) -> None:
    """repairs: 王芳's phone answers busy (AgentRingNoAnswer at once, no
    autopause: autopausebusy = no); after retry 3 s 李娜 answers; talk 3 s;
    the caller hangs up."""
    await r.phones(_8001="busy", _8002="answer:1")
    await r.login("repairs", "8001")
    await r.login("repairs", "8002")
    c = await r.call("13900000001", "1")
    await r.ami.event("AgentConnect", Queue="repairs", timeout=40)
    await sleep(3)
    await r.hangup(c.handset)


async def member_busy_local_agents(r: Run) -> None:
    """As member_busy, but the members are Local/80xx@agents/n: [agents]'s
    Dial gets BUSY from the phone and hangs up its Local ;2."""
    await r.phones(_8001="busy", _8002="answer:1")
    await r.login("repairs", "8001", style="agents_n")
    await r.login("repairs", "8002", style="agents_n")
    c = await r.call("13900000001", "1")
    await r.ami.event("AgentConnect", Queue="repairs", timeout=40)
    await sleep(3)
    await r.hangup(c.handset)


async def abandon_ringing_local_agents(r: Run) -> None:
    """As abandon_ringing, with the member Local/8001@agents/n."""
    await r.phones(_8001="noanswer")
    await r.login("repairs", "8001", style="agents_n")
    c = await r.call("13900000001", "1")
    await r.ami.event("AgentCalled", Queue="repairs")
    await sleep(4)
    await r.hangup(c.handset)


async def supervisor_listen(r: Run) -> None:
    """repairs: 王芳 answers; 2 s in, the lead's phone 7001 is originated into
    ChanSpy(Local/8001@sim-phone-,qES) (the gateway's listen options); it
    listens 3 s and hangs up; the caller hangs up 2 s later."""
    await r.phones(_8001="answer:1", _7001="answer:1")
    await r.login("repairs", "8001")
    c = await r.call("13900000001", "1")
    await r.ami.event("AgentConnect", Queue="repairs")
    await sleep(2)
    await r.ami.action("Originate", Channel="Local/7001@sim-phone", Application="ChanSpy", Data="Local/8001@sim-phone-,qES",
                       CallerID='"listen" <8001>', Async="true", Timeout=30000)
    await r.ami.event("ChanSpyStart", timeout=15)
    await sleep(3)
    await r.hangup(r.handset("7001"))
    await sleep(2)
    await r.hangup(c.handset)


async def ringall(r: Run) -> None:
    """vip (strategy = ringall in queues.conf): 王芳 and 李娜 ring; 李娜 answers after 2 s, 王芳 would after 4 s."""
    await r.phones(_8001="answer:4", _8002="answer:2")
    await r.login("vip", "8001")
    await r.login("vip", "8002")
    c = await r.call("13900000099", "1")
    await r.ami.event("AgentConnect", Queue="vip", timeout=40)
    await sleep(3)
    await r.hangup(c.handset)


async def queue_timeout(r: Run) -> None:
    """repairs with CC_MAX_WAIT set to 8 s (global, at run time): the only agent
    is paused; the caller times out and goes to cc-callback (/hooks/callback)."""
    await r.setglobal("CC_MAX_WAIT", "8")
    try:
        await r.login("repairs", "8001", paused=True)
        c = await r.call("13900000001", "1")
        await r.ami.event("Hangup", Channel=c.trunk, timeout=40)
    finally:
        await r.setglobal("CC_MAX_WAIT", "300")


async def leavewhenempty(r: Run) -> None:
    """leaveempty (capture-only queue, leavewhenempty = unavailable,invalid):
    王芳 is paused; after 3 s she is removed; the queue is empty, the caller
    leaves and goes to cc-callback."""
    a = await r.login("leaveempty", "8001", paused=True)
    c = await r.call("13900000003", "1")
    await r.ami.event("QueueCallerJoin", Queue="leaveempty")
    await sleep(3)
    await r.ami.action("QueueRemove", Queue="leaveempty", Interface=a)
    r.members.clear()
    await r.ami.event("Hangup", Channel=c.trunk, timeout=30)


async def exit_with_key(r: Run) -> None:
    """repairs: the agent is paused; after 3 s the caller presses 9
    (queues.conf context = cc-queue-keys) and asks for a callback."""
    await r.login("repairs", "8001", paused=True)
    c = await r.call("13900000001", "1")
    await r.ami.event("QueueCallerJoin", Queue="repairs")
    await sleep(3)
    await r.ami.action("PlayDTMF", Channel=c.handset, Digit="9", Duration=120)
    await r.ami.event("Hangup", Channel=c.trunk, timeout=30)


async def caller_priority(r: Run) -> None:
    """repairs: 王芳 paused; 张伟 (priority 0) joins, then 黄金客户 (hook
    priority 5 -> QUEUE_PRIO) joins ahead of him; 王芳 unpauses and gets the
    priority caller; 李娜 signs in and gets 张伟."""
    await r.phones(_8001="answer:1", _8002="answer:1")
    a = await r.login("repairs", "8001", paused=True)
    c1 = await r.call("13900000001", "1")
    await r.ami.event("QueueCallerJoin", Queue="repairs", CallerIDNum="13900000001")
    await sleep(1)
    c2 = await r.call("13900000088", "1")
    await r.ami.event("QueueCallerJoin", Queue="repairs", CallerIDNum="13900000088")
    await sleep(2)
    await r.pause(a, False)
    await r.ami.event("AgentConnect", Queue="repairs")
    await sleep(1)
    await r.login("repairs", "8002")
    await r.ami.event("AgentConnect", Queue="repairs", MemberName=AGENT_NAMES["8002"])
    await sleep(2)
    await r.hangup(c2.handset)
    await r.hangup(c1.handset)


async def _local_member(r: Run, style: str, audio_caller: str, audio_agent: str) -> None:
    await r.phones(_8001=f"answer:2:{audio_agent}")
    await r.login("repairs", "8001", style=style)
    c = await r.call("13900000001", "1", audio=audio_caller)
    await r.ami.event("AgentConnect", Queue="repairs")
    await sleep(4)
    await r.hangup(r.handset("8001"))
    await r.ami.event("Hangup", Channel=c.trunk, timeout=20)


async def _duty(r: Run, number: str, target: str, caller_audio: str, phone_audio: str) -> None:
    await r.phones(**{f"_{target}": f"answer:2:{phone_audio}"})
    c = await r.call(number, "1", audio=caller_audio)
    await r.ami.event("BridgeEnter", Channel=f"Local/{target}@sim-*", timeout=20)
    await sleep(4)
    await r.hangup(c.handset)


async def duty_caller_moves(r: Run) -> None:
    """After hours: the hook answers action=duty, duty=8020; cc-closed dials
    Local/8020@cc-duty (optimisable), which dials the duty phone.  Only the
    caller sends audio, so the caller's channel moves into the cc-duty Dial
    bridge ("the other way"); talk 4 s; the caller hangs up."""
    await _duty(r, "13900000004", "8020", "talk", "silent")


async def duty_phone_moves(r: Run) -> None:
    """As duty_caller_moves, but only the duty phone sends audio: the phone's
    channel moves into the caller's bridge."""
    await _duty(r, "13900000004", "8020", "silent", "talk")


async def duty_mobile(r: Run) -> None:
    """After hours to the duty mobile 13800000009 through cc-duty's carrier
    branch (sim-pstn); both talk; the caller hangs up after 4 s."""
    await _duty(r, "13900000005", "13800000009", "talk", "talk")


async def local_member_n(r: Run) -> None:
    """repairs, member Local/8001@agents/n (FreePBX style, no optimisation):
    [agents] dials the phone; both talk; the agent hangs up, no survey key."""
    await _local_member(r, "agents_n", "talk", "talk")


async def local_optimise_agent_talks_first(r: Run) -> None:
    """member Local/8001@agents (optimisable): only the agent's handset sends
    audio, so the agents;2 half sees the first frame and the phone channel
    moves into the caller's (queue) bridge."""
    await _local_member(r, "agents", "silent", "talk")


async def local_optimise_caller_talks_first(r: Run) -> None:
    """member Local/8001@agents (optimisable): only the caller sends audio,
    so agents;1 sees the first frame.  The caller would move into the
    agent's (Dial) bridge, but app_queue's bridge has SWAP_INHIBIT_FROM:
    the phone moves into the queue bridge all the same."""
    await _local_member(r, "agents", "talk", "silent")


async def blind_transfer(r: Run) -> None:
    """repairs: 王芳 answers; after 3 s the desktop sends BlindTransfer of her
    phone to 8002@agents; 李娜 answers after 2 s; talk 3 s; 李娜 hangs up."""
    await r.phones(_8001="answer:1", _8002="answer:2")
    await r.login("repairs", "8001")
    c = await r.call("13900000001", "1")
    await r.ami.event("AgentConnect", Queue="repairs")
    await sleep(3)
    await r.ami.action("BlindTransfer", Channel=r.device("8001"), Exten="8002", Context="agents")
    await r.ami.event("BridgeEnter", Channel="Local/8002@sim-phone-*", timeout=20)
    await sleep(3)
    await r.hangup(r.handset("8002"))
    await r.ami.event("Hangup", Channel=c.trunk, timeout=20)


async def blind_transfer_local_member(r: Run) -> None:
    """Like blind_transfer, but 王芳 is a Local/8001@agents/n member: her phone
    is in [agents]'s Dial bridge, so the transferee is the agents;2 half."""
    await r.phones(_8001="answer:1", _8002="answer:2")
    await r.login("repairs", "8001", style="agents_n")
    c = await r.call("13900000001", "1")
    await r.ami.event("AgentConnect", Queue="repairs")
    await sleep(3)
    await r.ami.action("BlindTransfer", Channel=r.device("8001"), Exten="8002", Context="agents")
    await r.ami.event("BridgeEnter", Channel="Local/8002@sim-phone-*", timeout=20)
    await sleep(3)
    await r.hangup(r.handset("8002"))
    await r.ami.event("Hangup", Channel=c.trunk, timeout=20)


async def attended_transfer(r: Run) -> None:
    """repairs: 王芳 answers; Atxfer (features.conf atxfer = *2) to 8002@agents;
    李娜 answers after 2 s; they talk 2 s; 王芳 hangs up: the transfer completes;
    caller and 李娜 talk 3 s; the caller hangs up."""
    await r.phones(_8001="answer:1", _8002="answer:2")
    await r.login("repairs", "8001")
    c = await r.call("13900000001", "1")
    await r.ami.event("AgentConnect", Queue="repairs")
    await sleep(3)
    dev = r.device("8001")
    m = r.ami.mark()
    await r.ami.action("Atxfer", Channel=dev, Exten="8002", Context="agents")
    await r.ami.event("DialEnd", since=m, DialStatus="ANSWER", DestChannel="Local/8002@sim-phone-*", timeout=20)
    await sleep(2)
    await r.hangup(dev[:-1] + "2")
    await r.ami.event("AttendedTransfer", since=m, timeout=10)
    await sleep(3)
    await r.hangup(c.handset)


async def blonde_transfer(r: Run) -> None:
    """repairs: 王芳 answers; Atxfer to 8002@agents; 王芳 hangs up while 李娜's
    phone still rings (it answers after 5 s): a blonde transfer; talk 3 s;
    the caller hangs up."""
    await r.phones(_8001="answer:1", _8002="answer:5")
    await r.login("repairs", "8001")
    c = await r.call("13900000001", "1")
    await r.ami.event("AgentConnect", Queue="repairs")
    await sleep(3)
    dev = r.device("8001")
    m = r.ami.mark()
    await r.ami.action("Atxfer", Channel=dev, Exten="8002", Context="agents")
    await r.ami.event("DialBegin", since=m, DestChannel="Local/8002@sim-phone-*", timeout=20)
    await sleep(1.5)
    await r.hangup(dev[:-1] + "2")
    await r.ami.event("DialEnd", since=m, DialStatus="ANSWER", DestChannel="Local/8002@sim-phone-*", timeout=20)
    await sleep(3)
    await r.hangup(c.handset)


async def pause_reason(r: Run) -> None:
    """王芳 signs in to repairs and complaints, pauses everywhere with reason
    培训 for 3 s, unpauses; then pauses in complaints only (reason 休息) and
    unpauses with a reason (Asterisk 22 reports it)."""
    a = await r.login("repairs", "8001")
    await r.login("complaints", "8001")
    await r.pause(a, True, "培训")
    await sleep(3)
    await r.pause(a, False)
    await sleep(1)
    await r.pause(a, True, "休息", queue="complaints")
    await sleep(2)
    await r.pause(a, False, "back", queue="complaints")
    await sleep(0.5)


async def remove_mid_call(r: Run) -> None:
    """repairs: 王芳 answers; 2 s in, she is removed from the queue (QueueRemove)
    while still talking; 4 s later she hangs up."""
    await r.phones(_8001="answer:1")
    a = await r.login("repairs", "8001")
    c = await r.call("13900000001", "1")
    await r.ami.event("AgentConnect", Queue="repairs")
    await sleep(2)
    await r.ami.action("QueueRemove", Queue="repairs", Interface=a)
    r.members.clear()
    await sleep(4)
    await r.hangup(r.handset("8001"))
    await r.ami.event("Hangup", Channel=c.trunk, timeout=20)


async def pause_during_call(r: Run) -> None:
    """repairs: 王芳 answers; 2 s in she pauses (休息) while talking; the caller
    hangs up 3 s later; she unpauses 3 s after that."""
    await r.phones(_8001="answer:1")
    a = await r.login("repairs", "8001")
    c = await r.call("13900000001", "1")
    await r.ami.event("AgentConnect", Queue="repairs")
    await sleep(2)
    await r.pause(a, True, "休息")
    await sleep(3)
    await r.hangup(c.handset)
    await r.ami.event("AgentComplete", Queue="repairs")
    await sleep(3)
    await r.pause(a, False)


async def originate_answered(r: Run) -> None:
    """Click-to-call: Originate 王芳's phone (Local/8001@sim-phone) to
    13800000001@agents (-> [agents] _1XXXXXXXXXX, carrier stand-in sim-pstn);
    she answers after 1 s, the far end after 2 s; talk 3 s; she hangs up."""
    await r.phones(_8001="answer:1", _13800000001="answer:2")
    m = r.ami.mark()
    await r.ami.action("Originate", Channel="Local/8001@sim-phone", Context="agents", Exten="13800000001", Priority=1,
                       CallerID='"13800000001" <13800000001>', Async="true", Timeout=30000)
    await r.ami.event("DialEnd", since=m, DialStatus="ANSWER", DestChannel="Local/13800000001@sim-pstn-*", timeout=30)
    await sleep(3)
    await r.hangup(r.handset("8001"))


async def originate_busy(r: Run) -> None:
    """Click-to-call to a busy number (13800000002): Dial gets BUSY; [agents] hangs up."""
    await r.phones(_8001="answer:1", _13800000002="busy")
    m = r.ami.mark()
    await r.ami.action("Originate", Channel="Local/8001@sim-phone", Context="agents", Exten="13800000002", Priority=1,
                       CallerID='"13800000002" <13800000002>', Async="true", Timeout=30000)
    await r.ami.event("DialEnd", since=m, timeout=30)


async def originate_no_answer(r: Run) -> None:
    """Click-to-call: the far end (13800000003) rings; 王芳 gives up after 6 s.
    Then a second Originate whose agent phone never answers (Timeout 5 s)."""
    await r.phones(_8001="answer:1", _13800000003="noanswer")
    m = r.ami.mark()
    await r.ami.action("Originate", Channel="Local/8001@sim-phone", Context="agents", Exten="13800000003", Priority=1,
                       CallerID='"13800000003" <13800000003>', Async="true", Timeout=30000)
    await r.ami.event("DialBegin", since=m, timeout=30)
    await sleep(6)
    await r.hangup(r.handset("8001"))
    await r.ami.idle(20)
    await r.phones(_8001="noanswer")
    m = r.ami.mark()
    await r.ami.action("Originate", Channel="Local/8001@sim-phone", Context="agents", Exten="13800000001", Priority=1,
                       CallerID='"13800000001" <13800000001>', Async="true", Timeout=5000)
    await r.ami.event("OriginateResponse", since=m, timeout=30)


async def originate_from_internal(r: Run) -> None:
    """What the desktop's click-to-call does today: Originate into context
    from-internal, which the shipped extensions.conf does not define."""
    await r.phones(_8001="answer:1")
    m = r.ami.mark()
    res = await r.ami.action("Originate", Channel="Local/8001@sim-phone", Context="from-internal", Exten="13800000001", Priority=1,
                             CallerID='"13800000001" <13800000001>', Async="true", Timeout=30000)
    if res.get("Response") == "Success":
        await r.ami.event("OriginateResponse", since=m, timeout=30)


async def internal_call(r: Run) -> None:
    """王芳 (8001) calls 李娜 (8002) through [agents]; 李娜 answers after 2 s; talk 3 s; 李娜 hangs up."""
    await r.phones(_8001="answer:0", _8002="answer:2")
    m = r.ami.mark()
    await r.ami.action("Originate", Channel="Local/8001@sim-phone", Context="agents", Exten="8002", Priority=1,
                       CallerID='"王芳" <8001>', Async="true", Timeout=30000)
    await r.ami.event("DialEnd", since=m, DialStatus="ANSWER", DestChannel="Local/8002@sim-phone-*", timeout=30)
    await sleep(3)
    await r.hangup(r.handset("8002"))


async def pickup(r: Run) -> None:
    """张强 (8003) calls 李娜 (8002), whose phone rings unanswered; after 3 s
    王芳 (8001) picks it up with Pickup(8002@sim-phone); talk 3 s; 张强 hangs up."""
    await r.phones(_8003="answer:0", _8002="noanswer", _8001="answer:0")
    m = r.ami.mark()
    await r.ami.action("Originate", Channel="Local/8003@sim-phone", Context="agents", Exten="8002", Priority=1,
                       CallerID='"张强" <8003>', Async="true", Timeout=30000)
    await r.ami.event("DialBegin", since=m, DestChannel="Local/8002@sim-phone-*", timeout=30)
    await sleep(3)
    m = r.ami.mark()
    await r.ami.action("Originate", Channel="Local/8001@sim-phone", Application="Pickup", Data="8002@sim-phone",
                       CallerID='"王芳" <8001>', Async="true", Timeout=30000)
    await r.ami.event("Pickup", since=m, timeout=15)
    await sleep(3)
    await r.hangup(r.handset("8003"))


async def resync_lists(r: Run) -> None:
    """Live state for a resync: 王芳 talks to 张伟 (repairs), 刘洋 waits in
    repairs, 李娜 is paused (培训); then CoreShowChannels, BridgeList,
    BridgeInfo (each bridge), Status, QueueStatus; then everyone hangs up."""
    await r.phones(_8001="answer:1", _8002="answer:1")
    await r.login("repairs", "8001")
    b = await r.login("repairs", "8002", paused=True)
    await r.pause(b, True, "培训")
    c1 = await r.call("13900000001", "1")
    await r.ami.event("AgentConnect", Queue="repairs")
    c2 = await r.call("13900000002", "1")
    await r.ami.event("QueueCallerJoin", Queue="repairs", CallerIDNum="13900000002")
    await sleep(3)
    await r.ami.list_action("CoreShowChannels")
    bridges = await r.ami.list_action("BridgeList")
    for f in bridges:
        if f.get("Event") == "BridgeListItem":
            await r.ami.list_action("BridgeInfo", BridgeUniqueid=f["BridgeUniqueid"])
    await r.ami.list_action("Status")
    await r.ami.list_action("QueueStatus")
    await r.ami.list_action("QueueStatus", Queue="repairs")
    await r.ami.list_action("QueueSummary", Queue="repairs")
    await sleep(1)
    await r.hangup(c2.handset)
    await r.hangup(c1.handset)


async def hook_unreachable(r: Run) -> None:
    """The hook is down (CC_HOOK pointed at a closed port for this call): CURL
    fails, cc-route takes the static fallback (enquiries, fallback recording
    name); 王芳 answers; the caller hangs up after 3 s."""
    await r.setglobal("CC_HOOK", "http://127.0.0.1:9/hooks")
    try:
        await r.phones(_8001="answer:1")
        await r.login("enquiries", "8001")
        c = await r.call("13900000002", "1")
        await r.ami.event("AgentConnect", Queue="enquiries", timeout=20)
        await sleep(3)
        await r.hangup(c.handset)
    finally:
        await r.setglobal("CC_HOOK", os.environ.get("CC_HOOK", "http://127.0.0.1:18080/hooks"))


async def served_by_callcenter(r: Run) -> None:
    """The real hooks: CC_HOOK points at `callcenter serve` (--serve-hook,
    fresh SQLite database, no routing rules: it answers enquiries) for this
    call.  王芳 in enquiries answers after 1 s; talk 3 s; she hangs up; the
    caller scores 4, which /hooks/survey stores."""
    await r.setglobal("CC_HOOK", r.serve_hook)
    try:
        await r.phones(_8001="answer:1")
        await r.login("enquiries", "8001")
        c = await r.call("13900000002", "1")
        await r.ami.event("AgentConnect", Queue="enquiries", timeout=20)
        await sleep(3)
        await r.hangup(r.handset("8001"))
        await r.ami.event("AgentComplete")
        await sleep(1.5)
        await r.ami.action("PlayDTMF", Channel=c.handset, Digit="4", Duration=120)
        await r.ami.event("Hangup", Channel=c.trunk, timeout=20)
    finally:
        await r.setglobal("CC_HOOK", os.environ.get("CC_HOOK", "http://127.0.0.1:18080/hooks"))


SCENARIOS = {f.__name__: f for f in [
    answered_caller_hangup, answered_agent_hangup, agent_hangup_desktop, join_empty, abandon_waiting, abandon_ringing, ring_no_answer_then_second,
    member_busy, member_busy_local_agents, abandon_ringing_local_agents,
    ringall, queue_timeout, leavewhenempty, exit_with_key, caller_priority, hook_unreachable,
    local_member_n, local_optimise_agent_talks_first, local_optimise_caller_talks_first,
    duty_caller_moves, duty_phone_moves, duty_mobile,
    blind_transfer, blind_transfer_local_member, attended_transfer, blonde_transfer,
    pause_reason, remove_mid_call, pause_during_call,
    originate_answered, originate_busy, originate_no_answer, originate_from_internal, internal_call, pickup,
    resync_lists, supervisor_listen, served_by_callcenter,
]}


async def run_one(name: str, args: argparse.Namespace, hook: HookStub | None) -> None:
    out = Path(args.out)
    qlog = Path(args.queue_log)
    start = qlog.stat().st_size if qlog.exists() else 0
    ami = Ami(out / f"{name}.ami")
    await ami.connect(args.host, args.port, args.user, args.secret)
    r = Run(ami, hook)
    r.serve_hook = args.serve_hook
    t0 = time.monotonic()
    try:
        await SCENARIOS[name](r)
        await ami.idle(60)
    except Exception as exc:  # keep going: the capture shows what happened
        print(f"{name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        await r.hangup_all()
        await ami.idle(30)
    finally:
        await r.logout_all()
        await sleep(0.5)
        await ami.close()
    with qlog.open("rb") as f:
        f.seek(start)
        (out / f"{name}.queue_log").write_bytes(f.read())
    print(f"{name}: {len(ami.frames)} frames, {time.monotonic() - t0:.1f} s")


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5038)
    p.add_argument("--user", default="callcenter")
    p.add_argument("--secret", required=False, default=os.environ.get("AMI_SECRET", ""))
    p.add_argument("--out", default=".")
    p.add_argument("--queue-log", default="/var/log/asterisk/queue_log")
    p.add_argument("--hook-port", type=int, default=18080)
    p.add_argument("--no-hook", action="store_true", help="callcenter serve answers /hooks itself")
    p.add_argument("--serve-hook", default="http://127.0.0.1:18081/hooks", help="callcenter serve's /hooks, for served_by_callcenter")
    p.add_argument("--list", action="store_true")
    p.add_argument("scenarios", nargs="*")
    args = p.parse_args()
    if args.list:
        for name, f in SCENARIOS.items():
            print(f"{name:32} {(f.__doc__ or '').split(chr(10))[0]}")
        return
    hook = None
    server = None
    if not args.no_hook:
        hook = HookStub()
        server = await asyncio.start_server(hook.handle, "127.0.0.1", args.hook_port)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for name in args.scenarios or list(SCENARIOS):
        await run_one(name, args, hook)
        await sleep(2)
    if server:
        server.close()


if __name__ == "__main__":
    asyncio.run(main())
