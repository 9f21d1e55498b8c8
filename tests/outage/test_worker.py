"""Long work off the event loop (issue 12 §5): jobs run in a worker
process with its own database engine; the hooks answer while one runs; a
worker that dies is replaced."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from callcenter import worker
from callcenter.auth.models import Role
from callcenter.db import Database


async def whoami(db: Database) -> tuple[int, int]:
    async with db.sessions() as s:
        one = (await s.execute(text("SELECT 1"))).scalar_one()
    return os.getpid(), one


async def wait_for_file(db: Database, path: str) -> str:
    while not Path(path).exists():
        await asyncio.sleep(0.01)
    return "done"


async def die(db: Database) -> None:
    os._exit(3)


async def fail(db: Database) -> None:
    raise ValueError("line 2: no phone number")


def jobs_run(name: str) -> float:
    return REGISTRY.get_sample_value("callcenter_worker_jobs_total", {"job": name, "result": "ok"}) or 0.0


async def test_a_job_runs_in_another_process_on_its_own_engine(settings):
    pid, one = await worker.run(settings, whoami)
    assert pid != os.getpid() and one == 1
    with pytest.raises(ValueError, match="no phone number"):
        await worker.run(settings, fail)


async def test_hooks_answer_while_a_job_holds_the_worker(app, client, settings, tmp_path):
    go = tmp_path / "go"
    job = asyncio.ensure_future(worker.run(settings, wait_for_file, str(go)))
    try:
        hook = {"X-Hook-Secret": settings.hook_secret}
        for i in range(5):
            r = await client.get("/hooks/route", params={"uniqueid": f"5.{i}", "caller": "13800138000"}, headers=hook)
            assert r.status_code == 200 and "queue=" in r.text
        assert not job.done()  # the hooks were answered while the job was still running
    finally:
        go.touch()  # never leave the shared worker waiting
    assert await job == "done"


async def test_a_dead_worker_is_replaced(settings):
    with pytest.raises(worker.WorkerDied, match="died running die"):
        await worker.run(settings, die)
    pid, _ = await worker.run(settings, whoami)
    assert pid != os.getpid()


async def test_imports_sampling_and_summaries_run_in_the_worker(app, client, make_user):
    admin, qa = await make_user(Role.admin), await make_user(Role.qa)
    before = {n: jobs_run(n) for n in ("import_job", "sample", "summary")}
    files = {"file": ("c.csv", "name,phones\n林芳,13800138000\n".encode(), "text/csv")}
    r = await client.post("/api/customers/import", files=files, headers=admin.headers)
    assert r.status_code == 200 and r.json()["imported"] == 1
    assert (await client.post("/api/qa/sampling", json={"month": "2026-11"}, headers=qa.headers)).status_code == 200
    assert (await client.get("/api/qa/summary.csv", headers=qa.headers)).status_code == 200
    assert {n: jobs_run(n) - before[n] for n in before} == {"import_job": 1, "sample": 1, "summary": 1}


_ORPHAN = """
import asyncio, sys
from callcenter import worker
from tests.outage.test_worker import whoami

class S:
    worker_processes = 1
    database_url = sys.argv[1]
    log_format = "console"
    log_level = "WARNING"

pid, _ = asyncio.run(worker.run(S(), whoami))
print(pid, flush=True)
sys.stdin.read()  # until killed
"""


async def test_a_worker_goes_when_its_server_is_killed(settings):
    """kill -9 of the server (a cluster node's failover, the OOM killer):
    its worker process exits too, instead of waiting on its pipe forever."""
    import signal
    import subprocess
    import sys
    import time

    server = subprocess.Popen(
        [sys.executable, "-c", _ORPHAN, settings.database_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        line = await asyncio.wait_for(asyncio.to_thread(server.stdout.readline), 60)
        child = int(line)
        os.kill(child, 0)  # the worker is alive, the server waits
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            status = Path(f"/proc/{child}/status")
            if status.exists() and "zombie" in status.read_text():
                break  # exited, not yet reaped
            await asyncio.sleep(0.1)
        else:
            os.kill(child, signal.SIGKILL)
            pytest.fail("the worker outlived its killed server by 10 s")
    finally:
        if server.poll() is None:
            server.kill()
