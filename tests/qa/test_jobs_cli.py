"""The scheduled QA job, `callcenter recordings purge`, form versions and
the demo's form seeding."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import func, select

from callcenter.auth.models import AuditEntry, Role
from callcenter.qa.models import Assignment, QaForm
from callcenter.qa.scoring import DEFAULT_FORM
from callcenter.qa.service import previous_month, run_jobs_once

from ..conftest import make_settings
from .factories import make_call, write_wav


def test_previous_month():
    assert previous_month("2026-01") == "2025-12"
    assert previous_month("2026-11") == "2026-10"


async def test_hourly_job_purges_and_samples(db, settings, make_user):
    await make_user(Role.qa)
    s = make_settings(database_url=settings.database_url, recordings_dir=settings.recordings_dir, recording_retention_days=30)
    now = datetime(2026, 11, 2, 4, tzinfo=UTC)
    old = write_wav(s.recordings_dir / "old.wav", 1)
    keep = write_wav(s.recordings_dir / "keep.wav", 1)
    past, recent = now.timestamp() - 31 * 86400, now.timestamp() - 29 * 86400
    os.utime(old, (past, past))
    os.utime(keep, (recent, recent))
    for i in range(3):
        await make_call(db, f"oct-{i}", recording_file="keep.wav", entered_at=datetime(2026, 10, 3 + i, 3, tzinfo=UTC))
    out = await run_jobs_once(s, db, now)
    assert out == {"purged": 1, "sampled": 3}  # October is over: its full quota
    assert not old.exists() and keep.exists()
    async with db.sessions() as ss:
        assert await ss.scalar(select(func.count()).select_from(Assignment).where(Assignment.month == "2026-10")) == 3
        purge = (await ss.execute(select(AuditEntry).where(AuditEntry.action == "recording.purge"))).scalar_one()
        assert purge.actor == "system" and purge.details["days"] == 30
    assert await run_jobs_once(s, db, now) == {"purged": 0, "sampled": 0}


def _cc(url: str, rec: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CALLCENTER_DATABASE_URL": url, "CALLCENTER_ENV_FILE": "/nonexistent", "CALLCENTER_RECORDINGS_DIR": rec}
    return subprocess.run([sys.executable, "-m", "callcenter", "recordings", "purge", *args], env=env, capture_output=True, text=True, timeout=120)


async def test_cli_purge_dry_run_then_for_real(db_url, settings):
    root = settings.recordings_dir
    old = write_wav(root / "2026" / "a.wav", 1)
    new = write_wav(root / "b.wav", 1)
    past = time.time() - 10 * 86400
    os.utime(old, (past, past))
    p = _cc(db_url, str(root))
    assert p.returncode == 0 and "keep forever" in p.stdout
    p = _cc(db_url, str(root), "--days", "7", "--dry-run")
    assert p.returncode == 0, p.stderr
    assert "would remove 2026/a.wav" in p.stdout and old.exists()
    p = _cc(db_url, str(root), "--days", "7")
    assert p.returncode == 0, p.stderr
    assert "removed 2026/a.wav" in p.stdout and "removed 1 recordings" in p.stdout
    assert not old.exists() and new.exists()


async def test_forms_are_versioned(client, make_user):
    qa = await make_user(Role.qa)
    agent = await make_user(Role.agent)
    forms = (await client.get("/api/qa/forms", headers=agent.headers)).json()
    assert [f["code"] for f in forms] == ["inbound-service"]
    body = {"code": "complaints", "name_zh": "投诉处理评分表", "name_en": "Complaint handling", "definition": DEFAULT_FORM["definition"]}
    v1 = (await client.post("/api/qa/forms", json=body, headers=qa.headers)).json()
    v2 = (await client.post("/api/qa/forms", json=body, headers=qa.headers)).json()
    assert (v1["version"], v2["version"]) == (1, 2)
    active = {(f["code"], f["version"]) for f in (await client.get("/api/qa/forms", headers=qa.headers)).json()}
    assert active == {("inbound-service", 1), ("complaints", 2)}
    every = (await client.get("/api/qa/forms", params={"all_versions": "true"}, headers=qa.headers)).json()
    assert len(every) == 3
    bad = {**body, "definition": {"sections": [{"key": "s", "zh": "s", "en": "s", "items": [{"key": "a", "zh": "a", "en": "a", "weight": 50}]}]}}
    r = await client.post("/api/qa/forms", json=bad, headers=qa.headers)
    assert r.status_code == 422 and "add up to 50" in r.json()["detail"]


async def test_first_form_requests_racing_make_one_form(client, make_user):
    import asyncio

    users = [await make_user(Role.qa) for _ in range(4)]
    rs = await asyncio.gather(*[client.get("/api/qa/forms", headers=u.headers) for u in users])
    assert [r.status_code for r in rs] == [200] * 4
    assert {tuple(f["id"] for f in r.json()) for r in rs} == {(1,)}


async def test_demo_seeds_the_default_form_once(db, settings):
    from callcenter.demo import seed

    s = make_settings(database_url=settings.database_url, simulator_agents=2)
    await seed(s)
    await seed(s)
    async with db.sessions() as ss:
        forms = list((await ss.execute(select(QaForm))).scalars())
    assert [(f.code, f.version) for f in forms] == [("inbound-service", 1)]


async def test_the_job_runs_in_the_app_lifespan(settings):
    import asyncio

    from callcenter.app import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        jobs = [t for t in asyncio.all_tasks() if t.get_name() == "qa-jobs"]
        assert len(jobs) == 1 and not jobs[0].done()
    assert jobs[0].cancelled()
