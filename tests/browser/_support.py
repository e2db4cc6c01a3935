"""What the browser tests share: where Chromium is, where screenshots go, a seatflow database with fast
password hashing, the app served by uvicorn in a thread, logging in, and watching a page for errors.

Playwright is imported only for type checking here (and lazily where needed), so that this module (and
``conftest.py``, which imports it) loads without playwright: ``conftest.py`` then skips the browser tests
(or fails them under CI=true).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher

from seatflow.services import accounts
from seatflow.store.engine import Database, make_engine
from seatflow.store.migrate import upgrade

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def unavailable() -> str | None:
    """Why the browser tests cannot run here (None: they can). Playwright's own browser download is never used."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: apt-get install chromium fonts-noto-cjk"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        return "the playwright package is missing: .venv/bin/pip install -e '.[test]'"
    return None


def screenshot_dir() -> Path:
    """``$SEATFLOW_TEST_SCREENSHOTS``, else ``$SEATFLOW_SCREENSHOTS``, else ``screenshots/`` in the checkout
    (which git ignores); made if missing."""
    path = Path(os.environ.get("SEATFLOW_TEST_SCREENSHOTS") or os.environ.get("SEATFLOW_SCREENSHOTS")
                or ROOT / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def shot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot of ``page`` as ``<name>.png`` in screenshot_dir()."""
    path = screenshot_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# --- the center and the server ------------------------------------------------------------------


@contextmanager
def center_database(home: Path) -> Iterator[tuple[str, Database]]:
    """A SQLite database in ``home`` migrated to head, as (url, Database); password hashing is made cheap
    while it is open (seeding and logging in hash passwords)."""
    url = f"sqlite:///{home / 'seatflow.db'}"
    db = Database(make_engine(url))
    upgrade(db.engine)
    mp = pytest.MonkeyPatch()
    mp.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    try:
        yield url, db
    finally:
        mp.undo()
        db.dispose()


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields its base URL. Fails if the
    server does not start within 30 s or does not stop within 15 s."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive(), "the server thread died while starting"
            assert time.monotonic() < deadline, "the server did not start in 30 s"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
    assert not thread.is_alive(), "the server did not stop"


# --- pages --------------------------------------------------------------------------------------


def new_page(browser: Browser, *, viewport: tuple[int, int] = (1280, 900), locale: str | None = None,
             timeout_ms: float | None = None, **context: Any) -> tuple[BrowserContext, Page]:
    """A fresh browser context (no cookies) and a page in it."""
    if locale is not None:
        context["locale"] = locale
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, **context)
    page = ctx.new_page()
    if timeout_ms is not None:
        page.set_default_timeout(timeout_ms)
    return ctx, page


def log_in(page: Page, base: str, username: str, password: str) -> None:
    """Log in through the login form and wait for the home page."""
    page.goto(f"{base}/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("form.form button[type=submit]").click()
    page.wait_for_url(f"{base}/")


def login(browser: Browser, base: str, username: str, password: str, *, viewport: tuple[int, int] = (1280, 900),
          locale: str | None = None, timeout_ms: float | None = None,
          watch: Callable[[Page], None] | None = None) -> tuple[BrowserContext, Page]:
    """A fresh context and page, logged in as ``username`` through the login form (on the home page after).
    ``watch`` is attached to the page before the login page loads."""
    ctx, page = new_page(browser, viewport=viewport, locale=locale, timeout_ms=timeout_ms)
    if watch is not None:
        watch(page)
    log_in(page, base, username, password)
    return ctx, page


class Errors(list[str]):
    """Console errors of a page and requests that left ``base`` (as "outside request <url>"), in one list."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def attach(self, page: Page) -> None:
        page.on("console", lambda m: self.append(m.text) if m.type == "error" else None)
        page.on("request", lambda r: self.append(f"outside request {r.url}")
                if not r.url.startswith(self.base) else None)


@dataclass
class Watch:
    """What a page did that a person would not see: console errors, failed or outside requests."""

    base: str
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)

    def attach(self, page: Page) -> None:
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", self._request)
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _request(self, request: Any) -> None:
        if urlsplit(request.url).netloc != urlsplit(self.base).netloc:
            self.outside.append(request.url)

    def _failed(self, request: Any) -> None:
        # The browser drops a favicon request still in flight when the page goes to the next one (a form
        # posted, a link followed): that is the browser's own doing, not a page that failed to load.
        if request.failure == "net::ERR_ABORTED" and urlsplit(request.url).path == "/static/favicon.svg":
            return
        self.failed.append(f"{request.url}: {request.failure}")

    def _response(self, response: Any) -> None:
        if response.status >= 400 and response.status not in self.expected_statuses:
            self.failed.append(f"{response.url}: {response.status}")

    def check(self) -> None:
        assert not self.outside, f"requests left the server (intranets have no internet): {self.outside}"
        assert not self.failed, f"failed requests: {self.failed}"
        errors = [e for e in self.errors if not any(f"status of {s}" in e for s in self.expected_statuses)]
        assert not errors, f"browser console errors: {errors}"


# --- comparing image answers --------------------------------------------------------------------


def close(actual: Any, expected: Any, where: str = "answer") -> None:
    """Equal, except that numbers may differ by 1 px (booleans and strings exactly)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and sorted(actual) == sorted(expected), f"{where}: {actual!r} != {expected!r}"
        for k in expected:
            close(actual[k], expected[k], f"{where}.{k}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {actual!r} != {expected!r}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            close(a, e, f"{where}[{i}]")
    elif isinstance(expected, bool) or expected is None or isinstance(expected, str):
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"
    else:
        assert isinstance(actual, int | float) and not isinstance(actual, bool), f"{where}: {actual!r} is no number"
        assert abs(actual - expected) <= 1.0, f"{where}: {actual} is not within 1 px of {expected}"


def visibilities(answer: dict[str, Any]) -> list[list[int]]:
    """The visibility flag of each keypoint, per keypoint set of an image answer."""
    return [[p[2] for p in kps["points"]] for kps in answer["keypoints"]]
