"""Attendance: a worker checks in at a seat, takes breaks and checks out; occupancy and utilisation.

Definitions (docs/floor.md says the same):

- *checked-in time*: from check-in to check-out (or now), inside the window asked for;
- *available time*: checked-in time minus breaks;
- *working time*: the union of the worker's lease intervals (lease taken -> submitted, released or
  expired) inside the window, so the workspace's second, prefetched lease is not counted twice;
- **occupancy** = working time / available time (how busy a seated, not-on-break worker was);
- **utilisation** = checked-in time / shift time, the shift being ``shift_hours`` (8 h unless the
  caller says otherwise; there is no roster yet to read a scheduled time from).

Who: workers and leads (leads work seats too) check in; a lead sees the attendance of their own team,
managers and admins everyone's; clients have nothing to do with attendance (403).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from seatflow.domain.actors import Actor, Role
from seatflow.domain.clock import utcnow
from seatflow.errors import Conflict, Forbidden, ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.store import attendance as repo
from seatflow.store import catalog

SEAT_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,15}$")
DEFAULT_SHIFT_HOURS = 8.0
DEFAULT_WINDOW_HOURS = 12.0
SEATED = (Role.WORKER, Role.LEAD)
STAFF = (Role.ADMIN, Role.MANAGER, Role.LEAD)


def normalize_seat(raw: Any) -> str:
    """A seat code as printed on the desk: 1-16 letters, digits or dashes (``A-12``, ``07``), upper case."""
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise ValidationFailed(Msg("seat must be a seat number or code such as 'A-12'"), field="seat")
    seat = str(raw).strip().upper()
    if not seat:
        raise ValidationFailed(Msg("seat must not be empty: give the number or code on your desk"), field="seat")
    if not SEAT_RE.match(seat):
        raise ValidationFailed(
            Msg("seat {seat!r} is not a seat code: use 1-16 letters, digits or dashes, such as 'A-12'",
                seat=str(raw)[:40]), field="seat")
    return seat


def _seated(actor: Actor) -> None:
    if actor.role not in SEATED:
        raise Forbidden(Msg("attendance is for workers and team leads who take a seat"))


def check_in(conn: Connection, actor: Actor, seat: Any, *, now: datetime | None = None) -> dict[str, Any]:
    _seated(actor)
    code = normalize_seat(seat)
    now = now or utcnow()
    mine = repo.open_session(conn, actor.id)
    if mine is not None:
        raise Conflict(Msg("you are already checked in at seat {seat}; check out first", seat=mine.seat),
                       field="seat", reason="already-checked-in")
    taken = repo.session_at_seat(conn, code)
    if taken is not None:
        raise Conflict(Msg("seat {seat} is taken by someone else who has not checked out", seat=code),
                       field="seat", reason="seat-taken")
    try:
        with conn.begin_nested():  # a check-in racing this one loses on the partial unique indexes
            repo.insert_session(conn, actor.id, code, now)
    except IntegrityError as exc:
        raise Conflict(Msg("seat {seat} or you were checked in at the same moment; try again", seat=code),
                       field="seat", reason="seat-taken") from exc
    return state(conn, actor, now=now)


def _open_or_fail(conn: Connection, actor: Actor, not_checked_in: Msg) -> Any:
    """The actor's open session; ``not_checked_in`` is the whole message when there is none."""
    _seated(actor)
    session = repo.open_session(conn, actor.id)
    if session is None:
        raise Conflict(not_checked_in, reason="not-checked-in")
    return session


def start_break(conn: Connection, actor: Actor, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    session = _open_or_fail(conn, actor, Msg("you are not checked in: check in at a seat before you take a break"))
    if repo.open_break(conn, session.id) is not None:
        raise Conflict(Msg("you are on a break already; end it first"), reason="on-break")
    try:
        with conn.begin_nested():
            repo.insert_break(conn, session.id, actor.id, now)
    except IntegrityError as exc:
        raise Conflict(Msg("you are on a break already; end it first"), reason="on-break") from exc
    return state(conn, actor, now=now)


def end_break(conn: Connection, actor: Actor, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    session = _open_or_fail(conn, actor, Msg("you are not checked in: check in at a seat before you end a break"))
    brk = repo.open_break(conn, session.id)
    if brk is None:
        raise Conflict(Msg("you are not on a break"), reason="not-on-break")
    repo.end_break(conn, brk.id, now)
    return state(conn, actor, now=now)


def check_out(conn: Connection, actor: Actor, *, now: datetime | None = None) -> dict[str, Any]:
    """Leave the seat; a break still open ends at the same moment."""
    now = now or utcnow()
    session = _open_or_fail(conn, actor, Msg("you are not checked in: check in at a seat before you check out"))
    brk = repo.open_break(conn, session.id)
    if brk is not None:
        repo.end_break(conn, brk.id, now)
    repo.close_session(conn, session.id, now)
    return state(conn, actor, now=now)


def state(conn: Connection, actor: Actor, *, now: datetime | None = None,
          hours: float = DEFAULT_WINDOW_HOURS, shift_hours: float = DEFAULT_SHIFT_HOURS) -> dict[str, Any]:
    """Where I am now (seat, break) and my figures over the last ``hours``."""
    if actor.role is Role.CLIENT:
        raise Forbidden(Msg("attendance is for the center's people, not client accounts"))
    now = now or utcnow()
    session = repo.open_session(conn, actor.id)
    brk = repo.open_break(conn, session.id) if session is not None else None
    assignment = repo.assignment_of(conn, actor.id)
    project = catalog.project_by_id(conn, assignment.project_id) if assignment is not None else None
    return {
        "user": actor.username,
        "checked_in": session is not None,
        "seat": session.seat if session is not None else None,
        "checked_in_at": session.checked_in_at.isoformat() if session is not None else None,
        "on_break": brk is not None,
        "break_started_at": brk.started_at.isoformat() if brk is not None else None,
        "assigned_project": ({"id": project.id, "slug": project.slug, "name": project.name}
                             if project is not None else None),
        "figures": figures(conn, [actor.id], now=now, hours=hours, shift_hours=shift_hours)[actor.id],
    }


def team(conn: Connection, actor: Actor, *, now: datetime | None = None, hours: float = DEFAULT_WINDOW_HOURS,
         shift_hours: float = DEFAULT_SHIFT_HOURS) -> list[dict[str, Any]]:
    """The attendance of the workers a member of staff looks after: a lead's own team, everyone for managers."""
    if actor.role not in STAFF:
        raise Forbidden(Msg("only team leads and managers see their team's attendance"))
    now = now or utcnow()
    people = repo.floor_people(conn, scope_team(actor))
    ids = [p.id for p in people]
    open_by_user = {s.user_id: s for s in repo.open_sessions_of(conn, ids)}
    figs = figures(conn, ids, now=now, hours=hours, shift_hours=shift_hours)
    out = []
    for p in people:
        s = open_by_user.get(p.id)
        out.append({
            "user": p.username, "display_name": p.display_name, "team": p.team,
            "checked_in": s is not None, "seat": s.seat if s is not None else None,
            "checked_in_at": s.checked_in_at.isoformat() if s is not None else None,
            "on_break": s is not None and s.break_started_at is not None,
            "figures": figs[p.id],
        })
    return out


def scope_team(actor: Actor) -> int | None:
    """The team whose people ``actor`` sees: a lead's own (-1, nobody, when the lead has no team);
    None for managers and admins (everyone)."""
    if actor.role is Role.LEAD:
        return actor.team_id if actor.team_id is not None else -1
    return None


def check_window(hours: float, shift_hours: float) -> None:
    if not 0 < hours <= 168:
        raise ValidationFailed(Msg("hours must be more than 0 and at most 168"), field="hours")
    if not 0 < shift_hours <= 24:
        raise ValidationFailed(Msg("shift_hours must be more than 0 and at most 24"), field="shift_hours")


# --- figures ---------------------------------------------------------------------------------------

Interval = tuple[datetime, datetime]


def _clip(start: datetime, end: datetime | None, lo: datetime, hi: datetime) -> Interval | None:
    a, b = max(start, lo), min(end or hi, hi)
    return (a, b) if b > a else None


def _union_seconds(intervals: list[Interval]) -> float:
    total = 0.0
    cur: Interval | None = None
    for a, b in sorted(intervals):
        if cur is None or a > cur[1]:
            if cur is not None:
                total += (cur[1] - cur[0]).total_seconds()
            cur = (a, b)
        elif b > cur[1]:
            cur = (cur[0], b)
    if cur is not None:
        total += (cur[1] - cur[0]).total_seconds()
    return total


def _overlap_seconds(intervals: list[Interval], within: list[Interval]) -> float:
    """Seconds of the union of ``intervals`` that fall inside the union of ``within``."""
    pieces = [(max(a, c), min(b, d)) for a, b in intervals for c, d in within if min(b, d) > max(a, c)]
    return _union_seconds(pieces)


def figures(conn: Connection, user_ids: list[int], *, now: datetime, hours: float = DEFAULT_WINDOW_HOURS,
            shift_hours: float = DEFAULT_SHIFT_HOURS) -> dict[int, dict[str, Any]]:
    """Per user, over the last ``hours`` up to ``now``: checked-in, break, available and working seconds,
    occupancy and utilisation (None when there is nothing to divide by)."""
    lo = now - timedelta(hours=hours)
    sessions = repo.sessions_between(conn, user_ids, lo, now)
    breaks = repo.breaks_of(conn, [s.id for s in sessions])
    work = repo.leases_between(conn, user_ids, lo, now)
    out: dict[int, dict[str, Any]] = {}
    for uid in user_ids:
        present = [iv for s in sessions if s.user_id == uid
                   if (iv := _clip(s.checked_in_at, s.checked_out_at, lo, now)) is not None]
        away = [iv for b in breaks if b.user_id == uid
                if (iv := _clip(b.started_at, b.ended_at, lo, now)) is not None]
        busy = [iv for w in work if w.user_id == uid
                if (iv := _clip(w.created_at, w.ended_at or min(w.expires_at, now), lo, now)) is not None]
        checked_in = _union_seconds(present)
        on_break = _overlap_seconds(away, present)
        available = max(0.0, checked_in - on_break)
        # working while available: lease time inside the sessions, less the part that fell in breaks
        working = max(0.0, _overlap_seconds(busy, present) - _overlap_seconds(busy, away))
        out[uid] = {
            "window_hours": hours,
            "shift_hours": shift_hours,
            "checked_in_seconds": round(checked_in),
            "break_seconds": round(on_break),
            "available_seconds": round(available),
            "working_seconds": round(min(working, available)),
            "occupancy": round(min(working, available) / available, 4) if available > 0 else None,
            "utilisation": round(checked_in / (shift_hours * 3600), 4),
        }
    return out
