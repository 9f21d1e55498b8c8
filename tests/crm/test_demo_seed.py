"""The demo's customers, routing and hours: seeded once, idempotently."""

from __future__ import annotations

from sqlalchemy import func, select

from callcenter.crm.models import Customer, CustomerPhone, Tier
from callcenter.demo import DEMO_CUSTOMER_NUMBERS, DEMO_HOURS, DEMO_QUEUES, DEMO_ROUTE_RULES, seed
from callcenter.hooks.models import QueueHours, RouteRule


async def test_seed_is_idempotent_and_realistic(settings, db):
    await seed(settings)
    await seed(settings)
    async with db.sessions() as s:
        count = lambda model: s.execute(select(func.count()).select_from(model))  # noqa: E731
        assert (await count(Customer)).scalar_one() == len(DEMO_CUSTOMER_NUMBERS) == 300
        assert (await count(RouteRule)).scalar_one() == len(DEMO_ROUTE_RULES)
        assert (await count(QueueHours)).scalar_one() == len(DEMO_HOURS)
        numbers = set((await s.execute(select(CustomerPhone.number))).scalars())
        tiers = set((await s.execute(select(Customer.tier))).scalars())
        units = list((await s.execute(select(Customer.unit).limit(5))).scalars())
    assert set(DEMO_CUSTOMER_NUMBERS) <= numbers
    assert any(n.startswith("0755") for n in numbers)  # landlines too
    assert Tier.vip in tiers and "栋" in units[0]
    assert {q for q, *_ in DEMO_QUEUES} == set(DEMO_HOURS)
    assert {r[2] for r in DEMO_ROUTE_RULES} <= {q for q, *_ in DEMO_QUEUES}
