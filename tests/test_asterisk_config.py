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


from callcenter.auth.models import Role
from callcenter.demo import DEMO_QUEUES, HOTLINE, PBX_WRAPUPTIME_S
from callcenter.simulator.pbx import demo_queues

from . import dialplan
from .test_rbac import OPERATIONS

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
    routes = set(OPERATIONS)
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
    for needle in ("Set(QUEUE_PRIO=", "Set(CALLERID(name)=", "MixMonitor(${CC_MONITOR_DIR}/${CC_RECORDING}", "Queue(${EXTEN}",
                   "UserEvent(CcRoute,Uniqueid: ${UNIQUEID}", "CURLOPT(hashcompat)=yes", "CURLOPT(httptimeout)",
                   "CURLOPT(conntimeout)", "CURLOPT(failurecodes)", "(fallback),",
                   "UserEvent(QueueResult,Uniqueid: ${UNIQUEID}", "UserEvent(CcOutbound,Uniqueid: ${UNIQUEID}",
                   "Set(__CC_DIRECTION=inbound)", "Set(__CC_DIRECTION=outbound)"):  # fmt: skip
        assert needle in text, needle


def test_the_queue_records_before_it_queues_in_stereo():
    """[cc-queue] starts MixMonitor (through cc-record) before Queue(), so
    its events come before QueueCallerJoin; the recording has a receive and
    a transmit lane joined into the stereo file QA plays."""
    plan = dialplan.load()
    steps = plan["cc-queue"].extens["_[0-9A-Za-z]."]
    record = next(i for i, s in enumerate(steps) if s.startswith("Gosub(cc-record,s,1)"))
    queue = next(i for i, s in enumerate(steps) if s.startswith("Queue("))
    assert record < queue
    mix = next(s for s in plan["cc-record"].extens["s"] if s.startswith("MixMonitor("))
    _file, options, command = (part for part in mix[len("MixMonitor(") : -1].split(",", 2))
    assert re.fullmatch(r"br\(\S+-rx\.wav\)t\(\S+-tx\.wav\)", options), options
    assert command.startswith("sox -M ") and "${CC_MONITOR_DIR}/${CC_RECORDING}" in command
    # D would interleave too, but only into .raw files (app_mixmonitor.c), which the QA player cannot read.
    assert "D" not in options


NAMES = Path(__file__).parent / "data" / "asterisk20_names.txt"


def asterisk20(kind: str) -> set[str]:
    return {line.split()[1] for line in NAMES.read_text(encoding="utf-8").splitlines() if line.startswith(kind + " ")}


def test_every_application_and_function_exists_in_asterisk_20():
    text = DIALPLAN.read_text(encoding="utf-8")
    apps = dialplan.applications(dialplan.load())
    funcs = dialplan.functions(text)
    assert {"Queue", "MixMonitor", "Gosub", "UserEvent", "Pickup", "Dial"} <= apps
    assert {"CURL", "CURLOPT", "HASH", "CUT", "STRFTIME"} <= funcs
    known_apps = {a.lower() for a in asterisk20("application")}  # pbx.c finds applications case-insensitively
    assert not {a for a in apps if a.lower() not in known_apps}, "applications missing from Asterisk 20"
    assert not funcs - asterisk20("function"), "functions missing from Asterisk 20"
    # The application callcenter's Originate runs (supervisor listen/whisper/barge) too.
    assert "chanspy" in known_apps


def test_the_name_list_would_catch_a_missing_function():
    assert "QUEUE_MEMBER" in asterisk20("function") and "JSON_DECODE" in asterisk20("function")
    broken = DIALPLAN.read_text(encoding="utf-8").replace("${LEN(", "${STRLEN(", 1)
    assert "STRLEN" in dialplan.functions(broken) - asterisk20("function")


def test_every_action_the_gateway_sends_exists_in_asterisk_20():
    gateway = (Path(__file__).parent.parent / "src" / "callcenter" / "ami" / "gateway.py").read_text(encoding="utf-8")
    sent = set(re.findall(r'"Action": "([A-Za-z]+)"', gateway))
    assert {"Originate", "Redirect", "BlindTransfer", "Atxfer", "QueueAdd", "QueuePause", "PJSIPNotify"} <= sent
    assert not sent - asterisk20("action")


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


def test_every_queue_has_its_own_strategy_once():
    """app_queue keeps a queue's first `strategy` line and ignores later ones,
    so a template's strategy would override the queue's own (issue 11)."""
    conf = sections(AST / "queues.conf")
    assert "strategy" not in dict(conf["cc-template"])
    for name, _zh, _en, _sl, _wrap in DEMO_QUEUES:
        assert len(values(conf[name], "strategy")) == 1, name


def test_every_demo_queue_is_configured():
    conf = sections(AST / "queues.conf")
    template = dict(conf["cc-template"])
    assert template["autopause"] == "yes" and template["context"] == "cc-queue-keys"
    assert "monitor-type" not in dict(conf["general"])  # the dialplan records (cc-record)
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


# --- what callcenter dials exists in the dialplan ----------------------------------------

# Numbers an agent dials or transfers to: a mobile, a landline with its area
# code, a 400 number, a 5-digit service number, a mobile with +86.
NUMBERS = ("13912345678", "02161234567", "075512345678", "4008001234", "10086", "95555", "+8613912345678")


def _queue_names() -> list[str]:
    return [s for s in sections(AST / "queues.conf") if s not in ("general", "cc-template")]


def test_every_transfer_and_dial_target_is_an_extension():
    """Everything realtime/service.py can hand to Originate, BlindTransfer or
    Atxfer (and the simulator's default Redirect) runs an extension of
    extensions.conf, found the way pbx.c finds it (patterns, includes)."""
    from callcenter.realtime import service

    plan = dialplan.load()
    targets = [service.transfer_target("queue", q) for q in _queue_names()]
    targets += [service.transfer_target("agent", a) for a in ("PJSIP/8002", "PJSIP/7001", "Local/8006@agents/n")]
    targets += [service.transfer_target("number", n) for n in NUMBERS]
    targets += [(n, service.DIAL_CONTEXT) for n in NUMBERS + ("8002",)]  # click-to-call and callbacks
    from callcenter.outbound import dialer

    targets += [(n, dialer.DIAL_CONTEXT) for n in NUMBERS]  # campaign dials (agent first, then the customer)
    from callcenter.outbound import predictive

    targets += [(q, predictive.PREDICTIVE_CONTEXT) for q in _queue_names()]  # predictive dials: the customer into the campaign's queue
    for exten, context in targets:
        assert dialplan.find(plan, context, exten), f"{context},{exten} is not in extensions.conf"
    assert dialplan.find(plan, service.QUEUE_CONTEXT, "s") is None  # a queue is named, never 's'
    assert dialplan.find(plan, "agents", "12") is None  # the matcher does say no


async def test_the_desktop_actions_dial_extensions_that_exist(client, app, make_user):
    """The same, through the real API: every action the desktop sends."""
    from .realtime.fakes import install

    acd, gw = install(app)
    me = "PJSIP/8501"
    agent = await make_user(Role.agent, interface=me, queues=[("repairs", 0)])
    acd.do("member_added", me, "repairs")
    acd.do("caller_joined", "c1", "repairs", "13800000001")
    acd.do("ring", me, "c1")
    acd.do("answer", me, "c1")
    bodies = [{"kind": "blind", "to": "queue", "target": q} for q in _queue_names()]
    bodies += [{"kind": k, "to": "agent", "target": "PJSIP/8002"} for k in ("blind", "attended")]
    bodies += [{"kind": "blind", "to": "number", "target": n} for n in NUMBERS]
    for body in bodies:
        r = await client.post("/api/desktop/transfer", json=body, headers=agent.headers)
        assert r.status_code == 200, r.text
    for n in NUMBERS:
        r = await client.post("/api/desktop/dial", json={"number": n}, headers=agent.headers)
        assert r.status_code == 200, r.text
    r = await client.post("/api/desktop/dial", json={"number": "13912345678", "callback_task": 42}, headers=agent.headers)
    assert r.status_code == 200, r.text
    plan = dialplan.load()
    dialled = [(a[2], a[3]) for a in gw.actions if a[0] in ("blind_transfer", "atxfer", "click_to_call")]
    assert len(dialled) == len(bodies) + len(NUMBERS) + 1
    for exten, context in dialled:
        assert dialplan.find(plan, context, exten), f"{context},{exten} is not in extensions.conf"
    assert gw.actions[-1][-1] == {"callback_task": 42}


def test_no_other_code_dials_into_the_dialplan():
    """A new Originate/Redirect/transfer call site must be added to the tests above."""
    src = Path(__file__).parent.parent / "src" / "callcenter"
    sites = {}
    for f in src.rglob("*.py"):
        if "simulator" in f.parts or ("acd" in f.parts and f.name != "callback_dial.py"):
            continue  # the PBX itself; the core builds domain events and sends nothing (callback_dial is the service's)
        text = f.read_text(encoding="utf-8")
        for name in re.findall(r"\.(originate|redirect|blind_transfer|atxfer|click_to_call|spy)\(", text):
            sites.setdefault(name, set()).add(str(f.relative_to(src)))
    assert sites == {
        "originate": {"ami/gateway.py", "outbound/dialer.py", "outbound/api.py", "outbound/predictive.py"},  # campaign dials: dialer.DIAL_CONTEXT and predictive.PREDICTIVE_CONTEXT, checked above
        # a return visit dials from the desktop's own context (realtime.service.DIAL_CONTEXT)
        # a queued callback (acd/callback_dial.py) too
        "click_to_call": {"realtime/api.py", "workorders/api.py", "workorders/visits.py", "acd/callback_dial.py"},
        "spy": {"realtime/api.py"},
    }, sites
    # blind_transfer/atxfer are called by name (getattr) from realtime/api.py's transfer
    assert 'method = "blind_transfer" if body.kind == "blind" else "atxfer"' in (src / "realtime" / "api.py").read_text(encoding="utf-8")


def test_local_member_interfaces_are_accepted_and_follow_their_phone():
    from callcenter.ami.gateway import endpoint_of, state_interface
    from callcenter.auth.schemas import check_interface

    for ok in ("PJSIP/8001", "Local/8006@agents/n", "Local/8006@agents", "SIP/trunk-1"):
        assert check_interface(ok) == ok
    for bad in ("8001", "Local/8006", "Local/8006@agents/n;2", "PJSIP/80 01", "Local/8006@agents/n\r\n"):
        try:
            check_interface(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} accepted")
    assert state_interface("Local/8006@agents/n") == "PJSIP/8006"
    assert state_interface("PJSIP/8001") is None and state_interface("Local/x@elsewhere") is None
    assert endpoint_of("Local/8006@agents-0000001a;1") == "8006" == endpoint_of("Local/8006@agents/n")


def test_the_attended_transfer_feature_has_a_code():
    """AMI Atxfer (the desktop's attended transfer) needs features.conf's
    atxfer code, and Queue() must let the agent transfer (option t)."""
    conf = sections(AST / "features.conf")
    assert values(conf["featuremap"], "atxfer") == ["*2"]
    queue = next(s for s in dialplan.load()["cc-queue"].extens["_[0-9A-Za-z]."] if s.startswith("Queue("))
    assert "t" in queue.split(",")[1]
