"""Log lines never carry a sign-in token (uvicorn logs a websocket's URL, query included)."""

from __future__ import annotations

import logging

from callcenter.logs import JsonFormatter, RedactTokens


def test_a_token_in_a_logged_url_is_redacted() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" [accepted]',
                               ("127.0.0.1:4242", f"/ws?token={token}&since=3"), None)  # fmt: skip
    assert RedactTokens().filter(record)
    line = JsonFormatter().format(record)
    assert token not in line
    assert "/ws?token=[redacted]&since=3" in line and "127.0.0.1:4242" in line


def test_other_lines_are_left_alone() -> None:
    record = logging.LogRecord("callcenter", logging.INFO, __file__, 1, "queue %s: %d waiting", ("repairs", 3), None)
    assert RedactTokens().filter(record)
    assert record.getMessage() == "queue repairs: 3 waiting"
