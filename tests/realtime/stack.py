"""The stack the browser tests drive: a live server with demo-like queues
and people, the fake ACD/gateway installed, a CRM with one known customer,
and a stand-in for the ACD helper's POST /api/acd/disposition.

This is the one place to switch at integration: replace `Stack.drive`
(pushing into FakeCore) by the scripted simulator writing AMI events, and
drop `install`/the disposition stand-in; the page tests stay as they are.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from fastapi import HTTPException, Request

from callcenter.acd.models import Queue, default_dispositions
from callcenter.auth.models import Role, Skill, User
from callcenter.auth.service import hash_password
from callcenter.db import Base, Database

from ..conftest import make_settings, run_sync
from ..livesrv import LiveServer
from .fakes import FakeCore, install

PASSWORD = "demo-password"
CUSTOMER_NUMBER = "13912345678"
CUSTOMER = {"id": 7, "name": "陈建国", "address": "阳光花园 3 栋", "unit": "3-2-501", "grade": "A",
            "vip_tier": "金卡", "account_manager": "李经理", "notes": "上次报修厨房漏水，已上门"}


def fake_crm() -> types.ModuleType:
    mod = types.ModuleType("callcenter.crm.service")
    mod.lookups = []  # type: ignore[attr-defined]

    async def find_by_number(session: Any, number: str, default_area_code: str = "") -> dict[str, Any] | None:
        mod.lookups.append(number)  # type: ignore[attr-defined]
        return CUSTOMER if number == CUSTOMER_NUMBER else None

    async def recent_interactions(session: Any, number: str, default_area_code: str = "", limit: int = 5) -> list[dict[str, Any]]:
        if number != CUSTOMER_NUMBER:
            return []
        return [{"at": f"2026-11-{20 - i:02d}T09:{i:02d}:00", "kind": "来电", "summary": s}
                for i, s in enumerate(["厨房漏水报修", "回访满意", "物业费咨询", "停车位", "门禁卡", "投诉噪音"])][:limit]

    async def open_tickets(session: Any, customer_id: int) -> list[dict[str, Any]]:
        return [{"id": 1042, "title": "厨房漏水复查", "status": "处理中"}]

    mod.find_by_number, mod.recent_interactions, mod.open_tickets = find_by_number, recent_interactions, open_tickets  # type: ignore[attr-defined]
    return mod


class Stack:
    def __init__(self, tmp_path: Any) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path}/rt.db"
        self.dispositions: list[tuple[str, str, str]] = []
        run_sync(lambda: self._seed(url))
        self.crm = fake_crm()
        sys.modules["callcenter.crm.service"] = self.crm
        self.server = LiveServer(make_settings(database_url=url)).start()
        self.app = self.server.app
        core = FakeCore({"repairs": {"sl_threshold_s": 20, "wrap_up_s": 60},
                         "complaints": {"sl_threshold_s": 20, "wrap_up_s": 90}})
        self.acd, self.gateway = self.server.call(self._install(core))
        # In front of the real /api/acd/disposition, which knows nothing of the fake core.
        self.app.router.add_api_route("/api/acd/disposition", self._disposition, methods=["POST"])
        self.app.router.routes.insert(0, self.app.router.routes.pop())

    async def _install(self, core: FakeCore) -> Any:
        return install(self.app, core)

    async def _disposition(self, request: Request) -> dict[str, Any]:
        """Stand-in for the ACD helper's endpoint: code + note end wrap-up."""
        body = await request.json()
        if not body.get("code") or not body.get("note"):
            raise HTTPException(422, "code and note are required")
        for iface, a in self.acd.core.agents.items():
            if a.get("wrap_up") and a["wrap_up"]["call_id"] == body["call_id"]:
                self.dispositions.append((iface, body["code"], body["note"]))
                self.acd.do("disposition", iface)
                return {"ok": True}
        raise HTTPException(409, "no wrap-up for that call")

    @staticmethod
    async def _seed(url: str) -> None:
        db = Database(url)
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        h = hash_password(PASSWORD)
        async with db.sessions() as s:
            s.add_all([
                Queue(name="repairs", display_name="报修", display_name_en="Repairs", dispositions=default_dispositions()),
                Queue(name="complaints", display_name="投诉", display_name_en="Complaints", dispositions=default_dispositions()),
                User(username="agent01", display_name="王静", role=Role.agent, interface="PJSIP/8001", password_hash=h,
                     skills=[Skill(queue="repairs", penalty=0), Skill(queue="complaints", penalty=2)]),
                User(username="agent02", display_name="李伟", role=Role.agent, interface="PJSIP/8002", password_hash=h,
                     skills=[Skill(queue="complaints", penalty=0)]),
                User(username="lead", display_name="班长 周敏", role=Role.team_lead, interface="PJSIP/7001",
                     password_hash=h, skills=[Skill(queue="repairs", penalty=0), Skill(queue="complaints", penalty=0)]),
                User(username="lead2", display_name="组长 何平", role=Role.team_lead, interface="PJSIP/7002",
                     password_hash=h, skills=[Skill(queue="repairs", penalty=0)]),
            ])
            await s.commit()
        await db.dispose()

    def drive(self, method: str, *args: Any) -> Any:
        """Push a change through the fake core on the server's loop."""

        async def run() -> Any:
            return self.acd.do(method, *args)

        return self.server.call(run())

    def stop(self) -> None:
        self.server.stop()
        sys.modules.pop("callcenter.crm.service", None)


async def sign_in(page: Any, base: str, username: str, next_path: str) -> None:
    await page.goto(f"{base}/login?next={next_path}")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#submit")
    await page.wait_for_url(f"**{next_path}")
