"""The pages in a real browser: Debian's Chromium driven by Playwright against a real uvicorn server.

A small demo-like center (two clients, four projects with Chinese and English names, a worker who
works in Chinese, a manager who works in English, a client user) is served on a free loopback port.
Each test logs in, clicks through and saves full-page screenshots to ``$SEATFLOW_SCREENSHOTS`` (default:
``screenshots/`` in the checkout, which git ignores) for a person to look at.

Without /usr/bin/chromium (or the playwright package) the tests are skipped, except under CI=true,
where they fail. Playwright's own browser download is never used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.browser._support import Watch, center_database, new_page, serve, shot

from seatflow.app import create_app
from seatflow.config import Settings
from seatflow.domain.clock import utcnow
from seatflow.services import accounts, answers, dispatch, imports, projects
from seatflow.services.imports import Record
from seatflow.store.engine import Database

pytestmark = pytest.mark.browser

PASSWORD = "seatflow-demo-1"


# --- the center and the server ------------------------------------------------------------------

PROJECTS = [
    # slug, name, client, work type, instructions, payload maker
    ("faces", "人像框与五点关键点", "visionai", "image_annotation",
     "框出每张人脸，并标出双眼、鼻尖和两侧嘴角。看不清的人脸不要框。",
     lambda n: {"image": f"faces/{n}.jpg", "width": 640, "height": 480}),
    ("reviews", "Product review sentiment", "visionai", "text_annotation",
     "Choose the overall sentiment, then mark people, organisations, places and products.",
     lambda n: {"text": f"快递很快，包装完好，第 {n} 次购买了。"}),
    ("shorts", "短视频发布前审核", "visionai", "moderation",
     "发布前审核：违规内容选择拒绝并注明原因，拿不准的升级处理。",
     lambda n: {"kind": "text", "text": f"post {n}: 今天的晚霞真好看"}),
    ("double12", "双十二售后工单", "swiftex", "service_ticket", "",
     lambda n: {"customer": {"name": f"客户{n}"}, "message": "我的快递到哪了？",
                "order": {"order_id": f"SO-{n}", "status": "运输中"}}),
]


@dataclass
class Center:
    url: str
    users: dict[str, int] = field(default_factory=dict)


def seed(db: Database) -> dict[str, int]:
    users: dict[str, int] = {}
    with db.write() as conn:
        accounts.create_client(conn, None, slug="visionai", name="VisionAI 科技")
        accounts.create_client(conn, None, slug="swiftex", name="迅达物流")
        accounts.create_team(conn, None, name="A 组")
        for slug, name, client, work_type, instructions, _ in PROJECTS:
            projects.create_project(conn, None, {"slug": slug, "name": name, "client": client, "work_type": work_type,
                                                 "sla_minutes": 240, "instructions": instructions})
        for username, role, locale, client in [
            ("wang.fang", "worker", "zh_CN", None),
            ("zhao.min", "manager", "en", None),
            ("chen.lead", "lead", "zh_CN", None),
            ("visionai-ops", "client", "zh_CN", "visionai"),
        ]:
            users[username] = accounts.create_user(conn, None, username=username, password=PASSWORD, role=role,
                                                   locale=locale, client_slug=client,
                                                   team="A 组" if role in ("worker", "lead") else None)
        for slug, *_ in PROJECTS:
            accounts.grant(conn, None, username="wang.fang", project_slug=slug, skill="annotate")
    soon = utcnow() + timedelta(minutes=20)
    for slug, *_, payload in PROJECTS:
        rows = [{"external_id": f"{slug}-{n}", "payload": payload(n), "priority": n % 3,
                 **({"deadline": soon.isoformat()} if n <= 3 else {})} for n in range(1, 25)]
        report = imports.import_records(db, None, slug, [Record("seed", i, r) for i, r in enumerate(rows, 1)],
                                        source="seed.jsonl")
        assert report.error is None, report
    # some work done today and one task in progress
    with db.read() as conn:
        worker = accounts.actor_by_id(conn, users["wang.fang"])
    assert worker is not None
    with db.write() as conn:
        pid = projects.get_project(conn, worker, "reviews").id
        for n in range(7):
            lease = dispatch.next_task(conn, worker, project_id=pid)
            answers.submit(conn, worker, lease_id=lease.lease_id, idempotency_key=f"seed-{n}",
                           answer={"classes": ["positive"], "spans": [{"start": 0, "end": 2, "label": "ORG"}]})
        lease = dispatch.next_task(conn, worker, project_id=projects.get_project(conn, worker, "shorts").id)
        answers.submit(conn, worker, lease_id=lease.lease_id, idempotency_key="seed-mod",
                       answer={"decision": "approve"})
        dispatch.next_task(conn, worker, project_id=projects.get_project(conn, worker, "faces").id)
    return users


@pytest.fixture(scope="module")
def center(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Center]:
    home = tmp_path_factory.mktemp("browser-center")
    with center_database(home) as (url, db):
        users = seed(db)
        app = create_app(Settings(home=home, database_url=url, secret_key="browser-test"), db=db)
        with serve(app) as base:
            yield Center(url=base, users=users)


def open_page(browser: Browser, center: Center, locale: str, **context: Any) -> tuple[Page, Watch]:
    _ctx, page = new_page(browser, viewport=context.pop("viewport", (1280, 800)), locale=locale,
                          timeout_ms=10_000, **context)
    watch = Watch(center.url)
    watch.attach(page)
    return page, watch


def log_in_zh(page: Page, center: Center, username: str) -> None:
    page.goto(center.url + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


# --- tests --------------------------------------------------------------------------------------


def test_worker_in_chinese_logs_in_starts_work_and_switches_language(browser: Browser, center: Center) -> None:
    page, watch = open_page(browser, center, "zh-CN")
    page.goto(center.url + "/")
    expect(page).to_have_url(center.url + "/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    shot(page, "01-login-zh")

    log_in_zh(page, center, "wang.fang")
    expect(page).to_have_url(center.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("wang.fang，你好")
    expect(page.locator("#answers-today")).to_have_text("8")
    expect(page.locator("header")).to_contain_text("作业员")
    cards = page.locator("#projects li")
    expect(cards).to_have_count(len(PROJECTS))
    expect(cards.filter(has_text="人像框与五点关键点")).to_contain_text("图像标注")
    shot(page, "02-worker-home-zh")

    expect(page.locator("#start-working")).to_have_attribute("href", re.compile(r"^/work/\d+$"))

    # the workspace itself is tested in test_workspace_browser.py; here: the way in and back out
    page.locator("#projects li").filter(has_text="短视频发布前审核").get_by_role("link", name="开始工作").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("短视频发布前审核")
    expect(page.locator(".instructions")).to_contain_text("发布前审核")
    shot(page, "03-work-zh")

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("短视频发布前审核")  # stayed on the same page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Home").click()
    expect(page.locator("#start-working")).to_have_text("Start working")
    shot(page, "04-worker-home-en")
    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("#start-working")).to_have_text("开始工作")

    watch.expected_statuses.add(404)
    page.goto(center.url + "/work?project=999999")  # a project that isn't there (or isn't yours)
    expect(page.get_by_role("heading", level=1)).to_have_text("未找到项目")
    shot(page, "10-not-found-zh")
    page.get_by_role("link", name="返回首页").click()
    expect(page.locator("#start-working")).to_be_visible()

    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(center.url + "/login")
    watch.check()
    page.context.close()


def test_manager_in_english_sees_the_status_table(browser: Browser, center: Center) -> None:
    page, watch = open_page(browser, center, "en-US")
    watch.expected_statuses.add(401)
    page.goto(center.url + "/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Username").fill("zhao.min")
    page.get_by_label("Password").fill("not-my-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password. Check both and try again.")
    expect(page.get_by_label("Username")).to_have_value("zhao.min")
    shot(page, "05-login-error-en")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Project status")
    rows = page.locator("#status tbody tr")
    expect(rows).to_have_count(len(PROJECTS))
    reviews = rows.filter(has_text="Product review sentiment")
    expect(reviews.locator("td").nth(4)).to_have_text("7 / 24")  # done / items
    faces = rows.filter(has_text="人像框与五点关键点")
    expect(faces.locator("td").nth(3)).to_have_text("1")  # in progress: the open lease
    expect(faces.locator(".pill-warn")).to_have_text("3")  # three items due within 30 minutes
    shot(page, "06-manager-home-en")

    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("项目状态")
    expect(page.locator("#status thead")).to_contain_text("SLA 风险")
    shot(page, "07-manager-home-zh")
    page.get_by_role("button", name="English").click()  # leave the manager in English
    expect(page.get_by_role("heading", level=1)).to_have_text("Project status")
    watch.check()
    page.context.close()


def test_client_sees_progress_of_its_own_projects(browser: Browser, center: Center) -> None:
    page, watch = open_page(browser, center, "zh-CN")
    log_in_zh(page, center, "visionai-ops")
    expect(page.get_by_role("heading", level=1)).to_have_text("你的项目")
    cards = page.locator("#projects li")
    expect(cards).to_have_count(3)
    expect(page.locator("body")).not_to_contain_text("双十二售后工单")  # another client's project
    expect(cards.filter(has_text="Product review sentiment")).to_contain_text("已完成 7 / 24 条")
    shot(page, "08-client-home-zh")
    watch.check()
    page.context.close()


def test_worker_home_on_a_narrow_screen(browser: Browser, center: Center) -> None:
    page, watch = open_page(browser, center, "zh-CN", viewport=(390, 844))
    log_in_zh(page, center, "wang.fang")
    start = page.locator("#start-working")
    expect(start).to_be_visible()
    box = start.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    shot(page, "09-worker-home-narrow-zh")
    watch.check()
    page.context.close()
