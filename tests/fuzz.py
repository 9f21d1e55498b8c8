"""Schemathesis over the app's own /openapi.json, against a real server.

Every operation gets `examples` generated requests in each generation mode
(positive: valid by the schema; negative: invalid on purpose), sent as a
signed-in admin or agent.  Two checks must hold for every answer: no
server error (5xx), and a response that matches the schema documented for
its status code.  Failures are collected (not raised at the first), so a
run reports all of them; `Report.summary()` lists one line per cause.

The fuzzed user is put back before every request (active, same role, a
fresh token): the fuzzer changes passwords, signs itself out and
deactivates users, which is fine, but must not stop the run.  The PBX is a
fake that answers every action (tests/realtime/fakes), as a connected
Asterisk would: a 503 "AMI link down" is a true answer, not a server bug,
but it would hide the routes behind it.

Used by tests/test_fuzz.py (bounded, in CI) and bench/fuzz.py (deep).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis.errors import FailedHealthCheck, Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import select, update

from callcenter.auth.models import Role, Skill, User
from callcenter.auth.service import hash_password, issue_token
from callcenter.config import Settings

from .livesrv import LiveServer

CHECKS = [not_a_server_error, response_schema_conformance]


@dataclass
class Report:
    role: str
    cases: int = 0
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[tuple[str, str, int, str]] = field(default_factory=list)  # (operation, check, status, detail)

    @property
    def server_errors(self) -> int:
        return sum(1 for f in self.failures if f[2] >= 500)

    @property
    def schema_violations(self) -> int:
        return sum(1 for f in self.failures if f[2] < 500)

    def summary(self) -> str:
        causes = Counter((op, status, detail.splitlines()[0][:160] if detail else "") for op, _, status, detail in self.failures)
        lines = [f"{self.role}: {self.cases} requests in {self.seconds:.1f} s; {self.server_errors} server errors, "
                 f"{self.schema_violations} schema violations; statuses {dict(sorted(self.statuses.items()))}"]  # fmt: skip
        lines += [f"  {n:4d} x {op} -> {status}: {detail}" for (op, status, detail), n in causes.most_common()]
        return "\n".join(lines)


class Fuzzer:
    def __init__(self, settings: Settings, role: Role) -> None:
        from .realtime.fakes import FakeAcd, FakeCore, FakeGateway

        self.settings = settings
        self.role = role
        self.server = LiveServer(settings).start()
        app = self.server.app
        self.server.call(self._install(app, FakeCore, FakeAcd, FakeGateway))
        self.user_id: int = self.server.call(self._make_user())
        self.schema = schemathesis.openapi.from_dict(app.openapi())
        self.http = requests.Session()
        self.token: str | None = None

    @staticmethod
    async def _install(app: Any, fake_core: Any, fake_acd: Any, fake_gateway: Any) -> None:
        app.state.gateway = fake_gateway(fake_acd(fake_core(auto_on_call=True)))

    async def _make_user(self) -> int:
        async with self.server.app.state.db.sessions() as s:
            user = User(username=f"fuzz-{self.role.value}", display_name="模糊测试", role=self.role,
                        interface="PJSIP/7999", password_hash=hash_password("Fuzz-Password-2026"),
                        skills=[Skill(queue="repairs", penalty=0)])  # fmt: skip
            s.add(user)
            await s.commit()
            return user.id

    async def _restore(self) -> str:
        """The fuzzed user as it was, and a token valid for its current version."""
        async with self.server.app.state.db.sessions() as s:
            await s.execute(update(User).where(User.id == self.user_id).values(active=True, role=self.role))
            await s.commit()
            user = (await s.execute(select(User).where(User.id == self.user_id))).scalar_one()
            return issue_token(user, self.settings.jwt_secret, 3600)

    def run(
        self, examples: int, modes: tuple[GenerationMode, ...] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE), skip: tuple[str, ...] = ()
    ) -> Report:
        """`skip`: path prefixes left out (e.g. a route known to hang an old build)."""
        report = Report(self.role.value)
        started = time.perf_counter()
        for result in self.schema.get_all_operations():
            op = result.ok()
            if op.path.startswith(skip):
                continue
            for mode in modes:
                self._operation(op, mode, examples, report)
        report.seconds = time.perf_counter() - started
        return report

    def _operation(self, op: Any, mode: GenerationMode, examples: int, report: Report) -> None:
        name = f"{op.method.upper()} {op.path}"
        touches_users = op.path.startswith(("/api/users", "/api/auth", "/api/teams"))

        @hsettings(max_examples=examples, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])  # fmt: skip
        @given(op.as_strategy(generation_mode=mode))
        def one(case: Any) -> None:
            if self.token is None or touches_users:
                self.token = self.server.call(self._restore())
            headers = {"Authorization": f"Bearer {self.token}"}
            if op.path.startswith("/hooks/"):
                headers["X-Hook-Secret"] = self.settings.hook_secret
            try:
                response = case.call(base_url=self.server.url, session=self.http, headers=headers, timeout=30)
            except requests.RequestException as exc:
                report.failures.append((name, "transport", 599, f"{type(exc).__name__}: {exc}"))
                return
            report.cases += 1
            report.statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - a check failed: record it, keep going
                for failure in getattr(exc, "exceptions", None) or [exc]:
                    title = getattr(failure, "title", type(failure).__name__)
                    detail = getattr(failure, "message", "") or str(failure)
                    report.failures.append((name, title, response.status_code, f"{title}: {detail} [{case.path_parameters or ''} {case.query or ''}]"))

        try:
            one()
        except (Unsatisfiable, FailedHealthCheck):  # nothing to negate (no parameters, no body)
            pass

    def close(self) -> None:
        self.http.close()
        self.server.stop()
