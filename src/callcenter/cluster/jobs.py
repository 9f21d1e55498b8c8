"""The centre's periodic jobs in a cluster: who runs them, and no overlap
when that changes hands (issue 18).

One node of the whole cluster holds the jobs lock (`JobsHolder`, a
PostgreSQL advisory lock; taking it bumps the `*jobs` fencing token in
``cluster_leases``) and runs the jobs, JOBS_SETTLE_S after taking it.  The
lock can move while a job still runs on the old holder: its lock
connection dropped, or the node stalled, and the job itself runs on in a
worker process (worker.run), which may even outlive a node killed with -9.
So each run is fenced where it executes (`fenced`):

* it takes the job's *run lock* (another advisory lock, on a connection of
  the process that runs the job): a run of the same job still going on the
  old holder makes the new holder's run wait until it ends, and a worker
  that dies frees it with its connection;
* it starts only if the token is still the one its node was given (a node
  that has not yet noticed it lost the lock starts nothing);
* while it runs it rereads the token every CHECK_S and cancels the job as
  soon as a newer one exists (its open transaction rolls back), so the old
  holder finishes within CHECK_S of the handover and the new one's first
  run goes on from what was committed (the jobs are idempotent: state on
  the rows, compare-and-set updates, one task per number).

Without a cluster (one process, or SQLite) there is no fence: the jobs run
as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from prometheus_client import Counter, Gauge

from callcenter.cluster.leader import JOBS, JOBS_CLASS, Fenced, LeaderLock, asyncpg_dsn

log = logging.getLogger("callcenter.cluster")

RUNS_JOBS = Gauge("callcenter_cluster_jobs", "1 while this node runs the centre's periodic jobs")
FENCED = Counter("callcenter_cluster_jobs_fenced_total", "Job runs refused or cancelled: the jobs lock had moved on", ["job"])
JOB_RUN_CLASS = 0x43432  # the advisory locks of each job's runs ("CC2"); the second key is the job's name
# The periodic jobs (QA sampling, work-order escalation, callback tasks)
# start this long after a node takes their lock: the first seconds after a
# leader is killed belong to its successor's resync, not to an hourly job.
JOBS_SETTLE_S = 10.0
# A PBX's leader leaves the jobs to a follower: it releases their lock when
# it is promoted and takes it only if no other node has for this long (a
# one-node cluster).  An hourly QA sampling of a month's calls then never
# shares the leader's CPU with the AMI feed and a resync.
JOBS_LEADER_WAIT_S = 15.0
CHECK_S = 1.0  # a running job rereads the token this often
WAIT_WARN_S = 60.0  # a run waiting this long for a previous holder's run logs a warning (and again as often)


@dataclass(frozen=True)
class JobFence:
    """What a run needs to fence itself (it crosses to the worker by pickle)."""

    database_url: str
    token: int
    name: str
    check_s: float = CHECK_S


def run_key(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


async def _token(conn: asyncpg.Connection) -> int | None:
    return await conn.fetchval("SELECT token FROM cluster_leases WHERE pbx = $1", JOBS, timeout=5)


async def fenced(db: Any, fence: JobFence | None, job: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """`job(db, *args)` under its run lock, while the jobs token is
    `fence.token` (see the module's doc); raises Fenced if it was refused or
    cancelled.  A worker job itself: `worker.run(settings, fenced, fence, job, ...)`;
    with no fence (no cluster) just the job."""
    if fence is None:
        return await job(db, *args)
    conn = await asyncpg.connect(asyncpg_dsn(fence.database_url), timeout=5)
    try:
        waited = told = time.monotonic()
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", JOB_RUN_CLASS, run_key(fence.name), timeout=5):
            # A run of this job is still going (on the old holder): wait for it to end, unless we are deposed too.
            if await _token(conn) != fence.token:
                FENCED.labels(fence.name).inc()
                raise Fenced(f"job {fence.name}: the jobs lock moved on while a previous run held it")
            if time.monotonic() - told >= WAIT_WARN_S:  # a run that does not end: say so (pg_locks shows whose)
                told = time.monotonic()
                log.warning("cluster: job %s has waited %.0f s for another node's run of it to end", fence.name, told - waited)
            await asyncio.sleep(min(fence.check_s, 0.2))
        if time.monotonic() - waited > 0.5:
            log.info("cluster: job %s waited %.1f s for a previous holder's run to end", fence.name, time.monotonic() - waited)
        token = await _token(conn)
        if token != fence.token:
            FENCED.labels(fence.name).inc()
            raise Fenced(f"job {fence.name}: jobs token {token} is newer than ours ({fence.token}); not started")
        task = asyncio.ensure_future(job(db, *args))
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=fence.check_s)
                if done:
                    return task.result()
                token = await _token(conn)
                if token != fence.token:
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task
                    FENCED.labels(fence.name).inc()
                    raise Fenced(f"job {fence.name}: jobs token {token} is newer than ours ({fence.token}); cancelled")
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
    finally:
        # Closing the connection frees the run lock (and a dead worker's connection does the same).
        try:
            await asyncio.wait_for(conn.close(), 3)
        except Exception:  # noqa: BLE001
            conn.terminate()


class JobsHolder:
    """This node's part in who runs the centre's jobs: one node of the whole
    cluster (whatever PBX it leads or follows) holds the jobs lock."""

    def __init__(self, database_url: str, node: str, election_s: float) -> None:
        self.database_url = database_url
        self.node = node
        self.election_s = election_s
        self.lock = LeaderLock(database_url, JOBS, node, lock_class=JOBS_CLASS)
        self.since: float | None = None
        self._wait = 0.0

    def runs(self) -> bool:
        """This node holds the jobs lock (and has for JOBS_SETTLE_S)."""
        return self.since is not None and time.monotonic() - self.since >= JOBS_SETTLE_S

    def fence(self, name: str) -> JobFence | None:
        """The fence of a run of job `name` starting now; None if this node does not run the jobs."""
        if not self.runs():
            return None
        return JobFence(self.database_url, self.lock.token, name)

    async def elect(self, leading: bool) -> None:
        """One election round: take the lock if free (a PBX's leader only
        after nobody has for JOBS_LEADER_WAIT_S), or check it is still ours."""
        try:
            if self.since is None:
                if leading:
                    self._wait += self.election_s
                    if self._wait < JOBS_LEADER_WAIT_S:
                        return
                if await self.lock.try_acquire():
                    self._wait = 0.0
                    self.since = time.monotonic()
                    RUNS_JOBS.set(1)
                    log.info("cluster: %s runs the centre's periodic jobs (token %d)", self.node, self.lock.token)
            elif not await self.lock.still_held():
                raise ConnectionError("the jobs lock's connection is gone")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the database away: try again
            if self.since is not None:
                log.error("cluster: %s no longer runs the periodic jobs (%s: %s)", self.node, type(exc).__name__, exc)
            self.since = None
            RUNS_JOBS.set(0)
            await self.lock.release()

    async def drop(self, why: str) -> None:
        if self.since is not None:
            log.info("cluster: %s hands the periodic jobs on (%s)", self.node, why)
        self.since = None
        self._wait = 0.0
        RUNS_JOBS.set(0)
        await self.lock.release()
