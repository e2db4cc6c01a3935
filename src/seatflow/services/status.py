"""Status of the projects: backlog, in progress, done, SLA at risk."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Connection

from seatflow.domain.actors import Actor, Role
from seatflow.domain.clock import local_midnight, local_today, utcnow
from seatflow.store import quality as quality_repo
from seatflow.store import reports

RISK_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class ProjectStatus:
    id: int
    slug: str
    name: str
    client: str
    work_type: str
    items: int
    done: int
    backlog: int
    in_progress: int
    at_risk: int
    overdue: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WorkToday:
    """What one person did since the start of their day (a calendar day in the center's time zone)."""

    answers: int
    reviews: int
    since: datetime

    @property
    def total(self) -> int:
        return self.answers + self.reviews


def start_of_day(now: datetime, tz: tzinfo = UTC) -> datetime:
    """The UTC instant at which ``now``'s calendar day began in ``tz`` (the center's time zone,
    SEATFLOW_TIMEZONE; never the server process's own zone)."""
    return local_midnight(local_today(now, tz), tz)


def work_today(conn: Connection, actor: Actor, *, now: datetime | None = None, tz: tzinfo = UTC) -> WorkToday:
    """The actor's own count of answers and reviews today, a calendar day in ``tz`` (anyone may ask
    about themselves)."""
    since = start_of_day(now or utcnow(), tz)
    answers, reviewed = reports.work_done_since(conn, user_id=actor.id, since=since)
    return WorkToday(answers=answers, reviews=reviewed, since=since)


def _status_scope(actor: Actor | None) -> int | None:
    """The client whose projects ``actor`` may see (None: all); workers see no status."""
    if actor is not None and actor.role is Role.WORKER:
        actor.require(Role.ADMIN, Role.MANAGER, Role.LEAD, Role.CLIENT)
    return actor.client_id if actor is not None and actor.role is Role.CLIENT else None


def project_status(conn: Connection, actor: Actor | None, *, now: datetime | None = None, offset: int = 0,
                   limit: int | None = None) -> list[ProjectStatus]:
    """One row per project the actor may see. 'At risk': active items due within 30 minutes."""
    now = now or utcnow()
    client_id = _status_scope(actor)
    rows = reports.project_status(conn, client_id=client_id, now=now, risk_until=now + RISK_WINDOW,
                                  offset=offset, limit=limit)
    # Gold (check) items are not counted as items; their tasks (a worker's leased check item, or one
    # that ran out and waits for them) are not backlog or work in progress either.
    gold = quality_repo.gold_task_counts(conn, [r.id for r in rows])
    return [
        ProjectStatus(id=r.id, slug=r.slug, name=r.name, client=r.client, work_type=r.work_type, items=int(r.n_items),
                      done=int(r.done), backlog=int(r.backlog) - gold.get(r.id, (0, 0))[0],
                      in_progress=int(r.in_progress) - gold.get(r.id, (0, 0))[1],
                      at_risk=int(r.at_risk), overdue=int(r.overdue))
        for r in rows
    ]


def project_status_page(conn: Connection, actor: Actor | None, *, offset: int, limit: int,
                        now: datetime | None = None) -> tuple[list[ProjectStatus], int]:
    """One page of :func:`project_status`, and how many projects there are in all."""
    rows = project_status(conn, actor, now=now, offset=offset, limit=limit)
    return rows, reports.count_projects(conn, client_id=_status_scope(actor))
