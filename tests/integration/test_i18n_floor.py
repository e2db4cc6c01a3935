"""Staffing, attendance, the floor and dashboards say their errors in Chinese at every edge: the API
(Accept-Language), the staffing page (the reader's language) and the CLI (SEATFLOW_LANG); English is unchanged.

The Chinese texts are those of /work/notes/i18n/floor.json: these tests pass once they are in the zh_CN catalog.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from seatflow.cli import app as cli_app

from .conftest import PASSWORD, Center

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


def test_staffing_api_errors_in_chinese(center: Center) -> None:
    c, manager = center.client, center.as_("manager")
    text = "interval_start,arrivals\n2026-12-12T09:00,360\n2026-12-12T09:30,lots\n"
    english = center.problem(c.post("/api/v1/staffing/plan", json={"aht": 240, "forecast_csv": text},
                                    headers=manager), 422, field="arrivals")
    assert english["detail"] == "forecast_csv:3: field arrivals: 'lots' is not a number of arrivals (0 or more)"
    chinese = center.problem(c.post("/api/v1/staffing/plan", json={"aht": 240, "forecast_csv": text},
                                    headers={**manager, **ZH}), 422, field="arrivals")
    assert chinese["detail"] == "forecast_csv:3：字段 arrivals：'lots' 不是有效的到达量（应为 0 或更大的数）", chinese
    assert chinese["line"] == 3 and chinese["reason"] == "arrivals"  # the machine-readable extras stay

    # a row of entered forecast is named as it was sent (forecast[0]), in either language
    rows = {"aht": 240, "forecast": [{"start": "tomorrow", "arrivals": 1}]}
    english = center.problem(c.post("/api/v1/staffing/plan", json=rows, headers=manager), 422,
                             field="forecast[0].start")
    assert english["detail"] == ("forecast[0]: field interval_start: 'tomorrow' is not an ISO date-time "
                                 "such as 2026-12-12T09:30")
    chinese = center.problem(c.post("/api/v1/staffing/plan", json=rows, headers={**manager, **ZH}), 422,
                             field="forecast[0].start")
    assert chinese["detail"] == ("forecast[0]：字段 interval_start：'tomorrow' 不是 ISO 日期时间，"
                                 "应类似 2026-12-12T09:30")

    unstable = c.get("/api/v1/staffing/erlang", params={"arrivals": 100, "aht": 180, "agents": 9},
                     headers={**center.as_("lead"), **ZH})
    assert center.problem(unstable, 422, field="agents")["detail"] == (
        "队列不稳定：10.00 Erlang 的话务量需要多于 9 个坐席（Erlang C 要求话务量小于坐席数，否则队列会无限增长）")


def test_attendance_floor_and_dashboard_errors_in_chinese(center: Center) -> None:
    c = center.client
    english = center.problem(c.post("/api/v1/attendance/check-out", headers=center.as_("ann1")), 409)
    assert english["detail"] == "you are not checked in: check in at a seat before you check out"
    chinese = center.problem(c.post("/api/v1/attendance/check-out", headers={**center.as_("ann1"), **ZH}), 409)
    assert chinese["detail"] == "你尚未签到：请先在座位签到，才能签退" and chinese["reason"] == "not-checked-in"
    on_break = center.problem(c.post("/api/v1/attendance/break/start", headers={**center.as_("ann1"), **ZH}), 409)
    assert on_break["detail"] == "你尚未签到：请先在座位签到，再开始休息"

    moved = c.post("/api/v1/floor/workers/ghost/move", json={"project": "acme-mod"},
                   headers={**center.as_("manager"), **ZH})
    assert center.problem(moved, 404, field="username")["detail"] == "未找到作业员 'ghost'"

    missing = c.get("/api/v1/dashboards", params={"scope": "project", "key": "nope"},
                    headers={**center.as_("manager"), **ZH})
    assert center.problem(missing, 404, field="project")["detail"] == "未找到项目 'nope'"
    english = center.problem(c.get("/api/v1/dashboards", params={"scope": "project", "key": "nope"},
                                   headers=center.as_("manager")), 404, field="project")
    assert english["detail"] == "project 'nope' not found"


def _login(center: Center, username: str, locale: str) -> None:
    center.client.cookies.clear()
    resp = center.client.post("/login", data={"username": username, "password": PASSWORD},
                              follow_redirects=False)
    assert resp.status_code == 303, resp.text
    assert center.client.post("/settings/language", data={"locale": locale, "next": "/"},
                              follow_redirects=False).status_code == 303


def test_staffing_page_shows_a_service_error_in_the_readers_language(center: Center) -> None:
    """web/staffing.py passes the service's Msg (exc.detail) to the page's translator, not a plain str."""
    form = {"source": "project", "project": "acme-mod", "aht": "180", "target": "80", "within": "20",
            "interval": "30", "shifts": "8h,4h", "days": "7"}
    _login(center, "lead", "zh_CN")
    bad = center.client.post("/staffing", data={**form, "peak": "3x:2026-12-14..2026-12-12"})
    assert bad.status_code == 422 and 'id="plan-error"' in bad.text
    assert "高峰情景</strong>：peak &#39;3x:2026-12-14..2026-12-12&#39;：末日早于首日" in bad.text, bad.text
    shifts = center.client.post("/staffing", data={**form, "shifts": "8x"})
    assert shifts.status_code == 422
    assert "班次时长</strong>：shifts：&#39;8x&#39; 不是以小时计的时长，应类似 8h" in shifts.text
    _login(center, "lead", "en")
    english = center.client.post("/staffing", data={**form, "peak": "3x:2026-12-14..2026-12-12"})
    assert "Peak scenario</strong>: peak &#39;3x:2026-12-14..2026-12-12&#39;: the last day is before the first" \
        in english.text


def test_cli_staffing_errors_in_chinese(center: Center, db_url: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEATFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("SEATFLOW_LANG", "zh_CN")
    runner = CliRunner()
    forecast = tmp_path / "peak.csv"
    forecast.write_text("interval_start,arrivals\n2026-12-12T09:00,100\n2026-12-12T09:10,100\n", encoding="utf-8")
    bad = runner.invoke(cli_app, ["staffing", "plan", "--forecast", str(forecast), "--aht", "180"])
    assert bad.exit_code == 1
    assert bad.stderr.strip() == f"错误：{forecast}:3：字段 interval_start：'2026-12-12T09:10' 不是 30 分钟时段的起点"
    for args, message in (
        (["--shifts", "8x"], "错误：--shifts：'8x' 不是以小时计的时长，应类似 8h"),
        (["--days", "99"], "错误：--days 必须在 1 到 31 之间（收到的是 99）"),
    ):
        wrong = runner.invoke(cli_app, ["staffing", "plan", "--project", "acme-mod", "--aht", "180", *args])
        assert wrong.exit_code == 1 and wrong.stderr.strip() == message, wrong.stderr
