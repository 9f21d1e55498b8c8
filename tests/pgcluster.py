"""A private PostgreSQL cluster for outage tests and bench/soak.py.

`initdb` + `pg_ctl` from /usr/lib/postgresql/*/bin on a port of its own,
in a temporary directory, run as the `postgres` user when we are root
(PostgreSQL refuses to run as root).  Tests stop and start it at will;
the shared server on 5432 is never touched.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivatePostgres:
    """`pg = PrivatePostgres(); pg.init(); pg.start()`; `pg.url(db)`; `pg.stop()`; `pg.destroy()`."""

    def __init__(self, port: int | None = None, base: Path | None = None) -> None:
        self.bin = _bin_dir()
        if self.bin is None:
            raise RuntimeError("initdb/pg_ctl not found (apt-get install postgresql)")
        self.port = port or free_port()
        self.base = Path(tempfile.mkdtemp(prefix="cc-pg-", dir=base))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.running = False
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)

    def init(self) -> None:
        if self._as_postgres:
            shutil.chown(self.base, "postgres", "postgres")
            os.chmod(self.base, 0o700)
        r = self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C.UTF-8")
        if r.returncode:
            raise RuntimeError(f"initdb failed: {r.stderr[-2000:]}")
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as f:
            # Fast and private: no other clients, no durability needed across a host crash.
            f.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.base}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 60\n"
                "shared_buffers = 32MB\n"
            )

    def start(self, timeout: float = 30) -> None:
        r = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(int(timeout)), "start", timeout=timeout + 10)
        if r.returncode:
            raise RuntimeError(f"pg_ctl start failed: {r.stderr[-1000:]} {self.log_tail()}")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` ends open sessions (what an outage looks
        like to clients), `immediate` is a crash."""
        r = self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        if r.returncode and "not running" not in r.stderr + r.stdout:  # pragma: no cover - diagnostic
            raise RuntimeError(f"pg_ctl stop failed: {r.stderr[-1000:]}")
        self.running = False

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port)).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"private PostgreSQL on {self.port} not ready: {self.log_tail()}")

    def create_database(self, name: str) -> str:
        r = self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        if r.returncode:
            raise RuntimeError(f"createdb {name} failed: {r.stderr}")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._run("dropdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "--force", "--if-exists", name)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{db}"

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def destroy(self) -> None:
        if self.running:
            self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


def available() -> bool:
    return _bin_dir() is not None
