"""Recording files: finding a call's file safely, waveform peaks, retention.

A request never names a file.  It names a call; the file name comes from
the call record (written by the ACD service from MIXMONITOR_FILENAME) and
is resolved strictly inside `settings.recordings_dir`, symlinks included.
"""

from __future__ import annotations

import logging
import math
import mimetypes
import os
import time
import wave
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.qa.models import RecordingPeaks

log = logging.getLogger("callcenter.qa.recordings")

# What MixMonitor and the usual converters write.  Retention deletes only
# these, so a stray config file or our own cache is never touched.
AUDIO_SUFFIXES = {".wav", ".wav49", ".gsm", ".mp3", ".ogg", ".opus", ".sln", ".sln16", ".ulaw", ".alaw", ".g722", ".flac", ".m4a"}
CONTENT_TYPES = {
    ".wav": "audio/wav",
    ".wav49": "audio/wav",
    ".gsm": "audio/x-gsm",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
}
# Peaks per second of audio, capped so a long call stays a small JSON.
PEAKS_PER_S = 20
MAX_BUCKETS = 12_000


class RecordingRefused(Exception):
    """The stored file name points outside the recordings directory."""


def resolve(recordings_dir: Path, recording_file: str) -> Path:
    """The file for a stored name, or RecordingRefused if it would leave
    the recordings directory (absolute paths elsewhere, '..', symlinks
    pointing out).  Absolute names inside the directory are accepted:
    MixMonitor is usually given a full path."""
    root = recordings_dir.resolve()
    if not recording_file or "\x00" in recording_file:
        raise RecordingRefused("empty or invalid recording file name")
    candidate = Path(recording_file)
    if not candidate.is_absolute():
        candidate = root / candidate
    real = candidate.resolve()
    if real == root or not real.is_relative_to(root):
        raise RecordingRefused(f"recording file {recording_file!r} is outside the recordings directory")
    return real


def content_type(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


# --- waveform peaks -----------------------------------------------------------


def compute_peaks(path: Path) -> dict[str, Any]:
    """Peak amplitude per bucket and channel, 0..100, from a PCM WAV.

    Read in chunks so a one-hour file never sits in memory whole.  Stereo
    MixMonitor files (r/t split) give two lanes: left caller, right agent.
    Raises ValueError for anything that is not PCM WAV.
    """
    try:
        w = wave.open(str(path), "rb")
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a PCM WAV file: {exc}") from None
    with w:
        channels, width, rate, frames = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
        if width not in (1, 2, 4) or rate <= 0:
            raise ValueError(f"unsupported WAV sample width {width}")
        duration = frames / rate
        buckets = max(1, min(MAX_BUCKETS, math.ceil(duration * PEAKS_PER_S)))
        per_bucket = max(1, math.ceil(frames / buckets))
        buckets = math.ceil(frames / per_bucket) if frames else 1
        dtype = {1: np.uint8, 2: np.dtype("<i2"), 4: np.dtype("<i4")}[width]
        full_scale = {1: 128.0, 2: 32768.0, 4: 2147483648.0}[width]
        out = np.zeros((buckets, channels), dtype=np.float32)
        chunk_buckets = max(1, 1_000_000 // per_bucket)
        b = 0
        while b < buckets:
            raw = w.readframes(per_bucket * chunk_buckets)
            if not raw:
                break
            a = np.frombuffer(raw, dtype=dtype)
            a = a[: (len(a) // channels) * channels].reshape(-1, channels)
            if width == 1:
                a = a.astype(np.int16) - 128
            whole = len(a) // per_bucket
            n = whole + (len(a) % per_bucket > 0)
            # Peak = max(max, -min) per bucket, one contiguous channel at a
            # time: reducing along interleaved frames is ~20x slower.
            for c in range(channels):
                lane = np.ascontiguousarray(a[:, c])
                if whole:
                    blocks = lane[: whole * per_bucket].reshape(whole, per_bucket)
                    peak = np.maximum(blocks.max(axis=1).astype(np.float32), -blocks.min(axis=1).astype(np.float32))
                    out[b : b + whole, c] = peak[: buckets - b]
                if n > whole and b + whole < buckets:
                    out[b + whole, c] = np.abs(lane[whole * per_bucket :].astype(np.float32)).max()
            b += n
    scaled = np.minimum(100, np.round(out / full_scale * 100)).astype(int)
    return {
        "duration_s": round(duration, 3),
        "channels": channels,
        "sample_rate": rate,
        "bucket_s": per_bucket / rate,
        "peaks": [scaled[:, c].tolist() for c in range(channels)],
    }


async def peaks_for(session: AsyncSession, recordings_dir: Path, recording_file: str) -> dict[str, Any]:
    """Cached peaks of a call's file (computed off the event loop the
    first time, and again only if the file changed)."""
    import asyncio

    path = resolve(recordings_dir, recording_file)
    st = path.stat()
    row = (
        await session.execute(select(RecordingPeaks).where(RecordingPeaks.recording_file == recording_file))
    ).scalar_one_or_none()
    if row is not None and row.size == st.st_size and abs(row.mtime - st.st_mtime) < 1e-3:
        return row.data
    started = time.perf_counter()
    data = await asyncio.to_thread(compute_peaks, path)
    log.info(
        "waveform peaks computed",
        extra={"file": recording_file, "ms": round((time.perf_counter() - started) * 1000, 1), "duration_s": data["duration_s"]},
    )
    if row is None:
        session.add(RecordingPeaks(recording_file=recording_file, size=st.st_size, mtime=st.st_mtime, data=data))
    else:
        row.size, row.mtime, row.data = st.st_size, st.st_mtime, data
    try:
        await session.commit()
    except IntegrityError:  # another request cached the same file first: same result
        await session.rollback()
    return data


# --- retention --------------------------------------------------------------


@dataclass
class Purged:
    files: list[str]
    bytes: int


def expired_files(recordings_dir: Path, retention_days: int, now: datetime) -> list[Path]:
    """Recordings (by suffix) whose last write is older than the retention
    period.  Hidden entries and non-audio files are never candidates."""
    if retention_days <= 0 or not recordings_dir.is_dir():
        return []
    cutoff = (now - timedelta(days=retention_days)).timestamp()
    out = []
    for dirpath, dirnames, filenames in os.walk(recordings_dir):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            p = Path(dirpath) / name
            if name.startswith(".") or p.suffix.lower() not in AUDIO_SUFFIXES or p.is_symlink():
                continue
            try:
                if p.stat().st_mtime < cutoff:
                    out.append(p)
            except FileNotFoundError:
                continue
    return sorted(out)


async def purge(
    session: AsyncSession, recordings_dir: Path, retention_days: int, now: datetime, dry_run: bool = False
) -> Purged:
    """Delete expired recordings and their cached peaks; log each file."""
    files = expired_files(recordings_dir, retention_days, now)
    root = recordings_dir.resolve()
    removed, total = [], 0
    for p in files:
        rel = str(p.resolve().relative_to(root))
        size = p.stat().st_size
        if not dry_run:
            try:
                p.unlink()
            except FileNotFoundError:
                continue
            log.info("recording removed by retention", extra={"file": rel, "bytes": size, "days": retention_days})
        removed.append(rel)
        total += size
    if removed and not dry_run:
        names = set(removed) | {str(root / r) for r in removed}
        await session.execute(delete(RecordingPeaks).where(RecordingPeaks.recording_file.in_(names)))
        await session.commit()
    return Purged(removed, total)
