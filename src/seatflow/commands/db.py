"""`db upgrade` and `db current`: the schema, managed by the Alembic migrations."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy.engine import make_url

from seatflow.i18n.cli import _
from seatflow.store.engine import Database, make_engine
from seatflow.store.migrate import current_revision, head_revision, upgrade

from ._common import new_app, safe_url, settings

db_app = new_app(_("The database schema (migrations)."))


@db_app.command("upgrade", help=_("Bring the database to the newest schema (serve and demo do this on start)."))
def db_upgrade() -> None:
    conf = settings()
    url = conf.resolved_database_url()
    db = Database(make_engine(url, pool_size=conf.db_pool_size))
    try:
        before = current_revision(db.engine)
        upgrade(db.engine)
        after = current_revision(db.engine)
    finally:
        db.dispose()
    if before == after:
        typer.echo(_("{url}: already at {revision}").format(url=safe_url(url), revision=after))
    else:
        typer.echo(_("{url}: upgraded from {before} to {after}").format(
            url=safe_url(url), before=before or _("(empty)"), after=after))


@db_app.command("current", help=_("Show the database's schema revision and the newest one this code knows."))
def db_current() -> None:
    conf = settings()
    url = conf.resolved_database_url()
    parsed = make_url(url)
    missing = (parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
               and not Path(parsed.database).exists())
    current = None
    if not missing:  # looking must not create the SQLite file (and SEATFLOW_HOME) as a side effect
        db = Database(make_engine(url, pool_size=conf.db_pool_size))
        try:
            current = current_revision(db.engine)
        finally:
            db.dispose()
    head = head_revision()
    typer.echo(_("database: {url}").format(url=safe_url(url)))
    empty = _("(no database yet: run `seatflow init`)") if missing else _("(empty: run `seatflow db upgrade`)")
    typer.echo(_("current:  {revision}").format(revision=current or empty))
    typer.echo(_("newest:   {revision}").format(revision=head))
    if current != head:
        raise typer.Exit(1)
