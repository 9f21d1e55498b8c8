"""The AMI bridge: one supervised link to Asterisk, events in order to one
callback, actions out through the gateway.

Built on panoramisk 1.4 (its Manager, Action and reply matching) and
hardened where 1.4 falls short (ami.md §5.3):

- reconnects with capped exponential backoff and jitter instead of a fixed
  2 s loop; a rejected log-in is reported once and retried slowly;
- while Asterisk is gone, only a cheap probe (TCP connect + the banner)
  runs, every settings.ami_probe_interval_s, and the bridge reconnects as
  soon as one answers, whatever the backoff had grown to;
- a link that stops answering Ping is declared dead after
  settings.ami_dead_after_s and reconnected (1.4 never checks the Pong);
- the stream is framed and decoded by callcenter.ami.parser (1.4 drops
  multi-byte characters split across reads);
- events go through an in-order queue to a single consumer, so an exception
  in the handler is logged and counted and never closes the connection or
  loses the events behind it;
- actions pending when the link drops fail at once with NotConnected;
- after every log-in, QueueStatus + CoreShowChannels are turned into one
  acd.events.Resync, delivered exactly where the snapshot was taken in the
  event stream: events Asterisk sent before it come first, later ones after.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message
from prometheus_client import Counter, Enum, Gauge

from callcenter.acd import events as ev
from callcenter.ami.gateway import ActionError, Gateway, NotConnected
from callcenter.ami.normaliser import EventStream
from callcenter.config import Settings
from callcenter.realtime import trace

log = logging.getLogger("callcenter.ami")

STATES = ["stopped", "connecting", "connected", "authenticated", "lost"]

EVENTS = Counter("callcenter_ami_events_total", "Domain events delivered by the AMI bridge", ["type"])
IGNORED = Counter("callcenter_ami_ignored_total", "AMI events dropped unread because the core does not use them")
HANDLER_ERRORS = Counter("callcenter_ami_handler_errors_total", "Exceptions raised by the AMI event handler")
RECONNECTS = Counter("callcenter_ami_reconnects_total", "AMI links lost or refused, each followed by a reconnect")
LINK_STATE = Enum("callcenter_ami_link_state", "State of the AMI link", states=STATES)
BACKLOG = Gauge("callcenter_ami_backlog", "AMI events received but not yet handled")

OnEvent = Callable[[ev.Event], "None | Awaitable[None]"]


class LoginRejected(Exception):
    pass


class ResyncFailed(Exception):
    pass


class _Link(AMIProtocol):
    """One TCP connection.  panoramisk's AMIProtocol with our decoder in
    data_received and a connection_lost that fails pending actions."""

    transport: asyncio.Transport | None = None

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge
        self.stream = EventStream()
        self.gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.marks: dict[str, asyncio.Future[ev.Event | None]] = {}
        self.reason = ""  # why we closed it, if we did
        self._ignored = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.factory = self.bridge.manager
        self.encoding = "utf-8"
        self.log = log

    def data_received(self, data: bytes) -> None:
        bridge = self.bridge
        try:
            items = self.stream.feed(data, time.time(), replies=bool(self.responses))
        except Exception:  # noqa: BLE001 - 1.4 lets this close the link; we must not
            log.exception("AMI input could not be processed (%d bytes skipped)", len(data))
            return
        for item in items:
            if item.__class__ is dict:
                self._reply(item)  # type: ignore[arg-type]
            else:
                if trace.ON and getattr(item, "interface", None):
                    trace.mark("ami", "agent:" + item.interface, 0)
                bridge._backlog.put_nowait(item)
        if self.stream.ignored != self._ignored:
            IGNORED.inc(self.stream.ignored - self._ignored)
            self._ignored = self.stream.ignored
        BACKLOG.set(bridge._backlog.qsize())

    def _reply(self, headers: dict[str, Any]) -> None:
        message = Message(headers)
        action = self.responses.get(message.id) or (message.action_id and self.responses.get(message.action_id))
        if action is None:
            if "Event" in headers:  # an ActionID-tagged event nobody waits for
                event = self.stream.event(headers, time.time())
                if event is not None:
                    self.bridge._backlog.put_nowait(event)
            return
        mark = self.marks.pop(action.id, None)
        if mark is not None:
            self.bridge._backlog.put_nowait(mark)
        try:
            self.handle_message(message)
        except Exception:  # noqa: BLE001 - a bad reply must not kill the link
            log.exception("AMI reply to %s could not be matched", action.get("Action"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        pending = {id(a): a for a in self.responses.values()}.values()
        self.responses.clear()
        for action in pending:
            if not action.future.done():
                action.future.set_exception(NotConnected(action.get("Action", "?"), "the AMI link was lost before the reply"))
        for mark in self.marks.values():
            if not mark.done():
                mark.set_result(None)
        if not self.gone.done():
            self.gone.set_result(None)

    def close(self) -> None:
        """No re-queueing of pending actions (1.4 does): just close."""
        self.closed = True  # refuse new actions now; connection_lost fails the pending ones
        if self.transport is not None:
            self.transport.abort()


class Bridge:
    """``Bridge(settings, on_event)``; ``await start()`` returns at once and
    the link is kept up in the background until ``await stop()``."""

    def __init__(self, settings: Settings, on_event: OnEvent, *, rng: random.Random | None = None) -> None:
        self.settings = settings
        self.on_event = on_event
        self.host, self.port, self.user = settings.ami_host, settings.ami_port, settings.ami_user
        self.manager = Manager(host=self.host, port=self.port, username=self.user, secret=settings.ami_secret)
        self.manager.authenticated = False
        self.gateway = Gateway(self.manager, settings.ami_action_timeout_s)
        self.state = "stopped"
        self.error: str | None = None
        self.resynced = False
        self.sessions = 0  # successful log-ins
        self.attempts = 0  # connection attempts
        self.probes = 0  # probes while Asterisk was away
        self._rng = rng or random.Random()
        self._backlog: asyncio.Queue[Any] = asyncio.Queue()
        self._link: _Link | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._quiet = False  # the same failure again: log at debug
        self._resync_seq = 0

    # --- public --------------------------------------------------------------------

    async def start(self) -> None:
        if self._tasks:
            return
        self.manager.loop = asyncio.get_running_loop()
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._consume(), name="ami-consumer"),
            asyncio.create_task(self._supervise(), name="ami-link"),
        ]

    async def stop(self, drain_s: float = 2.0) -> None:
        """Close the link; events already received are still handed over."""
        if not self._tasks:
            return
        consumer, supervisor = self._tasks
        self._tasks = []
        self._stopping = True
        # Cancel until it is really gone: on Python 3.11 asyncio.wait_for can
        # swallow a cancellation that lands as its inner await completes, and
        # the supervisor would then carry on reconnecting (a hung shutdown).
        while not supervisor.done():
            supervisor.cancel()
            await asyncio.wait({supervisor}, timeout=0.1)
        self.manager.authenticated = False
        self.resynced = False
        if self._link is not None:
            self._link.close()
        self._backlog.put_nowait(None)
        try:
            await asyncio.wait_for(consumer, drain_s)
        except TimeoutError:
            log.warning("AMI bridge stopped with %d events unhandled", self._backlog.qsize())
        self._set_state("stopped")

    def readiness(self) -> dict[str, object]:
        ok = self.state == "authenticated" and self.resynced
        out: dict[str, object] = {"ok": ok, "state": self.state, "server": f"{self.host}:{self.port}"}
        if self.error and not ok:
            out["error"] = self.error
        return out

    # --- the link ---------------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        if state == self.state:
            return
        self.state = state
        LINK_STATE.state(state)
        if state != "lost":  # _supervise logs "lost" together with the reason
            log.log(logging.DEBUG if self._quiet else logging.INFO, "AMI link %s", state, extra={"ami_state": state})

    def _backoff(self, attempt: int) -> float:
        """Exponential, capped, with jitter (so a fleet does not reconnect in step)."""
        s = self.settings
        ceiling = min(s.ami_backoff_max_s, s.ami_backoff_initial_s * 2**min(attempt, 30))
        return ceiling * self._rng.uniform(0.5, 1.0)

    async def _supervise(self) -> None:
        attempt = 0
        last_error: str | None = None
        while not self._stopping:
            started, sessions = time.monotonic(), self.sessions
            rejected = False
            try:
                await self._session()
                error = (self._link and self._link.reason) or "the AMI link was lost"
            except LoginRejected as exc:
                error, rejected = str(exc), True
            except (OSError, TimeoutError, ActionError, ResyncFailed, EOFError) as exc:
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            except Exception as exc:  # noqa: BLE001 - never let the supervisor die
                log.exception("AMI session failed unexpectedly")
                error = f"{type(exc).__name__}: {exc}"
            self.manager.authenticated = False
            self.manager.protocol = None
            self.resynced = False
            if self._link is not None:
                self._link.close()
                self._link = None
            had_session = self.state == "authenticated"
            if had_session:
                # After what the old session delivered, before the new one's
                # first events: where the blind window begins.
                self._backlog.put_nowait(ev.LinkLost(time.time()))
            if had_session and time.monotonic() - started >= self.settings.ami_backoff_max_s:
                attempt = 0  # it was a stable session: start the backoff afresh
            delay = self._backoff(attempt)
            attempt += 1
            repeat = error == last_error and sessions == self.sessions
            self._quiet = repeat
            self.error = error
            self._set_state("lost")
            RECONNECTS.inc()
            server = f"{self.host}:{self.port}"
            # Asterisk gone: no session was had (refused, no banner, no reply
            # to Login), or the one we had dropped and a probe gets no answer.
            gone = not rejected and (not had_session or not await self._probe(self.settings.ami_action_timeout_s))
            if rejected and not repeat:
                log.error("%s at %s; check CALLCENTER_AMI_USER/CALLCENTER_AMI_SECRET and manager.conf; retrying with backoff", error, server)
            else:
                log.log(
                    logging.DEBUG if repeat else logging.WARNING,
                    "AMI link lost (%s): %s; reconnecting %s", server, error,
                    "as soon as it answers" if gone else f"in {delay:.2f} s", extra={"ami_state": "lost"},
                )  # fmt: skip
            last_error = error
            if await self._wait_for_asterisk(delay, gone):
                log.log(logging.DEBUG if repeat else logging.INFO, "AMI answers again at %s; reconnecting now", server)

    async def _probe(self, timeout: float) -> bool:
        """Is Asterisk there?  A TCP connect and its banner line, nothing
        more (no log-in): cheap for both sides, and a port that accepts but
        says nothing (a proxy with nothing behind it) does not count."""
        self.probes += 1
        writer = None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(self.host, self.port)
                return bool((await reader.readline()).strip())
        except (OSError, TimeoutError, EOFError):
            return False
        finally:
            if writer is not None:
                writer.transport.abort()

    async def _wait_for_asterisk(self, delay: float, gone: bool) -> bool:
        """Wait before the next session; True if Asterisk came back.

        While Asterisk is gone (the last attempt never got a session, or a
        probe failed) only probes run, one every ami_probe_interval_s
        (jittered, each with the full action timeout, so a slow network is
        not mistaken for a dead one), and the session starts as soon as one
        answers.  A server that answers probes but refused or dropped the
        session sleeps out the backoff, so it is never hammered."""
        s = self.settings
        end = time.monotonic() + delay
        probes: set[asyncio.Task[bool]] = set()
        try:
            while not self._stopping:
                wake = s.ami_probe_interval_s * self._rng.uniform(0.5, 1.0)
                if not gone:
                    wake = min(wake, end - time.monotonic())
                    if wake <= 0:
                        return False
                probes.add(asyncio.create_task(self._probe(s.ami_action_timeout_s)))
                done, probes = await asyncio.wait(probes, timeout=wake, return_when=asyncio.FIRST_COMPLETED)
                for probe in done:
                    if probe.result():
                        if gone:
                            return True
                    else:
                        gone = True
            return False
        finally:
            for probe in probes:
                probe.cancel()

    async def _session(self) -> None:
        s = self.settings
        self.attempts += 1
        self._set_state("connecting")
        loop = asyncio.get_running_loop()
        _, link = await asyncio.wait_for(
            loop.create_connection(lambda: _Link(self), self.host, self.port), s.ami_action_timeout_s
        )
        self._link = link
        self._set_state("connected")
        await self._login(link)
        self.manager.protocol = link
        self.manager.authenticated = True
        self.sessions += 1
        self._quiet = False
        self.error = None
        self._set_state("authenticated")
        watchdog = asyncio.create_task(self._watchdog(link), name="ami-watchdog")
        try:
            await self._resync(link)
            await asyncio.shield(link.gone)
        finally:
            watchdog.cancel()

    async def _login(self, link: _Link) -> None:
        future = link.send(
            {"Action": "Login", "Username": self.user, "Secret": self.settings.ami_secret, "Events": "on"}, as_list=False
        )
        try:
            # Asterisk delays a failure by 1 s; allow for it on top of the deadline.
            reply = await asyncio.wait_for(future, self.settings.ami_action_timeout_s + 1.0)
        except TimeoutError:
            raise TimeoutError("no reply to Login") from None
        if not reply.success:
            log.debug("AMI login reply: %s", reply.get("Message"))
            raise LoginRejected(f"AMI login rejected for user {self.user}")

    async def _watchdog(self, link: _Link) -> None:
        """Ping every ami_ping_interval_s; no Pong for ami_dead_after_s = dead."""
        s = self.settings
        tick = min(s.ami_ping_interval_s, s.ami_dead_after_s / 5)
        last_pong = last_ping = time.monotonic()

        def pong(future: asyncio.Future[Any]) -> None:
            nonlocal last_pong
            if not future.cancelled() and future.exception() is None:
                last_pong = time.monotonic()

        while not link.closed:
            await asyncio.sleep(tick)
            now = time.monotonic()
            if now - last_pong > s.ami_dead_after_s:
                link.reason = f"dead link: no reply to Ping for {now - last_pong:.1f} s"
                link.close()
                return
            if now - last_ping >= s.ami_ping_interval_s:
                last_ping = now
                link.send({"Action": "Ping"}, as_list=False).add_done_callback(pong)

    # --- resync -------------------------------------------------------------------------

    async def _resync(self, link: _Link) -> None:
        """Ask for the current truth; the Resync is slotted into the event
        queue where the QueueStatus reply began (see module docstring)."""
        self._resync_seq += 1
        aid = f"resync/{id(self):x}/{self._resync_seq}"
        mark: asyncio.Future[ev.Event | None] = asyncio.get_running_loop().create_future()
        link.marks[f"{aid}/p"] = mark  # enqueued by _Link at the first reply frame
        try:
            # Asterisk answers in order: the Pong's Timestamp is the server's
            # clock at the snapshot, the time base the events use.
            pong, queues, channels = await asyncio.gather(
                self.gateway.ping(action_id=f"{aid}/p"),
                self.gateway.queue_status(action_id=f"{aid}/q"),
                self.gateway.core_show_channels(action_id=f"{aid}/c"),
            )
            stamp = pong.get("Timestamp", "")
            resync = build_resync(queues, channels, float(stamp) if stamp else time.time())
            mark.set_result(resync)
        except (ActionError, ValueError) as exc:
            raise ResyncFailed(f"resync failed: {exc}") from None
        finally:
            link.marks.pop(f"{aid}/p", None)
            if not mark.done():
                mark.set_result(None)
        self.resynced = True
        log.info(
            "AMI resync: %d queues, %d members, %d waiting callers, %d channels",
            len(resync.queues), len(resync.members), len(resync.entries), len(resync.channels),
        )  # fmt: skip

    # --- delivery ------------------------------------------------------------------------

    async def _consume(self) -> None:
        counters: dict[type, Any] = {}
        while True:
            item = await self._backlog.get()
            if item is None:
                return
            if isinstance(item, asyncio.Future):
                item = await item
                if item is None:
                    continue
            kind = item.__class__
            counter = counters.get(kind)
            if counter is None:
                counter = counters[kind] = EVENTS.labels(kind.__name__)
            counter.inc()
            try:
                result = self.on_event(item)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # noqa: BLE001 - isolate the handler from the link
                HANDLER_ERRORS.inc()
                log.exception("AMI event handler failed on %s", kind.__name__)


# --- snapshot parsing -----------------------------------------------------------------------


def _num(v: str, kind: type = int) -> Any:
    try:
        return kind(v) if v else kind(0)
    except ValueError:
        return kind(0)


def _clean(v: str) -> str:
    return "" if v == "<unknown>" else v


def _duration(v: str) -> float:
    """CoreShowChannel's Duration, HH:MM:SS."""
    total = 0.0
    for part in v.split(":"):
        total = total * 60 + _num(part, float)
    return total


def build_resync(queue_status: list[Message], channels: list[Message], ts: float) -> ev.Resync:
    queues: list[str] = []
    members: list[ev.MemberSnapshot] = []
    entries: list[ev.EntrySnapshot] = []
    for m in queue_status:
        kind = m.get("Event", "")
        if kind == "QueueParams":
            queues.append(m.get("Queue", ""))
        elif kind == "QueueMember":
            members.append(
                ev.MemberSnapshot(
                    queue=m.get("Queue", ""),
                    interface=m.get("Location", "") or m.get("Interface", ""),
                    member_name=m.get("Name", "") or m.get("MemberName", ""),
                    penalty=_num(m.get("Penalty", "")),
                    paused=m.get("Paused", "") in ("1", "true"),
                    paused_reason=m.get("PausedReason", ""),
                    status=_num(m.get("Status", "")),
                    in_call=m.get("InCall", "") in ("1", "true"),
                    calls_taken=_num(m.get("CallsTaken", "")),
                    last_call=_num(m.get("LastCall", ""), float),
                    login_time=_num(m.get("LoginTime", ""), float),
                    state_interface=m.get("StateInterface", ""),
                )
            )
        elif kind == "QueueEntry":
            entries.append(
                ev.EntrySnapshot(
                    queue=m.get("Queue", ""),
                    uniqueid=m.get("Uniqueid", ""),
                    channel=m.get("Channel", ""),
                    caller_number=_clean(m.get("CallerIDNum", "")),
                    caller_name=_clean(m.get("CallerIDName", "")),
                    position=_num(m.get("Position", "")),
                    wait_s=_num(m.get("Wait", ""), float),
                    priority=_num(m.get("Priority", "")),
                )
            )
    snapshots = [
        ev.ChannelSnapshot(
            uniqueid=m.get("Uniqueid", ""),
            linkedid=m.get("Linkedid", ""),
            channel=m.get("Channel", ""),
            state=_num(m.get("ChannelState", "")),
            caller_number=_clean(m.get("CallerIDNum", "")),
            caller_name=_clean(m.get("CallerIDName", "")),
            connected_number=_clean(m.get("ConnectedLineNum", "")),
            application=m.get("Application", ""),
            bridge_id=m.get("BridgeId", "") or m.get("BridgeID", ""),
            duration_s=_duration(m.get("Duration", "")),
            application_data=m.get("ApplicationData", ""),
        )
        for m in channels
        if m.get("Event", "") == "CoreShowChannel"
    ]
    return ev.Resync(ts, members=tuple(members), entries=tuple(entries), channels=tuple(snapshots), queues=tuple(queues), channels_listed=True)
