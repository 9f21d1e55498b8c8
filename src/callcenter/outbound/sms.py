"""Text messages to customers, through a pluggable sender.

`LoggingSender` writes the message to the log (a centre without an SMS
contract still sees what would have gone out); `HttpSender` posts JSON to
an SMS gateway ({"to", "text", "ref"} with a bearer token) and treats any
2xx as accepted.  Both return a `Sent` the caller records.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("callcenter.outbound.sms")


@dataclass(frozen=True, slots=True)
class Sent:
    ok: bool
    provider: str
    detail: str = ""


class Sender(Protocol):
    async def send(self, to: str, text: str, ref: str = "") -> Sent: ...


class LoggingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []  # the last messages, for the desk and tests

    async def send(self, to: str, text: str, ref: str = "") -> Sent:
        log.info("sms to %s (%s): %s", to, ref, text)
        self.sent.append((to, text, ref))
        del self.sent[:-1000]
        return Sent(True, "log")


class HttpSender:
    """One real provider interface: POST {"to", "text", "ref"} as JSON."""

    def __init__(self, url: str, token: str = "", timeout_s: float = 5.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("sms_url must be an http(s) URL")
        self.url, self.token, self.timeout_s = url, token, timeout_s

    def _post(self, body: bytes) -> tuple[int, str]:
        req = urllib.request.Request(self.url, data=body, method="POST", headers={"Content-Type": "application/json"})
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310 - the configured gateway
                return resp.status, resp.read(2000).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(2000).decode("utf-8", "replace")

    async def send(self, to: str, text: str, ref: str = "") -> Sent:
        body = json.dumps({"to": to, "text": text, "ref": ref}, ensure_ascii=False).encode()
        try:
            status, detail = await asyncio.to_thread(self._post, body)
        except (OSError, TimeoutError) as exc:
            log.warning("sms to %s failed: %s", to, exc)
            return Sent(False, "http", str(exc))
        if not 200 <= status < 300:
            log.warning("sms to %s refused: HTTP %s %s", to, status, detail[:200])
        return Sent(200 <= status < 300, "http", f"{status} {detail[:200]}")


def make_sender(provider: str, url: str = "", token: str = "") -> Sender:
    return HttpSender(url, token) if provider == "http" else LoggingSender()
