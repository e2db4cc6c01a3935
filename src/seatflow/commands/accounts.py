"""People and access: `init`, `user add`, `client add`, `team add`, `grant`, `token create|list|revoke`."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Connection

from seatflow.domain.actors import Role
from seatflow.i18n.cli import _
from seatflow.services import accounts
from seatflow.services._tx import transact
from seatflow.store import catalog

from ._common import database, fail, new_app, print_table, safe_url, settings

user_app = new_app(_("Center users (admin, manager, lead, worker, client)."))
client_app = new_app(_("Clients: the companies that send work."))
team_app = new_app(_("Teams of workers, each led by a team lead."))
token_app = new_app(_("API tokens for machines and scripts."))


def new_password() -> str:
    """A random password that is easy to type: 16 characters from letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def init(
    admin: Annotated[str, typer.Option(help=_("Username of the first admin."))] = "admin",
) -> None:
    conf = settings()
    home = conf.resolved_home()
    home.mkdir(parents=True, exist_ok=True)
    conf.resolved_media_dir().mkdir(parents=True, exist_ok=True)
    conf.resolved_secret_key()  # created now, so every process started later shares it
    with database(conf, migrate=True) as db:
        typer.echo(_("home:     {path}").format(path=home))
        typer.echo(_("database: {url} (schema up to date)").format(url=safe_url(conf.resolved_database_url())))
        with db.read() as conn:
            exists = catalog.user_by_username(conn, admin) is not None
        if exists:
            typer.echo(_("user {name!r} exists already; its password is unchanged").format(name=admin))
            return
        password = new_password()
        transact(db, lambda c: accounts.create_user(c, None, username=admin, password=password, role="admin",
                                                     locale="en"))
    typer.echo(_("admin:    {name}  password: {password}").format(name=admin, password=password))
    typer.echo(_("Keep this password: it is shown only once. Next: `seatflow serve`."))


@user_app.command("add", help=_("Add a user."))
def user_add(
    username: Annotated[str, typer.Argument(help=_("Login name: 2-64 letters, digits or . _ @ -"))],
    role: Annotated[Role, typer.Option(help=_("What the user does."))] = Role.WORKER,
    password: Annotated[str | None, typer.Option(help=_("Password (else --generate, or you are asked)."))] = None,
    generate: Annotated[bool, typer.Option("--generate", help=_("Make up a random password and print it."))]
    = False,
    no_password: Annotated[bool, typer.Option("--no-password", help=_("No login; API tokens only."))] = False,
    client: Annotated[str | None, typer.Option(help=_("Client slug (client users only)."))] = None,
    team: Annotated[str | None, typer.Option(help=_("Team name."))] = None,
    locale: Annotated[str | None, typer.Option(help=_("Interface language: zh_CN or en."))] = None,
    display_name: Annotated[str | None, typer.Option(help=_("Name shown in the interface."))] = None,
) -> None:
    if sum([password is not None, generate, no_password]) > 1:
        raise fail(_("give only one of --password, --generate and --no-password"))
    conf = settings()
    with database(conf) as db:
        with db.read() as conn:  # before asking for a password, so a typo fails first
            if catalog.user_by_username(conn, username) is not None:
                raise fail(_("user {name!r} exists already").format(name=username))
        if generate:
            password = new_password()
        elif password is None and not no_password:
            try:
                password = typer.prompt(_("Password for {name}").format(name=username), hide_input=True,
                                        confirmation_prompt=True)
            except typer.Abort:  # no terminal (a script, a pipe) or Ctrl+C: was a bare "Aborted."
                raise fail(_("no password was typed for {name}; give --password P, --generate or --no-password")
                           .format(name=username)) from None
        uid = transact(db, lambda c: accounts.create_user(
            c, None, username=username, password=password, role=role.value, display_name=display_name,
            client_slug=client, team=team, locale=locale or conf.default_locale))
    typer.echo(_("added user {name} (id {id}, role {role})").format(name=username, id=uid, role=role.value))
    if generate:
        typer.echo(_("password: {password}").format(password=password))


@client_app.command("add", help=_("Add a client."))
def client_add(
    slug: Annotated[str, typer.Argument(help=_("Short id: lowercase letters, digits, - or _."))],
    name: Annotated[str, typer.Option(help=_("The client's name."))],
    webhook_url: Annotated[str | None, typer.Option(help=_("Where results are delivered."))] = None,
) -> None:
    def add(conn: Connection) -> tuple[int, str | None]:
        cid = accounts.create_client(conn, None, slug=slug, name=name, webhook_url=webhook_url)
        row = catalog.client_by_slug(conn, slug)
        return cid, row.webhook_secret if row is not None and row.webhook_url else None

    with database(settings()) as db:
        cid, secret = transact(db, add)
    typer.echo(_("added client {slug} (id {id})").format(slug=slug, id=cid))
    if secret:
        # The signing secret is made with the client; without it the receiver cannot check a signature.
        typer.echo(_("webhook signing secret: {secret}").format(secret=secret))
        typer.echo(_("Keep it: it is shown only once. A receiver checks each event's Seatflow-Signature "
                     "with it (docs/webhooks.md)."), err=True)


@team_app.command("add", help=_("Add a team."))
def team_add(name: Annotated[str, typer.Argument(help=_("Team name."))]) -> None:
    with database(settings()) as db:
        tid = transact(db, lambda c: accounts.create_team(c, None, name=name))
    typer.echo(_("added team {name} (id {id})").format(name=name, id=tid))


def grant(
    username: Annotated[str, typer.Argument(help=_("The worker (or lead)."))],
    project: Annotated[str, typer.Argument(help=_("Project slug."))],
    skill: Annotated[list[str] | None, typer.Option(help=_("annotate or review; repeat for both."))] = None,
) -> None:
    skills = skill or ["annotate"]
    with database(settings()) as db:
        for s in skills:
            def run(conn: Connection, s: str = s) -> bool:
                return accounts.grant(conn, None, username=username, project_slug=project, skill=s)

            created = transact(db, run)
            msg = _("{user} may now {skill} in {project}") if created else \
                _("{user} could already {skill} in {project}")
            typer.echo(msg.format(user=username, skill=s, project=project))


@token_app.command("create", help=_("Create an API token; it is printed once (only its hash is stored)."))
def token_create(
    username: Annotated[str, typer.Argument(help=_("Whose token."))],
    name: Annotated[str, typer.Option(help=_("A label to recognise the token by."))] = "cli",
) -> None:
    with database(settings()) as db:
        token = transact(db, lambda c: accounts.create_token(c, None, username=username, name=name))
    typer.echo(token)
    typer.echo(_("Send it as 'Authorization: Bearer <token>'; it is not shown again."), err=True)


@token_app.command("list", help=_("List a user's API tokens (never the tokens themselves)."))
def token_list(
    username: Annotated[str, typer.Argument(help=_("Whose tokens."))],
) -> None:
    with database(settings()) as db, db.read() as conn:
        rows, _total = accounts.list_tokens(conn, None, username=username, offset=0, limit=2**31)
    if not rows:
        typer.echo(_("{user} has no API tokens: create one with `seatflow token create {user}`").format(user=username))
        return
    table = Table(title=_("API tokens of {user}").format(user=username))
    table.add_column(_("id"), justify="right")
    for header in (_("name"), _("created (UTC)"), _("last used (UTC)"), _("state")):
        table.add_column(header)
    for r in rows:
        table.add_row(str(r.id), r.name, r.created_at.strftime("%Y-%m-%d %H:%M"),
                      "-" if r.last_used_at is None else r.last_used_at.strftime("%Y-%m-%d %H:%M"),
                      _("revoked") if r.revoked else _("active"))
    print_table(table)


@token_app.command("revoke", help=_("Revoke an API token for good (its id is in `seatflow token list`)."))
def token_revoke(
    token_id: Annotated[int, typer.Argument(help=_("The token's id."))],
) -> None:
    with database(settings()) as db:
        with db.read() as conn:
            before = catalog.token_by_id(conn, token_id) if 0 < token_id <= 2**62 else None
        row = transact(db, lambda c: accounts.revoke_token(c, None, token_id=token_id))
    msg = _("token {id} ({name}) of {user} was revoked already") if before is not None and before.revoked else \
        _("revoked token {id} ({name}) of {user}; running servers refuse it within SEATFLOW_TOKEN_CACHE_SECONDS")
    typer.echo(msg.format(id=row.id, name=row.name, user=row.username))
