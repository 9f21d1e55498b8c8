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
