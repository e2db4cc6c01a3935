"""The seat workspace in a real browser: Debian's Chromium driven by Playwright against uvicorn.

A small center is served on a free loopback port: a moderation project with image, video (a VP8
WebM made here with PyAV) and text items, a text project whose answers are all reviewed, and a
service-ticket project with canned replies. A worker (Chinese first, then English) works through
them with the keyboard and the mouse, and each stored answer is compared with what was entered; a
reviewer rejects one answer, the worker reworks it, the reviewer accepts it. Screens are saved to
``$SEATFLOW_SCREENSHOTS`` (default ``screenshots/``, not committed) for a person to look at.

The tests run in file order and share the center: each one says what it leaves behind.
Without /usr/bin/chromium or playwright they are skipped, except under CI=true, where they fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from tests.browser._support import CHROMIUM_ARGS, center_database, log_in, new_page, screenshot_dir, serve

from seatflow.app import create_app
from seatflow.config import Settings
from seatflow.domain.clock import utcnow
from seatflow.services import accounts, imports, projects
from seatflow.services.imports import Record
from seatflow.store import tables
from seatflow.store.engine import Database
from seatflow.worktypes.ticket import render_canned

pytestmark = pytest.mark.browser

PASSWORD = "seatflow-seat-1"

av: Any
try:
    import av
except ImportError:  # pragma: no cover - depends on the environment
    av = None


# --- media made for the test ----------------------------------------------------------------------

def make_image(path: Path) -> None:
    """A 640x400 'photo': sky, a hill and a sun."""
    img = Image.new("RGB", (640, 400), (135, 185, 230))
    draw = ImageDraw.Draw(img)
    draw.ellipse((460, 50, 560, 150), fill=(250, 210, 90))
    draw.polygon([(0, 400), (0, 260), (200, 190), (420, 250), (640, 210), (640, 400)], fill=(80, 140, 90))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "PNG")


VIDEO_SECONDS = 6


def make_video(path: Path) -> None:
    """A 6 s, 10 fps VP8 WebM: the colour changes every second and a square crosses the frame."""
    assert av is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    colours = [(200, 70, 60), (220, 150, 40), (90, 160, 80), (60, 130, 200), (120, 80, 170), (60, 60, 60)]
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for n in range(VIDEO_SECONDS * 10):
            img = Image.new("RGB", (320, 180), colours[n // 10])
            x = 10 + n * 4
            ImageDraw.Draw(img).rectangle((x, 70, x + 40, 110), fill=(255, 255, 255))
            for packet in stream.encode(av.VideoFrame.from_image(img)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


# --- the center -------------------------------------------------------------------------------------

TEXT_SCHEMA: dict[str, Any] = {"classes": ["positive", "neutral", "negative"], "multi_label": False,
               "span_labels": ["PER", "ORG", "LOC", "PRODUCT"]}
TICKET_SCHEMA: dict[str, Any] = {
    "dispositions": [
        {"code": "resolved", "title": "本次回复已解决"},
        {"code": "refund", "title": "同意退款或赔偿"},
        {"code": "follow_up", "title": "等待网点，需跟进"},
        {"code": "escalate", "title": "升级给组长"},
    ],
    "canned_replies": [
        {"key": "where", "title": "查询包裹位置",
         "text": "{customer_name}您好，您的订单 {order_id} 当前状态：{status}，运单号 {tracking_no}。我们会持续跟进。"},
        {"key": "delay", "title": "节后延误致歉",
         "text": "{customer_name}您好，很抱歉订单 {order_id} 延误了：双十二后件量很大，我们已请网点优先派送。"},
    ],
}
TEXTS = [
    "张伟在京东买了华为手机，物流很快，包装也很好。",
    "李娜说这家杭州的店服务一般，小米耳机音质还行。",
    "Anna bought a Kindle from Amazon in Berlin and loves it.",
    "Sam waited two weeks for the Lenovo laptop; the shop in Leeds never answered.",
]
COMMENT_LEASE_SECONDS = 10
TICKETS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"name": "王芳", "phone": "138****5521", "vip": True},
     {"order_id": "SO-20231212-001", "status": "运输中", "tracking_no": "SF1234567890", "items": ["羽绒服 x1"]}),
    ({"name": "陈刚"}, {"order_id": "SO-20231212-002", "status": "待揽收", "items": ["电饭煲 x1", "砧板 x2"]}),
    ({"name": "Olivia Brown", "city": "Shenzhen"},
     {"order_id": "SO-20231212-003", "status": "delivered", "tracking_no": "SF555"}),
    ({"name": "Tom"}, {"order_id": "SO-20231212-004", "status": "lost"}),
]


@dataclass
class Center:
    url: str
    db: Database
    projects: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)

    def submissions(self, username: str, project: str) -> dict[str, Any]:
        """external_id -> the latest stored answer of ``username`` in ``project``."""
        s, i = tables.submissions, tables.items
        q = (select(i.c.external_id, s.c.answer, s.c.duration_ms).join(i, i.c.id == s.c.item_id)
             .where(s.c.user_id == self.users[username], s.c.project_id == self.projects[project])
             .order_by(s.c.id))
        with self.db.read() as conn:
            return {r.external_id: r.answer for r in conn.execute(q)}

    def durations(self, username: str) -> list[int | None]:
        s = tables.submissions
        with self.db.read() as conn:
            return list(conn.execute(select(s.c.duration_ms).where(s.c.user_id == self.users[username])).scalars())

    def reviews(self) -> list[Any]:
        r, i = tables.reviews, tables.items
        q = select(i.c.external_id, r.c.verdict, r.c.error_tags, r.c.comment, r.c.fixed_answer).join(
            i, i.c.id == r.c.item_id).order_by(r.c.id)
        with self.db.read() as conn:
            return list(conn.execute(q))

    def open_leases(self, username: str) -> int:
        t = tables.tasks
        with self.db.read() as conn:
            return len(list(conn.execute(select(t.c.id).where(t.c.leased_by == self.users[username],
                                                               t.c.state == "leased"))))

    def leases_taken(self, username: str) -> int:
        """Every lease ``username`` was ever given (held, submitted, released or expired)."""
        with self.db.read() as conn:
            return len(list(conn.execute(select(tables.leases.c.id).where(
                tables.leases.c.user_id == self.users[username]))))

    def label_schema(self, project: str) -> dict[str, Any]:
        with self.db.read() as conn:
            return dict(conn.execute(select(tables.projects.c.label_schema).where(
                tables.projects.c.id == self.projects[project])).scalar_one())

    def set_label_schema(self, project: str, schema: dict[str, Any]) -> None:
        with self.db.write() as conn:
            conn.execute(tables.projects.update().where(tables.projects.c.id == self.projects[project])
                         .values(label_schema=schema))

    def item_state(self, external_id: str) -> str:
        with self.db.read() as conn:
            return str(conn.execute(select(tables.items.c.state).where(
                tables.items.c.external_id == external_id)).scalar_one())


def seed(db: Database, media: Path) -> tuple[dict[str, int], dict[str, int]]:
    make_image(media / "shorts" / "sunset.png")
    make_image(media / "shorts" / "hill.png")
    if av is not None:
        make_video(media / "shorts" / "clip-a.webm")
        make_video(media / "shorts" / "clip-b.webm")
    specs = [
        ("shorts", "短视频发布审核", "moderation", None, "annotate(overlap=1)",
         "违规内容选择拒绝并注明原因；拿不准的升级处理。\n视频请至少看完关键帧。"),
        ("reviews", "商品评价情感与实体", "text_annotation", TEXT_SCHEMA,
         "annotate(overlap=1) -> review(sample_rate=1)",
         "先选整体情感，再标出人名（PER）、机构（ORG）、地点（LOC）和商品（PRODUCT）。"),
        ("tickets", "双十二售后工单", "service_ticket", TICKET_SCHEMA, "annotate(overlap=1)",
         "先确认订单状态，再选快捷回复并补全空缺信息。"),
        ("comments", "评论区巡查", "moderation", None, "annotate(overlap=1)", ""),
    ]
    users: dict[str, int] = {}
    ids: dict[str, int] = {}
    with db.write() as conn:
        accounts.create_client(conn, None, slug="shop", name="优选商城")
        accounts.create_team(conn, None, name="B 组")
        for slug, name, work_type, schema, workflow, instructions in specs:
            spec = {"slug": slug, "name": name, "client": "shop", "work_type": work_type, "workflow": workflow,
                    "instructions": instructions, "sla_minutes": 240}
            if schema is not None:
                spec["label_schema"] = schema
            if slug == "comments":
                spec["lease_seconds"] = COMMENT_LEASE_SECONDS  # short, to see heartbeats and expiry
            ids[slug] = projects.create_project(conn, None, spec)
        for username, locale in [("li.na", "zh_CN"), ("zhou.qa", "en")]:
            users[username] = accounts.create_user(conn, None, username=username, password=PASSWORD, role="worker",
                                                   locale=locale, team="B 组")
        for slug, *_ in specs:
            accounts.grant(conn, None, username="li.na", project_slug=slug, skill="annotate")
        accounts.grant(conn, None, username="zhou.qa", project_slug="reviews", skill="review")
    now = utcnow()
    moderation: list[dict[str, Any]] = []
    for n, suffix in enumerate(("a", "b")):
        moderation += [
            {"external_id": f"img-{suffix}", "priority": 30 - 10 * n,
             "deadline": (now + timedelta(minutes=3)).isoformat(),
             "payload": {"kind": "image", "media": f"shorts/{'sunset' if n == 0 else 'hill'}.png",
                         "prescreen_score": 0.82, "prescreen_labels": ["qr_code", "fraud"],
                         "meta": {"uploader": "u_8812", "caption": "夕阳"}}},
            {"external_id": f"txt-{suffix}", "priority": 28 - 10 * n,
             "payload": {"kind": "text", "text": "加我微信领取免费会员，名额有限！" if n == 0 else "今天的晚霞真好看"}},
        ]
        if av is not None:
            moderation.append({"external_id": f"vid-{suffix}", "priority": 29 - 10 * n,
                               "deadline": (now + timedelta(minutes=40)).isoformat(),
                               "payload": {"kind": "video", "media": f"shorts/clip-{suffix}.webm",
                                           "prescreen_score": 0.35}})
    rows = {
        "shorts": moderation,
        "reviews": [{"external_id": f"review-{n}", "priority": 10 - n, "payload": {"text": text}}
                    for n, text in enumerate(TEXTS, 1)],
        "comments": [{"external_id": f"comment-{n}", "priority": 20 - n,
                      "payload": {"kind": "text", "text": f"第 {n} 条评论：这家店的客服回复很快。"}}
                     for n in range(1, 13)],
        "tickets": [{"external_id": f"ticket-{n}", "priority": 10 - n,
                     "payload": {"customer": customer, "message": "我的快递到哪了？已经三天没有更新了。",
                                 "channel": "chat", "order": order}}
                    for n, (customer, order) in enumerate(TICKETS, 1)],
    }
    for slug, items in rows.items():
        report = imports.import_records(db, None, slug, [Record("seed", i, r) for i, r in enumerate(items, 1)],
                                        source="seed.jsonl")
        assert report.error is None, report
    return ids, users


@pytest.fixture(scope="module")
def center(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Center]:
    home = tmp_path_factory.mktemp("workspace-center")
    with center_database(home) as (url, db):
        ids, users = seed(db, home / "media")
        app = create_app(Settings(home=home, database_url=url, secret_key="workspace-browser-test"), db=db)
        with serve(app) as base:
            yield Center(url=base, db=db, projects=ids, users=users)


@pytest.fixture(scope="module")
def chromium_args() -> list[str]:
    """The video items play without a click."""
    return [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]


# --- driving the page -------------------------------------------------------------------------------


@dataclass
class Watch:
    """Console errors, page errors and requests that left the server or failed unexpectedly."""

    base: str
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    allowed: set[int] = field(default_factory=set)  # statuses a test provokes on purpose (0: network)

    def attach(self, page: Page) -> None:
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", self._request)
        page.on("response", self._response)

    def _request(self, request: Any) -> None:
        if not request.url.startswith(("blob:", "data:")) and \
                urlsplit(request.url).netloc != urlsplit(self.base).netloc:
            self.outside.append(request.url)

    def _response(self, response: Any) -> None:
        # "no task right now" is a 404 problem of the lease API; anything else is a failure
        if response.status >= 400 and response.status not in self.allowed and \
                not (response.status == 404 and response.url.endswith("/api/v1/leases")):
            self.failed.append(f"{response.request.method} {response.url}: {response.status}")

    def check(self) -> None:
        assert not self.outside, f"requests left the server: {self.outside}"
        assert not self.failed, f"failed requests: {self.failed}"
        allowed = {f"status of {n}" for n in self.allowed | {404}}  # 404: the no-work answers, see above
        if 0 in self.allowed:  # 0: network failures the test makes on purpose
            allowed.add("net::ERR_CONNECTION_FAILED")
        errors = [e for e in self.errors if not any(a in e for a in allowed)]
        assert not errors, f"browser console errors: {errors}"


class Seat:
    """One worker's browser tab on the workspace."""

    def __init__(self, browser: Browser, center: Center, username: str, locale: str,
                 viewport: tuple[int, int] = (1440, 900)) -> None:
        self.center = center
        self.username = username
        self.context, self.page = new_page(browser, viewport=viewport, locale="zh-CN" if locale == "zh_CN" else "en-US",
                                           timeout_ms=15_000)
        self.watch = Watch(center.url)
        self.watch.attach(self.page)
        log_in(self.page, center.url, username, PASSWORD)
        # the language stays on the user from an earlier test: set the one this seat starts in
        resp = self.page.request.post(center.url + "/settings/language", form={"locale": locale, "next": "/"},
                                      max_redirects=0)
        assert resp.status == 303, resp.status

    def open(self, project: str) -> dict[str, Any]:
        self.page.goto(f"{self.center.url}/work/{self.center.projects[project]}")
        return self.current()

    def _instrument(self) -> None:
        """Time each swap: from the submit key to the next item's seatflow:item-ready event."""
        self.page.evaluate("""() => {
            if (window.__swaps) return;
            window.__swaps = [];
            document.addEventListener('keydown', e => {
                if (e.key === 'Enter') window.__t0 = performance.now();
            }, true);
            document.addEventListener('seatflow:item-ready', e => {
                if (window.__t0) window.__swaps.push(e.detail.at - window.__t0);
                window.__t0 = 0;
            });
        }""")

    def current(self) -> dict[str, Any]:
        """The lease on screen, once its view is mounted and shown."""
        self.page.wait_for_function("() => { const s = window.Seatflow && Seatflow.workspace && "
                                    "Seatflow.workspace.state; return s && s.current && s.current.isReady; }")
        lease: dict[str, Any] = self.page.evaluate("Seatflow.workspace.state.current.lease")
        expect(self.page.locator("#ws-item-id")).to_have_text(lease["item"]["external_id"])
        self._instrument()
        return lease

    def next_prepared(self) -> dict[str, Any]:
        """The lease prepared off-screen behind the current one (waits until its view is mounted)."""
        self.page.wait_for_function("() => { const a = Seatflow.workspace.state.ahead; "
                                    "return a.length && a[0].isReady; }")
        lease: dict[str, Any] = self.page.evaluate("Seatflow.workspace.state.ahead[0].lease")
        return lease

    def press(self, *keys: str) -> None:
        for key in keys:
            self.page.keyboard.press(key)

    def submit_and_next(self, key: str = "Enter") -> dict[str, Any]:
        """Submit with ``key``; the prepared item must be on screen at once (no request waited on)."""
        prepared = self.next_prepared()
        old = self.page.evaluate("Seatflow.workspace.state.current.lease.lease_id")
        self.press(key)
        self.page.wait_for_function("(old) => { const c = Seatflow.workspace.state.current; "
                                    "return c && c.lease.lease_id !== old; }", arg=old)
        lease = self.current()
        assert lease["lease_id"] == prepared["lease_id"], "the item shown is not the one prepared off-screen"
        swaps = self.page.evaluate("window.__swaps")
        assert swaps and swaps[-1] < 500, f"the swap took {swaps[-1]:.0f} ms"
        return lease

    def submit_last(self, key: str = "Enter") -> None:
        """Submit the last item there is; the no-more-work state follows."""
        self.press(key)
        expect(self.page.locator("#ws-empty")).to_be_visible()

    def saved(self) -> None:
        """Every answer of this tab reached the server."""
        self.page.wait_for_function("() => Seatflow.workspace.outbox.entries().length === 0")
        expect(self.page.locator("#ws-sync")).to_have_attribute("data-sync", "idle")

    def shot(self, name: str) -> None:
        self.page.mouse.move(1, 1)  # no hover effects in the picture
        self.page.screenshot(path=str(screenshot_dir() / f"ws-{name}.png"), full_page=True)

    def switch_language(self, label: str) -> None:
        """Switch the interface language from the top bar (the page reloads; held leases are released)."""
        self.settle()
        self.page.get_by_role("button", name=label).click()
        self.page.wait_for_load_state()

    def settle(self) -> None:
        """Wait until no lease is being handed out: a tab closed at that moment cannot release the
        lease it has not received yet (that one lease runs out after lease_seconds instead)."""
        self.page.wait_for_function("() => !window.Seatflow || !Seatflow.workspace || "
                                    "!Seatflow.workspace.state.fetching")

    def reopen_in(self, locale: str, project: str) -> dict[str, Any]:
        """Leave the workspace, wait until its leases are back, switch language and come back."""
        self.settle()
        self.page.goto(self.center.url + "/")
        wait_until(lambda: self.center.open_leases(self.username) == 0, "the leases were not released on leaving")
        resp = self.page.request.post(self.center.url + "/settings/language",
                                      form={"locale": locale, "next": "/"}, max_redirects=0)
        assert resp.status == 303, resp.status
        return self.open(project)

    def leave(self) -> None:
        """Close the tab: its held leases go back to the queue (sendBeacon)."""
        self.watch.check()
        self.settle()
        self.page.goto(self.center.url + "/")
        wait_until(lambda: self.center.open_leases(self.username) == 0, "the leases were not released on leaving")
        self.context.close()


def wait_until(check: Callable[[], bool], message: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


def kind_of(lease: dict[str, Any]) -> str:
    return str(lease["item"]["payload"]["kind"])


# --- moderation -------------------------------------------------------------------------------------


def decide(seat: Seat, lease: dict[str, Any], lang: str) -> dict[str, Any]:
    """Decide one moderation item by keys (what is done depends on its kind); returns the answer entered."""
    page = seat.page
    kind = kind_of(lease)
    item = page.locator(".ws-item.is-current")
    if kind == "image":
        expect(item.locator(".mod-img")).to_be_visible()
        page.wait_for_function("() => { const i = document.querySelector('.ws-item.is-current .mod-img'); "
                               "return i && i.complete && i.naturalWidth === 640; }")
        expect(item.locator(".mod-score strong")).to_have_text("0.82")
        expect(item.locator(".mod-prescreen .tag")).to_have_text(["qr_code", "fraud"])
        expect(item.locator(".mod-deadline")).to_have_class("mod-deadline mod-deadline-urgent")  # 3 minutes left
        seat.press("Enter")  # nothing chosen yet: the problem is said, nothing is sent
        expect(page.locator("#ws-problem")).to_be_visible()
        seat.press("2")  # reject: the numbers now pick reasons
        expect(item.locator(".mod-reason-section")).to_have_class("mod-reason-section is-active")
        seat.press("4", "5")  # fraud, copyright
        expect(page.locator("#ws-problem")).to_be_hidden()
        seat.shot(f"moderation-image-{lang}")
        return {"decision": "reject", "reasons": ["fraud", "copyright"], "note": None}
    if kind == "video":
        player = item.locator("video.mod-player")
        expect(player).to_be_visible()
        thumbs = item.locator(".mod-thumb")
        expect(thumbs).not_to_have_count(0)
        count = thumbs.count()
        expect(item.locator(".mod-thumb.is-loading")).to_have_count(0)  # every keyframe drawn
        drawn = page.evaluate("""() => [...document.querySelectorAll('.ws-item.is-current .mod-thumb canvas')]
            .map(c => [...c.getContext('2d').getImageData(c.width / 2, 4, 1, 1).data.slice(0, 3)])""")
        assert len(drawn) == count and len({tuple(px) for px in drawn}) > 2, f"keyframes look alike: {drawn}"
        page.wait_for_function("() => { const v = document.querySelector('.ws-item.is-current video'); "
                               "return v && !v.paused && v.currentTime > 0; }")  # it plays when shown
        seat.press("]")
        assert page.evaluate("document.querySelector('.ws-item.is-current video').playbackRate") == 1.5
        seat.press("Shift+Digit4")
        assert page.evaluate("document.querySelector('.ws-item.is-current video').playbackRate") == 4
        expect(item.locator(".mod-speed.is-active")).to_have_text("4×")
        seat.press("[", "[", "[")
        assert page.evaluate("document.querySelector('.ws-item.is-current video').playbackRate") == 1
        seat.press("Space")  # pause
        page.wait_for_function("() => document.querySelector('.ws-item.is-current video').paused")
        target = float(thumbs.nth(count - 2).get_attribute("data-time") or "nan")
        thumbs.nth(count - 2).click()
        page.wait_for_function("(t) => Math.abs(document.querySelector('.ws-item.is-current video').currentTime - t)"
                               " < 0.2", arg=target)
        expect(thumbs.nth(count - 2)).to_have_class("mod-thumb is-now")
        seat.press("Shift+ArrowLeft")  # the keyframe before
        page.wait_for_function("(t) => document.querySelector('.ws-item.is-current video').currentTime < t - 0.2",
                               arg=target)
        seat.press("2", "2")  # reject for violence
        seat.press("n")
        note = "0:04 出现血腥画面" if lang == "zh" else "gore at 0:04"
        page.keyboard.type(note)
        seat.press("Escape")  # out of the note; the keys work again
        seat.shot(f"moderation-video-{lang}")
        return {"decision": "reject", "reasons": ["violence"], "note": note}
    expect(item.locator(".mod-textbox")).to_have_text(lease["item"]["payload"]["text"])
    seat.press("2", "Escape", "3")  # reject, changed my mind, escalate
    expect(item.locator(".mod-escalate")).to_have_attribute("aria-checked", "true")
    seat.shot(f"moderation-text-{lang}")
    return {"decision": "escalate", "reasons": [], "note": None}


def test_moderation_by_keys_in_chinese_then_in_english(browser: Browser, center: Center) -> None:
    """Leaves every moderation item decided by li.na."""
    seat = Seat(browser, center, "li.na", "zh_CN")
    lease = seat.open("shorts")
    page = seat.page
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#ws-instructions")).to_be_visible()  # opens by itself the first time
    expect(page.locator("#ws-instructions")).to_contain_text("违规内容选择拒绝")
    seat.shot("moderation-instructions-zh")
    seat.press("i")
    expect(page.locator("#ws-instructions")).to_be_hidden()
    seat.press("?")
    expect(page.locator("#ws-help")).to_be_visible()
    expect(page.locator("#ws-keys-view")).to_contain_text("通过")
    seat.shot("moderation-keys-zh")
    seat.press("Escape")
    expect(page.locator("#ws-help")).to_be_hidden()

    per_language = 3 if av is not None else 2
    entered: dict[str, dict[str, Any]] = {}
    for lang in ("zh", "en"):
        for n in range(per_language):
            entered[lease["item"]["external_id"]] = decide(seat, lease, lang)
            if n < per_language - 1 or lang == "zh":
                lease = seat.submit_and_next()
            else:
                seat.submit_last()
        if lang == "zh":
            expect(page.locator("#ws-done")).to_have_text(str(per_language))
            seat.saved()
            seat.switch_language("English")
            expect(page.locator("html")).to_have_attribute("lang", "en")
            lease = seat.current()
    seat.saved()
    expect(page.locator("#ws-empty h2")).to_have_text("No more work right now")
    seat.shot("moderation-no-more-work-en")
    assert center.submissions("li.na", "shorts") == entered
    kinds = {k.split("-")[0] for k in entered}
    assert kinds == ({"img", "vid", "txt"} if av is not None else {"img", "txt"})
    assert all(d is not None and d > 0 for d in center.durations("li.na"))
    seat.switch_language("简体中文")
    expect(page.locator("#ws-empty h2")).to_have_text("暂时没有任务了")
    seat.shot("moderation-no-more-work-zh")
    seat.leave()
    if av is None:
        pytest.skip("PyAV (av) is not installed, so no video was made: the video case did not run")


# --- text annotation --------------------------------------------------------------------------------


def char_box(seat: Seat, index: int) -> dict[str, float]:
    box = seat.page.locator(f".ws-item.is-current .ta-text span[data-i='{index}']").bounding_box()
    assert box is not None
    return {"x": box["x"], "y": box["y"], "width": box["width"], "height": box["height"]}


def drag_select(seat: Seat, text: str, part: str) -> None:
    """Select ``part`` of ``text`` with the mouse: press on its first character, release on its last."""
    start = text.index(part)
    end = start + len(part) - 1
    a, b = char_box(seat, start), char_box(seat, end)
    seat.page.mouse.move(a["x"] + 2, a["y"] + a["height"] / 2)
    seat.page.mouse.down()
    seat.page.mouse.move((a["x"] + b["x"]) / 2, b["y"] + b["height"] / 2, steps=4)
    seat.page.mouse.move(b["x"] + b["width"] - 2, b["y"] + b["height"] / 2, steps=4)
    seat.page.mouse.up()


def span(text: str, part: str, label: str) -> dict[str, Any]:
    start = text.index(part)
    return {"start": start, "end": start + len(part), "label": label}


def test_text_spans_by_mouse_and_keyboard(browser: Browser, center: Center) -> None:
    """Leaves two answers of li.na in 'reviews' waiting for review (review-1 and review-2); review-3 and
    review-4 go back to the queue."""
    seat = Seat(browser, center, "li.na", "zh_CN")
    lease = seat.open("reviews")
    page = seat.page
    seat.press("i")  # close the instructions
    entered: dict[str, dict[str, Any]] = {}
    for _ in range(2):
        text = lease["item"]["payload"]["text"]
        expect(page.locator(".ws-item.is-current .ta-text")).to_have_text(text)
        if text == TEXTS[0]:
            drag_select(seat, text, "华为手机")  # the mouse
            got = page.evaluate("Seatflow.workspace.state.current.view.selection()")
            assert got == {k: v for k, v in span(text, "华为手机", "PRODUCT").items() if k != "label"}
            seat.press("4")  # PRODUCT
            box = char_box(seat, text.index("京东"))
            page.mouse.click(box["x"] + 1, box["y"] + box["height"] / 2)  # the caret before 京
            seat.press("Shift+ArrowRight", "Shift+ArrowRight", "2")  # ORG by the keyboard
            drag_select(seat, text, "张伟")
            seat.press("1")  # PER
            seat.press("3")  # no selection now: the class (negative) ...
            seat.press("1")  # ... changed to positive
            expected = {"classes": ["positive"], "spans": [span(text, "张伟", "PER"), span(text, "京东", "ORG"),
                                                           span(text, "华为手机", "PRODUCT")]}
            expect(page.locator(".ws-item.is-current .ta-span")).to_have_count(3)
            seat.shot("text-spans-zh")
        else:
            drag_select(seat, text, "杭州")
            seat.press("3")  # LOC
            drag_select(seat, text, "小米耳机")
            seat.press("1")  # PER (a mistake) ...
            page.locator(".ws-item.is-current .ta-span", has_text="小米耳机").locator(".ta-remove").click()
            expect(page.locator(".ws-item.is-current .ta-span")).to_have_count(1)
            drag_select(seat, text, "小米耳机")
            seat.press("4")  # ... PRODUCT after all
            drag_select(seat, text, "李娜")
            seat.press("1", "Delete")  # labelled and removed at the caret (right after it)
            seat.press("Enter")  # no class yet: refused with a message
            expect(page.locator("#ws-problem")).to_contain_text("请先选择类别")
            seat.press("2")  # neutral
            expected = {"classes": ["neutral"], "spans": [span(text, "杭州", "LOC"), span(text, "小米耳机", "PRODUCT")]}
        entered[lease["item"]["external_id"]] = expected
        lease = seat.submit_and_next()
    seat.saved()
    assert center.submissions("li.na", "reviews") == entered
    assert set(entered) == {"review-1", "review-2"}
    seat.leave()


# --- service tickets --------------------------------------------------------------------------------


def test_the_canned_replies_fill_placeholders_like_the_server(browser: Browser, center: Center) -> None:
    seat = Seat(browser, center, "li.na", "zh_CN")
    seat.open("tickets")
    cases: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("Hi {customer_name}, {order_id} is {status}; {nope} {order_vip} {customer_vip}",
         {"order_id": "SO-1", "status": "运输中"}, {"name": "王芳", "vip": True}),
        ("{order_id}{order_order_id} {customer_name} {items} {count} {empty} {none} {customer_age} {{x}} {9x} {a-b}",
         {"order_id": "A", "items": ["x"], "count": 3, "empty": "", "none": None}, {"name": "B", "age": 0}),
        ("{status} {order_status} {customer_status}", {"status": False}, {"name": "C", "status": "vip"}),
    ]
    for template, order, customer in cases:
        got = seat.page.evaluate("([t, o, c]) => Seatflow.views.service_ticket.renderCanned(t, o, c)",
                                 [template, order, customer])
        assert got == render_canned(template, order, customer), template
    seat.leave()


def test_tickets_with_canned_replies(browser: Browser, center: Center) -> None:
    """Leaves every ticket answered by li.na (two in Chinese, two in English)."""
    seat = Seat(browser, center, "li.na", "zh_CN")
    lease = seat.open("tickets")
    page = seat.page
    seat.press("i")
    entered: dict[str, dict[str, Any]] = {}
    for lang in ("zh", "en"):
        for n in range(2):
            payload = lease["item"]["payload"]
            order, customer = payload["order"], payload["customer"]
            reply = page.locator(".ws-item.is-current .tk-reply")
            filled = render_canned(TICKET_SCHEMA["canned_replies"][0]["text"], order, customer)
            seat.press("c", "1")
            expect(reply).to_have_value(filled)
            if "tracking_no" in order:
                expect(reply).not_to_be_focused()  # nothing left to fill in
                seat.press("e")  # write a line more
                page.keyboard.type(" 祝您生活愉快！" if lang == "zh" else " Have a nice day!")
                seat.press("Escape")
                text = filled + (" 祝您生活愉快！" if lang == "zh" else " Have a nice day!")
                seat.press("1")
                disposition = "resolved"
            else:
                expect(reply).to_be_focused()  # the open placeholder is selected: type over it
                page.keyboard.type("暂无" if lang == "zh" else "not yet issued")
                text = filled.replace("{tracking_no}", "暂无" if lang == "zh" else "not yet issued")
                seat.press("Escape", "3")
                disposition = "follow_up"
            expect(reply).to_have_value(text)
            expect(page.locator(".ws-item.is-current .tk-dispo[aria-checked=true]")).to_have_count(1)
            seat.shot(f"ticket-{lang}-{n + 1}")
            entered[lease["item"]["external_id"]] = {"reply": text, "disposition": disposition}
            if lang == "zh" or n == 0:
                lease = seat.submit_and_next("Control+Enter") if n == 1 else seat.submit_and_next()
            else:
                seat.submit_last()
        if lang == "zh":
            seat.saved()
            seat.switch_language("English")
            lease = seat.current()
    seat.saved()
    assert center.submissions("li.na", "tickets") == entered
    assert len(entered) == 4
    seat.leave()


# --- review, rework, review --------------------------------------------------------------------------


def test_a_reviewer_rejects_the_worker_reworks_the_reviewer_accepts(browser: Browser, center: Center) -> None:
    """Uses the two text answers left by test_text_spans_by_mouse_and_keyboard."""
    reviewer = Seat(browser, center, "zhou.qa", "en")
    lease = reviewer.open("reviews")
    page = reviewer.page
    expect(page.locator("#ws-instructions")).to_be_visible()
    reviewer.shot("review-instructions-en")
    reviewer.press("i", "?")
    expect(page.locator("#ws-keys-view")).to_contain_text("Choose a class")
    reviewer.shot("review-keys-en")
    reviewer.press("Escape")
    assert lease["kind"] == "review" and lease["review_of"]["answer"] == center.submissions("li.na", "reviews")[
        lease["item"]["external_id"]]
    expect(page.locator("#ws-mode")).to_have_text("Review")
    expect(page.locator("#ws-actions-review")).to_be_visible()
    expect(page.locator("#ws-actions-annotate")).to_be_hidden()
    under_review = lease["review_of"]["answer"]
    expect(page.locator(".ws-item.is-current .ta-span")).to_have_count(len(under_review["spans"]))
    expect(page.locator(".ws-item.is-current .ta-option[aria-pressed=true]")).to_have_text(
        f"{TEXT_SCHEMA['classes'].index(under_review['classes'][0]) + 1}{under_review['classes'][0]}")
    reviewer.press("3")  # read only: the keys change nothing
    expect(page.locator(".ws-item.is-current .ta-option[aria-pressed=true]")).to_have_count(1)
    reviewer.shot("review-en")

    rejected = lease["item"]["external_id"]
    reviewer.press("r")
    dialog = page.locator("#ws-reject-dialog")
    expect(dialog).to_be_visible()
    reviewer.press("Enter")  # nothing picked: says what is needed
    expect(page.locator("#ws-reject-problem")).to_be_visible()
    reviewer.press("1", "4")  # wrong label, boundary
    reviewer.press("c")
    page.keyboard.type("Mark the carrier (物流) too, and check the class.")
    reviewer.shot("review-reject-dialog-en")
    reviewer.press("Control+Enter")
    expect(dialog).to_be_hidden()
    lease = reviewer.current()
    accepted_first = lease["item"]["external_id"]
    reviewer.press("f")  # fix in place: the view takes keys again
    expect(page.locator("#ws-fixing")).to_be_visible()
    reviewer.press("3")  # negative instead
    fixed = dict(lease["review_of"]["answer"], classes=["negative"])
    reviewer.shot("review-fixing-en")
    reviewer.press("a")
    expect(page.locator("#ws-empty")).to_be_visible()
    reviewer.saved()
    reviews = center.reviews()
    assert [(r.external_id, r.verdict, r.error_tags, r.comment, r.fixed_answer) for r in reviews] == [
        (rejected, "reject", ["wrong_label", "inaccurate"], "Mark the carrier (物流) too, and check the class.", None),
        (accepted_first, "accept", None, None, fixed),
    ]
    reviewer.leave()

    worker = Seat(browser, center, "li.na", "zh_CN")
    lease = worker.open("reviews")
    page = worker.page
    assert lease["item"]["external_id"] == rejected and "rework_of" in lease  # own rework comes first
    expect(page.locator("#ws-mode")).to_have_text("返工")
    rework = page.locator("#ws-rework")
    expect(rework).to_contain_text("标签或类别错误")
    expect(rework).to_contain_text("边界或位置不准确")
    expect(rework).to_contain_text("Mark the carrier (物流) too")
    previous = lease["rework_of"]["answer"]
    expect(page.locator(".ws-item.is-current .ta-span")).to_have_count(len(previous["spans"]))
    worker.shot("rework-zh")
    lease = worker.reopen_in("en", "reviews")  # the rework is assigned to its author: it comes back
    assert lease["item"]["external_id"] == rejected and "rework_of" in lease
    expect(page.locator("#ws-rework")).to_contain_text("Wrong label or class")
    worker.press("i")
    worker.shot("rework-en")
    text = lease["item"]["payload"]["text"]
    page.locator(".ws-item.is-current .ta-span").first.locator(".ta-remove").click()
    drag_select(worker, text, "物流")
    worker.press("2", "2")  # the carrier as ORG; then (no selection left) the class: neutral
    corrected = {"classes": ["neutral"],
                 "spans": sorted(previous["spans"][1:] + [span(text, "物流", "ORG")],
                                 key=lambda s: (s["start"], s["end"], s["label"]))}
    worker.press("Enter")
    worker.saved()
    assert center.submissions("li.na", "reviews")[rejected] == corrected
    worker.leave()

    reviewer = Seat(browser, center, "zhou.qa", "zh_CN")
    lease = reviewer.open("reviews")
    assert lease["item"]["external_id"] == rejected and lease["review_of"]["answer"] == corrected
    expect(reviewer.page.locator("#ws-mode")).to_have_text("审核")
    reviewer.press("i")
    reviewer.shot("review-zh")
    reviewer.press("a")
    expect(reviewer.page.locator("#ws-empty")).to_be_visible()
    reviewer.saved()
    assert center.reviews()[-1].verdict == "accept" and center.reviews()[-1].fixed_answer is None
    assert center.item_state(rejected) == "done" and center.item_state(accepted_first) == "done"
    reviewer.leave()


# --- when things go wrong ---------------------------------------------------------------------------


def test_a_refused_answer_is_shown_and_can_be_opened_again(browser: Browser, center: Center) -> None:
    """The project stops allowing escalation while the page still offers it: the server refuses the
    answer (422), the worker sees it, opens the item again and decides otherwise."""
    seat = Seat(browser, center, "li.na", "zh_CN")
    seat.watch.allowed.add(422)
    lease = seat.open("comments")
    page = seat.page
    policy = center.label_schema("comments")
    center.set_label_schema("comments", dict(policy, escalation=False))
    try:
        refused = lease["item"]["external_id"]
        seat.press("3")  # escalate
        other = seat.submit_and_next()
        notice = page.locator(".ws-notice-error")
        expect(notice).to_contain_text(f"条目 {refused} 未保存")
        expect(notice).to_contain_text("本项目不允许升级")  # the server says it in the page's language
        expect(page.locator("#ws-sync")).to_have_attribute("data-sync", "failed")
        expect(page.locator("#ws-sync")).to_have_text("1 条未保存")
        expect(page.locator("#ws-done")).to_have_text("0")
        seat.shot("refused-answer-zh")
        notice.get_by_role("button", name="重新打开").click()
        lease = seat.current()
        assert lease["item"]["external_id"] == refused
        expect(page.locator(".ws-item.is-current .mod-escalate")).to_have_attribute("aria-checked", "true")
        seat.press("1")  # approve instead
        seat.press("Enter")
        lease = seat.current()
        assert lease["item"]["external_id"] == other["item"]["external_id"]  # the one put aside comes back
        seat.saved()
        assert center.submissions("li.na", "comments")[refused] == {"decision": "approve", "reasons": [],
                                                                     "note": None}
        expect(notice).to_be_hidden()
    finally:
        center.set_label_schema("comments", policy)
    seat.leave()


def test_answers_wait_in_the_browser_while_the_server_is_unreachable(browser: Browser, center: Center) -> None:
    """Submits fail at the network; the answer waits in localStorage over a reload and is sent later."""
    seat = Seat(browser, center, "li.na", "zh_CN")
    seat.watch.allowed.add(0)
    lease = seat.open("comments")
    page = seat.page
    page.route("**/api/v1/leases/*/submit", lambda route: route.abort("connectionfailed"))
    waiting = lease["item"]["external_id"]
    seat.press("2", "4")  # reject: fraud
    seat.submit_and_next()
    expect(page.locator("#ws-sync")).to_have_attribute("data-sync", "retry")
    expect(page.locator("#ws-sync")).to_contain_text("1 条待发送")
    stored = page.evaluate(f"JSON.parse(localStorage.getItem('seatflow.outbox.{center.users['li.na']}'))")
    assert [e["body"]["answer"] for e in stored] == [{"decision": "reject", "reasons": ["fraud"], "note": None}]
    seat.shot("submit-retrying-zh")
    page.on("dialog", lambda d: d.accept())  # "leave the page?": an answer is still on its way
    seat.settle()
    page.reload()
    seat.current()
    expect(page.locator("#ws-sync")).to_have_attribute("data-sync", "retry")
    assert waiting not in center.submissions("li.na", "comments")
    page.unroute("**/api/v1/leases/*/submit")
    seat.saved()  # sent by the page that came after the reload
    assert center.submissions("li.na", "comments")[waiting] == {"decision": "reject", "reasons": ["fraud"],
                                                                 "note": None}
    seat.leave()


def test_a_lease_whose_answer_is_lost_is_asked_for_again_with_its_key(browser: Browser, center: Center) -> None:
    """The first POST /leases reaches the server, but its answer is lost on the way back (the network
    fails). The workspace asks again with the same request_key and is given that same lease: no
    second lease keeps an item away from everyone until it runs out."""
    seat = Seat(browser, center, "li.na", "en")
    seat.watch.allowed.add(0)
    page = seat.page
    keys: list[str] = []
    lost: list[dict[str, Any]] = []

    def lose_the_first_answer(route: Any) -> None:
        keys.append(route.request.post_data_json["request_key"])
        if lost:
            route.continue_()
            return
        answer = route.fetch()  # the server leases...
        assert answer.status == 201, answer.text()
        lost.append(answer.json())
        route.abort("connectionfailed")  # ...and the page never hears of it

    page.route("**/api/v1/leases", lose_the_first_answer)
    before = center.leases_taken("li.na")
    lease = seat.open("comments")
    prepared = seat.next_prepared()
    seat.settle()
    page.unroute("**/api/v1/leases")
    assert lease["lease_id"] == lost[0]["lease_id"], "the retry was given another lease than the lost one"
    assert keys[0] == keys[1] and len(set(keys)) == len(keys) - 1, keys
    assert center.leases_taken("li.na") - before == 2, "a lease was made twice: the current and the prepared only"
    assert prepared["lease_id"] != lease["lease_id"]
    seat.leave()


def test_heartbeats_keep_the_leases_and_an_expired_one_is_reported(browser: Browser, center: Center) -> None:
    """With 10 s leases: an item kept 13 s is still saved (heartbeats); with heartbeats blocked the
    lease runs out and the worker is told that the item went back to the queue."""
    seat = Seat(browser, center, "li.na", "zh_CN")
    seat.watch.allowed |= {0, 410}
    lease = seat.open("comments")
    page = seat.page
    kept = lease["item"]["external_id"]
    page.wait_for_timeout((COMMENT_LEASE_SECONDS + 3) * 1000)
    seat.press("1")
    lease = seat.submit_and_next()
    seat.saved()
    assert kept in center.submissions("li.na", "comments")

    page.route("**/api/v1/leases/heartbeat", lambda route: route.abort("connectionfailed"))
    expired = lease["item"]["external_id"]
    page.wait_for_timeout((COMMENT_LEASE_SECONDS + 2) * 1000)
    seat.press("1")
    seat.press("Enter")
    notice = page.locator(".ws-notice-warn", has_text=expired)
    expect(notice).to_contain_text("已退回队列")
    expect(page.locator("#ws-sync")).to_have_attribute("data-sync", "idle")  # nothing left to send
    expect(page.locator("#ws-done")).to_have_text("1")
    seat.shot("lease-expired-zh")
    assert expired not in center.submissions("li.na", "comments")
    page.unroute("**/api/v1/leases/heartbeat")
    # the item prepared behind it had run out as well: a fresh lease took its place, so this one saves
    lease = seat.current()
    seat.press("1")
    seat.submit_and_next()
    seat.saved()
    assert lease["item"]["external_id"] in center.submissions("li.na", "comments")
    seat.leave()


@pytest.mark.parametrize(("width", "height"), [(1024, 640), (390, 844)])
def test_the_workspace_fits_small_screens(browser: Browser, center: Center, width: int, height: int) -> None:
    """A small laptop keeps everything on one screen; a phone scrolls down, never sideways."""
    seat = Seat(browser, center, "li.na", "zh_CN", viewport=(width, height))
    seat.open("comments")
    page = seat.page
    if page.locator("#ws-instructions").is_visible():
        seat.press("i")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
    submit = page.locator("#ws-submit")
    if width >= 1024:
        box = submit.bounding_box()
        assert box is not None and box["y"] + box["height"] <= height, f"the submit button is below the screen: {box}"
        assert page.evaluate("document.documentElement.scrollHeight") <= height, "the page scrolls"
    seat.press("1")
    expect(page.locator(".ws-item.is-current .mod-approve")).to_have_attribute("aria-checked", "true")
    seat.shot(f"small-{width}x{height}-zh")
    seat.submit_and_next()
    seat.saved()
    seat.leave()
