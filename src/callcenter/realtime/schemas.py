"""Wire shapes: desktop and supervisor actions, pause reasons, wallboard
thresholds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from callcenter.auth.schemas import QUEUE_RE

NUMBER = r"^\+?[0-9*#]{1,32}$"
CODE = r"^[\w.-]{1,32}$"


class PauseReason(BaseModel):
    code: str = Field(pattern=CODE)
    zh: str = Field(min_length=1, max_length=32)
    en: str = Field(min_length=1, max_length=32)
    max_s: int = Field(900, ge=0, le=86400, description="longer than this raises a wallboard alert; 0 = no limit")


def default_pause_reasons() -> list[dict[str, object]]:
    return [
        {"code": "break", "zh": "小休", "en": "Break", "max_s": 900},
        {"code": "meal", "zh": "就餐", "en": "Meal", "max_s": 2700},
        {"code": "training", "zh": "培训", "en": "Training", "max_s": 0},
        {"code": "meeting", "zh": "会议", "en": "Meeting", "max_s": 0},
        {"code": "after-call", "zh": "后处理", "en": "Wrap-up", "max_s": 300},
        {"code": "outbound", "zh": "外呼", "en": "Outbound", "max_s": 0},
        {"code": "restroom", "zh": "如厕", "en": "Restroom", "max_s": 600},
    ]


class PauseReasonsIn(BaseModel):
    reasons: list[PauseReason] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _unique(self) -> PauseReasonsIn:
        codes = [r.code for r in self.reasons]
        if len(codes) != len(set(codes)):
            raise ValueError("reasons: codes must be unique")
        return self


class Band(BaseModel):
    """Colour bands of one KPI.  For 'higher is better' KPIs (SL) a value
    >= excellent is excellent, >= target on target, >= warning a warning,
    below that bad; for the others (abandon, waits) the comparisons flip."""

    excellent: float
    target: float
    warning: float
    higher_is_better: bool

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        seq = [self.excellent, self.target, self.warning]
        if seq != sorted(seq, reverse=self.higher_is_better):
            raise ValueError("excellent, target and warning must be in order of getting worse")
        return self


def default_thresholds() -> dict[str, object]:
    # Seeds: SL 80/20 (B §2.2, #21), abandon 3 % target, 5 % the limit (B #14).
    return {
        "kpi": {
            "service_level": {"excellent": 0.9, "target": 0.8, "warning": 0.7, "higher_is_better": True},
            "abandon_rate": {"excellent": 0.03, "target": 0.05, "warning": 0.08, "higher_is_better": False},
            "asa_s": {"excellent": 10, "target": 20, "warning": 40, "higher_is_better": False},
            "longest_wait_s": {"excellent": 20, "target": 40, "warning": 90, "higher_is_better": False},
        },
        "alerts": {"longest_wait_s": 60, "wrap_up_over_s": 30, "default_pause_max_s": 900},
        "window": "today",
    }


class Alerts(BaseModel):
    longest_wait_s: int = Field(60, ge=1, le=3600, description="alert when someone has waited longer")
    wrap_up_over_s: int = Field(30, ge=0, le=3600, description="alert when wrap-up runs past its limit by this much")
    default_pause_max_s: int = Field(900, ge=0, le=86400, description="pause limit for reasons without one")


class ThresholdsIn(BaseModel):
    kpi: dict[Literal["service_level", "abandon_rate", "asa_s", "longest_wait_s", "aht_s"], Band]
    alerts: Alerts = Alerts()
    window: Literal["15m", "60m", "interval", "today"] = "today"


class QueueLoginIn(BaseModel):
    queues: list[str] = Field(default_factory=list, max_length=50, description="empty = all my skills")

    @model_validator(mode="after")
    def _names(self) -> QueueLoginIn:
        for q in self.queues:
            if not QUEUE_RE.match(q):
                raise ValueError(f"queues: {q!r} is not a queue name")
        return self


class QueueLogoutIn(BaseModel):
    queues: list[str] | None = Field(None, max_length=50, description="omitted = every queue I am in")


class PauseIn(BaseModel):
    reason: str = Field(pattern=CODE)


class DialIn(BaseModel):
    number: str = Field(pattern=NUMBER)
    # Returning a callback: the task's id rides on the call (CC_CALLBACK_TASK).
    callback_task: int | None = Field(None, gt=0)


class TransferIn(BaseModel):
    kind: Literal["blind", "attended"]
    to: Literal["queue", "agent", "number"]
    target: str = Field(min_length=1, max_length=128)


class PopRefreshIn(BaseModel):
    call_id: str = Field(min_length=1, max_length=64)


class SpyIn(BaseModel):
    mode: Literal["listen", "whisper", "barge"]


class ForcePauseIn(BaseModel):
    reason: str = Field(pattern=CODE)
