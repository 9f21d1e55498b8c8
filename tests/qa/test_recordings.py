"""Recording streaming (HTTP Range), safe file resolution, access, audit,
waveform peaks and retention."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from callcenter.auth.models import AuditEntry, Role
from callcenter.qa import recordings
from callcenter.qa.models import RecordingPeaks

from ..conftest import make_settings
from .factories import make_call, write_wav


@pytest.fixture
async def recorded(db, settings):  # noqa: ANN001, ANN201
    path = write_wav(settings.recordings_dir / "2026" / "11" / "c1.wav", 65)
    await make_call(db, "c1", recording_file="2026/11/c1.wav")
    return path


async def _audits(db, action="recording.play") -> int:  # noqa: ANN001
    async with db.sessions() as s:
        return await s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


async def test_range_requests(client, make_user, recorded):
    qa = await make_user(Role.qa)
    data = recorded.read_bytes()
    size = len(data)
    url = "/api/qa/calls/c1/audio"

    r = await client.get(url, headers={**qa.headers, "Range": "bytes=0-99"})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes 0-99/{size}"
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["content-type"] == "audio/wav"
    assert r.content == data[:100] and r.content[:4] == b"RIFF"

    mid = size // 2
    r = await client.get(url, headers={**qa.headers, "Range": f"bytes={mid}-{mid + 4095}"})
    assert r.status_code == 206 and r.content == data[mid : mid + 4096]

    r = await client.get(url, headers={**qa.headers, "Range": "bytes=-500"})
    assert r.status_code == 206 and r.content == data[-500:]
    assert r.headers["content-range"] == f"bytes {size - 500}-{size - 1}/{size}"

    r = await client.get(url, headers={**qa.headers, "Range": f"bytes={size + 10}-"})
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{size}"

    r = await client.get(url, headers=qa.headers)
    assert r.status_code == 200 and r.content == data and r.headers["accept-ranges"] == "bytes"

    r = await client.get(url + "?download=true", headers=qa.headers)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"] and "c1.wav" in r.headers["content-disposition"]


async def test_missing_file_and_missing_call(client, make_user, db, settings):
    qa = await make_user(Role.qa)
    await make_call(db, "gone", recording_file="gone.wav")
    await make_call(db, "norec", recording_file=None)
    r = await client.get("/api/qa/calls/gone/audio", headers=qa.headers)
    assert r.status_code == 404 and "missing" in r.json()["detail"]
    r = await client.get("/api/qa/calls/norec/audio", headers=qa.headers)
    assert r.status_code == 404 and "no recording" in r.json()["detail"]
    r = await client.get("/api/qa/calls/nosuch/audio", headers=qa.headers)
    assert r.status_code == 404


@pytest.mark.parametrize(
    "call_id",
    ["../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "....//....//etc/passwd", "/etc/passwd"],
)
async def test_traversal_in_call_id_never_reaches_the_filesystem(client, make_user, recorded, call_id):
    qa = await make_user(Role.qa)
    r = await client.get(f"/api/qa/calls/{call_id}/audio", headers=qa.headers)
    assert r.status_code == 404
    assert b"root:" not in r.content


@pytest.mark.parametrize(
    "stored",
    ["../../../../etc/passwd", "/etc/passwd", "2026/../../outside.wav", "link-out.wav", ""],
)
async def test_a_db_row_escaping_the_directory_is_refused(client, make_user, db, settings, tmp_path, stored):
    qa = await make_user(Role.qa)
    outside = write_wav(tmp_path / "outside.wav", 1)
    settings.recordings_dir.mkdir(parents=True, exist_ok=True)
    os.symlink(outside, settings.recordings_dir / "link-out.wav")
    await make_call(db, "evil", recording_file=stored or None)
    for path in ("audio", "peaks"):
        r = await client.get(f"/api/qa/calls/evil/{path}", headers=qa.headers)
        assert r.status_code in (403, 404), r.text
        assert b"root:" not in r.content and not r.content.startswith(b"RIFF")


def test_resolve_accepts_absolute_paths_inside(tmp_path):
    root = tmp_path / "rec"
    f = write_wav(root / "a" / "x.wav", 1)
    assert recordings.resolve(root, str(f)) == f.resolve()
    assert recordings.resolve(root, "a/x.wav") == f.resolve()
    for bad in ("..", ".", "a/../../x.wav", str(tmp_path / "x.wav"), "a/x.wav\x00.txt"):
        with pytest.raises(recordings.RecordingRefused):
            recordings.resolve(root, bad)


async def test_agents_play_their_own_calls_only_when_allowed(client, app, make_user, db, settings, recorded):
    mine = await make_user(Role.agent, interface="PJSIP/8001")
    other = await make_user(Role.agent, interface="PJSIP/8002")
    url = "/api/qa/calls/c1/audio"
    assert (await client.get(url, headers=mine.headers)).status_code == 403
    app.state.settings = make_settings(database_url=settings.database_url, recordings_dir=settings.recordings_dir, agents_can_play_own=True)
    assert (await client.get(url, headers=mine.headers)).status_code == 200
    assert (await client.get(url, headers=other.headers)).status_code == 403
    assert (await client.get("/api/qa/calls/c1/peaks", headers=other.headers)).status_code == 403


async def test_one_audit_row_per_playback_session(client, make_user, db, recorded):
    qa = await make_user(Role.qa)
    lead = await make_user(Role.team_lead, queues=[("repairs", 0)])
    url = "/api/qa/calls/c1/audio"
    # A player opening the file, then seeking twice: one session.
    for rng in ("bytes=0-", "bytes=200000-", "bytes=500000-"):
        assert (await client.get(url, headers={**qa.headers, "Range": rng})).status_code == 206
    assert await _audits(db) == 1
    # Re-opened within the session window: still one.
    await client.get(url, headers={**qa.headers, "Range": "bytes=0-"})
    assert await _audits(db) == 1
    # Another listener: their own row.
    await client.get(url, headers=lead.headers)
    assert await _audits(db) == 2
    # Every download is audited.
    await client.get(url + "?download=1", headers=qa.headers)
    await client.get(url + "?download=1", headers=qa.headers)
    assert await _audits(db, "recording.download") == 2
    async with db.sessions() as s:
        rows = list((await s.execute(select(AuditEntry).where(AuditEntry.action == "recording.play").order_by(AuditEntry.id))).scalars())
    assert [(r.actor, r.target) for r in rows] == [(qa.user.username, "c1"), (lead.user.username, "c1")]
    assert rows[0].details["file"] == "2026/11/c1.wav"
    # A session older than the window starts a new row.
    async with db.sessions() as s:
        rows[0].at = datetime.now(UTC) - timedelta(hours=1)
        s.add(rows[0])
        await s.merge(rows[0])
        await s.commit()
    await client.get(url, headers={**qa.headers, "Range": "bytes=0-1"})
    assert await _audits(db) == 3


async def test_refused_playback_is_not_audited_as_played(client, make_user, db, recorded):
    agent = await make_user(Role.agent, interface="PJSIP/8001")
    assert (await client.get("/api/qa/calls/c1/audio", headers=agent.headers)).status_code == 403
    assert await _audits(db) == 0


async def test_peaks_two_lanes_computed_once(client, make_user, db, recorded):
    qa = await make_user(Role.qa)
    r = await client.get("/api/qa/calls/c1/peaks", headers=qa.headers)
    assert r.status_code == 200
    p = r.json()
    assert p["channels"] == 2 and p["duration_s"] == pytest.approx(65, abs=0.01)
    caller, agent = p["peaks"]
    assert len(caller) == len(agent) == pytest.approx(65 * recordings.PEAKS_PER_S, abs=2)
    # Caller speaks 0-5 s of every 10, agent 5-10 s.
    per_s = recordings.PEAKS_PER_S
    assert max(caller[per_s : 4 * per_s]) > 30 and max(agent[per_s : 4 * per_s]) == 0
    assert max(agent[6 * per_s : 9 * per_s]) > 20 and max(caller[6 * per_s : 9 * per_s]) == 0
    async with db.sessions() as s:
        row = (await s.execute(select(RecordingPeaks))).scalar_one()
        row.data = {**row.data, "marker": True}
        await s.commit()
    again = (await client.get("/api/qa/calls/c1/peaks", headers=qa.headers)).json()
    assert again.get("marker") is True  # served from the cache, not recomputed
    # A rewritten file is recomputed.
    write_wav(recorded, 20)
    fresh = (await client.get("/api/qa/calls/c1/peaks", headers=qa.headers)).json()
    assert "marker" not in fresh and fresh["duration_s"] == pytest.approx(20, abs=0.01)


async def test_concurrent_first_peaks_requests_all_succeed(client, make_user, recorded):
    import asyncio

    qa = await make_user(Role.qa)
    rs = await asyncio.gather(*[client.get("/api/qa/calls/c1/peaks", headers=qa.headers) for _ in range(4)])
    assert [r.status_code for r in rs] == [200] * 4
    assert len({r.content for r in rs}) == 1


async def test_peaks_of_a_non_wav_recording(client, make_user, db, settings):
    qa = await make_user(Role.qa)
    settings.recordings_dir.mkdir(parents=True, exist_ok=True)
    (settings.recordings_dir / "x.mp3").write_bytes(b"ID3" + b"\0" * 500)
    await make_call(db, "mp3", recording_file="x.mp3")
    r = await client.get("/api/qa/calls/mp3/audio", headers={**qa.headers, "Range": "bytes=0-9"})
    assert r.status_code == 206 and r.headers["content-type"] == "audio/mpeg"
    r = await client.get("/api/qa/calls/mp3/peaks", headers=qa.headers)
    assert r.status_code == 415 and "no waveform" in r.json()["detail"]


async def test_retention_removes_only_old_recordings(db, settings):
    root = settings.recordings_dir
    old = write_wav(root / "old.wav", 1)
    old_nested = write_wav(root / "2026" / "01" / "old2.wav", 1)
    new = write_wav(root / "new.wav", 1)
    notes = root / "old-notes.txt"
    notes.write_text("keep me")
    hidden = root / ".cache" / "old.wav"
    write_wav(hidden, 1)
    past = time.time() - 40 * 86400
    for p in (old, old_nested, notes, hidden):
        os.utime(p, (past, past))
    now = datetime.now(UTC)
    async with db.sessions() as s:
        s.add(RecordingPeaks(recording_file="old.wav", size=1, mtime=1.0, data={}))
        await s.commit()
        dry = await recordings.purge(s, root, 30, now, dry_run=True)
        assert dry.files == ["2026/01/old2.wav", "old.wav"] and old.exists()
        assert (await recordings.purge(s, root, 0, now)).files == []  # 0 keeps everything
        done = await recordings.purge(s, root, 30, now)
        assert done.files == ["2026/01/old2.wav", "old.wav"] and done.bytes > 0
        assert await s.scalar(select(func.count()).select_from(RecordingPeaks)) == 0
    assert not old.exists() and not old_nested.exists()
    assert new.exists() and notes.exists() and hidden.exists()


@pytest.mark.parametrize("channels,width,seconds", [(1, 2, 7.3), (2, 2, 61.77), (2, 1, 3.01)])
def test_peaks_match_a_brute_force_computation(tmp_path, channels, width, seconds):
    import math
    import wave

    import numpy as np

    rate = 8000
    n = int(seconds * rate)
    rng = np.random.default_rng(7)
    if width == 2:
        data = rng.integers(-32768, 32767, (n, channels), dtype=np.int16)
        raw, centred, full = data.astype("<i2").tobytes(), data.astype(np.int64), 32768
    else:
        data = rng.integers(0, 255, (n, channels), dtype=np.uint8)
        raw, centred, full = data.tobytes(), data.astype(np.int64) - 128, 128
    path = tmp_path / "x.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(raw)
    got = recordings.compute_peaks(path)
    buckets = min(recordings.MAX_BUCKETS, math.ceil(seconds * recordings.PEAKS_PER_S))
    per = math.ceil(n / buckets)
    for c in range(channels):
        want = [min(100, round(np.abs(centred[i : i + per, c]).max() / full * 100)) for i in range(0, n, per)]
        assert got["peaks"][c] == want
    assert got["channels"] == channels and got["duration_s"] == pytest.approx(n / rate, abs=0.001)


async def test_agents_hear_the_call_they_are_evaluated_on(client, make_user, db, recorded):
    """Even with agents_can_play_own off, an agent hears their own call once
    it has an evaluation they can see (to acknowledge or dispute it)."""
    from callcenter.acd.models import CallRecord
    from callcenter.qa.models import EvalStatus, Evaluation
    from callcenter.qa.service import ensure_default_form

    mine = await make_user(Role.agent, interface="PJSIP/8001")
    other = await make_user(Role.agent, interface="PJSIP/8002")
    url = "/api/qa/calls/c1/audio"
    assert (await client.get(url, headers=mine.headers)).status_code == 403
    async with db.sessions() as s:
        form = await ensure_default_form(s)
        call = (await s.execute(select(CallRecord).where(CallRecord.call_id == "c1"))).scalar_one()
        ev = Evaluation(call_record_id=call.id, form_id=form.id, agent="PJSIP/8001", agent_user_id=mine.user.id, queue="repairs",
                        month="2026-11", status=EvalStatus.draft, answers={})  # fmt: skip
        s.add(ev)
        await s.commit()
        ev_id = ev.id
    assert (await client.get(url, headers=mine.headers)).status_code == 403  # a draft is not theirs to see yet
    async with db.sessions() as s:
        (await s.get(Evaluation, ev_id)).status = EvalStatus.submitted
        await s.commit()
    r = await client.get(url, headers=mine.headers)
    assert r.status_code == 200 and r.content.startswith(b"RIFF")
    assert (await client.get("/api/qa/calls/c1", headers=mine.headers)).json()["can_play"] is True
    assert (await client.get(url, headers=other.headers)).status_code == 403
    assert await _audits(db) == 1  # and it is audited like any playback
