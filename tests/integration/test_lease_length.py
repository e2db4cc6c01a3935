"""A project's own lease length replaces the server default, on lease and on heartbeat."""

from __future__ import annotations

from datetime import timedelta

from seatflow.domain.actors import Actor
from seatflow.domain.clock import utcnow
from seatflow.services import accounts, dispatch, projects
from seatflow.services._tx import transact
from seatflow.services.imports import Record, import_records
from seatflow.store import catalog
from seatflow.store.engine import Database


def _setup(database: Database, lease_seconds: int | None) -> tuple[Actor, int]:
    with database.write() as c:
        accounts.create_client(c, None, slug="acme", name="Acme")
        spec = {"slug": "mod", "name": "Mod", "client": "acme", "work_type": "moderation"}
        if lease_seconds is not None:
            spec["lease_seconds"] = lease_seconds
        pid = projects.create_project(c, None, spec)
        accounts.create_user(c, None, username="w1", password=None, role="worker")
        accounts.grant(c, None, username="w1", project_slug="mod", skill="annotate")
        actor = accounts.actor_of(catalog.user_by_username(c, "w1"))
    records = (Record("t", i, {"external_id": f"e{i}", "payload": {"kind": "text", "text": "x"}}) for i in range(3))
    import_records(database, None, "mod", records, source="t")
    return actor, pid


def test_project_lease_seconds_applies_to_lease_and_heartbeat(database: Database) -> None:
    actor, pid = _setup(database, lease_seconds=30)
    now = utcnow()
    leased = transact(database, lambda c: dispatch.next_task(c, actor, project_id=pid, lease_seconds=600, now=now))
    assert leased.expires_at == now + timedelta(seconds=30)
    later = now + timedelta(seconds=20)
    held = transact(database, lambda c: dispatch.renew(c, actor, [leased.lease_id], lease_seconds=600, now=later))
    assert held == [leased.lease_id]
    with database.read() as c:
        from sqlalchemy import select

        from seatflow.store.tables import tasks

        expires = c.execute(select(tasks.c.lease_expires_at).where(tasks.c.id == leased.task_id)).scalar_one()
    assert expires == later + timedelta(seconds=30)


def test_server_default_when_the_project_sets_none(database: Database) -> None:
    actor, pid = _setup(database, lease_seconds=None)
    now = utcnow()
    leased = transact(database, lambda c: dispatch.next_task(c, actor, project_id=pid, lease_seconds=600, now=now))
    assert leased.expires_at == now + timedelta(seconds=600)
