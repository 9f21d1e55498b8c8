"""CSV import: UTF-8 and GBK, every bad row reported with its line, strict
mode, one transaction, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from callcenter.auth.models import Role
from callcenter.crm import imports
from callcenter.crm.imports import import_customers
from callcenter.crm.models import Customer, CustomerPhone, Tier

SH = ZoneInfo("Asia/Shanghai")

GOOD_AND_BAD = """姓名,电话,房号,等级,客户类型,客户经理,备注,标签
王建国,+86 138 0013 8000;010-6552 1234,3栋1201,A,大客户,钱经理,VIP业主,业主;楼长
,13900000000,1栋101,B,普通,,,
李秀兰,13700000000,2栋302,G,普通,,,
张伟,not-a-number,4栋401,C,普通,,,
陈静,13600000000,5栋501,C,超级,,,
刘洋,8613800138000,6栋601,C,普通,,,

赵敏,13500000000,"7栋701, 东侧",d,key,孙经理,,
"""


async def count(db) -> int:  # noqa: ANN001
    async with db.sessions() as s:
        return (await s.execute(select(func.count()).select_from(Customer))).scalar_one()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
async def test_valid_rows_go_in_and_every_bad_row_is_reported(db, encoding):
    async with db.sessions() as s:
        report = await import_customers(s, GOOD_AND_BAD.encode(encoding), SH, "")
        await s.commit()
    assert report.encoding == ("gb18030" if encoding == "gbk" else "utf-8")
    assert report.rows == 7 and report.imported == 2 and report.applied
    assert report.errors == [
        (3, "name is empty"),
        (4, "grade 'G' is not one of A-E"),
        (5, "phone 'not-a-number' is not a phone number"),
        (6, "tier '超级' is not one of 大客户, 主要, 普通, 一般, 潜在 (or vip, key, regular, general, potential)"),
        (7, "number 13800138000 is also on line 2"),
    ]
    async with db.sessions() as s:
        wang = (await s.execute(select(Customer).where(Customer.name == "王建国"))).scalar_one()
        assert sorted(p.number for p in wang.phones) == ["01065521234", "13800138000"]
        assert (wang.tier, wang.grade.value, wang.unit, wang.tags) == (Tier.vip, "A", "3栋1201", ["业主", "楼长"])
        zhao = (await s.execute(select(Customer).where(Customer.name == "赵敏"))).scalar_one()
        assert (zhao.tier, zhao.grade.value, zhao.next_follow_up_on is not None) == (Tier.key, "D", True)


async def test_strict_applies_nothing(db):
    async with db.sessions() as s:
        report = await import_customers(s, GOOD_AND_BAD.encode(), SH, "", strict=True)
        await s.commit()
    assert not report.applied and len(report.errors) == 5
    assert await count(db) == 0


async def test_numbers_already_in_the_database_are_reported(db):
    async with db.sessions() as s:
        await import_customers(s, "name,phones\n王静,13800138000\n".encode(), SH, "")
        await s.commit()
        report = await import_customers(s, "name,phones\n李娜,+8613800138000\n周杰,13900000001\n".encode(), SH, "")
        await s.commit()
    assert report.imported == 1 and report.errors[0][0] == 2 and "already belongs to customer" in report.errors[0][1]


async def test_a_crash_midway_leaves_nothing(db, monkeypatch):
    """Three chunks; the second one's phone insert fails: the first chunk's
    rows must not survive."""
    monkeypatch.setattr(imports, "_CHUNK", 2)
    rows = "".join(f"客户{i},1390000{i:04d}\n" for i in range(6))
    calls = {"n": 0}
    real = imports.insert

    def failing_insert(table):  # noqa: ANN001, ANN202
        if table is CustomerPhone.__table__:
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("disk full")
        return real(table)

    monkeypatch.setattr(imports, "insert", failing_insert)
    with pytest.raises(RuntimeError):
        async with db.sessions() as s:
            await import_customers(s, ("name,phones\n" + rows).encode(), SH, "")
            await s.commit()
    assert await count(db) == 0


async def test_undecodable_and_headerless_files(db):
    async with db.sessions() as s:
        with pytest.raises(ValueError, match="neither UTF-8, GB18030/GBK nor Big5"):
            await import_customers(s, b"name,phones\n\xff\xfe\xfa\n", SH, "")
        report = await import_customers(s, "foo,bar\n1,2\n".encode(), SH, "")
    assert report.errors == [(1, "header has no name or phones column (got: foo, bar)")]


async def test_upload_api(client, make_user):
    admin = await make_user(Role.admin)
    files = {"file": ("客户.csv", GOOD_AND_BAD.encode("gbk"), "text/csv")}
    r = await client.post("/api/customers/import", files=files, data={"strict": "true"}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["applied"] is False and r.json()["imported"] == 0
    r = await client.post("/api/customers/import", files=files, headers=admin.headers)
    body = r.json()
    assert body["applied"] and body["imported"] == 2 and body["encoding"] == "gb18030"
    assert [e["line"] for e in body["errors"]] == [3, 4, 5, 6, 7]
    r = await client.post("/api/customers/import", files={"file": ("x.csv", b"\xff\xfe\xfa", "text/csv")}, headers=admin.headers)
    assert r.status_code == 400 and r.json()["detail"].startswith("file:")


def test_cli_import(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    env = {**os.environ, "CALLCENTER_DATABASE_URL": url, "CALLCENTER_ENV_FILE": "/nonexistent"}

    def cc(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "callcenter", *args], env=env, capture_output=True, text=True, timeout=120)

    assert cc("migrate").returncode == 0
    f = tmp_path / "customers.csv"
    f.write_bytes(GOOD_AND_BAD.encode("gbk"))
    p = cc("customers", "import", str(f), "--strict")
    assert p.returncode == 1 and "nothing imported" in p.stderr and f"{f}:4: grade 'G'" in p.stderr
    p = cc("customers", "import", str(f))
    assert p.returncode == 0 and "imported 2 of 7 rows (gb18030); 5 bad rows skipped" in p.stdout
    p = cc("customers", "import", str(tmp_path / "missing.csv"))
    assert p.returncode == 2 and "cannot read" in p.stderr
