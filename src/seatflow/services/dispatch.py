"""Dispatch: hand a worker the best next task as a lease; renew, release and expire leases."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from seatflow.domain.actors import Actor, Role
from seatflow.domain.clock import utcnow
from seatflow.errors import Conflict, Forbidden, NotFound, NoWork, ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.store import catalog, queue
from seatflow.store.engine import engine_key
from seatflow.store.queue import LeasedTask

from . import quality
from ._tx import Retry

DEFAULT_LEASE_SECONDS = 600
QUALIFICATION_CACHE_SECONDS = 10.0  # a seat leases every few seconds: shorter and most leases missed it


class _QueueCache:
    """Per-process cache of a worker's queues (qualifications change rarely; a lease asks every time).

    Only non-empty answers are kept, so a new qualification takes effect at once and a revoked one
    within QUALIFICATION_CACHE_SECONDS.
    """

    def __init__(self) -> None:
        self._data: dict[tuple[int, int, int | None], tuple[float, list[tuple[int, str, int | None]]]] = {}
        self._lock = threading.Lock()

    def get(self, conn: Connection, user_id: int, project_id: int | None) -> list[tuple[int, str, int | None]]:
        key = (engine_key(conn), user_id, project_id)
        hit = self._data.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        queues = queue.qualified_queues(conn, user_id, project_id)
        if queues:
            with self._lock:
                if len(self._data) > 50_000:
                    self._data.clear()
                self._data[key] = (time.monotonic() + QUALIFICATION_CACHE_SECONDS, queues)
        return queues

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


queue_cache = _QueueCache()


@dataclass(frozen=True)
class DispatchOptions:
    lease_seconds: int = DEFAULT_LEASE_SECONDS


def next_task(
    conn: Connection,
    actor: Actor,
    *,
    project_id: int | None = None,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
    now: datetime | None = None,
    request_key: str | None = None,
) -> LeasedTask:
    """Lease the best task for ``actor``: own rework first, then by priority and deadline.

    Only projects the worker is qualified for; never an item the worker already annotated or
    reviewed. Raises NoWork when nothing is available. Run it inside ``transact`` (it raises
    Retry when it lost a race to a concurrent lease of the same worker).

    ``request_key`` (the client's, 1-128 characters): a request that repeats the key of an earlier
    one gets that lease back while it is live, instead of a second lease that would keep its item
    from everyone until it expired (a retry after a lost answer); once that lease has ended the key
    is refused (Conflict). A lease asked for with a key costs two more statements: a lookup and writing the key.
    """
    if actor.role is Role.CLIENT:
        raise Forbidden(Msg("client accounts do not take tasks"))
    now = now or utcnow()
    if request_key is None:
        return _next_task(conn, actor, project_id=project_id, lease_seconds=lease_seconds, now=now)
    key = request_key.strip()
    if not key or len(key) > 128:
        raise ValidationFailed(Msg("request_key must be 1 to 128 characters"), field="request_key")
    earlier = queue.keyed_lease(conn, user_id=actor.id, key=key, now=now)
    if earlier is not None:
        if earlier.task is None:
            raise Conflict(Msg("request_key {key!r} was already used for lease {lease_id}, which has ended "
                               "(submitted, released or expired): send a new key to take a new task",
                               key=key, lease_id=earlier.lease_id), field="request_key")
        if project_id is not None and earlier.task.project_id != project_id:
            raise Conflict(Msg("request_key {key!r} was already used for lease {lease_id} in another project: "
                               "send a new key for each new request", key=key, lease_id=earlier.lease_id),
                           field="request_key")
        return earlier.task
    leased = _next_task(conn, actor, project_id=project_id, lease_seconds=lease_seconds, now=now)
    try:
        queue.set_request_key(conn, lease_id=leased.lease_id, key=key)
    except IntegrityError as exc:  # a concurrent request with this key leased first: run again, find it
        raise Retry(str(exc)) from exc
    return leased


def _next_task(conn: Connection, actor: Actor, *, project_id: int | None, lease_seconds: int,
               now: datetime) -> LeasedTask:
    queue.relax_commit_durability(conn)
    queues = queue_cache.get(conn, actor.id, project_id)
    if not queues:
        if project_id is not None:
            _refuse_paused(conn, actor, project_id)
            raise NotFound(
                Msg("project {project_id} is not open to you: ask your team lead for a qualification",
                    project_id=project_id),
                field="project_id",
            )
        raise NoWork(Msg("you are not qualified for any active project (a paused project hands out no tasks): "
                         "ask your team lead"))
    # Quality control: suspended (or failed) projects are left out; a worker taking a project's
    # qualification test gets only its gold items; gold is mixed into annotate work at the project's rate.
    qc = quality.plan(conn, actor.id, sorted({pid for pid, _, _ in queues}))
    if qc is not None and qc.blocked:
        queues = [q for q in queues if q[0] not in qc.blocked]
        if not queues:
            pid = project_id if project_id is not None else min(qc.blocked)
            raise quality.blocked_error(conn, pid, qc.blocked[pid])
    # A project's own lease length wins over the server's default.
    seconds = {pid: secs or lease_seconds for pid, _, secs in queues}
    testing = qc.testing if qc is not None else set()
    # The worker's own rework comes first. Where no quality control takes a turn before the queue (gold
    # or a qualification test) and every queue leases for as long, the queue's lease statement asks for
    # the rework itself: one statement fewer per lease on the hot path.
    fold = qc is None and len(set(seconds.values())) == 1 and queue.folds_rework(conn)
    try:
        heads = queue.queue_heads(conn, [(pid, kind) for pid, kind, _ in queues if pid not in testing])
        if not fold or not heads:  # no queue statement runs (or none asks): probe for the rework alone
            expires = now + timedelta(seconds=seconds[project_id] if project_id in seconds else lease_seconds)
            leased = queue.lease_assigned(conn, user_id=actor.id, project_id=project_id, now=now, expires=expires)
            if leased is not None:
                return leased
        for pid in sorted(testing):
            leased = quality.gold_lease(conn, actor.id, pid, qc, now=now,  # type: ignore[arg-type]
                                        expires=now + timedelta(seconds=seconds[pid]))
            if leased is not None:
                return leased
        for pid, kind in heads:
            expires = now + timedelta(seconds=seconds[pid])
            if qc is not None and kind == "annotate" and pid in qc.projects:
                leased = quality.gold_lease(conn, actor.id, pid, qc, now=now, expires=expires)
                if leased is not None:
                    return leased
            leased = queue.lease_from_queue(
                conn, user_id=actor.id, project_id=pid, kind=kind, now=now, expires=expires,
                rework_first=fold, rework_project=project_id,
            )
            if leased is not None:
                return leased
    except IntegrityError as exc:
        # Two leases of the same worker raced for two slots of one item; run again.
        raise Retry(str(exc)) from exc
    if project_id is not None and project_id in testing:
        raise NoWork(Msg("no qualification test item is left for you in this project; ask your team lead"),
                     field="project_id")
    raise NoWork(Msg("no task is waiting for you right now; try again in a moment"))


def _refuse_paused(conn: Connection, actor: Actor, project_id: int) -> None:
    """NoWork naming the pause when a worker asks for a paused project they are qualified for.

    Not ``NotFound``: the project is theirs and comes back when resumed, so a seat asking again later
    (the workspace does on no-work) goes on by itself. Anyone else learns nothing about the project.
    """
    row = catalog.project_by_id(conn, project_id)
    if row is None or row.status == "active":
        return
    if any(s.project_id == project_id for s in catalog.skills_of(conn, actor.id)):
        raise NoWork(Msg("project {slug} is paused: it hands out no new tasks until a manager resumes it",
                         slug=row.slug), field="project_id")


def renew(
    conn: Connection, actor: Actor, lease_ids: list[int], *, lease_seconds: int = DEFAULT_LEASE_SECONDS,
    now: datetime | None = None,
) -> list[int]:
    """Heartbeat: extend the caller's live leases. Returns the ids still held."""
    now = now or utcnow()
    by_length: dict[int, list[int]] = {}
    for lease_id, secs in queue.lease_lengths(conn, user_id=actor.id, lease_ids=lease_ids).items():
        by_length.setdefault(secs or lease_seconds, []).append(lease_id)
    held: list[int] = []
    for secs, ids in by_length.items():
        held += queue.renew(conn, user_id=actor.id, lease_ids=ids, now=now, expires=now + timedelta(seconds=secs))
    return sorted(held)


def release(conn: Connection, actor: Actor, lease_ids: list[int] | None = None, *,
            now: datetime | None = None) -> int:
    """Give leases back to the queue (closing the tab releases the prefetched lease)."""
    rows = queue.leased_by_user(conn, user_id=actor.id, lease_ids=lease_ids)
    return queue.return_to_queue(conn, rows, reason="release", now=now or utcnow(), actor_id=actor.id)


def reap_expired(conn: Connection, *, now: datetime | None = None, limit: int = 1000) -> int:
    """Return tasks whose lease expired to the queue. Safe to run from many processes at once."""
    now = now or utcnow()
    rows = queue.expired(conn, now=now, limit=limit)
    return queue.return_to_queue(conn, rows, reason="expire", now=now, actor_id=None)
