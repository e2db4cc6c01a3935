"""Gold (honeypot) items in the engine: mixed into the stream, indistinguishable, scored, never delivered."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from seatflow.commands._common import CLI_ACTOR as CLI_ADMIN
from seatflow.services import imports, quality
from seatflow.services._tx import transact
from seatflow.services.imports import Record
from seatflow.store import tables

from .conftest import Center

FACE = {"boxes": [{"label": "face", "x": 10, "y": 20, "w": 100, "h": 120}]}
OTHER = {"boxes": [{"label": "person", "x": 300, "y": 200, "w": 50, "h": 50}]}


@pytest.fixture(autouse=True)
def _fresh_quality_cache() -> None:
    quality.project_cache.clear()


def import_gold(center: Center, project: str, rows: list[dict[str, Any]]) -> list[int]:
    records = [Record("gold.jsonl", n, row) for n, row in enumerate(rows, start=1)]
    report = imports.import_records(center.db, None, project, records, source="gold.jsonl")
    assert report.error is None and report.imported == len(rows), report
    with center.db.read() as conn:
        ext = [r["external_id"] for r in rows]
        return list(conn.execute(select(tables.items.c.id).where(tables.items.c.external_id.in_(ext))
                                 .order_by(tables.items.c.id)).scalars())


def faces_gold(n: int, start: int = 100) -> list[dict[str, Any]]:
    return [{"external_id": f"face-{k}", "payload": {"image": f"faces/{k}.jpg", "width": 640, "height": 480,
                                                     "gold": FACE}} for k in range(start, start + n)]


def set_quality(center: Center, project: str, **settings: Any) -> None:
    transact(center.db, lambda c: quality.set_settings(c, CLI_ADMIN, project, settings))


def shape(value: Any) -> Any:
    """The structure of a JSON value with its scalars reduced to their types (and id-like text to a pattern)."""
    if isinstance(value, dict):
        return {shape(k): shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"\d+", "N", re.sub(r"[0-9a-f]{16,}", "H", value))
    return type(value).__name__


def test_gold_import_has_no_tasks_and_is_flagged(center: Center) -> None:
    ids = import_gold(center, "acme-faces", faces_gold(2))
    for item_id in ids:
        assert center.row("items", id=item_id).gold is True
        assert center.count("tasks", item_id=item_id) == 0
    ordinary = center.seed.items["acme-faces"][0]
    assert center.row("items", id=ordinary).gold is False


def test_a_gold_lease_looks_like_an_ordinary_one_field_by_field(center: Center) -> None:
    (gold_id,) = import_gold(center, "acme-faces", faces_gold(1))
    set_quality(center, "acme-faces", gold_rate=1.0)
    gold = center.lease("ann1", "acme-faces")
    assert gold["item"]["id"] == gold_id
    set_quality(center, "acme-faces", gold_rate=0.0, warmup_rate=0.0)
    plain = center.lease("ann2", "acme-faces")
    assert plain["item"]["id"] != gold_id
    assert set(gold) == set(plain)
    for key in plain:
        assert shape(gold[key]) == shape(plain[key]), key
    assert set(gold["item"]) == set(plain["item"])
    for key in plain["item"]:
        assert shape(gold["item"][key]) == shape(plain["item"][key]), key
    assert "gold" not in json.dumps(gold)  # the known answer is nowhere in the lease
    # the item as the worker reads it, and the media link
    got_gold = center.get("ann1", f"/api/v1/items/{gold_id}").json()
    got_plain = center.get("ann2", f"/api/v1/items/{plain['item']['id']}").json()
    assert shape(got_gold) == shape(got_plain)
    assert "gold" not in got_gold["payload"]
    media = next(iter(gold["item"]["media"].values()))
    assert media.startswith("/media/faces/100.jpg?")
    # the answer's outcome says the same as an ordinary answer's (acme-faces reviews every answer)
    g = center.submit("ann1", gold["lease_id"], FACE)
    p = center.submit("ann2", plain["lease_id"], FACE)
    assert g.status_code == p.status_code == 200, (g.text, p.text)
    assert set(g.json()) == set(p.json())
    assert g.json()["next_step"] == p.json()["next_step"] == "review"


def test_gold_is_scored_never_completed_delivered_or_exported(center: Center) -> None:
    (gold_id,) = import_gold(center, "acme-faces", faces_gold(1))
    set_quality(center, "acme-faces", gold_rate=1.0)
    outbox_before = center.count("outbox")
    for worker, answer in (("ann1", FACE), ("ann2", OTHER), ("ann3", FACE)):
        lease = center.lease(worker, "acme-faces")
        assert lease["item"]["id"] == gold_id
        assert center.submit(worker, lease["lease_id"], answer).status_code == 200
        # each worker answers a gold item once: their next lease is ordinary work
        nxt = center.lease(worker, "acme-faces")
        assert nxt["item"]["id"] != gold_id
    results = {r.user_id: r for r in _rows(center, tables.gold_results)}
    users = center.seed.users
    assert results[users["ann1"]].passed and results[users["ann1"]].score == 1.0
    assert not results[users["ann2"]].passed and results[users["ann2"]].score == 0.0
    assert results[users["ann3"]].passed
    item = center.row("items", id=gold_id)
    assert (item.state, item.result, item.done_at) == ("active", None, None)
    assert center.count("outbox") == outbox_before
    assert center.count("tasks", item_id=gold_id, kind="review") == 0
    export = center.get("manager", "/api/v1/projects/acme-faces/export.jsonl")
    assert "face-100" not in export.text


def test_gold_items_are_not_in_the_status_counts(center: Center) -> None:
    import_gold(center, "acme-faces", faces_gold(3))
    for who in ("manager", "acme-ops"):
        rows = center.get(who, "/api/v1/status").json()["projects"]
        faces = next(r for r in rows if r["slug"] == "acme-faces")
        assert faces["items"] == 3, faces  # the three seeded items, not the gold ones


def test_gold_rate_mixes_gold_in_at_about_the_rate(center: Center) -> None:
    import_gold(center, "acme-text", [{"external_id": f"g{k}", "payload": {"text": f"gold text {k}",
                                                                           "gold": {"classes": ["positive"]}}}
                                      for k in range(40)])
    more = [Record("more", n, {"external_id": f"t{n}", "payload": {"text": f"text {n}"}}) for n in range(200)]
    assert imports.import_records(center.db, None, "acme-text", more, source="more").error is None
    set_quality(center, "acme-text", gold_rate=0.2, warmup_rate=0.0)
    gold_ids = set(_gold_ids(center))
    seen = 0
    for _ in range(100):
        lease = center.lease("ann1", "acme-text")
        seen += lease["item"]["id"] in gold_ids
        assert center.submit("ann1", lease["lease_id"], {"classes": ["positive"]}).status_code == 200
    assert 8 <= seen <= 35, seen  # 20 expected; the bounds fail about once in a million runs


def test_no_gold_items_means_no_quality_lookups_and_plain_dispatch(center: Center) -> None:
    lease = center.lease("ann1", "acme-faces")
    assert lease["item"]["id"] == center.seed.items["acme-faces"][0]
    assert center.count("gold_results") == 0


def _rows(center: Center, table: Any) -> list[Any]:
    with center.db.read() as conn:
        return list(conn.execute(select(table)))


def _gold_ids(center: Center) -> list[int]:
    with center.db.read() as conn:
        return list(conn.execute(select(tables.items.c.id).where(tables.items.c.gold)).scalars())
