"""Validation at the edge (issue 13): the inputs behind the 5xx answers
schemathesis found, each a 422 naming the field now, and nothing stored."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from callcenter.auth.models import Role
from callcenter.crm.models import Customer


async def _customer(client, agent) -> int:  # noqa: ANN001
    r = await client.post("/api/customers", json={"name": "陈大文", "phones": ["13800138000"], "tags": ["业主"]}, headers=agent.headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/qa/evaluations/413046921426777079808", "eval_id"),
        ("/api/customers/9223372036854775808", "customer_id"),
        ("/api/users/2147483648", "user_id"),
        ("/api/acd/calls?offset=1180591620717411303424", "offset"),
        ("/api/customers?page=4611686018427387904", "page"),
        ("/api/audit?before_id=99999999999999999999", "before_id"),
        ("/api/qa/calls?date_from=0001-01-01", "date_from"),
        ("/api/qa/calls?date_to=9999-12-31", "date_to"),
        ("/api/callbacks?day=9999-12-31", "day"),
        ("/api/acd/calls?since=0001-01-01T00:00:00%2B08:00", "since"),
        ("/api/acd/calls?until=2026-01-01T00:00:00", "until"),
    ],
)
async def test_out_of_range_ids_pages_and_dates_are_422_naming_the_field(client, make_user, url, field):
    admin = await make_user(Role.admin)
    r = await client.get(url, headers=admin.headers)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field], r.json()


@pytest.mark.parametrize("field", ["name", "unit", "address", "tier", "notes", "grade", "tags", "phones", "language"])
async def test_patching_null_into_a_customer_is_refused_and_nothing_is_stored(client, make_user, db, field):
    agent = await make_user(Role.agent)
    cid = await _customer(client, agent)
    r = await client.patch(f"/api/customers/{cid}", json={field: None}, headers=agent.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text
    # searching still works for everyone, and the row is as it was
    assert (await client.get("/api/customers", params={"q": "陈"}, headers=agent.headers)).status_code == 200
    async with db.sessions() as s:
        c = (await s.execute(select(Customer).where(Customer.id == cid))).scalar_one()
    assert c.tags == ["业主"] and c.name == "陈大文"


async def test_null_clears_only_what_may_be_empty(client, make_user):
    lead = await make_user(Role.team_lead)
    agent = await make_user(Role.agent)
    cid = await _customer(client, agent)
    r = await client.patch(f"/api/customers/{cid}", json={"priority_until": "2030-01-01T00:00:00+08:00"}, headers=lead.headers)
    assert r.status_code == 200 and r.json()["priority_until"]
    r = await client.patch(f"/api/customers/{cid}", json={"priority_until": None}, headers=lead.headers)
    assert r.status_code == 200 and r.json()["priority_until"] is None
    r = await client.patch(f"/api/customers/{cid}", json={"priority_until": "2030-01-01T00:00:00"}, headers=lead.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "priority_until"


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "field"),
    [
        ("GET", "/api/customers", {"params": {"q": "陈\x00"}}, "q"),
        ("GET", "/api/acd/calls", {"params": {"agent": "PJSIP/80\x0001"}}, "agent"),
        ("GET", "/api/qa/calls", {"params": {"caller": "\x00"}}, "caller"),
        ("GET", "/api/audit", {"params": {"action": "x\x00"}}, "action"),
        ("POST", "/api/customers", {"json": {"name": "陈\x00大文", "phones": ["13800138000"]}}, "name"),
        ("POST", "/api/customers", {"json": {"name": "陈大文", "phones": ["13800138000"], "tags": ["a", "b\x00"]}}, "tags.1"),
        ("POST", "/api/tickets", {"json": {"kind": "repair", "subject": "漏水\x00"}}, "subject"),
        ("GET", "/api/routing/decisions/1700.1%00", {}, "path"),
        ("GET", "/hooks/route", {"params": {"uniqueid": "1.1", "caller": "138\x00"}}, "caller"),
    ],
)
async def test_nul_bytes_are_refused_naming_the_field(client, make_user, settings, method, url, kwargs, field):
    admin = await make_user(Role.admin)
    headers = {**admin.headers, "X-Hook-Secret": settings.hook_secret}
    r = await client.request(method, url, headers=headers, **kwargs)
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [{"field": field, "message": "NUL bytes (\\u0000) are not allowed"}]


async def test_a_nul_byte_in_a_patch_stores_nothing(client, make_user, db):
    agent = await make_user(Role.agent)
    cid = await _customer(client, agent)
    r = await client.patch(f"/api/customers/{cid}", json={"notes": "ok\x00"}, headers=agent.headers)
    assert r.status_code == 422
    async with db.sessions() as s:
        assert (await s.get(Customer, cid)).notes == ""


async def test_a_huge_csv_cell_is_a_row_error_not_a_500(client, make_user):
    admin = await make_user(Role.admin)
    csv = "name,phones,notes\n林芳,13800000001,ok\n王伟,13800000002,\"" + "x" * 140_000 + "\"\n"
    r = await client.post("/api/customers/import", files={"file": ("c.csv", csv.encode(), "text/csv")}, headers=admin.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["imported"] == 1 and "field larger than field limit" in body["errors"][0]["reason"]


async def test_the_422_body_is_what_the_openapi_documents(app, client, make_user):
    from jsonschema_rs import Draft202012Validator  # what schemathesis validates with

    admin = await make_user(Role.admin)
    spec = app.openapi()
    schema = spec["components"]["schemas"]["HTTPValidationError"]
    resolver_spec = {**schema, "$defs": {"FieldError": spec["components"]["schemas"]["FieldError"]}}
    resolver_spec = _local_refs(resolver_spec)
    for r in (
        await client.get("/api/customers/0", headers=admin.headers),  # schema: id >= 1
        await client.get("/api/acd/calls", params={"until": "2026-01-01T00:00:00"}, headers=admin.headers),  # a 422 raised in code
        await client.post("/api/users", json={"username": "x", "password": "password", "display_name": "x", "role": "agent"}, headers=admin.headers),
    ):
        assert r.status_code == 422
        Draft202012Validator(resolver_spec).validate(r.json())
        assert isinstance(r.json()["detail"], str) and r.json()["errors"]
    op = spec["paths"]["/api/customers/{customer_id}"]["get"]["responses"]["422"]
    assert op["content"]["application/json"]["schema"]["$ref"].endswith("/HTTPValidationError")


def _local_refs(obj):  # noqa: ANN001, ANN202
    if isinstance(obj, dict):
        return {k: (v.replace("#/components/schemas/", "#/$defs/") if k == "$ref" else _local_refs(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_local_refs(v) for v in obj]
    return obj


async def test_erlang_is_bounded_and_the_loop_stays_free(client, make_user):
    """The request that took the server down: refused at once (its load
    needs more agents than any centre), and a heavy but valid one runs in
    a thread under a time budget while /healthz keeps answering."""
    lead = await make_user(Role.team_lead)
    r = await client.get("/api/erlang", params={"calls": 1_000_000, "aht_s": 86_400, "interval_s": 60}, headers=lead.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "calls"
    heavy = asyncio.create_task(
        client.get("/api/erlang", params={"calls": 1_000_000, "aht_s": 8.99, "interval_s": 1800, "patience_s": 86_400}, headers=lead.headers)
    )
    pings = 0
    while not heavy.done():
        assert (await client.get("/healthz")).status_code == 200
        pings += 1
        await asyncio.sleep(0)
    r = heavy.result()
    assert r.status_code in (200, 422), r.text
    assert pings > 1  # /healthz was answered while the calculation ran
