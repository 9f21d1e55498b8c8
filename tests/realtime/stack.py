"""The stacks the browser tests drive.

`LiveStack` is the real thing: a live server whose app runs the in-process
Asterisk simulator on a JSON script (settings.simulator_script), the real
AMI bridge, ACD core and service, hub, CRM and /api/acd/disposition.  The
database holds demo-like queues and people and one known customer,
陈建国 on 13912345678.

`FakeStack` keeps the FakeCore/FakeGateway (tests/realtime/fakes.py) for the
wallboard's supervision and reconnect tests, which need states the
simulator does not script (an agent 20 minutes into a break, actions
recorded rather than carried out).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from callcenter.acd.models import Queue, default_dispositions
from sqlalchemy import select

from callcenter.auth.models import Role, Skill, User
from callcenter.auth.service import hash_password
from callcenter.crm import service as crm
from callcenter.crm.models import TicketKind
from callcenter.db import Base, Database

from ..conftest import make_settings, run_sync
from ..livesrv import LiveServer
from .fakes import FakeCore, install

PASSWORD = "demo-password"
CUSTOMER_NUMBER = "13912345678"
CUSTOMER = {"name": "陈建国", "address": "阳光花园 3 栋", "unit": "3-2-501", "grade": "A", "tier": "vip",
            "account_manager": "李经理", "notes": "上次报修厨房漏水，已上门"}


async def _seed(url: str, customer: bool, queues: dict[str, dict[str, Any]] | None = None) -> None:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    h = hash_password(PASSWORD)
    async with db.sessions() as s:
        s.add_all([
            Queue(name="repairs", display_name="报修", display_name_en="Repairs", sl_threshold_s=20, wrap_up_s=60,
                  dispositions=default_dispositions()),
            Queue(name="complaints", display_name="投诉", display_name_en="Complaints", sl_threshold_s=20, wrap_up_s=90,
                  dispositions=default_dispositions()),
            User(username="agent01", display_name="王静", role=Role.agent, interface="PJSIP/8001", password_hash=h,
                 skills=[Skill(queue="repairs", penalty=0), Skill(queue="complaints", penalty=2)]),
            User(username="agent02", display_name="李伟", role=Role.agent, interface="PJSIP/8002", password_hash=h,
                 skills=[Skill(queue="complaints", penalty=0)]),
            User(username="lead", display_name="班长 周敏", role=Role.team_lead, interface="PJSIP/7001",
                 password_hash=h, skills=[Skill(queue="repairs", penalty=0), Skill(queue="complaints", penalty=0)]),
            User(username="lead2", display_name="组长 何平", role=Role.team_lead, interface="PJSIP/7002",
                 password_hash=h, skills=[Skill(queue="repairs", penalty=0)]),
        ])  # fmt: skip
        await s.flush()
        # "lead" leads the team both agents are in; "lead2" leads no team.
        from callcenter.teams.models import Team, TeamLead, TeamMember

        users = {u.username: u.id for u in (await s.execute(select(User))).scalars()}
        team = Team(name="一组", leads=[TeamLead(user_id=users["lead"])])
        s.add(team)
        await s.flush()
        s.add_all([TeamMember(team_id=team.id, user_id=users["agent01"]), TeamMember(team_id=team.id, user_id=users["agent02"])])
        for name, fields in (queues or {}).items():
            q = await s.get(Queue, name) or next(o for o in s.new if isinstance(o, Queue) and o.name == name)
            for k, v in fields.items():
                setattr(q, k, v)
        if customer:
            from zoneinfo import ZoneInfo

            c = await crm.create_customer(s, {**CUSTOMER, "phones": [CUSTOMER_NUMBER]}, ZoneInfo("Asia/Shanghai"), "")
            await crm.create_ticket(s, TicketKind.repair, "厨房漏水复查", c.id, CUSTOMER_NUMBER, "", None, "")
        await s.commit()
    await db.dispose()


class LiveStack:
    """The real stack on a scripted simulator; time 0 of the script is the server's start."""

    def __init__(
        self, tmp_path: Path, script: list[dict[str, Any]], *, url: str | None = None, record: bool = False,
        queues: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """`url`: an empty database (the `db_url` fixture, both backends; SQLite
        in tmp_path if not given).  `queues` overrides queue settings (e.g.
        {"repairs": {"sl_threshold_s": 4}})."""
        url = url or f"sqlite+aiosqlite:///{tmp_path}/rt.db"
        run_sync(lambda: _seed(url, customer=True, queues=queues))
        script_path = tmp_path / "script.json"
        script_path.write_text(json.dumps(script, ensure_ascii=False), encoding="utf-8")
        self.capture = tmp_path / "capture.ami" if record else None
        settings = make_settings(database_url=url, simulator=True, simulator_script=script_path,
                                 simulator_record=self.capture, recordings_dir=tmp_path / "recordings")
        self.started = time.time()
        self.server = LiveServer(settings).start()
        self.app = self.server.app
        self.acd = self.app.state.acd
        self.pbx = self.app.state.simulator.pbx

    def on_sim(self, fn: Any, *args: Any) -> Any:
        """Run `fn(*args)` on the server's loop (the simulator and the core live there)."""

        async def run() -> Any:
            return fn(*args)

        return self.server.call(run())

    def stop(self) -> None:
        self.server.stop()


class FakeStack:
    def __init__(self, tmp_path: Any) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path}/rt.db"
        run_sync(lambda: _seed(url, customer=False))
        self.server = LiveServer(make_settings(database_url=url)).start()
        self.app = self.server.app
        core = FakeCore({"repairs": {"sl_threshold_s": 20, "wrap_up_s": 60},
                         "complaints": {"sl_threshold_s": 20, "wrap_up_s": 90}})
        self.acd, self.gateway = self.server.call(self._install(core))

    async def _install(self, core: FakeCore) -> Any:
        return install(self.app, core)

    def drive(self, method: str, *args: Any) -> Any:
        """Push a change through the fake core on the server's loop."""

        async def run() -> Any:
            return self.acd.do(method, *args)

        return self.server.call(run())

    def stop(self) -> None:
        self.server.stop()


async def sign_in(page: Any, base: str, username: str, next_path: str) -> None:
    await page.goto(f"{base}/login?next={next_path}")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#submit")
    await page.wait_for_url(f"**{next_path}")
