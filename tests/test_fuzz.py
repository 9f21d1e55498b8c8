"""Schemathesis over /openapi.json on both databases, as admin and as
agent: 0 server errors and 0 answers that break their documented schema
(issue 13).  Bounded for CI (FUZZ_EXAMPLES generated requests per
operation and generation mode, derandomised so a run is repeatable);
`bench/fuzz.py` runs the deep version."""

from __future__ import annotations

import os

import pytest

from callcenter.auth.models import Role

from .conftest import make_settings
from .fuzz import Fuzzer

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(900)]


@pytest.mark.parametrize("role", [Role.admin, Role.agent])
async def test_no_server_errors_and_every_answer_matches_the_openapi(db_url, tmp_path, role):
    settings = make_settings(database_url=db_url, recordings_dir=tmp_path / "recordings", log_level="CRITICAL")
    fuzzer = await _start(settings, role)
    try:
        report = await _run(fuzzer, EXAMPLES)
    finally:
        await _close(fuzzer)
    print(report.summary())
    assert report.cases > 250, report.summary()
    assert not report.failures, report.summary()


# The fuzzer drives a real server from this thread with blocking HTTP: run
# it in a worker thread so this test's own loop stays free.
async def _start(settings, role):  # noqa: ANN001, ANN202
    import asyncio

    return await asyncio.to_thread(Fuzzer, settings, role)


async def _run(fuzzer, examples):  # noqa: ANN001, ANN202
    import asyncio

    return await asyncio.to_thread(fuzzer.run, examples)


async def _close(fuzzer):  # noqa: ANN001, ANN202
    import asyncio

    await asyncio.to_thread(fuzzer.close)
