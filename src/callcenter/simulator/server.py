"""An asyncio TCP server that speaks AMI the way Asterisk 18/20 does
(main/manager.c): the banner, Login (a wrong secret waits, answers
"Authentication failed" and closes), FullyBooted, ActionID echo, EventList
framing for list actions, and the app_queue/channel events of the PBX.

Faults let tests break the link on purpose: `faults.ignore_pings`,
`faults.write_chunk` (bytes per TCP write), `faults.login_delay_s`,
`inject_raw()` and `drop_connections()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import BinaryIO

from callcenter.simulator.pbx import PBX, Call, Fields

log = logging.getLogger("callcenter.simulator")

CRLF = "\r\n"


def encode(fields: Fields) -> bytes:
    """`Key: Value` lines and the blank line (every value is a str)."""
    return ("\r\n".join(map(": ".join, fields)) + "\r\n\r\n").encode("utf-8")


@dataclass

class _Action(dict):  # type: ignore[type-arg]
    """An action's headers by lower-case name, and in order as sent (UserEvent
    passes them on with their own case)."""

    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[tuple[str, str]] = []

class Faults:
    ignore_pings: bool = False
    write_chunk: int | None = None
    login_delay_s: float = 1.0  # Asterisk sleeps 1 s before refusing a login


class Connection:
    def __init__(self, server: AmiServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.authenticated = False
        self.events = True
        self.out: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.closing = False

    def send(self, data: bytes) -> None:
        if self.closing:
            return
        if self.server.record is not None:
            self.server.record.write(data)
        self.out.put_nowait(data)

    def reply(self, action: dict[str, str], fields: Fields) -> None:
        """A Response with the ActionID right after the first line, like astman_send_response_full."""
        aid = action.get("actionid")
        head, rest = fields[:1], fields[1:]
        self.send(encode(head + ([("ActionID", aid)] if aid else []) + rest))

    async def pump(self) -> None:
        """The one writer task: keeps order and applies write_chunk."""
        while (data := await self.out.get()) is not None:
            chunk = self.server.faults.write_chunk
            if chunk:
                for i in range(0, len(data), chunk):
                    self.writer.write(data[i : i + chunk])
                    await self.writer.drain()
                    await asyncio.sleep(0)
            else:
                self.writer.write(data)
                if self.out.empty():
                    await self.writer.drain()

    async def flush(self, timeout: float = 2.0) -> None:
        """Wait until what was queued is written (a client that stops
        reading cannot hold us longer than `timeout`)."""

        async def drained() -> None:
            while not self.out.empty():
                await asyncio.sleep(0.001)
            with contextlib.suppress(ConnectionError):
                await self.writer.drain()

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(drained(), timeout)


class AmiServer:
    """A simulated Asterisk: `port = await server.start()`, `await server.stop()`."""

    def __init__(
        self,
        username: str = "callcenter",
        secret: str = "callcenter",
        version: str = "7.0.3",
        pbx: PBX | None = None,
        record: BinaryIO | None = None,
    ) -> None:
        self.username = username
        self.secret = secret
        self.version = version
        self.pbx = pbx or PBX(version=version)
        self.faults = Faults()
        self.record = record
        self.connections: list[Connection] = []
        # manager.conf allowmultiplelogin (asterisk/manager.conf ships yes).
        self.allow_multiple_login = True
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self.cleanups: list[Callable[[], Awaitable[None]]] = []  # run by stop() (queue_log writers...)
        self.pbx.sinks.append(self._broadcast)

    # -- lifecycle ------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._accept, host, port)
        if self.pbx.clock.realtime and self._runner is None:
            self._runner = asyncio.create_task(self.pbx.clock.run(self.pbx.schedule))
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.closing = True
            conn.out.put_nowait(None)
            conn.writer.close()
        if self._tasks:
            _, late = await asyncio.wait(list(self._tasks), timeout=1.0)
            for task in late:
                task.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None
        while self.cleanups:
            with contextlib.suppress(Exception):
                await self.cleanups.pop()()

    # -- faults -----------------------------------------------------------------

    async def inject_raw(self, data: bytes) -> None:
        for conn in self.connections:
            if conn.authenticated:
                conn.send(data)
        for conn in list(self.connections):
            await conn.flush()

    async def drop_connections(self, mid_event: bool = True) -> None:
        """Cut every connection, optionally half-way through an event."""
        for conn in list(self.connections):
            await conn.flush()
            conn.closing = True
            if mid_event and conn.authenticated:
                conn.writer.write(b"Event: QueueMemberStatus\r\nPrivilege: agent,all\r\nQueue: ")
                with contextlib.suppress(ConnectionError):
                    await conn.writer.drain()
            conn.writer.transport.abort()

    # -- events -------------------------------------------------------------------

    def _broadcast(self, fields: Fields) -> None:
        listeners = [c for c in self.connections if c.authenticated and c.events]
        if listeners:
            data = encode(fields)
            for conn in listeners:
                conn.send(data)

    # -- sessions --------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(self, reader, writer)
        self.connections.append(conn)
        pump = asyncio.create_task(conn.pump())
        task = asyncio.current_task()
        assert task is not None
        self._tasks.update((pump, task))
        try:
            conn.send(f"Asterisk Call Manager/{self.version}\r\n".encode())
            while True:
                action = await self._read_message(reader)
                if action is None:
                    break
                if not await self._handle(conn, action):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if conn in self.connections:
                self.connections.remove(conn)
            conn.closing = True
            conn.out.put_nowait(None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pump, 1.0)
            writer.close()
            self._tasks.discard(pump)
            self._tasks.discard(task)

    @staticmethod
    async def _read_message(reader: asyncio.StreamReader) -> dict[str, str] | None:
        msg = _Action()
        while True:
            line = await reader.readline()
            if not line:
                return None
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if not text:
                if msg:
                    return msg
                continue
            key, _, value = text.partition(":")
            msg.pairs.append((key.strip(), value.strip()))
            key = key.strip().lower()
            if key == "variable" and key in msg:  # Originate may repeat it
                msg[key] += "\n" + value.strip()
            else:
                msg.setdefault(key, value.strip())

    async def _handle(self, conn: Connection, action: dict[str, str]) -> bool:
        """One action; False closes the session."""
        name = action.get("action", "").lower()
        if not name:
            conn.reply(action, [("Response", "Error"), ("Message", "Missing action in request")])
            return True
        if name == "login":
            return await self._login(conn, action)
        if name == "logoff":
            conn.reply(action, [("Response", "Goodbye"), ("Message", "Thanks for all the fish.")])
            await conn.flush()
            return False
        if not conn.authenticated:
            conn.reply(action, [("Response", "Error"), ("Message", "Permission denied")])
            return True
        handler = getattr(self, f"_a_{name}", None)
        if handler is None:
            conn.reply(
                action,
                [
                    ("Response", "Error"),
                    ("Message", f"Invalid/unknown command: {action.get('action')}. Use Action: ListCommands to show available commands."),
                ],
            )
            return True
        self.pbx.sync()
        try:
            handler(conn, action)
        except Exception:  # noqa: BLE001 - a simulator bug must not cut the client's link
            log.exception("simulated action %s failed", name)
            conn.reply(action, [("Response", "Error"), ("Message", "Internal error")])
        return True

    async def _login(self, conn: Connection, action: dict[str, str]) -> bool:
        if not self.allow_multiple_login and any(c.authenticated and c is not conn for c in self.connections):
            # manager.c: a user with a session already, and allowmultiplelogin = no.
            if self.faults.login_delay_s:
                await asyncio.sleep(self.faults.login_delay_s)
            conn.reply(action, [("Response", "Error"), ("Message", "Login Already In Use")])
            await conn.flush()
            return False
        if action.get("username") != self.username or action.get("secret") != self.secret:
            if self.faults.login_delay_s:
                await asyncio.sleep(self.faults.login_delay_s)
            conn.reply(action, [("Response", "Error"), ("Message", "Authentication failed")])
            await conn.flush()
            return False
        conn.authenticated = True
        conn.events = action.get("events", "on").lower() not in ("off", "no", "false", "0")
        conn.reply(action, [("Response", "Success"), ("Message", "Authentication accepted")])
        self.pbx.sync()
        pbx = self.pbx
        conn.send(
            encode(
                [
                    ("Event", "FullyBooted"),
                    ("Privilege", "system,all"),
                    ("Timestamp", f"{pbx.now:.6f}"),
                    ("Uptime", str(int(pbx.now - pbx.started))),
                    ("LastReload", str(int(pbx.now - pbx.started))),
                    ("Status", "Fully Booted"),
                ]
            )
        )
        return True

    # -- actions (one method each; names are the lower-cased Action) -------------------

    def _a_userevent(self, conn: Connection, action: dict[str, str]) -> None:
        """manager.c action_userevent: ack, then broadcast every header but
        Action and UserEvent (ActionID included) as Event: UserEvent."""
        pairs = getattr(action, "pairs", [])
        body = [(k, v) for k, v in pairs if k.lower() not in ("action", "userevent")]
        conn.reply(action, [("Response", "Success"), ("Message", "Event Sent")])
        self.pbx.emit("UserEvent", "user", [("UserEvent", action.get("userevent", ""))] + body)

    def _a_ping(self, conn: Connection, action: dict[str, str]) -> None:
        if self.faults.ignore_pings:
            return
        conn.reply(action, [("Response", "Success"), ("Ping", "Pong"), ("Timestamp", f"{self.pbx.now:.6f}")])

    def _a_events(self, conn: Connection, action: dict[str, str]) -> None:
        mask = action.get("eventmask", "on").lower()
        conn.events = mask not in ("off", "no", "false", "0")
        conn.reply(action, [("Response", "Success"), ("Events", "On" if conn.events else "Off")])

    def _list(self, conn: Connection, action: dict[str, str], message: str, items: list[tuple[str, Fields, bool]], complete: str) -> None:
        """EventList framing: start ack, the items, then the Complete event with ListItems."""
        aid = action.get("actionid")
        idf = [("ActionID", aid)] if aid else []
        conn.reply(action, [("Response", "Success"), ("EventList", "start"), ("Message", message)])
        for event, fields, id_first in items:
            conn.send(encode([("Event", event)] + (idf + fields if id_first else fields + idf)))
        conn.send(encode([("Event", complete)] + idf + [("EventList", "Complete"), ("ListItems", str(len(items)))]))

    def _a_queuestatus(self, conn: Connection, action: dict[str, str]) -> None:
        pbx = self.pbx
        qname, member = action.get("queue", ""), action.get("member", "")
        items: list[tuple[str, Fields, bool]] = []
        for q in pbx.queues.values():
            if qname and q.name != qname:
                continue
            items.append(("QueueParams", pbx.queue_params(q), False))
            for m in q.members.values():
                if not member or m.interface == member or m.name == member:
                    items.append(("QueueMember", pbx.queue_member(m), False))
            for call in q.entries:
                items.append(("QueueEntry", pbx.queue_entry(q, call), False))
        self._list(conn, action, "Queue status will follow", items, "QueueStatusComplete")

    def _a_queuesummary(self, conn: Connection, action: dict[str, str]) -> None:
        pbx = self.pbx
        qname = action.get("queue", "")
        items = [("QueueSummary", pbx.queue_summary(q), False) for q in pbx.queues.values() if not qname or q.name == qname]
        self._list(conn, action, "Queue summary will follow", items, "QueueSummaryComplete")

    def _a_coreshowchannels(self, conn: Connection, action: dict[str, str]) -> None:
        pbx = self.pbx
        items = [("CoreShowChannel", pbx.core_show_channel(ch), True) for ch in pbx.channel_list()]
        self._list(conn, action, "Channels will follow", items, "CoreShowChannelsComplete")

    def _a_status(self, conn: Connection, action: dict[str, str]) -> None:
        """Status (manager.c action_status): one channel or all; the items carry
        Privilege: Call and the ActionID last; StatusComplete adds Items."""
        pbx = self.pbx
        name = action.get("channel", "")
        if name and name not in pbx.channels:
            conn.reply(action, [("Response", "Error"), ("Message", "No such channel")])
            return
        chans = [pbx.channels[name]] if name else pbx.channel_list()
        aid = action.get("actionid")
        idf = [("ActionID", aid)] if aid else []
        conn.reply(action, [("Response", "Success"), ("EventList", "start"), ("Message", "Channel status will follow")])
        for ch in chans:
            conn.send(encode([("Event", "Status"), ("Privilege", "Call")] + pbx.status(ch) + idf))
        conn.send(encode([("Event", "StatusComplete")] + idf + [("EventList", "Complete"), ("ListItems", str(len(chans))),
                                                                 ("Items", str(len(chans)))]))  # fmt: skip

    def _a_bridgelist(self, conn: Connection, action: dict[str, str]) -> None:
        pbx = self.pbx
        kind = action.get("bridgetype", "")
        items = [("BridgeListItem", b.snapshot(), True) for b in pbx.bridge_list() if not kind or kind == "basic"]
        self._list(conn, action, "Bridge listing will follow", items, "BridgeListComplete")

    def _a_bridgeinfo(self, conn: Connection, action: dict[str, str]) -> None:
        """BridgeInfo (manager_bridges.c): one BridgeInfoChannel per channel,
        then BridgeInfoComplete carrying the bridge's own snapshot."""
        pbx = self.pbx
        uid = action.get("bridgeuniqueid", "")
        if not uid:
            conn.reply(action, [("Response", "Error"), ("Message", "BridgeUniqueid must be provided")])
            return
        b = pbx.bridges.get(uid)
        if b is None:
            conn.reply(action, [("Response", "Error"), ("Message", "Specified BridgeUniqueid not found")])
            return
        aid = action.get("actionid")
        idf = [("ActionID", aid)] if aid else []
        conn.reply(action, [("Response", "Success"), ("EventList", "start"), ("Message", "Bridge channel listing will follow")])
        for ch in b.channels:
            conn.send(encode([("Event", "BridgeInfoChannel")] + idf + ch.snapshot()))
        conn.send(encode([("Event", "BridgeInfoComplete")] + idf + [("EventList", "Complete"), ("ListItems", str(len(b.channels)))]
                         + b.snapshot()))  # fmt: skip

    def _a_queueadd(self, conn: Connection, action: dict[str, str]) -> None:
        pbx = self.pbx
        qname, iface = action.get("queue", ""), action.get("interface", "")
        if not qname or not iface:
            conn.reply(action, [("Response", "Error"), ("Message", "'Queue' and 'Interface' not specified.")])
            return
        if qname not in pbx.queues:
            conn.reply(action, [("Response", "Error"), ("Message", "Unable to add interface to queue: No such queue")])
            return
        if iface in pbx.queues[qname].members:
            conn.reply(action, [("Response", "Error"), ("Message", "Unable to add interface: Already there")])
            return
        conn.reply(action, [("Response", "Success"), ("Message", "Added interface to queue")])
        penalty = action.get("penalty", "0")
        wrap = action.get("wrapuptime")
        pbx.add_member(
            qname,
            iface,
            action.get("membername") or iface,
            int(penalty) if penalty.lstrip("-").isdigit() else 0,
            _true(action.get("paused", "")),
            action.get("reason", ""),
            float(wrap) if wrap and wrap.isdigit() else None,
            state_interface=action.get("stateinterface", ""),
        )

    def _a_queueremove(self, conn: Connection, action: dict[str, str]) -> None:
        pbx = self.pbx
        qname, iface = action.get("queue", ""), action.get("interface", "")
        if qname not in pbx.queues:
            conn.reply(action, [("Response", "Error"), ("Message", "Unable to remove interface from queue: No such queue")])
            return
        if iface not in pbx.queues[qname].members:
            conn.reply(action, [("Response", "Error"), ("Message", "Unable to remove interface: Not there")])
            return
        conn.reply(action, [("Response", "Success"), ("Message", "Removed interface from queue")])
        pbx.remove_member(qname, iface)

    def _a_queuepause(self, conn: Connection, action: dict[str, str]) -> None:
        pbx = self.pbx
        iface, paused = action.get("interface", ""), action.get("paused", "")
        if not iface or not paused:
            conn.reply(action, [("Response", "Error"), ("Message", "Need 'Interface' and 'Paused' parameters.")])
            return
        queue = action.get("queue") or None
        if not any(queue is None or m.queue == queue for m in pbx.memberships(iface)):
            conn.reply(action, [("Response", "Error"), ("Message", "Interface not found")])
            return
        on = _true(paused)
        conn.reply(action, [("Response", "Success"), ("Message", f"Interface {'paused' if on else 'unpaused'} successfully")])
        pbx.pause(iface, on, action.get("reason", ""), queue)

    def _a_originate(self, conn: Connection, action: dict[str, str]) -> None:
        channel = action.get("channel", "")
        if not channel:
            conn.reply(action, [("Response", "Error"), ("Message", "Channel not specified")])
            return
        if not action.get("exten") and not action.get("application"):
            conn.reply(action, [("Response", "Error"), ("Message", "Exten or Application not specified")])
            return
        conn.reply(action, [("Response", "Success"), ("Message", "Originate successfully queued")])
        variables = dict(v.split("=", 1) for v in action.get("variable", "").split("\n") if "=" in v)
        self.pbx.originate(
            channel,
            exten=action.get("exten", ""),
            context=action.get("context", "default"),
            application=action.get("application", ""),
            data=action.get("data", ""),
            callerid=action.get("callerid", ""),
            action_id=action.get("actionid", ""),
            timeout=int(timeout) / 1000 if (timeout := action.get("timeout", "30000")).isdigit() else 30.0,
            variables=variables,
            channel_id=action.get("channelid", ""),
        )

    def _no_channel(self, conn: Connection, action: dict[str, str]) -> bool:
        name = action.get("channel", "")
        if not name:
            conn.reply(action, [("Response", "Error"), ("Message", "No channel specified")])
            return True
        if name not in self.pbx.channels:
            conn.reply(action, [("Response", "Error"), ("Message", "No such channel")])
            return True
        return False

    def _a_redirect(self, conn: Connection, action: dict[str, str]) -> None:
        if self._no_channel(conn, action):
            return
        conn.reply(action, [("Response", "Success"), ("Message", "Redirect successful")])
        self.pbx.redirect(action["channel"], action.get("context", "default"), action.get("exten", "s"))

    def _a_hangup(self, conn: Connection, action: dict[str, str]) -> None:
        if self._no_channel(conn, action):
            return
        conn.reply(action, [("Response", "Success"), ("Message", "Channel Hungup")])
        self.pbx.hangup_channel(action["channel"])

    def _a_mixmonitor(self, conn: Connection, action: dict[str, str]) -> None:
        if self._no_channel(conn, action):
            return
        conn.reply(action, [("Response", "Success")])
        self.pbx.start_mixmonitor(action["channel"], action.get("file", ""))

    def _a_stopmixmonitor(self, conn: Connection, action: dict[str, str]) -> None:
        if self._no_channel(conn, action):
            return
        conn.reply(action, [("Response", "Success")])
        self.pbx.stop_mixmonitor(action["channel"])

    def _a_pausemonitor(self, conn: Connection, action: dict[str, str]) -> None:
        if self._no_channel(conn, action):
            return
        conn.reply(action, [("Response", "Success"), ("Message", "Paused monitoring of the channel")])

    def _a_unpausemonitor(self, conn: Connection, action: dict[str, str]) -> None:
        if self._no_channel(conn, action):
            return
        conn.reply(action, [("Response", "Success"), ("Message", "Unpaused monitoring of the channel")])

    def _a_mixmonitormute(self, conn: Connection, action: dict[str, str]) -> None:
        if self._no_channel(conn, action):
            return
        conn.reply(action, [("Response", "Success")])
        self.pbx.mute_mixmonitor(action["channel"], _true(action.get("state", "1")), action.get("direction", "both"))

    def _talking_call(self, action: dict[str, str]) -> Call | None:
        """The answered queue call the channel (the agent's phone or leg, or the caller) is in."""
        ch = self.pbx.channels[action["channel"]]
        return next((c for c in self.pbx.calls.values() if c.state == "talking" and ch in (c.caller, c.leg, c.phone)), None)

    def _a_blindtransfer(self, conn: Connection, action: dict[str, str]) -> None:
        self._transfer(conn, action, {"type": "blind"}, "Transfer failed", "Transfer succeeded")

    def _a_atxfer(self, conn: Connection, action: dict[str, str]) -> None:
        """The attended-transfer feature on the agent's phone (asterisk/features.conf
        atxfer); the phone's hang-up (a Hangup action) completes it."""
        if self._no_channel(conn, action):
            return
        if not action.get("exten"):
            conn.reply(action, [("Response", "Error"), ("Message", "No extension specified")])
            return
        if not self.pbx.atxfer(action["channel"], action["exten"], action.get("context") or "agents"):
            conn.reply(action, [("Response", "Error"), ("Message", "No active call to transfer")])
            return
        conn.reply(action, [("Response", "Success"), ("Message", "Atxfer successfully queued")])

    def _transfer(self, conn: Connection, action: dict[str, str], how: dict[str, object], failed: str, done: str) -> None:
        """BlindTransfer and Atxfer of a talking queue call, with each one's own replies."""
        if self._no_channel(conn, action):
            return
        if not action.get("exten"):
            conn.reply(action, [("Response", "Error"), ("Message", "No extension specified")])
            return
        call = self._talking_call(action)
        if call is None:
            conn.reply(action, [("Response", "Error"), ("Message", failed)])
            return
        conn.reply(action, [("Response", "Success"), ("Message", done)])
        self.pbx.transfer(call, {**how, "to": action["exten"]})

    # asterisk/pjsip_notify.conf sections the simulated phones honour.
    NOTIFY_HOLD = {"cc-hold": True, "cc-talk": False}

    def _a_pjsipnotify(self, conn: Connection, action: dict[str, str]) -> None:
        """The agent's phone takes a remote-control NOTIFY: hold or resume its call."""
        endpoint, option = action.get("endpoint", ""), action.get("option", "")
        if not endpoint:
            conn.reply(action, [("Response", "Error"), ("Message", "PJSIPNotify requires either an endpoint or uri argument")])
            return
        if option not in self.NOTIFY_HOLD:
            conn.reply(action, [("Response", "Error"), ("Message", f"Unable to find notify type '{option}'")])
            return
        iface = f"PJSIP/{endpoint}"
        conn.reply(action, [("Response", "Success"), ("Message", "NOTIFY sent")])
        call = next((c for c in self.pbx.calls.values() if c.state == "talking" and c.phone is not None and c.phone.device == iface), None)
        if call is not None:  # a phone with no call ignores the key press, as a real one does
            self.pbx.hold(call, self.NOTIFY_HOLD[option])

    def _a_getvar(self, conn: Connection, action: dict[str, str]) -> None:
        conn.reply(action, [("Response", "Success"), ("Variable", action.get("variable", "")), ("Value", "")])

    def _a_corestatus(self, conn: Connection, action: dict[str, str]) -> None:
        from datetime import UTC, datetime

        start = datetime.fromtimestamp(self.pbx.started, UTC)
        conn.reply(
            action,
            [
                ("Response", "Success"),
                ("Message", "Core Status"),
                ("CoreStartupDate", start.strftime("%Y-%m-%d")),
                ("CoreStartupTime", start.strftime("%H:%M:%S")),
                ("CoreReloadDate", start.strftime("%Y-%m-%d")),
                ("CoreReloadTime", start.strftime("%H:%M:%S")),
                ("CoreCurrentCalls", str(len(self.pbx.channels))),
            ],
        )


def _true(v: str) -> bool:
    return v.strip().lower() in ("1", "true", "yes", "on", "y", "t")


__all__ = ["AmiServer", "Faults", "encode"]
