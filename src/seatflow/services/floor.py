"""The live floor: one tile per worker and the projects' outlook, for team leads and managers.

A tile's state, in this order: ``working`` (holds a lease: on which project, since when), ``break``
(checked in, on a break), ``idle`` (checked in, holding nothing), ``offline`` (not checked in).
Marks (docs/floor.md):

- ``stuck``: working on the current item longer than ``STUCK_FACTOR`` (3) x the project's average
  handling time, i.e. the mean of lease taken -> answer submitted over its latest ``AHT_SAMPLE``
  submissions (no mark while a project has fewer than ``AHT_MIN_SAMPLE`` of them);
- ``idle_backlog``: idle while a project they are qualified for (and not suspended from, see
  services/quality.py) has tasks of their skill waiting;
- a project is ``at_risk`` when tasks in its queue are due within ``DUE_SOON_MINUTES`` (10) or overdue,
  or when its backlog x handling time / the seats working on it now (at least one) ends after the
  latest deadline in the queue (the last item out would be late).

Who sees what: a lead sees the workers of their own team and the projects the team may work on
(where at least one member holds a qualification); managers and admins see everyone and every active
project; workers and clients get 403.

**Move** (:func:`move`): a lead or manager sets the project a worker is assigned to (table
``worker_assignments``). The worker's home lists it first and ``/work`` opens it; the worker must be
qualified for it, or the caller passes ``grant=true`` to qualify them (annotate) in the same step.
A lead may move only their own team's workers, and only to a project their team may work on.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from seatflow.domain.actors import Actor, Role
from seatflow.domain.clock import utcnow
from seatflow.errors import Conflict, Forbidden, NotFound, ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.store import attendance as repo
from seatflow.store import catalog
from seatflow.store.engine import engine_key

from . import accounts
from .attendance import scope_team
from .quality import BLOCKED

STUCK_FACTOR = 3.0
AHT_SAMPLE = 200
AHT_MIN_SAMPLE = 3
DUE_SOON_MINUTES = 10
PROJECT_TTL_SECONDS = 5.0  # the projects' figures (backlog, handling time) are shared and refreshed this often,
PROJECT_COST_SHARE = 0.05  # or less often when the read is slow: at most 5 % of one core
STAFF = (Role.ADMIN, Role.MANAGER, Role.LEAD)

_cache_lock = threading.Lock()
_project_cache: dict[int, tuple[float, dict[int, dict[str, Any]]]] = {}


def require_staff(actor: Actor) -> None:
    if actor.role not in STAFF:
        raise Forbidden(Msg("the floor view is for team leads and managers"))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _project_figures(conn: Connection, now: datetime) -> dict[int, dict[str, Any]]:
    """Per active project: backlog per kind, due-soon count, deadlines, average handling time.
    Cached per database for ``PROJECT_TTL_SECONDS``, longer when the read took more than
    ``PROJECT_COST_SHARE`` of that (the queue counts are the one costly read)."""
    key = engine_key(conn)
    with _cache_lock:
        hit = _project_cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
    started = time.monotonic()
    soon = now + timedelta(minutes=DUE_SOON_MINUTES)
    out: dict[int, dict[str, Any]] = {}
    for p in repo.active_projects(conn):
        samples = repo.recent_handling(conn, p.id, AHT_SAMPLE)
        seconds = [max(0.0, (s.submitted_at - s.leased_at).total_seconds()) for s in samples]
        out[p.id] = {
            "id": p.id, "slug": p.slug, "name": p.name, "sla_minutes": p.sla_minutes,
            "aht_seconds": round(sum(seconds) / len(seconds), 1) if len(seconds) >= AHT_MIN_SAMPLE else None,
            "waiting": {}, "due_soon": 0, "first_deadline": None, "last_deadline": None,
        }
    for row in repo.backlog(conn, soon):
        fig = out.get(row.project_id)
        if fig is None:
            continue
        fig["waiting"][row.kind] = int(row.waiting)
        fig["due_soon"] += int(row.due_soon)
        if fig["first_deadline"] is None or row.first_deadline < fig["first_deadline"]:
            fig["first_deadline"] = row.first_deadline
        if fig["last_deadline"] is None or row.last_deadline > fig["last_deadline"]:
            fig["last_deadline"] = row.last_deadline
    finished = time.monotonic()
    ttl = max(PROJECT_TTL_SECONDS, (finished - started) / PROJECT_COST_SHARE)
    with _cache_lock:
        _project_cache[key] = (finished + ttl, out)
    return out


def forget_cache() -> None:
    """Drop the shared project figures (tests, and after a move that changes what a lead sees)."""
    with _cache_lock:
        _project_cache.clear()


def snapshot(conn: Connection, actor: Actor, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything the floor page shows, as JSON-ready data. Durations are given as start times, so
    the page counts them up itself and the snapshot changes only when something happens."""
    require_staff(actor)
    now = now or utcnow()
    team_id = scope_team(actor)
    people = repo.floor_people(conn, team_id)
    ids = [p.id for p in people]
    sessions = {s.user_id: s for s in repo.open_sessions_of(conn, ids)}
    all_leases = repo.open_leases(conn, now)
    skills: dict[int, set[tuple[int, str]]] = {}
    for q in repo.skills_of_people(conn, ids):
        skills.setdefault(q.user_id, set()).add((q.project_id, q.skill))
    for user_id, project_id in repo.blocked_of(conn, ids, BLOCKED):  # suspended: not "idle while work waits"
        skills[user_id] = {(pid, skill) for pid, skill in skills.get(user_id, set()) if pid != project_id}
    assigned = {a.user_id: a.project_id for a in repo.assignments_of(conn, ids)}
    figs = _project_figures(conn, now)
    visible = set(figs) if team_id is None else (repo.team_project_ids(conn, team_id) & set(figs))

    seats_on: dict[int, set[int]] = {}
    lease_of: dict[int, Any] = {}
    for lz in all_leases:
        seats_on.setdefault(lz.project_id, set()).add(lz.user_id)
        mine = lease_of.get(lz.user_id)
        if mine is None or lz.leased_at < mine.leased_at:  # the oldest lease is the item in front of them
            lease_of[lz.user_id] = lz

    def project_ref(pid: int | None) -> dict[str, Any] | None:
        if pid is None:
            return None
        fig = figs.get(pid)
        if fig is None:
            row = catalog.project_by_id(conn, pid)
            return {"id": pid, "slug": row.slug, "name": row.name} if row is not None else None
        return {"id": pid, "slug": fig["slug"], "name": fig["name"]}

    tiles = []
    for p in people:
        s = sessions.get(p.id)
        lz = lease_of.get(p.id)
        tile: dict[str, Any] = {
            "id": p.id, "username": p.username, "display_name": p.display_name, "team": p.team,
            "seat": s.seat if s is not None else None, "checked_in_at": _iso(s.checked_in_at) if s else None,
            "assigned_project": project_ref(assigned.get(p.id)),
            "project": None, "since": None, "stuck": False, "idle_backlog": [],
        }
        if lz is not None:
            aht: float | None = figs.get(lz.project_id, {}).get("aht_seconds")
            stuck_after = lz.leased_at + timedelta(seconds=STUCK_FACTOR * aht) if aht else None
            tile.update(state="working", project=project_ref(lz.project_id), since=_iso(lz.leased_at),
                        stuck_after=_iso(stuck_after), stuck=stuck_after is not None and now > stuck_after)
        elif s is None:
            tile.update(state="offline")
        elif s.break_started_at is not None:
            tile.update(state="break", since=_iso(s.break_started_at))
        else:
            tile.update(state="idle", since=_iso(s.checked_in_at))
            waiting = sorted({figs[pid]["slug"] for pid, skill in skills.get(p.id, set())
                              if pid in figs and figs[pid]["waiting"].get(skill, 0) > 0})
            tile["idle_backlog"] = waiting
        tile.setdefault("stuck_after", None)
        tiles.append(tile)

    outlook = []
    for pid in sorted(visible):
        fig = figs[pid]
        backlog = sum(fig["waiting"].values())
        seats = len(seats_on.get(pid, ()))
        clear_seconds = (backlog * fig["aht_seconds"] / max(1, seats)) if fig["aht_seconds"] and backlog else None
        late_forecast = bool(clear_seconds is not None and fig["last_deadline"] is not None
                             and now + timedelta(seconds=clear_seconds) > fig["last_deadline"])
        reasons = (["due_soon"] if fig["due_soon"] else []) + (["forecast"] if late_forecast else [])
        outlook.append({
            "id": pid, "slug": fig["slug"], "name": fig["name"], "backlog": backlog, "due_soon": fig["due_soon"],
            "seats_working": seats, "aht_seconds": fig["aht_seconds"],
            "clear_minutes": round(clear_seconds / 60, 1) if clear_seconds is not None else None,
            "first_deadline": _iso(fig["first_deadline"]), "at_risk": bool(reasons), "risk": reasons,
        })
    return {"at": now.isoformat(), "team_scope": "all" if team_id is None else "team",
            "tiles": tiles, "projects": outlook}


def movable_projects(conn: Connection, actor: Actor) -> list[dict[str, Any]]:
    """Active projects ``actor`` may move people to (a lead: those of their team)."""
    require_staff(actor)
    rows = repo.active_projects(conn)
    team_id = scope_team(actor)
    if team_id is not None:
        allowed = repo.team_project_ids(conn, team_id)
        rows = [r for r in rows if r.id in allowed]
    return [{"id": r.id, "slug": r.slug, "name": r.name} for r in rows]


def move(conn: Connection, actor: Actor, username: str, project_ref: Any, *, grant: bool = False,
         now: datetime | None = None) -> dict[str, Any]:
    """Assign ``username`` to a project (see the module docstring). Returns the assignment."""
    require_staff(actor)
    if not isinstance(project_ref, str | int) or isinstance(project_ref, bool) or not str(project_ref).strip():
        raise ValidationFailed(Msg("project must be a project id or slug"), field="project")
    worker = catalog.user_by_username(conn, username)
    if worker is None or worker.role != Role.WORKER.value or not worker.active:
        raise NotFound(Msg("worker {username!r} not found", username=username), field="username")
    team_id = scope_team(actor)
    if team_id is not None and worker.team_id != team_id:
        raise NotFound(Msg("worker {username!r} not found in your team", username=username), field="username")
    ref = str(project_ref).strip()
    project = catalog.project_by_id(conn, int(ref)) if ref.isdigit() else catalog.project_by_slug(conn, ref)
    allowed = {p["id"] for p in movable_projects(conn, actor)}
    if project is None or project.id not in allowed:
        raise NotFound(Msg("project {ref!r} not found among the active projects your team works on", ref=ref),
                       field="project")
    qualified = any(q.project_id == project.id for q in catalog.skills_of(conn, worker.id))
    granted = False
    if not qualified:
        if not grant:
            raise Conflict(Msg("{username} is not qualified for project {project}; confirm to qualify them "
                               "(send grant: true)", username=username, project=project.slug),
                           field="grant", reason="not-qualified")
        granted = accounts.grant(conn, actor, username=username, project_slug=project.slug, skill="annotate")
    at = now or utcnow()
    repo.set_assignment(conn, worker.id, project.id, actor.id, at)
    return {"user": username, "project": {"id": project.id, "slug": project.slug, "name": project.name},
            "granted": granted, "assigned_at": at.isoformat(), "assigned_by": actor.username}
