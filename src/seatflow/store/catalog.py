"""Statements for the catalog: clients, teams, users, tokens, projects, qualifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from .tables import api_tokens, batches, clients, projects, qualifications, teams, users


def insert(conn: Connection, table: Any, row: dict[str, Any]) -> int:
    return int(conn.execute(table.insert().returning(table.c.id), row).scalar_one())


def client_by_slug(conn: Connection, slug: str) -> Any:
    return conn.execute(select(clients).where(clients.c.slug == slug)).first()


def client_by_id(conn: Connection, client_id: int) -> Any:
    return conn.execute(select(clients).where(clients.c.id == client_id)).first()


def list_clients(conn: Connection, *, client_id: int | None, offset: int, limit: int) -> tuple[list[Any], int]:
    q = select(clients)
    c = select(func.count()).select_from(clients)
    if client_id is not None:
        q, c = q.where(clients.c.id == client_id), c.where(clients.c.id == client_id)
    rows = list(conn.execute(q.order_by(clients.c.id).offset(offset).limit(limit)))
    return rows, int(conn.execute(c).scalar_one())


def team_by_name(conn: Connection, name: str) -> Any:
    return conn.execute(select(teams).where(teams.c.name == name)).first()


def user_by_username(conn: Connection, username: str) -> Any:
    return conn.execute(select(users).where(users.c.username == username)).first()


def user_by_id(conn: Connection, user_id: int) -> Any:
    return conn.execute(select(users).where(users.c.id == user_id)).first()


def set_user_locale(conn: Connection, user_id: int, locale: str) -> bool:
    """Change a user's interface language; False when there is no such user."""
    return bool(conn.execute(update(users).where(users.c.id == user_id).values(locale=locale)).rowcount)


def list_users(conn: Connection, *, offset: int, limit: int, client_id: int | None = None) -> tuple[list[Any], int]:
    q = select(users)
    c = select(func.count()).select_from(users)
    if client_id is not None:
        q, c = q.where(users.c.client_id == client_id), c.where(users.c.client_id == client_id)
    rows = list(conn.execute(q.order_by(users.c.id).offset(offset).limit(limit)))
    return rows, int(conn.execute(c).scalar_one())


def user_by_token_hash(conn: Connection, token_hash: str) -> Any:
    return conn.execute(
        select(users, api_tokens.c.id.label("token_id"), api_tokens.c.last_used_at.label("token_last_used_at"))
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked.is_(False))
    ).first()


def touch_token(conn: Connection, token_id: int, now: datetime) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now))


def list_tokens(conn: Connection, user_id: int, *, offset: int, limit: int) -> tuple[list[Any], int]:
    """A user's API tokens, oldest first, without their hashes; and how many there are."""
    cols = (api_tokens.c.id, api_tokens.c.user_id, api_tokens.c.name, api_tokens.c.created_at,
            api_tokens.c.last_used_at, api_tokens.c.revoked)
    q = select(*cols).where(api_tokens.c.user_id == user_id)
    total = int(conn.execute(select(func.count()).select_from(api_tokens)
                             .where(api_tokens.c.user_id == user_id)).scalar_one())
    rows = list(conn.execute(q.order_by(api_tokens.c.id).offset(offset).limit(limit)))
    return rows, total


def token_by_id(conn: Connection, token_id: int) -> Any:
    """One API token with its owner's username and client (and its hash: for the caller's cache only)."""
    return conn.execute(
        select(api_tokens, users.c.username, users.c.client_id)
        .join(users, users.c.id == api_tokens.c.user_id).where(api_tokens.c.id == token_id)
    ).first()


def revoke_token(conn: Connection, token_id: int) -> bool:
    """Mark a token revoked; False when it was revoked already (or does not exist)."""
    return bool(conn.execute(update(api_tokens).where(api_tokens.c.id == token_id, api_tokens.c.revoked.is_(False))
                             .values(revoked=True)).rowcount)


def project_by_id(conn: Connection, project_id: int) -> Any:
    return conn.execute(select(projects).where(projects.c.id == project_id)).first()


def project_by_slug(conn: Connection, slug: str) -> Any:
    return conn.execute(select(projects).where(projects.c.slug == slug)).first()


def list_projects(
    conn: Connection, *, offset: int, limit: int, client_id: int | None = None, user_id: int | None = None
) -> tuple[list[Any], int]:
    """Projects, optionally only a client's, or only those a worker is qualified for."""
    q = select(projects)
    if client_id is not None:
        q = q.where(projects.c.client_id == client_id)
    if user_id is not None:
        q = q.where(projects.c.id.in_(select(qualifications.c.project_id).where(qualifications.c.user_id == user_id)))
    total = int(conn.execute(select(func.count()).select_from(q.subquery())).scalar_one())
    rows = list(conn.execute(q.order_by(projects.c.id).offset(offset).limit(limit)))
    return rows, total


def grant(conn: Connection, row: dict[str, Any]) -> bool:
    exists = conn.execute(
        select(qualifications.c.user_id).where(
            qualifications.c.user_id == row["user_id"],
            qualifications.c.project_id == row["project_id"],
            qualifications.c.skill == row["skill"],
        )
    ).first()
    if exists:
        return False
    conn.execute(qualifications.insert(), row)
    return True


def skills_of(conn: Connection, user_id: int) -> list[Any]:
    return list(conn.execute(select(qualifications).where(qualifications.c.user_id == user_id)))


def batch_by_id(conn: Connection, batch_id: int) -> Any:
    return conn.execute(select(batches).where(batches.c.id == batch_id)).first()
