"""The billing page in a real browser (Debian's Chromium via Playwright, against a real uvicorn server).

A client billed for one project per unit and one by time: a manager (English) reads the statement and
its hours line; the client's own user (Chinese) sees the same statement in Chinese and downloads the
CSV. Full-page screenshots go to ``$SEATFLOW_SCREENSHOTS`` (default ``screenshots/``, git-ignored) for
a person to look at. Skipped without /usr/bin/chromium, except under CI=true.

The answers are written straight into the tables (this test is about the page; the billing rules are
tested through the work API in tests/integration/test_billing.py).
"""

from __future__ import annotations

import csv
import io
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import insert, select, update
from tests.conftest import in_ci

from seatflow.app import create_app
from seatflow.config import Settings
from seatflow.services import accounts, imports, projects
from seatflow.services.imports import Record
from seatflow.store import tables
from seatflow.store.engine import Database, make_engine
from seatflow.store.migrate import upgrade

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "seatflow-demo-1"
MONTH = "2026-11"
# hotline answers (handling ms): 40 first answers of 6 minutes, plus 5 reworks of 4 minutes (not billed)
FIRST_MS, REWORK_MS, FIRST_N, REWORK_N = 360_000, 240_000, 40, 5

if not CHROMIUM.exists():
    if in_ci():
        pytest.fail(f"CI=true and {CHROMIUM} is missing", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing", allow_module_level=True)
try:
    from playwright.sync_api import Browser, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    if in_ci():
        pytest.fail("CI=true and the playwright package is missing", pytrace=False)
    pytest.skip("the playwright package is missing", allow_module_level=True)


def screenshot_dir() -> Path:
    path = Path(os.environ.get("SEATFLOW_TEST_SCREENSHOTS") or os.environ.get("SEATFLOW_SCREENSHOTS")
                or ROOT / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def seed(db: Database) -> None:
    with db.write() as conn:
        accounts.create_client(conn, None, slug="jinghong", name="京鸿智能")
        projects.create_project(conn, None, {"slug": "posts", "name": "社区帖子审核", "client": "jinghong",
                                             "work_type": "moderation", "unit_price": "0.35"})
        projects.create_project(conn, None, {"slug": "hotline", "name": "售后热线工单", "client": "jinghong",
                                             "work_type": "service_ticket", "billing_mode": "hours",
                                             "hourly_rate": "45"})
        for username, role, client, locale in [("zhao.min", "manager", None, "en"),
                                               ("jh.ops", "client", "jinghong", "zh_CN")]:
            accounts.create_user(conn, None, username=username, password=PASSWORD, role=role, locale=locale,
                                 client_slug=client)
    posts = [{"external_id": f"p-{n}", "payload": {"kind": "text", "text": f"帖子 {n}"}} for n in range(120)]
    tickets = [{"external_id": f"t-{n}", "payload": {"customer": {"name": f"客户{n}"}, "message": "我的快递到哪了？",
                                                    "order": {"order_id": f"SO-{n}", "status": "运输中"}}}
               for n in range(FIRST_N)]
    for slug, rows in (("posts", posts), ("hotline", tickets)):
        report = imports.import_records(db, None, slug, [Record("seed", i, r) for i, r in enumerate(rows, 1)],
                                        source="seed.jsonl")
        assert report.error is None, report
    day = datetime(2026, 11, 12, 9, tzinfo=UTC)
    with db.write() as conn:
        user = conn.execute(select(tables.users.c.id).where(tables.users.c.username == "zhao.min")).scalar_one()
        hotline = conn.execute(select(tables.projects.c.id).where(tables.projects.c.slug == "hotline")).scalar_one()
        for n, item in enumerate(conn.execute(select(tables.items.c.id, tables.items.c.project_id,
                                                     tables.items.c.client_id)).all()):
            at = day + timedelta(minutes=n)
            conn.execute(update(tables.items).where(tables.items.c.id == item.id).values(state="done", done_at=at))
            task = conn.execute(select(tables.tasks.c.id).where(tables.tasks.c.item_id == item.id)
                                .limit(1)).scalar_one()
            common = {"client_id": item.client_id, "project_id": item.project_id, "item_id": item.id,
                      "task_id": task, "lease_id": 0, "user_id": user, "slot": 0, "answer": {}}
            reworked = item.project_id == hotline and n % 8 == 0  # rejected, then reworked: the rework is not billed
            first = conn.execute(insert(tables.submissions).values(
                **common, state="rejected" if reworked else "accepted", idempotency_key=f"seed-{item.id}",
                duration_ms=FIRST_MS, created_at=at).returning(tables.submissions.c.id)).scalar_one()
            if reworked:
                conn.execute(insert(tables.submissions).values(
                    **common, state="accepted", supersedes_id=first, idempotency_key=f"seed-{item.id}-rework",
                    duration_ms=REWORK_MS, created_at=at + timedelta(seconds=30)))


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn

    home = tmp_path_factory.mktemp("billing-center")
    url = f"sqlite:///{home / 'seatflow.db'}"
    db = Database(make_engine(url))
    upgrade(db.engine)
    mp = pytest.MonkeyPatch()
    mp.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    try:
        seed(db)
        app = create_app(Settings(home=home, database_url=url, secret_key="browser-test"), db=db)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        server.should_exit = True
        thread.join(timeout=15)
    finally:
        mp.undo()
        db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _login(browser: Browser, base: str, username: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: errors.append(f"outside request {r.url}") if not r.url.startswith(base) else None)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return context, page, errors


def test_manager_reads_a_statement_with_an_hours_line(browser: Browser, server_url: str) -> None:
    context, page, errors = _login(browser, server_url, "zhao.min")
    try:
        page.goto(f"{server_url}/billing?client=jinghong&month={MONTH}")
        # 40 x 6 min = 4.00 h (the 5 reworks of 4 min are not billed) x 45 = 180.00; 120 x 0.35 = 42.00
        hotline = page.locator('tr[data-project="hotline"]')
        expect(hotline).to_have_attribute("data-billing", "hours")
        expect(hotline).to_contain_text("by time")
        expect(hotline).to_contain_text("4.00")
        expect(hotline).to_contain_text("45.00")
        expect(hotline).to_contain_text("180.00")
        posts = page.locator('tr[data-project="posts"]')
        expect(posts).to_contain_text("per unit")
        expect(posts).to_contain_text("42.00")
        expect(page.locator("#total-hours")).to_have_text("4.00")
        expect(page.locator("#total-amount")).to_have_text("222.00")
        expect(page.locator("#hours-rule")).to_contain_text("rework answers, gold items and review time")
        page.screenshot(path=str(screenshot_dir() / "billing-hours-en.png"), full_page=True)
        assert errors == []
    finally:
        context.close()


def test_client_reads_its_statement_in_chinese_and_downloads_the_csv(browser: Browser, server_url: str) -> None:
    context, page, errors = _login(browser, server_url, "jh.ops")
    try:
        page.goto(f"{server_url}/billing?month={MONTH}")
        expect(page.locator('tr[data-project="hotline"]')).to_contain_text("按工时")
        expect(page.locator('tr[data-project="posts"]')).to_contain_text("按件")
        expect(page.locator("#statement thead")).to_contain_text("单价或时薪")
        expect(page.locator("#total-amount")).to_have_text("222.00")
        page.screenshot(path=str(screenshot_dir() / "billing-hours-zh.png"), full_page=True)
        with page.expect_download() as info:
            page.click("#download-csv")
        rows = {r["project"]: r for r in csv.DictReader(io.StringIO(Path(info.value.path()).read_text("utf-8")))}
        assert [rows["hotline"][k] for k in ("billing_mode", "hours", "hourly_rate", "amount")] == [
            "hours", "4.00", "45.0000", "180.00"]
        assert rows["TOTAL"]["amount"] == "222.00"
        assert errors == []
    finally:
        context.close()
