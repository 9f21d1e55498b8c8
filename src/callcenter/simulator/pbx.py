"""The simulated PBX: Asterisk 18/20 with app_queue and the shipped
dialplan (asterisk/), emitting AMI events in the order Asterisk does.

It knows nothing about sockets: every event goes to `self.sinks` as a list
of (header, value) pairs, already stamped with Event/Privilege/Timestamp,
and every app_queue queue_log line to `self.queue_log`.  Everything
happens inside `Schedule` timers, so the order of events is a function of
the inputs and the seed alone.

One concern per module, bottom to top:

- model      channels, bridges, Local pairs, queues, members, callers
- base       time, events, channel/bridge moves, device states, hang-ups
- local      Local channels and their optimisation (both directions)
- members    QueueAdd/Remove/Pause
- queue      app_queue while the caller waits and members ring
- connect    app_queue after an answer: the connect, AgentComplete
- monitor    MixMonitor
- dialplan   the shipped dialplan around Queue(): route, record, after
- calls      Dial(), internal/outbound calls, Originate, duty line, pickup
- transfers  blind/attended/blonde transfers, Redirect, Hangup
- snapshots  QueueStatus, CoreShowChannels, Status, BridgeList/BridgeInfo

Conventions copied from Asterisk 18/20:
- Uniqueid is "<epoch at creation>.<global counter>", Linkedid is the
  caller's Uniqueid on every leg created for the call; channel names are
  "<interface>-<8 hex digit counter>" ("Local/x@ctx-<n>;1" and ";2").
- Agent* events carry the caller's snapshot unprefixed and the member leg as
  Dest*; RingTime is ms in AgentRingNoAnswer and s in AgentConnect.
- QueueCallerAbandon is also sent on a queue timeout and leavewhenempty;
  then QUEUESTATUS and the caller channel lives on (ami.md §3.3).
"""

from __future__ import annotations

from callcenter.simulator.base import outside
from callcenter.simulator.calls import DirectCall, _split_callerid
from callcenter.simulator.model import (
    BUSY,
    CAUSES,
    INUSE,
    INVALID,
    NOT_INUSE,
    ONHOLD,
    RINGING,
    RINGINUSE,
    STATE_DESC,
    STRATEGIES,
    UNAVAILABLE,
    UNKNOWN,
    Bridge,
    Call,
    Channel,
    Fields,
    LocalPair,
    Member,
    Phone,
    Queue,
    Recording,
    Ring,
    Sink,
    unknown,
)
from callcenter.simulator.snapshots import Snapshots
from callcenter.simulator.transfers import Transfers


class PBX(Transfers, Snapshots):
    """Simulated Asterisk with app_queue.  Public methods are what tests, the
    traffic model and the AMI actions use to change it."""


def demo_queues() -> list[Queue]:
    """The demo centre's queues, as asterisk/queues.conf configures them
    (names match callcenter.demo.DEMO_QUEUES)."""
    from callcenter.demo import DEMO_QUEUES, PBX_WRAPUPTIME_S

    strategy = {"repairs": "rrmemory", "complaints": "leastrecent", "enquiries": "rrmemory", "vip": "ringall", "fees": "fewestcalls"}
    weight = {"vip": 10, "complaints": 5}
    return [
        Queue(n, strategy=strategy.get(n, "rrmemory"), servicelevel=sl, wrapuptime=float(PBX_WRAPUPTIME_S), maxwait=300.0,
              weight=weight.get(n, 0), autopause="yes", timeout=15.0, retry=3.0, joinempty="unavailable,invalid",
              leavewhenempty="no", keys="9")  # fmt: skip
        for n, _zh, _en, sl, _wrap in DEMO_QUEUES
    ]


__all__ = [
    "BUSY", "CAUSES", "INUSE", "INVALID", "NOT_INUSE", "ONHOLD", "PBX", "RINGING", "RINGINUSE", "STATE_DESC",
    "STRATEGIES", "UNAVAILABLE", "UNKNOWN", "Bridge", "Call", "Channel", "DirectCall", "Fields", "LocalPair",
    "Member", "Phone", "Queue", "Recording", "Ring", "Sink", "demo_queues", "outside", "unknown", "_split_callerid",
]  # fmt: skip
