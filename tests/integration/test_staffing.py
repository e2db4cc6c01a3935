"""The staffing planner end to end: history forecast from items.created_at, the API, the CLI and the page.

Uses the seeded center of tests/integration/conftest.py (acme-mod is a moderation project with three items).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from seatflow.cli import app as cli_app
from seatflow.staffing import erlang
from seatflow.store import tables

from ._staffing import set_arrivals
from .conftest import PASSWORD, Center

START = datetime(2026, 12, 7, tzinfo=UTC)  # a Monday; the plan's first day
NINE = START + timedelta(hours=9)


@pytest.fixture
def history(center: Center) -> Center:
    """acme-mod's items arrived on the three Mondays before START at 09:xx: 4, 2 and 6 of them."""
    when = [NINE - timedelta(weeks=3)] * 4 + [NINE - timedelta(weeks=2)] * 2 + [NINE - timedelta(weeks=1)] * 6
    set_arrivals(center, [m + timedelta(minutes=n % 50) for n, m in enumerate(when, 1)])  # inside the 09:00 hour
    return center


def _query(**extra: object) -> dict[str, object]:
    return {"project": "acme-mod", "aht": 180, "interval": 60, "days": 1, "start": "2026-12-07", "weeks": 4, **extra}


def test_history_forecast_is_the_mean_of_the_same_hour(history: Center) -> None:
    resp = history.get("manager", "/api/v1/staffing/plan", params=_query())
    assert resp.status_code == 200, resp.text
    plan = resp.json()
    assert plan["source"] == "history" and plan["weeks_used"] == 3 and len(plan["intervals"]) == 24
    by_start = {row["start"]: row for row in plan["intervals"]}
    nine = by_start["2026-12-07T09:00:00Z"]
    assert nine["arrivals"] == 4.0  # (4 + 2 + 6) / 3: the week before the project existed is not a zero
    expected = erlang.required_agents(4 * 180 / 3600, 180, target=0.8, within=20)
    assert (nine["required"], nine["p_wait"], nine["service_level"]) == (expected.agents, expected.p_wait,
                                                                         expected.service_level)
    assert by_start["2026-12-07T10:00:00Z"]["arrivals"] == 0 and by_start["2026-12-07T10:00:00Z"]["required"] == 0
    assert all(r["scheduled"] >= r["required"] for r in plan["intervals"])
    assert plan["totals"]["person_hours"] == 4.0  # one 4 h shift covers the one busy hour

    peak = history.get("lead", "/api/v1/staffing/plan", params=_query(peak="3x:2026-12-07..2026-12-09"))
    assert peak.status_code == 200
    assert {r["start"]: r for r in peak.json()["intervals"]}["2026-12-07T09:00:00Z"]["arrivals"] == 12.0

    # a gold (honeypot) item is not work that arrived
    with history.db.write() as conn:
        last = conn.execute(select(tables.items.c.id).where(
            tables.items.c.project_id == history.seed.projects["acme-mod"]).order_by(tables.items.c.id.desc())).first()
        assert last is not None
        conn.execute(update(tables.items).where(tables.items.c.id == last.id).values(gold=True))
    gold = history.get("manager", "/api/v1/staffing/plan", params=_query()).json()
    nine_gold = {r["start"]: r for r in gold["intervals"]}["2026-12-07T09:00:00Z"]
    assert nine_gold["arrivals"] == round(11 / 3, 4)  # (4 + 2 + 5) / 3
    with history.db.write() as conn:
        conn.execute(update(tables.items).where(tables.items.c.id == last.id).values(gold=False))

    csv_resp = history.get("admin", "/api/v1/staffing/plan", params=_query(format="csv"))
    assert csv_resp.status_code == 200 and csv_resp.headers["content-type"].startswith("text/csv")
    lines = csv_resp.text.splitlines()
    assert lines[0].startswith("interval_start,arrivals,") and lines[10].startswith("2026-12-07T09:00:00Z,4,")


def test_only_managers_and_leads_plan(center: Center) -> None:
    for user in ("ann1", "acme-ops"):
        for url, params in (("/api/v1/staffing/plan", _query()),
                            ("/api/v1/staffing/erlang", {"arrivals": 100, "aht": 180, "agents": 14})):
            center.problem(center.get(user, url, params=params), 403)
    body = {"aht": 180, "forecast": [{"start": "2026-12-07T09:00", "arrivals": 100}]}
    center.problem(center.post("ann1", "/api/v1/staffing/plan", json=body), 403)
    assert center.client.get("/api/v1/staffing/erlang", params={"arrivals": 1, "aht": 1}).status_code == 401
    center.problem(center.get("manager", "/api/v1/staffing/plan", params=_query(project="no-such")), 404)


def test_erlang_endpoint_gives_the_published_example(center: Center) -> None:
    resp = center.get("manager", "/api/v1/staffing/erlang", params={"arrivals": 100, "interval": 30, "aht": 180,
                                                                    "within": 20, "agents": 14})
    assert resp.status_code == 200
    data = resp.json()
    assert data["model"] == "erlang_c" and abs(data["p_wait"] - 0.1741319) < 1e-6
    assert abs(data["service_level"] - 0.88835) < 1e-5
    best = center.get("lead", "/api/v1/staffing/erlang", params={"arrivals": 100, "aht": 180}).json()
    assert best["agents"] == 14
    unstable = center.get("lead", "/api/v1/staffing/erlang", params={"arrivals": 100, "aht": 180, "agents": 9})
    assert "unstable" in center.problem(unstable, 422, field="agents")["detail"]
    center.problem(center.get("lead", "/api/v1/staffing/erlang", params={"arrivals": -1, "aht": 180}), 422)


def test_posted_forecasts_and_their_errors(center: Center) -> None:
    rows = [{"start": "2026-12-12T09:00", "arrivals": 360}, {"start": "2026-12-12T09:30", "arrivals": 300}]
    resp = center.post("manager", "/api/v1/staffing/plan", json={"aht": 240, "within": 15, "forecast": rows,
                                                                  "peaks": ["2x:2026-12-12"], "patience": 120})
    assert resp.status_code == 200, resp.text
    plan = resp.json()
    assert plan["model"] == "erlang_a" and [r["arrivals"] for r in plan["intervals"]] == [720, 600]
    text = "interval_start,arrivals\n2026-12-12T09:00,360\n2026-12-12T09:30,lots\n"
    bad = center.post("manager", "/api/v1/staffing/plan", json={"aht": 240, "forecast_csv": text})
    problem = center.problem(bad, 422, field="arrivals")
    assert problem["line"] == 3 and "forecast_csv:3" in problem["detail"]
    bad_row = center.post("manager", "/api/v1/staffing/plan",
                          json={"aht": 240, "forecast": [{"start": "tomorrow", "arrivals": 1}]})
    center.problem(bad_row, 422, field="forecast[0].start")
    both = center.post("manager", "/api/v1/staffing/plan", json={"aht": 240, "forecast": rows, "project": "acme-mod"})
    center.problem(both, 422, field="project")
    for body, field in (({"aht": 0, "forecast": rows}, "aht"), ({"aht": 180, "forecast": rows, "target": 80}, "target"),
                        ({"aht": 180, "forecast": rows, "peaks": ["3:2026-12-12"]}, "peak"),
                        ({"aht": 180, "forecast": rows, "shifts": ["20h"]}, "shifts")):
        problem = center.problem(center.post("manager", "/api/v1/staffing/plan", json=body), 422)
        assert field in (problem.get("field") or "") + str(problem.get("errors", "")), problem


def test_cli_plan_from_history_and_from_a_file(history: Center, db_url: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEATFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("SEATFLOW_LANG", "en")
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    result = runner.invoke(cli_app, ["staffing", "plan", "--project", "acme-mod", "--aht", "180", "--interval", "60",
                                     "--start", "2026-12-07", "--days", "1", "--csv"])
    assert result.exit_code == 0, result.output
    assert "2026-12-07T09:00:00Z,4," in result.stdout
    table = runner.invoke(cli_app, ["staffing", "plan", "--project", "acme-mod", "--aht", "180", "--interval", "60",
                                    "--start", "2026-12-07", "--days", "1"])
    assert table.exit_code == 0 and "2026-12-07 09:00" in table.stdout and "scheduled person-hours: 4.0" in table.stdout
    forecast = tmp_path / "peak.csv"
    forecast.write_text("interval_start,arrivals\n2026-12-12T09:00,100\n2026-12-12T09:30,100\n", encoding="utf-8")
    ok = runner.invoke(cli_app, ["staffing", "plan", "--forecast", str(forecast), "--aht", "180", "--csv"])
    assert ok.exit_code == 0 and ok.stdout.splitlines()[1].split(",")[3] == "14"  # the published 14 agents
    forecast.write_text("interval_start,arrivals\n2026-12-12T09:00,100\n2026-12-12T09:10,100\n", encoding="utf-8")
    bad = runner.invoke(cli_app, ["staffing", "plan", "--forecast", str(forecast), "--aht", "180"])
    assert bad.exit_code == 1 and f"{forecast}:3: field interval_start" in bad.stderr and "Traceback" not in bad.stderr
    neither = runner.invoke(cli_app, ["staffing", "plan", "--aht", "180"])
    assert neither.exit_code == 1 and "--project" in neither.stderr
    missing = runner.invoke(cli_app, ["staffing", "plan", "--project", "nope", "--aht", "180"])
    assert missing.exit_code == 1 and "not found" in missing.stderr
    # A bad option is named once, as the option (it was "peak: peak '...'", "shifts: shifts: ...").
    for args, message in (
        (["--peak", "3x:2026-13-01..2026-12-14"], "error: --peak '3x:2026-13-01..2026-12-14': not a calendar date"),
        (["--shifts", "8x"], "error: --shifts: '8x' is not a length in hours such as 8h"),
        (["--target", "2"], "error: --target must be a share above 0 and below 1, e.g. 0.8 (got 2.0)"),
        (["--max-occupancy", "2"], "error: --max-occupancy must be at most 1 (got 2)"),
        (["--days", "99"], "error: --days must be 1 to 31 (got 99)"),
    ):
        wrong = runner.invoke(cli_app, ["staffing", "plan", "--project", "acme-mod", "--aht", "180", *args])
        assert wrong.exit_code == 1 and wrong.stderr.strip() == message, wrong.stderr


# --- the page ------------------------------------------------------------------------------------------------


def _login(center: Center, username: str, locale: str = "en") -> None:
    center.client.cookies.clear()
    resp = center.client.post("/login", data={"username": username, "password": PASSWORD},
                              follow_redirects=False)
    assert resp.status_code == 303, resp.text
    if locale != "en":
        assert center.client.post("/settings/language", data={"locale": locale, "next": "/"},
                                  follow_redirects=False).status_code == 303


def test_page_access(center: Center) -> None:
    center.client.cookies.clear()
    anonymous = center.client.get("/staffing", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=%2Fstaffing")
    for user in ("ann1", "acme-ops"):
        _login(center, user)
        assert center.client.get("/staffing").status_code == 403
        assert center.client.post("/staffing", data={"source": "project", "project": "acme-mod",
                                                     "aht": "180"}).status_code == 403
        assert 'href="/staffing"' not in center.client.get("/").text
    for user in ("manager", "lead", "admin"):
        _login(center, user)
        resp = center.client.get("/staffing")
        assert resp.status_code == 200 and 'id="plan-form"' in resp.text
        assert 'href="/staffing"' in center.client.get("/").text


def test_page_plans_from_history_and_from_an_upload(history: Center) -> None:
    _login(history, "manager")
    resp = history.client.get("/staffing", params={**_query(), "target": "80", "within": "20", "shifts": "8h,4h"})
    assert resp.status_code == 200, resp.text
    assert 'id="staffing-chart"' in resp.text and "<rect" in resp.text and 'class="scheduled"' in resp.text
    assert 'data-start="2026-12-07T09:00"' in resp.text
    upload = history.client.post("/staffing", data={"source": "csv", "aht": "180", "target": "80", "within": "20",
                                                    "interval": "30", "shifts": "8h,4h", "days": "7",
                                                    "peak": "3x:2026-12-12..2026-12-14"},
                                 files={"file": ("peak.csv", b"2026-12-12T09:00,100\n2026-12-12T09:30,50\n",
                                                 "text/csv")})
    assert upload.status_code == 200, upload.text
    assert 'data-start="2026-12-12T09:30"' in upload.text and "Download CSV" in upload.text
    download = history.client.post("/staffing", data={"aht": "180", "target": "80", "within": "20",
                                                      "interval": "30", "shifts": "8h,4h", "download": "csv",
                                                      "forecast_csv": "interval_start,arrivals\n"
                                                                      "2026-12-12T09:00:00Z,300.0\n"})
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert download.text.splitlines()[1].startswith("2026-12-12T09:00:00Z,300,")
    bad = history.client.post("/staffing", data={"source": "csv", "aht": "180", "target": "80", "within": "20",
                                                 "interval": "30", "shifts": "8h,4h"},
                              files={"file": ("peak.csv", b"2026-12-12T09:00,100\n2026-12-12T09:30,-4\n", "text/csv")})
    assert bad.status_code == 422 and 'id="plan-error"' in bad.text
    assert "peak.csv, line 2, field arrivals (“-4”): not a number of arrivals (0 or more)" in bad.text
    missing = history.client.post("/staffing", data={"source": "csv", "aht": "180", "target": "80", "within": "20",
                                                     "interval": "30", "shifts": "8h,4h"})
    assert missing.status_code == 422 and "Choose a forecast CSV to upload." in missing.text
    wrong = history.client.get("/staffing", params={**_query(), "aht": "abc"})
    assert wrong.status_code == 422 and "Average handling time (seconds)</strong>: Enter a number." in wrong.text
    full = history.client.get("/staffing", params={**_query(), "target": "100"})
    assert full.status_code == 422 and "No number of seats answers 100 % in time" in full.text


def test_page_in_chinese(history: Center) -> None:
    _login(history, "lead", "zh_CN")
    resp = history.client.get("/staffing", params=_query())
    assert resp.status_code == 200 and 'lang="zh-CN"' in resp.text
    assert "排班" in resp.text and "Staffing planner" not in resp.text and "Required seats" not in resp.text
    bad = history.client.post("/staffing", data={"source": "csv", "aht": "180", "target": "80", "within": "20",
                                                 "interval": "30", "shifts": "8h,4h"},
                              files={"file": ("peak.csv", b"2026-12-12T09:00,100\n2026-12-12T09:10,5\n", "text/csv")})
    assert bad.status_code == 422
    assert "peak.csv 第 2 行，字段 interval_start（“2026-12-12T09:10”）：不是所选时段长度的起点" in bad.text
    wrong = history.client.get("/staffing", params={**_query(), "days": "40"})
    assert wrong.status_code == 422 and "天数</strong>：请输入 1 到 31 天。" in wrong.text
