"""Gold (check) items are the center's quality instrument, not the client's work: the client's item list,
item lookups and the status table neither show nor count them; the center's staff see them marked."""

from __future__ import annotations

from seatflow.services import quality

from .conftest import Center
from .test_quality_gold import faces_gold, import_gold, set_quality


def test_a_client_never_sees_nor_counts_gold_items(center: Center) -> None:
    quality.project_cache.clear()
    before = center.get("acme-ops", "/api/v1/projects/acme-faces/items?limit=500").json()
    status_before = {p["slug"]: p for p in center.get("acme-ops", "/api/v1/status").json()["projects"]}["acme-faces"]
    gold = import_gold(center, "acme-faces", faces_gold(3))
    set_quality(center, "acme-faces", gold_rate=1.0)
    lease = center.lease("ann1", "acme-faces")  # a gold task leased: not work in progress for the client
    assert lease["item"]["id"] in gold

    mine = center.get("acme-ops", "/api/v1/projects/acme-faces/items?limit=500").json()
    assert mine["total"] == before["total"]
    assert [i["id"] for i in mine["items"]] == [i["id"] for i in before["items"]]
    assert not set(gold) & {i["id"] for i in mine["items"]} and all("gold" not in i for i in mine["items"])
    active = center.get("acme-ops", "/api/v1/projects/acme-faces/items?state=active&limit=500").json()
    assert not set(gold) & {i["id"] for i in active["items"]}
    center.problem(center.get("acme-ops", f"/api/v1/items/{gold[0]}"), 404)

    staff = center.get("manager", "/api/v1/projects/acme-faces/items?limit=500").json()
    assert staff["total"] == before["total"] + 3
    assert {i["id"] for i in staff["items"] if i["gold"]} == set(gold)
    assert center.get("manager", f"/api/v1/items/{gold[0]}").json()["gold"] is True

    status = {p["slug"]: p for p in center.get("acme-ops", "/api/v1/status").json()["projects"]}["acme-faces"]
    assert (status["items"], status["backlog"], status["in_progress"]) == (
        status_before["items"], status_before["backlog"], status_before["in_progress"])
    center.problem(center.get("ann1", "/api/v1/projects/acme-faces/items"), 403)
