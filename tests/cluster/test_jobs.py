"""The centre's periodic jobs run once per cluster (issue 18): on the node
that holds the jobs lock, whatever PBX it leads or follows.  Without a
cluster (one process) they run as before."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from callcenter.cluster.leader import JOBS, JOBS_CLASS, LeaderLock
from callcenter.outbound import jobs as outbound_jobs
from callcenter.workorders import api as workorders_api


@pytest.mark.pg_only
async def test_one_jobs_holder_beside_the_pbx_leaders(cluster_db):  # noqa: ANN001
    from callcenter.migrate import upgrade

    await asyncio.to_thread(upgrade, cluster_db)
    north, south = LeaderLock(cluster_db, "north", "n1"), LeaderLock(cluster_db, "south", "n1")
    a, b = LeaderLock(cluster_db, JOBS, "n1", lock_class=JOBS_CLASS), LeaderLock(cluster_db, JOBS, "n2", lock_class=JOBS_CLASS)
    try:
        # A node may lead two PBXs and hold the jobs; the jobs lock is another key than any PBX's.
        assert await north.try_acquire() and await south.try_acquire()
        assert await a.try_acquire()
        assert not await b.try_acquire(), "two nodes ran the centre's jobs"
        assert await a.still_held()
        await a.release()  # the holder dies: its session's lock goes with it
        assert await b.try_acquire()
        assert b.token == a.token + 1
        assert await north.still_held() and await south.still_held()
    finally:
        for lock in (north, south, a, b):
            await lock.release()


def _app(runs: list[bool]) -> SimpleNamespace:
    settings = SimpleNamespace(callback_sync_s=0.01, tz=UTC, default_area_code="", callback_min_wait_s=0, sms_provider="log", sms_url="", sms_token="")
    return SimpleNamespace(state=SimpleNamespace(settings=settings, db=None, bridge=None, hub=None, runs_jobs=lambda: runs[-1]))


async def _spin(loop_coro, seconds: float) -> None:  # noqa: ANN001
    task = asyncio.create_task(loop_coro)
    await asyncio.sleep(seconds)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_callback_sync_and_escalation_only_where_the_jobs_run(monkeypatch):  # noqa: ANN001
    """The outbound loop's callback tasks and the work-order escalation job
    skip their rounds on a node without the jobs lock, and run once it has it."""
    ran: list[str] = []

    async def sync(*_a, **_k):  # noqa: ANN002, ANN003
        ran.append("callbacks")
        return {}

    async def run(_settings, job, *_a, fence=None):  # noqa: ANN001, ANN002
        ran.append(job.__name__)
        return []

    class Sessions:
        async def __aenter__(self):  # noqa: ANN204
            return SimpleNamespace(commit=_nothing)

        async def __aexit__(self, *_a):  # noqa: ANN002, ANN204
            return False

    async def _nothing() -> None:
        return None

    monkeypatch.setattr(outbound_jobs, "POLL_S", 0.01)
    monkeypatch.setattr(outbound_jobs.callbacks, "sync", sync)
    monkeypatch.setattr(outbound_jobs, "make_sender", lambda *a: None)
    monkeypatch.setattr(workorders_api, "FIRST_RUN_S", 0.01)
    monkeypatch.setattr(workorders_api, "ESCALATION_INTERVAL_S", 0.01)
    monkeypatch.setattr(workorders_api.worker, "run", run)
    monkeypatch.setattr(workorders_api, "_now", lambda: datetime.now(UTC))

    runs = [False]
    app = _app(runs)
    app.state.db = SimpleNamespace(sessions=Sessions)
    await _spin(outbound_jobs._loop(app), 0.15)
    async with workorders_api.scheduled_jobs(app):
        await asyncio.sleep(0.15)
    assert ran == [], f"a node without the jobs lock ran {ran}"

    runs.append(True)
    await _spin(outbound_jobs._loop(app), 0.15)
    async with workorders_api.scheduled_jobs(app):
        await asyncio.sleep(0.15)
    assert "callbacks" in ran and "escalation_job" in ran, ran


async def slow_job(db, label: str, steps: int, pause: float) -> int:  # noqa: ANN001
    """A stand-in for an hourly job (in the worker process): one committed
    write per step, `pause` apart."""
    from sqlalchemy import text

    for i in range(steps):
        async with db.sessions() as s:
            await s.execute(text("INSERT INTO job_steps (label, step) VALUES (:l, :i)"), {"l": label, "i": i})
            await s.commit()
        await asyncio.sleep(pause)
    return steps


@pytest.mark.pg_only
async def test_a_moved_jobs_lock_never_overlaps_a_run(cluster_db, monkeypatch):  # noqa: ANN001
    """The jobs lock moves while the old holder's job still runs in its
    worker process: its lock connection is cut (pg_terminate_backend, as a
    network cut or a stalled node's), it notices, and its worker runs on.
    The new holder starts its own run at once (no settle time, the worst
    case).  Every write of the old run comes before every write of the new
    one (the old run is cancelled when the token moves, the new one waits
    for its run lock), and a run the old holder starts with its stale token
    writes nothing."""
    import asyncpg

    from callcenter import worker
    from callcenter.cluster import jobs as cluster_jobs
    from callcenter.cluster.leader import Fenced, asyncpg_dsn
    from callcenter.migrate import upgrade

    await asyncio.to_thread(upgrade, cluster_db)
    admin = await asyncpg.connect(asyncpg_dsn(cluster_db))
    await admin.execute("CREATE TABLE job_steps (id BIGSERIAL PRIMARY KEY, label TEXT NOT NULL, step INT NOT NULL)")
    monkeypatch.setattr(cluster_jobs, "JOBS_SETTLE_S", 0.0)
    worker.shutdown()  # a pool of two processes: each node's run in a process of its own, as on two hosts
    settings = SimpleNamespace(worker_processes=2, database_url=cluster_db, log_format="json", log_level="WARNING")
    a = cluster_jobs.JobsHolder(cluster_db, "old", 0.05)
    b = cluster_jobs.JobsHolder(cluster_db, "new", 0.05)
    try:
        await a.elect(False)
        await b.elect(False)
        assert a.runs() and not b.runs()
        stale = a.fence("test.slow")
        assert stale is not None and stale.token == a.lock.token
        old_run = asyncio.ensure_future(worker.run(settings, slow_job, "old", 200, 0.05, fence=stale))
        for _ in range(400):  # the old run is writing
            if await admin.fetchval("SELECT count(*) FROM job_steps WHERE label = 'old'") >= 3:
                break
            await asyncio.sleep(0.05)
        assert not old_run.done(), old_run

        # The old holder's lock connection is cut; it notices at its next round, its worker runs on.
        await admin.execute("SELECT pg_terminate_backend($1)", a.lock.conn.get_server_pid())
        await a.elect(False)
        assert not a.runs() and a.fence("test.slow") is None
        await b.elect(False)
        assert b.runs() and b.lock.token == stale.token + 1
        new_run = asyncio.ensure_future(worker.run(settings, slow_job, "new", 5, 0.01, fence=b.fence("test.slow")))
        # The old holder starts a run with the token it had (it had not noticed yet): refused.
        with pytest.raises(Fenced, match="not started|moved on"):
            await worker.run(settings, slow_job, "stale", 5, 0.01, fence=stale)
        with pytest.raises(Fenced, match="cancelled"):
            await asyncio.wait_for(old_run, 60)
        assert await asyncio.wait_for(new_run, 60) == 5

        rows = await admin.fetch("SELECT label, min(id) AS first, max(id) AS last, count(*) AS n FROM job_steps GROUP BY label")
        by = {r["label"]: r for r in rows}
        assert "stale" not in by, "a run with a stale token wrote"
        assert by["new"]["n"] == 5
        assert 3 <= by["old"]["n"] < 200, "the old run was not cancelled when the lock moved"
        assert by["old"]["last"] < by["new"]["first"], f"the runs overlapped: {[dict(r) for r in rows]}"
    finally:
        await admin.close()
        await a.lock.release()
        await b.lock.release()
        worker.shutdown()
