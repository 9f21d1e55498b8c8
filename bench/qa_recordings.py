"""QA recordings: waveform peaks of a one-hour call, and HTTP Range latency.

    .venv/bin/python bench/qa_recordings.py

Peaks are compared with just reading the file (the floor any peak
computation pays); range requests with /healthz on the same server (the
framework's floor).  Prints medians, p99s and the ratios.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
import wave
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from callcenter.acd.models import CallRecord, Outcome  # noqa: E402
from callcenter.auth.models import Role, User  # noqa: E402
from callcenter.auth.service import hash_password, issue_token  # noqa: E402
from callcenter.config import load_settings  # noqa: E402
from callcenter.db import Base, Database, import_all_models  # noqa: E402
from callcenter.qa.recordings import compute_peaks  # noqa: E402
from tests.livesrv import LiveServer  # noqa: E402

HOUR = 3600


def write_hour(path: Path, rate: int = 8000) -> None:
    """One hour of stereo 16-bit audio, written a minute at a time."""
    rng = np.random.default_rng(1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        for _ in range(60):
            n = 60 * rate
            w.writeframes((rng.normal(0, 3000, (n, 2))).clip(-32768, 32767).astype("<i2").tobytes())


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def report(name: str, xs: list[float], unit: str = "ms") -> float:
    med = statistics.median(xs)
    print(f"  {name:<34} median {med:8.2f} {unit}   p99 {pct(xs, 99):8.2f} {unit}   (n={len(xs)})")
    return med


def bench_peaks(path: Path, runs: int = 7) -> None:
    print(f"peaks of a one-hour stereo 8 kHz WAV ({path.stat().st_size / 1e6:.0f} MB):")
    read, peaks = [], []
    for _ in range(runs):
        t = time.perf_counter()
        with open(path, "rb") as f:
            while f.read(1 << 20):
                pass
        read.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        data = compute_peaks(path)
        peaks.append((time.perf_counter() - t) * 1000)
    a = report("baseline: read the file", read)
    b = report("compute_peaks", peaks)
    print(f"  ratio peaks/read: {b / a:.2f}x; {len(data['peaks'][0])} buckets per lane")


async def bench_ranges(root: Path, n: int = 300) -> None:
    url = f"sqlite+aiosqlite:///{root}/bench.db"
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with db.sessions() as s:
        user = User(username="qa", display_name="QA", role=Role.qa, password_hash=hash_password("x" * 12))
        s.add(user)
        s.add(CallRecord(call_id="c1", uniqueid="u1", queue="q", entered_at=datetime.now(UTC), outcome=Outcome.answered, agent="PJSIP/1", recording_file="hour.wav"))
        await s.commit()
        await s.refresh(user)
    await db.dispose()
    settings = load_settings(database_url=url, recordings_dir=root, jwt_secret="bench-secret-0123456789abcdefghijkl", ami_enabled=False, log_level="WARNING")
    token = issue_token(user, settings.jwt_secret, 3600)
    srv = LiveServer(settings).start()
    size = (root / "hour.wav").stat().st_size
    rng = random.Random(3)
    try:
        async with httpx.AsyncClient(base_url=srv.url, headers={"Authorization": f"Bearer {token}"}) as c:
            await c.get("/healthz")
            health, first, seek = [], [], []
            for _ in range(n):
                t = time.perf_counter()
                await c.get("/healthz")
                health.append((time.perf_counter() - t) * 1000)
                start = rng.randrange(0, size - 65536)
                t = time.perf_counter()
                r = await c.get("/api/qa/calls/c1/audio", headers={"Range": f"bytes={start}-{start + 65535}"})
                seek.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 206 and len(r.content) == 65536
            for _ in range(50):
                t = time.perf_counter()
                r = await c.get("/api/qa/calls/c1/audio", headers={"Range": "bytes=0-65535"})
                first.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 206
    finally:
        srv.stop()
    print(f"HTTP Range on the one-hour file (64 KiB per request, {n} requests, loopback, SQLite):")
    a = report("baseline: GET /healthz", health)
    b = report("seek: random range", seek)
    c_ = report("open: bytes=0- (audit check)", first)
    print(f"  ratio seek/healthz: {b / a:.2f}x; open/healthz: {c_ / a:.2f}x")


def main() -> None:
    import_all_models()
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        t = time.perf_counter()
        write_hour(root / "hour.wav")
        print(f"(wrote the test file in {time.perf_counter() - t:.1f} s)")
        bench_peaks(root / "hour.wav")
        asyncio.run(bench_ranges(root))


if __name__ == "__main__":
    main()
