"""The staffing planner's clock: local interval boundaries, days with 23 and 25 hours, naive times read in the
center's zone, the seasonal mean across a change of the clocks, peak days, ISO output and chart labels."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

import pytest

from seatflow.domain.clock import zone
from seatflow.errors import ValidationFailed
from seatflow.staffing.chart import build_chart
from seatflow.staffing.forecast import (
    Forecast,
    NoSuchLocalTime,
    Slot,
    apply_peaks,
    floor_to,
    local_days_later,
    parse_csv,
    parse_peak,
    parse_start,
    parse_time,
    seasonal_mean,
    starts,
)
from seatflow.staffing.plan import Settings, build, default_start, iso, to_csv

SHANGHAI, KOLKATA, BERLIN = zone("Asia/Shanghai"), zone("Asia/Kolkata"), zone("Europe/Berlin")


def _day(day: date, minutes: int, tz: tzinfo) -> list[datetime]:
    first = parse_start(day.isoformat(), tz)
    return starts(first, local_days_later(first, 1, tz), minutes, tz)


def test_times_without_an_offset_are_the_centers() -> None:
    assert parse_time("2026-12-12T09:00", SHANGHAI) == datetime(2026, 12, 12, 1, 0, tzinfo=UTC)
    assert parse_time("2026-12-12T09:00+00:00", SHANGHAI) == datetime(2026, 12, 12, 9, 0, tzinfo=UTC)
    assert parse_time("2026-12-12T09:00Z", SHANGHAI) == datetime(2026, 12, 12, 9, 0, tzinfo=UTC)
    assert parse_time("2026-12-12T09:00") == datetime(2026, 12, 12, 9, 0, tzinfo=UTC)  # UTC as before
    assert parse_start("2026-12-12", SHANGHAI) == datetime(2026, 12, 11, 16, 0, tzinfo=UTC)
    assert parse_start("2026-12-12", KOLKATA) == datetime(2026, 12, 11, 18, 30, tzinfo=UTC)
    # Berlin: 02:30 on 2026-03-29 does not exist; on 2026-10-25 it happens twice
    with pytest.raises(NoSuchLocalTime):
        parse_time("2026-03-29T02:30", BERLIN)
    assert parse_time("2026-10-25T02:30", BERLIN) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert parse_time("2026-10-25T02:30", BERLIN, fold=1) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_default_first_day_is_tomorrow_on_the_centers_clock() -> None:
    now = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)  # 01:30 on December 1 in Shanghai
    assert default_start(now, SHANGHAI) == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # December 2, 00:00 local
    assert default_start(now) == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def test_local_days_have_local_interval_boundaries() -> None:
    assert len(_day(date(2026, 12, 12), 60, SHANGHAI)) == 24
    kolkata = _day(date(2026, 12, 12), 60, KOLKATA)
    assert len(kolkata) == 24 and {s.minute for s in kolkata} == {30}
    # Berlin's 25-hour day: every instant once, one hour apart; the 02:00 hour twice on the wall clock
    back = _day(date(2026, 10, 25), 60, BERLIN)
    assert len(back) == 25 and all(b - a == timedelta(hours=1) for a, b in zip(back, back[1:], strict=False))
    assert [s.astimezone(BERLIN).hour for s in back[:5]] == [0, 1, 2, 2, 3]
    assert len(_day(date(2026, 10, 25), 15, BERLIN)) == 100
    # the 23-hour day: no 02:00 at all
    forward = _day(date(2026, 3, 29), 30, BERLIN)
    assert len(forward) == 46 and 2 not in {s.astimezone(BERLIN).hour for s in forward}
    # Lord Howe Island changes its clocks by 30 minutes: intervals still start on the local hour
    howe = zone("Australia/Lord_Howe")
    day = _day(date(2026, 10, 4), 60, howe)
    assert all(s.astimezone(howe).minute == 0 for s in day) and len(set(day)) == len(day) == 23
    # an interval of the history is the local one that holds the instant (the repeated hour stays apart)
    assert floor_to(datetime(2026, 12, 12, 3, 40, tzinfo=UTC), 60, KOLKATA) == datetime(2026, 12, 12, 3, 30,
                                                                                        tzinfo=UTC)
    assert floor_to(datetime(2026, 10, 25, 0, 15, tzinfo=UTC), 60, BERLIN) == datetime(2026, 10, 25, 0, 0, tzinfo=UTC)
    assert floor_to(datetime(2026, 10, 25, 1, 15, tzinfo=UTC), 60, BERLIN) == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)


def test_seasonal_mean_matches_local_wall_clock_across_a_change() -> None:
    # Sunday 2026-11-01 02:00 CET (01:00 UTC); a week before, 02:00 happened twice (00:00 and 01:00 UTC)
    start = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
    counts = {datetime(2026, 10, 25, 0, 0, tzinfo=UTC): 6, datetime(2026, 10, 25, 1, 0, tzinfo=UTC): 100,
              datetime(2026, 10, 18, 0, 0, tzinfo=UTC): 2}  # 02:00 CEST on the 18th
    slots, used = seasonal_mean(counts, start=start, slots=1, interval_minutes=60, weeks=2,
                                history_start=datetime(2026, 10, 1, tzinfo=UTC), tz=BERLIN)
    assert used == 2 and slots[0].arrivals == 4.0  # (6 + 2) / 2: the first 02:00 of the 25th, not both
    # Sunday 2026-04-05 02:00 CEST: a week before it did not exist, so the mean is over the other week
    start = datetime(2026, 4, 5, 0, 0, tzinfo=UTC)
    counts = {datetime(2026, 3, 22, 1, 0, tzinfo=UTC): 8}  # 02:00 CET on the 22nd
    slots, used = seasonal_mean(counts, start=start, slots=1, interval_minutes=60, weeks=2,
                                history_start=datetime(2026, 3, 1, tzinfo=UTC), tz=BERLIN)
    assert used == 1 and slots[0].arrivals == 8.0


def test_peaks_are_local_days_and_output_has_the_local_offset() -> None:
    # 23:00 UTC on the 11th is 07:00 on the 12th in Shanghai
    fc = Forecast([Slot(datetime(2026, 12, 11, 23, 0, tzinfo=UTC), 10),
                   Slot(datetime(2026, 12, 12, 17, 0, tzinfo=UTC), 10)], 60, "csv", zone=SHANGHAI)
    assert [s.arrivals for s in apply_peaks(fc, [parse_peak("2x:2026-12-12")]).slots] == [20, 10]
    assert iso(datetime(2026, 12, 12, 1, 0, tzinfo=UTC), SHANGHAI) == "2026-12-12T09:00:00+08:00"
    assert iso(datetime(2026, 12, 12, 1, 0, tzinfo=UTC)) == "2026-12-12T01:00:00Z"
    plan = build(parse_csv("2026-12-12T09:00,100\n2026-12-12T09:30,100\n", tz=SHANGHAI),
                 Settings(aht=180, target=0.8, within=20))
    assert plan.as_dict()["timezone"] == "Asia/Shanghai"
    assert to_csv(plan).splitlines()[1].startswith("2026-12-12T09:00:00+08:00,100,10.0000,14,")
    assert plan.shift_rows()[0]["start"] == "2026-12-12T09:00:00+08:00"
    assert plan.label(plan.rows[0].start) == "2026-12-12 09:00"
    with pytest.raises(ValidationFailed) as exc:
        parse_csv("2026-12-12T09:00Z,1", interval_minutes=60, tz=KOLKATA)
    assert exc.value.field == "interval_start" and "2026-12-12 14:30 in Asia/Kolkata" in exc.value.detail


def test_chart_labels_are_on_the_centers_clock() -> None:
    rows = "\n".join(f"{iso(datetime(2026, 12, 11, 16, 0, tzinfo=UTC) + timedelta(hours=h), SHANGHAI)},{h}"
                     for h in range(48))
    plan = build(parse_csv(rows, interval_minutes=60, tz=SHANGHAI), Settings(aht=180, target=0.8, within=20))
    labels = [t["label"] for t in build_chart(plan).x_ticks]
    assert labels[0] == "00:00" and "12-13" in labels and "09:00" in labels
    # a Berlin day with 25 hours: one date label for the next day, the repeated hour just another bar
    rows = "\n".join(f"{iso(datetime(2026, 10, 24, 22, 0, tzinfo=UTC) + timedelta(hours=h), BERLIN)},1"
                     for h in range(26))
    plan = build(parse_csv(rows, interval_minutes=60, tz=BERLIN), Settings(aht=180, target=0.8, within=20))
    labels = [t["label"] for t in build_chart(plan).x_ticks]
    assert labels.count("10-26") == 1 and len(plan.rows) == 26
