"""deploy/: Docker cannot run here, so the compose file, env example,
systemd unit and nginx site are checked for shape and for agreement with
the settings the program really reads (deploy/README.md says what is not)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from callcenter.config import Settings

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
ASTERISK = DEPLOY.parent / "asterisk"
SETTINGS = {f"CALLCENTER_{name.upper()}" for name in Settings.model_fields}


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_services_images_and_health():
    services = compose()["services"]
    assert set(services) == {"postgres", "asterisk", "callcenter"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert "asterisk" in services["asterisk"]["image"]
    assert services["callcenter"]["image"] and services["callcenter"]["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY.parent / services["callcenter"]["build"]["dockerfile"]).exists()
    for name, svc in services.items():
        assert svc.get("healthcheck", {}).get("test"), f"{name} has no health check"
        assert svc.get("restart") == "unless-stopped", name
    deps = services["callcenter"]["depends_on"]
    assert deps["postgres"]["condition"] == "service_healthy"
    assert "/readyz" in " ".join(services["callcenter"]["healthcheck"]["test"])


def test_compose_volumes_and_ports():
    doc = compose()
    services = doc["services"]
    mounts = services["asterisk"]["volumes"]
    for conf in sorted(ASTERISK.glob("*.conf")):
        assert any(m.startswith(f"../asterisk/{conf.name}:/etc/asterisk/{conf.name}") for m in mounts), conf.name
    named = {m.split(":")[0] for s in services.values() for m in s.get("volumes", []) if not m.startswith(("/", "."))}
    assert named <= set(doc["volumes"]), f"undeclared named volumes: {named - set(doc['volumes'])}"
    # PostgreSQL only on loopback; the host-networked services publish nothing.
    assert services["postgres"]["ports"] == ["127.0.0.1:5432:5432"]
    for name in ("asterisk", "callcenter"):
        assert services[name]["network_mode"] == "host" and "ports" not in services[name]
    # Recordings written by Asterisk are what callcenter serves.
    rec = next(m for m in services["callcenter"]["volumes"] if m.startswith("recordings:"))
    assert rec.split(":")[1] == services["callcenter"]["environment"]["CALLCENTER_RECORDINGS_DIR"]


def test_compose_and_env_example_use_real_setting_names():
    env = compose()["services"]["callcenter"]["environment"]
    unknown = {k for k in env if k.startswith("CALLCENTER_")} - SETTINGS
    assert not unknown, f"compose sets settings that do not exist: {unknown}"
    example = {
        line.split("=", 1)[0]
        for line in (DEPLOY / "callcenter.env.example").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }
    assert example <= SETTINGS, f"unknown settings in the env example: {example - SETTINGS}"
    for required in ("CALLCENTER_DATABASE_URL", "CALLCENTER_JWT_SECRET", "CALLCENTER_HOOK_SECRET", "CALLCENTER_AMI_SECRET"):
        assert required in example


def test_systemd_unit():
    unit = (DEPLOY / "callcenter.service").read_text(encoding="utf-8")
    for line in ("EnvironmentFile=/etc/callcenter/callcenter.env", "ExecStartPre=/opt/callcenter/.venv/bin/callcenter migrate",
                 "ExecStart=/opt/callcenter/.venv/bin/callcenter serve", "Restart=on-failure", "User=callcenter",
                 "NoNewPrivileges=yes", "WantedBy=multi-user.target"):  # fmt: skip
        assert re.search(rf"^{re.escape(line)}$", unit, re.M), line


def test_nginx_proxies_websockets():
    conf = (DEPLOY / "nginx-callcenter.conf").read_text(encoding="utf-8")
    ws = re.search(r"location /ws \{(.*?)\n    \}", conf, re.S)
    assert ws, "no /ws location"
    block = ws.group(1)
    assert "proxy_http_version 1.1;" in block
    assert re.search(r"proxy_set_header Upgrade\s+\$http_upgrade;", block)
    assert re.search(r"proxy_set_header Connection\s+\$connection_upgrade;", block)
    assert "map $http_upgrade $connection_upgrade" in conf
    timeout = re.search(r"proxy_read_timeout (\d+)s;", block)
    assert timeout and int(timeout.group(1)) >= 3600
    assert re.search(r"location /hooks/ \{\s*deny all;", conf)


def test_readme_install_has_every_step():
    """deploy/README.md takes a clean Debian host to a working server:
    system user, directories, a database user with a password, the first
    admin, Asterisk's recordings directory, the smoke test."""
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for step in (
        "useradd --system --user-group --home-dir /var/lib/callcenter",
        "install -d -o callcenter -g callcenter -m 750 /var/lib/callcenter",
        "install -d -o root -g callcenter -m 750 /etc/callcenter",
        "CREATE ROLE callcenter LOGIN PASSWORD",
        "postgresql+asyncpg://callcenter:$DB_PASSWORD@127.0.0.1:5432/callcenter",
        "cc migrate",
        "cc user add admin --role admin",
        "usermod -a -G asterisk callcenter",
        "/var/spool/asterisk/monitor",
        "systemctl enable --now callcenter",
        "deploy/smoke-test http://127.0.0.1:8080 admin",
    ):
        assert step in readme, step
    # the unit runs as that user, in that directory, with that settings file, and may write the recordings
    unit = (DEPLOY / "callcenter.service").read_text(encoding="utf-8")
    for line in ("User=callcenter", "WorkingDirectory=/var/lib/callcenter", "EnvironmentFile=/etc/callcenter/callcenter.env",
                 "Environment=CALLCENTER_MIGRATIONS_DIR=/opt/callcenter/migrations", "ReadWritePaths=/var/lib/callcenter /var/spool/asterisk/monitor"):  # fmt: skip
        assert line in unit, line
    env = (DEPLOY / "callcenter.env.example").read_text(encoding="utf-8")
    assert "CALLCENTER_RECORDINGS_DIR=/var/spool/asterisk/monitor" in env
    assert re.search(r"^CALLCENTER_DATABASE_URL=postgresql\+asyncpg://callcenter:[^@]+@", env, re.M)


def test_smoke_test_script_against_a_live_server(tmp_path):
    """deploy/smoke-test passes against a real server with a first admin, and
    fails (one line per check) with a wrong password."""
    import subprocess
    import sys

    from callcenter.auth.models import Role, User
    from callcenter.auth.service import hash_password
    from callcenter.db import Base, Database

    from .conftest import make_settings, run_sync
    from .livesrv import LiveServer

    url = f"sqlite+aiosqlite:///{tmp_path}/smoke.db"

    async def setup() -> None:
        db = Database(url)
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        async with db.sessions() as s:
            s.add(User(username="admin", display_name="系统管理员", role=Role.admin, password_hash=hash_password("first-admin-pw")))
            await s.commit()
        await db.dispose()

    run_sync(setup)
    server = LiveServer(make_settings(database_url=url)).start()
    try:
        smoke = [sys.executable, str(DEPLOY / "smoke-test"), server.url, "admin"]
        ok = subprocess.run([*smoke, "first-admin-pw", "--no-ami"], capture_output=True, text=True, timeout=60)
        assert ok.returncode == 0 and "smoke test passed" in ok.stdout, ok.stdout
        bad = subprocess.run([*smoke, "wrong-password", "--no-ami"], capture_output=True, text=True, timeout=60)
        assert bad.returncode == 1 and "FAIL admin signs in" in bad.stdout, bad.stdout
        ami = subprocess.run([*smoke, "first-admin-pw"], capture_output=True, text=True, timeout=60)
        assert ami.returncode == 1 and "FAIL Asterisk's AMI is connected" in ami.stdout  # AMI is off in this server
    finally:
        server.stop()


def test_cluster_overlay_adds_redis_a_second_replica_and_nginx():
    doc = yaml.safe_load((DEPLOY / "docker-compose.cluster.yml").read_text(encoding="utf-8"))
    services = doc["services"]
    assert {"redis", "callcenter2", "nginx"} <= set(services)
    assert services["redis"]["image"].startswith("redis:")
    for name in ("callcenter", "callcenter2"):
        env = services[name]["environment"]
        assert env["CALLCENTER_REDIS_URL"].startswith("redis://")
        assert not {k for k in env if k.startswith("CALLCENTER_")} - SETTINGS, name
    assert services["callcenter"]["environment"]["CALLCENTER_NODE_ID"] != services["callcenter2"]["environment"]["CALLCENTER_NODE_ID"]
    for name in ("redis", "callcenter2", "nginx"):
        assert services[name].get("healthcheck", {}).get("test"), name
        assert services[name].get("restart") == "unless-stopped", name
    site = (DEPLOY / "nginx-cluster.conf").read_text(encoding="utf-8")
    assert "127.0.0.1:8080" in site and "127.0.0.1:" + services["callcenter2"]["environment"]["CALLCENTER_BIND_PORT"] in site
    assert "proxy_set_header Upgrade" in site and "ip_hash" not in site and "sticky" not in site
