"""Which queued items will breach their deadline before anyone can decide them, and how many seats
would prevent it. Pure: the caller reads the queue, the seats and the handling time.

The model: ``seats`` moderators each decide one item at a time and take ``aht`` (average handling
time) per item. Items are taken in dispatch order (priority, then deadline). A seat busy with a
leased item is free again ``aht`` after its lease began (or now, if that is past). An item breaches
when its expected decision time (start + ``aht``) is after its deadline. With no seat at all every
item with a deadline breaches, and its expected start is unknown.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta

NO_DEADLINE_YEAR = 9999  # items without a deadline carry one far in the future


@dataclass(frozen=True)
class Queued:
    task_id: int
    item_id: int
    external_id: str
    priority: int
    deadline: datetime


@dataclass(frozen=True)
class Outlook:
    task: Queued
    expected_start: datetime | None  # None: no seat works the queue
    expected_decision: datetime | None
    breach: bool
    savable: bool  # False: even a free seat right now would decide it late

    @property
    def late_by_seconds(self) -> float | None:
        if self.expected_decision is None or not self.breach:
            return None
        return (self.expected_decision - self.task.deadline).total_seconds()


def _has_deadline(q: Queued) -> bool:
    return q.deadline.year < NO_DEADLINE_YEAR


def outlook(queue: list[Queued], *, now: datetime, seats: int, aht: timedelta,
            busy_since: list[datetime] | None = None) -> list[Outlook]:
    """The expected start and decision of each queued item (``queue`` in dispatch order).

    ``busy_since``: when the leases in progress began (they hold seats until ``aht`` after that).
    """
    if seats <= 0:
        return [Outlook(q, None, None, _has_deadline(q), now + aht <= q.deadline) for q in queue]
    busy = sorted(max(now, t + aht) for t in (busy_since or []))[:seats]
    free = busy + [now] * (seats - len(busy))
    heapq.heapify(free)
    out = []
    for q in queue:
        start = heapq.heappop(free)
        done = start + aht
        heapq.heappush(free, done)
        out.append(Outlook(q, start, done, _has_deadline(q) and done > q.deadline, now + aht <= q.deadline))
    return out


def seats_needed(queue: list[Queued], *, now: datetime, aht: timedelta, busy_since: list[datetime] | None = None,
                 max_seats: int = 1000) -> int | None:
    """The fewest seats with which no savable item breaches; None when even ``max_seats`` are not enough.

    0 when no item needs a seat to be on time (an empty queue, or only items without a deadline).
    """
    savable = [q for q in queue if _has_deadline(q) and now + aht <= q.deadline]

    def ok(seats: int) -> bool:
        return not any(o.breach and o.savable for o in outlook(queue, now=now, seats=seats, aht=aht,
                                                                 busy_since=busy_since))

    if not savable:
        return 0
    if not ok(max_seats):
        return None
    lo, hi = 1, max_seats  # breaches only fall as seats grow, so the first seat count that works is found by halving
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo
