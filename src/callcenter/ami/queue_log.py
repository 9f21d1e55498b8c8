"""app_queue's own record, `queue_log`: one line per queue event, written by
Asterisk to /var/log/asterisk/queue_log and, with realtime (asterisk/
extconfig.conf), as rows of the `queue_log` table (callcenter.ami.models).

    <epoch>|<callid>|<queuename>|<agent>|<EVENT>|data1|data2|...

(main/logger.c ast_queue_log).  A realtime table with data1..data5 gets the
fields split on '|' into at most five columns, the fifth keeping the rest
("adaptive realtime"), and `time` as "%F %T.%6q" in UTC
(logger.conf queue_log_realtime_use_gmt = yes).  This module is the one
place that reads and writes both forms, for the simulator (which writes
what app_queue writes) and for the backfill after a blind window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class QueueLogRow:
    time: float  # epoch seconds (the file keeps whole seconds, the table microseconds)
    callid: str  # the caller's Uniqueid, or NONE / MANAGER / CLI / REALTIME
    queuename: str  # or NONE (PAUSEALL...)
    agent: str  # the member's name (log_membername_as_agent) or interface, or NONE
    event: str  # ENTERQUEUE, CONNECT, COMPLETECALLER, ...
    data: tuple[str, ...] = ()

    def line(self) -> str:
        """The queue_log file line (no newline)."""
        return f"{int(self.time)}|{self.callid}|{self.queuename}|{self.agent}|{self.event}|" + "|".join(self.data)

    def columns(self) -> dict[str, object]:
        """The realtime table row: data split into data1..data5, the last keeping the rest."""
        parts = list(self.data[:4]) + (["|".join(self.data[4:])] if len(self.data) > 4 else [])
        parts += [""] * (5 - len(parts))
        row: dict[str, object] = {
            "time": datetime.fromtimestamp(self.time, UTC).replace(tzinfo=None),
            "callid": self.callid,
            "queuename": self.queuename,
            "agent": self.agent,
            "event": self.event,
        }
        row.update({f"data{i + 1}": v for i, v in enumerate(parts)})
        return row


def parse_line(line: str) -> QueueLogRow:
    """One queue_log file line; ValueError if it is not one."""
    parts = line.rstrip("\r\n").split("|")
    if len(parts) < 5 or not parts[0].isdigit() or not parts[4]:
        raise ValueError(f"not a queue_log line: {line!r}")
    data = tuple(parts[5:])
    if data == ("",):  # "...|ADDMEMBER|" : one empty field, as Asterisk writes it
        data = ()
    return QueueLogRow(float(parts[0]), parts[1], parts[2], parts[3], parts[4], data)


def from_columns(row: dict[str, object]) -> QueueLogRow:
    """A realtime table row back into a QueueLogRow (trailing empty fields dropped)."""
    when = row["time"]
    ts = when.replace(tzinfo=UTC).timestamp() if isinstance(when, datetime) else float(str(when))
    data = [str(row.get(f"data{i}") or "") for i in range(1, 6)]
    while data and not data[-1]:
        data.pop()
    return QueueLogRow(ts, str(row["callid"]), str(row["queuename"]), str(row["agent"]), str(row["event"]), tuple(data))
