"""Long work off the event loop.

Customer imports, QA sampling, recording purges and report builds run in a
worker process with a database engine of its own, so the event loop that
answers /hooks/route (its 300 ms budget, the dialplan's 2 s timeout) and
every websocket never waits on them: a 100k-row import run on the loop
held one /hooks/route call 2.2 s (issue 12).  A process, not a thread: the
work is Python CPU time, which a thread would share with the loop (GIL).

    result = await run(settings, job, *args)

`job` is a module-level `async def job(db: Database, *args)`, run in the
worker on a fresh Database for settings.database_url; its arguments and
result cross by pickle.  The pool (settings.worker_processes, spawned on
first use) is shared by every app in the process and lives as long as it.
With worker_processes = 0 jobs run in a thread instead (a development
convenience: no process start-up, but the loop shares the GIL with them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import multiprocessing
import signal
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from prometheus_client import Counter, Gauge

from callcenter.db import Database

log = logging.getLogger("callcenter.worker")

JOBS = Counter("callcenter_worker_jobs_total", "Long jobs run off the event loop", ["job", "result"])
RUNNING = Gauge("callcenter_worker_jobs_running", "Long jobs running now")

Job = Callable[..., Awaitable[Any]]

WORKER_NICE = 10
_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


class WorkerDied(RuntimeError):
    """The worker process ended mid-job (killed, out of memory)."""


def _child_init(log_format: str, log_level: str) -> None:
    # The server handles Ctrl-C and stops the pool; a child must not die of
    # the terminal's SIGINT with a traceback first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Below the server in the CPU scheduler: on a small box a job takes the
    # CPU the event loop leaves, never the other way round.
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICE)
    from callcenter.logs import setup_logging

    setup_logging(log_format, log_level)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True).start()


def _exit_with_parent(parent: int, every_s: float = 1.0) -> None:
    """A worker whose server died (kill -9, OOM) goes too: it waits on a pipe
    it holds both ends of, so without this it would wait forever (the
    cluster bench's and tests' killed nodes left 40 of them)."""
    import time

    while os.getppid() == parent:
        time.sleep(every_s)
    os._exit(0)


def _get_pool(processes: int, log_format: str, log_level: str) -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_child_init,
                initargs=(log_format, log_level),
            )
        return _pool


def _discard_pool(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def _run_job(url: str, job: Job, args: tuple[Any, ...]) -> Any:
    """In the worker: the job on its own event loop and engine."""

    async def main() -> Any:
        db = Database(url)
        try:
            return await job(db, *args)
        finally:
            await db.dispose()

    return asyncio.run(main())


async def run(settings: Any, job: Job, *args: Any, fence: Any = None) -> Any:
    """Run `job(db, *args)` in the worker and return its result (or raise its error).
    With a `fence` (cluster.jobs.JobFence: a periodic job on a cluster's jobs
    holder) it runs under that job's run lock while the jobs token is the
    fence's, and raises cluster.leader.Fenced if it was refused or cancelled."""
    name = getattr(job, "__qualname__", str(job))
    if fence is not None:
        from callcenter.cluster.jobs import fenced

        job, args = fenced, (fence, job, *args)
    RUNNING.inc()
    try:
        if settings.worker_processes == 0:
            result = await asyncio.to_thread(_run_job, settings.database_url, job, args)
        else:
            pool = _get_pool(settings.worker_processes, settings.log_format if settings.log_format != "auto" else "json", settings.log_level)
            try:
                result = await asyncio.get_running_loop().run_in_executor(pool, _run_job, settings.database_url, job, args)
            except BrokenProcessPool:
                _discard_pool(pool)
                raise WorkerDied(f"the worker process died running {name}; it is restarted for the next job") from None
    except BaseException:
        JOBS.labels(name, "error").inc()
        raise
    finally:
        RUNNING.dec()
    JOBS.labels(name, "ok").inc()
    return result


def shutdown() -> None:
    """Stop the pool (tests; the interpreter does it at exit anyway)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
