"""The staffing planner on the center's clock (SEATFLOW_TIMEZONE): the history forecast by local weekday and
local time of day, local first days, interval boundaries and peak days, a forecast time without an offset
read as local, times shown and exported with the local offset; a half-hour zone (Asia/Kolkata) and the two
days a year on which Europe/Berlin changes its clocks (23 and 25 hours of intervals).

Uses the seeded center of tests/integration/conftest.py (acme-mod is a moderation project with three items).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from seatflow.cli import app as cli_app
from seatflow.store import tables

from ._staffing import set_arrivals
from .conftest import PASSWORD, AppFactory, Center

# Monday 2026-12-07 begins at 16:00 UTC on Sunday in Shanghai (UTC+8, no DST)
SHANGHAI_MONDAY = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)


def _spread(at: datetime, count: int) -> list[datetime]:
    """``count`` arrivals inside the 30 minutes from ``at``."""
    return [at + timedelta(minutes=(7 * k) % 30) for k in range(count)]


def _plan(center: Center, **params: Any) -> dict[str, Any]:
    query = {"project": "acme-mod", "aht": 180, "interval": 60, "days": 1, "weeks": 4, **params}
    resp = center.get("manager", "/api/v1/staffing/plan", params=query)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def _by_start(plan: dict[str, Any]) -> dict[str, float]:
    return {row["start"]: row["arrivals"] for row in plan["intervals"]}


def _login(center: Center, username: str = "manager", locale: str = "en") -> None:
    center.client.cookies.clear()
    resp = center.client.post("/login", data={"username": username, "password": PASSWORD}, follow_redirects=False)
    assert resp.status_code == 303, resp.text
    if locale != "en":
        assert center.client.post("/settings/language", data={"locale": locale, "next": "/"},
                                  follow_redirects=False).status_code == 303


@pytest.fixture
def shanghai(app_factory: AppFactory) -> Center:
    """A Shanghai center; acme-mod's items arrived on the three Mondays before 2026-12-07 between 09:00 and
    09:30 local time (01:xx UTC): 4, 2 and 6 of them; and on the last of those Mondays, 3 at 07:xx local,
    which is still Sunday (23:xx) in UTC."""
    center = app_factory(timezone="Asia/Shanghai")
    nine = SHANGHAI_MONDAY + timedelta(hours=9)
    seven = SHANGHAI_MONDAY + timedelta(hours=7)
    week = timedelta(weeks=1)
    set_arrivals(center, _spread(nine - 3 * week, 4) + _spread(nine - 2 * week, 2) + _spread(nine - week, 6)
             + _spread(seven - week, 3))
    return center


def test_shanghai_forecasts_by_local_weekday_and_time(shanghai: Center) -> None:
    plan = _plan(shanghai, start="2026-12-07")
    assert plan["timezone"] == "Asia/Shanghai" and plan["weeks_used"] == 3
    starts = [row["start"] for row in plan["intervals"]]
    # the local day: 24 hours from local midnight, named with the local offset
    assert len(starts) == 24 and starts[0] == "2026-12-07T00:00:00+08:00" and starts[-1] == "2026-12-07T23:00:00+08:00"
    assert datetime.fromisoformat(starts[0]) == SHANGHAI_MONDAY
    arrivals = _by_start(plan)
    # the peak is at 09:00 local on Monday (01:00 UTC): (4 + 2 + 6) / 3
    assert arrivals["2026-12-07T09:00:00+08:00"] == 4.0
    assert datetime.fromisoformat("2026-12-07T09:00:00+08:00") == datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    # 07:00 on Monday in Shanghai is Sunday 23:00 in UTC: a UTC weekday would have put it on Sunday. The mean
    # is over two weeks: three weeks back, 07:00 came before the project's first item (09:xx that Monday)
    assert arrivals["2026-12-07T07:00:00+08:00"] == 1.5
    assert sum(arrivals.values()) == 5.5
    busiest = max(plan["intervals"], key=lambda row: (row["arrivals"], row["required"]))
    assert busiest["start"] == "2026-12-07T09:00:00+08:00"
    # shifts start at local times, with the offset
    assert plan["shifts"] and all(s["start"].endswith("+08:00") and s["start"] in starts for s in plan["shifts"])

    # a peak day is a local day: 2026-12-07 in Shanghai is 16:00 UTC on the 6th .. 16:00 UTC on the 7th
    peak = _by_start(_plan(shanghai, start="2026-12-07", peak="3x:2026-12-07"))
    assert (peak["2026-12-07T07:00:00+08:00"], peak["2026-12-07T09:00:00+08:00"]) == (4.5, 12.0)
    assert _by_start(_plan(shanghai, start="2026-12-07", peak="3x:2026-12-06"))["2026-12-07T07:00:00+08:00"] == 1.5

    # the default first day is tomorrow in Shanghai: a local midnight
    default = _plan(shanghai)
    assert default["intervals"][0]["start"].endswith("T00:00:00+08:00")

    # the CSV carries the local offset
    csv_resp = shanghai.get("manager", "/api/v1/staffing/plan",
                            params={"project": "acme-mod", "aht": 180, "interval": 60, "days": 1,
                                    "start": "2026-12-07", "format": "csv"})
    assert csv_resp.status_code == 200
    lines = csv_resp.text.splitlines()
    assert lines[1].startswith("2026-12-07T00:00:00+08:00,0,") and lines[10].startswith("2026-12-07T09:00:00+08:00,4,")


def test_shanghai_reads_a_csv_time_without_offset_as_local(shanghai: Center) -> None:
    # 07:00 local on the 12th is 23:00 UTC on the 11th; 01:00 local on the 13th is 17:00 UTC on the 12th
    text = ("interval_start,arrivals\n2026-12-12T07:00,10\n2026-12-12T09:00,100\n"
            "2026-12-12T02:00:00Z,50\n2026-12-13T01:00,20\n")
    resp = shanghai.post("manager", "/api/v1/staffing/plan",
                         json={"aht": 180, "interval": 60, "forecast_csv": text, "peaks": ["2x:2026-12-12"]})
    assert resp.status_code == 200, resp.text
    plan = resp.json()
    assert plan["timezone"] == "Asia/Shanghai"
    arrivals = _by_start(plan)
    assert arrivals["2026-12-12T07:00:00+08:00"] == 20  # the local 12th: doubled
    assert arrivals["2026-12-12T09:00:00+08:00"] == 200
    assert arrivals["2026-12-12T08:00:00+08:00"] == 0  # a gap
    assert arrivals["2026-12-12T10:00:00+08:00"] == 100  # 02:00Z, an explicit offset: that instant
    assert arrivals["2026-12-13T01:00:00+08:00"] == 20  # the local 13th: not doubled (UTC: still the 12th)
    # 01:00Z is 09:00 in Shanghai: the same instant as the row before it
    dup = shanghai.post("manager", "/api/v1/staffing/plan",
                        json={"aht": 180, "interval": 60,
                              "forecast_csv": "2026-12-12T09:00,1\n2026-12-12T01:00:00Z,2\n"})
    assert shanghai.problem(dup, 422, field="interval_start")["line"] == 2
    rows = shanghai.post("manager", "/api/v1/staffing/plan",
                         json={"aht": 180, "forecast": [{"start": "2026-12-12T09:00", "arrivals": 100}]}).json()
    assert rows["intervals"][0]["start"] == "2026-12-12T09:00:00+08:00"


def test_shanghai_page_and_download_name_the_zone(shanghai: Center) -> None:
    _login(shanghai)
    form = {"project": "acme-mod", "aht": "180", "target": "80", "within": "20", "interval": "60",
            "shifts": "8h,4h", "start": "2026-12-07", "days": "1"}
    page = shanghai.client.get("/staffing", params=form)
    assert page.status_code == 200, page.text
    assert "Days and times in Asia/Shanghai." in page.text and "Times are UTC" not in page.text
    assert "Interval (Asia/Shanghai)" in page.text and "First day (Asia/Shanghai)" in page.text
    assert "A time without an offset is in Asia/Shanghai" in page.text
    assert 'data-start="2026-12-07T09:00"' in page.text and "<td>2026-12-07 09:00</td>" in page.text
    assert 'data-start="2026-12-07T00:00"' in page.text
    assert ">09:00</text>" in page.text  # the chart's hours are local
    # the page's download carries the offset, and its forecast round-trips to the same instants
    assert "2026-12-07T09:00:00+08:00,4.0" in page.text
    download = shanghai.client.post("/staffing", data={**form, "download": "csv",
                                                       "forecast_csv": "interval_start,arrivals\n"
                                                                       "2026-12-07T09:00:00+08:00,4.0\n"})
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert download.text.splitlines()[1].startswith("2026-12-07T09:00:00+08:00,4,")
    # an uploaded CSV without offsets is local time
    upload = shanghai.client.post("/staffing", data={**form, "source": "csv", "interval": "30"},
                                  files={"file": ("peak.csv", b"2026-12-12T09:00,100\n2026-12-12T09:30,50\n",
                                                  "text/csv")})
    assert upload.status_code == 200, upload.text
    assert 'data-start="2026-12-12T09:00"' in upload.text and 'data-start="2026-12-12T09:30"' in upload.text
    _login(shanghai, "lead", "zh_CN")
    chinese = shanghai.client.get("/staffing", params=form)
    assert chinese.status_code == 200 and "日期和时间均按 Asia/Shanghai 时区" in chinese.text
    assert "时段（Asia/Shanghai）" in chinese.text


def test_shanghai_cli(shanghai: Center, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEATFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("SEATFLOW_TIMEZONE", "Asia/Shanghai")
    monkeypatch.setenv("SEATFLOW_LANG", "en")
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    args = ["staffing", "plan", "--project", "acme-mod", "--aht", "180", "--interval", "60", "--start", "2026-12-07",
            "--days", "1"]
    as_csv = runner.invoke(cli_app, [*args, "--csv"])
    assert as_csv.exit_code == 0, as_csv.output
    assert as_csv.stdout.splitlines()[10].startswith("2026-12-07T09:00:00+08:00,4,")
    table = runner.invoke(cli_app, args)
    assert table.exit_code == 0, table.output
    assert "interval (Asia/Shanghai)" in table.stdout and "start (Asia/Shanghai)" in table.stdout
    assert "2026-12-07 09:00" in table.stdout and "UTC" not in table.stdout
    forecast = tmp_path / "peak.csv"
    forecast.write_text("interval_start,arrivals\n2026-12-12T09:00,100\n", encoding="utf-8")
    from_file = runner.invoke(cli_app, ["staffing", "plan", "--forecast", str(forecast), "--aht", "180", "--csv"])
    assert from_file.exit_code == 0 and from_file.stdout.splitlines()[1].startswith("2026-12-12T09:00:00+08:00,100,")


def test_kolkata_intervals_start_at_half_past_the_utc_hour(app_factory: AppFactory) -> None:
    center = app_factory(timezone="Asia/Kolkata")
    # Monday 2026-12-07 begins at 18:30 UTC on the 6th in Kolkata (UTC+5:30); arrivals at 09:10-09:40 local
    monday = datetime(2026, 12, 6, 18, 30, tzinfo=UTC)
    nine_ten = monday + timedelta(hours=9, minutes=10)
    set_arrivals(center, [nine_ten - timedelta(weeks=k) + timedelta(minutes=m) for k in (1, 2) for m in (0, 10, 20)])
    plan = _plan(center, start="2026-12-07")
    starts = [datetime.fromisoformat(row["start"]) for row in plan["intervals"]]
    assert len(starts) == 24 and all(s.astimezone(UTC).minute == 30 for s in starts)
    assert plan["intervals"][0]["start"] == "2026-12-07T00:00:00+05:30"
    # all six arrived in the local 09:00 hour (03:30-04:30 UTC); UTC hours would have split them 03:00 / 04:00
    assert _by_start(plan) == {row["start"]: (3.0 if row["start"] == "2026-12-07T09:00:00+05:30" else 0.0)
                               for row in plan["intervals"]}
    half_hours = _by_start(_plan(center, start="2026-12-07", interval=30))
    assert (half_hours["2026-12-07T09:00:00+05:30"], half_hours["2026-12-07T09:30:00+05:30"]) == (2.0, 1.0)
    # a UTC hour is half past a local hour: not the start of a 60-minute interval in Kolkata
    bad = center.post("manager", "/api/v1/staffing/plan",
                      json={"aht": 180, "interval": 60, "forecast_csv": "2026-12-12T09:00:00Z,5\n"})
    detail = center.problem(bad, 422, field="interval_start")["detail"]
    assert "14:30 in Asia/Kolkata" in detail and "60-minute interval" in detail
    ok = center.post("manager", "/api/v1/staffing/plan",
                     json={"aht": 180, "interval": 60, "forecast_csv": "2026-12-12T09:00,5\n2026-12-12T11:00,5\n"})
    assert [r["start"] for r in ok.json()["intervals"]] == [
        "2026-12-12T09:00:00+05:30", "2026-12-12T10:00:00+05:30", "2026-12-12T11:00:00+05:30"]


@pytest.fixture
def berlin(app_factory: AppFactory) -> Center:
    """A Berlin center; acme-mod's items arrived on the four Sundays before 2026-10-25 at 09:xx and at
    02:xx local summer time (CEST, UTC+2): 2 and 1 each Sunday."""
    center = app_factory(timezone="Europe/Berlin")
    sunday = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # 2026-10-25 00:00 CEST
    moments = [sunday - timedelta(weeks=k) + timedelta(hours=h, minutes=m)
               for k in (1, 2, 3, 4) for h, m in ((9, 5), (9, 35), (2, 15))]
    set_arrivals(center, moments)
    return center


def test_berlin_day_the_clocks_go_back_has_25_hours(berlin: Center) -> None:
    plan = _plan(berlin, start="2026-10-25", peak="2x:2026-10-25")
    starts = [row["start"] for row in plan["intervals"]]
    # 25 intervals: the hour from 02:00 twice, first in summer time (+02:00), then in winter time (+01:00)
    assert len(starts) == 25 and len(set(starts)) == 25
    assert starts[:5] == ["2026-10-25T00:00:00+02:00", "2026-10-25T01:00:00+02:00", "2026-10-25T02:00:00+02:00",
                          "2026-10-25T02:00:00+01:00", "2026-10-25T03:00:00+01:00"]
    assert starts[-1] == "2026-10-25T23:00:00+01:00"
    instants = [datetime.fromisoformat(s) for s in starts]
    assert all(b - a == timedelta(hours=1) for a, b in zip(instants, instants[1:], strict=False))
    arrivals = _by_start(plan)
    # 09:00 local in winter time (08:00 UTC) is the mean of the 09:00 hours in summer time (07:00 UTC), doubled
    assert arrivals["2026-10-25T09:00:00+01:00"] == 4.0
    # the repeated hour: each occurrence is the 02:00 hour of the weeks before (1 a week), not counted twice
    assert (arrivals["2026-10-25T02:00:00+02:00"], arrivals["2026-10-25T02:00:00+01:00"]) == (2.0, 2.0)
    assert sum(arrivals.values()) == 8.0 and plan["weeks_used"] == 4
    assert all(s["start"] in starts for s in plan["shifts"])
    # the page names both 02:00 hours with their offsets
    _login(berlin)
    page = berlin.client.get("/staffing", params={"project": "acme-mod", "aht": "180", "target": "80", "within": "20",
                                                  "interval": "60", "start": "2026-10-25", "days": "1"})
    assert page.status_code == 200
    assert 'data-start="2026-10-25T02:00+02:00"' in page.text and 'data-start="2026-10-25T02:00+01:00"' in page.text
    assert "<td>2026-10-25 02:00 +01:00</td>" in page.text and 'data-start="2026-10-25T09:00"' in page.text
    # a CSV may write the repeated hour twice without offsets, in order
    text = "2026-10-25T01:30,1\n2026-10-25T02:00,2\n2026-10-25T02:30,3\n2026-10-25T02:00,4\n2026-10-25T02:30,5\n" \
           "2026-10-25T03:00,6\n"
    rows = berlin.post("manager", "/api/v1/staffing/plan", json={"aht": 180, "forecast_csv": text}).json()
    assert [(r["start"], r["arrivals"]) for r in rows["intervals"]] == [
        ("2026-10-25T01:30:00+02:00", 1), ("2026-10-25T02:00:00+02:00", 2), ("2026-10-25T02:30:00+02:00", 3),
        ("2026-10-25T02:00:00+01:00", 4), ("2026-10-25T02:30:00+01:00", 5), ("2026-10-25T03:00:00+01:00", 6)]


def test_berlin_day_the_clocks_go_forward_has_23_hours(berlin: Center) -> None:
    # history: the Sundays before 2026-03-29 (winter time, UTC+1) at 09:xx and 02:xx local
    sunday = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # 2026-03-29 00:00 CET
    moments = [sunday - timedelta(weeks=k) + timedelta(hours=h, minutes=m)
               for k in (1, 2, 3, 4) for h, m in ((9, 5), (9, 35), (2, 15))]
    pid = berlin.seed.projects["acme-mod"]
    with berlin.db.write() as conn:
        ids = list(conn.execute(select(tables.items.c.id).where(tables.items.c.project_id == pid)
                                .order_by(tables.items.c.id)).scalars())
        for item_id, moment in zip(ids, moments, strict=True):
            conn.execute(update(tables.items).where(tables.items.c.id == item_id).values(created_at=moment))
    plan = _plan(berlin, start="2026-03-29", interval=30)
    starts = [row["start"] for row in plan["intervals"]]
    assert len(starts) == 46  # 23 hours: 02:00-03:00 does not exist
    assert starts[3:6] == ["2026-03-29T01:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00"]
    assert not any("T02:" in s for s in starts)
    arrivals = _by_start(plan)
    # 09:00 local in summer time (07:00 UTC) is the mean of the 09:00 half hours in winter time (08:00 UTC)
    assert (arrivals["2026-03-29T09:00:00+02:00"], arrivals["2026-03-29T09:30:00+02:00"]) == (1.0, 1.0)
    assert sum(arrivals.values()) == 2.0  # the 02:xx arrivals have no interval on this day
    # a week later: the 02:00 of the week before did not exist, so that week is left out of its mean (not a
    # zero); the 09:00 of that week existed and had no arrivals (3 of 4 weeks had one)
    after = _by_start(_plan(berlin, start="2026-04-05", interval=30, weeks=4))
    assert after["2026-04-05T02:00:00+02:00"] == 1.0 and after["2026-04-05T09:00:00+02:00"] == 0.75
    # a time the clocks skip is refused in a CSV without an offset, and the gap is stepped over
    skipped = berlin.post("manager", "/api/v1/staffing/plan",
                          json={"aht": 180, "forecast_csv": "2026-03-29T01:30,1\n2026-03-29T02:30,1\n"})
    problem = berlin.problem(skipped, 422, field="interval_start")
    assert problem["line"] == 2 and problem["reason"] == "no_such_time" and "Europe/Berlin" in problem["detail"]
    gap = berlin.post("manager", "/api/v1/staffing/plan",
                      json={"aht": 180, "forecast_csv": "2026-03-29T01:30,1\n2026-03-29T03:30,1\n"}).json()
    assert [r["start"] for r in gap["intervals"]] == [
        "2026-03-29T01:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00"]


def test_a_utc_center_is_unchanged(center: Center) -> None:
    plan = center.post("manager", "/api/v1/staffing/plan",
                       json={"aht": 180, "forecast": [{"start": "2026-12-12T09:00", "arrivals": 100}]}).json()
    assert plan["timezone"] == "UTC" and plan["intervals"][0]["start"] == "2026-12-12T09:00:00Z"
    _login(center)
    page = center.client.get("/staffing")
    assert "Days and times in UTC." in page.text and "First day (UTC)" in page.text
