"""Price history (project_prices, migration 0010): a price change applies from the current billing month
in the center's time zone and never rewrites an earlier month's statement; two changes in one month
bill the last; billing by time and back; the migration's backfill; a refused change writes no price row."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update
from typer.testing import CliRunner

from seatflow.billing import service as billing
from seatflow.cli import app
from seatflow.commands._common import CLI_ACTOR
from seatflow.domain.clock import zone
from seatflow.errors import ValidationFailed
from seatflow.services import projects as project_service
from seatflow.services._tx import transact
from seatflow.store import tables
from seatflow.store.engine import make_engine
from seatflow.store.migrate import upgrade

from .conftest import GOOD_ANSWERS, AppFactory, Center

OCT_5 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
OCT_20 = datetime(2026, 10, 20, 15, 0, tzinfo=UTC)
NOV_3 = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
NOV_10 = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
NOV_20 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
DEC_2 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
SLUG = "acme-text"


def _at(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    """The services' clock reads ``when`` (the month a change is made in)."""
    monkeypatch.setattr(project_service, "utcnow", lambda: when)


def _change(center: Center, monkeypatch: pytest.MonkeyPatch, when: datetime, changes: dict[str, Any],
            **kw: Any) -> Any:
    _at(monkeypatch, when)
    return transact(center.db, lambda c: project_service.update_project(c, None, SLUG, changes, **kw))


def _deliver(center: Center, n: int, at: datetime, slug: str = SLUG) -> None:
    """The project's n-th seeded item delivered at ``at``."""
    with center.db.write() as conn:
        conn.execute(update(tables.items).where(tables.items.c.id == center.seed.items[slug][n])
                     .values(state="done", done_at=at))


def _line(center: Center, month: str, slug: str = SLUG, tz: Any = None) -> billing.StatementLine:
    with center.db.read() as conn:
        st = billing.statement(conn, CLI_ACTOR, "acme", month, tz=tz)
    return next(line for line in st.lines if line.project == slug)


def _rows(center: Center, slug: str = SLUG) -> list[tuple[str, Decimal, str, Decimal | None]]:
    p = tables.project_prices
    with center.db.read() as conn:
        rows = conn.execute(select(p.c.effective_month, p.c.unit_price, p.c.billing_mode, p.c.hourly_rate)
                            .where(p.c.project_id == center.seed.projects[slug]).order_by(p.c.effective_month))
        return [(r.effective_month, Decimal(r.unit_price), r.billing_mode,
                 None if r.hourly_rate is None else Decimal(r.hourly_rate)) for r in rows]


def test_creation_writes_the_first_terms(center: Center) -> None:
    for slug in center.seed.projects:
        assert _rows(center, slug) == [("2000-01", Decimal(0), "unit", None)]
    resp = center.post("manager", "/api/v1/projects", json={
        "slug": "acme-hours", "name": "Hours", "client": "acme", "work_type": "moderation",
        "unit_price": "0.25", "billing_mode": "hours", "hourly_rate": "45"})
    assert resp.status_code in (200, 201), resp.text
    p = tables.project_prices
    with center.db.read() as conn:
        row = conn.execute(select(p).where(p.c.project_id == resp.json()["id"])).one()
    assert (row.effective_month, Decimal(row.unit_price), row.billing_mode, Decimal(row.hourly_rate),
            row.created_by) == ("2000-01", Decimal("0.25"), "hours", Decimal(45), center.seed.users["manager"])


def test_a_price_change_in_november_leaves_october_at_the_old_price(center: Center,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _change(center, monkeypatch, OCT_5, {"unit_price": "1.00"})
    _deliver(center, 0, OCT_20)
    _deliver(center, 1, NOV_10)
    _deliver(center, 2, NOV_10)
    october = _line(center, "2026-10")
    assert (october.units, october.unit_price, october.amount) == (1, Decimal(1), Decimal("1.00"))

    row = _change(center, monkeypatch, NOV_3, {"unit_price": "2.50"})
    assert Decimal(row.unit_price) == Decimal("2.50")  # the project's columns hold the current terms
    october = _line(center, "2026-10")
    assert (october.units, october.unit_price, october.amount) == (1, Decimal(1), Decimal("1.00"))
    november = _line(center, "2026-11")
    assert (november.units, november.unit_price, november.amount) == (2, Decimal("2.5"), Decimal("5.00"))
    # a month before the first change bills the creation terms; a later month the last change
    assert _line(center, "2026-09").unit_price == Decimal(0)
    assert _line(center, "2027-01").unit_price == Decimal("2.5")
    assert _rows(center) == [("2000-01", Decimal(0), "unit", None), ("2026-10", Decimal(1), "unit", None),
                             ("2026-11", Decimal("2.5"), "unit", None)]
    # the delivered items behind a statement carry that month's price, CSV likewise
    with center.db.read() as conn:
        oct_items = billing.delivered_items(conn, CLI_ACTOR, "acme", "2026-10")
        nov_items = billing.delivered_items(conn, CLI_ACTOR, "acme", "2026-11")
        oct_csv = billing.statement_csv(billing.statement(conn, CLI_ACTOR, "acme", "2026-10"))
    assert [r["unit_price"] for r in oct_items if r["project"] == SLUG] == ["1.0000"]
    assert [r["unit_price"] for r in nov_items if r["project"] == SLUG] == ["2.5000", "2.5000"]
    assert f"acme,2026-10,{SLUG},{SLUG},text_annotation,1,1.0000,1.00," in oct_csv
    # over the API too
    body = center.get("manager", "/api/v1/billing/statements/acme/2026-10").json()
    assert next(x for x in body["lines"] if x["project"] == SLUG)["amount"] == "1.00"


def test_two_changes_in_one_month_bill_the_last(center: Center, monkeypatch: pytest.MonkeyPatch) -> None:
    _change(center, monkeypatch, OCT_5, {"unit_price": "1.00"})
    _deliver(center, 0, OCT_20)
    _deliver(center, 1, NOV_10)
    _change(center, monkeypatch, NOV_3, {"unit_price": "2.00"})
    _change(center, monkeypatch, NOV_20, {"unit_price": "3.00"})
    assert _line(center, "2026-11").amount == Decimal("3.00")
    assert _line(center, "2026-10").amount == Decimal("1.00")
    assert _rows(center) == [("2000-01", Decimal(0), "unit", None), ("2026-10", Decimal(1), "unit", None),
                             ("2026-11", Decimal(3), "unit", None)]
    p = tables.project_prices
    with center.db.read() as conn:
        nov = conn.execute(select(p).where(p.c.project_id == center.seed.projects[SLUG],
                                           p.c.effective_month == "2026-11")).one()
    assert nov.created_at == NOV_20 and nov.created_by is None  # the CLI (no actor)
    # a change that touches no price writes no price row
    _change(center, monkeypatch, DEC_2, {"name": "Text", "sla_minutes": 30})
    assert [r[0] for r in _rows(center)] == ["2000-01", "2026-10", "2026-11"]


def test_billing_by_hours_and_back(center: Center, monkeypatch: pytest.MonkeyPatch) -> None:
    lease = center.lease("ann1", SLUG)  # an answer with 30 minutes of handling time, submitted in November
    assert center.submit("ann1", lease["lease_id"], GOOD_ANSWERS[SLUG]).status_code == 200
    with center.db.write() as conn:
        conn.execute(update(tables.submissions).where(tables.submissions.c.project_id == center.seed.projects[SLUG])
                     .values(duration_ms=1_800_000, created_at=NOV_10))
    _change(center, monkeypatch, OCT_5, {"unit_price": "1.00"})
    _deliver(center, 0, OCT_20)
    _deliver(center, 1, NOV_10)
    _deliver(center, 2, DEC_2)
    _change(center, monkeypatch, NOV_3, {"billing_mode": "hours", "hourly_rate": "40"})
    _change(center, monkeypatch, DEC_2, {"billing_mode": "unit"})
    october, november, december = (_line(center, m) for m in ("2026-10", "2026-11", "2026-12"))
    assert (october.billing_mode, october.hourly_rate, october.amount) == ("unit", None, Decimal("1.00"))
    assert (november.billing_mode, november.hourly_rate, november.units) == ("hours", Decimal(40), 1)
    assert (november.hours, november.amount, november.billed_answers) == (Decimal("0.50"), Decimal("20.00"), 1)
    assert (december.billing_mode, december.hourly_rate, december.amount) == ("unit", None, Decimal("1.00"))
    assert _rows(center) == [("2000-01", Decimal(0), "unit", None), ("2026-10", Decimal(1), "unit", None),
                             ("2026-11", Decimal(1), "hours", Decimal(40)), ("2026-12", Decimal(1), "unit", None)]


def test_the_month_of_a_change_is_the_centers(app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """17:30 UTC on November 30 is December 1 in Shanghai: the PATCH route passes the center's zone."""
    center = app_factory(timezone="Asia/Shanghai")
    _at(monkeypatch, datetime(2026, 11, 30, 17, 30, tzinfo=UTC))
    resp = center.client.patch(f"/api/v1/projects/{SLUG}", json={"unit_price": "0.7"}, headers=center.as_("manager"))
    assert resp.status_code == 200, resp.text
    assert _rows(center)[-1] == ("2026-12", Decimal("0.7"), "unit", None)
    shanghai = zone("Asia/Shanghai")
    assert _line(center, "2026-11", tz=shanghai).unit_price == Decimal(0)
    assert _line(center, "2026-12", tz=shanghai).unit_price == Decimal("0.7")
    # the service alone defaults to UTC: the same instant is still November there
    _change(center, monkeypatch, datetime(2026, 11, 30, 17, 30, tzinfo=UTC), {"unit_price": "0.8"})
    assert [r[:2] for r in _rows(center)] == [("2000-01", Decimal(0)), ("2026-11", Decimal("0.8")),
                                              ("2026-12", Decimal("0.7"))]


def test_cli_passes_the_centers_zone(center: Center, db_url: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEATFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("SEATFLOW_LANG", "en")
    monkeypatch.setenv("SEATFLOW_TIMEZONE", "Asia/Shanghai")
    _at(monkeypatch, datetime(2026, 11, 30, 17, 30, tzinfo=UTC))
    result = CliRunner().invoke(app, ["project", "update", SLUG, "--unit-price", "0.9"])
    assert result.exit_code == 0, f"{result.stdout}\n{result.stderr}"
    assert _rows(center)[-1] == ("2026-12", Decimal("0.9"), "unit", None)


@pytest.mark.parametrize("changes, field", [
    ({"unit_price": "cheap"}, "unit_price"),
    ({"unit_price": "-1"}, "unit_price"),
    ({"billing_mode": "hours"}, "hourly_rate"),
    ({"billing_mode": "daily"}, "billing_mode"),
    ({"unit_price": "2", "lease_seconds": 5}, "lease_seconds"),
])
def test_a_refused_change_writes_no_price_row(center: Center, monkeypatch: pytest.MonkeyPatch,
                                              changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        _change(center, monkeypatch, NOV_3, changes)
    assert err.value.field == field
    assert _rows(center) == [("2000-01", Decimal(0), "unit", None)]
    resp = center.client.patch(f"/api/v1/projects/{SLUG}", json=changes, headers=center.as_("manager"))
    assert resp.status_code == 422 and resp.json()["field"] == field
    assert _rows(center) == [("2000-01", Decimal(0), "unit", None)]


def test_migration_backfills_every_project(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, "0009")
        created = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
        c, p = tables.clients, tables.projects
        with engine.begin() as conn:
            client_id = conn.execute(insert(c).values(slug="acme", name="Acme", created_at=created)
                                     .returning(c.c.id)).scalar_one()
            common = {"client_id": client_id, "work_type": "moderation", "label_schema": {}, "workflow": {},
                      "created_at": created}
            unit_id = conn.execute(insert(p).values(slug="old-unit", name="Old", unit_price=Decimal("0.35"), **common)
                                   .returning(p.c.id)).scalar_one()
            hours_id = conn.execute(insert(p).values(slug="old-hours", name="Hours", unit_price=Decimal("0.1"),
                                                     billing_mode="hours", hourly_rate=Decimal("45.5"), **common)
                                    .returning(p.c.id)).scalar_one()
        upgrade(engine)
        pp = tables.project_prices
        with engine.connect() as conn:
            rows = {r.project_id: r for r in conn.execute(select(pp))}
            assert conn.execute(select(func.count()).select_from(pp)).scalar_one() == 2
        assert set(rows) == {unit_id, hours_id}
        unit, hours = rows[unit_id], rows[hours_id]
        assert (unit.client_id, unit.effective_month, Decimal(unit.unit_price), unit.billing_mode, unit.hourly_rate,
                unit.created_at, unit.created_by) == (
            client_id, "2000-01", Decimal("0.35"), "unit", None, created, None)
        assert (hours.effective_month, Decimal(hours.unit_price), hours.billing_mode, Decimal(hours.hourly_rate)) == (
            "2000-01", Decimal("0.1"), "hours", Decimal("45.5"))
    finally:
        engine.dispose()
