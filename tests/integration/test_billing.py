"""Billing statements: reconcile exactly with the delivered items (rework and gold present), month
boundaries, bad input, who may see which statement, CSV and PDF."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from seatflow.billing import service
from seatflow.billing.documents import statement_pdf
from seatflow.commands._common import CLI_ACTOR
from seatflow.errors import NotFound, ValidationFailed
from seatflow.services import imports, quality
from seatflow.services._tx import transact
from seatflow.services.imports import Record
from seatflow.store import tables

from . import _pdf as pdf
from .conftest import GOOD_ANSWERS, Center

FACE = {"boxes": [{"label": "face", "x": 10, "y": 20, "w": 100, "h": 120}]}
PRICES = {"acme-faces": "0.35", "acme-text": "1.2", "acme-mod": "0.0875", "globex-tickets": "3"}


@pytest.fixture(autouse=True)
def _fresh_quality_cache() -> None:
    quality.project_cache.clear()


def _prices(center: Center) -> None:
    with center.db.write() as conn:
        for slug, price in PRICES.items():
            conn.execute(update(tables.projects).where(tables.projects.c.slug == slug)
                         .values(unit_price=Decimal(price)))
            conn.execute(update(tables.project_prices)  # the terms since creation (price history, 0010)
                         .where(tables.project_prices.c.project_id == center.seed.projects[slug])
                         .values(unit_price=Decimal(price)))


def _review(center: Center, username: str, lease_id: int, verdict: str) -> None:
    resp = center.post(username, f"/api/v1/leases/{lease_id}/review",
                       json={"verdict": verdict, "idempotency_key": f"rev-{lease_id}",
                             **({"comment": "loose box"} if verdict == "reject" else {})})
    assert resp.status_code == 200, resp.text


def _add_gold(center: Center) -> int:
    rows = [{"external_id": "face-gold", "payload": {"image": "faces/9.jpg", "width": 640, "height": 480,
                                                     "gold": FACE}}]
    report = imports.import_records(center.db, None, "acme-faces", [Record("gold.jsonl", 1, rows[0])],
                                    source="gold.jsonl")
    assert report.error is None and report.imported == 1
    with center.db.read() as conn:
        q = select(tables.items.c.id).where(tables.items.c.external_id == "face-gold")
        return int(conn.execute(q).scalar_one())


def _work(center: Center) -> dict[str, Any]:
    """acme-faces: face-1 rejected, reworked, accepted; face-2 accepted at once; a gold item answered by
    ann1 and ann2. acme-text (overlap 2): text-1 done by two answers. globex: ticket-1 done."""
    gold_id = _add_gold(center)
    transact(center.db, lambda c: quality.set_settings(c, CLI_ACTOR, "acme-faces", {"gold_rate": 1.0}))
    for worker in ("ann1", "ann2"):  # the gold item comes first at rate 1
        lease = center.lease(worker, "acme-faces")
        assert lease["item"]["id"] == gold_id
        assert center.submit(worker, lease["lease_id"], FACE).status_code == 200
    transact(center.db, lambda c: quality.set_settings(c, CLI_ACTOR, "acme-faces",
                                                       {"gold_rate": 0.0, "warmup_rate": 0.0}))
    first = center.lease("ann1", "acme-faces")
    assert center.submit("ann1", first["lease_id"], FACE).status_code == 200
    review = center.lease("rev1")
    _review(center, "rev1", review["lease_id"], "reject")
    rework = center.lease("ann1", "acme-faces")
    assert rework["item"]["id"] == first["item"]["id"]
    assert center.submit("ann1", rework["lease_id"], FACE, key="rework").status_code == 200
    again = center.lease("rev1")
    _review(center, "rev1", again["lease_id"], "accept")
    second = center.lease("ann2", "acme-faces")
    assert center.submit("ann2", second["lease_id"], FACE).status_code == 200
    _review(center, "rev1", center.lease("rev1")["lease_id"], "accept")
    for worker in ("ann1", "ann2"):
        lease = center.lease(worker, "acme-text")
        assert center.submit(worker, lease["lease_id"], GOOD_ANSWERS["acme-text"]).status_code == 200
    lease = center.lease("ann3", "globex-tickets")
    assert center.submit("ann3", lease["lease_id"], GOOD_ANSWERS["globex-tickets"]).status_code == 200
    return {"gold": gold_id, "reworked": first["item"]["id"], "plain": second["item"]["id"]}


def _done_at(center: Center, item_id: int, at: datetime) -> None:
    with center.db.write() as conn:
        conn.execute(update(tables.items).where(tables.items.c.id == item_id).values(done_at=at))


def _month_of_now(center: Center) -> str:
    with center.db.read() as conn:
        at = conn.execute(select(tables.items.c.done_at).where(tables.items.c.state == "done").limit(1)).scalar_one()
    return f"{at.year:04d}-{at.month:02d}"


def test_billing_reconciles_exactly_with_delivered_items_with_rework_and_gold(center: Center) -> None:
    _prices(center)
    ids = _work(center)
    month = _month_of_now(center)
    # the rework is there: two answers, one rejected, on the item that is billed once
    assert center.count("submissions", item_id=ids["reworked"]) == 2
    assert center.count("submissions", item_id=ids["reworked"], state="rejected") == 1
    # the gold item was answered twice and is still active (never delivered)
    assert center.count("submissions", item_id=ids["gold"]) == 2
    assert center.row("items", id=ids["gold"]).state == "active"

    resp = center.get("manager", f"/api/v1/billing/statements/acme/{month}")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    lines = {line["project"]: line for line in body["lines"]}
    # an independent count straight from the items: done, in the month, not gold, this client
    start = service.parse_month(month).start
    end = service.parse_month(month).end
    with center.db.read() as conn:
        rows = conn.execute(
            select(tables.projects.c.slug, tables.projects.c.unit_price)
            .join(tables.items, tables.items.c.project_id == tables.projects.c.id)
            .where(tables.items.c.client_id == center.seed.clients["acme"], tables.items.c.state == "done",
                   tables.items.c.gold.is_(False), tables.items.c.done_at >= start, tables.items.c.done_at < end)
        ).all()
    expected_units: dict[str, int] = {}
    expected_amount: dict[str, Decimal] = {}
    for slug, price in rows:
        expected_units[slug] = expected_units.get(slug, 0) + 1
        expected_amount[slug] = expected_amount.get(slug, Decimal(0)) + Decimal(str(price))
    assert expected_units == {"acme-faces": 2, "acme-text": 1}
    for slug in ("acme-faces", "acme-text", "acme-mod"):
        assert lines[slug]["units"] == expected_units.get(slug, 0), slug
        assert Decimal(lines[slug]["amount"]) == expected_amount.get(slug, Decimal(0)).quantize(Decimal("0.01")), slug
    assert lines["acme-faces"] == {"project": "acme-faces", "name": "acme-faces", "work_type": "image_annotation",
                                   "units": 2, "unit_price": "0.3500", "amount": "0.70", "reworked": 1,
                                   "gold_answers": 2, "billing_mode": "unit", "hours": None, "hourly_rate": None,
                                   "billed_answers": None}
    assert lines["acme-text"]["amount"] == "1.20" and lines["acme-text"]["reworked"] == 0
    assert lines["acme-mod"]["units"] == 0 and lines["acme-mod"]["amount"] == "0.00"
    assert body["total_units"] == 3 == sum(expected_units.values())
    assert body["total_amount"] == "1.90" == str(sum(expected_amount.values()).quantize(Decimal("0.01")))
    assert "globex-tickets" not in lines  # another client's project never appears

    # the item detail behind the statement is the same set, each item once
    detail = center.get("manager", f"/api/v1/billing/statements/acme/{month}/items").json()
    assert detail["count"] == 3
    assert sorted((r["project"], r["external_id"]) for r in detail["items"]) == [
        ("acme-faces", "face-1"), ("acme-faces", "face-2"), ("acme-text", "text-1")]

    # the other client's statement holds its own item only
    globex = center.get("manager", f"/api/v1/billing/statements/globex/{month}").json()
    assert [(x["project"], x["units"], x["amount"]) for x in globex["lines"]] == [("globex-tickets", 1, "3.00")]


def test_month_boundaries_are_utc_calendar_months(center: Center) -> None:
    _prices(center)
    ids = _work(center)
    _done_at(center, ids["reworked"], datetime(2026, 10, 31, 23, 59, 59, 999000, tzinfo=UTC))
    _done_at(center, ids["plain"], datetime(2026, 11, 1, 0, 0, 0, tzinfo=UTC))
    with center.db.read() as conn:
        october = service.statement(conn, None, "acme", "2026-10")
        november = service.statement(conn, None, "acme", "2026-11")
        december = service.statement(conn, None, "acme", "2026-12")
    faces = {st.month.label: next(x for x in st.lines if x.project == "acme-faces")
             for st in (october, november, december)}
    assert faces["2026-10"].units == 1 and faces["2026-10"].reworked == 1
    assert faces["2026-11"].units == 1 and faces["2026-11"].reworked == 0
    assert faces["2026-12"].units == 0
    assert service.parse_month("2026-12").end == datetime(2027, 1, 1, tzinfo=UTC)
    assert service.parse_month("2026-01").previous().label == "2025-12"


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "2026-1", "26-11", "november", "", "2026-11-01", "1999-05"])
def test_a_bad_month_is_refused_naming_the_field(center: Center, bad: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        service.parse_month(bad)
    assert err.value.field == "month"
    if bad and "/" not in bad:
        center.problem(center.get("manager", f"/api/v1/billing/statements/acme/{bad}"), 422, field="month")


def test_unknown_client_is_404_naming_the_field(center: Center) -> None:
    center.problem(center.get("manager", "/api/v1/billing/statements/nosuch/2026-11"), 404, field="client",
                   says="nosuch")
    with center.db.read() as conn, pytest.raises(NotFound):
        service.statement(conn, None, "nosuch", "2026-11")


def test_who_may_see_which_statement(center: Center) -> None:
    month = "2026-11"
    assert center.get("admin", f"/api/v1/billing/statements/acme/{month}").status_code == 200
    assert center.get("acme-ops", f"/api/v1/billing/statements/acme/{month}").status_code == 200
    # a client never sees another client's statement, nor learns whether it exists
    center.problem(center.get("acme-ops", f"/api/v1/billing/statements/globex/{month}"), 404)
    center.problem(center.get("globex-ops", f"/api/v1/billing/statements/acme/{month}/items"), 404)
    for who in ("ann1", "lead"):
        center.problem(center.get(who, f"/api/v1/billing/statements/acme/{month}"), 403)
        center.problem(center.get(who, f"/api/v1/billing/statements/acme/{month}/items"), 403)
    center.problem(center.client.get(f"/api/v1/billing/statements/acme/{month}"), 401)
    # the page: managers pick any client, a client sees its own only, workers are refused
    page = center.get("manager", "/billing?client=globex&month=2026-11")
    assert page.status_code == 200 and 'id="statement"' in page.text and "globex-tickets" in page.text
    own = center.get("acme-ops", "/billing?month=2026-11")
    assert own.status_code == 200 and "acme-faces" in own.text and "globex" not in own.text
    assert center.get("acme-ops", "/billing?client=globex").status_code == 404
    assert center.get("ann1", "/billing").status_code == 403
    assert center.get("lead", "/billing").status_code == 403
    assert center.get("manager", "/billing?month=2026-13").status_code == 422
    assert center.client.get("/billing", follow_redirects=False).status_code == 303


def test_csv_has_a_row_per_project_and_a_total(center: Center) -> None:
    _prices(center)
    _work(center)
    month = _month_of_now(center)
    resp = center.get("acme-ops", f"/api/v1/billing/statements/acme/{month}?format=csv")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert f'filename="statement-acme-{month}.csv"' in resp.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert [r["project"] for r in rows] == ["acme-faces", "acme-mod", "acme-text", "TOTAL"]
    assert [(r["units"], r["amount"]) for r in rows] == [("2", "0.70"), ("0", "0.00"), ("1", "1.20"), ("3", "1.90")]
    assert rows[-1]["reworked_items"] == "1" and rows[-1]["gold_answers_not_billed"] == "2"
    assert {r["currency"] for r in rows} == {"CNY"}


def test_pdf_is_a_valid_document_in_both_languages(center: Center) -> None:
    _prices(center)
    _work(center)
    month = _month_of_now(center)
    resp = center.get("manager", f"/api/v1/billing/statements/acme/{month}?format=pdf")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/pdf"
    data = resp.content
    assert pdf.page_count(data) == 1 and b"STSong-Light" in data
    en_text = pdf.check(data)  # the manager's language is English
    assert "Statement · Acme · " + month in en_text
    assert "Total: 1.90 CNY for 3 delivered units" in en_text
    assert "acme-faces (acme-faces)" in en_text.replace("\n", " ") and "\n0.70\n" in en_text
    with center.db.read() as conn:
        st = service.statement(conn, None, "acme", month)
    zh_text = pdf.check(statement_pdf(st, "zh_CN"))
    assert "对账单" in zh_text and "合计" in zh_text and "1.90" in zh_text


def test_cli_statement_writes_csv_and_pdf(center: Center, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from seatflow.cli import app as cli

    _prices(center)
    _work(center)
    month = _month_of_now(center)
    settings = center.app.state.settings
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", settings.resolved_database_url())
    monkeypatch.setenv("SEATFLOW_HOME", str(tmp_path))
    runner = CliRunner()
    out_csv, out_pdf = tmp_path / "s.csv", tmp_path / "s.pdf"
    result = runner.invoke(cli, ["billing", "statement", "--client", "acme", "--month", month, "--csv", str(out_csv),
                                 "--pdf", str(out_pdf)])
    assert result.exit_code == 0, result.output
    assert "1.90" in result.output and "acme-faces" in result.output
    assert out_csv.read_text().splitlines()[-1].split(",")[5:8] == ["3", "", "1.90"]
    assert out_pdf.read_bytes().startswith(b"%PDF-")
    bad = runner.invoke(cli, ["billing", "statement", "--client", "acme", "--month", "2026-13"])
    assert bad.exit_code != 0 and "month" in bad.output
    unknown = runner.invoke(cli, ["billing", "statement", "--client", "nosuch", "--month", month])
    assert unknown.exit_code != 0 and "nosuch" in unknown.output


# -- billing by time ---------------------------------------------------------------------------

NOV_10 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
RATE = "37.5"


def _by_hours(center: Center, slug: str, rate: str) -> None:
    with center.db.write() as conn:
        conn.execute(update(tables.projects).where(tables.projects.c.slug == slug)
                     .values(billing_mode="hours", hourly_rate=Decimal(rate)))
        conn.execute(update(tables.project_prices)  # the terms since creation (price history, 0010)
                     .where(tables.project_prices.c.project_id == center.seed.projects[slug])
                     .values(billing_mode="hours", hourly_rate=Decimal(rate)))


def _set_submission(center: Center, sid: int, *, ms: int | None, at: datetime) -> None:
    with center.db.write() as conn:
        conn.execute(update(tables.submissions).where(tables.submissions.c.id == sid)
                     .values(duration_ms=ms, created_at=at))


def _hours_month(center: Center) -> dict[str, int]:
    """acme-faces billed by time: the _work answers (gold x2, first answer later rejected, its rework,
    a plain answer) get known handling times in November 2026, one more answer falls on
    2026-12-01T00:00Z, and the delivered items are dated in November."""
    _prices(center)
    ids = _work(center)
    _by_hours(center, "acme-faces", RATE)
    extra = center.lease("ann3", "acme-faces")  # face-3, answered (pending review) at the month's edge
    assert center.submit("ann3", extra["lease_id"], FACE).status_code == 200
    faces = center.seed.projects["acme-faces"]
    with center.db.read() as conn:
        subs = conn.execute(select(tables.submissions.c.id, tables.submissions.c.item_id,
                                   tables.submissions.c.supersedes_id)
                            .where(tables.submissions.c.project_id == faces)
                            .order_by(tables.submissions.c.id)).all()
    gold = [s.id for s in subs if s.item_id == ids["gold"]]
    first, rework = (s.id for s in subs if s.item_id == ids["reworked"])
    plain = next(s.id for s in subs if s.item_id == ids["plain"])
    edge = next(s.id for s in subs if s.item_id == extra["item"]["id"])
    assert len(gold) == 2 and len(subs) == 6
    assert next(s for s in subs if s.id == rework).supersedes_id == first  # the rework supersedes the rejected one
    for sid in gold:
        _set_submission(center, sid, ms=600_000, at=NOV_10)
    _set_submission(center, first, ms=1_234_567, at=NOV_10)
    _set_submission(center, rework, ms=999_999, at=datetime(2026, 11, 10, 11, 0, tzinfo=UTC))
    _set_submission(center, plain, ms=2_345_678, at=datetime(2026, 11, 30, 23, 59, 59, 999000, tzinfo=UTC))
    _set_submission(center, edge, ms=1_800_000, at=datetime(2026, 12, 1, tzinfo=UTC))
    for item in (ids["reworked"], ids["plain"]):
        _done_at(center, item, datetime(2026, 11, 20, tzinfo=UTC))
    _done_at(center, center.seed.items["acme-text"][0], datetime(2026, 11, 15, tzinfo=UTC))
    return {"first": first, "rework": rework, "plain": plain, "edge": edge}


def _independent_ms(center: Center, slug: str, start: datetime, end: datetime) -> tuple[int, int]:
    """(billable ms, rework ms) from every submission row of the project, filtered here in Python."""
    billed = rework = 0
    with center.db.read() as conn:
        rows = conn.execute(select(tables.submissions.c.duration_ms, tables.submissions.c.supersedes_id,
                                   tables.submissions.c.created_at, tables.items.c.gold)
                            .join(tables.items, tables.items.c.id == tables.submissions.c.item_id)
                            .where(tables.submissions.c.project_id == center.seed.projects[slug])).all()
    for ms, supersedes, at, gold in rows:
        if not start <= at < end or gold:
            continue
        if supersedes is None:
            billed += ms or 0
        else:
            rework += ms or 0
    return billed, rework


def test_hours_billed_project_bills_first_time_handling_time_only(center: Center) -> None:
    _hours_month(center)
    nov, dec = service.parse_month("2026-11"), service.parse_month("2026-12")
    with center.db.read() as conn:
        st_nov = service.statement(conn, None, "acme", nov)
        st_dec = service.statement(conn, None, "acme", dec)
    faces = next(x for x in st_nov.lines if x.project == "acme-faces")
    billed_ms, rework_ms = _independent_ms(center, "acme-faces", nov.start, nov.end)
    # first answer (later rejected) + the plain answer at 23:59:59.999; not the rework, gold or December
    assert (billed_ms, rework_ms) == (1_234_567 + 2_345_678, 999_999)
    hours = (Decimal(billed_ms) / 3_600_000).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert hours == Decimal("0.99")
    assert faces.billing_mode == "hours" and faces.hours == hours and faces.hourly_rate == Decimal(RATE)
    # 0.99 h x 37.5 = 37.125 -> 37.13 (half-up, as unit lines)
    assert faces.amount == (hours * Decimal(RATE)).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP") \
        == Decimal("37.13")
    assert faces.billed_answers == 2
    # with the rework time it would have been 1.27 h: the exclusion changes the bill
    assert (Decimal(billed_ms + rework_ms) / 3_600_000).quantize(Decimal("0.01")) != hours
    assert faces.units == 2 and faces.reworked == 1 and faces.gold_answers == 2  # shown, not what is billed
    # unit-billed lines are as before
    text = next(x for x in st_nov.lines if x.project == "acme-text")
    assert (text.billing_mode, text.units, text.amount, text.hours, text.hourly_rate) == (
        "unit", 1, Decimal("1.20"), None, None)
    assert st_nov.total_amount == Decimal("38.33") == faces.amount + text.amount
    assert st_nov.total_hours == Decimal("0.99")
    # the answer given at 2026-12-01T00:00Z is December's: 0.5 h
    faces_dec = next(x for x in st_dec.lines if x.project == "acme-faces")
    assert _independent_ms(center, "acme-faces", dec.start, dec.end) == (1_800_000, 0)
    assert (faces_dec.hours, faces_dec.amount, faces_dec.billed_answers) == (Decimal("0.50"), Decimal("18.75"), 1)
    assert st_dec.total_amount == Decimal("18.75")


def test_hours_lines_in_json_csv_pdf_and_page(center: Center) -> None:
    _hours_month(center)
    body = center.get("manager", "/api/v1/billing/statements/acme/2026-11").json()
    lines = {x["project"]: x for x in body["lines"]}
    assert {k: lines["acme-faces"][k] for k in ("billing_mode", "hours", "hourly_rate", "amount", "units")} == {
        "billing_mode": "hours", "hours": "0.99", "hourly_rate": "37.5000", "amount": "37.13", "units": 2}
    assert lines["acme-text"] == {"project": "acme-text", "name": "acme-text", "work_type": "text_annotation",
                                  "units": 1, "unit_price": "1.2000", "amount": "1.20", "reworked": 0,
                                  "gold_answers": 0, "billing_mode": "unit", "hours": None, "hourly_rate": None,
                                  "billed_answers": None}
    assert (body["total_amount"], body["total_hours"]) == ("38.33", "0.99")

    resp = center.get("acme-ops", "/api/v1/billing/statements/acme/2026-11?format=csv")
    header, *_rows = list(csv.reader(io.StringIO(resp.text)))
    assert tuple(header) == service.CSV_HEADER and header[:11] == [
        "client", "month", "project", "project_name", "work_type", "units", "unit_price", "amount", "currency",
        "reworked_items", "gold_answers_not_billed"]
    rows = {r["project"]: r for r in csv.DictReader(io.StringIO(resp.text))}
    assert [rows["acme-faces"][k] for k in ("billing_mode", "hours", "hourly_rate", "amount")] == [
        "hours", "0.99", "37.5000", "37.13"]
    assert [rows["acme-text"][k] for k in ("billing_mode", "hours", "hourly_rate", "amount")] == [
        "unit", "", "", "1.20"]
    assert [rows["TOTAL"][k] for k in ("hours", "amount")] == ["0.99", "38.33"]

    en = pdf.check(center.get("manager", "/api/v1/billing/statements/acme/2026-11?format=pdf").content)
    assert "Billed by time: 0.99 hours" in en and "Total: 38.33 CNY" in en and "\n37.13\n" in en
    assert "\nby time\n" in en and "\nper unit\n" in en and "rework answers, gold items and review time" in en.replace(
        "\n", " ")
    with center.db.read() as conn:
        st = service.statement(conn, None, "acme", "2026-11")
    zh = pdf.check(statement_pdf(st, "zh_CN"))
    assert "按工时" in zh and "按件" in zh and "0.99" in zh and "37.13" in zh and "工时" in zh

    page = center.get("manager", "/billing?client=acme&month=2026-11")
    assert page.status_code == 200
    assert 'id="total-hours">0.99<' in page.text and 'data-billing="hours"' in page.text
    assert "Unit price or hourly rate" in page.text and 'id="hours-rule"' in page.text
    with center.db.write() as conn:
        conn.execute(update(tables.users).where(tables.users.c.username == "admin").values(locale="zh_CN"))
    zh_page = center.get("admin", "/billing?client=acme&month=2026-11")  # admin: not signed in yet, so Chinese
    assert "按工时" in zh_page.text and "单价或时薪" in zh_page.text and "37.13" in zh_page.text
    # a statement with no project billed by time keeps its old columns
    plain = center.get("admin", "/billing?client=globex&month=2026-11").text
    assert 'id="total-hours"' not in plain and "单价或时薪" not in plain


def test_cli_statement_shows_hours(center: Center, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from seatflow.cli import app as cli

    _hours_month(center)
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", center.app.state.settings.resolved_database_url())
    monkeypatch.setenv("SEATFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("SEATFLOW_LANG", "en")
    result = CliRunner().invoke(cli, ["billing", "statement", "--client", "acme", "--month", "2026-11"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "0.99" in result.output and "37.5000" in result.output and "38.33" in result.output


BASE = {"slug": "acme-hours", "name": "Hours", "client": "acme", "work_type": "moderation"}


def test_project_billing_mode_is_set_at_create_and_shown(center: Center, tmp_path: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    resp = center.post("manager", "/api/v1/projects", json={**BASE, "billing_mode": "hours", "hourly_rate": "45.5"})
    assert resp.status_code == 201, resp.text
    assert (resp.json()["billing_mode"], resp.json()["hourly_rate"]) == ("hours", "45.5000")
    again = center.get("manager", "/api/v1/projects/acme-hours").json()
    assert (again["billing_mode"], again["hourly_rate"]) == ("hours", "45.5000")
    plain = center.get("manager", "/api/v1/projects/acme-faces").json()
    assert (plain["billing_mode"], plain["hourly_rate"]) == ("unit", None)  # the default, and migrated rows
    # the CLI takes the same spec keys from a file
    from seatflow.cli import app as cli

    monkeypatch.setenv("SEATFLOW_DATABASE_URL", center.app.state.settings.resolved_database_url())
    monkeypatch.setenv("SEATFLOW_HOME", str(tmp_path))
    spec = tmp_path / "p.yaml"
    spec.write_text("slug: acme-hours2\nname: H2\nclient: acme\nwork_type: moderation\n"
                    "billing_mode: hours\nhourly_rate: 60\n", encoding="utf-8")
    ok = CliRunner().invoke(cli, ["project", "create", "--file", str(spec)])
    assert ok.exit_code == 0, ok.output
    row = center.row("projects", slug="acme-hours2")
    assert (row.billing_mode, Decimal(row.hourly_rate)) == ("hours", Decimal(60))
    spec.write_text("slug: acme-hours3\nname: H3\nclient: acme\nwork_type: moderation\nbilling_mode: hours\n",
                    encoding="utf-8")
    bad = CliRunner().invoke(cli, ["project", "create", "--file", str(spec)])
    assert bad.exit_code != 0 and "hourly_rate" in bad.output
    assert center.count("projects", slug="acme-hours3") == 0


@pytest.mark.parametrize(("change", "field", "says"), [
    ({"billing_mode": "time"}, "billing_mode", "unit, hours"),
    ({"billing_mode": "HOURS", "hourly_rate": "10"}, "billing_mode", "unit, hours"),
    ({"billing_mode": 1}, "billing_mode", "unit, hours"),
    ({"billing_mode": ""}, "billing_mode", "unit, hours"),
    ({"billing_mode": "hours"}, "hourly_rate", "required"),
    ({"billing_mode": "hours", "hourly_rate": None}, "hourly_rate", "required"),
    ({"billing_mode": "hours", "hourly_rate": "0"}, "hourly_rate", "greater than 0"),
    ({"billing_mode": "hours", "hourly_rate": -12}, "hourly_rate", "greater than 0"),
    ({"billing_mode": "hours", "hourly_rate": "cheap"}, "hourly_rate", "number"),
    ({"billing_mode": "hours", "hourly_rate": "NaN"}, "hourly_rate", "number"),
    ({"billing_mode": "hours", "hourly_rate": "Infinity"}, "hourly_rate", "number"),
    ({"billing_mode": "hours", "hourly_rate": True}, "hourly_rate", "number"),
    ({"billing_mode": "hours", "hourly_rate": [10]}, "hourly_rate", "number"),
    ({"billing_mode": "hours", "hourly_rate": "1.00001"}, "hourly_rate", "4 decimals"),
    ({"billing_mode": "hours", "hourly_rate": "100000000"}, "hourly_rate", "at most"),
    ({"hourly_rate": "10"}, "hourly_rate", "only for projects with billing_mode hours"),
    ({"billing_mode": "unit", "hourly_rate": "10"}, "hourly_rate", "only for"),
])
def test_malformed_billing_mode_or_hourly_rate_is_refused(center: Center, change: dict[str, Any], field: str,
                                                          says: str) -> None:
    before = center.counts()
    resp = center.post("manager", "/api/v1/projects", json={**BASE, **change})
    center.problem(resp, 422, field=field, says=says)
    assert center.counts() == before
