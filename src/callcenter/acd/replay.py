"""`callcenter replay`: run a capture through the same core the live service
uses and report every call, each queue's KPIs and each agent's totals.

A capture is either raw AMI (read by the bridge's `callcenter.ami.replay.
iter_capture`, which yields domain events) or a file of domain events, one
JSON object per line (`{"type": "CallerJoined", "ts": ..., ...}`), which is
what the tests and the benchmark write.

At the end of the capture the clock is advanced by the longest wrap-up
limit plus the exit grace, so calls still in wrap-up or waiting for their
QUEUESTATUS are settled exactly as the live service would settle them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from callcenter.acd import events as ev
from callcenter.acd import kpi
from callcenter.acd.core import EXIT_GRACE_S, Core, CoreConfig, QueueConfig

CALL_KEYS = (
    "call_id",
    "queue",
    "caller_number",
    "caller_name",
    "entered_at",
    "answered_at",
    "ended_at",
    "wait_s",
    "talk_s",
    "hold_s",
    "wrap_up_s",
    "agent",
    "outcome",
    "short_abandon",
    "abandon_position",
    "kind",
    "direction",
    "sl_wait_s",
    "recording_file",
    "disposition",
    "disposition_note",
    "callee_number",
    "peer_agent",
)
QUEUE_KEYS = ("offered", "answered", "abandoned", "short_abandoned", "timeouts", "service_level", "abandon_rate", "asa_s", "aht_s", "avg_talk_s", "longest_wait_s",
              "callbacks_requested", "callbacks_made", "callbacks_reached", "callback_wait_s", "callback_delay_s")
ABANDON_MODES = ("against", "ignore", "favour")


def call_item(record: dict[str, Any]) -> dict[str, Any]:
    """A core record in the `replay --json` call shape."""
    item = {k: record.get(k) for k in CALL_KEYS}
    item["ring_attempts"] = [{"agent": a["agent"], "ring_s": a["ring_s"], "result": a["result"]} for a in record["ring_attempts"]]
    item["transfer"] = record["transfer"]
    return item


def settle_s(config: CoreConfig) -> float:
    limits = [q.wrap_up_s for q in config.queues.values()] + [config.default_queue.wrap_up_s]
    return max(limits) + EXIT_GRACE_S


def replay(events: Iterable[ev.Event], config: CoreConfig | None = None) -> dict[str, Any]:
    config = config or CoreConfig()
    core = Core(config)
    records: list[dict[str, Any]] = []
    last = None
    for e in events:
        records.extend(core.apply(e).records)
        last = e.ts if last is None else max(last, e.ts)
    if last is not None:
        records.extend(core.apply(ev.Tick(last + settle_s(config))).records)
    return report(core, records)


def report(core: Core, records: list[dict[str, Any]]) -> dict[str, Any]:
    queues = {}
    for name in core.queue_names():
        k = kpi.figures(core.queues[name].kpi.window("total", core.now))
        row = {key: k[key] for key in QUEUE_KEYS}
        row["sl_threshold_s"] = core.config.queue(name).sl_threshold_s
        queues[name] = row
    return {
        "calls": [call_item(r) for r in sorted(records, key=lambda r: (r["entered_at"], r["call_id"]))],
        "queues": queues,
        "agents": {iface: core.agent_totals(iface) for iface in sorted(core.agents)},
    }


# --- configuration ---------------------------------------------------------------


def load_config(path: str | Path) -> CoreConfig:
    """Per-queue SL settings from JSON or YAML: either {"queues": {name: {...}},
    "default": {...}} or just {name: {...}}.  Raises ValueError naming the field."""
    text = Path(path).read_text(encoding="utf-8")
    if str(path).endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError:  # pragma: no cover - pyyaml ships with the dev extras
            raise ValueError("reading YAML needs PyYAML (pip install pyyaml), or give the settings as JSON") from None
        data = yaml.safe_load(text)
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of queue names to settings")
    default = data.get("default") or {}
    queues = data["queues"] if isinstance(data.get("queues"), dict) else {k: v for k, v in data.items() if k != "default"}
    config = CoreConfig(default_queue=_queue_config("*", default, "default"))
    for name, settings in queues.items():
        config.queues[name] = _queue_config(name, settings or {}, f"queues.{name}", config.default_queue)
    return config


def _queue_config(name: str, raw: Any, where: str, base: QueueConfig | None = None) -> QueueConfig:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected a mapping of settings")
    base = base or QueueConfig(name)
    values: dict[str, Any] = {}
    for key in ("sl_threshold_s", "short_abandon_s", "wrap_up_s"):
        v = raw.get(key, getattr(base, key))
        if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
            raise ValueError(f"{where}.{key}: must be a number of seconds ≥ 0 (got {v!r})")
        values[key] = float(v)
    mode = raw.get("abandon_mode", base.abandon_mode)
    if mode not in ABANDON_MODES:
        raise ValueError(f"{where}.abandon_mode: must be one of {', '.join(ABANDON_MODES)} (got {mode!r})")
    unknown = set(raw) - {"sl_threshold_s", "short_abandon_s", "wrap_up_s", "abandon_mode"}
    if unknown:
        raise ValueError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    return QueueConfig(name=name, abandon_mode=mode, **values)


# --- domain events as JSON lines -------------------------------------------------


def event_to_dict(e: ev.Event) -> dict[str, Any]:
    return {"type": type(e).__name__, **dataclasses.asdict(e)}


_NESTED = {"members": ev.MemberSnapshot, "entries": ev.EntrySnapshot, "channels": ev.ChannelSnapshot}


def event_from_dict(d: dict[str, Any]) -> ev.Event:
    d = dict(d)
    cls = ev.EVENT_TYPES[d.pop("type")]
    for key, value in d.items():
        if key in _NESTED and cls is ev.Resync:
            d[key] = tuple(_NESTED[key](**x) for x in value)
        elif key == "rows" and cls is ev.QueueLogRows:
            d[key] = tuple(ev.QueueLogRow(**{**x, "data": tuple(x["data"])}) for x in value)
        elif isinstance(value, list):
            d[key] = tuple(tuple(x) if isinstance(x, list) else x for x in value)
    return cls(**d)


def write_events(path: str | Path, events: Iterable[ev.Event]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for e in events:
            f.write(json.dumps(event_to_dict(e), ensure_ascii=False) + "\n")


def read_events(path: str | Path) -> Iterator[ev.Event]:
    """Domain events from a JSON-lines file, or from a raw AMI capture through
    the bridge's reader."""
    path = Path(path)
    with open(path, encoding="utf-8", errors="replace") as f:
        first = f.readline().strip()
    if first.startswith("{") and '"type"' in first:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield event_from_dict(json.loads(line))
                    except (KeyError, TypeError, ValueError) as exc:
                        raise ValueError(f"{path}:{n}: not a domain event ({type(exc).__name__}: {exc})") from None
        return
    try:
        from callcenter.ami.replay import (
            iter_capture,  # the bridge's AMI capture reader
        )
    except ImportError:
        raise ValueError(f"{path}: not a domain-event file, and this build has no AMI capture reader") from None
    yield from iter_capture(path)


def replay_command(path: str, as_json: bool, config_path: str | None) -> str:
    """What `callcenter replay FILE [--json] [--config FILE]` prints."""
    config = load_config(config_path) if config_path else CoreConfig()
    result = replay(read_events(path), config)
    if as_json:
        return json.dumps(result, ensure_ascii=False, indent=1)
    lines = [f"{len(result['calls'])} calls"]
    for name, q in result["queues"].items():
        sl = "-" if q["service_level"] is None else f"{q['service_level']:.1%}"
        ab = "-" if q["abandon_rate"] is None else f"{q['abandon_rate']:.1%}"
        lines.append(
            f"  {name:<16} offered {q['offered']:>5}  answered {q['answered']:>5}  abandoned {q['abandoned']:>4}"
            f"  SL({q['sl_threshold_s']:g}s) {sl:>6}  abandon {ab:>6}  ASA {q['asa_s'] or 0:.1f}s  AHT {q['aht_s'] or 0:.1f}s"
        )
    return "\n".join(lines)
