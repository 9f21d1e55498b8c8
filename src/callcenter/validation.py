"""Validation at the edge: bad input is a 422 naming the field, before it
reaches a query, so a database never sees a value its column cannot hold.

* `Id`, `Offset`, `Page`, `Limit`: integers bounded by the column types
  (INTEGER is 32-bit on PostgreSQL) and pagination bounded so it stays cheap;
* `Day`, `Moment`: dates and times in a sane range (1970-2199), times with
  a zone;
* `RefuseNul`: NUL bytes in the path, the query string, a JSON or form
  body are refused (PostgreSQL cannot store them) with a 422 naming the
  field;
* `ErrorOut`: the one 422 body, {"detail": "field: why; ...", "errors":
  [{"field", "message"}]}, documented as such in the OpenAPI;
* a database DataError (a value out of its column's range that slipped
  through) is a 422 too, never a 500.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy.exc import DataError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("callcenter.http")

INT32_MAX = 2**31 - 1
MAX_OFFSET = 1_000_000
MIN_DAY = date(1970, 1, 1)
MAX_DAY = date(2199, 12, 31)

Id = Annotated[int, Path(ge=1, le=INT32_MAX, description="id (1 .. 2^31-1)")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Page = Annotated[int, Query(ge=1, le=100_000)]


def _day(v: date) -> date:
    if not MIN_DAY <= v <= MAX_DAY:
        raise ValueError(f"must be between {MIN_DAY} and {MAX_DAY}")
    return v


def _moment(v: datetime) -> datetime:
    if v.tzinfo is None:
        raise ValueError("give a time zone, e.g. 2026-01-01T00:00:00+08:00")
    _day(v.date())
    return v


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omittable(**kwargs: Any) -> Any:
    """A PATCH field that may be left out but never sent as null: its
    column cannot be empty.  Use as `name: str = omittable(max_length=128)`
    and read the body with model_dump(exclude_unset=True)."""
    return Field(None, json_schema_extra=_no_default, **kwargs)


Day = Annotated[date, AfterValidator(_day)]
Moment = Annotated[datetime, AfterValidator(_moment)]


# --- the 422 body ----------------------------------------------------------------


class FieldError(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    """Every 4xx/5xx body: `detail` for people and scripts, `code` (and the
    values it names in `params`) for the pages, which show the code's text
    in the user's language (web/static/common/errors.js); a 422 also lists
    `errors`."""

    detail: str
    code: str = ""
    params: dict[str, Any] | None = None
    errors: list[FieldError] = []


def unprocessable(errors: list[dict[str, str]]) -> JSONResponse:
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return JSONResponse({"detail": summary, "code": "invalid", "errors": errors}, status_code=422)


def _field_of(detail: str) -> str:
    head, sep, _ = detail.partition(": ")
    return head if sep and head.replace(".", "").replace("_", "").isalnum() else "body"


def install(app: FastAPI) -> None:
    """The 422 handlers and the OpenAPI that documents them."""

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        """A 422 that names each bad parameter in plain words."""
        errors = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header", "cookie")]
            errors.append({"field": ".".join(loc) or "body", "message": str(err.get("msg", "invalid"))})
        return unprocessable(errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """As FastAPI's own, but a 422 raised in code ("field: why") gets
        the same `errors` list as a schema failure."""
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail, ensure_ascii=False)
        body: dict[str, Any] = {"detail": detail, "code": getattr(exc, "code", None) or ("invalid" if exc.status_code == 422 else f"http_{exc.status_code}")}
        if getattr(exc, "params", None):
            body["params"] = exc.params  # type: ignore[attr-defined]
        if exc.status_code == 422:
            body["errors"] = [{"field": _field_of(detail), "message": detail.partition(": ")[2] or detail}]
        resp = JSONResponse(body, status_code=exc.status_code)
        if exc.headers:
            resp.headers.update(exc.headers)
        return resp

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> JSONResponse:
        log.warning("database refused a value: %s", str(exc.orig)[:200] if exc.orig else exc)
        return unprocessable([{"field": "body", "message": "a value is out of range for where it is stored"}])

    @app.exception_handler(StaleDataError)
    async def stale(request: Request, exc: StaleDataError) -> JSONResponse:
        """Two people changed one versioned row (a work order) at once: the
        second write finds the version moved on (optimistic versioning)."""
        return JSONResponse({"detail": "version: changed by someone else meanwhile; reload it and try again", "code": "http_409"}, status_code=409)

    @app.exception_handler(OverflowError)
    async def overflow(request: Request, exc: OverflowError) -> JSONResponse:
        """SQLite's driver raises this (not a DataError) for an integer
        beyond 64 bits that got past the schema."""
        log.warning("a number out of range reached the database: %s", exc)
        return unprocessable([{"field": "body", "message": "a number is out of range"}])

    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = base_openapi()
        comps = schema.setdefault("components", {}).setdefault("schemas", {})
        comps["FieldError"] = FieldError.model_json_schema()
        error = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        error.pop("$defs", None)
        comps["HTTPValidationError"] = error
        comps.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# --- NUL bytes ------------------------------------------------------------------------


def _nul_in_json(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path or "body" if "\x00" in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            where = f"{path}.{k}" if path else str(k)
            if "\x00" in str(k):
                return where
            found = _nul_in_json(v, where)
            if found:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = _nul_in_json(v, f"{path}.{i}" if path else str(i))
            if found:
                return found
    return None


class RefuseNul:
    """ASGI middleware: a NUL byte anywhere a string comes in is a 422
    naming the field (query parameter, JSON path, form field or "path").
    Cheap: bodies are scanned only when they hold a NUL or its JSON escape."""

    def __init__(self, app: ASGIApp, max_body: int = 4 * 1024 * 1024) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        if b"%00" in raw_path or "\x00" in scope["path"]:
            await self._refuse(scope, receive, send, "path")
            return
        qs: bytes = scope.get("query_string", b"")
        if b"%00" in qs or b"\x00" in qs:
            for k, v in parse_qsl(qs.decode("latin-1"), keep_blank_values=True):
                if "\x00" in k or "\x00" in v:
                    await self._refuse(scope, receive, send, k.replace("\x00", "") or "query")
                    return
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        ctype = next((v.decode("latin-1").lower() for k, v in scope["headers"] if k == b"content-type"), "")
        if not (ctype.startswith("application/json") or ctype.startswith("application/x-www-form-urlencoded")):
            await self.app(scope, receive, send)
            return
        # Read the (small) body, check it, then hand it on unchanged.
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_body:
                break
        body = b"".join(chunks)
        field = None
        if b"\x00" in body or b"\\u0000" in body or b"%00" in body:
            field = self._body_field(body, ctype)
        if field:
            await self._refuse(scope, receive, send, field)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": more}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _body_field(body: bytes, ctype: str) -> str | None:
        if ctype.startswith("application/x-www-form-urlencoded"):
            for k, v in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
                if "\x00" in k or "\x00" in v:
                    return k.replace("\x00", "") or "body"
            return None
        try:
            return _nul_in_json(json.loads(body), "")
        except ValueError:
            return "body" if b"\x00" in body else None

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, field: str) -> None:
        errors = [{"field": field, "message": "NUL bytes (\\u0000) are not allowed"}]
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": f"{field}: NUL bytes are not allowed"})
            return
        await unprocessable(errors)(scope, receive, send)
