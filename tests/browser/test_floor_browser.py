"""The live floor in a real browser: a lead has /floor open, workers check in, take work and go on a
break through the API, and each change shows on the lead's screen within 2 s, without a reload.

Debian's Chromium driven by Playwright against a real uvicorn server (set-up shared in _support.py).
Screenshots go to ``$SEATFLOW_TEST_SCREENSHOTS`` (default: ``screenshots/`` in the checkout, ignored by git).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import update
from tests.browser._support import Watch, center_database, new_page, serve, shot

from seatflow.app import create_app
from seatflow.config import Settings
from seatflow.domain.clock import utcnow
from seatflow.services import accounts, answers, dispatch, imports, projects
from seatflow.services.imports import Record
from seatflow.store import tables
from seatflow.store.engine import Database

pytestmark = pytest.mark.browser

PASSWORD = "seatflow-floor-1"
LIVE_WITHIN = 2.0  # seconds: the must-show of issue 6

PROJECTS = [
    ("double12", "双十二售后工单", "service_ticket",
     lambda n: {"customer": {"name": f"客户{n}"}, "message": "我的快递到哪了？",
                "order": {"order_id": f"SO-{n}", "status": "运输中"}}),
    ("reviews", "Product review sentiment", "text_annotation", lambda n: {"text": f"快递很快，第 {n} 次购买了。"}),
    ("shorts", "短视频发布前审核", "moderation", lambda n: {"kind": "text", "text": f"post {n}: 今天的晚霞真好看"}),
]
WORKERS = [("wang.fang", "王芳", "A 组"), ("li.na", "李娜", "A 组"), ("zhou.jie", "周杰", "A 组"),
           ("sun.li", "孙丽", "A 组"), ("ma.chao", "马超", "B 组")]


@dataclass
class Center:
    url: str
    db: Database
    tokens: dict[str, str] = field(default_factory=dict)

    def api(self, who: str, method: str, path: str, **kw: object) -> httpx.Response:
        resp = httpx.request(method, self.url + path, headers={"Authorization": f"Bearer {self.tokens[who]}"},
                             timeout=10, **kw)  # type: ignore[arg-type]
        assert resp.status_code < 300, resp.text
        return resp


def seed(db: Database) -> dict[str, str]:
    tokens: dict[str, str] = {}
    with db.write() as conn:
        accounts.create_client(conn, None, slug="swiftex", name="迅达物流")
        for team in ("A 组", "B 组"):
            accounts.create_team(conn, None, name=team)
        for slug, name, work_type, _ in PROJECTS:
            projects.create_project(conn, None, {"slug": slug, "name": name, "client": "swiftex",
                                                 "work_type": work_type, "sla_minutes": 240})
        people = [("chen.lead", "lead", "zh_CN", "陈组长", "A 组"), ("zhao.min", "manager", "en", "Zhao Min", None)]
        people += [(u, "worker", "zh_CN", d, t) for u, d, t in WORKERS]
        for username, role, locale, display, team in people:
            accounts.create_user(conn, None, username=username, password=PASSWORD, role=role, locale=locale,
                                 display_name=display, team=team)
            tokens[username] = accounts.create_token(conn, None, username=username, name="browser")
        for username, *_ in WORKERS:
            for slug, *_ in PROJECTS:
                if not (username == "li.na" and slug == "shorts"):  # li.na is not qualified for moderation
                    accounts.grant(conn, None, username=username, project_slug=slug, skill="annotate")
    soon = utcnow() + timedelta(minutes=6)
    for slug, _name, _wt, payload in PROJECTS:
        rows = [{"external_id": f"{slug}-{n}", "payload": payload(n),
                 **({"deadline": soon.isoformat()} if slug == "double12" and n <= 4 else {})} for n in range(1, 31)]
        report = imports.import_records(db, None, slug, [Record("seed", i, r) for i, r in enumerate(rows, 1)],
                                        source="seed.jsonl")
        assert report.error is None, report
    # history: zhou.jie answered five reviews, 40 s each, so the project has an average handling time
    with db.read() as conn:
        zhou = accounts.actor_by_id(conn, accounts.actor_from_token(conn, tokens["zhou.jie"]).id)
    assert zhou is not None
    with db.write() as conn:
        pid = projects.get_project(conn, zhou, "reviews").id
        for n in range(5):
            lease = dispatch.next_task(conn, zhou, project_id=pid)
            conn.execute(update(tables.leases).where(tables.leases.c.id == lease.lease_id)
                         .values(created_at=utcnow() - timedelta(seconds=40)))
            answers.submit(conn, zhou, lease_id=lease.lease_id, idempotency_key=f"seed-{n}",
                           answer={"classes": ["positive"], "spans": []})
    return tokens


@pytest.fixture(scope="module")
def center(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Center]:
    home = tmp_path_factory.mktemp("floor-center")
    with center_database(home) as (url, db):
        tokens = seed(db)
        app = create_app(Settings(home=home, database_url=url, secret_key="floor-test"), db=db)
        with serve(app) as base:
            yield Center(url=base, db=db, tokens=tokens)


def logged_in(browser: Browser, center: Center, username: str, locale: str) -> tuple[Page, Watch]:
    _ctx, page = new_page(browser, viewport=(1280, 900), locale=locale, timeout_ms=10_000)
    watch = Watch(center.url)
    watch.attach(page)
    resp = page.request.post(center.url + "/api/v1/auth/login", data={"username": username, "password": PASSWORD})
    assert resp.ok, resp.text()
    return page, watch


def until_shown(page: Page, selector: str, started: float) -> float:
    """Seconds from ``started`` until ``selector`` is in the DOM (polled every 20 ms); fails after 5 s."""
    deadline = started + 5
    while time.monotonic() < deadline:
        if page.locator(selector).count():
            return time.monotonic() - started
        page.wait_for_timeout(20)
    raise AssertionError(f"{selector} did not appear within 5 s")


def test_a_workers_change_reaches_the_leads_screen_within_2_s(browser: Browser, center: Center) -> None:
    page, watch = logged_in(browser, center, "chen.lead", "zh-CN")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    page.goto(center.url + "/floor")
    expect(page.get_by_role("heading", level=1)).to_have_text("实时现场")
    expect(page.locator("#floor-live")).to_have_attribute("data-live", "live")
    tiles = page.locator("#floor-tiles > li")
    expect(tiles).to_have_count(4)  # team A only: ma.chao is in team B
    expect(page.locator('li[data-user="ma.chao"]')).to_have_count(0)
    expect(page.locator('li[data-user="wang.fang"]')).to_have_attribute("data-state", "offline")
    page.evaluate("window.__stillTheSamePage = true")

    timings = {}
    started = time.monotonic()
    center.api("wang.fang", "POST", "/api/v1/attendance/check-in", json={"seat": "A-01"})
    timings["check-in"] = until_shown(page, 'li[data-user="wang.fang"][data-state="idle"]', started)
    tile = page.locator('li[data-user="wang.fang"]')
    expect(tile).to_contain_text("座位 A-01")
    expect(tile.locator(".mark-backlog")).to_contain_text("有积压却空闲")

    started = time.monotonic()
    center.api("wang.fang", "POST", "/api/v1/leases", json={"project_id": 1})
    timings["lease"] = until_shown(page, 'li[data-user="wang.fang"][data-state="working"]', started)
    expect(tile.locator(".tile-project")).to_have_text("双十二售后工单")
    expect(tile.locator(".tile-time")).to_have_text(re.compile(r"^0:0[1-9]$"), timeout=3000)  # counts up by itself

    started = time.monotonic()
    center.api("li.na", "POST", "/api/v1/attendance/check-in", json={"seat": "A-02"})
    center.api("li.na", "POST", "/api/v1/attendance/break/start")
    timings["break"] = until_shown(page, 'li[data-user="li.na"][data-state="break"]', started)

    for what, seconds in timings.items():
        assert seconds < LIVE_WITHIN, f"{what}: shown after {seconds:.2f} s"
    print("floor live update, seconds from the API call to the tile:",
          {k: round(v, 3) for k, v in timings.items()})

    # a worker stuck on an item: zhou.jie took a review task 200 s ago (the project's average is 40 s)
    center.api("zhou.jie", "POST", "/api/v1/attendance/check-in", json={"seat": "A-03"})
    lease = center.api("zhou.jie", "POST", "/api/v1/leases", json={"project_id": 2}).json()
    with center.db.write() as conn:
        conn.execute(update(tables.leases).where(tables.leases.c.id == lease["lease_id"])
                     .values(created_at=utcnow() - timedelta(seconds=200)))
    stuck = page.locator('li[data-user="zhou.jie"]')
    expect(stuck).to_have_attribute("data-state", "working")
    expect(stuck.locator(".mark-stuck")).to_be_visible(timeout=3000)
    expect(stuck).to_have_class("floor-tile is-stuck")
    # the project whose items are due within 10 minutes is marked
    expect(page.locator('.floor-project[data-project="double12"]')).to_have_class("floor-project at-risk")
    expect(page.locator('.floor-project[data-project="double12"] .mark-risk')).to_have_text("SLA 风险")
    expect(page.locator('.floor-project[data-project="reviews"] .mark-ok')).to_be_visible()

    # move li.na to moderation, which she is not qualified for: the page asks, then qualifies and moves
    watch.expected_statuses.add(409)  # the first answer: "not qualified, confirm"
    page.locator('li[data-user="li.na"]').get_by_role("button", name="调配…").click()
    dialog = page.locator("#floor-move")
    expect(dialog).to_be_visible()
    dialog.get_by_label("项目").select_option("shorts")
    dialog.get_by_role("button", name="调配", exact=True).click()
    expect(page.locator("#floor-move-grant")).to_be_visible()
    expect(page.locator("#floor-move-grant-text")).to_contain_text("李娜 尚未取得“短视频发布前审核”的资格")
    page.locator("#floor-move-grant-box").check()
    dialog.get_by_role("button", name="调配", exact=True).click()
    expect(page.locator("#floor-toast")).to_have_text("已将 李娜 调配到“短视频发布前审核”。")
    expect(page.locator('li[data-user="li.na"] .tile-assigned')).to_have_text("指派：短视频发布前审核")
    shot(page, "floor-lead-zh")

    assert page.evaluate("window.__stillTheSamePage") is True
    assert len(navigations) == 1, navigations  # the page never reloaded
    watch.check()
    page.context.close()


def test_the_manager_sees_every_team_in_english(browser: Browser, center: Center) -> None:
    page, watch = logged_in(browser, center, "zhao.min", "en-US")
    page.goto(center.url + "/floor")
    expect(page.get_by_role("heading", level=1)).to_have_text("Live floor")
    expect(page.locator("#floor-live")).to_have_text("Live")
    expect(page.locator("#floor-tiles > li")).to_have_count(len(WORKERS))
    expect(page.locator('li[data-user="ma.chao"] .tile-state-label')).to_have_text("Offline")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Live floor")).to_have_attribute(
        "aria-current", "page")
    shot(page, "floor-manager-en")
    watch.check()
    page.context.close()


def test_workers_do_not_get_the_floor(browser: Browser, center: Center) -> None:
    page, watch = logged_in(browser, center, "sun.li", "zh-CN")
    watch.expected_statuses.add(403)
    resp = page.goto(center.url + "/floor")
    assert resp is not None and resp.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("不可用")
    # the home page's seat control: check in, then a break, all in Chinese
    page.goto(center.url + "/")
    page.get_by_label("座位").fill("A 9")
    page.get_by_role("button", name="签到").click()
    expect(page.locator("#attendance-error")).to_have_text(
        "这不是有效的座位号：请使用 1-16 位字母、数字或短横线，例如 A-12。")
    page.get_by_label("座位").fill("a-09")
    page.get_by_role("button", name="签到").click()
    expect(page.locator("#attendance-state")).to_have_text("已在 A-09 号座位签到")
    page.get_by_role("button", name="开始休息").click()
    expect(page.locator("#attendance-state")).to_have_text("休息中 · A-09 号座位")
    shot(page, "worker-home-attendance-zh")
    watch.check()
    page.context.close()
