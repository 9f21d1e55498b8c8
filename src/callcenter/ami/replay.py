"""Replay a saved AMI capture through the live bridge's parser and
normaliser, as fast as the CPU allows.

Accepted captures:
- raw AMI text as it came off the wire (CRLF), e.g. a simulator recording
  or ``save_stream`` output; LF-only text too (panoramisk's ``.yaml``
  fixtures, which also hold the actions that were sent: those are skipped);
- a JSON list of event objects (cacofonisk's fixtures, i.e. panoramisk
  Messages as dicts), converted to wire text exactly like
  shared/tools/json2ami.py does.

Event time is the ``Timestamp`` header; captures without it (cacofonisk)
get the last timestamp seen, else 0.0, so a replay is deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from callcenter.acd.events import Event
from callcenter.ami.normaliser import EventStream, Headers
from callcenter.ami.parser import FrameSplitter, Problems, parse_headers

CHUNK = 64 << 10


def json_to_wire(events: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """One CRLF frame per event: Event first, Privilege second, the rest in
    order; lists are repeated headers; panoramisk's 'content' key dropped."""
    for raw in events:
        e = dict(raw)
        e.pop("content", None)
        lines = [f"Event: {e.pop('Event')}"]
        if "Privilege" in e:
            lines.append(f"Privilege: {e.pop('Privilege')}")
        for k, v in e.items():
            if isinstance(v, list):
                lines.extend(f"{k}: {x}" for x in v)
            else:
                lines.append(f"{k}: {v}")
        yield ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def _chunks(path: Path) -> Iterator[bytes]:
    """The capture as wire bytes, in read-sized pieces."""
    with open(path, "rb") as f:
        head = f.read(CHUNK)
        if head.lstrip()[:1] in (b"[", b"{"):
            # Numbers stay text: a Uniqueid like 1529939196.510 must not become a float.
            data = json.loads(head + f.read(), parse_float=str, parse_int=str)
            if not isinstance(data, list):
                raise ValueError(f"{path}: a JSON capture must be a list of events")
            yield from json_to_wire(data)
            return
        while head:
            yield head
            head = f.read(CHUNK)
    yield b"\n\n"  # a capture may end without the last blank line


def iter_frames(path: str | Path, problems: Problems | None = None) -> Iterator[Headers]:
    """Every frame of the capture (events, responses, sent actions) as headers."""
    problems = problems or Problems()
    splitter = FrameSplitter(problems=problems)
    for chunk in _chunks(Path(path)):
        for frame in splitter.feed(chunk):
            yield parse_headers(frame, splitter.eol, problems)


def iter_capture(path: str | Path, stream: EventStream | None = None) -> Iterator[Event]:
    """The domain events the live bridge would have delivered for this
    capture, in order.  Pass ``stream`` to read its counters afterwards
    (frames, ignored, problems.counts)."""
    stream = stream or EventStream()
    last_ts = 0.0
    for chunk in _chunks(Path(path)):
        for event in stream.feed(chunk, last_ts):
            last_ts = event.ts  # type: ignore[union-attr]
            yield event  # type: ignore[misc]
