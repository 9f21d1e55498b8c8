"""Production refuses insecure configuration (issue 13); the demo stays
zero-config."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from callcenter.config import DEV_AMI_SECRET, DEV_HOOK_SECRET, DEV_JWT_SECRET, PLACEHOLDERS, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "callcenter.env.example"
GOOD = {
    "jwt_secret": "9f2c4e1a7b3d5f6e8a0c2b4d6f8e1a3c5b7d9f0e2a4c6b8d",
    "hook_secret": "1b3d5f7a9c2e4f6a8b0d1c3e5a7b9d2f4e6a8c0b1d3f5e7a",
    "ami_secret": "c7e9a1b3d5f7e2c4a6b8d0f1e3a5c7b9d2f4a6c8e0b1d3f5",
}


def prod(**overrides: object):  # noqa: ANN201
    return load_settings(env="production", ami_enabled=False, **{**GOOD, **overrides})


def test_production_with_real_secrets_starts():
    s = prod()
    assert s.env == "production" and s.insecure_secrets() == {}


@pytest.mark.parametrize(
    ("name", "value", "why"),
    [
        ("jwt_secret", DEV_JWT_SECRET, "development default"),
        ("hook_secret", DEV_HOOK_SECRET, "development default"),
        ("ami_secret", DEV_AMI_SECRET, "development default"),
        ("ami_secret", "a-real-looking-but-short-key", "shorter than 32 bytes"),
        ("hook_secret", "0123456789abcdef0123456789", "shorter than 32 bytes"),
        ("jwt_secret", "a" * 40, "too few distinct characters"),
    ],
)
def test_production_refuses_an_insecure_secret_naming_it(name, value, why):
    with pytest.raises(SettingsError) as err:
        prod(**{name: value})
    msg = str(err.value)
    assert f"CALLCENTER_{name.upper()}" in msg and why in msg
    assert value not in msg  # a secret is never printed


def _example_values() -> dict[str, str]:
    out = {}
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^(CALLCENTER_[A-Z_]+)=(.*)$", line.strip())
        if m:
            out[m[1]] = m[2]
    return out


def test_every_placeholder_of_the_example_file_is_refused():
    values = _example_values()
    secrets = {k: v for k, v in values.items() if k.endswith("_SECRET")}
    assert set(secrets) == {"CALLCENTER_AMI_SECRET", "CALLCENTER_JWT_SECRET", "CALLCENTER_HOOK_SECRET"}
    for env, value in secrets.items():
        name = env.removeprefix("CALLCENTER_").lower()
        assert value in PLACEHOLDERS
        with pytest.raises(SettingsError, match=env):
            prod(**{name: value})
    with pytest.raises(SettingsError, match="CALLCENTER_DATABASE_URL"):
        prod(database_url=values["CALLCENTER_DATABASE_URL"])
    # and the dialplan's and manager.conf's own placeholders
    for conf, key in (("extensions.conf", "CC_SECRET"), ("manager.conf", "secret")):
        m = re.search(rf"^\s*{key}\s*=\s*(\S+)", (ROOT / "asterisk" / conf).read_text(encoding="utf-8"), re.M)
        assert m and m[1] in PLACEHOLDERS, (conf, m and m[1])


def test_the_whole_example_file_is_refused_at_once_naming_every_setting(tmp_path, monkeypatch):
    for k, v in _example_values().items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("CALLCENTER_ENV", "production")
    with pytest.raises(SettingsError) as err:
        load_settings()
    for env in ("CALLCENTER_JWT_SECRET", "CALLCENTER_HOOK_SECRET", "CALLCENTER_AMI_SECRET", "CALLCENTER_DATABASE_URL"):
        assert env in str(err.value)


def test_the_serve_command_refuses_to_start(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
    env.update({"CALLCENTER_ENV": "production", "CALLCENTER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"})
    p = subprocess.run([sys.executable, "-m", "callcenter", "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "CALLCENTER_JWT_SECRET" in p.stderr + p.stdout


def test_the_demo_needs_no_configuration(monkeypatch):
    for k in [k for k in __import__("os").environ if k.startswith("CALLCENTER_")]:
        monkeypatch.delenv(k)
    s = load_settings()
    assert s.env == "development" and s.jwt_secret != DEV_JWT_SECRET and len(s.jwt_secret) >= 32
