"""The `callcenter` command, run as a user would, on both databases."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import pg_create_database, pg_drop_database


def cc(url: str, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CALLCENTER_DATABASE_URL": url, "CALLCENTER_ENV_FILE": "/nonexistent"}
    return subprocess.run(
        [sys.executable, "-m", "callcenter", *args], env=env, capture_output=True, text=True, timeout=120, input=input
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):  # noqa: ANN001, ANN201
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    else:
        request.getfixturevalue("pg_server")
        url = pg_create_database()
        yield url
        pg_drop_database(url)


def test_migrate_then_user_add_and_list(fresh_url):
    p = cc(fresh_url, "migrate")
    assert p.returncode == 0, p.stderr
    p = cc(
        fresh_url, "user", "add", "agent8001", "--role", "agent", "--name", "王静",
        "--interface", "PJSIP/8001", "--queue", "repairs:0", "--queue", "vip:2", "--password", "long-password",
    )
    assert p.returncode == 0, p.stderr
    assert "added agent agent8001" in p.stdout
    p = cc(fresh_url, "user", "add", "lead", "--role", "team_lead", "--name", "周敏", "--password", "long-password")
    assert p.returncode == 0, p.stderr
    # duplicate and invalid input are refused with a message, no traceback
    dup = cc(fresh_url, "user", "add", "agent8001", "--role", "agent", "--name", "x", "--password", "long-password")
    assert dup.returncode == 1 and "already in use" in dup.stderr and "Traceback" not in dup.stderr
    bad = cc(fresh_url, "user", "add", "x", "--role", "agent", "--name", "x", "--interface", "8001", "--password", "long-password")
    assert bad.returncode == 2 and "interface" in bad.stderr
    # A Local-channel member, the FreePBX way (issue 11); its options after the context are kept.
    local = cc(fresh_url, "user", "add", "agent8006", "--role", "agent", "--name", "刘洋",
               "--interface", "Local/8006@agents/n", "--password", "long-password")
    assert local.returncode == 0, local.stderr
    out = cc(fresh_url, "user", "list")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    agent = next(line for line in lines if line.startswith("agent8001"))
    assert "PJSIP/8001" in agent and "王静" in agent and "repairs:0" in agent and "vip:2" in agent
    assert any(line.startswith("lead ") and "team_lead" in line for line in lines)
    assert "Local/8006@agents/n" in next(line for line in lines if line.startswith("agent8006"))


def test_serve_refuses_an_unmigrated_database(fresh_url):
    p = cc(fresh_url, "serve")
    assert p.returncode == 2
    assert "callcenter migrate" in p.stderr and "Traceback" not in p.stderr
