"""The staffing page in a real browser (Debian's Chromium via Playwright, against a real uvicorn server).

A manager (English) plans a project from its history with a peak day and reads the chart; a lead (Chinese)
uploads a forecast CSV. Full-page screenshots go to ``$SEATFLOW_SCREENSHOTS`` (default ``screenshots/``,
git-ignored) for a person to look at. Skipped without /usr/bin/chromium, except under CI=true.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select, update
from tests.browser._support import Errors, center_database, login, screenshot_dir, serve

from seatflow.app import create_app
from seatflow.config import Settings
from seatflow.services import accounts, imports, projects
from seatflow.services.imports import Record
from seatflow.store import tables
from seatflow.store.engine import Database

pytestmark = pytest.mark.browser

PASSWORD = "seatflow-demo-1"
# arrivals per hour of the day (UTC) on each of the last four weeks: a quiet night, a morning and an evening peak
PATTERN = [0, 0, 0, 0, 0, 0, 1, 3, 6, 9, 10, 8, 6, 6, 7, 8, 7, 6, 7, 9, 11, 8, 4, 1]

START = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def seed(db: Database) -> None:
    with db.write() as conn:
        accounts.create_client(conn, None, slug="swiftex", name="迅达物流")
        projects.create_project(conn, None, {"slug": "double12", "name": "双十二售后工单", "client": "swiftex",
                                             "work_type": "service_ticket", "sla_minutes": 240})
        for username, role, locale in [("zhao.min", "manager", "en"), ("chen.lead", "lead", "zh_CN"),
                                       ("wang.fang", "worker", "zh_CN")]:
            accounts.create_user(conn, None, username=username, password=PASSWORD, role=role, locale=locale)
    moments = [START - timedelta(days=day) + timedelta(hours=hour, minutes=(7 * k) % 60)
               for day in range(1, 29) for hour, count in enumerate(PATTERN) for k in range(count)]
    rows = [{"external_id": f"t-{n}", "payload": {"customer": {"name": f"客户{n}"}, "message": "我的快递到哪了？",
                                                   "order": {"order_id": f"SO-{n}", "status": "运输中"}}}
            for n in range(len(moments))]
    report = imports.import_records(db, None, "double12", [Record("seed", i, r) for i, r in enumerate(rows, 1)],
                                    source="seed.jsonl")
    assert report.error is None, report
    with db.write() as conn:
        ids = list(conn.execute(select(tables.items.c.id).order_by(tables.items.c.id)).scalars())
        for item_id, moment in zip(ids, moments, strict=True):
            conn.execute(update(tables.items).where(tables.items.c.id == item_id).values(created_at=moment))


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("staffing-center")
    with center_database(home) as (url, db):
        seed(db)
        app = create_app(Settings(home=home, database_url=url, secret_key="browser-test"), db=db)
        with serve(app) as base:
            yield base


def _login(browser: Browser, base: str, username: str) -> tuple[BrowserContext, Page, Errors]:
    errors = Errors(base)
    context, page = login(browser, base, username, PASSWORD, watch=errors.attach)
    return context, page, errors


def test_manager_plans_a_peak_from_history(browser: Browser, server_url: str) -> None:
    context, page, errors = _login(browser, server_url, "zhao.min")
    page.click("nav.mainnav a[href='/staffing']")
    page.wait_for_url(f"{server_url}/staffing")
    page.check("input[name=source][value=project]")
    page.select_option("select[name=project]", "double12")
    page.fill("input[name=aht]", "600")
    page.select_option("select[name=interval]", "60")
    second_day = (START + timedelta(days=1)).date().isoformat()
    page.fill("input[name=peak]", f"3x:{second_day}..{second_day}")
    page.fill("input[name=start]", START.date().isoformat())
    page.fill("input[name=days]", "2")
    page.click("#plan-form button[type=submit]")
    expect(page.locator("#staffing-chart")).to_be_visible()
    assert page.locator("#staffing-chart rect.bar").count() == 48
    assert page.locator("#plan-table tbody tr").count() == 48
    # the 10:00 hour averages 10 arrivals; on the peak day it is 30
    ten = page.locator(f"#plan-table tr[data-start='{START.date().isoformat()}T10:00'] td").nth(1)
    assert ten.inner_text().strip() == "10"
    peak_ten = page.locator(f"#plan-table tr[data-start='{second_day}T10:00'] td").nth(1)
    assert peak_ten.inner_text().strip() == "30"
    expect(page.locator("#shifts")).to_be_visible()
    page.screenshot(path=str(screenshot_dir() / "staffing-en.png"), full_page=True)
    page.locator(".chart-card").screenshot(path=str(screenshot_dir() / "staffing-chart-en.png"))
    with page.expect_download() as download:
        page.click("#download-form button[name=download]")
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("interval_start,arrivals,") and len(lines) == 49
    assert errors == []
    context.close()


def test_lead_uploads_a_forecast_in_chinese(browser: Browser, server_url: str, tmp_path: Path) -> None:
    forecast = tmp_path / "double12.csv"
    day = START.date().isoformat()
    forecast.write_text("interval_start,arrivals\n" + "".join(
        f"{day}T{h:02d}:{m:02d},{max(0, 60 + 40 * (h - 12) - 3 * (h - 12) ** 2 * 4)}\n"
        for h in range(8, 20) for m in (0, 30)), encoding="utf-8")
    context, page, errors = _login(browser, server_url, "chen.lead")
    page.goto(f"{server_url}/staffing")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.check("input[name=source][value=csv]")
    page.set_input_files("input[name=file]", str(forecast))
    page.fill("input[name=aht]", "240")
    page.fill("input[name=within]", "15")
    page.fill("input[name=patience]", "120")
    page.click("#plan-form button[type=submit]")
    expect(page.locator("#staffing-chart")).to_be_visible()
    assert page.locator("#plan-table tbody tr").count() == 24
    assert "放弃概率" in page.locator("#plan-table thead").inner_text()
    page.screenshot(path=str(screenshot_dir() / "staffing-zh_CN.png"), full_page=True)
    assert errors == []
    # a malformed upload names the line and the field
    forecast.write_text(f"{day}T08:00,10\n{day}T08:30,abc\n", encoding="utf-8")
    page.check("input[name=source][value=csv]")
    page.set_input_files("input[name=file]", str(forecast))
    page.click("#plan-form button[type=submit]")
    expect(page.locator("#plan-error")).to_contain_text(
        "double12.csv 第 2 行，字段 arrivals（“abc”）：不是到达量数字（0 或以上）")
    page.screenshot(path=str(screenshot_dir() / "staffing-error-zh_CN.png"), full_page=False)
    assert [e for e in errors if "status of 422" not in e] == []  # the page answers the bad upload with 422
    context.close()


def test_worker_is_turned_away(browser: Browser, server_url: str) -> None:
    context, page, _errors = _login(browser, server_url, "wang.fang")
    assert page.locator("nav.mainnav a[href='/staffing']").count() == 0
    response = page.goto(f"{server_url}/staffing")
    assert response is not None and response.status == 403
    context.close()
