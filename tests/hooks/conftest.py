"""Fixtures for the hook tests: the dialplan's credentials and the demo's
routing rules and business hours loaded into the running app."""

from __future__ import annotations

import pytest

from callcenter.config import Settings
from callcenter.demo import DEMO_HOURS, DEMO_ROUTE_RULES
from callcenter.hooks.schemas import Calendar, RuleIn
from callcenter.hooks.service import put_hours, replace_rules

from ..conftest import make_settings


@pytest.fixture
def settings(db_url: str, tmp_path) -> Settings:  # noqa: ANN001
    """A generous lookup budget, so a busy test machine never turns a
    behaviour test into a fallback; the budget tests set their own."""
    return make_settings(database_url=db_url, recordings_dir=tmp_path / "recordings", hook_budget_ms=3000)


@pytest.fixture
def hook_headers(settings) -> dict[str, str]:  # noqa: ANN001
    return {"X-Hook-Secret": settings.hook_secret}


@pytest.fixture
async def routing(app, db):  # noqa: ANN001, ANN201
    """The demo's IVR rules and hours, as the running app sees them."""
    async with db.sessions() as s:
        await replace_rules(
            s, [RuleIn(dnis=d, choice=c, queue=q, vip_queue=v, label=lbl) for d, c, q, v, lbl in DEMO_ROUTE_RULES]
        )
        for queue, cal in DEMO_HOURS.items():
            await put_hours(s, queue, Calendar.model_validate(cal))
        await s.commit()
    await app.state.routes.table.load()
    return app.state.routes


class FakeAcd:
    """Stands in for the ACD service's submit()."""

    def __init__(self) -> None:
        self.events: list[object] = []

    def submit(self, event: object) -> None:
        self.events.append(event)


@pytest.fixture
def acd(app) -> FakeAcd:  # noqa: ANN001
    app.state.acd = FakeAcd()
    return app.state.acd
