"""Local channels (main/core_local.c, core_unreal.c, bridge.c): a pair of
halves, ;1 facing whoever dialled it and ;2 running the dialplan, and the
optimisation that swaps a real channel into the other half's bridge.

Which channel moves is bridge.c's choice (try_swap_optimize_out): the
half whose frame is written first asks; a two-party bridge is left for the
other one, unless a bridge refuses to give channels away (app_queue's
bridge has AST_BRIDGE_FLAG_SWAP_INHIBIT_FROM).  So a queue caller never
moves: the member's phone moves into the caller's bridge (SwapUniqueid =
the ;1 half).  On a plain Dial() bridge either can happen: the phone into
the caller's bridge (swap ;1) or the caller into the phone's bridge
(swap ;2), which is the "other way" a call tracker must follow too.
"""

from __future__ import annotations

from callcenter.simulator.base import PbxBase
from callcenter.simulator.model import INUSE, Channel, LocalPair


def parse_local(interface: str) -> tuple[str, str, str]:
    """"Local/8006@agents/n" -> ("8006", "agents", "n")."""
    rest = interface.split("/", 1)[1]
    exten, _, context = rest.partition("@")
    context, _, opts = context.partition("/")
    return exten, context or "default", opts


class LocalChannels(PbxBase):
    def _local_pair(self, interface: str, requestor: Channel, *, first_writer: str = "") -> LocalPair:
        """ast_request("Local/…"): the two halves' Newchannel, ;1 Down, ;2 Ring,
        both with the requestor's Linkedid and caller id."""
        exten, context, opts = parse_local(interface)
        base = f"Local/{exten}@{context}-{self._chan + 1:08x}"
        kw = dict(linkedid=requestor.linkedid, context=context, exten=exten, device=interface)
        one = self.new_channel("Local", requestor.cid_num, requestor.cid_name, name=base + ";1", state=0, **kw)
        two = self.new_channel("Local", requestor.cid_num, requestor.cid_name, name=base + ";2", state=4,
                               conn_num=requestor.cid_num, conn_name=requestor.cid_name, **kw)  # fmt: skip
        pair = LocalPair(one, two, exten, context, optimize="n" not in opts, first_writer=first_writer or self.local_first_writer)
        one.local = two.local = pair
        # A Local interface's own device state: in use while a Local channel to it exists.
        self._device(interface, INUSE)
        return pair

    def _local_call(self, pair: LocalPair) -> None:
        """ast_call() on ;1: LocalBridge, then ;2 starts at exten@context."""
        one, two = pair.one, pair.two
        self.emit(
            "LocalBridge",
            "call",
            one.snapshot("LocalOne") + two.snapshot("LocalTwo")
            + [("Context", pair.context), ("Exten", pair.exten), ("LocalOptimization", "Yes" if pair.optimize else "No")],
        )  # fmt: skip

    def _local_answered(self, pair: LocalPair) -> None:
        """;2 was answered (its Dial bridged it to the phone): ;1 answers the dialler."""
        self._newstate(pair.two, 6)
        self._newstate(pair.one, 6)

    def _local_optimize(self, pair: LocalPair) -> bool:
        """Both halves in two-party bridges: move the real channel across,
        as bridge.c's try_swap_optimize_out does.  True if it happened."""
        one, two = pair.one, pair.two
        if not pair.optimize or not self.local_media or one.bridge is None or two.bridge is None:
            return False
        chan = one if pair.first_writer == "one" else two
        peer = two if chan is one else one
        chan_bridge, peer_bridge = chan.bridge, peer.bridge
        assert chan_bridge is not None and peer_bridge is not None
        if chan_bridge.swap_inhibit_from or peer_bridge.swap_inhibit_from:
            # Only one way: out of the bridge that gives channels away.
            to_peer = len(chan_bridge.channels) == 2 and not chan_bridge.swap_inhibit_from
            to_chan = not to_peer and len(peer_bridge.channels) == 2 and not peer_bridge.swap_inhibit_from
        else:
            to_peer = len(chan_bridge.channels) == 2
            to_chan = not to_peer and len(peer_bridge.channels) == 2
        if to_peer:
            dst_bridge, dst_half, src_bridge, src_half = peer_bridge, peer, chan_bridge, chan
        elif to_chan:
            dst_bridge, dst_half, src_bridge, src_half = chan_bridge, chan, peer_bridge, peer
        else:
            return False
        other = next((c for c in src_bridge.channels if c is not src_half), None)
        if other is None:
            return False
        self._optimisations += 1
        oid = str(self._optimisations)
        halves = one.snapshot("LocalOne") + two.snapshot("LocalTwo")
        # DestUniqueId is meant to name the half being replaced, but
        # local_message_to_ami compares a JSON pointer with AST_UNREAL_OWNER,
        # so Asterisk always sends the ;2 half's (real 20.20.1/22.10.1 captures).
        self.emit("LocalOptimizationBegin", "call", halves + other.snapshot("Source") + [("DestUniqueId", two.uniqueid), ("Id", oid)])
        self._bridge_leave(src_bridge, other)
        self._bridge_leave(dst_bridge, dst_half)
        self._bridge_enter(dst_bridge, other, swap=dst_half.uniqueid)
        self.emit("LocalOptimizationEnd", "call", halves + [("Success", "Yes"), ("Id", oid)])
        self._optimised(pair, other, dst_half)
        # The half left behind leaves its bridge, which dissolves, and the pair
        # goes the way the captures show for each side.
        one.local = two.local = None
        pair.optimize = False
        if chan is two:  # ;2 asked: its Dial() returns, [agents] hangs it up, ;1 follows
            if two.bridge is not None:
                self._bridge_leave(two.bridge, two)
                self._bridge_destroy(src_bridge)
            self._hangup_request(two, 16, soft=True)
            self._hangup_request(one, 16)
            self._hangup(two, 16)
            self._hangup(one, 16)
        else:  # ;1 asked: it is hung up first; ;2 gets the request, then its Dial() returns
            self._hangup_request(two, 16)
            if two.bridge is not None:
                self._bridge_leave(two.bridge, two)
            if one.bridge is not None:
                self._bridge_leave(one.bridge, one)
            self._bridge_destroy(src_bridge)
            one.dying = True
            self._hangup(one, 16)
            self._chan_event("SoftHangupRequest", two, [("Cause", "16")])
            self._hangup(two, 16)
        self._device_refresh(one.device)
        return True

    def _optimised(self, pair: LocalPair, moved: Channel, replaced: Channel) -> None:
        """Whoever watches `replaced` now watches `moved` (app_queue: connect.py)."""

    def _local_going(self, pair: LocalPair, half: Channel) -> None:
        """One half is hanging up (local_hangup): the other half gets a
        HangupRequest before the first one's Hangup event."""
        other = pair.two if half is pair.one else pair.one
        if other.alive and not other.dying:
            self._hangup_request(other, 16)

    def _local_gone(self, pair: LocalPair, half: Channel) -> None:
        """The other half then leaves its bridge and goes; the Local device
        is free once both are gone."""
        other = pair.two if half is pair.one else pair.one
        if other.alive:
            self._gone(other, 16)
        if not pair.one.alive and not pair.two.alive:
            self._device_refresh(pair.one.device)
