"""The quality report page in a real browser (Debian's Chromium via Playwright, a real uvicorn server).

A manager (English) reads a batch's report with the per-worker table and both charts; the client's
user (Chinese) reads the same batch without any worker. Full-page screenshots go to
``$SEATFLOW_SCREENSHOTS`` (default ``screenshots/``, git-ignored). Skipped without /usr/bin/chromium,
except under CI=true.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select
from tests.browser._support import Errors, center_database, login, serve, shot

from seatflow.app import create_app
from seatflow.config import Settings
from seatflow.domain.actors import Actor
from seatflow.services import acceptance, accounts, answers, dispatch, imports, projects
from seatflow.services._tx import transact
from seatflow.services.imports import Record
from seatflow.store import catalog, tables
from seatflow.store.engine import Database

pytestmark = pytest.mark.browser

PASSWORD = "seatflow-demo-1"
WORKERS = ("li.na", "zhou.jie", "sun.yu")


def _actor(db: Database, username: str) -> Actor:
    with db.read() as conn:
        return accounts.actor_of(catalog.user_by_username(conn, username))


def seed(db: Database) -> int:
    """30 reviews, two answers each; sun.yu disagrees on 4 items; gold for each worker; one
    inspection rejected with two findings. Returns the batch id."""
    with db.write() as conn:
        accounts.create_client(conn, None, slug="jinghong", name="京鸿智能")
        projects.create_project(conn, None, {
            "slug": "review-sentiment", "name": "商品评论情感", "client": "jinghong", "work_type": "text_annotation",
            "workflow": "annotate(overlap=2)", "label_schema": {"classes": ["positive", "negative", "neutral"]}})
        for username, role, client, locale in [("zhao.min", "manager", None, "en"),
                                               ("jh.ops", "client", "jinghong", "zh_CN")] + \
                [(w, "worker", None, "zh_CN") for w in WORKERS]:
            accounts.create_user(conn, None, username=username, password=PASSWORD, role=role, client_slug=client,
                                 locale=locale)
        for w in WORKERS:
            accounts.grant(conn, None, username=w, project_slug="review-sentiment", skill="annotate")
    rows = [{"external_id": f"r-{n}", "payload": {"text": f"评论 {n}：物流很快，质量不错。"}} for n in range(30)]
    rep = imports.import_records(db, None, "review-sentiment", [Record("seed", i, r) for i, r in enumerate(rows, 1)],
                                 source="reviews-2026-11.jsonl")
    assert rep.error is None and rep.batch_id is not None
    odd = {"r-3", "r-8", "r-15", "r-22"}
    actors = {w: _actor(db, w) for w in WORKERS}
    busy, k = set(WORKERS), 0
    while busy:  # round robin, so that each worker answers about two thirds of the items
        for w in sorted(busy):
            try:
                leased = transact(db, lambda c, a=actors[w]: dispatch.next_task(c, a))
            except Exception:  # no work left for this worker
                busy.discard(w)
                continue
            with db.read() as conn:
                ext = conn.execute(select(tables.items.c.external_id).where(
                    tables.items.c.id == leased.item_id)).scalar_one()
            label = "negative" if w == "sun.yu" and ext in odd else "positive"
            transact(db, lambda c, a=actors[w], le=leased, k=k, lab=label: answers.submit(
                c, a, lease_id=le.lease_id, answer={"classes": [lab]}, idempotency_key=f"k-{k}"))
            k += 1
    with db.write() as conn:
        pid = catalog.project_by_slug(conn, "review-sentiment").id
        cid = catalog.client_by_slug(conn, "jinghong").id
        subs = {r.user_id: r.id for r in conn.execute(select(tables.submissions))}
        for n, (w, right) in enumerate([("li.na", 19), ("zhou.jie", 17), ("sun.yu", 11)]):
            uid = catalog.user_by_username(conn, w).id
            for g in range(20):
                gid = conn.execute(tables.items.insert().returning(tables.items.c.id), {
                    "client_id": cid, "project_id": pid, "external_id": f"g-{n}-{g}", "payload": {"text": "g"},
                    "deadline": _now(), "created_at": _now(), "gold": True}).scalar_one()
                conn.execute(tables.gold_results.insert(), {
                    "client_id": cid, "project_id": pid, "item_id": gid, "user_id": uid, "submission_id": subs[uid],
                    "score": 1.0 if g < right else 0.0, "passed": g < right, "at": _now()})
    client = _actor(db, "jh.ops")
    insp = transact(db, lambda c: acceptance.start(c, client, rep.batch_id, aql=2.5))
    for n, s in enumerate(insp["sample"]):
        verdict = {"verdict": "defective", "error_tags": ["wrong_sentiment"], "comment": "明显是负面评价"} \
            if n in (1, 4) else {"verdict": "ok"}
        transact(db, lambda c, s=s, v=verdict: acceptance.judge(c, client, insp["id"], s["item_id"], **v))
    return rep.batch_id


def _now():  # type: ignore[no-untyped-def]
    from seatflow.domain.clock import utcnow

    return utcnow()


@pytest.fixture(scope="module")
def center(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    home = tmp_path_factory.mktemp("quality-center")
    with center_database(home) as (url, db):
        batch = seed(db)
        app = create_app(Settings(home=home, database_url=url, secret_key="browser-test"), db=db)
        with serve(app) as base:
            yield base, batch


def _open(browser: Browser, base: str, username: str, path: str) -> tuple[BrowserContext, Page, Errors]:
    errors = Errors(base)
    context, page = login(browser, base, username, PASSWORD, watch=errors.attach)
    page.goto(f"{base}{path}")
    return context, page, errors


def test_manager_reads_the_batch_report_with_workers(browser: Browser, center: tuple[str, int]) -> None:
    base, batch = center
    context, page, errors = _open(browser, base, "zhao.min", f"/quality/report?project=review-sentiment&batch={batch}")
    expect(page.locator("h1")).to_have_text("Quality report")
    expect(page.locator("#acceptance-state")).to_have_text("Rejected")
    assert page.locator("#inspections tbody tr").count() == 1
    assert page.locator("#workers tbody tr").count() == 3
    expect(page.locator("#workers tr[data-worker='sun.yu']")).to_contain_text("55%")
    assert page.locator("#chart-workers svg rect[data-y]").count() >= 3
    assert page.locator("#chart-findings svg").count() == 1
    shot(page, "quality-report-en")
    with page.expect_download() as download:
        page.click("#downloads a[download]")
    assert download.value.suggested_filename == f"quality-review-sentiment-batch-{batch}.csv"
    assert errors == []
    context.close()


def test_client_reads_it_in_chinese_without_workers(browser: Browser, center: tuple[str, int]) -> None:
    base, batch = center
    context, page, errors = _open(browser, base, "jh.ops", f"/quality/report?project=review-sentiment&batch={batch}")
    expect(page.locator("h1")).to_have_text("质量报告")
    expect(page.locator("#acceptance-state")).to_have_text("已拒收")
    expect(page.locator("#answers-per-item .tile-label")).to_have_text("每个条目的回答数")
    expect(page.locator("#answers-per-item .tile-num")).to_have_text(re.compile(r"^\d+\.\d\d$"))
    assert page.locator("#workers").count() == 0 and page.locator("#chart-workers").count() == 0
    assert "sun.yu" not in page.content()
    shot(page, "quality-report-zh_CN")
    assert errors == []
    context.close()


def test_client_opens_the_inspection_from_the_report(browser: Browser, center: tuple[str, int]) -> None:
    base, batch = center
    context, page, errors = _open(browser, base, "jh.ops", f"/quality/report?project=review-sentiment&batch={batch}")
    page.click("#inspections a")
    expect(page.locator("#inspection-state")).to_have_text("已拒收")
    assert page.locator("#sample tbody tr").count() == 5
    assert page.locator("#sample tr[data-verdict='defective']").count() == 2
    assert page.locator("#sample form").count() == 0  # decided: nothing left to judge
    shot(page, "quality-inspection-zh_CN")
    assert errors == []
    context.close()
