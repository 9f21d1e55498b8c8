"""Demo data: queues, users for every role, customers, the IVR routing and
business hours, the default QA form.  Idempotent: running `make demo` twice
changes nothing."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from callcenter.acd.models import Queue, default_dispositions
from callcenter.auth.models import Role, Skill, User
from callcenter.auth.service import hash_password
from callcenter.config import Settings
from callcenter.crm.models import Customer, CustomerPhone, Grade, Ticket, TicketKind, Tier
from callcenter.crm.service import next_follow_up, normalise_number
from callcenter.db import Database
from callcenter.hooks.models import QueueHours, RouteRule
from callcenter.hooks.schemas import Calendar
from callcenter.qa.service import ensure_default_form
from callcenter.reports.service import seed_example

log = logging.getLogger("callcenter.demo")

# name, display name (zh), display name (en), SL threshold s, wrap-up s
# Asterisk's wrapuptime in asterisk/queues.conf (and the simulated PBX): a
# floor covering the moment between hang-up and callcenter's wrap-up pause.
# The wrap-up limit per queue is the last column of DEMO_QUEUES.
PBX_WRAPUPTIME_S = 5

DEMO_QUEUES = [
    ("repairs", "报修", "Repairs", 20, 60),
    ("complaints", "投诉", "Complaints", 20, 90),
    ("enquiries", "咨询", "Enquiries", 20, 30),
    ("vip", "VIP专线", "VIP line", 10, 60),
    ("fees", "缴费催费", "Fees", 30, 45),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["静", "伟", "芳", "敏", "磊", "娜", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平", "刚", "丹"]

AGENT_PASSWORD = "demo-agent"
DEMO_LOGINS = [
    ("admin", "admin", "demo-admin"),
    ("team_lead", "lead", "demo-lead"),
    ("qa", "qa", "demo-qa"),
    ("agent", "agent01 … agent20", AGENT_PASSWORD),
]


def demo_agents(n: int) -> list[tuple[str, str, str, list[tuple[str, int]]]]:
    """(username, name, interface, skills) for n agents, with a realistic
    skill mix: everyone takes enquiries, most take repairs, a few seniors
    take complaints and the VIP line."""
    agents = []
    for i in range(1, n + 1):
        skills = [("enquiries", 0 if i % 3 else 1)]
        if i % 4 != 0:
            skills.append(("repairs", 0 if i % 2 else 1))
        if i <= max(3, n // 4):
            skills += [("complaints", 0), ("vip", 0)]
        if i % 5 == 0:
            skills.append(("fees", 0))
        name = SURNAMES[(i - 1) % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)]
        agents.append((f"agent{i:02d}", name, f"PJSIP/{8000 + i}", skills))
    return agents


# --- IVR routing and business hours --------------------------------------------------

HOTLINE = "4008001234"  # 400服务热线: IVR 1 报修, 2 投诉, 3 咨询, 4 缴费
VIP_LINE = "4008009999"  # VIP专线
COMPLAINT_LINE = "4008005555"  # 免费投诉热线 (seeds A §1)

# dnis, IVR choice, queue, queue for 大客户 ("" = same), prompt label
DEMO_ROUTE_RULES = [
    (HOTLINE, "1", "repairs", "vip", "报修"),
    (HOTLINE, "2", "complaints", "vip", "投诉"),
    (HOTLINE, "3", "enquiries", "vip", "咨询"),
    (HOTLINE, "4", "fees", "", "缴费催费"),
    (HOTLINE, "", "enquiries", "vip", "人工服务"),
    (VIP_LINE, "", "vip", "", "VIP专线"),
    (COMPLAINT_LINE, "", "complaints", "vip", "投诉热线"),
    ("", "", "enquiries", "", "其他号码"),
]

# The property centre's hours (seeds B §2.8): office hours with a noon break,
# answered 24 h by the duty roster: the noon duty clerk 12:00-13:30 (summer
# 12:00-14:00), the night maintenance technician 17:30 (summer 18:00) to
# 08:30 next day.
NOON_DUTY = "8020"  # 当班客服管理员 (rota extension)
NIGHT_DUTY = "13900001111"  # 水电维修员值班手机
_WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PROPERTY_HOURS = {
    "winter": {
        "weekly": {d: ["08:30-12:00", "13:30-17:30"] for d in _WEEK},
        "duty": [
            {"window": "12:00-13:30", "number": NOON_DUTY, "label": "午间值班"},
            {"window": "17:30-08:30", "number": NIGHT_DUTY, "label": "夜间值班"},
        ],
    },
    "summer": {
        "weekly": {d: ["08:30-12:00", "14:00-18:00"] for d in _WEEK},
        "duty": [
            {"window": "12:00-14:00", "number": NOON_DUTY, "label": "午间值班"},
            {"window": "18:00-08:30", "number": NIGHT_DUTY, "label": "夜间值班"},
        ],
    },
    "summer_from": "05-01",
    "summer_to": "09-30",
    "after_hours": "duty",
}
# Desk lines: weekdays plus Saturday morning (延长的周六值班), voicemail otherwise.
# Holidays and 调休 days are an example (National Day week 2026).
OFFICE_HOURS = {
    "winter": {"weekly": {**{d: ["08:30-12:00", "13:30-17:30"] for d in _WEEK[:5]}, "sat": ["09:00-12:00"]}},
    "summer": {"weekly": {**{d: ["08:30-12:00", "14:00-18:00"] for d in _WEEK[:5]}, "sat": ["09:00-12:00"]}},
    "holidays": [f"2026-10-0{i}" for i in range(1, 8)],
    "workdays": ["2026-10-10"],
    "after_hours": "voicemail",
    "voicemail": "800@callcenter",
}
DEMO_HOURS = {
    "repairs": PROPERTY_HOURS,
    "complaints": PROPERTY_HOURS,
    "enquiries": OFFICE_HOURS,
    "fees": OFFICE_HOURS,
    "vip": {"always_open": True},
}

# --- customers ----------------------------------------------------------------------------

GIVEN_CUSTOMERS = ["建国", "秀兰", "志强", "丽华", "海燕", "国庆", "桂英", "晓明", "春梅", "德华", "玉兰", "文博", "佳怡", "子轩", "雨桐", "浩然"]
ACCOUNT_MANAGERS = ["钱经理", "孙经理", "郑经理"]
TAGS = ["业主", "租户", "老人独居", "装修中", "欠费", "香港公司", "楼长"]


def demo_customers(n: int = 300) -> list[dict[str, object]]:
    """Deterministic residents and tenants of a property estate: units like
    3栋1201, mobiles and a share of landlines, grades and tiers (about 20%
    大客户 and 主要 with an account manager, as the seeds describe)."""
    rng = random.Random(20261123)
    out = []
    for i in range(n):
        building, floor, room = 1 + i % 12, 2 + (i * 7) % 30, 1 + i % 4
        phones = [f"13{8 + i % 2}{(10_000_000 + i * 7919) % 100_000_000:08d}"]
        if i % 5 == 0:
            phones.append(f"0755-8{(2_000_000 + i * 131) % 10_000_000:07d}")
        tier = rng.choices(list(Tier), weights=[8, 12, 50, 25, 5])[0]
        grade = rng.choices(list(Grade), weights=[5, 15, 40, 30, 10])[0]
        if i == 0:  # the number the simulator's scripted scenario calls from
            phones, tier, grade = ["13800138000", "0755-8200 0000"], Tier.vip, Grade.A
        out.append(
            {
                "name": "张三" if i == 0 else SURNAMES[i % len(SURNAMES)] + GIVEN_CUSTOMERS[(i * 5) % len(GIVEN_CUSTOMERS)],
                "phones": phones,
                "unit": f"{building}栋{floor}{room:02d}",
                "address": f"华景花园{building}栋{floor}{room:02d}室",
                "grade": grade,
                "tier": tier,
                "account_manager": ACCOUNT_MANAGERS[i % 3] if tier in (Tier.vip, Tier.key) else "",
                "language": "en" if i % 23 == 11 else "zh",
                "tags": rng.sample(TAGS, k=i % 3),
            }
        )
    return out


# The first number of every demo customer, for simulated traffic to call
# from so screen-pops and priorities show real customers ("13800138000",
# 张三, a 大客户, is the first).
DEMO_CUSTOMER_NUMBERS = [normalise_number(str(c["phones"][0])) for c in demo_customers()]  # type: ignore[index]


# Open tickets of some customers (by index in demo_customers()): their
# calls pop with a ticket and, for complaints, queue with raised priority.
DEMO_TICKETS = [
    (i, TicketKind.complaint if i % 3 == 0 else TicketKind.repair, subject)
    for i, subject in zip(range(3, 300, 12), ["厨房漏水复查", "电梯异响", "楼道灯不亮", "物业费账单有误", "噪音扰民", "门禁卡失灵",
                                              "外墙渗水", "车位被占", "垃圾未清运", "空调外机噪音", "水压不足", "绿化修剪",
                                              "快递柜故障", "消防通道堵塞", "窗户密封条老化", "燃气表检查", "下水道堵塞",
                                              "宠物扰民", "监控盲区", "装修垃圾", "单元门损坏", "屋顶漏雨", "停车收费", "维修未上门", "保洁不到位"])
]  # fmt: skip


async def _seed_crm_and_routing(s, settings: Settings) -> None:  # noqa: ANN001 - AsyncSession
    if not (await s.execute(select(RouteRule.id).limit(1))).first():
        for dnis, choice, queue, vip_queue, label in DEMO_ROUTE_RULES:
            s.add(RouteRule(dnis=dnis, choice=choice, queue=queue, vip_queue=vip_queue, label=label))
    for queue, cal in DEMO_HOURS.items():
        if await s.get(QueueHours, queue) is None:
            s.add(QueueHours(queue=queue, calendar=Calendar.model_validate(cal).model_dump(mode="json")))
    if (await s.execute(select(CustomerPhone.id).where(CustomerPhone.number == DEMO_CUSTOMER_NUMBERS[0]))).first():
        return
    now = datetime.now(UTC)
    rows = []
    for i, c in enumerate(demo_customers()):
        created = now - timedelta(days=i % 90)
        rows.append(
            Customer(
                **{k: v for k, v in c.items() if k != "phones"},
                phones=[CustomerPhone(number=normalise_number(str(p)), raw=str(p)) for p in c["phones"]],  # type: ignore[attr-defined]
                created_at=created,
                next_follow_up_on=next_follow_up(c["grade"], created, settings.tz),  # type: ignore[arg-type]
            )
        )
    s.add_all(rows)
    await s.flush()
    for i, kind, subject in DEMO_TICKETS:
        s.add(Ticket(kind=kind, subject=subject, customer_id=rows[i].id, number=rows[i].phones[0].number,
                     created_at=now - timedelta(hours=i % 72)))  # fmt: skip


DEMO_TEAM = "一组"


async def _seed_team(s) -> None:  # noqa: ANN001
    """The demo lead leads one team with every demo agent in it, so the
    lead can supervise them (a lead's scope follows their teams)."""
    from callcenter.teams.models import Team, TeamLead, TeamMember

    if (await s.execute(select(Team).where(Team.name == DEMO_TEAM))).scalar_one_or_none() is not None:
        return
    users = {u.username: u for u in (await s.execute(select(User))).scalars()}
    team = Team(name=DEMO_TEAM, description="演示班组 / demo team", leads=[TeamLead(user_id=users["lead"].id)])
    s.add(team)
    await s.flush()
    in_a_team = set((await s.execute(select(TeamMember.user_id).where(TeamMember.to_at.is_(None)))).scalars())
    s.add_all(TeamMember(team_id=team.id, user_id=u.id) for u in users.values() if u.role == Role.agent and u.id not in in_a_team)


async def seed(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        async with db.sessions() as s:
            for name, zh, en, sl, wrap in DEMO_QUEUES:
                if await s.get(Queue, name) is None:
                    s.add(
                        Queue(
                            name=name,
                            display_name=zh,
                            display_name_en=en,
                            sl_threshold_s=sl,
                            short_abandon_s=5,
                            wrap_up_s=wrap,
                            dispositions=default_dispositions(),
                        )
                    )
            existing = set((await s.execute(select(User.username))).scalars())
            people = [
                ("admin", "系统管理员", Role.admin, None, [], "demo-admin"),
                ("lead", "班长 周敏", Role.team_lead, "PJSIP/7001", [(q[0], 0) for q in DEMO_QUEUES], "demo-lead"),
                ("qa", "质检 林芳", Role.qa, None, [], "demo-qa"),
            ]
            for username, name, iface, skills in demo_agents(max(settings.simulator_agents, 20)):
                people.append((username, name, Role.agent, iface, skills, AGENT_PASSWORD))
            agent_hash = hash_password(AGENT_PASSWORD)
            for username, name, role, iface, skills, password in people:
                if username in existing:
                    continue
                s.add(
                    User(
                        username=username,
                        display_name=name,
                        role=role,
                        interface=iface,
                        password_hash=agent_hash if password == AGENT_PASSWORD else hash_password(password),
                        skills=[Skill(queue=q, penalty=p) for q, p in skills],
                    )
                )
            await s.flush()
            await _seed_team(s)
            await _seed_crm_and_routing(s, settings)
            await ensure_default_form(s)
            await seed_example(s)  # the seeds' scorecard (reports/scorecard.py EXAMPLE)
            await s.commit()
    finally:
        await db.dispose()


# --- the demo's callers and dialplan --------------------------------------------------------


class DemoDialplan:
    """What the shipped dialplan does around each simulated demo call, so
    the demo shows the product: callers are mostly the seeded customers
    (大客户 on the VIP line, grades A-E, customers with open tickets) and a
    few unknown numbers; each call asks /hooks/route's service for its
    decision (priority, reasons, the screen-pop's route); some callers ask
    for a callback while waiting; a third of answered callers take the
    post-call survey.  The simulated PBX itself is left alone."""

    # queue -> (dialled number, IVR key) that routes to it (DEMO_ROUTE_RULES)
    LINES = {"repairs": (HOTLINE, "1"), "complaints": (HOTLINE, "2"), "enquiries": (HOTLINE, "3"), "fees": (HOTLINE, "4"), "vip": (VIP_LINE, "")}
    UNKNOWN = 0.08  # share of callers the CRM does not know
    TICKET = 0.2  # ... who have an open ticket
    CALLBACK = 0.1  # ... who press 9 for a callback while waiting
    SURVEY = 0.35  # ... of answered callers who score the call

    def __init__(self, app_state: Any, seed: int = 7) -> None:
        self.state = app_state
        self.rng = random.Random(f"demo-callers-{seed}")
        people = [(normalise_number(str(c["phones"][0])), c["tier"]) for c in demo_customers()]  # type: ignore[index]
        self.vips = [n for n, tier in people if tier == Tier.vip]
        self.others = [n for n, tier in people if tier != Tier.vip]
        self.ticketed = [people[i][0] for i, _, _ in DEMO_TICKETS if people[i][1] != Tier.vip]
        self.pbx: Any = None
        self.tasks: set[asyncio.Task[None]] = set()

    def caller(self, queue: str) -> dict[str, Any]:
        r = self.rng.random()
        if queue == "vip":
            number = self.rng.choice(self.vips)
        elif r < self.UNKNOWN:
            number = f"1{self.rng.choice('3456789')}{self.rng.randrange(10**9):09d}"
        elif r < self.UNKNOWN + self.TICKET:
            number = self.rng.choice(self.ticketed)
        else:
            number = self.rng.choice(self.others)
        who: dict[str, Any] = {"number": number, "name": ""}
        if queue != "vip" and self.rng.random() < self.CALLBACK:
            who.update(patience=self.rng.uniform(15, 40), callback=True)
        return who

    def on_call(self, call: Any, who: dict[str, Any]) -> None:
        dnis, choice = self.LINES.get(call.queue, (HOTLINE, ""))
        uid = call.caller.uniqueid
        self._spawn(self._route(who["number"], dnis, choice, uid))
        if who.get("callback") and self.pbx is not None:
            self.pbx.after(max(1.0, who["patience"] - 2.0), self._press_nine, call, who["number"])

    def on_output(self, out: Any, core: Any) -> None:
        """An ACD listener: answered calls that end may get a survey score."""
        for r in out.records:
            if r["outcome"] == "answered" and r.get("agent") and self.rng.random() < self.SURVEY:
                self._spawn(self._survey(r))

    async def close(self) -> None:
        for t in list(self.tasks):
            t.cancel()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=5)

    def _spawn(self, coro: Any) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:
            coro.close()
            return
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("demo dialplan step failed: %s", task.exception())

    async def _route(self, number: str, dnis: str, choice: str, uid: str) -> None:
        from callcenter.hooks.service import hand_to_acd, route_decided

        routes = getattr(self.state, "routes", None)
        if routes is None:
            return
        decision = await routes.decide(number, dnis, uid, choice)
        hand_to_acd(self.state, route_decided(decision, time.time()))

    def _press_nine(self, call: Any, number: str) -> None:
        if call.state == "waiting":
            self._spawn(self._callback(call.caller.uniqueid, number, call.queue))

    async def _callback(self, uid: str, number: str, queue: str) -> None:
        from callcenter.acd.events import CallbackRequested
        from callcenter.crm.models import CallbackReason
        from callcenter.crm.service import request_callback
        from callcenter.hooks.service import hand_to_acd

        settings = self.state.settings
        async with self.state.db.sessions() as s:
            task, _ = await request_callback(s, number, CallbackReason.requested, uid, queue, settings.tz, settings.default_area_code)
            await s.commit()
        hand_to_acd(self.state, CallbackRequested(ts=time.time(), uniqueid=uid, queue=queue, number=task.number))

    async def _survey(self, record: dict[str, Any]) -> None:
        from callcenter.hooks.writes import record_survey

        scale = self.state.settings.survey_scale
        score = min(scale, self.rng.choice([5, 5, 5, 5, 4, 4, 4, 3, 2, 1]))
        async with self.state.db.sessions() as s:
            await record_survey(s, record["uniqueid"], score, scale, record["queue"], record["agent"], record["caller_number"])
            await s.commit()


def what_to_try(base: str) -> list[str]:
    """What `make demo` prints: where to look first, as each role."""
    return [
        "  what to try:",
        f"    admin   (admin / demo-admin)   {base}/admin: users and skills, queues, routing and its test",
        "            (try 13800138000 on 4008001234 key 1), opening hours, pause limits, QA forms, audit log",
        f"    lead    (lead / demo-lead)     {base}/wallboard: live queues and agents; click an agent to listen,",
        "            whisper or pause them; calls left without a disposition under Admin console",
        f"    agent   (agent01 / demo-agent) {base}/desktop: sign in (F9), a known customer pops with",
        "            grade, tickets and why they were routed; hang up (F8), pick a disposition, Ctrl+Enter",
        f"    qa      (qa / demo-qa)         {base}/qa: recorded calls with survey scores; score one on the form",
        f"    anyone                          {base}/customers: find 张三 or 13800138000; {base}/docs: the API",
    ]
