"""The client API of the moderation gate: push by upload, by URL (a loopback server) or as text;
idempotent by external id; every bad request a clear 4xx with nothing written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ._moderation import GATE, Loopback, corrupt_mp4, gate_center, loopback_server, png
from .conftest import AppFactory, Center

ITEMS = "/api/v1/moderation/items"


@pytest.fixture
def gate(app_factory: AppFactory) -> Center:
    return gate_center(app_factory)


@pytest.fixture
def web() -> Iterator[Loopback]:
    with loopback_server() as lb:
        yield lb


def upload(center: Center, ext_id: str, body: bytes, *, name: str = "a.png", ctype: str = "image/png",
           user: str = "acme-ops", **fields: Any) -> Any:
    data = {"project": GATE, "external_id": ext_id, **fields}
    if isinstance(data.get("metadata"), dict):
        data["metadata"] = json.dumps(data["metadata"])
    return center.post(user, ITEMS, data=data, files={"file": (name, body, ctype)})


def media_files(center: Center) -> list[Path]:
    root: Path = center.app.state.media_root
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_an_uploaded_image_waits_for_its_media_then_enters_the_queue(gate: Center) -> None:
    before = datetime.now(UTC)
    resp = upload(gate, "img-1", png(), metadata={"uploader": "u42"}, callback_url="http://127.0.0.1:9/hook")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["created"] is True and body["external_id"] == "img-1" and body["project"] == GATE
    assert body["kind"] == "image" and body["state"] == "processing_media"
    assert body["metadata"] == {"uploader": "u42"} and body["callback_url"] == "http://127.0.0.1:9/hook"
    deadline = datetime.fromisoformat(body["deadline"])  # no deadline given: now + the project's 10 minute SLA
    assert before + timedelta(minutes=10) <= deadline <= datetime.now(UTC) + timedelta(minutes=10)
    assert gate.count("tasks", item_id=body["id"]) == 0  # no task before the media is ready
    [outcome] = gate.app.state.media_job.run_once()
    assert outcome.status == "ready"
    got = gate.get("acme-ops", f"{ITEMS}/img-1").json()
    assert got["state"] == "queued" and got["media"]["status"] == "ready"
    assert 0.0 <= got["prescreen"]["score"] <= 1.0
    assert len(got["media"]["thumbnails"]) == 1
    thumb = gate.client.get(got["media"]["thumbnails"][0])
    assert thumb.status_code == 200 and thumb.content[:3] == b"\xff\xd8\xff"  # a JPEG, through a signed link
    assert gate.count("tasks", item_id=body["id"], state="ready") == 1


def test_a_text_is_prescreened_by_keywords_and_queued_at_once(gate: Center) -> None:
    resp = gate.post("acme-ops", ITEMS, json={"project": GATE, "external_id": "t-1",
                                              "text": "Get FREE money now, just 转账 here"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["state"] == "queued" and body["kind"] == "text"
    assert body["prescreen"] == {"score": 0.6, "labels": ["fraud"]}  # fraud: severity 3 of 5
    assert body["priority"] == 100  # 0.6 >= boost_above 0.5: routed first
    calm = gate.post("acme-ops", ITEMS, json={"project": GATE, "external_id": "t-2", "text": "a cat on a sofa"})
    assert calm.json()["prescreen"] == {"score": 0.0, "labels": []} and calm.json()["priority"] == 0
    # 'kill' is a whole word only: 'skill' does not match
    assert gate.post("acme-ops", ITEMS, json={"project": GATE, "external_id": "t-3",
                                              "text": "new skill unlocked"}).json()["prescreen"]["score"] == 0.0


def test_the_same_request_twice_is_one_item_and_a_different_one_is_refused(gate: Center) -> None:
    first = upload(gate, "dup-1", png(), deadline="2099-01-01T08:00:00+08:00")
    assert first.status_code == 201
    again = upload(gate, "dup-1", png(), deadline="2099-01-01T00:00:00Z")  # the same instant, written otherwise
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False
    assert again.json()["deadline"] == "2099-01-01T00:00:00+00:00"
    before, files = gate.counts(), media_files(gate)
    other = upload(gate, "dup-1", png("skin"))
    gate.problem(other, 409, field="external_id", says="different request")
    gate.problem(gate.post("acme-ops", ITEMS, json={"project": GATE, "external_id": "dup-1", "text": "hi"}), 409)
    assert gate.counts() == before and media_files(gate) == files
    assert gate.count("items", external_id="dup-1") == 1


def test_a_media_url_is_fetched_once_into_the_media_store(gate: Center, web: Loopback) -> None:
    url = web.put("/clips/a.png", png(), "image/png")
    resp = gate.post("acme-ops", ITEMS, json={"project": GATE, "external_id": "url-1", "media_url": url,
                                              "deadline": "2099-05-01T10:00:00+08:00"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["deadline"] == "2099-05-01T02:00:00+00:00"  # the same instant, in UTC
    again = gate.post("acme-ops", ITEMS, json={"project": GATE, "external_id": "url-1", "media_url": url,
                                               "deadline": "2099-05-01T10:00:00+08:00"})
    assert again.status_code == 200 and again.json()["id"] == resp.json()["id"]
    assert web.hits == {"/clips/a.png": 1}  # the retry was answered without fetching again
    stored = [p for p in media_files(gate) if p.suffix == ".png"]
    assert len(stored) == 1 and stored[0].read_bytes() == png()
    gate.app.state.media_job.run_once()
    assert gate.get("acme-ops", f"{ITEMS}/url-1").json()["state"] == "queued"


def test_the_project_may_be_left_out_when_the_client_has_one_moderation_project(gate: Center) -> None:
    # acme has two (acme-mod and acme-gate): it must name one
    gate.problem(gate.post("acme-ops", ITEMS, json={"external_id": "x", "text": "hi"}), 422, field="project",
                 says="acme-gate")
    with gate.db.write() as conn:
        from seatflow.services import projects
        projects.create_project(conn, None, {"slug": "globex-gate", "name": "g", "client": "globex",
                                             "work_type": "moderation"})
    resp = gate.post("globex-ops", ITEMS, json={"external_id": "x", "text": "hi"})
    assert resp.status_code == 201 and resp.json()["project"] == "globex-gate"
    # a client never reads another client's item
    gate.problem(gate.get("acme-ops", f"{ITEMS}/x", params={"project": "globex-gate"}), 404)


BAD: list[tuple[str, dict[str, Any], int, str, str]] = [
    ("missing content", {"json": {"project": GATE, "external_id": "b"}}, 422, "content", "send the item's content"),
    ("two contents", {"json": {"project": GATE, "external_id": "b", "text": "x", "media_url": "http://127.0.0.1/a"}},
     422, "text", "only one of"),
    ("no external id", {"json": {"project": GATE, "text": "hi"}}, 422, "external_id", "required"),
    ("deadline not ISO", {"json": {"project": GATE, "external_id": "b", "text": "hi", "deadline": "tomorrow"}},
     422, "deadline", "not an ISO 8601 time"),
    ("deadline without zone", {"json": {"project": GATE, "external_id": "b", "text": "hi",
                                        "deadline": "2099-01-01T10:00:00"}}, 422, "deadline", "no time zone"),
    ("deadline past", {"json": {"project": GATE, "external_id": "b", "text": "hi",
                                "deadline": "2001-01-01T10:00:00Z"}}, 422, "deadline", "already past"),
    ("unknown project", {"json": {"project": "nope", "external_id": "b", "text": "hi"}}, 404, "project",
     "'nope' not found"),
    ("another client's project", {"json": {"project": GATE, "external_id": "b", "text": "hi"},
                                  "user": "globex-ops"}, 404, "project", "not found"),
    ("not a moderation project", {"json": {"project": "acme-faces", "external_id": "b", "text": "hi"}}, 422,
     "project", "not a moderation project"),
    ("bad callback", {"json": {"project": GATE, "external_id": "b", "text": "hi", "callback_url": "ftp://x"}},
     422, "callback_url", "http"),
    ("unknown field", {"json": {"project": GATE, "external_id": "b", "text": "hi", "colour": "red"}}, 422,
     "colour", "unknown field"),
    ("kind text with a file", {"file": png(), "data": {"kind": "text"}}, 422, "kind", "'text' items"),
    ("kind video for an image", {"file": png(), "data": {"kind": "video"}}, 422, "kind", "image/png"),
    ("non-media file", {"file": b"hello, this is not a picture\n" * 10, "name": "a.txt", "ctype": "text/plain"},
     415, "file", "not an image or a video"),
    ("empty file", {"file": b"", "name": "a.png"}, 422, "file", "empty"),
    ("oversized file", {"file": b"\x89PNG\r\n\x1a\n" + b"\x00" * 400_001}, 413, "file", "larger than"),
    ("worker", {"json": {"project": GATE, "external_id": "b", "text": "hi"}, "user": "ann1"}, 403, "",
     "client accounts"),
]


@pytest.mark.parametrize(("case", "req", "status", "field", "says"), BAD, ids=[b[0] for b in BAD])
def test_bad_requests_are_refused_with_nothing_written(gate: Center, case: str, req: dict[str, Any], status: int,
                                                       field: str, says: str) -> None:
    before, files = gate.counts(), media_files(gate)
    user = req.get("user", "acme-ops")
    if "file" in req:
        resp = upload(gate, "b", req["file"], name=req.get("name", "a.png"), ctype=req.get("ctype", "image/png"),
                      user=user, **req.get("data", {}))
    else:
        resp = gate.post(user, ITEMS, json=req["json"])
    gate.problem(resp, status, field=field or None, says=says)
    assert gate.counts() == before
    assert media_files(gate) == files  # no media left behind either


URL_BAD: list[tuple[str, str, Any, int, str]] = [
    ("not found upstream", "/missing.png", None, 422, "answered HTTP 404"),
    ("html page", "/page.html", (b"<html>hi</html>", "text/html"), 415, "serves text/html"),
    ("bytes that are no media", "/fake.png", (b"just text" * 20, "image/png"), 415, "not an image or a video"),
    ("too large", "/big.png", (b"\x89PNG\r\n\x1a\n" + b"\x00" * 400_001, "image/png"), 413, "larger than"),
]


@pytest.mark.parametrize(("case", "path", "serve", "status", "says"), URL_BAD, ids=[b[0] for b in URL_BAD])
def test_bad_media_urls_are_refused_with_nothing_written(gate: Center, web: Loopback, case: str, path: str,
                                                         serve: Any, status: int, says: str) -> None:
    if serve is not None:
        web.put(path, serve[0], serve[1])
    before, files = gate.counts(), media_files(gate)
    resp = gate.post("acme-ops", ITEMS, json={"project": GATE, "external_id": "u", "media_url": web.url(path)})
    gate.problem(resp, status, field="media_url", says=says)
    assert gate.counts() == before and media_files(gate) == files


def test_private_addresses_are_not_fetched_unless_allowed(app_factory: AppFactory, web: Loopback) -> None:
    center = gate_center(app_factory, media_fetch_private=False)
    url = web.put("/a.png", png(), "image/png")
    before = center.counts()
    resp = center.post("acme-ops", ITEMS, json={"project": GATE, "external_id": "p", "media_url": url})
    center.problem(resp, 422, field="media_url", says="private or local address")
    assert web.hits == {} and center.counts() == before


def test_a_corrupt_video_is_taken_in_then_rejected_with_the_reason(gate: Center) -> None:
    resp = upload(gate, "bad-video", corrupt_mp4(), name="a.mp4", ctype="video/mp4",
                  callback_url="http://127.0.0.1:9/hook")
    assert resp.status_code == 201, resp.text
    assert resp.json()["kind"] == "video"
    [outcome] = gate.app.state.media_job.run_once()
    assert outcome.status == "failed"
    got = gate.get("acme-ops", f"{ITEMS}/bad-video").json()
    assert got["state"] == "rejected_media"
    assert "cannot be decoded" in got["error"]["detail"] and got["media"]["status"] == "failed"
    assert gate.count("tasks", item_id=got["id"]) == 0  # never blocks the queue
    event = gate.row("outbox", item_id=got["id"])
    assert event.topic == "moderation.media_error" and event.target_url == "http://127.0.0.1:9/hook"
    assert event.idempotency_key == f"moderation.media_error:{got['id']}"
    assert "cannot be decoded" in event.payload["error"] and event.payload["external_id"] == "bad-video"
    assert gate.app.state.media_job.run_once() == []  # nothing left waiting
