"""The delivery log, replay and webhook endpoints: tenancy, paging, filters, bad input, and the pages.

Events are made by finishing real items (tickets of globex, text items of acme) and written
straight into the outbox where a test needs many; nothing here sends HTTP to a receiver.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from seatflow.domain.clock import utcnow
from seatflow.store import tables

from .conftest import GOOD_ANSWERS, Center
from .test_web import login, page

DELIVERIES = "/api/v1/deliveries"


def set_url(center: Center, client: str, url: str | None = "http://127.0.0.1:9/hooks", *, as_: str = "manager",
            rotate: bool = False) -> Any:
    return center.client.put(f"/api/v1/clients/{client}/webhook", headers=center.as_(as_),
                             json={"url": url, "rotate_secret": rotate})


def finish(center: Center, project: str) -> int:
    """Finish one item of ``project`` (both overlap slots for acme-text); its id."""
    lease = center.lease("ann1", project)
    assert center.submit("ann1", lease["lease_id"], GOOD_ANSWERS[project]).status_code == 200
    if project == "acme-text":
        second = center.lease("ann2", project)
        assert second["item"]["id"] == lease["item"]["id"]
        assert center.submit("ann2", second["lease_id"], GOOD_ANSWERS[project]).status_code == 200
    item_id: int = lease["item"]["id"]
    return item_id


@pytest.fixture
def events(center: Center) -> dict[str, int]:
    """One finished item of each client with a webhook: {client slug: event id}."""
    set_url(center, "acme")
    set_url(center, "globex")
    out = {}
    for client, project in (("acme", "acme-text"), ("globex", "globex-tickets")):
        item_id = finish(center, project)
        out[client] = center.row("outbox", item_id=item_id).id
    return out


def ids(resp: Any) -> list[int]:
    assert resp.status_code == 200, resp.text
    return [e["id"] for e in resp.json()["items"]]


# --- tenancy -----------------------------------------------------------------------------------------------


def test_a_client_sees_only_its_own_deliveries(center: Center, events: dict[str, int]) -> None:
    assert ids(center.get("acme-ops", DELIVERIES)) == [events["acme"]]
    assert ids(center.get("globex-ops", DELIVERIES)) == [events["globex"]]
    for staff in ("admin", "manager", "lead"):
        assert ids(center.get(staff, DELIVERIES)) == [events["globex"], events["acme"]], staff
    assert ids(center.get("manager", DELIVERIES + "?client=acme")) == [events["acme"]]

    own = center.get("acme-ops", f"{DELIVERIES}/{events['acme']}")
    assert own.status_code == 200 and own.json()["client"] == "acme"
    assert own.json()["payload"]["project"] == "acme-text" and own.json()["attempt_log"] == []
    for path in (f"{DELIVERIES}/{events['globex']}", f"{DELIVERIES}/{events['globex']}/replay"):
        call = center.get if not path.endswith("replay") else center.post
        center.problem(call("acme-ops", path), 404, field="id", says="not found")
    center.problem(center.get("acme-ops", DELIVERIES + "?client=globex"), 404, field="client")
    assert ids(center.get("globex-ops", DELIVERIES + "?client=globex")) == [events["globex"]]


def test_workers_see_no_deliveries_and_leads_cannot_replay(center: Center, events: dict[str, int]) -> None:
    center.problem(center.get("ann1", DELIVERIES), 403, says="workers")
    center.problem(center.get("ann1", f"{DELIVERIES}/{events['acme']}"), 403)
    center.problem(center.post("ann1", f"{DELIVERIES}/{events['acme']}/replay"), 403)
    with center.db.write() as conn:
        conn.execute(tables.outbox.update().values(state="dead"))
    center.problem(center.post("lead", f"{DELIVERIES}/{events['acme']}/replay"), 403, says="admin, manager or client")
    assert center.row("outbox", id=events["acme"]).state == "dead", "a refused replay changes nothing"
    assert center.count("events", entity="delivery") == 0
    assert center.client.get(DELIVERIES).status_code == 401


def test_webhook_settings_by_role_and_tenant(center: Center) -> None:
    before = center.row("clients", slug="acme")
    center.problem(set_url(center, "acme", as_="ann1"), 403)
    center.problem(set_url(center, "acme", as_="lead"), 403)
    center.problem(set_url(center, "acme", as_="globex-ops"), 404, field="slug")
    center.problem(set_url(center, "nobody"), 404, field="slug", says="'nobody'")
    after = center.row("clients", slug="acme")
    assert (after.webhook_url, after.webhook_secret) == (before.webhook_url, before.webhook_secret)

    resp = set_url(center, "acme", "https://hooks.acme.example/in", as_="acme-ops")
    assert resp.status_code == 200 and resp.json() == {
        "client": "acme", "webhook_url": "https://hooks.acme.example/in", "secret_rotated": False,
        "held_requeued": 0}
    assert center.row("clients", slug="acme").webhook_secret == before.webhook_secret
    rotated = set_url(center, "acme", "https://hooks.acme.example/in", as_="acme-ops", rotate=True).json()
    assert re.fullmatch(r"[0-9a-f]{64}", rotated["secret"]) and rotated["secret_rotated"] is True
    assert center.row("clients", slug="acme").webhook_secret == rotated["secret"] != before.webhook_secret
    listed = center.get("acme-ops", "/api/v1/clients").json()["items"]
    assert listed[0]["webhook_url"] == "https://hooks.acme.example/in" and "webhook_secret" not in listed[0]
    assert "secret" not in str(listed)


# --- bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "field", "says"), [
    ({"url": "ftp://hooks.example/in"}, "url", "http:// or https://"),
    ({"url": "hooks.example/in"}, "url", "absolute"),
    ({"url": "http://"}, "url", "absolute"),
    ({"url": "http://user:pw@hooks.example/in"}, "url", "password"),
    ({"url": "http://hooks.example/in#top"}, "url", "fragment"),
    ({"url": "http://[::1/in"}, "url", "not a URL"),
    ({"url": "https://h.example/" + "a" * 2000}, "url", "2000"),
    ({"url": 42}, "url", None),
    ({"url": "https://h.example/", "rotate_secret": "yes please"}, "rotate_secret", None),
    ({"url": "https://h.example/", "secret": "mine"}, "secret", "unknown field"),
    ({}, "url", "required"),
])
def test_bad_webhook_settings_are_refused_with_the_field_named(center: Center, body: dict[str, Any], field: str,
                                                                says: str | None) -> None:
    before = center.counts(), center.row("clients", slug="acme")
    resp = center.client.put("/api/v1/clients/acme/webhook", headers=center.as_("manager"), json=body)
    center.problem(resp, 422, field=field, says=says)
    assert (center.counts(), center.row("clients", slug="acme")) == before


def test_malformed_bodies_and_ids(center: Center, events: dict[str, int]) -> None:
    put = center.client.put
    headers = {**center.as_("manager"), "Content-Type": "application/json"}
    center.problem(put("/api/v1/clients/acme/webhook", headers=headers, content=b'{"url": '), 422, field="body",
                   says="not valid JSON")
    center.problem(put("/api/v1/clients/acme/webhook", headers=headers, content=b"[]"), 422, field="body")
    center.problem(put("/api/v1/clients/acme/webhook", headers=center.as_("manager")), 422, field="body",
                   says="missing")
    for bad in ("abc", "0", "-1", "1.5", "99999999999999999999999"):
        center.problem(center.get("manager", f"{DELIVERIES}/{bad}"), 422, field="event_id")
        center.problem(center.post("manager", f"{DELIVERIES}/{bad}/replay"), 422, field="event_id")
    center.problem(center.get("manager", f"{DELIVERIES}/{events['acme'] + 1000}"), 404, field="id")
    center.problem(center.post("manager", f"{DELIVERIES}/{events['acme'] + 1000}/replay"), 404, field="id")
    center.problem(center.post("manager", f"{DELIVERIES}/{events['acme']}/replay"), 409, field="id",
                   says="pending")
    assert center.row("outbox", id=events["acme"]).attempts == 0
    center.problem(center.get("manager", DELIVERIES + "?state=lost"), 422, field="state", says="pending, delivering")
    center.problem(center.get("manager", DELIVERIES + "?topic=" + "x" * 65), 422, field="topic")
    center.problem(center.get("manager", DELIVERIES + "?limit=0"), 422, field="limit")
    center.problem(center.get("manager", DELIVERIES + "?limit=100000"), 422, field="limit")
    center.problem(center.get("manager", DELIVERIES + "?client=nobody"), 404, field="client")


# --- paging and filters ---------------------------------------------------------------------------------------


def test_paging_and_filters(center: Center) -> None:
    now = utcnow()
    rows = [{"client_id": center.seed.clients["acme"], "topic": "item.accepted" if n % 2 else "batch.accepted",
             "payload": {"n": n}, "idempotency_key": f"t:{n}", "state": ("delivered", "dead", "pending")[n % 3],
             "attempts": 1, "next_attempt_at": now, "created_at": now} for n in range(25)]
    with center.db.write() as conn:
        conn.execute(tables.outbox.insert(), rows)
        all_ids = sorted(conn.execute(select(tables.outbox.c.id)).scalars())
    seen: list[int] = []
    url: str | None = DELIVERIES + "?limit=10"
    while url:
        body = center.get("acme-ops", url).json()
        assert body["total"] == 25 and len(body["items"]) <= 10
        seen += [e["id"] for e in body["items"]]
        url = body["next"]
    assert seen == sorted(all_ids, reverse=True), "newest first, each once"
    dead = center.get("acme-ops", DELIVERIES + "?state=dead&limit=50").json()
    assert dead["total"] == 8 and {e["state"] for e in dead["items"]} == {"dead"}
    both = center.get("acme-ops", DELIVERIES + "?state=dead&topic=batch.accepted").json()
    assert {(e["state"], e["topic"]) for e in both["items"]} == {("dead", "batch.accepted")}
    assert both["total"] == len([n for n in range(25) if n % 3 == 1 and n % 2 == 0])
    assert center.get("globex-ops", DELIVERIES).json()["total"] == 0


# --- the pages ----------------------------------------------------------------------------------------------------


def test_the_delivery_log_pages(center: Center, events: dict[str, int]) -> None:
    with center.db.write() as conn:
        conn.execute(tables.outbox.update().where(tables.outbox.c.id == events["acme"])
                     .values(state="dead", last_error="the receiver answered 500: boom", attempts=3))
    login(center, "acme-ops")
    log = page(center.client.get("/deliveries"))
    rows = log.root.by_id("deliveries").find("tbody").find_all("tr")
    assert [r.attrs["data-event"] for r in rows] == [str(events["acme"])], "a client sees its own only"
    assert rows[0].attrs["data-state"] == "dead" and "boom" in rows[0].text()
    assert log.header().find("a", href="/deliveries").attrs.get("aria-current") == "page"

    detail = page(center.client.get(f"/deliveries/{events['acme']}"))
    assert f"item.accepted:{center.row('outbox', id=events['acme']).item_id}" in detail.root.by_id("facts").text()
    assert '"project": "acme-text"' in detail.root.by_id("payload").text()
    resp = center.client.post(f"/deliveries/{events['acme']}/replay", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == f"/deliveries/{events['acme']}?replayed=1"
    again = page(center.client.get(resp.headers["location"]))
    assert again.root.find(role="status") and again.root.by_id("state").text() == "Waiting"
    assert not again.root.find_all(id="replay"), "no button while it waits"
    page(center.client.post(f"/deliveries/{events['acme']}/replay", follow_redirects=False), 409)
    page(center.client.get(f"/deliveries/{events['globex']}"), 404)
    page(center.client.post(f"/deliveries/{events['globex']}/replay"), 404)
    page(center.client.get("/deliveries/not-a-number"), 404)
    page(center.client.get("/deliveries?state=lost"), 422)

    login(center, "manager")
    staff = page(center.client.get("/deliveries?state=pending"))
    assert {r.attrs["data-event"] for r in staff.root.by_id("deliveries").find("tbody").find_all("tr")} == {
        str(events["acme"]), str(events["globex"])}
    login(center, "ann1")
    page(center.client.get("/deliveries"), 403)
    assert not page(center.client.get("/")).header().find_all("a", href="/deliveries"), "no link for workers"
    center.client.cookies.clear()
    anon = center.client.get(f"/deliveries/{events['acme']}", follow_redirects=False)
    assert anon.status_code == 303 and anon.headers["location"].startswith("/login?next=")


def test_the_delivery_log_page_in_chinese(center: Center, events: dict[str, int]) -> None:
    login(center, "manager")
    center.client.post("/settings/language", data={"locale": "zh_CN", "next": "/"})
    log = page(center.client.get("/deliveries"))
    assert log.lang == "zh-CN" and "推送记录" in log.root.find("h1").text()
    assert "等待中" in log.root.by_id("deliveries").text()
    detail = page(center.client.get(f"/deliveries/{events['acme']}"))
    assert "幂等键" in detail.root.by_id("facts").text()
