"""Name/unit search: prefix hits from the index first, a capped substring
scan only when nothing starts with the text."""

from __future__ import annotations

from callcenter.crm import service
from callcenter.crm.models import Customer


async def test_prefix_first_then_contains_capped(db, monkeypatch):
    async with db.sessions() as s:
        s.add_all([Customer(name="王建国", unit="3栋1201"), Customer(name="建国路物业", unit="A-1"), Customer(name="Wang", unit="5栋")])
        s.add_all([Customer(name=f"张{i}", unit=f"9栋{i:03d}") for i in range(6)])
        await s.commit()
        names = lambda rows: sorted(c.name for c in rows)  # noqa: E731
        rows, total = await service.search_customers(s, "建国", 1, 20, "")
        assert (names(rows), total) == (["建国路物业"], 1)  # 王建国 does not start with it
        rows, total = await service.search_customers(s, "1201", 1, 20, "")
        assert (names(rows), total) == (["王建国"], 1)  # nothing starts with it: looks inside
        rows, total = await service.search_customers(s, "9栋", 1, 4, "")
        assert (len(rows), total) == (4, 6)
        rows, _ = await service.search_customers(s, "wang", 1, 20, "")
        assert names(rows) == ["Wang"]  # the substring fallback ignores case, on both backends
        monkeypatch.setattr(service, "CONTAINS_CAP", 3)
        rows, total = await service.search_customers(s, "栋0", 1, 20, "")
        assert total == 3 and len(rows) == 3
