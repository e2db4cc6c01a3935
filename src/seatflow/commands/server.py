"""`serve`, `demo`, `get` (one request in-process) and `settings`."""

from __future__ import annotations

import asyncio
import errno
import json
import socket
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from seatflow import __version__
from seatflow.config import Settings, settings_table
from seatflow.i18n.cli import _

from ._common import database, fail, print_table, safe_url, settings

Host = Annotated[str, typer.Option(help=_("Address to listen on (0.0.0.0: every interface)."))]
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")  # uvicorn's names
Port = Annotated[int, typer.Option(min=1, max=65535, help=_("Port to listen on."))]


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise fail(_("port {port} on {host} is in use; stop the other server or pick another with --port")
                           .format(port=port, host=host)) from None
            raise fail(_("cannot listen on {host}:{port}: {reason}").format(host=host, port=port,
                                                                            reason=exc.strerror)) from None


def run_server(conf: Settings, *, host: str, port: int, workers: int = 1, log_level: str = "info") -> None:
    """Migrate, print where to go, and serve until Ctrl+C."""
    from seatflow import serving
    from seatflow.app import create_app
    from seatflow.asgi import freeze_startup_heap
    from seatflow.store.engine import Database, make_engine

    _check_port(host, port)
    with database(conf, migrate=True):
        pass
    conf.resolved_secret_key()  # made once here, so that every worker process signs sessions alike
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    base = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    typer.echo(_("Seatflow {version} at {url}/").format(version=__version__, url=base))
    typer.echo(_("  log in:   {url}/login").format(url=base))
    typer.echo(_("  API docs: {url}/docs").format(url=base))
    typer.echo(_("  database: {url}").format(url=safe_url(conf.resolved_database_url())))
    typer.echo(_("  home:     {path}").format(path=conf.resolved_home()))
    typer.echo(_("Press Ctrl+C to stop."), nl=True)
    if workers > 1:
        serving.run("seatflow.asgi:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level=log_level)
        return
    db = Database(make_engine(conf.resolved_database_url(), pool_size=conf.db_pool_size))
    try:
        app = create_app(conf, db=db)
        freeze_startup_heap()  # as every worker process of a multi-process server does (seatflow.asgi)
        serving.run(app, host=host, port=port, log_level=log_level)
    finally:
        db.dispose()


def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Annotated[int, typer.Option(min=1, max=256, help=_("Processes (use more with PostgreSQL)."))] = 1,
    log_level: Annotated[str, typer.Option(help=_("debug, info, warning or error."))] = "info",
) -> None:
    if log_level.lower() not in LOG_LEVELS:  # was a KeyError traceback from uvicorn after the banner
        raise typer.BadParameter(_("{value!r} is not a log level; use debug, info, warning or error").format(
            value=log_level), param_hint="'--log-level'")
    run_server(settings(), host=host, port=port, workers=workers, log_level=log_level.lower())


def demo(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help=_("Only build the demo center."))] = False,
    items: Annotated[int, typer.Option(min=4, max=100000, help=_("Items across the four projects."))] = 300,
    reset: Annotated[bool, typer.Option("--reset", help=_("Delete the demo center and build it again."))] = False,
) -> None:
    from seatflow import demo as demo_center

    conf = settings()
    if not no_serve:
        _check_port(host, port)  # before minutes of work, not after
    typer.echo(_("demo center in {path}").format(path=conf.resolved_home()))
    with database(conf, migrate=True) as db:
        center = demo_center.build(db, conf, items=items, reset=reset, log=typer.echo)
    typer.echo(_("built a new demo center") if center.created else _("reusing the existing demo center"))
    table = Table(title=_("Demo logins"))
    for header in (_("username"), _("role"), _("name"), _("password")):
        table.add_column(header)
    for login in center.logins:
        table.add_row(login.username, login.role, login.display_name,
                      login.password or _("(set before the demo; unchanged)"))
    print_table(table)
    typer.echo(", ".join(f"{slug}: {n}" for slug, n in center.items.items()))
    if no_serve:
        typer.echo(_("Start it with `seatflow demo` or `seatflow serve`."))
        return
    run_server(conf, host=host, port=port)


def get(
    path: Annotated[str, typer.Argument(help=_("Path and query, e.g. /api/v1/status"))],
    as_user: Annotated[str | None, typer.Option("--as", help=_("Act as this user."))] = None,
) -> None:
    from seatflow.api.deps import current_actor
    from seatflow.app import create_app
    from seatflow.services import accounts
    from seatflow.store import catalog

    if not path.startswith("/"):
        raise fail(_("the path must start with /, e.g. /api/v1/status"))
    conf = settings()
    with database(conf) as db:
        app = create_app(conf, db=db, background=False)
        if as_user is not None:
            with db.read() as conn:
                row = catalog.user_by_username(conn, as_user)
                actor = accounts.actor_by_id(conn, row.id) if row is not None else None
            if actor is None:
                raise fail(_("user {name!r} does not exist or is deactivated").format(name=as_user))
            app.dependency_overrides[current_actor] = lambda: actor
        response = asyncio.run(_get_in_process(app, path))
    if "json" in response.headers.get("content-type", ""):
        typer.echo(json.dumps(response.json(), indent=2, ensure_ascii=False))
    else:
        typer.echo(response.text)
    if response.status_code >= 400:
        if response.status_code == 401 and as_user is None:  # the API's advice (log in, a token) is for HTTP
            typer.echo(_("error: GET {path} answered 401; add --as USER to send it as a user, e.g. --as admin")
                       .format(path=path), err=True)
        else:
            typer.echo(_("error: GET {path} answered {status}").format(path=path, status=response.status_code),
                       err=True)
        raise typer.Exit(1)


async def _get_in_process(app: Any, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://seatflow.local") as client:
        return await client.get(path, follow_redirects=False)


def _default(value: str, empty: str = "(empty)") -> str:
    return empty if value in ("''", '""') else value


def _current(conf: Settings, name: str) -> str:
    value = getattr(conf, name.removeprefix("SEATFLOW_").lower())
    if name == "SEATFLOW_SECRET_KEY":
        return _("(set)") if value else ""
    if name == "SEATFLOW_DATABASE_URL" and value:
        return safe_url(value)
    return str(value)


def settings_markdown() -> str:
    lines = [
        "# Settings",
        "",
        "Seatflow reads its settings from environment variables with the `SEATFLOW_` prefix, e.g.",
        "`SEATFLOW_HOME=/srv/seatflow seatflow serve`. `seatflow settings` shows the current values.",
        "The command line's language is chosen by `SEATFLOW_LANG` (or `LANG`): `en` (default) or `zh_CN`.",
        "",
        "<!-- Generated by `seatflow settings --markdown > docs/settings.md`; edit src/seatflow/config.py. -->",
        "",
        "| Setting | Default | Description |",
        "|---|---|---|",
    ]
    for row in settings_table():
        help_text = row.help.replace("|", "\\|")
        lines.append(f"| `{row.name}` | `{_default(row.default)}` | {help_text} |")
    return "\n".join(lines) + "\n"


def settings_command(
    markdown: Annotated[bool, typer.Option("--markdown", help=_("Print docs/settings.md."))] = False,
) -> None:
    if markdown:
        typer.echo(settings_markdown(), nl=False)
        return
    conf = settings()
    table = Table(title=_("Settings (environment variables)"))
    for header in (_("setting"), _("default"), _("current"), _("description")):
        table.add_column(header)
    for row in settings_table():  # a description and "(computed)" are N_() messages of seatflow.config
        default = _(row.default) if row.default == "(computed)" else _default(row.default, _("(empty)"))
        table.add_row(row.name, default, _current(conf, row.name), _(row.help) if row.help else "")
    print_table(table)
