"""A shift plan that covers the required seats of every interval with the fewest person-hours.

Shift templates are lengths (e.g. 8 h and 4 h) that may start at any interval boundary of the horizon
(``start_every`` minutes apart). The integer program: x_s >= 0 people start shift s; for every interval i,
sum of x_s over the shifts covering i >= required_i; minimise sum of hours_s x_s. It is solved with
``scipy.optimize.milp`` (HiGHS). Shifts that would run past the horizon's end are allowed (the plan may
start people late in the day) and are costed in full.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from seatflow.errors import SeatflowError, ValidationFailed
from seatflow.i18n.message import N_, Msg

MAX_SHIFT_HOURS = 12
SOLVER_SECONDS = 30.0


class NoShiftPlan(SeatflowError):
    status = 422
    code = "no-shift-plan"
    title = N_("No shift plan was found")


@dataclass(frozen=True)
class Shift:
    """``people`` start a shift of ``hours`` at interval ``start`` (an index into the horizon)."""

    start: int
    hours: float
    people: int


@dataclass(frozen=True)
class ShiftPlan:
    shifts: list[Shift]
    scheduled: list[int]  # seats on duty per interval
    person_hours: float
    optimal: bool


_LENGTH = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*h?\s*$", re.IGNORECASE)


def parse_lengths(text: str | Sequence[str]) -> list[float]:
    """``"8h,4h"`` (or ``["8h", "4h"]``) -> ``[8.0, 4.0]``: shift lengths in hours, 1 to 12."""
    parts = [p for p in (text.split(",") if isinstance(text, str) else list(text)) if str(p).strip()]
    if not parts:
        raise ValidationFailed(Msg("shifts: give at least one shift length, e.g. 8h,4h"), field="shifts")
    lengths: list[float] = []
    for part in parts:
        match = _LENGTH.match(str(part))
        if match is None:
            raise ValidationFailed(Msg("shifts: {part!r} is not a length in hours such as 8h", part=part),
                                   field="shifts")
        hours = float(match[1])
        if not 1 <= hours <= MAX_SHIFT_HOURS:
            raise ValidationFailed(Msg("shifts: {part!r} must be 1 to {most} hours", part=part, most=MAX_SHIFT_HOURS),
                                   field="shifts")
        if hours not in lengths:
            lengths.append(hours)
    return lengths


def plan_shifts(required: Sequence[int], *, interval_minutes: int, lengths: Sequence[float],
                start_every: int | None = None, time_limit: float = SOLVER_SECONDS) -> ShiftPlan:
    """The fewest person-hours covering ``required`` seats per interval with shifts of ``lengths`` hours."""
    import numpy as np  # on first use, not at every server start
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_matrix

    need = [int(r) for r in required]
    if any(r < 0 for r in need):
        raise ValidationFailed(Msg("required seats cannot be negative"), field="required")
    step_minutes = start_every or interval_minutes
    if step_minutes % interval_minutes:
        raise ValidationFailed(Msg("shift starts must fall on interval boundaries"), field="start_every")
    for hours in lengths:
        if (hours * 60) % interval_minutes:
            raise ValidationFailed(Msg("shifts: {hours:g}h is not a whole number of {minutes}-minute intervals",
                                       hours=hours, minutes=interval_minutes), field="shifts")
    horizon = len(need)
    if horizon == 0 or max(need) == 0:
        return ShiftPlan(shifts=[], scheduled=[0] * horizon, person_hours=0.0, optimal=True)
    stride = step_minutes // interval_minutes
    # only starts that cover some demand matter; a shift may also start before the first demand
    templates: list[tuple[int, float, int]] = []  # (start, hours, span in intervals)
    for hours in sorted(lengths, reverse=True):
        span = int(hours * 60 // interval_minutes)
        for start in range(0, horizon, stride):
            templates.append((start, hours, span))
    cover = lil_matrix((horizon, len(templates)), dtype=float)
    for j, (start, _hours, span) in enumerate(templates):
        for i in range(start, min(start + span, horizon)):
            cover[i, j] = 1.0
    # person-hours, plus a tie-break per person: among plans with equally few person-hours prefer the one
    # with the fewest people (longer shifts instead of a patchwork of short ones). Person-hours differ by
    # at least one interval, and no optimal plan starts more people than the sum of the requirement, so
    # the tie-break (under half an interval in total) never buys fewer people with more hours.
    tie_break = (interval_minutes / 60) / (2 * (sum(need) + 1))
    cost = np.array([hours + tie_break for _start, hours, _span in templates])
    result = milp(
        c=cost,
        constraints=[LinearConstraint(cover.tocsr(), lb=np.array(need, dtype=float), ub=np.inf)],
        integrality=np.ones(len(templates)),
        bounds=Bounds(0, np.inf),
        options={"time_limit": time_limit, "disp": False},
    )
    if result.x is None:
        raise NoShiftPlan(Msg("the shift solver found no plan ({why})", why=result.message))
    people = [int(round(v)) for v in result.x]
    shifts = [Shift(start=s, hours=h, people=p) for (s, h, _span), p in zip(templates, people, strict=True) if p > 0]
    shifts.sort(key=lambda sh: (sh.start, -sh.hours))
    scheduled = [0] * horizon
    for (start, _hours, span), p in zip(templates, people, strict=True):
        for i in range(start, min(start + span, horizon)):
            scheduled[i] += p
    assert all(s >= r for s, r in zip(scheduled, need, strict=True)), "the shift plan must cover every interval"
    total = math.fsum(sh.hours * sh.people for sh in shifts)
    return ShiftPlan(shifts=shifts, scheduled=scheduled, person_hours=total, optimal=bool(result.status == 0))
