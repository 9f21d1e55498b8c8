"""What `make test` needs is checked before it runs: each missing piece is
one line naming it and the command that installs it (scripts/check-test-deps)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .livesrv import free_port

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check-test-deps"


def run(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "CALLCENTER_TEST_SKIP")}
    return subprocess.run([sys.executable, str(SCRIPT)], env={**base, **env}, capture_output=True, text=True, timeout=30)


def test_everything_there_passes_silently():
    r = run()
    assert r.returncode == 0, r.stderr


def test_each_missing_piece_is_one_line_with_its_install_command():
    r = run(CALLCENTER_CHROMIUM="/nonexistent/chromium", CALLCENTER_TEST_PG=f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("make test: Chromium is missing") and "apt-get install -y chromium" in lines[0]
    assert lines[1].startswith("make test: PostgreSQL is not answering") and "apt-get install -y postgresql" in lines[1]


def test_skipping_knowingly_works_outside_ci_only():
    r = run(CALLCENTER_CHROMIUM="/nonexistent/chromium", CALLCENTER_TEST_SKIP="browser")
    assert r.returncode == 0 and "SKIPPED" in r.stderr
    r = run(CALLCENTER_CHROMIUM="/nonexistent/chromium", CALLCENTER_TEST_SKIP="browser", CI="true")
    assert r.returncode == 1 and "Chromium is missing" in r.stderr


def test_in_ci_a_skip_fails_the_run(tmp_path):
    """The conftest turns a green run with skips into a failure under CI=true."""
    (tmp_path / "test_x.py").write_text("import pytest\ndef test_a(): pass\ndef test_b(): pytest.skip('no browser')\n")
    root = Path(__file__).resolve().parents[1]
    conftest = (root / "tests" / "conftest.py").read_text()
    # only the hooks, not the fixtures (they need the app)
    hooks = conftest[conftest.index("_skipped: list[str] = []"): conftest.index("def _dsn(")]
    (tmp_path / "conftest.py").write_text("import pytest\nIN_CI = True\n" + hooks)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)], capture_output=True, text=True,
                       cwd=tmp_path, timeout=60)  # fmt: skip
    assert r.returncode == 1 and "1 passed, 1 skipped" in r.stdout and "in CI every test must run" in r.stdout, r.stdout
