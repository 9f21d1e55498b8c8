"""Settings, read once at start-up from the environment (``CALLCENTER_*``)
and an optional env file.

Every knob an operator may need to turn lives here, so that the README's
configuration table can be generated from one place and a wrong value is
reported before anything starts, naming the setting and the reason.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_SECRET_PREFIX = "dev-only-"
DEV_JWT_SECRET = DEV_SECRET_PREFIX + "jwt-secret-change-me-in-production"
DEV_HOOK_SECRET = DEV_SECRET_PREFIX + "hook-secret-change-me-in-production"
DEV_AMI_SECRET = "callcenter"
MIN_SECRET_BYTES = 32
SECRETS = ("jwt_secret", "hook_secret", "ami_secret")
# The placeholders we ship (deploy/callcenter.env.example, asterisk/*.conf;
# tests/test_security_config.py keeps this list in step with those files),
# and the words that mark any value as one.
PLACEHOLDERS = frozenset(
    {
        "change-me",
        "change-me-openssl-rand-hex-32-change-me-openssl-rand",
        "change-me-to-the-dialplan-CC_SECRET-value",
        "change-me-to-the-manager-conf-secret",
        "change-me-to-CALLCENTER_HOOK_SECRET",
        "change-me-to-CALLCENTER_AMI_SECRET",
        DEV_JWT_SECRET,
        DEV_HOOK_SECRET,
        DEV_AMI_SECRET,
    }
)
PLACEHOLDER_WORDS = ("change-me", "changeme", "change_me", "placeholder", "replace-me", DEV_SECRET_PREFIX)


def secret_problem(value: str) -> str | None:
    """Why a secret is not fit for production, or None."""
    low = value.strip().lower()
    if value in PLACEHOLDERS or any(w in low for w in PLACEHOLDER_WORDS):
        return "is a development default or a placeholder from the example configuration"
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"is shorter than {MIN_SECRET_BYTES} bytes (make one with: openssl rand -hex 32)"
    if len(set(value)) < 8:
        return "has too few distinct characters to be random"
    return None


class Settings(BaseSettings):
    """All configuration.  Field descriptions feed `callcenter config`."""

    model_config = SettingsConfigDict(
        env_prefix="CALLCENTER_",
        env_file=os.environ.get("CALLCENTER_ENV_FILE", ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
    )

    _jwt_generated: bool = PrivateAttr(False)  # development: a random key, this process only

    # --- database -------------------------------------------------------
    database_url: str = Field(
        "sqlite+aiosqlite:///./callcenter.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db",
    )

    # --- HTTP server ----------------------------------------------------
    bind_host: str = Field("127.0.0.1", description="Address the HTTP server listens on")
    bind_port: int = Field(8080, ge=1, le=65535, description="Port the HTTP server listens on")
    public_url: str = Field("", description="Base URL browsers use, if behind a proxy (printed by demo)")

    # --- AMI ------------------------------------------------------------
    ami_enabled: bool = Field(True, description="Connect to Asterisk's AMI at start-up")
    ami_host: str = Field("127.0.0.1", description="Asterisk Manager Interface host")
    ami_port: int = Field(5038, ge=1, le=65535, description="AMI TCP port")
    ami_user: str = Field("callcenter", description="AMI user (manager.conf section)")
    ami_secret: str = Field(DEV_AMI_SECRET, description="AMI secret")
    ami_ping_interval_s: float = Field(5.0, gt=0, description="Seconds between keep-alive Pings")
    ami_dead_after_s: float = Field(15.0, gt=0, description="A link that has not answered a Ping for this long is declared dead and reconnected")
    ami_action_timeout_s: float = Field(5.0, gt=0, description="Seconds an AMI action may take before it fails")
    ami_backoff_initial_s: float = Field(0.5, gt=0, description="First reconnect delay; doubles per failed attempt (with jitter)")
    ami_backoff_max_s: float = Field(30.0, gt=0, description="Upper bound of the reconnect backoff")
    ami_probe_interval_s: float = Field(
        0.25, gt=0, le=5, description="While backing off, probe Asterisk's port this often (with jitter); reconnect as soon as it answers again"
    )

    # --- cluster (opt-in: several nodes on PostgreSQL + Redis) ------------
    redis_url: str = Field(
        "",
        description="redis://host:port/db: run as one node of a cluster (leader per PBX, websockets from Redis Streams); empty = one process does everything in memory",
    )
    node_id: str = Field("", max_length=100, description="This node's name in the cluster (logs, the lease row); empty = host name and process id")
    pbx: str = Field("default", pattern=r"^[A-Za-z0-9_.-]{1,32}$", description="Name of the Asterisk this node's AMI settings point at; calls are keyed by it")
    cluster_prefix: str = Field("cc", pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="Prefix of every Redis key the cluster uses")
    cluster_stream_len: int = Field(20_000, ge=100, description="Entries kept in each PBX's event stream (a client further behind gets a snapshot)")
    cluster_snapshot_s: float = Field(1.0, gt=0, le=60, description="The leader rewrites the current-state key this often when something changed")
    cluster_election_s: float = Field(0.5, gt=0, le=30, description="Followers try the leader lock this often; the leader checks its lock connection as often")
    queue_log_table: str = Field(
        "queue_log",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="The table this PBX's realtime queue_log goes to (extconfig.conf); with several PBXs one per site, e.g. queue_log_south, made like queue_log by `callcenter migrate`",
    )
    cluster_sites: str = Field(
        "",
        pattern=r"^([A-Za-z0-9_.-]{1,32}(,[A-Za-z0-9_.-]{1,32})*)?$",
        description="Every PBX (site) of this centre, comma-separated (e.g. north,south): the wallboard can then show the whole centre or one site; empty = this node's PBX only",
    )

    # --- secrets --------------------------------------------------------
    env: Literal["development", "production"] = Field(
        "development",
        description="production refuses to start with a development-default, placeholder or short (< 32 bytes) secret; development (the demo) signs tokens with a per-process random key unless CALLCENTER_JWT_SECRET is set",
    )
    jwt_secret: str = Field(DEV_JWT_SECRET, min_length=32, description="Key that signs user tokens (HS256)")
    jwt_ttl_s: int = Field(12 * 3600, gt=60, description="Lifetime of a user token, seconds (one shift)")
    hook_secret: str = Field(DEV_HOOK_SECRET, min_length=16, description="Shared secret the dialplan sends to /hooks/* (header X-Hook-Secret or ?secret=)")
    hook_allowlist: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated IPs/CIDRs allowed to call /hooks/*; empty = any",
    )

    # --- dialplan hooks and customers -----------------------------------
    hook_budget_ms: int = Field(300, ge=10, le=5000, description="/hooks/route answers within this many ms; a slower lookup gets the safe default route")
    hook_write_budget_ms: int = Field(
        1000, ge=50, le=10_000, description="/hooks/survey and /hooks/callback wait this long for the database, then spool the write (kept on disk, written when it is back) and answer"
    )
    hook_fallback_queue: str = Field("enquiries", min_length=1, description="Queue of the safe default route when no rule matches or the lookup fails")
    priority_boost_hours: int = Field(24, ge=0, description="A caller who abandoned or asked for a callback within this many hours is queued with raised priority (0 = off)")
    sms_provider: Literal["log", "http"] = Field("log", description="Customer SMS (callbacks, fee reminders): log = written to the log only; http = POST JSON to sms_url")
    sms_url: str = Field("", max_length=512, description="The SMS gateway's URL (sms_provider=http)")
    sms_token: str = Field("", max_length=512, description="Bearer token for the SMS gateway")
    callback_retries: int = Field(3, ge=1, le=10, description="Same-day callbacks: attempts before the explanatory SMS")
    callback_retry_s: int = Field(1800, ge=60, le=86400, description="Same-day callbacks: delay between attempts")
    callback_sync_s: float = Field(300.0, ge=0, le=86400, description="Every this many seconds, today's missed callers become callback tasks (0 = only on demand)")
    outbound_hotline: str = Field("", max_length=32, pattern=r"^[0-9]*$", description="Predictive dialling: the caller ID customers see (the hotline; extensions.conf CC_HOTLINE)")
    outbound_connect_s: float = Field(2.0, ge=0.5, le=30, description="Predictive dialling: how long an answered customer waits for an agent before the apology (an abandon)")
    outbound_ring_s: float = Field(30.0, ge=5, le=120, description="Predictive dialling: how long the customer's phone rings")
    outbound_max_dials_day: int = Field(0, ge=0, le=100, description="Frequency cap: dials of one number per local day, across all campaigns (0 = no cap)")
    outbound_max_dials_week: int = Field(0, ge=0, le=500, description="Frequency cap: dials of one number in 7 days, across all campaigns (0 = no cap)")
    callback_min_wait_s: float = Field(20.0, ge=0, le=300, description="Queue abandons shorter than this (and short abandons) are misdials, left off the same-day callback list")
    default_area_code: str = Field("", pattern=r"^0?[1-9][0-9]{1,3}$|^$", description="Area code (e.g. 010, 0755) assumed for 7-8 digit local landline numbers; empty = none")
    survey_scale: int = Field(5, ge=2, le=10, description="Highest post-call survey score (1..N)")

    spool_path: Path = Field(
        Path("./callcenter-spool.db"),
        description="Local SQLite file where writes from the PBX and the dialplan wait while the database is unreachable (survives restarts)",
    )

    worker_processes: int = Field(
        1, ge=0, le=32, description="Processes for long jobs (imports, QA sampling, purges, report builds), off the event loop; 0 = a thread (development only)"
    )

    # --- recordings -----------------------------------------------------
    recordings_dir: Path = Field(Path("./recordings"), description="Directory MixMonitor writes recordings into")
    recording_retention_days: int = Field(0, ge=0, description="Delete recordings older than N days; 0 keeps them forever")
    agents_can_play_own: bool = Field(False, description="Allow an agent to play back their own calls")
    qa_samples_per_agent: int = Field(5, ge=0, le=100, description="Calls the QA sampler picks per agent per month")
    qa_min_talk_s: float = Field(30.0, ge=0, description="Calls shorter than this (talk seconds) are never sampled for QA")

    # --- time -----------------------------------------------------------
    timezone: str = Field("Asia/Shanghai", description="IANA zone for business hours, 'today' and reports")
    day_reset: time = Field(time(0, 0), description="Local time at which 'today' KPIs reset (HH:MM)")
    workorder_policy: dict[str, dict[str, dict[str, str]]] = Field(
        default_factory=dict,
        description='Work-order deadlines over the seeds\' defaults, per kind and severity ("" = any), e.g. '
        '{"complaint": {"minor": {"resolve": "3wd"}}}; rules: eod, Nh (working hours), Nwd (working days), Nd (days)',
    )

    # --- log-in protection ----------------------------------------------
    login_max_failures: int = Field(5, ge=1, description="Failed log-ins allowed per user+address before a lock-out")
    login_max_failures_per_ip: int = Field(10, ge=1, description="Failed log-ins allowed from one address across all usernames (a password spray) before a lock-out")
    login_max_failures_per_user: int = Field(20, ge=1, description="Failed log-ins allowed for one username across all addresses before a lock-out")
    login_lockout_s: int = Field(300, ge=1, description="How long a lock-out lasts, seconds")
    password_min_score: int = Field(3, ge=0, le=4, description="Least zxcvbn strength (0-4) of a new password; 3 refuses common passwords, names and keyboard patterns")
    auth_cache_s: float = Field(300, ge=0, description="While the database is down, a user verified within this many seconds stays signed in (live views, websockets); 0 = off")
    ws_recheck_s: float = Field(10, gt=0, description="Seconds between checks of open websockets against the users table (revocations made on another node)")

    # --- privacy ----------------------------------------------------------
    phone_masked_roles: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["qa"],
        description="Comma-separated roles shown customers' phone numbers masked (138****8000); wallboards are always masked",
    )
    export_masked_roles: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["team_lead"],
        description="Comma-separated roles whose campaign list exports show numbers masked (138****8000), beside PHONE_MASKED_ROLES",
    )

    # --- demo / simulator -----------------------------------------------
    simulator: bool = Field(False, description="Run the built-in Asterisk simulator in-process (make demo)")
    simulator_port: int = Field(0, ge=0, le=65535, description="Port of the in-process simulator (0 = any free port)")
    simulator_agents: int = Field(20, ge=0, description="Simulated agents in the demo")
    simulator_seed: int = Field(7, description="Random seed of the demo traffic")
    simulator_script: Path | None = Field(
        None, description="JSON script (callcenter.simulator.traffic) the simulator runs instead of random traffic"
    )
    simulator_record: Path | None = Field(None, description="Save the simulator's exact AMI byte stream here (for `callcenter replay`)")
    simulator_queue_log: Path | None = Field(None, description="Also write the simulator's queue_log lines to this file (Asterisk's queue_log format)")
    simulator_queue_log_table: bool = Field(
        True, description="The simulator writes its queue_log rows to the database's queue_log table, as Asterisk's realtime queue_log does"
    )

    log_format: Literal["auto", "json", "console"] = Field("auto", description="auto = JSON unless stderr is a TTY")
    log_level: str = Field("INFO", description="Python logging level")

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, v: str) -> str:
        if not (v.startswith("sqlite+aiosqlite://") or v.startswith("postgresql+asyncpg://")):
            raise ValueError(
                "must use an async driver: 'sqlite+aiosqlite:///file.db' or 'postgresql+asyncpg://user@host/db'"
            )
        return v

    @field_validator("phone_masked_roles", "export_masked_roles", mode="before")
    @classmethod
    def _split_roles(cls, v: object) -> object:
        if isinstance(v, str):
            return [p.strip() for p in v.split(",") if p.strip()]
        return v

    @field_validator("phone_masked_roles", "export_masked_roles")
    @classmethod
    def _roles(cls, v: list[str]) -> list[str]:
        known = ("agent", "team_lead", "qa", "admin")
        for r in v:
            if r not in known:
                raise ValueError(f"{r!r} is not a role ({', '.join(known)})")
        return v

    @model_validator(mode="after")
    def _production(self) -> Settings:
        """Production refuses insecure secrets; development (the demo)
        never signs tokens with the published default key."""
        if self.env == "production":
            problems = self.insecure_secrets()
            if problems:
                raise ValueError(
                    "production refuses insecure secrets:\n"
                    + "\n".join(f"  CALLCENTER_{name.upper()}: {why}" for name, why in problems.items())
                )
        elif self.jwt_secret == DEV_JWT_SECRET:
            self.jwt_secret = secrets.token_hex(32)
            self._jwt_generated = True
        return self

    @property
    def sites(self) -> list[str]:
        """The centre's PBXs, this node's first (one site unless CALLCENTER_CLUSTER_SITES names others)."""
        named = [x for x in self.cluster_sites.split(",") if x]
        return [self.pbx, *(x for x in dict.fromkeys(named) if x != self.pbx)]

    @model_validator(mode="after")
    def _cluster(self) -> Settings:
        if self.redis_url:
            if not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
                raise ValueError("CALLCENTER_REDIS_URL must be redis://host:port/db (or rediss://, unix://)")
            if self.is_sqlite:
                raise ValueError("CALLCENTER_REDIS_URL (cluster mode) needs CALLCENTER_DATABASE_URL on PostgreSQL: the leader lock lives there")
        return self
    @field_validator("workorder_policy")
    @classmethod
    def _policy(cls, v: dict) -> dict:
        from callcenter.workorders.deadlines import BadRule, check_policy  # noqa: PLC0415

        try:
            check_policy(v)
        except BadRule as exc:
            raise ValueError(str(exc)) from None
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}; use an IANA name such as Asia/Shanghai") from None
        return v

    @field_validator("hook_allowlist", mode="before")
    @classmethod
    def _split(cls, v: object) -> object:
        if isinstance(v, str):
            return [p.strip() for p in v.split(",") if p.strip()]
        return v

    @field_validator("hook_allowlist")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for item in v:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR") from None
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def insecure_secrets(self) -> dict[str, str]:
        """Secret settings unfit for production -> why.  The database URL's
        password counts when it is a shipped placeholder."""
        out = {n: why for n in SECRETS if (why := secret_problem(getattr(self, n)))}
        password = make_url_password(self.database_url)
        if password and (password in PLACEHOLDERS or any(w in password.lower() for w in PLACEHOLDER_WORDS)):
            out["database_url"] = "its password is a placeholder from the example configuration"
        return out


def make_url_password(url: str) -> str | None:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).password
    except Exception:  # noqa: BLE001 - the URL validator reports a bad URL
        return None


class SettingsError(Exception):
    """A setting is wrong; the message names it and says why, for humans."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if not name:  # a check across settings: the message names them
                lines.append(f"  {msg}")
                continue
            env = "CALLCENTER_" + name.upper()
            shown = "<hidden>" if name in SECRETS else repr(err.get("input"))
            lines.append(f"  {env}: {msg} (got {shown})")
        raise SettingsError("invalid configuration:\n" + "\n".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
