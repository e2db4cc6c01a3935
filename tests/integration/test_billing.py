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
                                   "gold_answers": 2}
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
