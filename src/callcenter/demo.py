"""Demo data: queues, users for every role, the default QA form (and,
once the CRM exists, customers).  Idempotent: running `make demo` twice changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from callcenter.acd.models import Queue, default_dispositions
from callcenter.auth.models import Role, Skill, User
from callcenter.auth.service import hash_password
from callcenter.config import Settings
from callcenter.db import Database
from callcenter.qa.service import ensure_default_form

# name, display name (zh), display name (en), SL threshold s, wrap-up s
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
            await ensure_default_form(s)
            await s.commit()
    finally:
        await db.dispose()
