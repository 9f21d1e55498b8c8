"""What a screen-pop shows beyond the core's call view: the customer found
by the caller's number, their last interactions, open tickets, and the
routing hook's decision.  One lookup per call id (the hub caches it), so
the database sees one query batch per call, not one per client or update.

The CRM and the hooks are other capabilities; they are imported lazily so
a pop still works without them (an unknown caller pops as a new customer).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from callcenter.db import Database

CUSTOMER_FIELDS = (
    "id", "name", "address", "unit", "grade", "tier", "vip_tier", "account_manager", "notes", "phone", "company",
)
INTERACTION_FIELDS = (
    "id", "at", "started_at", "kind", "channel", "direction", "queue", "agent", "agent_name",
    "disposition", "summary", "note", "outcome", "call_id", "ticket_kind", "subject", "reason", "status",
)
TICKET_FIELDS = ("id", "number", "title", "subject", "status", "category", "priority", "created_at", "due_at", "kind", "resolve_by", "work_order")
ROUTE_FIELDS = ("queue", "priority", "reason", "choices", "details", "customer_id", "customer_name")


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def plain(obj: Any, fields: Iterable[str]) -> dict[str, Any] | None:
    """A JSON-ready dict of the named fields of a dict or an ORM object."""
    if obj is None:
        return None
    get = obj.get if isinstance(obj, dict) else (lambda k, d=None: getattr(obj, k, d))
    out: dict[str, Any] = {}
    for f in fields:
        v = get(f, None)
        if v is None:
            continue
        if isinstance(v, datetime | date):
            v = v.isoformat()
        elif hasattr(v, "value"):  # enums
            v = v.value
        elif isinstance(v, tuple):
            v = list(v)
        out[f] = v
    return out


class CustomerLookup:
    """`await lookup(call_id, call_view)` -> the pop's extra panel."""

    def __init__(self, db: Database, interactions: int = 5, default_area_code: str = "") -> None:
        self.db = db
        self.interactions = interactions
        self.area = default_area_code

    async def __call__(self, call_id: str, call: dict[str, Any]) -> dict[str, Any]:
        number = call.get("caller_number") or ""
        crm = _optional("callcenter.crm.service")
        hooks = _optional("callcenter.hooks.service")
        result: dict[str, Any] = {"customer": None, "interactions": [], "tickets": None, "route": None}
        route = call.get("route")
        async with self.db.sessions() as session:
            if crm is not None and number:
                customer = await crm.find_by_number(session, number, default_area_code=self.area)
                result["customer"] = plain(customer, CUSTOMER_FIELDS)
                if hasattr(crm, "recent_interactions"):
                    items = await crm.recent_interactions(session, number, default_area_code=self.area, limit=self.interactions)
                    result["interactions"] = [plain(i, INTERACTION_FIELDS) for i in items]
                if customer is not None and hasattr(crm, "open_tickets"):
                    tickets = await crm.open_tickets(session, result["customer"].get("id"))
                    result["tickets"] = [plain(t, TICKET_FIELDS) for t in tickets]
            if not route and hooks is not None and call.get("uniqueid"):
                route = await hooks.decision_for(session, call["uniqueid"])
        result["route"] = plain(route, ROUTE_FIELDS)
        result["crm"] = crm is not None
        return result
