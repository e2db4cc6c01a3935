"""SLA figures of moderation decisions: time to decision p50/p95 and the share decided within the deadline.

Percentiles use the nearest-rank method (the value at rank ceil(p/100 * n) of the sorted sample), so
each figure is one of the observed times; with no decision in a group the figures are None.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Decided:
    project_id: int
    received_at: datetime
    decided_at: datetime
    deadline: datetime


@dataclass(frozen=True)
class SlaFigures:
    project_id: int
    hour: datetime | None  # the start of the hour (UTC) of the decisions; None for the whole window
    decided: int
    within_deadline: int
    p50_seconds: float | None
    p95_seconds: float | None

    @property
    def share_within_deadline(self) -> float | None:
        return self.within_deadline / self.decided if self.decided else None


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None when it is empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def figures(rows: Iterable[Decided], *, by_hour: bool) -> list[SlaFigures]:
    """Group by project (and by the UTC hour of the decision when ``by_hour``), oldest hour first."""
    groups: dict[tuple[int, datetime | None], list[Decided]] = {}
    for r in rows:
        hour = r.decided_at.replace(minute=0, second=0, microsecond=0) if by_hour else None
        groups.setdefault((r.project_id, hour), []).append(r)
    out = []
    for (project_id, hour), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or datetime.min)):
        times = sorted(max(0.0, (m.decided_at - m.received_at).total_seconds()) for m in members)
        within = sum(1 for m in members if m.decided_at <= m.deadline)
        out.append(SlaFigures(project_id=project_id, hour=hour, decided=len(members), within_deadline=within,
                              p50_seconds=percentile(times, 50), p95_seconds=percentile(times, 95)))
    return out
