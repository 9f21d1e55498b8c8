"""The `callcenter` command: serve, demo, migrate, user, config."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from callcenter.auth.models import Role
from callcenter.config import Settings, SettingsError, load_settings

app = typer.Typer(help="callcenter: contact-centre backend for Asterisk.", no_args_is_help=True, add_completion=False)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
app.add_typer(user_app, name="user")
customers_app = typer.Typer(help="Manage customers.", no_args_is_help=True)
app.add_typer(customers_app, name="customers")
recordings_app = typer.Typer(help="Call recordings.", no_args_is_help=True)
app.add_typer(recordings_app, name="recordings")


def _settings(**overrides: object) -> Settings:
    """Settings or a clear message and exit 2: never a traceback."""
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        typer.secho(f"callcenter: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT (Ctrl-C) or SIGTERM, from now on (install it
    before saying you are ready).  Handlers are installed rather than
    relying on Python's KeyboardInterrupt: a job started in the background
    of a non-interactive shell inherits SIGINT *ignored*, and Python then
    never raises it (the process ran on and leaked)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def _serve(settings: Settings) -> None:
    import uvicorn

    from callcenter.app import create_app
    from callcenter.logs import setup_logging

    if not _port_free(settings.bind_host, settings.bind_port):
        typer.secho(
            f"callcenter: port {settings.bind_port} on {settings.bind_host} is in use; "
            "set CALLCENTER_BIND_PORT to another port",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    setup_logging(settings.log_format, settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.bind_host,
        port=settings.bind_port,
        log_config=None,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        # The hub serialises a message once for many clients; per-client
        # deflate would redo the work per socket (bench/latency.py: 3.5x
        # lower throughput with it on, at 1,000 clients).
        ws_per_message_deflate=False,
    )


def _migrate(settings: Settings, queue_log_tables: list[str] | None = None) -> dict[str, list[str]]:
    """Upgrade the schema, then make this site's queue_log table (and any
    other named) like queue_log where it is missing."""
    from callcenter.migrate import ensure_queue_log_tables, upgrade

    names = [n for n in dict.fromkeys([settings.queue_log_table, *(queue_log_tables or ())]) if n != "queue_log"]
    try:
        upgrade(settings.database_url)
        return asyncio.run(ensure_queue_log_tables(settings.database_url, names)) if names else {}
    except Exception as exc:  # noqa: BLE001 - report, don't dump a traceback
        typer.secho(f"callcenter: migration failed: {type(exc).__name__}: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Bind address (overrides CALLCENTER_BIND_HOST)")] = None,
    port: Annotated[Optional[int], typer.Option(help="Bind port (overrides CALLCENTER_BIND_PORT)")] = None,
) -> None:
    """Run the server against the configured database and Asterisk."""
    overrides = {k: v for k, v in {"bind_host": host, "bind_port": port}.items() if v is not None}
    settings = _settings(**overrides)
    from callcenter.migrate import is_current, missing_tables

    try:
        current = is_current(settings.database_url)
        missing = asyncio.run(missing_tables(settings.database_url, [settings.queue_log_table])) if current else []
    except Exception as exc:  # noqa: BLE001
        typer.secho(f"callcenter: cannot reach the database: {type(exc).__name__}: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    if not current:
        typer.secho("callcenter: the database schema is not up to date; run `callcenter migrate`", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    if missing:
        typer.secho(
            f"callcenter: this site's queue_log table {missing[0]} (CALLCENTER_QUEUE_LOG_TABLE) does not exist; "
            "run `callcenter migrate` with this node's settings",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    _serve(settings)


@app.command()
def migrate(
    queue_log_table: Annotated[
        Optional[list[str]],
        typer.Option(
            "--queue-log-table",
            help="Also make this site's queue_log table like queue_log (repeatable); CALLCENTER_QUEUE_LOG_TABLE's always is",
        ),
    ] = None,
) -> None:
    """Upgrade the database schema to the latest revision, and make the
    configured per-site queue_log table (CALLCENTER_QUEUE_LOG_TABLE) if missing."""
    from callcenter.migrate import QUEUE_LOG_TABLE_RE

    settings = _settings()
    bad = [n for n in queue_log_table or () if not QUEUE_LOG_TABLE_RE.match(n)]
    if bad:
        typer.secho(f"callcenter: --queue-log-table {bad[0]!r}: lower-case letters, digits and _, 63 at most", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    made = _migrate(settings, queue_log_table)
    typer.echo(f"database is at the latest revision ({settings.database_url.split('://')[0]})")
    for name, what in made.items():
        typer.echo(f"queue_log table {name}: " + ("; ".join(what) if what else "already there"))


@app.command()
def demo(
    port: Annotated[Optional[int], typer.Option(help="HTTP port")] = None,
    agents: Annotated[Optional[int], typer.Option(help="Simulated agents")] = None,
) -> None:
    """Migrate, seed demo data, start the simulated Asterisk and serve."""
    overrides: dict[str, object] = {"simulator": True}
    if port is not None:
        overrides["bind_port"] = port
    if agents is not None:
        overrides["simulator_agents"] = agents
    settings = _settings(**overrides)
    _migrate(settings)
    from callcenter.demo import DEMO_LOGINS, seed, what_to_try

    asyncio.run(seed(settings))
    base = settings.public_url or f"http://{settings.bind_host}:{settings.bind_port}"
    lines = [
        "",
        "callcenter demo is starting",
        f"  login      {base}/login",
        f"  desktop    {base}/desktop",
        f"  wallboard  {base}/wallboard",
        f"  QA         {base}/qa",
        f"  admin      {base}/admin",
        f"  API docs   {base}/docs",
        f"  health     {base}/readyz",
        "",
        "  demo logins (username / password):",
        *[f"    {role:<10} {u} / {p}" for role, u, p in DEMO_LOGINS],
        "",
        *what_to_try(base),
        "",
    ]
    typer.echo("\n".join(lines))
    _serve(settings)


@app.command()
def simulate(
    port: Annotated[int, typer.Option(help="TCP port to listen on (0 = any free port)")] = 5038,
    host: Annotated[str, typer.Option(help="Bind address")] = "127.0.0.1",
    agents: Annotated[int, typer.Option(help="Simulated agents (demo names and skills)")] = 20,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed replays the same traffic")] = 7,
    script: Annotated[Optional[Path], typer.Option(help="JSON list of scripted calls instead of random traffic")] = None,
    record: Annotated[Optional[Path], typer.Option(help="Save the exact bytes sent to clients")] = None,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second")] = 1.0,
    version: Annotated[str, typer.Option(help="Asterisk version to imitate: 18 or 20")] = "18",
    occupancy: Annotated[float, typer.Option(help="Target agent occupancy of the random traffic (0-1)")] = 0.7,
    profile: Annotated[str, typer.Option(help="Arrivals by hour: flat or hotline")] = "flat",
    systemname: Annotated[str, typer.Option(help="asterisk.conf systemname: prefixes Uniqueids, adds SystemName")] = "",
    queue_log: Annotated[Optional[Path], typer.Option(help="Write app_queue's queue_log lines to this file")] = None,
) -> None:
    """Run a simulated Asterisk (AMI) until Ctrl-C, for trying the bridge without a PBX."""
    from callcenter.simulator.clock import RealClock
    from callcenter.simulator.service import build, load_script

    settings = _settings()
    if version not in ("18", "20"):
        typer.secho("callcenter: --version must be 18 or 20", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    if speed <= 0 or not 0 < occupancy <= 1 or profile not in ("flat", "hotline"):
        typer.secho("callcenter: --speed must be > 0, --occupancy in (0, 1], --profile flat or hotline", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    try:
        steps = load_script(script) if script else None
    except (OSError, ValueError) as exc:
        typer.secho(f"callcenter: --script: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None

    async def run() -> None:
        stop = stop_on_signals()
        out = record.open("wb") if record else None
        server = build(
            agents=agents, seed=seed, script=steps, recordings_dir=settings.recordings_dir,
            clock=RealClock(speed), version=version, record=out, occupancy=occupancy, profile=profile,
            username=settings.ami_user, secret=settings.ami_secret, systemname=systemname, queue_log=queue_log,
        )  # fmt: skip
        try:
            bound = await server.start(host, port)
        except OSError as exc:
            typer.secho(f"callcenter: cannot listen on {host}:{port}: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None
        what = f"script {script}" if script else f"{agents} agents, seed {seed}"
        typer.echo(f"simulated Asterisk {version} (AMI {server.version}) on {host}:{bound}, {what}; "
                   f"user {settings.ami_user}; recordings in {settings.recordings_dir}; Ctrl-C stops")  # fmt: skip
        try:
            await stop.wait()
        finally:
            await server.stop()
            if out:
                out.close()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    typer.echo("stopped")


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Log-in name")],
    role: Annotated[Role, typer.Option(help="agent, team_lead, qa or admin")],
    name: Annotated[str, typer.Option(help="Display name")],
    interface: Annotated[Optional[str], typer.Option(help="Asterisk interface, e.g. PJSIP/8001")] = None,
    queue: Annotated[Optional[list[str]], typer.Option(help="queue[:penalty], repeatable")] = None,
    password: Annotated[Optional[str], typer.Option(help="Password (prompted if omitted)")] = None,
) -> None:
    """Add a user."""
    from pydantic import ValidationError

    from callcenter.auth.schemas import UserCreate

    settings = _settings()
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    skills = []
    for q in queue or []:
        qname, _, pen = q.partition(":")
        skills.append({"queue": qname, "penalty": int(pen) if pen.isdigit() else 0})
    try:
        data = UserCreate(
            username=username, role=role, display_name=name, interface=interface, password=password, skills=skills
        )
    except ValidationError as exc:
        for err in exc.errors():
            typer.secho(f"callcenter: {'.'.join(map(str, err['loc']))}: {err['msg']}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None

    async def run() -> None:
        from callcenter.auth.service import UserConflict, audit, create_user
        from callcenter.db import Database

        db = Database(settings.database_url)
        try:
            async with db.sessions() as s:
                try:
                    await create_user(s, data)
                except UserConflict as exc:
                    typer.secho(f"callcenter: {exc}", fg=typer.colors.RED, err=True)
                    raise typer.Exit(1) from None
                audit(s, None, "user.create", username, role=role.value, via="cli")
                await s.commit()
        finally:
            await db.dispose()

    asyncio.run(run())
    typer.echo(f"added {role.value} {username}")


@user_app.command("list")
def user_list() -> None:
    """List users."""
    settings = _settings()

    async def run() -> None:
        from callcenter.auth.service import list_users
        from callcenter.db import Database

        db = Database(settings.database_url)
        try:
            async with db.sessions() as s:
                users = await list_users(s)
        finally:
            await db.dispose()
        typer.echo(f"{'username':<16} {'role':<10} {'interface':<14} {'active':<6} {'name':<20} queues")
        for u in users:
            queues = ",".join(f"{k.queue}:{k.penalty}" for k in u.skills)
            typer.echo(
                f"{u.username:<16} {u.role.value:<10} {u.interface or '-':<14} {'yes' if u.active else 'no':<6} {u.display_name:<20} {queues}"
            )

    asyncio.run(run())


@app.command()
def replay(
    file: Annotated[Path, typer.Argument(help="Capture: raw AMI wire text (CRLF or LF), a JSON list of AMI events, or domain events as JSON lines", exists=True, dir_okay=False, readable=True)],
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON document (calls, queues, agents)")] = False,
    config: Annotated[Optional[str], typer.Option(help="Per-queue SL settings, JSON or YAML")] = None,
    counts: Annotated[bool, typer.Option("--counts", help="Only count the domain events by type (bridge parse + normalise)")] = False,
) -> None:
    """Run a capture through the bridge's parser and normaliser and the ACD
    core, as fast as the CPU allows; report calls and KPIs."""
    if counts:
        _replay_counts(file)
        return
    from callcenter.acd.replay import replay_command

    try:
        typer.echo(replay_command(str(file), json_out, config))
    except (OSError, ValueError) as exc:
        typer.secho(f"callcenter: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


def _replay_counts(file: Path) -> None:
    import time
    from collections import Counter

    from callcenter.ami.normaliser import EventStream
    from callcenter.ami.replay import iter_capture

    stream = EventStream()
    counts: Counter[str] = Counter()
    start = time.perf_counter()
    try:
        for event in iter_capture(file, stream):
            counts[type(event).__name__] += 1
    except (ValueError, OSError) as exc:  # e.g. a JSON file that is not a list
        typer.secho(f"callcenter: cannot replay {file}: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    elapsed = time.perf_counter() - start
    for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        typer.echo(f"{name:<24} {n:>8}")
    typer.echo(f"{'total':<24} {sum(counts.values()):>8}")
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(stream.problems.counts.items())) or "none"
    typer.echo(
        f"{stream.frames} frames, {stream.ignored} events not used by the core, skipped: {skipped}; {elapsed * 1000:.1f} ms",
        err=True,
    )


@customers_app.command("import")
def customers_import(
    file: Annotated[str, typer.Argument(help="CSV file, UTF-8 or GBK, with a header row (name, phones, unit, grade, tier, ...)")],
    strict: Annotated[bool, typer.Option("--strict", help="Import nothing if any row is bad")] = False,
) -> None:
    """Import customers from CSV in one transaction; every bad row is listed."""
    from pathlib import Path

    settings = _settings()
    try:
        data = Path(file).read_bytes()
    except OSError as exc:
        typer.secho(f"callcenter: cannot read {file}: {exc.strerror}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None

    async def run():  # noqa: ANN202
        from callcenter.crm.imports import import_customers
        from callcenter.db import Database

        db = Database(settings.database_url)
        try:
            async with db.sessions() as s:
                report = await import_customers(s, data, settings.tz, settings.default_area_code, strict)
                if report.applied:
                    from callcenter.auth.service import audit

                    audit(s, None, "customers.import", file, imported=report.imported, errors=len(report.errors), via="cli")
                    await s.commit()
                return report
        finally:
            await db.dispose()

    try:
        report = asyncio.run(run())
    except ValueError as exc:
        typer.secho(f"callcenter: {file}: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    for line, reason in report.errors:
        typer.secho(f"{file}:{line}: {reason}", fg=typer.colors.YELLOW, err=True)
    if report.applied:
        typer.echo(f"imported {report.imported} of {report.rows} rows ({report.encoding}); {len(report.errors)} bad rows skipped")
    else:
        typer.secho(f"nothing imported: {len(report.errors)} bad rows and --strict", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
@app.command()
def erlang(
    calls: Annotated[float, typer.Option(help="Calls offered per interval")],
    aht: Annotated[float, typer.Option("--aht", help="Average handle time, seconds")],
    interval: Annotated[float, typer.Option(help="Interval length, seconds")] = 1800,
    target_sl: Annotated[Optional[float], typer.Option(help="Share answered within --threshold, e.g. 0.8")] = None,
    threshold: Annotated[float, typer.Option(help="Service-level threshold T, seconds")] = 20,
    target_asa: Annotated[Optional[float], typer.Option(help="Average speed of answer target, seconds")] = None,
    patience: Annotated[Optional[float], typer.Option(help="Mean caller patience, seconds (Erlang A)")] = None,
) -> None:
    """Agents needed for an interval (Erlang C, or Erlang A with --patience)."""
    from callcenter.acd import erlang as wfm

    try:
        best = wfm.staff(calls, interval, aht, target_sl=target_sl, threshold_s=threshold, target_asa_s=target_asa, patience_s=patience)
    except ValueError as exc:
        typer.secho(f"callcenter: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    model = "Erlang A" if patience else "Erlang C"
    typer.echo(f"{model}: {best.traffic_erlangs:.2f} Erlangs -> {best.agents} agents")
    typer.echo(f"{'agents':>6} {'SL':>7} {'ASA s':>8} {'P(wait)':>8} {'abandon':>8} {'occupancy':>9}")
    for n in range(max(1, best.agents - 2), best.agents + 3):
        s = (
            wfm.erlang_a_staffing(n, calls, interval, aht, threshold, patience)
            if patience
            else wfm.erlang_c_staffing(n, calls, interval, aht, threshold)
        )
        mark = " <" if n == best.agents else ""
        typer.echo(f"{n:>6} {s.service_level:>7.1%} {s.asa_s:>8.1f} {s.p_wait:>8.1%} {s.p_abandon:>8.1%} {s.occupancy:>9.1%}{mark}")


@recordings_app.command("purge")
def recordings_purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be deleted; delete nothing")] = False,
    days: Annotated[Optional[int], typer.Option(help="Override CALLCENTER_RECORDING_RETENTION_DAYS")] = None,
) -> None:
    """Delete recordings older than the retention period (the hourly job does the same)."""
    settings = _settings()
    keep = settings.recording_retention_days if days is None else days
    if keep <= 0:
        typer.echo("retention is 0 days (keep forever): nothing to purge")
        return

    async def run() -> None:
        from callcenter.auth.service import audit
        from callcenter.db import Database, utcnow
        from callcenter.qa.recordings import purge

        db = Database(settings.database_url)
        try:
            async with db.sessions() as s:
                result = await purge(s, settings.recordings_dir, keep, utcnow(), dry_run=dry_run)
                if result.files and not dry_run:
                    audit(s, None, "recording.purge", f"{len(result.files)} files", bytes=result.bytes, days=keep, via="cli")
                    await s.commit()
        finally:
            await db.dispose()
        for f in result.files:
            typer.echo(("would remove " if dry_run else "removed ") + f)
        verb = "would remove" if dry_run else "removed"
        typer.echo(f"{verb} {len(result.files)} recordings ({result.bytes / 1e6:.1f} MB) older than {keep} days from {settings.recordings_dir}")

    asyncio.run(run())


@app.command("config")
def show_config() -> None:
    """Print every setting, its environment variable and current value."""
    settings = _settings()
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if "secret" in name:
            value = "(set)" if not str(value).startswith("dev-only-") else "(development default)"
        typer.echo(f"CALLCENTER_{name.upper():<32} {value!s:<40} {field.description or ''}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
