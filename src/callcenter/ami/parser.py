"""AMI framing and header parsing, incremental and defensive.

Why not panoramisk 1.4's parser: it decodes every TCP chunk on its own with
``errors='ignore'``, so a Chinese CallerIDName whose bytes straddle two reads
silently loses characters; its buffer grows without bound if a peer never
sends the blank line; and it builds a case-insensitive dict for every event,
including the large majority we throw away.  Here framing happens on bytes
(the frame separator is ASCII, so a multi-byte character can never be cut),
each complete frame is decoded once as UTF-8, and callers can look at the
event name before paying for a full parse.

A frame is the text between blank lines.  Asterisk sends CRLF; the first
line of a stream decides the line ending, so LF-only captures (panoramisk's
``.yaml`` fixtures) go through the same code.  The banner
(``Asterisk Call Manager/7.0.3``), which is not followed by a blank line, is
recognised and taken off.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter

log = logging.getLogger("callcenter.ami")

MALFORMED = Counter(
    "callcenter_ami_malformed_total",
    "AMI input skipped because it could not be used (kind: frame, line, oversized_frame, oversized_header, utf8, value)",
    ["kind"],
)

MAX_FRAME_BYTES = 1 << 20  # no AMI message we use comes close; a runaway peer does
MAX_HEADER_BYTES = 16 << 10


class Problems:
    """Counts what was skipped and logs it without flooding: the first few of
    each kind in full, then every 1000th."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def report(self, kind: str, detail: str) -> None:
        n = self.counts.get(kind, 0) + 1
        self.counts[kind] = n
        MALFORMED.labels(kind).inc()
        if n <= 5 or n % 1000 == 0:
            log.warning("AMI %s skipped (%d so far): %s", kind.replace("_", " "), n, detail[:200])


class FrameSplitter:
    """Bytes in, complete frames (bytes, without the separator) out."""

    def __init__(self, max_frame: int = MAX_FRAME_BYTES, problems: Problems | None = None) -> None:
        self.max_frame = max_frame
        self.problems = problems or Problems()
        self.version: str | None = None
        self.eol: bytes = b"\r\n"
        self._sep: bytes | None = None  # set once the first line is seen
        self._buf = b""
        self._scan = 0  # where the separator search resumes in _buf
        self._discarding = False

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf + data if self._buf else data
        if self._sep is None:
            nl = buf.find(b"\n")
            if nl < 0:
                self._buf = self._guard(buf)
                return []
            self.eol = b"\r\n" if nl and buf[nl - 1] == 13 else b"\n"
            self._sep = self.eol + self.eol
            first = buf[:nl].rstrip(b"\r")
            if b":" not in first and first:  # the banner, not a header
                self.version = first.decode("utf-8", "replace").rpartition("/")[2].strip() or None
                buf = buf[nl + 1 :]
        sep = self._sep
        eol = self.eol
        frames: list[bytes] = []
        start = 0
        while buf.startswith(eol, start):  # blank lines before a frame
            start += len(eol)
        pos = max(self._scan, start)
        while True:
            i = buf.find(sep, pos)
            if i < 0:
                break
            if self._discarding:
                self._discarding = False
            elif i - start > self.max_frame:
                self.problems.report("oversized_frame", f"{i - start} bytes: {buf[start:start + 80]!r}")
            elif i > start:
                frames.append(buf[start:i])
            start = i + len(sep)
            while buf.startswith(eol, start):
                start += len(eol)
            pos = start
        rest = buf[start:] if start else buf
        self._scan = max(0, len(rest) - len(sep) + 1)
        self._buf = self._guard(rest)
        return frames

    def _guard(self, rest: bytes) -> bytes:
        """A frame that grows past the limit is dropped up to its end."""
        if len(rest) <= self.max_frame:
            return rest
        if not self._discarding:
            self._discarding = True
            self.problems.report("oversized_frame", f"more than {self.max_frame} bytes without a blank line: {rest[:80]!r}")
        keep = rest[-3:]
        self._scan = 0
        return keep

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame held back."""
        return len(self._buf)


def event_name(frame: bytes) -> bytes | None:
    """The Event header's value if it is the first line (as Asterisk sends
    it), without decoding the frame."""
    if frame.startswith(b"Event: "):
        j = frame.find(b"\n", 7)
        name = frame[7:] if j < 0 else frame[7:j]
        return name.rstrip(b"\r ")
    return None


def header_value(frame: bytes, key: bytes, eol: bytes = b"\r\n") -> bytes | None:
    """One header's raw value found by a byte search; ``key`` like b"Variable"."""
    needle = eol + key + b": "
    i = frame.find(needle)
    if i < 0:
        return None
    i += len(needle)
    j = frame.find(eol, i)
    return frame[i:] if j < 0 else frame[i:j]


def parse_headers(
    frame: bytes,
    eol: bytes = b"\r\n",
    problems: Problems | None = None,
    max_header: int = MAX_HEADER_BYTES,
) -> dict[str, str | list[str]]:
    """Decode one frame into its headers.  Keys keep Asterisk's spelling; a
    repeated key (ChanVariable, Output) becomes a list in arrival order.
    Lines that are not ``Key: Value`` are counted and skipped; the rest of
    the frame is kept, so one bad line never costs an event."""
    try:
        text = frame.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = frame.decode("utf-8", "replace")
        if problems:
            problems.report("utf8", f"{exc}; decoded with U+FFFD replacements")
    lf_only = eol == b"\n"
    if not lf_only and len(text) <= max_header and not text.startswith("Response: Follows"):
        # Fast path, the usual frame: every line "Key: Value", no repeats.
        pairs = [line.split(": ", 1) for line in text.split("\r\n")]
        try:
            fast = dict(pairs)  # type: ignore[arg-type]
        except ValueError:  # a line without ": "
            pass
        else:
            if len(fast) == len(pairs):
                return fast
    # Pre-14 Command replies carry raw output lines; keep them as Output.
    follows = text.startswith("Response: Follows")
    headers: dict[str, str | list[str]] = {}
    bad: list[str] = []
    for line in text.split("\n" if lf_only else "\r\n"):
        if lf_only and line.endswith("\r"):
            line = line[:-1]
        k, sep, v = line.partition(": ")
        if not sep:
            k, sep, v = line.partition(":")  # "Key:" with an empty value
            if not sep or not k or " " in k:
                if follows:
                    k, v = "Output", line
                elif line.strip():
                    bad.append(line)
                    continue
                else:
                    continue
        if len(line) > max_header:
            if problems:
                problems.report("oversized_header", f"{k}: {len(line)} characters")
            continue
        old = headers.get(k)
        if old is None:
            headers[k] = v
        elif isinstance(old, list):
            old.append(v)
        else:
            headers[k] = [old, v]
    if bad and headers and problems:  # a frame of nothing but junk is one bad frame
        for line in bad:
            problems.report("line", repr(line))
    return headers


def get(headers: dict[str, str | list[str]], key: str) -> str:
    """A header as one string; tolerant of case (Asterisk 11's ``UniqueID``)
    and of an accidental repeat (the first value wins)."""
    v = headers.get(key)
    if v is None:
        low = key.lower()
        for k, val in headers.items():
            if k.lower() == low:
                v = val
                break
        else:
            return ""
    if isinstance(v, list):
        return v[0] if v else ""
    return v
