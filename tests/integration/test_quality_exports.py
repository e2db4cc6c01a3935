"""The aggregate and its confidence leave the center with the results: JSONL and CSV exports and the
item.accepted webhook payload carry ``aggregate``/``confidence`` for items that have one (overlap or
dynamic overlap on class work), and nothing new for items without; an odd stored aggregate is left out,
and exported lines import again with the aggregate ignored."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select, update

from seatflow.errors import ImportFailed
from seatflow.formats.importer import import_path
from seatflow.services import aggregation, quality
from seatflow.store import tables

from .conftest import Center
from .test_quality_overlap import POS, answer, make_project
from .test_webhooks import finish


@pytest.fixture(autouse=True)
def _fresh_quality_cache() -> None:
    quality.project_cache.clear()
    aggregation.clear_priors()


def _finish_two(center: Center) -> tuple[int, int]:
    """Project dyn-x (dynamic overlap 1..2 at 0.9): two items, each answered positive by ann1 and ann2."""
    first, second = make_project(center, "dyn-x", "annotate(overlap=1..2, confidence=0.9)", 2)
    for worker in ("ann1", "ann2"):
        for _ in range(2):
            answer(center, worker, "dyn-x", POS)
    assert center.row("items", id=first).state == "done" and center.row("items", id=second).state == "done"
    return first, second


def test_exports_carry_the_aggregate_and_its_confidence(center: Center) -> None:
    first, second = _finish_two(center)
    conf = center.row("items", id=first).confidence
    plain = [json.loads(line) for line in center.get("acme-ops", "/api/v1/projects/dyn-x/export.jsonl").text
             .splitlines()]
    assert [p["item_id"] for p in plain] == [first, second]
    assert plain[0]["aggregate"]["label"] == "positive" and plain[0]["aggregate"]["answers"] == 2
    assert plain[0]["confidence"] == pytest.approx(conf)
    assert b"worker" not in json.dumps(plain).encode()  # a client's export: no worker ids, aggregate included
    jsonl = [json.loads(line) for line in center.get("manager", "/api/v1/projects/dyn-x/export?format=jsonl").text
             .splitlines()]
    assert [(j["aggregate"]["label"], j["confidence"]) for j in jsonl] == [("positive", pytest.approx(conf))] * 2
    rows = list(csv.DictReader(io.StringIO(center.get("manager", "/api/v1/projects/dyn-x/export?format=csv").text)))
    assert [(r["aggregate.label"], r["aggregate.answers"]) for r in rows] == [("positive", "2")] * 2
    assert float(rows[0]["confidence"]) == pytest.approx(conf)


def test_items_without_an_aggregate_export_as_before(center: Center) -> None:
    finish(center, "globex-tickets", "ann1")  # overlap 1, service tickets: never aggregated
    for fmt in ("export.jsonl", "export?format=jsonl"):
        lines = center.get("manager", f"/api/v1/projects/globex-tickets/{fmt}").text.splitlines()
        assert lines and all("aggregate" not in json.loads(ln) and "confidence" not in json.loads(ln) for ln in lines)
    header = center.get("manager", "/api/v1/projects/globex-tickets/export?format=csv").text.splitlines()[0]
    assert "aggregate" not in header and "confidence" not in header


def test_an_odd_stored_aggregate_is_left_out_not_an_error(center: Center) -> None:
    first, second = _finish_two(center)
    with center.db.write() as conn:
        conn.execute(update(tables.items).where(tables.items.c.id == first).values(aggregate=["junk"],
                                                                                   confidence=0.9))
        conn.execute(update(tables.items).where(tables.items.c.id == second).values(confidence=7.5))
    plain = [json.loads(line) for line in center.get("manager", "/api/v1/projects/dyn-x/export.jsonl").text
             .splitlines()]
    assert "aggregate" not in plain[0]
    assert plain[1]["aggregate"]["label"] == "positive" and plain[1]["confidence"] is None  # 7.5 is no posterior
    rows = list(csv.DictReader(io.StringIO(center.get("manager", "/api/v1/projects/dyn-x/export?format=csv").text)))
    assert [(r["aggregate.label"], r["confidence"]) for r in rows] == [("", ""), ("positive", "")]


def test_exported_lines_import_again_with_the_aggregate_ignored(center: Center, tmp_path: Path) -> None:
    _finish_two(center)
    text = center.get("manager", "/api/v1/projects/dyn-x/export?format=jsonl").text
    lines = [json.loads(line) for line in text.splitlines()]
    lines[1]["aggregate"] = "not an aggregate at all"  # malformed: ignored on import like item_id and answers
    lines[1]["confidence"] = "high"
    path = tmp_path / "again.jsonl"
    path.write_text("".join(json.dumps({**ln, "external_id": f"again-{n}"}) + "\n" for n, ln in enumerate(lines)))
    report = import_path(center.db, None, "dyn-x", path, "jsonl")
    assert report.report.imported == 2
    with center.db.read() as conn:
        got = conn.execute(select(tables.items.c.payload, tables.items.c.aggregate)
                           .where(tables.items.c.external_id.like("again-%"))).all()
    assert all(g.aggregate is None and "aggregate" not in g.payload and "confidence" not in g.payload for g in got)
    # in a line that is not Seatflow's own export, confidence is a payload field as before: here refused
    # (a text item's payload has no such field), never dropped without a word
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps({"external_id": "mine-1", "text": "t", "confidence": "high"}) + "\n")
    with pytest.raises(ImportFailed, match="payload.confidence"):
        import_path(center.db, None, "dyn-x", path, "jsonl")


def test_the_item_accepted_webhook_carries_the_aggregate(center: Center) -> None:
    resp = center.client.put("/api/v1/clients/acme/webhook", headers=center.as_("manager"),
                             json={"url": "https://hooks.example.com/seatflow", "rotate_secret": True})
    assert resp.status_code == 200, resp.text
    first, _ = _finish_two(center)
    with center.db.read() as conn:
        payload = conn.execute(select(tables.outbox.c.payload).where(tables.outbox.c.item_id == first)).scalar_one()
    assert payload["aggregate"]["label"] == "positive" and payload["aggregate"]["answers"] == 2
    assert payload["confidence"] == pytest.approx(center.row("items", id=first).confidence)
    assert "worker" not in json.dumps(payload)
    # a project without aggregation: the payload as before
    resp = center.client.put("/api/v1/clients/globex/webhook", headers=center.as_("manager"),
                             json={"url": "https://hooks.example.com/globex", "rotate_secret": True})
    assert resp.status_code == 200, resp.text
    ticket = finish(center, "globex-tickets", "ann1")
    with center.db.read() as conn:
        other = conn.execute(select(tables.outbox.c.payload).where(tables.outbox.c.item_id == ticket)).scalar_one()
    assert "aggregate" not in other and "confidence" not in other and other["answers"]
