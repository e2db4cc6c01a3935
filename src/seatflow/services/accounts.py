"""People and machines: clients, teams, users, passwords, API tokens, qualifications."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection

from seatflow.domain.actors import MANAGERS, Actor, Role
from seatflow.domain.clock import utcnow
from seatflow.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.store import catalog
from seatflow.store.engine import Database
from seatflow.store.events import append, event_row
from seatflow.store.tables import api_tokens, clients, teams, users

_hasher = PasswordHasher()
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")
LOCALES = ("zh_CN", "en")


def check_slug(value: str, field: str) -> str:
    if not _SLUG.match(value or ""):
        raise ValidationFailed(
            Msg("{field} {value!r} must be 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit",
                field=field, value=value),
            field=field,
        )
    return value


def actor_of(row: Any) -> Actor:
    return Actor(id=row.id, username=row.username, role=Role(row.role), client_id=row.client_id,
                 team_id=row.team_id, locale=row.locale)


def create_client(conn: Connection, actor: Actor | None, *, slug: str, name: str,
                  webhook_url: str | None = None) -> int:
    if actor is not None:
        actor.require_manager()
    check_slug(slug, "slug")
    if not (name or "").strip():
        raise ValidationFailed(Msg("name must not be empty"), field="name")
    if catalog.client_by_slug(conn, slug):
        raise Conflict(Msg("a client with slug {slug!r} exists already", slug=slug), field="slug")
    if webhook_url is not None and webhook_url.strip():
        webhook_url = _checked_webhook_url(webhook_url)
    else:
        webhook_url = None
    return catalog.insert(conn, clients, {"slug": slug, "name": name.strip(), "webhook_url": webhook_url,
                                          "webhook_secret": secrets.token_hex(32), "created_at": utcnow()})


def _checked_webhook_url(url: str) -> str:
    """The same rules as setting the webhook later (PUT .../webhook), named by this field."""
    from seatflow.services.deliveries import check_url

    try:
        return check_url(url)
    except ValidationFailed as exc:
        # check_url's message names its own field ("url ..."); this one is webhook_url, named in front of it
        raise ValidationFailed(Msg("webhook_url: {why}", why=exc.detail), field="webhook_url") from None


def create_team(conn: Connection, actor: Actor | None, *, name: str) -> int:
    if actor is not None:
        actor.require_manager()
    if not (name or "").strip():
        raise ValidationFailed(Msg("team name must not be empty"), field="name")
    if catalog.team_by_name(conn, name):
        raise Conflict(Msg("a team named {name!r} exists already", name=name), field="name")
    return catalog.insert(conn, teams, {"name": name.strip(), "created_at": utcnow()})


def create_user(
    conn: Connection, actor: Actor | None, *, username: str, password: str | None, role: str,
    display_name: str | None = None, client_slug: str | None = None, team: str | None = None,
    locale: str = "zh_CN",
) -> int:
    """Add a person. ``actor`` None means the CLI on the server itself (trusted)."""
    if actor is not None:
        actor.require_manager()
    if not _USERNAME.match(username or ""):
        raise ValidationFailed(
            Msg("username {username!r} must be 2-64 letters, digits or . _ @ -", username=username), field="username"
        )
    try:
        r = Role(role)
    except ValueError:
        raise ValidationFailed(
            Msg("role {role!r} is unknown; use one of {roles}", role=role, roles=", ".join(x.value for x in Role)),
            field="role",
        ) from None
    if locale not in LOCALES:
        raise ValidationFailed(Msg("locale must be one of {locales}", locales=", ".join(LOCALES)), field="locale")
    if password is not None and len(password) < 8:
        raise ValidationFailed(Msg("password must have at least 8 characters"), field="password")
    client_id = None
    if r is Role.CLIENT:
        if not client_slug:
            raise ValidationFailed(Msg("a client user needs --client (the client's slug)"), field="client")
        c = catalog.client_by_slug(conn, client_slug)
        if c is None:
            raise NotFound(Msg("client {slug!r} does not exist", slug=client_slug), field="client")
        client_id = c.id
    elif client_slug:
        raise ValidationFailed(Msg("only client users belong to a client"), field="client")
    team_id = None
    if team:
        t = catalog.team_by_name(conn, team)
        if t is None:
            raise NotFound(Msg("team {team!r} does not exist", team=team), field="team")
        team_id = t.id
    if catalog.user_by_username(conn, username):
        raise Conflict(Msg("user {username!r} exists already", username=username), field="username")
    return catalog.insert(
        conn,
        users,
        {
            "username": username,
            "display_name": display_name or username,
            "password_hash": _hasher.hash(password) if password else None,
            "role": r.value,
            "client_id": client_id,
            "team_id": team_id,
            "locale": locale,
            "created_at": utcnow(),
        },
    )


def authenticate(conn: Connection, username: str, password: str) -> Actor:
    row = catalog.user_by_username(conn, username)
    ok = False
    if row is not None and row.password_hash and row.active:
        try:
            ok = _hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    if not ok or row is None:
        raise NotAuthenticated(Msg("wrong username or password"))
    return actor_of(row)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(conn: Connection, actor: Actor | None, *, username: str, name: str = "api") -> str:
    """Issue an API token for ``username``; only its hash is stored. Returns the token once."""
    user = catalog.user_by_username(conn, username)
    if user is None:
        raise NotFound(Msg("user {username!r} does not exist", username=username), field="username")
    if actor is not None and actor.id != user.id:
        actor.require_manager()
    token = "sf_" + secrets.token_urlsafe(32)
    catalog.insert(conn, api_tokens, {"user_id": user.id, "name": name, "token_hash": token_hash(token),
                                      "created_at": utcnow()})
    return token


def _may_manage_tokens_of(actor: Actor | None, user_id: int) -> bool:
    """Everyone manages their own tokens; admins and managers anyone's; the CLI (None) is trusted."""
    return actor is None or actor.id == user_id or actor.role in MANAGERS


def list_tokens(conn: Connection, actor: Actor | None, *, username: str, offset: int = 0,
                limit: int = 50) -> tuple[list[Any], int]:
    """A user's API tokens (id, name, created_at, last_used_at, revoked; never the hash) and their number.

    Someone else's tokens, unless you are an admin or manager, answer NotFound like an unknown user.
    """
    user = catalog.user_by_username(conn, username)
    if user is None or not _may_manage_tokens_of(actor, user.id):
        raise NotFound(Msg("user {username!r} does not exist", username=username), field="username")
    return catalog.list_tokens(conn, user.id, offset=offset, limit=limit)


def revoke_token(conn: Connection, actor: Actor | None, *, token_id: int) -> Any:
    """Revoke an API token for good; revoking it again changes nothing. Returns the token's row.

    The row carries ``token_hash`` so that the caller can drop it from its token cache: never show it.
    An unknown id, or a token that is not yours to manage, is NotFound (nothing about others leaks).
    """
    row = catalog.token_by_id(conn, token_id) if 0 < token_id <= 2**62 else None
    if row is None or not _may_manage_tokens_of(actor, row.user_id):
        raise NotFound(Msg("token {token_id} does not exist", token_id=token_id), field="token_id")
    if catalog.revoke_token(conn, token_id):
        append(conn, [event_row(
            entity="token", kind="revoke", at=utcnow(), actor_id=None if actor is None else actor.id,
            client_id=row.client_id, from_state="active", to_state="revoked",
            data={"token_id": row.id, "user_id": row.user_id, "username": row.username, "name": row.name},
        )])
        row = catalog.token_by_id(conn, token_id)
    return row


def actor_from_token(conn: Connection, token: str) -> Actor:
    row = catalog.user_by_token_hash(conn, token_hash(token))
    if row is None or not row.active:
        raise NotAuthenticated(Msg("the API token is unknown or revoked; create one with `seatflow token create`"))
    return actor_of(row)


TOKEN_USE_SECONDS = 60.0  # a token's last_used_at is rewritten at most this often


def resolve_token(db: Database, token: str, *, now: datetime | None = None) -> Actor:
    """The actor of a bearer token, for a server that has not cached it: one read, and the token's
    ``last_used_at`` written (a short transaction of its own) when it is older than ``TOKEN_USE_SECONDS``.

    Servers cache a resolved token (``token_cache_seconds``), so ``last_used_at`` is when a server last
    looked the token up: within a minute or two of its last use, never a write per request.
    """
    now = now or utcnow()
    with db.read() as conn:
        row = catalog.user_by_token_hash(conn, token_hash(token))
    if row is None or not row.active:
        raise NotAuthenticated(Msg("the API token is unknown or revoked; create one with `seatflow token create`"))
    last = row.token_last_used_at
    if last is None or (now - last).total_seconds() >= TOKEN_USE_SECONDS:
        with db.write() as conn:
            catalog.touch_token(conn, row.token_id, now)
    return actor_of(row)


def actor_by_id(conn: Connection, user_id: int) -> Actor | None:
    row = catalog.user_by_id(conn, user_id)
    if row is None or not row.active:
        return None
    return actor_of(row)


def grant(conn: Connection, actor: Actor | None, *, username: str, project_slug: str, skill: str) -> bool:
    """Qualify a worker for a project's annotate or review tasks."""
    if actor is not None:
        actor.require(Role.ADMIN, Role.MANAGER, Role.LEAD)
    if skill not in ("annotate", "review"):
        raise ValidationFailed(Msg("skill must be 'annotate' or 'review'"), field="skill")
    user = catalog.user_by_username(conn, username)
    if user is None:
        raise NotFound(Msg("user {username!r} does not exist", username=username), field="username")
    if user.role == Role.CLIENT.value:
        raise ValidationFailed(Msg("client accounts cannot be qualified for work"), field="username")
    project = catalog.project_by_slug(conn, project_slug)
    if project is None:
        raise NotFound(Msg("project {slug!r} does not exist", slug=project_slug), field="project")
    return catalog.grant(conn, {"user_id": user.id, "project_id": project.id, "skill": skill,
                                "client_id": project.client_id, "granted_at": utcnow()})


def session_version(conn: Connection, user_id: int) -> int | None:
    row = catalog.user_by_id(conn, user_id)
    return None if row is None else int(row.session_version)


def set_locale(conn: Connection, actor: Actor | None, *, user_id: int, locale: str) -> None:
    """Change a user's interface language. People change their own; managers anyone's."""
    if actor is not None and actor.id != user_id:
        actor.require_manager()
    if locale not in LOCALES:
        raise ValidationFailed(Msg("locale {locale!r} is not offered; use one of {locales}", locale=locale,
                                   locales=", ".join(LOCALES)), field="locale")
    if not catalog.set_user_locale(conn, user_id, locale):
        raise NotFound(Msg("user {user_id} does not exist", user_id=user_id), field="user_id")
