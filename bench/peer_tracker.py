"""Our call tracker beside cacofonisk's (VoIPGRID, MIT, on PyPI), on the
same simulator capture, in the same run.

    .venv/bin/python bench/peer_tracker.py [--agents 100] [--hours 2] [--repeat 5]

Three ways through the same bytes (64 KiB chunks):
1. baseline: panoramisk 1.4's AMIProtocol.data_received, dispatching each
   Message to nothing;
2. cacofonisk's live path: the same panoramisk parsing, each Message handed
   to cacofonisk's EventHandler (what its AmiRunner does), with a reporter
   that only counts;
3. ours: the bridge's EventStream (split, skip unused events unread, parse,
   normalise) and Core.apply (tracker, queue ACD, agents, KPIs), whose
   facts are counted the same way.
Printed: AMI frames/s, median and slowest run, and the ratios.
"""

from __future__ import annotations

import argparse
import gc
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from panoramisk.ami_protocol import AMIProtocol  # noqa: E402
from replay import _Factory, capture, chunks, config  # noqa: E402

from callcenter.acd.core import Core  # noqa: E402
from callcenter.ami.normaliser import EventStream  # noqa: E402


class _Counting:
    """A cacofonisk reporter that counts what it is told."""

    def __init__(self) -> None:
        self.n = 0

    FACTS = {"on_b_dial", "on_b_dial_end", "on_up", "on_attended_transfer", "on_blind_transfer", "on_blonde_transfer", "on_hangup"}

    def __getattr__(self, name: str):  # on_b_dial, on_up, on_hangup ... (and on_event, set_timestamp: not counted)
        def count(*_a: object, **_k: object) -> None:
            if name in self.FACTS:
                self.n += 1

        return count


class _Cacofonisk(_Factory):
    def __init__(self) -> None:
        super().__init__()
        from cacofonisk import EventHandler

        self.reporter = _Counting()
        self.handler = EventHandler(self.reporter, logger=logging.getLogger("cacofonisk.bench"))
        self.wanted = set(EventHandler.event_handlers())

    def dispatch(self, message: object) -> None:
        self.events += 1
        if message.get("Event") in self.wanted:  # type: ignore[attr-defined]
            # The shipped dialplan's UserEvent(CcRoute,Uniqueid: ...) repeats
            # the channel's Uniqueid header (as a real Asterisk sends it);
            # panoramisk makes that a list, which cacofonisk cannot index by.
            for k, v in list(message.items()):  # type: ignore[attr-defined]
                if isinstance(v, list):
                    message[k] = v[0]  # type: ignore[index]
            self.handler.on_event(message)


def panoramisk(data: list[bytes], factory: _Factory) -> _Factory:
    proto = AMIProtocol()
    proto.connection_made(None)
    proto.factory = factory
    proto.encoding = "utf-8"
    for chunk in data:
        proto.data_received(chunk)
    return factory


def ours(data: list[bytes]) -> tuple[int, int]:
    core, stream, last, facts = Core(config()), EventStream(), 0.0, 0
    for chunk in data:
        for e in stream.feed(chunk, last):
            last = e.ts  # type: ignore[union-attr]
            facts += sum(1 for f in core.apply(e).facts if type(f).__name__ != "ChannelGone")  # type: ignore[arg-type]
    assert core.stats["errors"] == 0, core.last_error
    return stream.frames, facts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, default=100)
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    logging.getLogger("cacofonisk.bench").setLevel(logging.CRITICAL)
    path = capture(args.agents, args.hours, seed=7, profile="hotline")
    data = chunks(path)
    frames = sum(c.count(b"\r\n\r\n") for c in data)
    print(f"capture: {args.agents} agents, {args.hours:g} h, {frames:,} AMI frames, {sum(map(len, data)) / 1e6:.1f} MB")
    raw, caco, mine = [], [], []
    for _ in range(args.repeat):
        gc.collect()
        t = time.perf_counter()
        panoramisk(data, _Factory())
        raw.append(frames / (time.perf_counter() - t))
        gc.collect()
        t = time.perf_counter()
        c = panoramisk(data, _Cacofonisk())
        caco.append(frames / (time.perf_counter() - t))
        gc.collect()
        t = time.perf_counter()
        _, facts = ours(data)
        mine.append(frames / (time.perf_counter() - t))
    print(f"  cacofonisk reported {c.reporter.n:,} call events; our tracker {facts:,} facts")  # type: ignore[attr-defined]
    m = {k: statistics.median(v) for k, v in (("raw", raw), ("caco", caco), ("ours", mine))}
    print(f"\nAMI frames/s over {args.repeat} runs: median (slowest run)")
    print(f"  baseline  panoramisk parse only                 {m['raw']:>10,.0f} ({min(raw):,.0f})")
    print(f"  cacofonisk panoramisk + EventHandler            {m['caco']:>10,.0f} ({min(caco):,.0f})")
    print(f"  ours      EventStream + Core (tracker, ACD, KPIs){m['ours']:>9,.0f} ({min(mine):,.0f})")
    print(f"  ratio     ours / cacofonisk                     {m['ours'] / m['caco']:>10.2f}x")
    print(f"  ratio     ours / raw panoramisk                 {m['ours'] / m['raw']:>10.2f}x")


if __name__ == "__main__":
    main()
