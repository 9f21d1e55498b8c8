"""The Asterisk configuration we ship: lint-clean, wired to hooks that
exist and accept what the dialplan sends, and the manager/queue settings
the bridge depends on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit


from callcenter.demo import DEMO_QUEUES, HOTLINE, PBX_WRAPUPTIME_S
from callcenter.simulator.pbx import demo_queues

from .test_rbac import _app_routes

AST = Path(__file__).resolve().parent.parent / "asterisk"
DIALPLAN = AST / "extensions.conf"


def sections(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A tolerant reader of Asterisk's ini dialect: [name](template) headers,
    repeated sections (pjsip) merged, repeated keys kept, ; comments."""
    out: dict[str, list[tuple[str, str]]] = {}
    current = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^\[([^\]]+)\]", line)
        if m:
            current = out.setdefault(m.group(1), [])
            continue
        key, sep, value = line.partition("=")
        if sep and current is not None:
            current.append((key.strip().rstrip(">").strip(), value.strip().lstrip(">").strip()))
    return out


def values(sec: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in sec if k == key]


def _asterisklint() -> list[str]:
    exe = Path(sys.executable).parent / "asterisklint"
    found = str(exe) if exe.exists() else shutil.which("asterisklint")
    assert found, "asterisklint is not installed (pip install -e '.[dev]')"
    return [found]


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ALINT_IGNORE"}  # nothing ignored: we need no app newer than 13
    return subprocess.run([*_asterisklint(), "dialplan-check", str(path)], capture_output=True, text=True, env=env, timeout=60)


def test_dialplan_passes_asterisklint():
    p = lint(DIALPLAN)
    assert p.returncode == 0 and not p.stderr.strip(), p.stderr


def test_asterisklint_would_catch_a_broken_dialplan(tmp_path):
    """The gate is real: a misspelt app and a Goto to nowhere fail it."""
    broken = DIALPLAN.read_text(encoding="utf-8").replace("Playback(custom/cc-thanks)", "Payback(custom/cc-thanks)")
    broken = broken.replace("Goto(cc-route,s,1)", "Goto(cc-nowhere,s,1)", 1)
    f = tmp_path / "extensions.conf"
    f.write_text(broken, encoding="utf-8")
    p = lint(f)
    assert p.returncode != 0 and "E_APP_MISSING" in p.stderr and "E_DP_GOTO_NOCONTEXT" in p.stderr


def hook_calls() -> list[tuple[str, dict[str, str]]]:
    """(path, {param: dialplan expression}) for every ${CURL(${CC_HOOK}/...)}."""
    base = urlsplit(dict(sections(DIALPLAN)["globals"])["CC_HOOK"]).path
    calls = []
    for line in DIALPLAN.read_text(encoding="utf-8").splitlines():
        m = re.search(r"\$\{CURL\(\$\{CC_HOOK\}(/[a-z]+)\?(.*)\)\}\)$", line)  # ...${CURL(url)}) ends the Set()
        if m:
            params = dict(p.split("=", 1) for p in re.split(r"&(?=[a-z_]+=)", m.group(2)))
            calls.append((base + m.group(1), params))
    return calls


def test_every_hook_the_dialplan_calls_exists():
    calls = hook_calls()
    assert {p for p, _ in calls} == {"/hooks/route", "/hooks/survey", "/hooks/callback"}
    routes = _app_routes()
    for path, _ in calls:
        assert ("GET", path) in routes, f"the dialplan calls {path}, which the app does not serve"


# What the channel variables hold on a typical call.
CHANNEL = {
    "CALLERID(num)": "+8613800138000", "CC_DNIS": HOTLINE, "CC_CHOICE": "1", "UNIQUEID": "1700000000.42",
    "CC_SCORE": "5", "CC_QUEUE": "repairs", "MEMBERINTERFACE": "PJSIP/8001", "CC_CB_NUMBER": "13800138000",
}  # fmt: skip


def render(expr: str) -> str:
    expr = re.sub(r"\$\{URIENCODE\(\$\{([^}]+)\}\)\}", lambda m: CHANNEL[m.group(1)], expr)
    expr = re.sub(r"\$\{IF\(.*\?after_hours:requested\)\}", "requested", expr)
    return re.sub(r"\$\{([^}]+)\}", lambda m: CHANNEL[m.group(1)], expr)


async def test_the_hooks_accept_what_the_dialplan_sends(client, settings):
    headers = {"X-Hook-Secret": settings.hook_secret}  # what CURLOPT(httpheader) sends
    for path, params in hook_calls():
        r = await client.get(path, params={k: render(v) for k, v in params.items()}, headers=headers)
        assert r.status_code == 200, (path, r.text)
        assert r.headers["content-type"].startswith("text/plain") and "=" in r.text  # hashcompat, not JSON


def test_dialplan_sets_what_the_bridge_correlates():
    text = DIALPLAN.read_text(encoding="utf-8")
    for needle in ("Set(QUEUE_PRIO=", "Set(CALLERID(name)=", "MixMonitor(${CC_RECORDING}", "Queue(${CC_QUEUE}",
                   "UserEvent(CcRoute,Uniqueid: ${UNIQUEID}", "CURLOPT(hashcompat)=yes", "CURLOPT(httptimeout)",
                   "CURLOPT(conntimeout)", "CURLOPT(failurecodes)", "(fallback),"):  # fmt: skip
        assert needle in text, needle


def test_manager_user_has_least_privilege():
    conf = sections(AST / "manager.conf")
    assert values(conf["general"], "timestampevents") == ["yes"]
    user = conf["callcenter"]
    read = set(values(user, "read")[0].split(","))
    write = set(values(user, "write")[0].split(","))
    assert {"agent", "call", "user", "system", "dialplan"} <= read
    assert {"agent", "call", "originate", "user"} <= write  # user: the CcDisposition UserEvent action
    assert not {"command", "config", "all"} & write
    # system is for PJSIPNotify (desk-phone hold), and the notify types it sends exist
    assert "system" in write
    notify = sections(AST / "pjsip_notify.conf")
    assert values(notify["cc-hold"], "Event") == ["hold"]
    assert values(notify["cc-talk"], "Event") == ["talk"]


def test_every_demo_queue_is_configured():
    conf = sections(AST / "queues.conf")
    template = dict(conf["cc-template"])
    assert template["strategy"] and template["autopause"] == "yes" and template["context"] == "cc-queue-keys"
    assert "eventwhencalled" not in template  # removed in Asterisk 12; only mentioned as a comment
    for name, _zh, _en, sl, wrap in DEMO_QUEUES:
        assert name in conf, f"queue {name} missing from queues.conf"
        q = {**template, **dict(conf[name])}
        # Wrap-up is callcenter's pause (limit: `wrap`); Asterisk's is only the floor.
        assert int(q["wrapuptime"]) == PBX_WRAPUPTIME_S < wrap, name
        assert int(q["servicelevel"]) == sl, name
    # The simulated PBX runs the demo on the same queue settings.
    for sim in demo_queues():
        q = {**template, **dict(conf[sim.name])}
        assert (q["strategy"], int(q.get("weight", 0)), int(q["wrapuptime"])) == (sim.strategy, sim.weight, sim.wrapuptime), sim.name
    assert "cc-queue-keys" in sections(DIALPLAN)


def test_phones_and_trunk_land_in_existing_contexts():
    pj = sections(AST / "pjsip.conf")
    contexts = set(sections(DIALPLAN))
    for ext in ("8001", "8002", "7001", "carrier"):
        assert ext in pj
    assert values(pj["carrier"], "context") == ["from-trunk"] and "from-trunk" in contexts
    assert values(pj["phone-template"], "context") == ["agents"] and "agents" in contexts
