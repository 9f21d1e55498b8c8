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

    async def run(_settings, job, *_a):  # noqa: ANN001, ANN002
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
