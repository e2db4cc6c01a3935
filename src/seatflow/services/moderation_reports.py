"""What a team lead watches on a moderation project: items that will breach their deadline, the seats
that would prevent it (and pulling more seats on), and the SLA figures of the decisions made.

Breach forecast (``seatflow.moderation.forecast``), per queue (``annotate``: moderators;
``review``: seniors, for escalations and appeals):

- the queue: the first ``LOOK_AHEAD`` ready tasks in dispatch order;
- seats: the people who took a task of that queue in the last ``SEAT_WINDOW`` (so a seat that
  went home stops counting after a while), the leases in progress holding theirs;
- handling time: the mean lease-to-answer time of the queue's answers in the last day, or
  ``DEFAULT_AHT`` (reported as ``assumed``) before there are any.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import fmean
from typing import Any

from sqlalchemy import Connection

from seatflow.domain.actors import Actor, Role
from seatflow.domain.clock import utcnow
from seatflow.errors import NotFound, ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.moderation import forecast as fc
from seatflow.moderation import stats
from seatflow.store import catalog
from seatflow.store import moderation as repo

from . import accounts

LOOK_AHEAD = 2000
SEAT_WINDOW = timedelta(minutes=15)
AHT_WINDOW = timedelta(hours=24)
DEFAULT_AHT = timedelta(seconds=60)
SHOWN = 200  # breaching items listed (all are counted)
QUEUES = ("annotate", "review")


def _staff_project(conn: Connection, actor: Actor | None, ref: str) -> Any:
    if actor is not None:
        actor.require(Role.ADMIN, Role.MANAGER, Role.LEAD)
    project = catalog.project_by_id(conn, int(ref)) if str(ref).isdigit() else catalog.project_by_slug(conn, ref)
    if project is None or project.work_type != "moderation":
        raise NotFound(Msg("moderation project {ref!r} not found", ref=ref), field="project")
    return project


@dataclass(frozen=True)
class QueueOutlook:
    kind: str
    backlog: int
    looked_at: int
    seats: int
    in_progress: int
    aht_seconds: float
    aht_source: str  # measured | assumed
    breaching: int
    unsavable: int
    seats_needed: int | None
    breaching_items: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None or dt.year >= fc.NO_DEADLINE_YEAR else dt.isoformat()


def queue_outlook(conn: Connection, project: Any, kind: str, *, now: datetime) -> QueueOutlook:
    rows = repo.queued(conn, project_id=project.id, kind=kind, limit=LOOK_AHEAD)
    queue = [fc.Queued(task_id=r.id, item_id=r.item_id, external_id=r.external_id, priority=r.priority,
                       deadline=r.deadline) for r in rows]
    busy = repo.leases_in_progress(conn, project_id=project.id, kind=kind)
    seats = max(repo.recent_seats(conn, project_id=project.id, kind=kind, since=now - SEAT_WINDOW), len(busy))
    handled = repo.handling_seconds(conn, project_id=project.id, kind=kind, since=now - AHT_WINDOW)
    aht = timedelta(seconds=fmean(handled)) if handled else DEFAULT_AHT
    began = [b.created_at for b in busy]
    outlook = fc.outlook(queue, now=now, seats=seats, aht=aht, busy_since=began)
    late = [o for o in outlook if o.breach]
    return QueueOutlook(
        kind=kind, backlog=repo.count_ready(conn, project_id=project.id, kind=kind), looked_at=len(queue),
        seats=seats, in_progress=len(busy), aht_seconds=round(aht.total_seconds(), 1),
        aht_source="measured" if handled else "assumed", breaching=len(late),
        unsavable=sum(1 for o in late if not o.savable),
        seats_needed=fc.seats_needed(queue, now=now, aht=aht, busy_since=began),
        breaching_items=[{"task_id": o.task.task_id, "item_id": o.task.item_id, "external_id": o.task.external_id,
                "priority": o.task.priority, "deadline": _iso(o.task.deadline),
                "expected_start": o.expected_start.isoformat() if o.expected_start else None,
                "expected_decision": o.expected_decision.isoformat() if o.expected_decision else None,
                "late_by_seconds": None if o.late_by_seconds is None else round(o.late_by_seconds, 1),
                "savable": o.savable} for o in late[:SHOWN]],
    )


def forecast(conn: Connection, actor: Actor | None, ref: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The breach forecast of a moderation project's queues (staff only)."""
    now = now or utcnow()
    project = _staff_project(conn, actor, ref)
    return {"project": project.slug, "name": project.name, "at": now.isoformat(),
            "queues": [queue_outlook(conn, project, kind, now=now).as_dict() for kind in QUEUES]}


def seat_candidates(conn: Connection, actor: Actor | None, ref: str) -> list[dict[str, Any]]:
    """Every worker and lead with the skills they hold on the project (for the page's form)."""
    project = _staff_project(conn, actor, ref)
    skills = repo.skills_on(conn, project.id)
    return [{"username": u.username, "display_name": u.display_name, "skills": sorted(skills.get(int(u.id), set()))}
            for u in repo.active_workers(conn)]


def add_seats(conn: Connection, actor: Actor | None, ref: str, *, usernames: list[str],
              skill: str) -> list[dict[str, Any]]:
    """Qualify more people for the project (``annotate``: moderators, ``review``: seniors)."""
    project = _staff_project(conn, actor, ref)
    names = [n.strip() for n in usernames if n and n.strip()]
    if not names:
        raise ValidationFailed(Msg("usernames: name at least one person to put on the project"), field="usernames")
    return [{"username": n, "granted": accounts.grant(conn, actor, username=n, project_slug=project.slug, skill=skill)}
            for n in dict.fromkeys(names)]


def sla(conn: Connection, actor: Actor, *, project_ref: str | None = None, hours: int = 24,
        now: datetime | None = None) -> dict[str, Any]:
    """Time to decision p50/p95 and share within deadline of first decisions made in the last ``hours``,
    per project, in total and per hour (UTC). Clients see their own projects only; workers none."""
    now = now or utcnow()
    if actor.role is Role.WORKER:
        actor.require(Role.ADMIN, Role.MANAGER, Role.LEAD, Role.CLIENT)
    if not 1 <= hours <= 24 * 31:
        raise ValidationFailed(Msg("hours: from 1 to 744 (31 days)"), field="hours")
    mine = repo.moderation_projects(conn, client_id=actor.client_id if actor.role is Role.CLIENT else None)
    if project_ref:
        mine = [p for p in mine if p.slug == project_ref or str(p.id) == project_ref]
        if not mine:
            raise NotFound(Msg("moderation project {ref!r} not found", ref=project_ref), field="project")
    since = now - timedelta(hours=hours)
    rows = [stats.Decided(r.project_id, r.received_at, r.decided_at, r.deadline)
            for r in repo.decided_between(conn, project_ids=[p.id for p in mine], since=since, until=now)]
    totals = {f.project_id: f for f in stats.figures(rows, by_hour=False)}
    hourly: dict[int, list[stats.SlaFigures]] = {}
    for f in stats.figures(rows, by_hour=True):
        hourly.setdefault(f.project_id, []).append(f)

    def figs(f: stats.SlaFigures | None) -> dict[str, Any]:
        return {"decided": f.decided if f else 0, "within_deadline": f.within_deadline if f else 0,
                "share_within_deadline": f.share_within_deadline if f else None,
                "p50_seconds": f.p50_seconds if f else None, "p95_seconds": f.p95_seconds if f else None}

    return {
        "since": since.isoformat(), "until": now.isoformat(), "hours": hours,
        "projects": [{"project": p.slug, "name": p.name, **figs(totals.get(p.id)),
                      "by_hour": [{"hour": f.hour.isoformat() if f.hour else None, **figs(f)}
                                  for f in hourly.get(p.id, [])]} for p in mine],
    }
