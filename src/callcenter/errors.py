"""Errors the pages translate: every error answer carries a stable `code`
(and the values its message names in `params`), beside the English
`detail` for scripts and logs.  The browser shows the code's text in the
user's language (web/static/common/errors.js); an HTTPException raised
without a code gets `http_<status>`.  The body is written by
callcenter.validation's handlers (one shape, documented in the OpenAPI)."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class CodedError(HTTPException):
    """An HTTP error with a code the pages know, e.g. ``not_on_call``."""

    def __init__(self, status: int, error_code: str, detail: str, headers: dict[str, str] | None = None, **params: Any) -> None:
        super().__init__(status, detail, headers=headers)
        self.code = error_code
        self.params = params
