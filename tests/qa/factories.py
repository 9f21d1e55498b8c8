"""Calls and recordings made the way the ACD service and MixMonitor make
them: a CallRecord row and a stereo WAV (left caller, right agent)."""

from __future__ import annotations

import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from callcenter.acd.models import CallRecord, Outcome
from callcenter.db import Database


def write_wav(path: Path, seconds: float, rate: int = 8000, channels: int = 2) -> Path:
    """Speech-like stereo audio: the caller talks in the first half of
    each 10 s, the agent in the second, so the two lanes differ."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    phase = (t % 10) < 5
    caller = (np.sin(2 * np.pi * 220 * t) * 12000 * phase).astype("<i2")
    agent = (np.sin(2 * np.pi * 330 * t) * 8000 * ~phase).astype("<i2")
    data = np.stack([caller, agent], axis=1) if channels == 2 else caller[:, None]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data.tobytes())
    return path


T0 = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def timeline(entered: datetime, wait: float, talk: float, hold_at: float | None = None) -> list[dict[str, Any]]:
    e = entered.timestamp()
    a = e + wait
    tl = [{"t": e, "kind": "queued"}, {"t": a - 4, "kind": "ringing", "agent": "x"}, {"t": a, "kind": "answered"}]
    if hold_at is not None:
        tl += [{"t": a + hold_at, "kind": "hold"}, {"t": a + hold_at + 10, "kind": "unhold"}]
    tl.append({"t": a + talk, "kind": "hangup"})
    return tl


async def make_call(
    db: Database,
    call_id: str,
    agent: str | None = "PJSIP/8001",
    recording_file: str | None = None,
    entered_at: datetime = T0,
    talk_s: float = 120.0,
    wait_s: float = 12.0,
    queue: str = "repairs",
    outcome: Outcome = Outcome.answered,
    **extra: Any,
) -> CallRecord:
    answered = entered_at + timedelta(seconds=wait_s) if outcome == Outcome.answered else None
    rec = CallRecord(
        call_id=call_id,
        uniqueid=f"{call_id}.1",
        queue=queue,
        caller_number=extra.pop("caller_number", "13800138000"),
        caller_name=extra.pop("caller_name", "李先生"),
        entered_at=entered_at,
        answered_at=answered,
        ended_at=entered_at + timedelta(seconds=wait_s + talk_s),
        wait_s=wait_s,
        talk_s=talk_s if answered else 0.0,
        agent=agent,
        agent_name=extra.pop("agent_name", "王静"),
        outcome=outcome,
        recording_file=recording_file,
        timeline=extra.pop("timeline", timeline(entered_at, wait_s, talk_s, hold_at=30)),
        **extra,
    )
    async with db.sessions() as s:
        s.add(rec)
        await s.commit()
        await s.refresh(rec)
    return rec
