"""The hub's screen-pops: the card each agent sees while a call rings, is
talked and is wrapped up, with one customer lookup per call id shared by
every agent it rings (callcenter.realtime.screenpop does the lookup)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from callcenter.acd.core import ScreenPop
from callcenter.realtime.topics import AGENT_PREFIX

log = logging.getLogger("callcenter.realtime")


class ScreenPops:
    """Mixed into the Hub: uses its pops, lookups, core, _topic and _publish."""

    def _pop(self, pop: ScreenPop) -> None:
        topic_name = AGENT_PREFIX + pop.interface
        kept = self.pops.get(pop.interface)
        wrap = self._wrap_of(pop.interface) if pop.phase == "cleared" else None
        if kept is not None and kept["call_id"] == pop.call_id and wrap is not None and wrap["call_id"] == pop.call_id:
            # The call ended and its wrap-up began: the card stays, so the
            # agent writes the note with the caller in front of them.
            entry = self.pops[pop.interface] = {**kept, "phase": "wrap_up"}
            data: dict[str, Any] = {"pop": entry}
        elif pop.phase == "cleared":
            self.pops.pop(pop.interface, None)
            data = {"pop": {"call_id": pop.call_id, "phase": "cleared"}}
        else:
            call = (self.core.call_view(pop.call_id) if self.core else None) or {"call_id": pop.call_id}
            entry = {"call_id": pop.call_id, "phase": pop.phase, "call": call}
            if pop.call_id in self.lookups:
                entry["lookup"] = self.lookups[pop.call_id]
            else:
                entry["lookup"] = None
                self._start_lookup(pop.call_id, call)
            self.pops[pop.interface] = entry
            data = {"pop": entry}
        topic = self._topic(topic_name)
        if topic is not None:
            self._publish(topic, data)
        if pop.phase == "cleared" and not any(p["call_id"] == pop.call_id for p in self.pops.values()):
            # Keep the result a little: a ring-no-answer moves on to the next agent.
            if len(self.lookups) > 2000:
                for key in list(self.lookups)[:1000]:
                    self.lookups.pop(key, None)

    def _wrap_of(self, iface: str) -> dict[str, Any] | None:
        wrap_up_of = getattr(self.core, "wrap_up_of", None)
        return wrap_up_of(iface) if wrap_up_of is not None else None

    def _end_wrap_pop(self, iface: str) -> None:
        """A card kept through wrap-up goes when that wrap-up is over."""
        entry = self.pops.get(iface)
        if entry is None or entry["phase"] != "wrap_up":
            return
        wrap = self._wrap_of(iface)
        if wrap is not None and wrap["call_id"] == entry["call_id"]:
            return
        del self.pops[iface]
        topic = self._topic(AGENT_PREFIX + iface)
        if topic is not None:
            self._publish(topic, {"pop": {"call_id": entry["call_id"], "phase": "cleared"}})

    def refresh_pop(self, interface: str, call_id: str) -> bool:
        """Look the agent's pop up again (e.g. the caller was just created as a
        customer); False if the agent has no pop for that call."""
        entry = self.pops.get(interface)
        if entry is None or entry["call_id"] != call_id:
            return False
        if self.forward is not None:
            self.forward("refresh_pop", interface, call_id)
            return True
        self._start_lookup(call_id, entry["call"])
        return True

    def _start_lookup(self, call_id: str, call: dict[str, Any]) -> None:
        self.lookups[call_id] = None  # in flight: do not start another
        if self.lookup is None:
            return
        task = asyncio.get_running_loop().create_task(self._run_lookup(call_id, call))
        self._lookup_tasks.add(task)
        task.add_done_callback(self._lookup_tasks.discard)

    async def _run_lookup(self, call_id: str, call: dict[str, Any]) -> None:
        assert self.lookup is not None
        try:
            async with self._lookup_slots:
                if not any(e["call_id"] == call_id for e in self.pops.values()):
                    self.lookups.pop(call_id, None)  # the call left every screen while it waited: nobody to show it to
                    return
                result = await self.lookup(call_id, call)
        except Exception as exc:  # noqa: BLE001 - a failed lookup must not lose the pop
            log.warning("screen-pop lookup failed for %s: %s", call_id, exc)
            result = {"error": f"{type(exc).__name__}: {exc}"[:200], "customer": None}
        self.lookups[call_id] = result
        for iface, entry in self.pops.items():
            if entry["call_id"] == call_id:
                entry["lookup"] = result
                topic = self._topic(AGENT_PREFIX + iface)
                if topic is not None:
                    self._publish(topic, {"pop": entry})

