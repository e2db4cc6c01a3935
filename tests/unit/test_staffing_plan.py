"""Shift plans (MILP), forecast CSVs and peaks, seasonal means, and the plan that joins them."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from seatflow.errors import ValidationFailed
from seatflow.staffing import erlang
from seatflow.staffing.forecast import Forecast, Slot, apply_peaks, parse_csv, parse_peak, seasonal_mean
from seatflow.staffing.plan import Settings, build, to_csv
from seatflow.staffing.shifts import parse_lengths, plan_shifts

T0 = datetime(2026, 12, 12, 8, 0, tzinfo=UTC)


# --- shifts ---------------------------------------------------------------------------------------------------


def test_two_full_shifts_cover_a_flat_day() -> None:
    plan = plan_shifts([2] * 8 + [0] * 4, interval_minutes=60, lengths=[8, 4])
    assert plan.person_hours == 16 and plan.optimal
    assert plan.scheduled[:8] == [2] * 8
    assert [(s.start, s.hours, s.people) for s in plan.shifts] == [(0, 8, 2)]


def test_a_peak_afternoon_uses_half_shifts() -> None:
    # 1 seat all day, 3 in the afternoon: one 8 h shift plus two 4 h shifts (16 h), not three 8 h (24 h)
    plan = plan_shifts([1, 1, 1, 1, 3, 3, 3, 3], interval_minutes=60, lengths=[8, 4])
    assert plan.person_hours == 16
    assert sorted((s.start, s.hours, s.people) for s in plan.shifts) in (
        [(0, 8, 1), (4, 4, 2)], [(0, 4, 1), (4, 4, 3)])
    assert plan.scheduled == [1, 1, 1, 1, 3, 3, 3, 3]


def test_equal_hours_prefer_fewer_people() -> None:
    plan = plan_shifts([1] * 8, interval_minutes=30, lengths=[4, 2])  # 4 h: one 4 h shift, not two of 2 h
    assert plan.person_hours == 4 and [(s.start, s.hours, s.people) for s in plan.shifts] == [(0, 4, 1)]


def test_twelve_hours_take_an_eight_and_a_four() -> None:
    plan = plan_shifts([1] * 12, interval_minutes=60, lengths=[8, 4])
    assert plan.person_hours == 12 and len(plan.shifts) == 2


def _brute_force(required: list[int], lengths: list[int]) -> int:
    """The fewest hours by trying every assignment of up to max(required) people per start (tiny cases only)."""
    starts = [(s, h) for h in lengths for s in range(len(required))]
    best = None
    for counts in itertools.product(range(max(required) + 1), repeat=len(starts)):
        cover = [0] * len(required)
        for (s, h), c in zip(starts, counts, strict=True):
            for i in range(s, min(s + h, len(required))):
                cover[i] += c
        if all(c >= r for c, r in zip(cover, required, strict=True)):
            hours = sum(h * c for (_s, h), c in zip(starts, counts, strict=True))
            best = hours if best is None else min(best, hours)
    assert best is not None
    return best


@pytest.mark.parametrize("seed", range(6))
def test_the_milp_is_as_good_as_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    required = [rng.randint(0, 2) for _ in range(5)]
    if max(required) == 0:
        required[2] = 1
    plan = plan_shifts(required, interval_minutes=60, lengths=[3, 2])
    assert plan.person_hours == _brute_force(required, [3, 2])
    assert all(s >= r for s, r in zip(plan.scheduled, required, strict=True))


def test_shift_lengths_are_checked() -> None:
    assert parse_lengths("8h, 4h") == [8.0, 4.0]
    assert parse_lengths(["6"]) == [6.0]
    for bad in ("", "8x", "0h", "13h"):
        with pytest.raises(ValidationFailed) as exc:
            parse_lengths(bad)
        assert exc.value.field == "shifts"
    with pytest.raises(ValidationFailed, match="whole number"):
        plan_shifts([1, 1], interval_minutes=60, lengths=[1.5])
    assert plan_shifts([0, 0], interval_minutes=30, lengths=[8]).person_hours == 0


# --- forecast CSV, peaks, seasonal mean ------------------------------------------------------------------------


def test_csv_forecast_reads_rows_and_fills_gaps() -> None:
    text = "interval_start,arrivals\n2026-12-12T08:00,100\n2026-12-12 08:30:00+00:00,120\n\n2026-12-12T09:30Z,80\n"
    fc = parse_csv(text, source="peak.csv", interval_minutes=30)
    assert [(s.start.strftime("%H:%M"), s.arrivals) for s in fc.slots] == [
        ("08:00", 100), ("08:30", 120), ("09:00", 0), ("09:30", 80)]
    assert parse_csv("2026-12-12T16:00+08:00,5", interval_minutes=60).slots[0].start == T0  # offsets become UTC


@pytest.mark.parametrize(("text", "line", "field", "says"), [
    ("interval_start,arrivals\n2026-12-12T08:00,100\n2026-12-12T08:30,many\n", 3, "arrivals",
     "peak.csv:3: field arrivals"),
    ("2026-12-12T08:00,100\nyesterday,5\n", 2, "interval_start", "peak.csv:2: field interval_start"),
    ("2026-12-12T08:00,100\n2026-12-12T08:10,5\n", 2, "interval_start", "30-minute interval"),
    ("2026-12-12T08:30,100\n2026-12-12T08:00,5\n", 2, "interval_start", "not after the previous"),
    ("2026-12-12T08:00,-3\n", 1, "arrivals", "0 or more"),
    ("2026-12-12T08:00\n", 1, "arrivals", "expected 2 fields"),
    ("2026-12-12T08:00,1,2\n", 1, "row", "expected 2 fields"),
    ("interval_start,calls\n2026-12-12T08:00,1\n", 1, "header", "header"),
    ("\n\n", 1, "arrivals", "no rows"),
])
def test_malformed_csv_names_file_line_and_field(text: str, line: int, field: str, says: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        parse_csv(text, source="peak.csv", interval_minutes=30)
    assert exc.value.field == field and exc.value.extra["line"] == line
    assert says in exc.value.detail


def test_a_forecast_is_limited_to_a_month() -> None:
    rows = "\n".join(f"{(T0 + timedelta(minutes=15 * i)).isoformat()},1" for i in range(31 * 96 + 1))
    with pytest.raises(ValidationFailed, match="at most 31 days"):
        parse_csv(rows, interval_minutes=15)
    with pytest.raises(ValidationFailed) as exc:
        parse_csv("2026-12-12T08:00,1", interval_minutes=20)
    assert exc.value.field == "interval"


def test_peaks_multiply_their_days_only() -> None:
    peak = parse_peak("3x:2026-12-12..2026-12-14")
    assert (peak.factor, peak.first, peak.last) == (3.0, date(2026, 12, 12), date(2026, 12, 14))
    assert parse_peak("1.5X:2026-11-11").last == date(2026, 11, 11)
    fc = Forecast([Slot(T0 - timedelta(days=1), 10), Slot(T0, 10), Slot(T0 + timedelta(days=3), 10)], 30, "csv")
    assert [s.arrivals for s in apply_peaks(fc, [peak]).slots] == [10, 30, 10]
    for bad in ("3:2026-12-12", "x3:2026-12-12", "3x:2026-12-14..2026-12-12", "3x:2026-02-30", "0x:2026-12-12",
                "500x:2026-12-12"):
        with pytest.raises(ValidationFailed) as exc:
            parse_peak(bad)
        assert exc.value.field == "peak"


def test_seasonal_mean_averages_the_same_weekday_and_time() -> None:
    week = timedelta(weeks=1)
    counts = {T0 - week: 30, T0 - 2 * week: 10, T0 - 3 * week: 20, T0 + timedelta(minutes=30) - week: 4}
    slots, used = seasonal_mean(counts, start=T0, slots=2, interval_minutes=30, weeks=3,
                                history_start=T0 - 3 * week)
    assert used == 3 and [s.arrivals for s in slots] == [20.0, 4 / 3]
    # a project two weeks old: the third week back is not averaged in as zero
    slots, used = seasonal_mean(counts, start=T0, slots=1, interval_minutes=30, weeks=3,
                                history_start=T0 - 2 * week)
    assert used == 2 and slots[0].arrivals == 20.0
    slots, used = seasonal_mean({}, start=T0, slots=1, interval_minutes=30, weeks=3, history_start=None)
    assert used == 0 and slots[0].arrivals == 0.0


# --- the plan -----------------------------------------------------------------------------------------------


def test_plan_rows_follow_erlang_c_and_shifts_cover_them() -> None:
    fc = parse_csv("\n".join(f"{(T0 + timedelta(minutes=30 * i)).isoformat()},{100 if i < 8 else 300}"
                             for i in range(16)), interval_minutes=30)
    plan = build(fc, Settings(aht=180, target=0.8, within=20), peaks=[parse_peak("2x:2026-12-12")])
    first = plan.rows[0]
    assert first.arrivals == 200  # the peak doubled the day
    direct = erlang.required_agents(20.0, 180, target=0.8, within=20)
    assert (first.required, first.p_wait, first.service_level) == (direct.agents, direct.p_wait,
                                                                   direct.service_level)
    assert all(r.scheduled >= r.required for r in plan.rows)
    assert plan.totals["person_hours"] >= plan.totals["required_seat_hours"]
    assert plan.totals["arrivals"] == 200 * 8 + 600 * 8
    lines = to_csv(plan).splitlines()
    assert lines[0].startswith("interval_start,arrivals,traffic_erlangs,required_seats,p_wait,service_level")
    assert len(lines) == 17 and lines[1].startswith("2026-12-12T08:00:00Z,200,")
    data = plan.as_dict()
    assert data["model"] == "erlang_c" and data["peaks"] == ["2x:2026-12-12..2026-12-12"]
    assert sum(s["people"] * s["hours"] for s in data["shifts"]) == plan.totals["person_hours"]


def test_plan_with_patience_uses_erlang_a() -> None:
    fc = parse_csv(f"{T0.isoformat()},100", interval_minutes=30)
    patient = build(fc, Settings(aht=180, target=0.8, within=20))
    impatient = build(fc, Settings(aht=180, target=0.8, within=20, patience=60))
    assert impatient.rows[0].required <= patient.rows[0].required and impatient.rows[0].p_abandon > 0
    assert impatient.as_dict()["model"] == "erlang_a"
    with pytest.raises(ValidationFailed) as exc:
        build(fc, Settings(aht=180, target=80, within=20))
    assert exc.value.field == "target"
