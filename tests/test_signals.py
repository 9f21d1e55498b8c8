"""Long-running commands stop cleanly on SIGINT and SIGTERM, in the
foreground and in the background.  A job started with `&` by a
non-interactive shell (CI, `make test &`) inherits SIGINT ignored; Python
then never raises KeyboardInterrupt, so the command must handle the signal
itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .livesrv import free_port


def _start(args: list[str], tmp_path: Path, background: bool) -> subprocess.Popen[str]:
    env = {**os.environ, "CALLCENTER_RECORDINGS_DIR": str(tmp_path / "rec"), "CALLCENTER_ENV_FILE": "/nonexistent",
           "CALLCENTER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/sig.db", "CALLCENTER_LOG_FORMAT": "json"}  # fmt: skip

    def as_background_job() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # what `cmd &` in a script does

    return subprocess.Popen(
        [sys.executable, "-m", "callcenter", *args], env=env, cwd=tmp_path, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=as_background_job if background else None,
    )  # fmt: skip


def _wait_for(proc: subprocess.Popen[str], text: str, timeout_s: float = 30) -> str:
    out = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            assert proc.poll() is None, "exited early:\n" + "".join(out)
            continue
        out.append(line)
        if text in line:
            return "".join(out)
    raise AssertionError(f"{text!r} not seen:\n" + "".join(out))


def _stops(proc: subprocess.Popen[str], sig: int) -> str:
    proc.send_signal(sig)
    try:
        rest, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"did not stop on signal {sig}") from None
    return rest


@pytest.mark.parametrize("background", [False, True], ids=["foreground", "background"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_simulate_stops_on_signals(tmp_path, background, sig):
    proc = _start(["simulate", "--port", "0", "--agents", "2"], tmp_path, background)
    _wait_for(proc, "simulated Asterisk")
    rest = _stops(proc, sig)
    assert proc.returncode == 0 and "stopped" in rest


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_stops_on_signals_in_the_background(tmp_path, sig):
    env_db = f"sqlite+aiosqlite:///{tmp_path}/sig.db"
    subprocess.run([sys.executable, "-m", "callcenter", "migrate"], check=True, cwd=tmp_path, capture_output=True,
                   env={**os.environ, "CALLCENTER_DATABASE_URL": env_db, "CALLCENTER_ENV_FILE": "/nonexistent"})  # fmt: skip
    proc = _start(["serve", "--port", str(free_port())], tmp_path, background=True)
    _wait_for(proc, "Application startup complete")
    rest = _stops(proc, sig)
    assert "callcenter stopping" in rest and "Application shutdown complete" in rest
    assert proc.returncode in (0, -sig)  # uvicorn re-raises SIGTERM after a clean shutdown
