"""Dashboard numbers for a scope (the center, a client, a project, a team, a worker) and a window.

Who may see what:
- admins and managers: every scope;
- leads: their own team, its workers, and the projects the team works on (not a client as a whole);
- client users: their own client and its projects; never a team or a worker;
- workers: only themselves.
A scope the asker may not see is 403 (a role that never may) or 404 (another tenant's id: nothing leaks).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, select

from seatflow.domain.actors import Actor, Role
from seatflow.domain.clock import local_midnight, utcnow
from seatflow.errors import Forbidden, NotFound, ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.store import catalog
from seatflow.store import tables as t

from . import repository as repo
from .repository import Filter

MAX_HOURS = 24 * 31
# Backlog age bands: upper bounds in hours (the last band is everything older).
AGE_BANDS = (1, 4, 24, 72)


class ScopeKind(StrEnum):
    CENTER = "center"
    CLIENT = "client"
    PROJECT = "project"
    TEAM = "team"
    WORKER = "worker"


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    key: str  # slug, team name or username ('' for the center)
    name: str
    filter: Filter


@dataclass(frozen=True)
class Bucket:
    start: datetime
    answers: int
    delivered: int
    aht_seconds: float | None  # average lease -> submit of the answers in the bucket
    sla_met: int  # delivered items done by their deadline
    sla_share: float | None


@dataclass
class Dashboard:
    scope: Scope
    start: datetime
    end: datetime
    step: str  # 'hour' or 'day'
    buckets: list[Bucket] = field(default_factory=list)
    answers: int = 0
    delivered: int = 0
    aht_seconds: float | None = None
    sla_met: int = 0
    backlog: int = 0
    backlog_overdue: int = 0
    backlog_oldest_seconds: float | None = None
    backlog_p50_seconds: float | None = None
    backlog_p90_seconds: float | None = None
    backlog_bands: list[int] = field(default_factory=list)
    reviews: int = 0
    reviews_accepted: int = 0
    gold_answers: int | None = None
    gold_passed: int | None = None

    @property
    def sla_share(self) -> float | None:
        return self.sla_met / self.delivered if self.delivered else None

    @property
    def acceptance_rate(self) -> float | None:
        return self.reviews_accepted / self.reviews if self.reviews else None

    @property
    def gold_accuracy(self) -> float | None:
        return (self.gold_passed or 0) / self.gold_answers if self.gold_answers else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": {"kind": self.scope.kind.value, "key": self.scope.key, "name": self.scope.name},
            "start": self.start.isoformat(), "end": self.end.isoformat(), "step": self.step,
            "totals": {
                "answers": self.answers, "delivered": self.delivered, "aht_seconds": self.aht_seconds,
                "sla_met": self.sla_met, "sla_attainment": self.sla_share,
                "reviews": self.reviews, "reviews_accepted": self.reviews_accepted,
                "acceptance_rate": self.acceptance_rate,
                "gold_answers": self.gold_answers, "gold_passed": self.gold_passed,
                "gold_accuracy": self.gold_accuracy,
            },
            "backlog": {
                "items": self.backlog, "overdue": self.backlog_overdue,
                "oldest_seconds": self.backlog_oldest_seconds, "p50_seconds": self.backlog_p50_seconds,
                "p90_seconds": self.backlog_p90_seconds,
                "age_bands": [{"band": band, "items": n} for band, n in zip(age_band_keys(), self.backlog_bands,
                                                                            strict=True)],
            },
            "series": [
                {"start": b.start.isoformat(), "answers": b.answers, "delivered": b.delivered,
                 "aht_seconds": b.aht_seconds, "sla_met": b.sla_met, "sla_attainment": b.sla_share}
                for b in self.buckets
            ],
        }


def age_band_keys() -> list[str]:
    keys, low = [], 0
    for high in AGE_BANDS:
        keys.append(f"{low}-{high}h")
        low = high
    return [*keys, f">{low}h"]


# --- who may see which scope ---------------------------------------------------------------------


def _not_found(kind: ScopeKind, key: str) -> NotFound:
    if kind is ScopeKind.CLIENT:
        message = Msg("client {key!r} not found", key=key)
    elif kind is ScopeKind.PROJECT:
        message = Msg("project {key!r} not found", key=key)
    elif kind is ScopeKind.TEAM:
        message = Msg("team {key!r} not found", key=key)
    else:
        message = Msg("worker {key!r} not found", key=key)
    return NotFound(message, field=kind.value)


def resolve_scope(conn: Connection, actor: Actor, kind: str | None, key: str | None) -> Scope:
    """The scope named by ``kind``/``key`` if ``actor`` may see it; no kind = the actor's natural scope."""
    if not kind:
        kind = {Role.CLIENT: "client", Role.LEAD: "team", Role.WORKER: "worker"}.get(actor.role, "center")
    try:
        sk = ScopeKind(kind)
    except ValueError:
        raise ValidationFailed(Msg("scope must be one of {scopes}; got {got!r}",
                                   scopes=", ".join(k.value for k in ScopeKind), got=kind), field="scope") from None
    key = (key or "").strip()
    role = actor.role
    manager = role in (Role.ADMIN, Role.MANAGER)
    if sk is ScopeKind.CENTER:
        if not manager:
            raise Forbidden(Msg("the whole center's dashboard is for managers; pick your own scope"))
        return Scope(sk, "", "", Filter())
    if sk is ScopeKind.CLIENT:
        if role not in (Role.ADMIN, Role.MANAGER, Role.CLIENT):
            raise Forbidden(Msg("a client's dashboard is for managers and the client; you are {role}",
                                role=role.value))
        row = catalog.client_by_id(conn, actor.client_id or 0) if (role is Role.CLIENT and not key) else (
            catalog.client_by_slug(conn, key) if key else None)
        if not key and row is None:
            raise ValidationFailed(Msg("name the client (its slug)"), field="key")
        if row is None or not actor.can_see_client(row.id):
            raise _not_found(sk, key)
        return Scope(sk, row.slug, row.name, Filter(project_ids=repo.client_project_ids(conn, row.id)))
    if sk is ScopeKind.PROJECT:
        if role is Role.WORKER:
            raise Forbidden(Msg("workers see their own dashboard only"))
        if not key:
            raise ValidationFailed(Msg("name the project (its slug)"), field="key")
        row = catalog.project_by_slug(conn, key)
        if row is None or not actor.can_see_client(row.client_id):
            raise _not_found(sk, key)
        if role is Role.LEAD and (actor.team_id is None or row.id not in repo.team_projects(conn, actor.team_id)):
            raise _not_found(sk, key)
        return Scope(sk, row.slug, row.name, Filter(project_ids=frozenset({int(row.id)})))
    if role is Role.CLIENT:
        raise Forbidden(Msg("clients see their own projects' numbers, never a team's or a worker's"))
    if sk is ScopeKind.TEAM:
        if role is Role.WORKER:
            raise Forbidden(Msg("workers see their own dashboard only"))
        if role is Role.LEAD and not key:
            team = conn.execute(select(t.teams).where(t.teams.c.id == actor.team_id)).first() \
                if actor.team_id is not None else None
            if team is None:
                raise NotFound(Msg("you lead no team yet; ask a manager to put you in one"), field="team")
        else:
            if not key:
                raise ValidationFailed(Msg("name the team"), field="key")
            team = catalog.team_by_name(conn, key)
        if team is None or (role is Role.LEAD and team.id != actor.team_id):
            raise _not_found(sk, key)
        return Scope(sk, team.name, team.name, Filter(user_ids=repo.team_members(conn, team.id)))
    # worker
    user = catalog.user_by_id(conn, actor.id) if (role is Role.WORKER and not key) else (
        catalog.user_by_username(conn, key) if key else None)
    if not key and user is None:
        raise ValidationFailed(Msg("name the worker (username)"), field="key")
    if user is None or user.role not in ("worker", "lead"):
        raise _not_found(sk, key)
    if role is Role.WORKER and user.id != actor.id:
        raise Forbidden(Msg("workers see their own dashboard only"))
    if role is Role.LEAD and (actor.team_id is None or user.team_id != actor.team_id) and user.id != actor.id:
        raise _not_found(sk, key)
    return Scope(sk, user.username, user.display_name, Filter(user_ids=frozenset({int(user.id)})))


# --- the numbers ---------------------------------------------------------------------------------


def parse_hours(value: str | int | None) -> int:
    if value is None or value == "":
        return 24
    try:
        hours = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(Msg("hours must be a whole number of hours, 1 to {most}; got {got!r}",
                                   most=MAX_HOURS, got=value), field="hours") from None
    if not 1 <= hours <= MAX_HOURS:
        raise ValidationFailed(Msg("hours must be between 1 and {most}; got {got}", most=MAX_HOURS, got=hours),
                               field="hours")
    return hours


def _floor(at: datetime, step: str, tz: tzinfo = UTC) -> datetime:
    """The start of ``at``'s hour or day on the center's clock (``tz``), as a UTC instant: a center in
    Asia/Kolkata has hours that begin at :30 UTC, and every center's days begin at its own midnight."""
    local = at.astimezone(tz)
    if step == "day":
        return local_midnight(local.date(), tz)
    return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)


def dashboard(conn: Connection, actor: Actor, *, scope: str | None = None, key: str | None = None,
              hours: str | int | None = None, now: datetime | None = None, tz: tzinfo = UTC) -> Dashboard:
    """The dashboard of a scope over the last ``hours`` (24 by default), bucketed per hour (per day
    beyond three days) of the center's clock, ``tz``."""
    sc = resolve_scope(conn, actor, scope, key)
    span = parse_hours(hours)
    now = now or utcnow()
    step = "hour" if span <= 72 else "day"
    delta = timedelta(hours=1) if step == "hour" else timedelta(days=1)
    end = _floor(now, step, tz) + delta
    start = end - delta * (span if step == "hour" else -(-span // 24))
    return compute(conn, sc, start=start, end=end, step=step, now=now)


def compute(conn: Connection, sc: Scope, *, start: datetime, end: datetime, step: str, now: datetime) -> Dashboard:
    f = sc.filter
    delta = timedelta(hours=1) if step == "hour" else timedelta(days=1)
    starts: list[datetime] = []
    at = start
    while at < end:
        starts.append(at)
        at += delta
    n_answers = dict.fromkeys(starts, 0)
    handling: dict[datetime, list[float]] = {s: [] for s in starts}
    def bucket(at: datetime) -> datetime:
        # counted from ``start``: a daily report's local day may begin at a half hour in UTC (Asia/Kolkata)
        return start + delta * ((at - start) // delta)

    for row in repo.answers(conn, f, start, end):
        b = bucket(row.created_at)
        if b in n_answers:
            n_answers[b] += 1
            if row.leased_at is not None:
                handling[b].append(max(0.0, (row.created_at - row.leased_at).total_seconds()))
    n_done = dict.fromkeys(starts, 0)
    n_met = dict.fromkeys(starts, 0)
    for row in repo.delivered(conn, f, start, end):
        b = bucket(row.done_at)
        if b in n_done:
            n_done[b] += 1
            n_met[b] += int(row.done_at <= row.deadline)
    d = Dashboard(scope=sc, start=start, end=end, step=step)
    all_handling: list[float] = []
    for s in starts:
        hs = handling[s]
        all_handling += hs
        d.buckets.append(Bucket(start=s, answers=n_answers[s], delivered=n_done[s],
                                aht_seconds=sum(hs) / len(hs) if hs else None, sla_met=n_met[s],
                                sla_share=n_met[s] / n_done[s] if n_done[s] else None))
    d.answers = sum(n_answers.values())
    d.delivered = sum(n_done.values())
    d.sla_met = sum(n_met.values())
    d.aht_seconds = sum(all_handling) / len(all_handling) if all_handling else None
    backlog_filter = f
    if sc.kind in (ScopeKind.TEAM, ScopeKind.WORKER):
        # a team's or a worker's backlog: what waits in the projects they work on
        ids: set[int] = set()
        for uid in f.user_ids or ():
            ids |= _projects_of_user(conn, uid)
        backlog_filter = Filter(project_ids=frozenset(ids))
    waiting = repo.backlog(conn, backlog_filter, now, [now - timedelta(hours=0)] + [
        now - timedelta(hours=h) for h in AGE_BANDS])
    d.backlog, d.backlog_overdue, d.backlog_bands = waiting.size, waiting.overdue, waiting.bands
    if waiting.oldest is not None:
        d.backlog_oldest_seconds = (now - waiting.oldest).total_seconds()
        d.backlog_p50_seconds = (now - waiting.p50_at).total_seconds() if waiting.p50_at else None
        d.backlog_p90_seconds = (now - waiting.p90_at).total_seconds() if waiting.p90_at else None
    d.reviews_accepted, d.reviews = repo.reviews(conn, f, start, end)
    d.gold_passed, d.gold_answers = repo.gold(conn, f, start, end)
    return d


def _projects_of_user(conn: Connection, user_id: int) -> set[int]:
    quals = select(t.qualifications.c.project_id).where(t.qualifications.c.user_id == user_id)
    return {int(x) for x in conn.execute(quals).scalars()}


# --- CSV -----------------------------------------------------------------------------------------

CHARTS = ("throughput", "aht", "sla", "backlog")


def chart_csv(d: Dashboard, chart: str) -> str:
    """The numbers behind one chart of the dashboard, as CSV."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if chart == "throughput":
        w.writerow(("start", "answers", "delivered"))
        for b in d.buckets:
            w.writerow((b.start.isoformat(), b.answers, b.delivered))
    elif chart == "aht":
        w.writerow(("start", "answers", "aht_seconds"))
        for b in d.buckets:
            w.writerow((b.start.isoformat(), b.answers, "" if b.aht_seconds is None else f"{b.aht_seconds:.1f}"))
    elif chart == "sla":
        w.writerow(("start", "delivered", "sla_met", "sla_attainment"))
        for b in d.buckets:
            w.writerow((b.start.isoformat(), b.delivered, b.sla_met,
                        "" if b.sla_share is None else f"{b.sla_share:.4f}"))
    elif chart == "backlog":
        w.writerow(("age_band", "items"))
        for band, n in zip(age_band_keys(), d.backlog_bands, strict=True):
            w.writerow((band, n))
    else:
        raise ValidationFailed(Msg("chart must be one of {charts}; got {got!r}", charts=", ".join(CHARTS), got=chart),
                               field="chart")
    return buf.getvalue()
