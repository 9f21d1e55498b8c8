"""The `callcenter` command: serve, demo, migrate, user, config."""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Annotated, Optional

import typer

from callcenter.auth.models import Role
from callcenter.config import Settings, SettingsError, load_settings

app = typer.Typer(help="callcenter: contact-centre backend for Asterisk.", no_args_is_help=True, add_completion=False)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
app.add_typer(user_app, name="user")


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


def _migrate(settings: Settings) -> None:
    from callcenter.migrate import upgrade

    try:
        upgrade(settings.database_url)
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
    from callcenter.migrate import is_current

    try:
        current = is_current(settings.database_url)
    except Exception as exc:  # noqa: BLE001
        typer.secho(f"callcenter: cannot reach the database: {type(exc).__name__}: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    if not current:
        typer.secho("callcenter: the database schema is not up to date; run `callcenter migrate`", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    _serve(settings)


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the latest revision."""
    settings = _settings()
    _migrate(settings)
    typer.echo(f"database is at the latest revision ({settings.database_url.split('://')[0]})")


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
    from callcenter.demo import DEMO_LOGINS, seed

    asyncio.run(seed(settings))
    base = settings.public_url or f"http://{settings.bind_host}:{settings.bind_port}"
    lines = [
        "",
        "callcenter demo is starting",
        f"  login      {base}/login",
        f"  desktop    {base}/desktop",
        f"  wallboard  {base}/wallboard",
        f"  QA         {base}/qa",
        f"  API docs   {base}/docs",
        f"  health     {base}/readyz",
        "",
        "  demo logins (username / password):",
        *[f"    {role:<10} {u} / {p}" for role, u, p in DEMO_LOGINS],
        "",
    ]
    typer.echo("\n".join(lines))
    _serve(settings)


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
