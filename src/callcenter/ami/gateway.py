"""The one place that sends AMI actions.

Every action gets a deadline (settings.ami_action_timeout_s) and returns an
:class:`ActionResult` or raises an :class:`ActionError`; nothing waits
forever.  Three panoramisk 1.4 behaviours are worked around here:

- An action sent while the link is down would be parked and re-sent after
  some later FullyBooted; we refuse it at once (:class:`NotConnected`).
- An action in flight when the link drops is failed by the bridge's
  protocol with :class:`NotConnected` instead of being re-queued.
- QueueAdd's "Added interface to queue" is mistaken for the start of a list
  that never ends (issue #54); every single-reply action is sent with
  ``as_list=False`` so the first Response completes it.

Values are checked for line breaks: a CR/LF inside, say, a pause reason
would otherwise inject headers or a whole second action.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from panoramisk import Manager
from panoramisk.actions import Action
from panoramisk.message import Message
from prometheus_client import Counter

ACTIONS = Counter("callcenter_ami_actions_total", "AMI actions sent, by outcome", ["action", "outcome"])

SpyMode = Literal["listen", "whisper", "barge"]
# ChanSpy: q = no beep/announcement, E = end when the agent's call ends,
# S = end at once if the agent is on no call; w whisper, B barge (both legs).
SPY_OPTIONS: dict[str, str] = {"listen": "qES", "whisper": "qwES", "barge": "qBES"}


class ActionError(Exception):
    """Asterisk refused the action, or it could not be completed."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"AMI {action}: {message}")
        self.action = action
        self.message = message


class ActionTimeout(ActionError):
    """No reply within the deadline."""


class NotConnected(ActionError):
    """The AMI link is down (or went down before the reply came)."""


@dataclass(frozen=True, slots=True)
class ActionResult:
    action: str
    action_id: str
    message: str


def _check(action: Mapping[str, object]) -> None:
    for key, value in action.items():
        values = value if isinstance(value, (list, tuple)) else (value,)
        for v in values:
            if "\r" in str(v) or "\n" in str(v):
                raise ValueError(f"{key} must not contain line breaks")


def endpoint_of(interface_or_channel: str) -> str:
    """The PJSIP endpoint of "PJSIP/8001" or of its channel "PJSIP/8001-0000002a"
    (or of a Local member's phone: "Local/8006@agents/n", "Local/8006@agents-0000001a;1")."""
    tech, _, rest = interface_or_channel.partition("/")
    if tech.lower() == "local":
        device = state_interface(interface_or_channel.rsplit("-", 1)[0] if ";" in interface_or_channel else interface_or_channel)
        if device is not None:
            return device.split("/", 1)[1]
    if tech.upper() != "PJSIP" or not rest:
        raise ActionError("PJSIPNotify", f"{interface_or_channel!r} is not a PJSIP interface or channel")
    return rest.rsplit("-", 1)[0] if "-" in rest else rest


def _flag(value: bool) -> str:
    return "true" if value else "false"


def state_interface(interface: str) -> str | None:
    """The device whose state a Local-channel member's status should follow.

    `Local/8006@agents/n` reaches PJSIP/8006 through the shipped dialplan
    (asterisk/extensions.conf [agents]); a Local channel's own device state
    is only "in use while a Local channel to it exists", which is wrong once
    the pair is optimised away and never says "ringing".  None: the
    interface is its own state interface (PJSIP/8001), or we cannot tell."""
    tech, _, rest = interface.partition("/")
    if tech.lower() != "local":
        return None
    exten, _, context = rest.partition("@")
    if context.split("/", 1)[0] == "agents" and exten.isdigit():
        return f"PJSIP/{exten}"
    return None


class Gateway:
    def __init__(self, manager: Manager, timeout_s: float) -> None:
        self.manager = manager
        self.timeout_s = timeout_s

    @classmethod
    def offline(cls, timeout_s: float) -> Gateway:
        """A gateway with no link (AMI disabled): every action raises NotConnected."""
        return cls(Manager(), timeout_s)

    async def send(
        self, fields: dict[str, object], *, as_list: bool = False, timeout_s: float | None = None
    ) -> Message | list[Message]:
        """Send one action; the reply (a list for list actions) or an error."""
        name = str(fields["Action"])
        _check(fields)
        protocol = self.manager.protocol
        if not self.manager.authenticated or protocol is None or protocol.closed:
            ACTIONS.labels(name, "not_connected").inc()
            raise NotConnected(name, "the AMI link is down")
        action = Action(fields, as_list=as_list)
        future = self.manager.send_action(action, as_list=as_list)
        timeout = self.timeout_s if timeout_s is None else timeout_s
        try:
            reply = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            protocol.responses.pop(action.id, None)
            ACTIONS.labels(name, "timeout").inc()
            raise ActionTimeout(name, f"no reply within {timeout:g} s") from None
        except NotConnected:
            ACTIONS.labels(name, "not_connected").inc()
            raise
        first = reply[0] if isinstance(reply, list) else reply
        if first.get("Response") in ("Error", "Fail", "Failure"):
            ACTIONS.labels(name, "error").inc()
            raise ActionError(name, first.get("Message") or "failed")
        ACTIONS.labels(name, "ok").inc()
        return reply

    async def _do(self, fields: dict[str, object], timeout_s: float | None = None) -> ActionResult:
        reply = await self.send(fields, timeout_s=timeout_s)
        assert isinstance(reply, Message)
        return ActionResult(str(fields["Action"]), reply.get("ActionID", ""), reply.get("Message", ""))

    # --- queue membership ----------------------------------------------------

    async def queue_add(
        self, queue: str, interface: str, member_name: str = "", penalty: int = 0, paused: bool = False
    ) -> ActionResult:
        fields: dict[str, object] = {"Action": "QueueAdd", "Queue": queue, "Interface": interface, "Penalty": penalty, "Paused": _flag(paused)}
        if member_name:
            fields["MemberName"] = member_name
        if (device := state_interface(interface)) is not None:
            fields["StateInterface"] = device
        return await self._do(fields)

    async def queue_remove(self, queue: str, interface: str) -> ActionResult:
        return await self._do({"Action": "QueueRemove", "Queue": queue, "Interface": interface})

    async def queue_pause(self, interface: str, paused: bool, reason: str = "", queue: str | None = None) -> ActionResult:
        """Pause or unpause; without ``queue`` in every queue the interface is in."""
        fields: dict[str, object] = {"Action": "QueuePause", "Interface": interface, "Paused": _flag(paused)}
        if queue:
            fields["Queue"] = queue
        if reason:
            fields["Reason"] = reason
        return await self._do(fields)

    # --- calls -----------------------------------------------------------------

    async def originate(
        self,
        channel: str,
        exten: str | None = None,
        context: str | None = None,
        priority: int = 1,
        application: str | None = None,
        data: str | None = None,
        caller_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        timeout_s: float = 30,
        channel_id: str | None = None,
    ) -> ActionResult:
        """Asynchronous Originate: the result says it was queued; the call's
        progress arrives as events.  `channel_id` sets the new channel's
        Uniqueid (ChannelId), so a dialer finds its call after a restart."""
        if (exten is None) == (application is None):
            raise ValueError("originate needs either exten+context or application")
        fields: dict[str, object] = {"Action": "Originate", "Channel": channel, "Async": "true", "Timeout": int(timeout_s * 1000)}
        if exten is not None:
            if not context:
                raise ValueError("originate to an extension needs a context")
            fields.update(Exten=exten, Context=context, Priority=priority)
        else:
            fields["Application"] = application
            if data:
                fields["Data"] = data
        if caller_id:
            fields["CallerID"] = caller_id
        if variables:
            fields["Variable"] = [f"{k}={v}" for k, v in variables.items()]
        if channel_id:
            fields["ChannelId"] = channel_id
        return await self._do(fields)

    async def click_to_call(
        self, interface: str, number: str, context: str, callback_task: int | None = None,
        workorder_task: int | None = None, channel_id: str | None = None,
    ) -> ActionResult:  # fmt: skip
        """Ring the agent's phone; when answered, dial ``number`` from ``context``.

        CC_AGENT names the agent on the call's events (the dialplan's
        UserEvent CcOutbound), CC_CALLBACK_TASK the callback being returned,
        CC_WO_TASK the work order's return visit being made.  `channel_id`
        (Originate ChannelId) is the agent leg's Uniqueid: the call record's
        `uniqueid`, so the caller finds the call and its recording."""
        variables = {"CC_AGENT": interface}
        if callback_task is not None:
            variables["CC_CALLBACK_TASK"] = str(callback_task)
        if workorder_task is not None:
            variables["CC_WO_TASK"] = str(workorder_task)
        return await self.originate(
            interface, exten=number, context=context, caller_id=f'"{number}" <{number}>', variables=variables, channel_id=channel_id
        )

    async def spy(self, supervisor_interface: str, target_interface: str, mode: SpyMode) -> ActionResult:
        """Ring the supervisor's phone and attach ChanSpy to the agent's call.
        The trailing '-' stops PJSIP/80 from also matching PJSIP/8001-...."""
        try:
            options = SPY_OPTIONS[mode]
        except KeyError:
            raise ValueError(f"mode must be one of {', '.join(SPY_OPTIONS)}") from None
        # A Local member's channels are named Local/8006@agents-…;1 (no "/n"),
        # and optimised away: spy on the phone behind it.
        target = state_interface(target_interface) or target_interface
        return await self.originate(
            supervisor_interface, application="ChanSpy", data=f"{target}-,{options}", caller_id=f'"{mode}" <{target_interface}>'
        )

    async def redirect(self, channel: str, exten: str, context: str, priority: int = 1) -> ActionResult:
        return await self._do({"Action": "Redirect", "Channel": channel, "Exten": exten, "Context": context, "Priority": priority})

    async def blind_transfer(self, channel: str, exten: str, context: str) -> ActionResult:
        return await self._do({"Action": "BlindTransfer", "Channel": channel, "Exten": exten, "Context": context})

    async def atxfer(self, channel: str, exten: str, context: str) -> ActionResult:
        return await self._do({"Action": "Atxfer", "Channel": channel, "Exten": exten, "Context": context})

    async def hangup(self, channel: str) -> ActionResult:
        return await self._do({"Action": "Hangup", "Channel": channel})

    # --- hold (the agent's desk phone) ------------------------------------------

    async def hold(self, interface_or_channel: str) -> ActionResult:
        """Put the agent's call on hold from their phone.

        AMI has no Hold action; like Wazo, we ask the phone itself with a SIP
        NOTIFY it honours as a remote-control key press (asterisk/pjsip_notify.conf
        [cc-hold]), so the phone, Asterisk and the caller's music agree."""
        return await self._notify(interface_or_channel, "cc-hold")

    async def unhold(self, interface_or_channel: str) -> ActionResult:
        return await self._notify(interface_or_channel, "cc-talk")

    async def _notify(self, interface_or_channel: str, option: str) -> ActionResult:
        return await self._do({"Action": "PJSIPNotify", "Endpoint": endpoint_of(interface_or_channel), "Option": option})

    # --- recording ------------------------------------------------------------------

    async def mix_monitor(self, channel: str, file: str, options: str = "") -> ActionResult:
        fields: dict[str, object] = {"Action": "MixMonitor", "Channel": channel, "File": file}
        if options:
            fields["Options"] = options
        return await self._do(fields)

    async def pause_monitor(self, channel: str) -> ActionResult:
        """Pause a MixMonitor recording (e.g. while a card number is read out).

        The PauseMonitor action only reaches Monitor() recordings (res_monitor,
        removed in Asterisk 21); MixMonitor's equivalent is MixMonitorMute on
        both directions, which records silence and keeps the timeline intact."""
        return await self._do({"Action": "MixMonitorMute", "Channel": channel, "Direction": "both", "State": 1})

    async def unpause_monitor(self, channel: str) -> ActionResult:
        return await self._do({"Action": "MixMonitorMute", "Channel": channel, "Direction": "both", "State": 0})

    # --- snapshots (the bridge's resync) ------------------------------------------

    async def user_event(self, fields: Mapping[str, str]) -> ActionResult:
        """Action: UserEvent; Asterisk broadcasts it back as Event: UserEvent
        to every AMI session (this one included), so it lands in the event
        stream and in every capture of it."""
        return await self._do({"Action": "UserEvent", **fields})

    async def ping(self, action_id: str | None = None) -> Message:
        fields: dict[str, object] = {"Action": "Ping"}
        if action_id:
            fields["ActionID"] = action_id
        reply = await self.send(fields)
        assert isinstance(reply, Message)
        return reply

    async def queue_status(self, action_id: str | None = None) -> list[Message]:
        return await self._list({"Action": "QueueStatus"}, action_id)

    async def core_show_channels(self, action_id: str | None = None) -> list[Message]:
        return await self._list({"Action": "CoreShowChannels"}, action_id)

    async def _list(self, fields: dict[str, object], action_id: str | None) -> list[Message]:
        if action_id:
            fields["ActionID"] = action_id
        reply = await self.send(fields, as_list=True)
        return reply if isinstance(reply, list) else [reply]
