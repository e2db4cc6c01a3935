"""The center's time zone (SEATFLOW_TIMEZONE): billing months, daily reports and a person's work today
follow its calendar days; the clock helpers across DST changes; a bad zone name at settings load."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import update
from typer.testing import CliRunner

from seatflow.billing import service as billing
from seatflow.config import Settings, load_settings
from seatflow.dashboards import daily
from seatflow.domain.actors import Actor, Role
from seatflow.domain.clock import center_zone, day_bounds, local_today, month_bounds, zone, zone_name
from seatflow.services import status
from seatflow.store import tables

from . import _pdf as pdf
from .conftest import GOOD_ANSWERS, AppFactory, Center

# 17:30 UTC on November 30 is 01:30 on December 1 in Shanghai (UTC+8, no DST)
LATE_NOV_30 = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)


# --- the clock helpers ----------------------------------------------------------------------------


def test_day_bounds_follow_local_midnights_across_dst() -> None:
    berlin = zone("Europe/Berlin")
    # 2026-10-25: summer time ends (03:00 CEST -> 02:00 CET), the day has 25 hours
    start, end = day_bounds(date(2026, 10, 25), berlin)
    assert start == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # 00:00 CEST (+2)
    assert end == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)  # 00:00 CET (+1)
    assert end - start == timedelta(hours=25)
    assert start.tzinfo is UTC and end.tzinfo is UTC
    # 2026-03-29: summer time starts, 23 hours
    start, end = day_bounds(date(2026, 3, 29), berlin)
    assert (start, end - start) == (datetime(2026, 3, 28, 23, 0, tzinfo=UTC), timedelta(hours=23))
    # an ordinary day, and the day after the change begins where the 25-hour day ended
    assert day_bounds(date(2026, 10, 26), berlin)[0] == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    assert day_bounds(date(2026, 7, 1), berlin) == (datetime(2026, 6, 30, 22, 0, tzinfo=UTC),
                                                    datetime(2026, 7, 1, 22, 0, tzinfo=UTC))
    # UTC: plain midnights
    assert day_bounds(date(2026, 10, 25)) == (datetime(2026, 10, 25, tzinfo=UTC), datetime(2026, 10, 26, tzinfo=UTC))
    # where the clocks jump at midnight (Santiago, 2026-09-06 00:00 -> 01:00) the day starts at 01:00
    assert day_bounds(date(2026, 9, 6), zone("America/Santiago"))[0] == datetime(2026, 9, 6, 4, 0, tzinfo=UTC)


def test_month_bounds_and_local_today() -> None:
    shanghai = zone("Asia/Shanghai")
    assert month_bounds(2026, 12, shanghai) == (datetime(2026, 11, 30, 16, 0, tzinfo=UTC),
                                                datetime(2026, 12, 31, 16, 0, tzinfo=UTC))
    assert month_bounds(2026, 12) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    berlin = zone("Europe/Berlin")  # October 2026 ends in winter time: 31 days and one hour
    start, end = month_bounds(2026, 10, berlin)
    assert (start, end) == (datetime(2026, 9, 30, 22, 0, tzinfo=UTC), datetime(2026, 10, 31, 23, 0, tzinfo=UTC))
    assert end - start == timedelta(days=31, hours=1)
    assert local_today(LATE_NOV_30, shanghai) == date(2026, 12, 1)
    assert local_today(LATE_NOV_30) == date(2026, 11, 30)
    assert local_today(LATE_NOV_30, zone("America/Los_Angeles")) == date(2026, 11, 30)
    # a Month carries its zone; its label does not change
    dec = billing.Month(2026, 12, shanghai)
    assert (dec.label, dec.start, dec.end, dec.zone) == ("2026-12", *month_bounds(2026, 12, shanghai),
                                                         "Asia/Shanghai")
    assert dec.next().start == datetime(2026, 12, 31, 16, 0, tzinfo=UTC) and dec.previous().zone == "Asia/Shanghai"
    assert billing.Month.current(shanghai, LATE_NOV_30) == billing.Month(2026, 12)
    assert billing.Month.current(UTC, LATE_NOV_30) == billing.Month(2026, 11)
    assert billing.parse_month("2026-12").start == datetime(2026, 12, 1, tzinfo=UTC)  # default unchanged


# --- the setting ----------------------------------------------------------------------------------


def test_timezone_setting_is_validated_at_load(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    assert Settings().timezone == "UTC" and center_zone(Settings()) is UTC
    assert center_zone(None) is UTC
    assert zone_name(center_zone(Settings(timezone=" Asia/Shanghai "))) == "Asia/Shanghai"
    for bad in ("Mars/Base", "asia/shanghai", "", "../etc/passwd", "/etc/localtime", "UTC+8"):
        with pytest.raises(ValidationError) as err:
            Settings(timezone=bad)
        text = str(err.value)
        assert "timezone" in text and repr(bad) in text and "IANA time zone" in text, text
    monkeypatch.setenv("SEATFLOW_TIMEZONE", "Europe/Berlin")
    assert zone_name(center_zone(load_settings())) == "Europe/Berlin"
    monkeypatch.setenv("SEATFLOW_TIMEZONE", "Asia/Shangai")
    with pytest.raises(ValidationError, match="Asia/Shangai"):
        load_settings()
    # the command line says which setting and which value, and exits 2 (a wrong setting)
    from seatflow.cli import app as cli

    monkeypatch.setenv("SEATFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("SEATFLOW_LANG", "en")
    result = CliRunner().invoke(cli, ["billing", "statement", "--client", "acme", "--month", "2026-11"])
    assert result.exit_code == 2, result.output
    assert "SEATFLOW_TIMEZONE" in result.output and "'Asia/Shangai'" in result.output, result.output


# --- billing, daily report, work today ------------------------------------------------------------


def _deliver(center: Center, at: datetime) -> int:
    """globex-tickets (overlap 1, no review): ann3 answers ticket-1, which is done; done_at set to ``at``."""
    lease = center.lease("ann3", "globex-tickets")
    assert center.submit("ann3", lease["lease_id"], GOOD_ANSWERS["globex-tickets"]).status_code == 200
    item_id = int(lease["item"]["id"])
    assert center.row("items", id=item_id).state == "done"
    with center.db.write() as conn:
        conn.execute(update(tables.items).where(tables.items.c.id == item_id).values(done_at=at))
        conn.execute(update(tables.submissions).where(tables.submissions.c.item_id == item_id)
                     .values(created_at=at))
    return item_id


def _units(center: Center, month: str) -> int:
    resp = center.get("manager", f"/api/v1/billing/statements/globex/{month}")
    assert resp.status_code == 200, resp.text
    return int(resp.json()["total_units"])


def _delivered(center: Center, day: str) -> int:
    resp = center.get("globex-ops", f"/api/v1/reports/daily/globex?date={day}")
    assert resp.status_code == 200, resp.text
    return int(resp.json()["totals"]["delivered"])


def test_shanghai_bills_and_reports_by_its_own_calendar(app_factory: AppFactory) -> None:
    shanghai = app_factory(timezone="Asia/Shanghai")
    item_id = _deliver(shanghai, LATE_NOV_30)
    # billed in December, in the December statement's item list, not in November
    assert (_units(shanghai, "2026-11"), _units(shanghai, "2026-12")) == (0, 1)
    body = shanghai.get("manager", "/api/v1/billing/statements/globex/2026-12").json()
    assert body["month"] == "2026-12" and body["timezone"] == "Asia/Shanghai"
    assert datetime.fromisoformat(body["period_start"]) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert datetime.fromisoformat(body["period_end"]) == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    items = shanghai.get("manager", "/api/v1/billing/statements/globex/2026-12/items").json()
    assert [i["external_id"] for i in items["items"]] == ["ticket-1"]
    assert shanghai.get("manager", "/api/v1/billing/statements/globex/2026-11/items").json()["count"] == 0
    # the PDF names the local period and the zone; the CSV keeps its label
    text = pdf.check(shanghai.get("manager", "/api/v1/billing/statements/globex/2026-12?format=pdf").content)
    assert "2026-12-01" in text and "2027-01-01" in text and "Asia/Shanghai" in text, text
    csv_text = shanghai.get("manager", "/api/v1/billing/statements/globex/2026-12?format=csv").text
    assert "globex,2026-12,globex-tickets" in csv_text
    page = shanghai.get("manager", "/billing?client=globex&month=2026-12")
    assert page.status_code == 200 and "Asia/Shanghai" in page.text
    # the daily report of December 1 (Shanghai) has it; November 30 does not
    assert (_delivered(shanghai, "2026-11-30"), _delivered(shanghai, "2026-12-01")) == (0, 1)
    report = shanghai.get("manager", "/api/v1/reports/daily/globex?date=2026-12-01").json()
    assert report["timezone"] == "Asia/Shanghai" and report["projects"][0]["sla_met"] in (0, 1)
    page = shanghai.get("manager", "/reports/daily?client=globex&date=2026-12-01")
    assert page.status_code == 200 and "Asia/Shanghai" in page.text
    assert "Asia/Shanghai" in pdf.check(
        shanghai.get("manager", "/api/v1/reports/daily/globex?date=2026-12-01&format=pdf").content)
    assert shanghai.row("items", id=item_id).state == "done"

    # the same data read by a UTC center: November and 2026-11-30
    utc = app_factory()
    assert (_units(utc, "2026-11"), _units(utc, "2026-12")) == (1, 0)
    assert utc.get("manager", "/api/v1/billing/statements/globex/2026-11").json()["timezone"] == "UTC"
    assert (_delivered(utc, "2026-11-30"), _delivered(utc, "2026-12-01")) == (1, 0)


def test_default_month_and_day_are_the_local_ones(center: Center) -> None:
    _deliver(center, LATE_NOV_30)
    shanghai = zone("Asia/Shanghai")
    with center.db.read() as conn:
        # "today" at 17:30 UTC on November 30 is December 1 in Shanghai
        local = daily.daily_report(conn, None, "globex", now=LATE_NOV_30 + timedelta(minutes=5), tz=shanghai)
        plain = daily.daily_report(conn, None, "globex", now=LATE_NOV_30 + timedelta(minutes=5))
        st = billing.statement(conn, None, "globex", billing.Month.current(shanghai, LATE_NOV_30))
        text_month = billing.statement(conn, None, "globex", "2026-12", tz=shanghai)
    assert (local.day, local.delivered, local.zone) == (date(2026, 12, 1), 1, "Asia/Shanghai")
    assert (plain.day, plain.delivered, plain.zone) == (date(2026, 11, 30), 1, "UTC")
    assert (st.month.label, st.total_units) == ("2026-12", 1)
    assert text_month.total_units == 1


def test_daily_report_on_a_25_hour_day_and_a_half_hour_zone(center: Center) -> None:
    # 22:30 UTC on 2026-10-25 is 23:30 CET: the last of the 25 hours of that Berlin day
    _deliver(center, datetime(2026, 10, 25, 22, 30, tzinfo=UTC))
    berlin = zone("Europe/Berlin")
    with center.db.read() as conn:
        report = daily.daily_report(conn, None, "globex", "2026-10-25", tz=berlin)
        after = daily.daily_report(conn, None, "globex", "2026-10-26", tz=berlin)
    assert (report.delivered, after.delivered) == (1, 0)
    assert report.projects[0].numbers.answers == 1
    assert len(report.projects[0].numbers.buckets) == 25  # one per local hour
    # Asia/Kolkata (UTC+5:30): the local day starts at half past the UTC hour
    with center.db.write() as conn:
        conn.execute(update(tables.items).where(tables.items.c.state == "done")
                     .values(done_at=datetime(2026, 11, 30, 19, 0, tzinfo=UTC)))  # 00:30 on Dec 1 in India
    with center.db.read() as conn:
        kolkata = daily.daily_report(conn, None, "globex", "2026-12-01", tz=zone("Asia/Kolkata"))
    assert kolkata.delivered == 1 and len(kolkata.projects[0].numbers.buckets) == 24


def test_work_today_counts_from_the_centers_midnight(center: Center) -> None:
    # ann3 answers at 23:30 on November 30 in Shanghai (15:30 UTC); at 01:00 on December 1 there (17:00 UTC)
    # that is yesterday in Shanghai, but still today in UTC
    _deliver(center, datetime(2026, 11, 30, 15, 30, tzinfo=UTC))
    now = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    ann3 = Actor(id=center.seed.users["ann3"], username="ann3", role=Role.WORKER, locale="en")
    with center.db.read() as conn:
        local = status.work_today(conn, ann3, now=now, tz=zone("Asia/Shanghai"))
        plain = status.work_today(conn, ann3, now=now)
    assert (local.answers, local.since) == (0, datetime(2026, 11, 30, 16, 0, tzinfo=UTC))
    assert (plain.answers, plain.since) == (1, datetime(2026, 11, 30, 0, 0, tzinfo=UTC))
    # the server process's own zone plays no part
    assert status.start_of_day(now) == datetime(2026, 11, 30, tzinfo=UTC)


# --- dashboards -------------------------------------------------------------------------------------


def test_dashboards_count_by_the_centers_hours_and_days(app_factory: AppFactory) -> None:
    from seatflow.dashboards import routes as dashboard_routes
    from seatflow.dashboards import service as dashboards

    center = app_factory(timezone="Asia/Shanghai")
    _deliver(center, LATE_NOV_30)  # 01:30 on December 1 in Shanghai
    admin = Actor(id=0, username="t", role=Role.ADMIN, locale="en")
    now = LATE_NOV_30 + timedelta(minutes=10)
    shanghai, kolkata = zone("Asia/Shanghai"), zone("Asia/Kolkata")
    with center.db.read() as conn:
        def delivered_by_start(hours: int, tz: Any) -> dict[datetime, int]:
            d = dashboards.dashboard(conn, admin, scope="client", key="globex", hours=hours, now=now, tz=tz)
            return {b.start: b.delivered for b in d.buckets if b.delivered}

        week = dashboards.dashboard(conn, admin, scope="client", key="globex", hours=168, now=now, tz=shanghai)
        day = dashboards.dashboard(conn, admin, scope="client", key="globex", hours=24, now=now, tz=shanghai)
        # per day: the Shanghai day of December 1 begins at 16:00 UTC; a UTC center counts it on November 30
        assert delivered_by_start(168, shanghai) == {datetime(2026, 11, 30, 16, 0, tzinfo=UTC): 1}
        assert delivered_by_start(168, UTC) == {datetime(2026, 11, 30, 0, 0, tzinfo=UTC): 1}
        # per hour: Shanghai's 01:00 hour; Kolkata's hours begin at half past the UTC hour
        assert delivered_by_start(24, shanghai) == {datetime(2026, 11, 30, 17, 0, tzinfo=UTC): 1}
        assert delivered_by_start(24, kolkata) == {datetime(2026, 11, 30, 17, 30, tzinfo=UTC): 1}
    assert len(week.buckets) == 7 and week.buckets[-1].start == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert len(day.buckets) == 24
    # the charts' labels are on the center's clock
    assert dashboard_routes._labels(week, "en", shanghai)[-1] == "12-01"
    assert dashboard_routes._labels(day, "en", shanghai)[-1] == "01:00"
    assert dashboard_routes._labels(day, "en", UTC)[-1] == "17:00"
    page = center.get("manager", "/dashboards?scope=client&key=globex")
    assert page.status_code == 200 and "times in Asia/Shanghai" in page.text
