"""Record AMI captures where the phones and the carrier are real SIP user
agents (SIPp), for tests/fixtures/asterisk/<version>-sip/.

This script does not build or install Asterisk.  It connects to one that is
already running with the shipped config (asterisk/) and chan_sip in place of
PJSIP, as tests/fixtures/asterisk/20.20.1-sip/README.md describes:

  phones     SIP/8001 8002 8003 (agents), 8020 (duty desk), 7001 (lead):
             static peers on 127.0.0.1:5161/5162/5163/5180/5171
  carrier    SIP peer on 127.0.0.1:5090 (insecure=port,invite): outbound
             calls reach a SIPp there; inbound calls come from SIPp on 5091+

Every party is one SIPp process running tests/tools/sipp/phone.xml (it is
called) or dial.xml (it calls), steered over SIPp's 3PCC twin socket: the
party reports "ringing", "answered", "ended"... and this driver presses its
keys ("answer", "bye", "hold", "refer"...), timed from those reports and
from AMI events, as ami_capture.py does for the Local-channel captures.
For each scenario it writes <out>/<scenario>.ami (every byte AMI sent),
<out>/<scenario>.queue_log (what Asterisk appended to queue_log) and
<out>/<scenario>.sipp (one JSON line per SIPp report and key press, with
times: what the user agents did).  The hook stub of ami_capture.py answers
/hooks/*.

  python tests/tools/sip_capture.py --out DIR --queue-log <astlogdir>/queue_log \
      --secret S [--list] [scenario ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ami_capture import Ami, HookStub  # noqa: E402  (same folder, run as a script)

SIPP_DIR = Path(__file__).resolve().parent / "sipp"
ASTERISK = ("127.0.0.1", 5060)
DID = "4008001234"
AGENTS = {"8001": "王芳", "8002": "李娜", "8003": "张强"}
PHONE_PORTS = {"8001": 5161, "8002": 5162, "8003": 5163, "8020": 5180, "7001": 5171}
CARRIER_PORT = 5090  # where Asterisk sends outbound calls (sip.conf [carrier])
ESC = b"\x1b"

sleep = asyncio.sleep


def parse(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").splitlines():
        k, sep, v = line.strip().partition(":")
        if sep:
            out[k.strip()] = v.strip()
    return out


class Party:
    """One SIP user agent: a SIPp process and its twin-socket conversation."""

    def __init__(self, run: Run, name: str, scenario: str, user: str, sip_port: int) -> None:
        self.run, self.name, self.scenario, self.user, self.sip_port = run, name, scenario, user, sip_port
        self.events: list[dict[str, str]] = []
        self.changed = asyncio.Condition()
        self.call_id = ""
        self.proc: asyncio.subprocess.Process | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.server: asyncio.Server
        self.seen = 0  # events consumed by event()
        self.last_event = 0.0  # monotonic time of the last report

    def log(self, kind: str, **fields: str) -> None:
        self.run.timeline.append({"t": round(time.time(), 3), "party": self.name, kind: fields.pop("what"), **fields})

    async def start(self) -> None:
        # Both scenarios begin their twin talk with a sendCmd, so SIPp connects
        # to us (SIPp's own twin listener, for a scenario that begins with a
        # recvCmd, would bind 0.0.0.0 whatever -3pcc says).
        connected = asyncio.Event()

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.writer = writer
            connected.set()
            await self._read(reader)

        self.server = await asyncio.start_server(accept, "127.0.0.1", 0)
        twin = self.server.sockets[0].getsockname()[1]
        args = [
            "sipp", f"{ASTERISK[0]}:{ASTERISK[1]}", "-sf", str(SIPP_DIR / f"{self.scenario}.xml"),
            "-i", "127.0.0.1", "-bind_local", "-p", str(self.sip_port),
            "-mi", "127.0.0.1", "-mp", str(40000 + (self.sip_port - 5000) * 4),  # SIPp takes mp and mp+2
            "-m", "1", "-aa", "-nostdin", "-timeout", "180s", "-ci", "127.0.0.1",  # its UDP remote-control socket too
            "-3pcc", f"127.0.0.1:{twin}", "-set", "user", self.user,
            "-cid_str", f"{self.run.name}-{self.name}-%u-%p@127.0.0.1",
            "-trace_err", "-error_file", str(self.run.work / f"{self.name}.errors"),
            "-trace_msg", "-message_file", str(self.run.work / f"{self.name}.messages"),
        ]
        self.proc = await asyncio.create_subprocess_exec(
            *args, cwd=self.run.work, stdin=asyncio.subprocess.DEVNULL,
            stdout=open(self.run.work / f"{self.name}.screen", "wb"), stderr=asyncio.subprocess.STDOUT,
        )
        self.watch_task = asyncio.create_task(self._watch())
        await asyncio.wait_for(connected.wait(), 10)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        buf = b""
        while True:
            data = await reader.read(4096)
            if not data:
                break
            buf += data
            *msgs, buf = buf.split(ESC)
            async with self.changed:
                for raw in msgs:
                    f = parse(raw)
                    if f.get("Call-ID") and not self.call_id:
                        self.call_id = f["Call-ID"]
                    self.events.append(f)
                    self.last_event = time.monotonic()
                    self.log("event", what=f.get("X-Event", "?"), **{k: v for k, v in f.items() if k.startswith("X-") and k != "X-Event"})
                self.changed.notify_all()

    async def event(self, name: str, timeout: float = 30) -> dict[str, str]:
        """The next report called `name` (earlier other reports are skipped)."""

        def index() -> int | None:
            for i in range(self.seen, len(self.events)):
                if self.events[i].get("X-Event") == name:
                    return i
            return None

        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(lambda: index() is not None or self._dead()), timeout)
            except TimeoutError:
                raise TimeoutError(f"{self.name}: no '{name}' in {timeout}s (got {[e.get('X-Event') for e in self.events]})") from None
            i = index()
            if i is None:
                raise RuntimeError(f"{self.name}: SIPp ended before '{name}' (got {[e.get('X-Event') for e in self.events]})")
            self.seen = i + 1
            return self.events[i]

    async def _watch(self) -> None:
        assert self.proc is not None
        await self.proc.wait()
        async with self.changed:
            self.changed.notify_all()

    def _dead(self) -> bool:
        return self.proc is not None and self.proc.returncode is not None

    async def press(self, action: str, **headers: str) -> None:
        """A key on the phone (a recvCmd in the scenario).

        SIPp takes a command only while the call stands at a recvCmd, and a
        report (sendCmd) is followed by a <nop next="wait"/> jump that SIPp's
        command matching does not follow: give the call a moment to get there."""
        assert self.writer is not None and self.call_id, f"{self.name}: not in a call"
        await sleep(max(0.0, self.last_event + 0.15 - time.monotonic()))
        lines = [f"Call-ID: {self.call_id}", f"X-Do: {action}"] + [f"X-{k.replace('_', '-')}: {v}" for k, v in headers.items()]
        self.log("key", what=action, **headers)
        self.writer.write(("\r\n".join(lines) + "\r\n").encode() + ESC)
        await self.writer.drain()

    async def dial(self, number: str) -> None:
        """dial.xml: off hook, dial `number`."""
        await self.event("ready")
        await self.press("dial", To=number)

    async def finish(self, timeout: float = 15) -> None:
        if self.proc is None:
            return
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()  # our own SIPp, by its pid
            await self.proc.wait()
        if self.writer is not None:
            self.writer.close()
        self.server.close()


class Run:
    def __init__(self, name: str, ami: Ami, work: Path) -> None:
        self.name, self.ami, self.work = name, ami, work
        self.parties: list[Party] = []
        self.members: list[tuple[str, str]] = []
        self.timeline: list[dict[str, Any]] = []
        self.carrier_ports = iter(range(5091, 5099))

    async def phone(self, ext: str) -> Party:
        """The desk phone of `ext`, waiting to be called."""
        p = Party(self, ext, "phone", ext, PHONE_PORTS[ext])
        await p.start()
        self.parties.append(p)
        return p

    async def far_end(self, number: str) -> Party:
        """The outside number `number` behind the carrier, waiting to be called."""
        p = Party(self, f"pstn-{number}", "phone", number, CARRIER_PORT)
        await p.start()
        self.parties.append(p)
        return p

    async def dialler(self, ext: str) -> Party:
        """`ext`'s phone, about to dial (a second SIP port: the peer is found by its From user)."""
        p = Party(self, f"{ext}-dial", "dial", ext, PHONE_PORTS[ext] + 100)
        await p.start()
        self.parties.append(p)
        return p

    async def caller(self, number: str) -> Party:
        """A customer calling through the carrier (the peer is found by IP: insecure=port)."""
        p = Party(self, f"caller-{number}", "dial", number, next(self.carrier_ports))
        await p.start()
        self.parties.append(p)
        return p

    async def login(self, queue: str, ext: str) -> None:
        r = await self.ami.action("QueueAdd", Queue=queue, Interface=f"SIP/{ext}", MemberName=AGENTS[ext], Penalty=0)
        assert r.get("Response") == "Success", r
        self.members.append((queue, f"SIP/{ext}"))

    async def logout_all(self) -> None:
        for queue, iface in self.members:
            await self.ami.action("QueueRemove", Queue=queue, Interface=iface)
        self.members.clear()

    async def originate(self, ext: str, number: str, timeout_s: float = 30) -> dict[str, Any]:
        """What the desktop's click-to-call sends (callcenter.ami.gateway.click_to_call)."""
        return await self.ami.action(
            "Originate", Channel=f"SIP/{ext}", Context="agents", Exten=number, Priority=1,
            CallerID=f'"{number}" <{number}>', Variable=f"CC_AGENT=SIP/{ext}", Async="true", Timeout=int(timeout_s * 1000),
        )

    async def call_hotline(self, number: str, key: str = "1") -> Party:
        """A customer calls the DID and picks `key` in the IVR (SIP INFO)."""
        c = await self.caller(number)
        await c.dial(DID)
        await c.event("answered")  # [from-trunk] answers at once
        await self.ami.event("VarSet", Variable="CC_TRIES", timeout=10)
        await c.press("dtmf", Digit=key)
        await c.event("dtmf")
        return c


async def ring_then(p: Party, seconds: float, action: str = "answer") -> None:
    await p.event("ringing")
    await sleep(seconds)
    await p.press(action)


# --- scenarios ---------------------------------------------------------------------
# Every scenario signs the three agents in first (SIP/80xx with their
# MemberName), so the capture says whose phone is whose, as on a live system:
# 王芳 to repairs, where the hotline calls go, 李娜 and 张强 to complaints, so
# that repairs rings nobody but 王芳's phone.

async def _agents(r: Run) -> None:
    await r.login("repairs", "8001")
    await r.login("complaints", "8002")
    await r.login("complaints", "8003")


async def click_to_call_answered(r: Run) -> None:
    """Click-to-call: Originate SIP/8001 -> agents,13800000001; 王芳's phone
    answers after 1 s; [agents] dials SIP/13800000001@carrier, the customer
    answers after 2 s; talk 3 s; 王芳 hangs up (BYE from her phone)."""
    await _agents(r)
    phone = await r.phone("8001")
    far = await r.far_end("13800000001")
    await r.originate("8001", "13800000001")
    await ring_then(phone, 1)
    await ring_then(far, 2)
    await far.event("answered")
    await sleep(3)
    await phone.press("bye")
    await far.event("ended")


async def click_to_call_busy(r: Run) -> None:
    """Click-to-call to a busy customer: the carrier answers 486; [agents]
    hangs up, Asterisk sends BYE to 王芳's phone."""
    await _agents(r)
    phone = await r.phone("8001")
    far = await r.far_end("13800000002")
    await r.originate("8001", "13800000002")
    await ring_then(phone, 1)
    await ring_then(far, 1, "busy")
    await phone.event("ended")


async def click_to_call_no_answer(r: Run) -> None:
    """Click-to-call: the customer's phone rings; 王芳 gives up after 6 s
    (BYE); Asterisk cancels the carrier leg."""
    await _agents(r)
    phone = await r.phone("8001")
    far = await r.far_end("13800000003")
    await r.originate("8001", "13800000003")
    await ring_then(phone, 1)
    await far.event("ringing")
    await sleep(6)
    await phone.press("bye")
    await far.event("cancelled")


async def click_to_call_phone_no_answer(r: Run) -> None:
    """Click-to-call whose agent phone never answers: Originate Timeout 5 s;
    Asterisk cancels the INVITE to 王芳's phone; nobody else is dialled."""
    await _agents(r)
    phone = await r.phone("8001")
    await r.originate("8001", "13800000001", timeout_s=5)
    await phone.event("ringing")
    await phone.event("cancelled", timeout=15)
    await r.ami.event("OriginateResponse", timeout=10)


async def outbound_answered(r: Run) -> None:
    """王芳 dials 13800000004 from her phone ([agents] _1XXXXXXXXXX ->
    SIP/13800000004@carrier); the customer answers after 2 s; talk 4 s; the
    customer hangs up."""
    await _agents(r)
    far = await r.far_end("13800000004")
    d = await r.dialler("8001")
    await d.dial("13800000004")
    await ring_then(far, 2)
    await d.event("answered")
    await sleep(4)
    await far.press("bye")
    await d.event("ended")


async def outbound_busy(r: Run) -> None:
    """王芳 dials 13800000005; the carrier answers 486 Busy; Asterisk answers
    her phone's INVITE with 486."""
    await _agents(r)
    far = await r.far_end("13800000005")
    d = await r.dialler("8001")
    await d.dial("13800000005")
    await ring_then(far, 1, "busy")
    await d.event("failed")


async def internal_answered(r: Run) -> None:
    """王芳 (8001) dials 李娜 (8002); 8002 answers after 2 s; talk 3 s; 李娜 hangs up."""
    await _agents(r)
    b = await r.phone("8002")
    d = await r.dialler("8001")
    await d.dial("8002")
    await ring_then(b, 2)
    await d.event("answered")
    await sleep(3)
    await b.press("bye")
    await d.event("ended")


async def internal_no_answer(r: Run) -> None:
    """王芳 dials 李娜; 8002 rings; 王芳 gives up after 5 s (CANCEL)."""
    await _agents(r)
    b = await r.phone("8002")
    d = await r.dialler("8001")
    await d.dial("8002")
    await b.event("ringing")
    await sleep(5)
    await d.press("cancel")
    await d.event("failed")
    await b.event("cancelled")


async def internal_busy(r: Run) -> None:
    """王芳 dials 李娜, whose phone answers 486 Busy Here; Asterisk answers 486."""
    await _agents(r)
    b = await r.phone("8002")
    d = await r.dialler("8001")
    await d.dial("8002")
    await ring_then(b, 1, "busy")
    await d.event("failed")


async def pickup(r: Run) -> None:
    """张强 (8003) dials 李娜 (8002), whose phone rings; after 3 s 王芳 (8001)
    dials *8 (features.conf pickupexten; the phones share callgroup and
    pickupgroup 1) and takes the call; 8002 is cancelled; talk 3 s; 张强 hangs up."""
    await _agents(r)
    b = await r.phone("8002")
    c = await r.dialler("8003")
    await c.dial("8002")
    await b.event("ringing")
    await sleep(3)
    a = await r.dialler("8001")
    await a.dial("*8")
    await a.event("answered")
    await b.event("cancelled")
    await sleep(3)
    await c.press("bye")
    await a.event("ended")


async def queue_answered(r: Run) -> None:
    """A customer (13900000001) calls the hotline through the carrier, presses
    1 (SIP INFO): repairs; 王芳's phone (SIP/8001) rings, answers after 2 s;
    talk 4 s; the customer hangs up."""
    await _agents(r)
    phone = await r.phone("8001")
    c = await r.call_hotline("13900000001")
    await ring_then(phone, 2)
    await phone.event("answered")
    await sleep(4)
    await c.press("bye")
    await phone.event("ended")


async def queue_hold(r: Run) -> None:
    """repairs: 王芳 answers after 1 s; 2 s later her phone puts the customer
    on hold (re-INVITE a=sendonly) for 3 s, then takes them off (sendrecv);
    2 s later she hangs up; the customer lets the survey time out."""
    await _agents(r)
    phone = await r.phone("8001")
    c = await r.call_hotline("13900000001")
    await ring_then(phone, 1)
    await phone.event("answered")
    await sleep(2)
    await phone.press("hold")
    await phone.event("held")
    await sleep(3)
    await phone.press("unhold")
    await phone.event("unheld")
    await sleep(2)
    await phone.press("bye")
    await c.event("ended", timeout=20)


async def queue_blind_transfer(r: Run) -> None:
    """repairs: 王芳 answers after 1 s; 3 s later her phone sends REFER
    (Refer-To: sip:8002@127.0.0.1:5060, blind); Asterisk dials 8002 from
    [agents]; 李娜 answers after 2 s; talk 3 s; 李娜 hangs up."""
    await _agents(r)
    a = await r.phone("8001")
    b = await r.phone("8002")
    c = await r.call_hotline("13900000001")
    await ring_then(a, 1)
    await a.event("answered")
    await sleep(3)
    await a.press("refer", Refer_To=f"<sip:8002@{ASTERISK[0]}:{ASTERISK[1]}>")
    await ring_then(b, 2)
    await b.event("answered")
    await sleep(3)
    await b.press("bye")
    await c.event("ended", timeout=20)


async def queue_attended_transfer(r: Run) -> None:
    """repairs: 王芳 answers after 1 s; 3 s later her phone holds the customer
    (sendonly), calls 8002 (consultation), 李娜 answers after 2 s, they talk
    2 s, then her phone sends REFER with Replaces (the consultation call);
    the customer and 李娜 talk 3 s; the customer hangs up."""
    await _agents(r)
    a = await r.phone("8001")
    b = await r.phone("8002")
    c = await r.call_hotline("13900000001")
    await ring_then(a, 1)
    await a.event("answered")
    await sleep(3)
    await a.press("hold")
    await a.event("held")
    await a.press("consult", Target="8002")
    await ring_then(b, 2)
    consult = await a.event("consult-answered")
    await sleep(2)
    replaces = "%3B".join([
        _uri_escape(consult["X-Consult-Call-ID"]),
        f"to-tag%3D{consult['X-Consult-To-Tag']}",
        f"from-tag%3D{consult['X-Consult-From-Tag']}",
    ])
    await a.press("refer", Refer_To=f"<sip:8002@{ASTERISK[0]}:{ASTERISK[1]}?Replaces={replaces}>")
    # 202, NOTIFY "200 OK"; Asterisk then sends BYE on the consultation call
    # (and waits for the phone's BYE on the first one: SIP_DEFER_BYE_ON_TRANSFER)
    await a.event("ended", timeout=15)
    await sleep(3)
    await c.press("bye")
    await b.event("ended", timeout=20)


def _uri_escape(s: str) -> str:
    from urllib.parse import quote

    return quote(s, safe="")


async def supervisor_listen(r: Run) -> None:
    """repairs: 王芳 answers after 1 s; 2 s later the lead's phone (SIP/7001)
    is originated into ChanSpy(SIP/8001-,qES), what the gateway's listen
    sends; it answers after 1 s, listens 3 s and hangs up; the customer hangs
    up 2 s later."""
    await _agents(r)
    phone = await r.phone("8001")
    lead = await r.phone("7001")
    c = await r.call_hotline("13900000001")
    await ring_then(phone, 1)
    await phone.event("answered")
    await sleep(2)
    await r.ami.action("Originate", Channel="SIP/7001", Application="ChanSpy", Data="SIP/8001-,qES",
                       CallerID='"listen" <SIP/8001>', Async="true", Timeout=30000)
    await ring_then(lead, 1)
    await lead.event("answered")
    await r.ami.event("ChanSpyStart", timeout=10)
    await sleep(3)
    await lead.press("bye")
    await lead.event("ended")
    await sleep(2)
    await c.press("bye")
    await phone.event("ended")


async def after_hours_duty(r: Run) -> None:
    """After hours: the hook answers 13900000004 with action=duty, duty=8020;
    [cc-closed] dials Local/8020@cc-duty, which dials SIP/8020 (the duty
    desk); it answers after 2 s; talk 4 s; the customer hangs up."""
    await _agents(r)
    duty = await r.phone("8020")
    c = await r.call_hotline("13900000004")
    await ring_then(duty, 2)
    await duty.event("answered")
    await sleep(4)
    await c.press("bye")
    await duty.event("ended")


async def after_hours_mobile(r: Run) -> None:
    """After hours to the duty mobile: the hook answers 13900000005 with
    duty=13800000009; [cc-duty] dials SIP/13800000009@carrier; the mobile
    answers after 2 s; talk 4 s; the customer hangs up."""
    await _agents(r)
    mobile = await r.far_end("13800000009")
    c = await r.call_hotline("13900000005")
    await ring_then(mobile, 2)
    await mobile.event("answered")
    await sleep(4)
    await c.press("bye")
    await mobile.event("ended")


Scenario = Callable[[Run], Awaitable[None]]
SCENARIOS: dict[str, Scenario] = {f.__name__: f for f in [
    click_to_call_answered, click_to_call_busy, click_to_call_no_answer, click_to_call_phone_no_answer,
    outbound_answered, outbound_busy, internal_answered, internal_no_answer, internal_busy, pickup,
    queue_answered, queue_hold, queue_blind_transfer, queue_attended_transfer, supervisor_listen,
    after_hours_duty, after_hours_mobile,
]}


async def run_one(name: str, args: argparse.Namespace) -> bool:
    out = Path(args.out)
    work = Path(args.work) / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "talk.alaw").write_bytes(b"\xd5" * 8000)  # 1 s of A-law silence, looped: the phone's RTP
    qlog = Path(args.queue_log)
    start = qlog.stat().st_size if qlog.exists() else 0
    ami = Ami(out / f"{name}.ami")
    await ami.connect(args.host, args.port, args.user, args.secret)
    r = Run(name, ami, work)
    t0 = time.monotonic()
    ok = True
    try:
        await SCENARIOS[name](r)
        await ami.idle(60)
    except Exception as exc:  # keep going: the capture and the SIPp logs show what happened
        ok = False
        print(f"{name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        for ch in list(ami.channels.values()):
            await ami.action("Hangup", Channel=ch, Cause=16)
        with contextlib.suppress(TimeoutError):
            await ami.idle(30)
    finally:
        for p in r.parties:
            await p.finish()
        await r.logout_all()
        await sleep(0.5)
        await ami.close()
    with qlog.open("rb") as f:
        f.seek(start)
        (out / f"{name}.queue_log").write_bytes(f.read())
    with open(out / f"{name}.sipp", "w", encoding="utf-8") as f:
        for item in r.timeline:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"{name}: {len(ami.frames)} frames, {time.monotonic() - t0:.1f} s{'' if ok else ' (FAILED)'}")
    return ok


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5038)
    p.add_argument("--user", default="callcenter")
    p.add_argument("--secret", default=os.environ.get("AMI_SECRET", ""))
    p.add_argument("--out", default=".")
    p.add_argument("--work", default="/tmp/sip-capture", help="SIPp logs and message traces, per scenario")
    p.add_argument("--queue-log", default="/var/log/asterisk/queue_log")
    p.add_argument("--hook-port", type=int, default=18080)
    p.add_argument("--list", action="store_true")
    p.add_argument("scenarios", nargs="*")
    args = p.parse_args()
    if args.list:
        for name, f in SCENARIOS.items():
            print(f"{name:32} {(f.__doc__ or '').split(chr(10))[0]}")
        return
    if shutil.which("sipp") is None:
        raise SystemExit("sipp not found (Debian: apt-get install sip-tester)")
    hook = HookStub()
    server = await asyncio.start_server(hook.handle, "127.0.0.1", args.hook_port)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    failed = []
    for name in args.scenarios or list(SCENARIOS):
        if not await run_one(name, args):
            failed.append(name)
        await sleep(2)
    server.close()
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    asyncio.run(main())
