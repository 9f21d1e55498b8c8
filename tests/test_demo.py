"""`callcenter demo` as a new user runs it: migrate, seed, serve, print
working URLs and logins."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx

from .livesrv import free_port


def test_demo_serves_and_prints_working_urls(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "CALLCENTER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/demo.db",
        "CALLCENTER_RECORDINGS_DIR": str(tmp_path / "rec"),
        "CALLCENTER_ENV_FILE": "/nonexistent",
        "CALLCENTER_LOG_FORMAT": "json",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "callcenter", "demo", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
    )
    out: list[str] = []
    try:
        deadline = time.monotonic() + 60
        base = f"http://127.0.0.1:{port}"
        ready = False
        while time.monotonic() < deadline and not ready:
            line = proc.stdout.readline()
            if not line:
                assert proc.poll() is None, "demo exited:\n" + "".join(out)
                continue
            out.append(line)
            if "Application startup complete" in line or '"msg": "callcenter' in line:
                try:
                    ready = httpx.get(base + "/readyz", timeout=2).status_code == 200
                except httpx.HTTPError:
                    pass
        text = "".join(out)
        assert ready, text
        urls = dict(re.findall(r"^\s+(login|desktop|wallboard|QA|API docs|health)\s+(http\S+)", text, re.M))
        assert urls["login"] == f"{base}/login"
        for url in urls.values():
            assert httpx.get(url, timeout=5, follow_redirects=True).status_code == 200, url
        for user, password in [("admin", "demo-admin"), ("lead", "demo-lead"), ("qa", "demo-qa"), ("agent01", "demo-agent")]:
            assert f"{user}" in text
            r = httpx.post(base + "/api/auth/login", json={"username": user, "password": password}, timeout=5)
            assert r.status_code == 200, (user, r.text)
        admin = httpx.post(base + "/api/auth/login", json={"username": "admin", "password": "demo-admin"}).json()
        queues = httpx.get(base + "/api/queues", headers={"Authorization": f"Bearer {admin['access_token']}"}).json()
        assert {q["name"] for q in queues} >= {"repairs", "complaints", "enquiries", "vip", "fees"}
        # the built-in simulated Asterisk is up and the wallboard moves at once
        checks = httpx.get(base + "/readyz").json()["checks"]
        assert checks["ami"]["ok"] and checks["ami"]["state"] == "authenticated", checks
        auth = {"Authorization": f"Bearer {admin['access_token']}"}
        until = time.monotonic() + 30
        while True:  # warm start: the demo's agents are rung and answer within seconds
            states = [a["state"] for a in httpx.get(base + "/api/acd/wallboard", headers=auth).json()["agents"].values()]
            if states.count("on_call") >= 3 or time.monotonic() > until:
                break
            time.sleep(0.5)
        assert len(states) >= 19 and states.count("on_call") >= 3, states
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
